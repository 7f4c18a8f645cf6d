// SPDX-License-Identifier: MIT
// events.jsx — the Events page: a live tail of every event, pushed by the
// server notifier's JSON socket (subscription "server_notification"), with
// filters applied in the page (type glob, room, user), pause/resume and each
// event expandable to its JSON; below it, the history search (GET
// /v1/events) and a test publish (POST /v1/events), in events_forms.jsx.
// The tail keeps the newest TAIL_MAX events in the page (and, while paused,
// holds at most TAIL_MAX more): an endless stream cannot grow the tab.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useNotifier } from './notifier.js';
import { EventTable, globRegExp } from './events_row.jsx';
import { HistorySearch, PublishForm } from './events_forms.jsx';

export const TAIL_MAX = 500;  // events kept in the tail (and held while paused)
const FLUSH_MS = 50;          // arrivals are drawn in batches: at most 20 redraws/s

// Newest first, at most TAIL_MAX.
const prepend = (newestFirst, list) => newestFirst.concat(list).slice(0, TAIL_MAX);

function LiveTail({ onUnauthorized }) {
  const [tail, setTail] = useState([]);               // newest first
  const [held, setHeld] = useState({ list: [], count: 0 }); // arrived while paused (a copy of heldRef)
  const [paused, setPaused] = useState(false);
  const [received, setReceived] = useState(0);
  const [filter, setFilter] = useState({ type: '', room: '', user: '' });
  const queue = useRef({ list: [], dropped: 0, timer: null }); // not drawn yet, oldest first
  const pausedRef = useRef(false);
  // Held events live in a ref: Resume must take every one flushed so far,
  // even one whose redraw has not happened yet.
  const heldRef = useRef({ list: [], count: 0 });

  const flush = () => {
    const q = queue.current;
    const batch = q.list.reverse(), n = batch.length + q.dropped;
    q.list = [];
    q.dropped = 0;
    q.timer = null;
    setReceived((r) => r + n);
    if (pausedRef.current) {
      const h = heldRef.current;
      heldRef.current = { list: prepend(batch, h.list), count: h.count + n };
      setHeld(heldRef.current);
    } else {
      setTail((t) => prepend(batch, t));
    }
  };
  const onEvent = (ev) => {
    const q = queue.current;
    q.list.push(ev);
    if (q.list.length > TAIL_MAX) { q.list.shift(); q.dropped++; }
    if (!q.timer) q.timer = setTimeout(flush, FLUSH_MS);
  };
  useEffect(() => () => clearTimeout(queue.current.timer), []);
  // Every event (an envelope has an id and a type), not other frames.
  const conn = useNotifier(['server_notification'], {
    onMessage: (msg) => { if (msg.id !== undefined && typeof msg.type === 'string') onEvent(msg); },
    onUnauthorized,
  });

  const togglePause = () => {
    if (pausedRef.current) {
      const h = heldRef.current;
      heldRef.current = { list: [], count: 0 };
      setTail((t) => prepend(h.list, t));
      setHeld(heldRef.current);
    }
    pausedRef.current = !pausedRef.current;
    setPaused(pausedRef.current);
  };
  const set = (k) => (e) => setFilter({ ...filter, [k]: e.currentTarget.value });
  const re = globRegExp(filter.type.trim());
  const room = filter.room.trim(), user = filter.user.trim();
  const shown = tail.filter((ev) => (!re || re.test(ev.type)) &&
    (!room || ev.room_id === room) && (!user || ev.user_id === user));

  return (
    <section class="panel" aria-labelledby="tail-title">
      <div class="tail-head">
        <h3 id="tail-title">Live tail</h3>
        <p id="tail-conn" class={conn.live ? 'conn live' : 'conn'} aria-live="polite">
          Server notifier: <strong>{conn.text}</strong>
        </p>
        <button type="button" id="tail-pause" onClick={togglePause} aria-pressed={paused ? 'true' : 'false'}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" class="secondary" onClick={() => setTail([])}>Clear</button>
      </div>
      <div class="filters" role="group" aria-label="Filter the tail">
        <div class="field"><label for="tail-type">Type (glob)</label>
          <input id="tail-type" value={filter.type} onInput={set('type')} placeholder="peer.*" /></div>
        <div class="field"><label for="tail-room">Room id</label>
          <input id="tail-room" value={filter.room} onInput={set('room')} /></div>
        <div class="field"><label for="tail-user">User id</label>
          <input id="tail-user" value={filter.user} onInput={set('user')} /></div>
      </div>
      <p id="tail-status" class="help" aria-live="polite">
        {paused
          ? <strong id="tail-held">Paused: {held.count} new event{held.count === 1 ? '' : 's'} held
            {held.count > TAIL_MAX ? ` (the newest ${TAIL_MAX} kept)` : ''}; Resume shows them. </strong>
          : null}
        Showing {shown.length} of the {tail.length} newest events kept (the page keeps the last {TAIL_MAX});
        {' '}{received} received since this page opened. Events published while the socket was closed are
        not in the tail: search the history below.
      </p>
      <EventTable id="tail" prefix="tail" caption="Live tail, newest first" events={shown}
        empty={tail.length ? 'No event kept matches the filters.' : 'Waiting for events…'} />
    </section>
  );
}

export function Events({ onUnauthorized }) {
  return (
    <section aria-labelledby="page-title" class="events-page">
      <h2 id="page-title">Events</h2>
      <LiveTail onUnauthorized={onUnauthorized} />
      <div class="events-forms">
        <HistorySearch onUnauthorized={onUnauthorized} />
        <PublishForm onUnauthorized={onUnauthorized} />
      </div>
    </section>
  );
}
