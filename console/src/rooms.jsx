// SPDX-License-Identifier: MIT
// rooms.jsx — the Rooms and peers page: the Fishjam room API (GET/POST/
// DELETE /room, /room/:id/peer, refresh_token) in a browser. Rooms and their
// peers are read with GET /room and kept right live by the server notifier's
// JSON socket ("server_notification": every event): presence changes
// (peer.connected / disconnected / crashed) update a peer's status and its
// last change time at once; rooms and peers created or deleted anywhere
// appear or go without a reload. GET /room is read again every POLL_MS and
// after each (re)connection of the socket, so a missed event (the socket was
// down) is corrected. A peer token is shown once, in a box that forgets it
// when dismissed: herald keeps only its hash, so the page is the only place
// it is ever visible again (never in the URL or any storage).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { useNotifier } from './notifier.js';
import { CreateRoom, AddPeer } from './rooms_forms.jsx';

const POLL_MS = 5000;      // GET /room again: corrects whatever a lost socket missed
const REFRESH_TRIES = 3;   // a GET /room overtaken by an event is read again, at most this often
const PRESENCE = new Set(['peer.connected', 'peer.disconnected', 'peer.crashed']);

function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString([], { hour12: false });
}

// A two-step delete: the first button asks, "Really delete" does it;
// both are buttons, so Tab/Enter/Escape work as anywhere.
function Confirm({ label, what, onConfirm }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const really = useRef(null);
  useEffect(() => { if (asking && really.current) really.current.focus(); }, [asking]);
  if (!asking)
    return <button type="button" class="danger-outline" aria-label={`${label} ${what}`}
      onClick={() => setAsking(true)}>{label}</button>;
  const go = async () => {
    setBusy(true);
    try { await onConfirm(); } finally { setBusy(false); setAsking(false); }
  };
  return (
    <span class="confirm" role="group" aria-label={`Confirm: ${label.toLowerCase()} ${what}`}
      onKeyDown={(e) => { if (e.key === 'Escape') setAsking(false); }}>
      <button type="button" class="danger" ref={really} disabled={busy} onClick={go}>Really delete</button>
      <button type="button" class="secondary" onClick={() => setAsking(false)}>Cancel</button>
    </span>
  );
}

// The one place a peer token is shown. Dismissing it drops the token from
// the page's state (and so from the DOM).
function TokenBox({ secret, onDismiss }) {
  const [copied, setCopied] = useState('');
  const box = useRef(null);
  useEffect(() => { box.current && box.current.focus(); }, [secret]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret.token);
      setCopied('Copied to the clipboard.');
    } catch (e) {
      setCopied(`Could not copy (${e.message}): select the token and copy it by hand.`);
    }
  };
  return (
    <div class="token-box" role="region" aria-labelledby="token-title" tabIndex={-1} ref={box}>
      <h3 id="token-title">{secret.title}</h3>
      <p class="help">Shown once: herald keeps only a hash of it. Copy it now; it is gone from this page when
        you press Done.</p>
      <label for="peer-token">Peer token</label>
      <input id="peer-token" readOnly value={secret.token} onFocus={(e) => e.currentTarget.select()} />
      {secret.url ? <p class="help">Peer socket: <code>{secret.url}</code></p> : null}
      <div class="row">
        <button type="button" onClick={copy}>Copy token</button>
        <button type="button" class="secondary" onClick={onDismiss}>Done, hide the token</button>
      </div>
      <p class="help" role="status">{copied}</p>
    </div>
  );
}

function RoomConfig({ config }) {
  const c = config || {};
  const items = [['Type', c.roomType], ['Max peers', c.maxPeers ?? 'no limit'], ['Video codec', c.videoCodec ?? 'any'],
    ['Webhook URL', c.webhookUrl ?? 'none'], ['Public', c.public ? 'yes' : 'no']];
  if (c.batchWebhookNotifications) items.push(['Batched webhooks', 'yes']);
  return (
    <dl class="room-config">
      {items.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{String(v ?? '—')}</dd></div>)}
    </dl>
  );
}

