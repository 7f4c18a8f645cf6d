// SPDX-License-Identifier: MIT
// events.jsx — the Events page: a live tail of every event, pushed by the
// server notifier's JSON socket (subscription "server_notification"), with
// filters applied in the page (type glob, room, user), pause/resume and each
// event expandable to its JSON; below it, the history search (GET
// /v1/events) and a test publish (POST /v1/events), in events_forms.jsx.
// The tail keeps the newest TAIL_MAX events in the page (and, while paused,
// holds at most TAIL_MAX more): an endless stream cannot grow the tab.
// After the socket reconnects, the events published while it was closed
// are read from the history and put in the tail before the live ones that
// came meanwhile (useGapFree): a lost connection leaves no hole.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { useNotifier } from './notifier.js';
import { EventTable, globRegExp } from './events_row.jsx';
import { HistorySearch, PublishForm } from './events_forms.jsx';

export const TAIL_MAX = 500;  // events kept in the tail (and held while paused)
const FLUSH_MS = 50;          // arrivals are drawn in batches: at most 20 redraws/s

// Newest first, at most TAIL_MAX.
const prepend = (newestFirst, list) => newestFirst.concat(list).slice(0, TAIL_MAX);

// The notifier's events, gap-free from the moment the page opened: each
// event goes to onEvent once, in id order. The last id committed is read
// (GET /health) before the socket opens; each time the socket is
// subscribed (the first time and after every reconnect), GET
// /v1/events?since=<the last id seen> (one page of TAIL_MAX) fills what
// the socket did not carry, while the live events arriving meanwhile wait
// (at most TAIL_MAX) and follow. What cannot be filled (more than a page
// was missed, or the read failed) is said by onGap(text), as is what a
// reconnect filled. Returns the socket's state: live once the history
// has filled what the socket did not carry.
function useGapFree(onEvent, onGap, onUnauthorized) {
  const s = useRef({ last: null, filling: false, waiting: [], subscribed: 0 }).current;
  const [ready, setReady] = useState(false);
  const [catching, setCatching] = useState(false);
  const fail = (e, what) => {
    if (e instanceof ApiError && e.status === 401) onUnauthorized(`Signed out: ${e.message}`);
    else onGap(`${what} (${e.message}); search the history for them.`);
  };
  useEffect(() => {
    api('/health')
      .then((h) => { s.last = BigInt(String(h.last_event_id ?? 0)); })
      .catch((e) => fail(e, 'The tail could not learn where the log ends, so events may be missing'))
      .finally(() => setReady(true));
  }, []);
  const take = (ev) => {
    const id = BigInt(ev.id);
    if (s.last !== null && id <= s.last) return; // already in the tail
    s.last = id;
    onEvent(ev);
  };
  const fill = async () => {
    const reconnect = s.subscribed++ > 0;
    if (s.last === null || s.filling) return;
    s.filling = true;
    setCatching(true);
    try {
      const res = await api(`/v1/events?since=${s.last}&limit=${TAIL_MAX}`);
      const missed = res.events || [];
      missed.forEach(take);
      if (missed.length === TAIL_MAX)
        onGap(`More than ${TAIL_MAX} events were published while the socket was closed: the tail ` +
          `skips some after id ${missed[missed.length - 1].id}; search the history for them.`);
      else if (reconnect && missed.length)
        onGap(`${missed.length} event${missed.length === 1 ? '' : 's'} published while the socket was ` +
          'closed were read from the history.');
    } catch (e) {
      fail(e, 'The events published while the socket was closed could not be read');
    } finally {
      s.filling = false;
      const waiting = s.waiting;
      s.waiting = [];
      waiting.forEach(take);
      setCatching(false);
    }
  };
  const conn = useNotifier(['server_notification'], {
    onLive: fill,
    // Every event (an envelope has an id and a type), not other frames.
    onMessage: (msg) => {
      if (msg.id === undefined || typeof msg.type !== 'string') return;
      if (!s.filling) return take(msg);
      s.waiting.push(msg);
      if (s.waiting.length > TAIL_MAX) {
        s.waiting.shift();
        onGap(`More than ${TAIL_MAX} live events came while the history was read: some were skipped.`);
      }
    },
    onUnauthorized,
  }, ready);
  return conn.live && catching ? { live: false, text: 'catching up from the history…' } : conn;
}

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
  const [gap, setGap] = useState('');
  const conn = useGapFree(onEvent, setGap, onUnauthorized);

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
        {' '}{received} received since this page opened.
        {gap ? <span id="tail-gap"> {gap}</span> : null}
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
