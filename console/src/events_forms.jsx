// SPDX-License-Identifier: MIT
// events_forms.jsx — the Events page's two forms. History search: GET
// /v1/events with since (an exclusive event id), type (an exact type, as
// the API matches it), room_id, user_id and limit; "Next page" asks again
// from the last id shown. Publish a test event: POST /v1/events with one
// event, showing the id it got. A refusal shows the API's own message next
// to the field it names (or above the form when it names none); data that
// is not JSON is caught here, before anything is sent.
import { useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { EventTable, Field, fieldOf } from './events_row.jsx';

const HISTORY_FIELDS = ['since', 'type', 'room_id', 'user_id', 'limit'];
const PUBLISH_FIELDS = ['type', 'room_id', 'user_id', 'data'];

// Runs fn; a 401 signs out, another ApiError goes to the field it names.
async function submitting(fn, fields, setErrors, onUnauthorized) {
  setErrors({});
  try {
    await fn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      onUnauthorized(`Signed out: ${e.message}`);
      return;
    }
    const msg = e instanceof ApiError ? e.message : String(e);
    setErrors({ [fieldOf(msg, fields) ?? 'form']: msg });
  }
}

function FormError({ id, error }) {
  return <p id={id} class="error" role="alert">{error}</p>;
}

export function HistorySearch({ onUnauthorized }) {
  const [form, setForm] = useState({ since: '', type: '', room_id: '', user_id: '', limit: '100' });
  const [errors, setErrors] = useState({});
  const [result, setResult] = useState(null); // {events, query, page}
  const [busy, setBusy] = useState(false);

  const run = async (query, page) => {
    setBusy(true);
    await submitting(async () => {
      const params = new URLSearchParams();
      for (const k of HISTORY_FIELDS) if (query[k].trim() !== '') params.set(k, query[k].trim());
      const r = await api(`/v1/events?${params}`);
      setResult({ events: r.events, query, page });
    }, HISTORY_FIELDS, setErrors, onUnauthorized);
    setBusy(false);
  };
  const search = (e) => { e.preventDefault(); run(form, 1); };
  const next = () => {
    const since = result.events.at(-1).id;
    setForm({ ...form, since });
    run({ ...result.query, since }, result.page + 1);
  };
  const field = (k, label, props = {}) => (
    <Field id={`hist-${k}`} label={label} value={form[k]} error={errors[k]}
      onInput={(v) => setForm({ ...form, [k]: v })} {...props} />
  );
  const limit = result ? Number(result.query.limit || 100) : 0;
  const more = result && result.events.length > 0 && result.events.length >= limit;
  return (
    <section class="panel" aria-labelledby="hist-title">
      <h3 id="hist-title">History search</h3>
      <form onSubmit={search} class="grid-form" aria-describedby="hist-form-error">
        {field('since', 'After id (since)', { inputMode: 'numeric', help: 'exclusive: events with a larger id' })}
        {field('type', 'Type', { help: 'exact type, e.g. peer.connected' })}
        {field('room_id', 'Room id')}
        {field('user_id', 'User id')}
        {field('limit', 'Limit', { inputMode: 'numeric', help: '1 to 10000' })}
        <div class="actions">
          <button type="submit" disabled={busy}>{busy ? 'Searching…' : 'Search'}</button>
        </div>
      </form>
      <FormError id="hist-form-error" error={errors.form} />
      {result ? (
        <>
          <p id="hist-status" class="help" aria-live="polite">
            Page {result.page}: {result.events.length} event{result.events.length === 1 ? '' : 's'}
            {result.events.length ? `, ids ${result.events[0].id} to ${result.events.at(-1).id}` : ''}
            {more ? '' : ' (no more)'}.
          </p>
          <EventTable id="history" prefix="hist" caption="History, oldest first" events={result.events}
            empty="No event matches." />
          <button type="button" id="hist-next" onClick={next} disabled={!more || busy}>Next page</button>
        </>
      ) : null}
    </section>
  );
}

export function PublishForm({ onUnauthorized }) {
  const [form, setForm] = useState({ type: 'console.test', room_id: '', user_id: '', data: '{}' });
  const [errors, setErrors] = useState({});
  const [published, setPublished] = useState(null);
  const [busy, setBusy] = useState(false);

  const publish = async (e) => {
    e.preventDefault();
    setPublished(null);
    let data;
    try {
      data = JSON.parse(form.data);
    } catch (err) {
      setErrors({ data: `data is not valid JSON: ${err.message}` });
      return;
    }
    const body = { type: form.type.trim(), data };
    if (form.room_id.trim()) body.room_id = form.room_id.trim();
    if (form.user_id.trim()) body.user_id = form.user_id.trim();
    setBusy(true);
    await submitting(async () => {
      const r = await api('/v1/events', { method: 'POST', body });
      setPublished(r.ids[0]);
    }, PUBLISH_FIELDS, setErrors, onUnauthorized);
    setBusy(false);
  };
  const field = (k, label, props = {}) => (
    <Field id={`pub-${k}`} label={label} value={form[k]} error={errors[k]}
      onInput={(v) => setForm({ ...form, [k]: v })} {...props} />
  );
  return (
    <section class="panel" aria-labelledby="pub-title">
      <h3 id="pub-title">Publish a test event</h3>
      <form onSubmit={publish} aria-describedby="pub-form-error">
        {field('type', 'Type', { required: true, help: 'dotted lower-case, e.g. console.test' })}
        {field('room_id', 'Room id (optional)')}
        {field('user_id', 'User id (optional)')}
        {field('data', 'Data (a JSON object)', { multiline: true, rows: 4, spellcheck: false })}
        <button type="submit" disabled={busy}>{busy ? 'Publishing…' : 'Publish'}</button>
      </form>
      <FormError id="pub-form-error" error={errors.form} />
      {published ? (
        <p class="published" aria-live="polite">Published: event id <strong id="pub-id">{published}</strong>
          {' '}(it appears in the live tail when the server notifier delivers it).</p>
      ) : null}
    </section>
  );
}