function PeerRow({ room, peer, change, onDelete, onRefreshToken }) {
  const meta = peer.metadata == null ? '' : JSON.stringify(peer.metadata);
  return (
    <tr data-peer={peer.id}>
      <th scope="row" data-label="Peer"><code>{peer.id}</code></th>
      <td data-label="Type">{peer.type}</td>
      <td data-label="Status"><span class={`status status-${peer.status}`} data-testid="peer-status">{peer.status}</span>
        {change && change.reason ? <span class="note"> ({change.reason})</span> : null}</td>
      <td data-label="Last change">{change ? <time datetime={change.at} title={change.at}>{clock(change.at)}</time>
        : <span class="note">before this page</span>}</td>
      <td class="meta" data-label="Metadata"><code>{meta}</code></td>
      <td class="actions" data-label="Actions"><span class="row">
        <button type="button" class="secondary" aria-label={`Refresh the token of peer ${peer.id}`}
          onClick={() => onRefreshToken(room, peer)}>New token</button>
        <Confirm label="Delete peer" what={peer.id} onConfirm={() => onDelete(room, peer)} />
      </span></td>
    </tr>
  );
}

function Room({ room, presence, actions }) {
  const peers = room.peers || [];
  return (
    <article class="room card" aria-labelledby={`room-${room.id}`} data-room={room.id}>
      <div class="room-head">
        <h3 id={`room-${room.id}`}>Room <code>{room.id}</code></h3>
        <span class="note">{peers.length} peer{peers.length === 1 ? '' : 's'}</span>
        <Confirm label="Delete room" what={room.id} onConfirm={() => actions.deleteRoom(room)} />
      </div>
      <RoomConfig config={room.config} />
      {peers.length ? (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Peers of room {room.id}</caption>
            <thead><tr>
              <th scope="col">Peer</th><th scope="col">Type</th><th scope="col">Status</th>
              <th scope="col">Last change</th><th scope="col">Metadata</th><th scope="col">Actions</th>
            </tr></thead>
            <tbody>
              {peers.map((p) => <PeerRow key={p.id} room={room} peer={p} change={presence[p.id]}
                onDelete={actions.deletePeer} onRefreshToken={actions.refreshToken} />)}
            </tbody>
          </table>
        </div>
      ) : <p class="note">No peers.</p>}
      <AddPeer room={room} onAdded={actions.peerAdded} onUnauthorized={actions.unauthorized} />
    </article>
  );
}

