// SPDX-License-Identifier: MIT
// events_row.jsx — pieces the Events page's live tail and history share: an
// event's table (each row a button that expands it to its full JSON), the
// type glob the tail filters with (the webhooks' event_types globs: `*` any
// run of characters, dots included, `?` one character, as fnmatch does
// there), and a form field that shows the API's own error next to it.
import { useState } from 'preact/hooks';

// 'peer.*' → /^peer\..*$/; an empty glob matches every type.
export function globRegExp(glob) {
  if (!glob) return null;
  const body = [...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${body.join('')}$`);
}

// The field an API message names ("since must be …", "type must be …",
// "room_id is too long"), if it is one of fields; else null (the form's).
export function fieldOf(message, fields) {
  const m = /^([a-z_]+)\b/.exec(message || '');
  return m && fields.includes(m[1]) ? m[1] : null;
}

// A labelled input with its error paragraph (aria-invalid, aria-describedby,
// role=alert), as the sign-in form does it.
export function Field({ id, label, value, onInput, error, help, multiline, ...rest }) {
  const Tag = multiline ? 'textarea' : 'input';
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <Tag id={id} name={id} value={value} onInput={(e) => onInput(e.currentTarget.value)}
        aria-invalid={error ? 'true' : 'false'} aria-describedby={`${id}-error${help ? ` ${id}-help` : ''}`} {...rest} />
      {help ? <p id={`${id}-help`} class="help">{help}</p> : null}
      <p id={`${id}-error`} class="error" role="alert">{error}</p>
    </div>
  );
}

function excerpt(data) {
  const s = JSON.stringify(data ?? {});
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

// One event: a row (its id is the expand button) and, when open, a row
// holding the whole envelope pretty-printed.
function EventRow({ ev, prefix }) {
  const [open, setOpen] = useState(false);
  const jsonId = `${prefix}-json-${ev.id}`;
  return (
    <>
      <tr data-event-id={ev.id} data-type={ev.type}>
        <td>
          <button type="button" class="expand" aria-expanded={open ? 'true' : 'false'} aria-controls={jsonId}
            aria-label={`Event ${ev.id} as JSON`} onClick={() => setOpen(!open)}>
            <span aria-hidden="true">{open ? '▾' : '▸'}</span> {ev.id}
          </button>
        </td>
        <td title={ev.timestamp}>{(ev.timestamp || '').slice(11, 23)}</td>
        <td class="type">{ev.type}</td>
        <td>{ev.room_id ?? ''}</td>
        <td>{ev.user_id ?? ''}</td>
        <td class="data">{excerpt(ev.data)}</td>
      </tr>
      {open ? (
        <tr class="json-row">
          <td colSpan={6}><pre id={jsonId} class="json">{JSON.stringify(ev, null, 2)}</pre></td>
        </tr>
      ) : null}
    </>
  );
}

// The events (in the order given) as a table that scrolls on its own.
export function EventTable({ id, caption, events, prefix, empty }) {
  return (
    <div class="table-scroll" id={id} tabIndex={0} aria-label={caption}>
      <table class="events">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">id</th><th scope="col">time (UTC)</th><th scope="col">type</th>
            <th scope="col">room</th><th scope="col">user</th><th scope="col">data</th>
          </tr>
        </thead>
        <tbody>
          {events.map((ev) => <EventRow key={ev.id} ev={ev} prefix={prefix} />)}
          {events.length ? null : <tr><td colSpan={6} class="empty">{empty}</td></tr>}
        </tbody>
      </table>
    </div>
  );
}
