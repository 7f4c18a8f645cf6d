// SPDX-License-Identifier: MIT
// webhook_endpoint.jsx — one webhook endpoint opened on the Webhooks page:
// its settings (edit, disable/enable, rotate the secret, delete with a
// confirming second button), why and since when it is disabled, its
// pending count (GET /v1/webhooks/:id), and its deliveries with every
// attempt (GET /v1/webhooks/:id/deliveries, newest first, grouped by
// delivery), each with a Retry; paging with "Older"; replay since an event
// id or a time. The newest attempts and the endpoint are re-read every
// DETAIL_POLL_MS without reloading; pages loaded with "Older" stay as read.
import { useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { EndpointForm, SecretOnce, joinList, usePoll } from './webhooks_form.jsx';

const DETAIL_POLL_MS = 2000; // the open endpoint and its newest attempts
const PAGE = 50;             // attempts per read (the API allows 1 to 1000)
const MAX_ATTEMPTS = 2000;   // attempts kept in the page, newest first: "Older" stops there

const enc = encodeURIComponent;

function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { hour12: false });
}

// Attempts (newest first, possibly of several pages) grouped by delivery,
// the delivery with the newest attempt first.
function byDelivery(attempts) {
  const groups = new Map();
  for (const a of attempts) {
    if (!groups.has(a.delivery_id)) groups.set(a.delivery_id, []);
    groups.get(a.delivery_id).push(a);
  }
  return [...groups.entries()].map(([id, list]) => ({ id, event_id: list[0].event_id, state: list[0].state, attempts: list }));
}

// Merges a fresh read into what is shown: the same attempt id is replaced,
// the result kept newest first and bounded.
function merge(shown, fresh) {
  const m = new Map(shown.map((a) => [a.id, a]));
  for (const a of fresh) m.set(a.id, a);
  return [...m.values()].sort((a, b) => Number(b.id) - Number(a.id)).slice(0, MAX_ATTEMPTS);
}

