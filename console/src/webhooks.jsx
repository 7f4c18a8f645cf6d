// SPDX-License-Identifier: MIT
// webhooks.jsx — the Webhooks page: every endpoint (GET /v1/webhooks) with
// its URL, description, event types, rooms, format, state (and why and
// since when it was disabled) and pending count (GET /v1/webhooks/:id, the
// list does not carry it: read for the first PENDING_MAX endpoints only),
// re-read every LIST_POLL_MS without reloading; a form to create one
// (POST /v1/webhooks, its secret shown once, the API's 400 next to the
// field it names); and the endpoint opened from the list
// (webhook_endpoint.jsx: edit, disable/enable, rotate, delete, deliveries
// and attempts, retry, replay).
import { useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { EndpointDetail } from './webhook_endpoint.jsx';
import { EndpointForm, SecretOnce, joinList, usePoll } from './webhooks_form.jsx';

const LIST_POLL_MS = 5000; // the list and the pending counts
const PENDING_MAX = 50;    // endpoints whose pending count is read on each poll (one GET each)

export function Webhooks({ onUnauthorized }) {
  const [endpoints, setEndpoints] = useState(null);
  const [pending, setPending] = useState({});
  const [openId, setOpenId] = useState(null);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState(null); // { id, secret } of the endpoint just made
  const [error, setError] = useState('');
  // Reads of the list and deletes go one at a time, so a list read never
  // asks for the pending count of an endpoint deleted meanwhile (a 404).
  const lock = useRef(Promise.resolve());
  const serial = (fn) => {
    const p = lock.current.then(() => fn());
    lock.current = p.catch(() => {});
    return p;
  };
  const fail = (e) => {
    if (e instanceof ApiError && e.status === 401) onUnauthorized(`Signed out: ${e.message}`);
    else setError(e.message);
  };
  const { kick } = usePoll(() => serial(async () => {
    const { webhooks } = await api('/v1/webhooks');
    webhooks.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1));
    const counts = {};
    await Promise.all(webhooks.slice(0, PENDING_MAX).map(async (w) => {
      try {
        counts[w.id] = (await api(`/v1/webhooks/${encodeURIComponent(w.id)}`)).pending;
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 404) throw e; // deleted by someone else meanwhile
      }
    }));
    setEndpoints(webhooks);
    setPending(counts);
    setError('');
  }), LIST_POLL_MS, [], fail);

  async function create(body) {
    let ep;
    try {
      ep = await api('/v1/webhooks', { method: 'POST', body });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) onUnauthorized(`Signed out: ${e.message}`);
      throw e; // the form shows it next to its field
    }
    setCreating(false);
    setCreated({ id: ep.id, secret: ep.secret });
    setOpenId(ep.id);
    kick();
  }

  return (
    <section aria-labelledby="page-title" class="webhooks">
      <h2 id="page-title">Webhooks</h2>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {created ? (
        <SecretOnce secret={created.secret} what={`Endpoint ${created.id} created. Its secret:`}
          onDone={() => setCreated(null)} />
      ) : null}
      {creating ? (
        <section class="card" aria-labelledby="create-title">
          <h3 id="create-title">New endpoint</h3>
          <EndpointForm idPrefix="create" initial={null} submitLabel="Create endpoint" onSubmit={create}
            onCancel={() => setCreating(false)} />
        </section>
      ) : <button type="button" onClick={() => setCreating(true)}>New endpoint</button>}

      <h3 id="endpoints-title">Endpoints{endpoints ? ` (${endpoints.length})` : ''}</h3>
      <div class="wh-scroll">
        <table class="wh-endpoints" aria-labelledby="endpoints-title">
          <thead>
            <tr><th scope="col">URL</th><th scope="col">Description</th><th scope="col">Event types</th>
              <th scope="col">Rooms</th><th scope="col">Format</th><th scope="col">State</th>
              <th scope="col">Pending</th></tr>
          </thead>
          <tbody>
            {endpoints === null ? <tr><td colSpan={7}>Loading…</td></tr> : null}
            {endpoints && !endpoints.length ? <tr><td colSpan={7}>No endpoints yet.</td></tr> : null}
            {(endpoints || []).map((w) => (
              <tr key={w.id} data-endpoint={w.id} aria-current={w.id === openId ? 'true' : undefined}>
                <th scope="row">
                  <button type="button" class="link" onClick={() => setOpenId(w.id)}
                    aria-label={`Open ${w.url}`}>{w.url}</button>
                  {w.room_webhook ? <span class="note"> (room webhook)</span> : null}
                </th>
                <td>{w.description || ''}</td>
                <td>{joinList(w.event_types) || 'all'}</td>
                <td>{joinList(w.room_ids) || 'all'}</td>
                <td>{w.format}</td>
                <td class={w.enabled ? 'wh-on' : 'wh-off'}>
                  {w.enabled ? 'enabled' : `disabled: ${w.disabled_reason || 'reason not recorded'}`}
                  {!w.enabled && w.disabled_at ? <span class="note"> since {new Date(w.disabled_at).toLocaleString(undefined, { hour12: false })}</span> : null}
                </td>
                <td>{pending[w.id] ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {endpoints && endpoints.length > PENDING_MAX
        ? <p class="note">Pending counts are read for the first {PENDING_MAX} endpoints only; open one to see its own.</p> : null}

      {openId ? (
        <EndpointDetail key={openId} id={openId} serial={serial} onClose={() => setOpenId(null)} onChanged={kick}
          onUnauthorized={onUnauthorized} />
      ) : null}
    </section>
  );
}
