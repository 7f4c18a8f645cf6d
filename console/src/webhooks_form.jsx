// SPDX-License-Identifier: MIT
// webhooks_form.jsx — pieces the Webhooks page shares: a poll that can be
// re-run at once after an action, the endpoint form (create and edit)
// whose API refusals are shown next to the field they concern, and the
// "secret, shown once" panel. Kept beside webhooks.jsx so the page owns all
// of its files (issue 17: one page, its own files).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';

// Runs fn now, then every ms while the component is there (and again when
// deps change). Returns { kick, halt }: kick() runs it at once (after an
// action) and restarts the interval; halt() stops it for good and resolves
// once a read under way has ended (before deleting what it reads, so no
// read can arrive after the delete and meet a 404). Errors go to onError.
export function usePoll(fn, ms, deps, onError) {
  const ctl = useRef({ kick: () => {}, halt: async () => {} });
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    let stop = false, timer, running = null, again = false;
    const tick = async () => {
      clearTimeout(timer);
      if (stop) return;
      if (running) { again = true; return; } // one read at a time; the kick runs after it
      running = (async () => {
        try { await fnRef.current(); } catch (e) { if (!stop) onError(e); }
      })();
      await running;
      running = null;
      if (stop) return;
      if (again) { again = false; tick(); return; }
      timer = setTimeout(tick, ms);
    };
    ctl.current = {
      kick: tick,
      halt: async () => { stop = true; clearTimeout(timer); if (running) await running; },
    };
    tick();
    return () => { stop = true; clearTimeout(timer); };
  }, deps);
  return { kick: () => ctl.current.kick(), halt: () => ctl.current.halt() };
}

// The API names the field first in its 400s ("url must be an http:// or
// https:// URL", "event_types[0] is not valid"): that field gets the
// message; anything else goes under the form.
const FIELDS = ['url', 'description', 'event_types', 'room_ids', 'format'];
export function fieldOf(message) {
  const m = /^([a-z_]+)/.exec(message || '');
  return m && FIELDS.includes(m[1]) ? m[1] : 'form';
}

const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
export const joinList = (l) => (l && l.length ? l.join(', ') : '');

// The endpoint's fields as a form. `initial` is the endpoint being edited
// (null to create one); onSubmit(body) resolves or throws an ApiError whose
// message lands next to its field. Only changed fields are sent on edit.
export function EndpointForm({ idPrefix, initial, submitLabel, onSubmit, onCancel }) {
  const [v, setV] = useState({
    url: initial ? initial.url : '',
    description: initial ? initial.description || '' : '',
    event_types: initial ? joinList(initial.event_types) : '',
    room_ids: initial ? joinList(initial.room_ids) : '',
    format: initial ? initial.format : 'json',
  });
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const id = (f) => `${idPrefix}-${f}`;
  const set = (f) => (e) => setV({ ...v, [f]: e.currentTarget.value });

  async function submit(e) {
    e.preventDefault();
    const body = { url: v.url.trim(), description: v.description, event_types: list(v.event_types),
      room_ids: list(v.room_ids), format: v.format };
    if (initial) {
      // Only what changed: an edit of the description leaves the rest alone.
      if (body.url === initial.url) delete body.url;
      if (body.description === (initial.description || '')) delete body.description;
      if (joinList(body.event_types) === joinList(initial.event_types)) delete body.event_types;
      if (joinList(body.room_ids) === joinList(initial.room_ids)) delete body.room_ids;
      if (body.format === initial.format) delete body.format;
    } else if (!body.description) delete body.description;
    setBusy(true);
    setErrors({});
    try {
      await onSubmit(body);
    } catch (err) {
      const msg = err instanceof ApiError ? err.message : String(err);
      setErrors({ [err instanceof ApiError && err.status === 400 ? fieldOf(msg) : 'form']: msg });
    } finally {
      setBusy(false);
    }
  }

  const field = (f, label, input, help) => (
    <div class="field">
      <label for={id(f)}>{label}</label>
      {input({ id: id(f), 'aria-invalid': errors[f] ? 'true' : 'false',
        'aria-describedby': `${id(f)}-error${help ? ` ${id(f)}-help` : ''}` })}
      {help ? <p id={`${id(f)}-help`} class="help">{help}</p> : null}
      <p id={`${id(f)}-error`} class="error" role="alert">{errors[f] || ''}</p>
    </div>
  );
  return (
    <form class="wh-form" onSubmit={submit} noValidate>
      {field('url', 'URL', (a) => <input {...a} name="url" type="text" autocomplete="off" value={v.url} onInput={set('url')} />)}
      {field('description', 'Description', (a) => <input {...a} name="description" value={v.description} onInput={set('description')} />)}
      {field('event_types', 'Event types', (a) => <input {...a} name="event_types" value={v.event_types} onInput={set('event_types')} placeholder="peer.*, room.created" />,
        'Globs, comma-separated; empty = every type.')}
      {field('room_ids', 'Room ids', (a) => <input {...a} name="room_ids" value={v.room_ids} onInput={set('room_ids')} />,
        'Comma-separated; empty = every room.')}
      {field('format', 'Format', (a) => (
        <select {...a} name="format" value={v.format} onChange={set('format')}>
          <option value="json">json</option>
          <option value="protobuf">protobuf</option>
          <option value="jellyfish-json">jellyfish-json</option>
        </select>
      ))}
      <p id={id('form-error')} class="error" role="alert">{errors.form || ''}</p>
      <div class="wh-buttons">
        <button type="submit" disabled={busy}>{busy ? 'Saving…' : submitLabel}</button>
        {onCancel ? <button type="button" class="secondary" onClick={onCancel}>Cancel</button> : null}
      </div>
    </form>
  );
}

// A secret the API shows only once (create, rotate): shown until the user
// dismisses it; never stored.
export function SecretOnce({ secret, what, onDone }) {
  return (
    <div class="wh-secret" role="status">
      <p><strong>{what}</strong> It is shown only now: copy it to the receiver.</p>
      <code id="wh-secret-value">{secret}</code>
      <button type="button" class="secondary" onClick={onDone}>I have copied it</button>
    </div>
  );
}
