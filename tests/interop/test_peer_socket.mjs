// SPDX-License-Identifier: MIT
// test_peer_socket.mjs — /socket/peer/websocket as an app client sees it:
// the three ways to authenticate, what a peer receives (its room, its own
// user, nothing of other rooms), metadata updates, presence events
// (connected, disconnected, crashed on TCP loss and on missing pongs),
// replacement by a second socket, deletion of the peer or its room, bad
// tokens, the authentication timeout, and rooms and peers surviving a
// restart.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startHerald } from './herald.mjs';
import { metric, WAIT_MS } from './wsutil.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const AUTH = { authorization: 'Bearer development', 'content-type': 'application/json' };
// herald's default ping interval and header timeout: a client on a loaded
// machine is never taken for dead. The heartbeat and authentication
// timeouts are tested on heralds of their own with short ones (withHerald).
let herald = await startHerald();
after(() => herald.stop());

async function api(method, path, body) {
  const res = await fetch(herald.url + path, { method, headers: AUTH, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
async function newRoom(id) { return (await api('POST', '/room', id ? { roomId: id } : {})).body.data.room.id; }
async function newPeer(room, metadata) {
  const r = await api('POST', `/room/${room}/peer`, { type: 'webrtc', options: { metadata } });
  return { id: r.body.data.peer.id, token: r.body.data.token };
}
async function history(type) {
  const r = await api('GET', `/v1/events?since=0&limit=10000${type ? `&type=${type}` : ''}`);
  return r.body.events;
}
async function waitFor(pred, what, ms = WAIT_MS) {
  for (const end = Date.now() + ms; Date.now() < end;) { const v = await pred(); if (v) return v; await sleep(25); }
  throw new Error(`timed out waiting for ${what}`);
}

// Runs fn with `herald` (which every helper here uses) set to a herald of
// its own started with args, then stops that one.
async function withHerald(args, fn) {
  const main = herald;
  herald = await startHerald(args);
  try { await fn(); } finally {
    const h = herald;
    herald = main;
    assert.equal(await h.stop(), 0);
  }
}

// Waits until herald has closed every peer socket but `open` of them, then
// publishes a marker event and waits for it to be in the history. A socket's
// presence events are committed before herald counts it out, and commits
// are stored in order, so everything its closing caused is in the history.
async function quiesce(open = 0) {
  await waitFor(async () => (await metric(herald.url, 'herald_connections{kind="ws_peer"}')) === open, `${open} peer sockets left`);
  const [id] = (await api('POST', '/v1/events', { type: 'test.marker', data: {} })).body.ids;
  await waitFor(async () => (await history('test.marker')).some((e) => e.id === id), 'the marker in the history');
}

// A peer socket that records messages and its close.
function peerSocket(token, how = 'frame', wsOpts = {}) {
  const base = herald.url.replace('http', 'ws') + '/socket/peer/websocket';
  const url = how === 'query' ? `${base}?token=${encodeURIComponent(token)}` : base;
  const headers = how === 'header' ? { authorization: `Bearer ${token}` } : {};
  const ws = new WebSocket(url, { headers, ...wsOpts });
  const s = { ws, msgs: [], closed: null };
  s.closedP = new Promise((r) => ws.on('close', (code, reason) => { s.closed = { code, reason: reason.toString() }; r(s.closed); }));
  ws.on('message', (d) => s.msgs.push(JSON.parse(d.toString())));
  ws.on('error', () => {});
  if (how === 'frame') ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
  s.ready = waitFor(() => s.msgs.find((m) => m.type === 'authenticated') || s.closed, 'authenticated');
  return s;
}

test('auth by first frame, header or query; a peer gets its room and its user, never another room', async () => {
  const roomA = await newRoom(), roomB = await newRoom();
  const a1 = await newPeer(roomA), a2 = await newPeer(roomA), b1 = await newPeer(roomB);
  const s1 = peerSocket(a1.token, 'frame');
  assert.equal((await s1.ready).type, 'authenticated');
  const s2 = peerSocket(a2.token, 'header'), s3 = peerSocket(b1.token, 'query');
  for (const s of [s2, s3]) assert.equal((await s.ready).type, 'authenticated');
  await waitFor(() => s1.msgs.some((m) => m.type === 'peer.connected' && m.data.peer_id === a2.id), 'a2 connected');
  assert.deepEqual(s1.msgs[0], { type: 'authenticated', peer_id: a1.id, room_id: roomA });

  await api('POST', '/v1/events', [
    { type: 'chat.message', room_id: roomA, data: { text: 'to room A' } },
    { type: 'chat.message', room_id: roomB, data: { text: 'to room B' } },
    { type: 'user.notice', user_id: `peer:${a1.id}`, data: { text: 'only for a1' } },
    { type: 'user.notice', room_id: roomA, user_id: `peer:${a2.id}`, data: { text: 'only for a2' } },
  ]);
  await waitFor(() => s1.msgs.some((m) => m.data?.text === 'only for a1'), 'a1 private event');
  await waitFor(() => s2.msgs.some((m) => m.data?.text === 'only for a2'), 'a2 private event');
  await waitFor(() => s3.msgs.some((m) => m.data?.text === 'to room B'), 'b1 room event');
  const texts = (s) => s.msgs.filter((m) => m.type === 'chat.message' || m.type === 'user.notice').map((m) => m.data.text);
  assert.deepEqual(texts(s1), ['to room A', 'only for a1']);
  assert.deepEqual(texts(s2), ['to room A', 'only for a2']);
  assert.deepEqual(texts(s3), ['to room B']);
  // Presence events of its own room reach a peer, with ids.
  const seen = s1.msgs.filter((m) => m.type === 'peer.connected').map((m) => m.data.peer_id);
  assert.ok(seen.includes(a2.id) && !seen.includes(b1.id));
  assert.ok(s1.msgs.filter((m) => m.id).every((m) => /^\d+$/.test(m.id)));
  for (const s of [s1, s2, s3]) s.ws.close();
  await Promise.all([s1.closedP, s2.closedP, s3.closedP]);
});

test('update_metadata emits peer.metadata_updated; bad messages get an error and the socket stays', async () => {
  const room = await newRoom();
  const p = await newPeer(room, { v: 1 });
  const s = peerSocket(p.token);
  await s.ready;
  s.ws.send('not json');
  s.ws.send(JSON.stringify({ type: 'dance' }));
  s.ws.send(JSON.stringify({ type: 'update_metadata', metadata: { v: 2 } }));
  const upd = await waitFor(() => s.msgs.find((m) => m.type === 'peer.metadata_updated'), 'metadata event');
  assert.deepEqual(upd.data, { room_id: room, peer_id: p.id, peer_type: 'webrtc', metadata: { v: 2 } });
  assert.equal(s.msgs.filter((m) => m.type === 'error').length, 2);
  assert.deepEqual((await api('GET', `/room/${room}`)).body.data.peers[0].metadata, { v: 2 });
  s.ws.close();
  await s.closedP;
});

test('clean close, lost TCP and missing pongs: disconnected vs crashed', async () => {
  const room = await newRoom();
  const clean = await newPeer(room), lost = await newPeer(room);
  const s1 = peerSocket(clean.token), s2 = peerSocket(lost.token);
  await Promise.all([s1.ready, s2.ready]);
  assert.equal((await api('GET', `/room/${room}`)).body.data.peers.filter((p) => p.status === 'connected').length, 2);
  s1.ws.close(1000);
  s2.ws._socket.destroy(); // the network goes away: no close frame
  const byPeer = async (type, id) => (await history(type)).find((e) => e.data.peer_id === id);
  const d = await waitFor(() => byPeer('peer.disconnected', clean.id), 'peer.disconnected');
  const c = await waitFor(() => byPeer('peer.crashed', lost.id), 'peer.crashed (lost)');
  assert.equal(c.data.reason, 'connection lost');
  assert.equal(d.room_id, room);
  await quiesce();
  assert.equal(await byPeer('peer.crashed', clean.id), undefined);
  assert.equal((await api('GET', `/room/${room}`)).body.data.peers.filter((p) => p.status === 'connected').length, 0);

  // A client that never answers pings, on a herald pinging every 0.3 s.
  await withHerald(['--ping-interval', '0.3'], async () => {
    const room2 = await newRoom();
    const deaf = await newPeer(room2);
    const s3 = peerSocket(deaf.token, 'frame', { autoPong: false });
    assert.equal((await s3.ready).type, 'authenticated');
    const h = await waitFor(() => byPeer('peer.crashed', deaf.id), 'peer.crashed (heartbeat)');
    assert.equal(h.data.reason, 'heartbeat timeout');
    assert.equal((await api('GET', `/room/${room2}`)).body.data.peers.filter((p) => p.status === 'connected').length, 0);
  });
});

test('a second socket with the same token replaces the first (4002), presence unchanged', async () => {
  const room = await newRoom();
  const p = await newPeer(room);
  const first = peerSocket(p.token);
  await first.ready;
  const second = peerSocket(p.token);
  await second.ready;
  assert.deepEqual(await first.closedP, { code: 4002, reason: 'replaced by a new connection' });
  await quiesce(1);
  const mine = (await history()).filter((e) => e.data.peer_id === p.id).map((e) => e.type);
  assert.deepEqual(mine, ['peer.added', 'peer.connected']);
  second.ws.close();
  await second.closedP;
});

test('deleting a peer closes its socket (4004): disconnected then deleted; deleting a room (4005): room.deleted only', async () => {
  const room = await newRoom();
  const p = await newPeer(room), q = await newPeer(room);
  // One after the other: two sockets authenticating at once may connect in either order.
  const sp = peerSocket(p.token);
  await sp.ready;
  const sq = peerSocket(q.token);
  await sq.ready;
  assert.equal((await api('DELETE', `/room/${room}/peer/${p.id}`)).status, 204);
  assert.deepEqual(await sp.closedP, { code: 4004, reason: 'peer deleted' });
  assert.equal((await api('DELETE', `/room/${room}`)).status, 204);
  assert.deepEqual(await sq.closedP, { code: 4005, reason: 'room deleted' });
  // Each socket hears why before it is closed.
  assert.deepEqual(sp.msgs.slice(-2).map((m) => m.type), ['peer.disconnected', 'peer.deleted']);
  assert.equal(sq.msgs.at(-1).type, 'room.deleted');
  await quiesce();
  const mine = (await history()).filter((e) => e.room_id === room).map((e) => `${e.type}${e.data.peer_id === p.id ? ':p' : e.data.peer_id === q.id ? ':q' : ''}`);
  assert.deepEqual(mine, ['room.created', 'peer.added:p', 'peer.added:q', 'peer.connected:p', 'peer.connected:q',
    'peer.disconnected:p', 'peer.deleted:p', 'room.deleted']);
});

test('bad tokens and silence are refused with 4003', async () => {
  const bad = peerSocket('not-a-token');
  assert.deepEqual(await bad.closedP, { code: 4003, reason: 'invalid token' });
  const header = peerSocket('nope', 'header');
  assert.deepEqual(await header.closedP, { code: 4003, reason: 'invalid token' });
  const ws = new WebSocket(herald.url.replace('http', 'ws') + '/socket/peer/websocket');
  const notAuth = await new Promise((r) => { ws.on('open', () => ws.send('{"type":"hello"}')); ws.on('close', (c, m) => r({ code: c, reason: m.toString() })); });
  assert.deepEqual(notAuth, { code: 4003, reason: 'invalid auth request' });
  // Silence, on a herald that waits 1 s for the auth frame.
  await withHerald(['--header-timeout', '1'], async () => {
    const silent = new WebSocket(herald.url.replace('http', 'ws') + '/socket/peer/websocket');
    const timeout = await new Promise((r) => silent.on('close', (c, m) => r({ code: c, reason: m.toString() })));
    assert.deepEqual(timeout, { code: 4003, reason: 'authentication timeout' });
  });
});

test('rooms and peers survive a restart; tokens keep working', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-restart-'));
  try {
    const first = await startHerald([], { dataDir: dir });
    const old = herald;
    herald = first;
    const room = await newRoom('persistent-room');
    const p = await newPeer(room, { who: 'me' });
    const s = peerSocket(p.token);
    await s.ready;
    assert.equal(await first.stop(), 0);
    // Tokens are stored only as hashes: no file of the store holds one.
    for (const f of readdirSync(dir))
      assert.ok(!readFileSync(join(dir, f)).includes(p.token), `${f} contains the peer token`);
    herald = await startHerald([], { dataDir: dir });
    const got = (await api('GET', `/room/${room}`)).body.data;
    assert.equal(got.peers.length, 1);
    assert.equal(got.peers[0].id, p.id);
    assert.equal(got.peers[0].status, 'disconnected');
    assert.deepEqual(got.peers[0].metadata, { who: 'me' });
    const again = peerSocket(p.token);
    assert.equal((await again.ready).type, 'authenticated');
    again.ws.close();
    await again.closedP;
    assert.equal(await herald.stop(), 0);
    herald = old;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