export function Rooms({ onUnauthorized }) {
  const [rooms, setRooms] = useState(null);
  const [presence, setPresence] = useState({}); // peer id → {status, at, reason}, from events only
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [secret, setSecret] = useState(null);   // {title, token, url}: the token shown once
  const gen = useRef(0); // counts room and peer events: a GET /room started before one is stale

  const fail = (e) => {
    if (e instanceof ApiError && e.status === 401) onUnauthorized(`Signed out: ${e.message}`);
    else setError(e.message);
  };

  async function refresh() {
    for (let i = 0; i < REFRESH_TRIES; i++) {
      const start = gen.current;
      const res = await api('/room');
      if (gen.current !== start) continue; // an event came meanwhile: the answer may predate it
      const list = res.data || [];
      setRooms(list);
      const ids = new Set(list.flatMap((r) => (r.peers || []).map((p) => p.id)));
      setPresence((m) => Object.fromEntries(Object.entries(m).filter(([id]) => ids.has(id))));
      setError('');
      return;
    }
  }
  const refreshQuietly = () => refresh().catch(fail);

  function onEvent(ev) {
    const t = ev.type || '';
    if (!t.startsWith('room.') && !t.startsWith('peer.')) return;
    gen.current++;
    const d = ev.data || {};
    const roomId = d.room_id ?? ev.room_id;
    const mapPeers = (fn) => setRooms((rs) => rs && rs.map((r) => (r.id === roomId ? { ...r, peers: fn(r.peers || []) } : r)));
    if (PRESENCE.has(t)) {
      const status = t.slice(5);
      setPresence((m) => ({ ...m, [d.peer_id]: { status, at: ev.timestamp, reason: d.reason } }));
      mapPeers((ps) => ps.map((p) => (p.id === d.peer_id ? { ...p, status } : p)));
    } else if (t === 'peer.metadata_updated') {
      mapPeers((ps) => ps.map((p) => (p.id === d.peer_id ? { ...p, metadata: d.metadata } : p)));
    } else if (t === 'peer.deleted') {
      mapPeers((ps) => ps.filter((p) => p.id !== d.peer_id));
    } else if (t === 'room.deleted') {
      setRooms((rs) => rs && rs.filter((r) => r.id !== roomId));
    } else if (t === 'room.created' || t === 'peer.added') {
      refreshQuietly(); // the event does not carry the config or the peer's metadata
    }
  }

  useEffect(() => {
    let stop = false, poll;
    const tick = async () => {
      await refreshQuietly();
      if (!stop) poll = setTimeout(tick, POLL_MS);
    };
    tick();
    return () => { stop = true; clearTimeout(poll); };
  }, []);
  const live = useNotifier(['server_notification'], {
    onLive: refreshQuietly, // whatever happened while the socket was down
    onMessage: onEvent,
    onUnauthorized,
  }).text;

  const actions = {
    unauthorized: onUnauthorized,
    async deleteRoom(room) {
      try {
        await api(`/room/${encodeURIComponent(room.id)}`, { method: 'DELETE' });
        setNotice(`Room ${room.id} deleted.`);
        await refresh();
      } catch (e) { fail(e); }
    },
    async deletePeer(room, peer) {
      try {
        await api(`/room/${encodeURIComponent(room.id)}/peer/${encodeURIComponent(peer.id)}`, { method: 'DELETE' });
        setNotice(`Peer ${peer.id} deleted.`);
        await refresh();
      } catch (e) { fail(e); }
    },
    async refreshToken(room, peer) {
      try {
        const r = await api(`/room/${encodeURIComponent(room.id)}/peer/${encodeURIComponent(peer.id)}/refresh_token`,
          { method: 'POST' });
        setSecret({ title: `New token of peer ${peer.id} (the old one no longer works)`, token: r.data.token });
      } catch (e) { fail(e); }
    },
    peerAdded(data) {
      setSecret({ title: `Token of peer ${data.peer.id}`, token: data.token, url: data.peer_websocket_url });
      refreshQuietly();
    },
  };

  // Done: the token leaves the page's state; keyboard focus goes back to
  // the page's title rather than to the document's start.
  const title = useRef(null);
  const dismiss = () => { setSecret(null); title.current && title.current.focus(); };

  return (
    <section aria-labelledby="page-title" class="rooms-page">
      <h2 id="page-title" tabIndex={-1} ref={title}>Rooms and peers</h2>
      <p class="note">Presence: <span id="rooms-live">{live}</span>. The list is read again every
        {' '}{POLL_MS / 1000} s.</p>
      {error ? <p class="error" role="alert">{error}</p> : null}
      <p class="note" role="status">{notice}</p>
      {secret ? <TokenBox secret={secret} onDismiss={dismiss} /> : null}
      <CreateRoom onCreated={(room) => { setNotice(`Room ${room.id} created.`); refreshQuietly(); }}
        onUnauthorized={onUnauthorized} />
      <h3>Rooms {rooms ? `(${rooms.length})` : ''}</h3>
      {rooms == null ? <p class="note">Loading…</p>
        : rooms.length === 0 ? <p class="note" id="no-rooms">No rooms.</p>
          : rooms.map((r) => <Room key={r.id} room={r} presence={presence} actions={actions} />)}
    </section>
  );
}