function Delivery({ d, onRetry }) {
  const [note, setNote] = useState('');
  async function retry() {
    setNote('');
    try {
      const r = await onRetry(d.id);
      setNote(`retry ${r.status || 'queued'}`);
    } catch (e) {
      setNote(e.message);
    }
  }
  return (
    <article class={`wh-delivery state-${d.state}`} aria-labelledby={`dl-${d.id}`} data-delivery={d.id}>
      <div class="wh-delivery-head">
        <h4 id={`dl-${d.id}`}>Delivery {d.id} <span class="note">event {d.event_id}</span>{' '}
          <span class={`wh-state state-${d.state}`}>{d.state}</span></h4>
        <button type="button" class="secondary" onClick={retry} aria-label={`Retry delivery ${d.id}`}>Retry</button>
        <span class="note" role="status">{note}</span>
      </div>
      <div class="wh-scroll">
        <table class="wh-attempts">
          <thead>
            <tr><th scope="col">Time</th><th scope="col">Status</th><th scope="col">Latency</th>
              <th scope="col">Error</th><th scope="col">Response</th><th scope="col">State</th></tr>
          </thead>
          <tbody>
            {d.attempts.map((a) => (
              <tr key={a.id} data-attempt={a.id}>
                <td>{fmtTime(a.timestamp)}</td>
                <td class="wh-status">{a.status_code ?? '—'}</td>
                <td>{a.latency_ms} ms</td>
                <td class="wh-text">{a.error || ''}</td>
                <td class="wh-text"><code>{a.response || ''}</code></td>
                <td>{a.state}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </article>
  );
}

function Replay({ id, onUnauthorized }) {
  const [kind, setKind] = useState('since_id');
  const [from, setFrom] = useState('');
  const [error, setError] = useState('');
  const [result, setResult] = useState('');
  async function submit(e) {
    e.preventDefault();
    setError('');
    setResult('');
    const v = from.trim();
    const body = kind === 'since_id' ? { since_id: /^\d+$/.test(v) ? Number(v) : v } : { since: v };
    try {
      const r = await api(`/v1/webhooks/${enc(id)}/replay`, { method: 'POST', body });
      setResult(`Replayed ${r.replayed} event${r.replayed === 1 ? '' : 's'}.`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) onUnauthorized(`Signed out: ${err.message}`);
      else setError(err.message);
    }
  }
  return (
    <form class="wh-replay" onSubmit={submit} noValidate aria-labelledby="replay-title">
      <h4 id="replay-title">Replay</h4>
      <label for="replay-kind">Since</label>
      <select id="replay-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
        <option value="since_id">after event id</option>
        <option value="since">time (ISO 8601)</option>
      </select>
      <label for="replay-from" class="wh-hidden">{kind === 'since_id' ? 'Event id' : 'Time'}</label>
      <input id="replay-from" value={from} onInput={(e) => setFrom(e.currentTarget.value)}
        placeholder={kind === 'since_id' ? '0' : '2026-11-23T10:00:00Z'}
        aria-invalid={error ? 'true' : 'false'} aria-describedby="replay-error" />
      <button type="submit">Replay</button>
      <p id="replay-error" class="error" role="alert">{error}</p>
      <p id="replay-result" role="status">{result}</p>
    </form>
  );
}

export function EndpointDetail({ id, serial, onClose, onChanged, onUnauthorized }) {
  const [ep, setEp] = useState(null);
  const [attempts, setAttempts] = useState([]);
  const [older, setOlder] = useState(null); // null: unknown; false: no more
  const [mode, setMode] = useState('view'); // view | edit | confirm-delete
  const [secret, setSecret] = useState('');
  const [error, setError] = useState('');
  const fail = (e) => {
    if (e instanceof ApiError && e.status === 401) onUnauthorized(`Signed out: ${e.message}`);
    else setError(e.message);
  };
  const { kick, halt } = usePoll(async () => {
    const [one, dl] = await Promise.all([api(`/v1/webhooks/${enc(id)}`),
      api(`/v1/webhooks/${enc(id)}/deliveries?limit=${PAGE}`)]);
    setEp(one);
    setAttempts((shown) => merge(shown, dl.deliveries));
    setOlder((o) => (o === null ? dl.deliveries.length === PAGE : o));
    setError('');
  }, DETAIL_POLL_MS, [id], fail);

  // Every action: the API's answer, then the endpoint and the list re-read.
  async function act(fn) {
    setError('');
    try {
      const r = await fn();
      kick();
      onChanged();
      return r;
    } catch (e) {
      fail(e);
      return null;
    }
  }
  async function loadOlder() {
    const before = attempts.length ? attempts[attempts.length - 1].id : 0;
    await act(async () => {
      const dl = await api(`/v1/webhooks/${enc(id)}/deliveries?limit=${PAGE}&before=${enc(before)}`);
      setAttempts((shown) => merge(shown, dl.deliveries));
      setOlder(dl.deliveries.length === PAGE && attempts.length + PAGE < MAX_ATTEMPTS);
    });
  }
  const retry = async (did) => {
    try {
      const r = await api(`/v1/webhooks/${enc(id)}/deliveries/${enc(did)}/retry`, { method: 'POST' });
      kick();
      return r;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) onUnauthorized(`Signed out: ${e.message}`);
      throw e;
    }
  };
  const rotate = () => act(async () => {
    const r = await api(`/v1/webhooks/${enc(id)}`, { method: 'PATCH', body: { rotate_secret: true } });
    setSecret(r.secret);
  });
  const setEnabled = (on) => act(() => api(`/v1/webhooks/${enc(id)}/${on ? 'enable' : 'disable'}`, { method: 'POST' }));
  // Not through act(): nothing is left to re-read here once it is gone;
  // this poll ends first, and the delete waits its turn after any list
  // read, so that no read of it can follow the delete (and meet a 404).
  async function del() {
    await halt();
    try {
      await serial(() => api(`/v1/webhooks/${enc(id)}`, { method: 'DELETE' }));
      onClose();
      onChanged();
    } catch (e) {
      fail(e);
    }
  }
  async function save(body) {
    try {
      if (Object.keys(body).length) await api(`/v1/webhooks/${enc(id)}`, { method: 'PATCH', body });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) onUnauthorized(`Signed out: ${e.message}`);
      throw e;
    }
    setMode('view');
    kick();
    onChanged();
  }

  if (!ep) return <section class="wh-detail" aria-label="Endpoint"><p>Loading…</p>{error ? <p class="error" role="alert">{error}</p> : null}</section>;
  const deliveries = byDelivery(attempts);
  return (
    <section class="wh-detail" aria-labelledby="wh-detail-title">
      <div class="wh-detail-head">
        <h3 id="wh-detail-title">Endpoint <code>{ep.id}</code></h3>
        <button type="button" class="secondary" onClick={onClose}>Close</button>
      </div>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {secret ? <SecretOnce secret={secret} what="New secret." onDone={() => setSecret('')} /> : null}
      {mode === 'edit' ? (
        <EndpointForm idPrefix="edit" initial={ep} submitLabel="Save" onSubmit={save} onCancel={() => setMode('view')} />
      ) : (
        <dl class="card wh-props">
          <div class="stat"><dt>URL</dt><dd id="wh-url">{ep.url}</dd></div>
          <div class="stat"><dt>Description</dt><dd>{ep.description || '—'}</dd></div>
          <div class="stat"><dt>Event types</dt><dd>{joinList(ep.event_types) || 'every type'}</dd></div>
          <div class="stat"><dt>Room ids</dt><dd>{joinList(ep.room_ids) || 'every room'}</dd></div>
          <div class="stat"><dt>Format</dt><dd>{ep.format}</dd></div>
          <div class="stat"><dt>State</dt><dd id="wh-state">{ep.enabled ? 'enabled' : 'disabled'}</dd></div>
          {ep.enabled ? null : (
            <div class="stat"><dt>Why disabled</dt><dd id="wh-disabled-reason">{ep.disabled_reason || 'not recorded'}
              {ep.disabled_at ? <span class="note"> since {fmtTime(ep.disabled_at)}</span> : null}</dd></div>
          )}
          <div class="stat"><dt>Pending deliveries</dt><dd id="wh-pending">{ep.pending}</dd></div>
          <div class="stat"><dt>Created</dt><dd>{fmtTime(ep.created_at)}</dd></div>
        </dl>
      )}
      {mode === 'edit' ? null : (
        <div class="wh-buttons">
          <button type="button" onClick={() => setMode('edit')}>Edit</button>
          {ep.enabled
            ? <button type="button" onClick={() => setEnabled(false)}>Disable</button>
            : <button type="button" onClick={() => setEnabled(true)}>Enable</button>}
          <button type="button" onClick={rotate}>Rotate secret</button>
          {mode === 'confirm-delete' ? (
            <>
              <button type="button" class="danger" onClick={del}>Really delete</button>
              <button type="button" class="secondary" onClick={() => setMode('view')}>Keep it</button>
            </>
          ) : <button type="button" class="danger-outline" onClick={() => setMode('confirm-delete')}>Delete…</button>}
        </div>
      )}
      <Replay id={id} onUnauthorized={onUnauthorized} />
      <h4 id="deliveries-title">Deliveries <span class="note">(newest first; every attempt)</span></h4>
      <div class="wh-deliveries" aria-labelledby="deliveries-title">
        {deliveries.length ? deliveries.map((d) => <Delivery key={d.id} d={d} onRetry={retry} />)
          : <p class="note">No attempts yet.</p>}
      </div>
      {older ? <button type="button" class="secondary" onClick={loadOlder}>Older</button> : null}
    </section>
  );
}
