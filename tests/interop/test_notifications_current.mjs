// SPDX-License-Identifier: MIT
// test_notifications_current.mjs — the notifications newer than SDK 0.25
// (issue 15 items 4 and 7) on every path a listener has: the JSON notifier,
// the history, an app client's SSE stream, JSON and protobuf webhooks, a
// protobuf notifier (ServerMessage members 30-32, decoded field by field),
// and the real SDK 0.25.0 notifier, which logs one console error per frame
// it cannot decode unless herald runs with --fishjam-compat 0.25. Then
// herald's own alerts: a disabled endpoint and herald.endpoint_disabled next
// to component.crashed, which protobuf listeners get alone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { EventSource } from 'eventsource';
import { FishjamWSNotifier } from '@fishjam-cloud/js-server-sdk';
import { startHerald } from './herald.mjs';
import { PB, wsClient, jsonNotifier, closeClient, finish, sdkSubscribed, waitUntil, WAIT_MS } from './wsutil.mjs';
import { startReceiver, hapi, settled } from './webhook_receiver.mjs';

globalThis.WebSocket ??= WebSocket; // Node 20: the SDK needs a global WebSocket

// One webhook request in flight per endpoint: bodies arrive in event order.
const herald = await startHerald(['--webhook-max-in-flight', '1']);
const compat = await startHerald(['--webhook-max-in-flight', '1', '--fishjam-compat', '0.25']);
const receivers = [];
after(async () => {
  for (const r of receivers) await r.close();
  await finish(herald);
  await finish(compat);
});

const hex = (b) => Buffer.from(b).toString('hex');

// ---- a protobuf reader: enough to check each field -------------------------

function varint(buf, off) {
  let v = 0, shift = 0;
  for (;;) {
    const b = buf[off++];
    v += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [v, off];
    shift += 7;
  }
}

// {fieldNo: value} of a message whose fields are length-delimited (Buffer)
// or varints (number); a repeated field keeps its last value.
function fields(buf) {
  const out = {};
  for (let off = 0; off < buf.length;) {
    let key, v;
    [key, off] = varint(buf, off);
    if ((key & 7) === 0) {
      [v, off] = varint(buf, off);
    } else {
      assert.equal(key & 7, 2, `wire type of field ${key >> 3}`);
      let len;
      [len, off] = varint(buf, off);
      v = buf.subarray(off, off + len);
      off += len;
    }
    out[key >>> 3] = v;
  }
  return out;
}

// A ServerMessage: [member number, its sub-message's fields].
function member(buf) {
  const f = fields(buf);
  const nos = Object.keys(f);
  assert.equal(nos.length, 1, `one member, got ${nos}`);
  return [Number(nos[0]), fields(f[nos[0]])];
}

const str = (b) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

// ---- listeners -------------------------------------------------------------

async function pbNotifier(h) {
  const c = wsClient(h.url, { options: { perMessageDeflate: false } });
  await c.opened;
  c.send(PB.auth());
  c.send(PB.subscribeNotifications);
  assert.equal(hex(await c.binary(undefined, 'Authenticated')), '3200');
  assert.equal(hex(await c.binary(undefined, 'SubscribeResponse')), hex(PB.subscribeResponseNotifications));
  return c;
}

// The real SDK 0.25.0 notifier, with the console errors it logs counted.
const decodeErrors = [];
const consoleError = console.error;
console.error = (...args) => {
  if (args[0] === "Couldn't decode websocket server message") decodeErrors.push(args);
  else consoleError(...args);
};
after(() => { console.error = consoleError; });

async function sdk025(h) {
  let closed = null;
  const n = new FishjamWSNotifier({ fishjamId: h.url, managementToken: 'development' },
    (err) => consoleError('notifier error', err?.message), (code, reason) => { closed = { code, reason }; });
  const seen = [];
  for (const name of ['roomCreated', 'peerAdded', 'peerConnected']) n.on(name, (m) => seen.push({ name, ...m }));
  await sdkSubscribed(n);
  return {
    n, closed: () => closed, close: () => n.client.close(),
    // Waits for the SDK to emit `name` for peer (or room) id.
    emitted: (name, id) => waitUntil(() => seen.find((e) => e.name === name && (e.peerId ?? e.roomId) === id),
      WAIT_MS, `the SDK to emit ${name} ${id}`),
  };
}

// The next JSON message among those with one of the ids (events of the
// setup, whose fan-out may trail its HTTP answer, are passed over).
async function nextOf(c, ids, what) {
  for (;;) {
    const m = await c.json(WAIT_MS, what);
    if (ids.includes(m.id)) return m;
  }
}

// A room with a peer, created once the listeners are subscribed, whose two
// frames (room_created, peer_added) each protobuf listener then reads.
async function roomAfter(h, pbs) {
  const r = await room(h);
  for (const pb of pbs)
    assert.deepEqual([member(await pb.binary(WAIT_MS, 'room_created'))[0], member(await pb.binary(WAIT_MS, 'peer_added'))[0]], [10, 20]);
  return r;
}

async function room(h) {
  const r = await hapi(h.url, 'POST', '/room', {});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.data.room.id;
  const p = await hapi(h.url, 'POST', `/room/${id}/peer`, { type: 'webrtc' });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  return { id, token: p.body.data.token, peer: p.body.data.peer.id };
}

async function endpoint(h, body) {
  const r = await hapi(h.url, 'POST', '/v1/webhooks', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function receiver(opts) {
  const r = await startReceiver(opts);
  receivers.push(r);
  return r;
}

async function publishOk(h, events) {
  const r = await h.publish(events);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.ids;
}

async function history(h, query) {
  const r = await hapi(h.url, 'GET', `/v1/events?limit=1000&${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.events;
}

// The four events, snake_case and camelCase, each with its room_id so the
// room's app clients and room-filtered webhooks get them.
function newEvents(roomId) {
  return [
    { type: 'track.forwarding', room_id: roomId, data: {
      peer_id: 'p1', composition_url: 'https://comp/1', input_id: 'in-1',
      audio_track: { id: 'a1', type: 'audio', metadata: { lang: 'pl' } },
      video_track: { id: 'v1', type: 'video' } } },
    { type: 'track.forwarding_removed', room_id: roomId, data: {
      roomId, peerId: 'p1', compositionUrl: 'https://comp/1', inputId: 'in-1' } },
    { type: 'vad.notification', room_id: roomId, data: { peerId: 'p1', trackId: 'a1', status: 'speech' } },
    { type: 'vad.notification', room_id: roomId, data: { peer_id: 'p1', track_id: 'a1', status: 'silence' } },
  ];
}

function checkPb(frames, roomId) {
  let [no, f] = member(frames[0]);
  assert.equal(no, 30, 'track_forwarding is member 30');
  assert.deepEqual([str(f[1]), str(f[2]), str(f[3]), str(f[4])], [roomId, 'p1', 'https://comp/1', 'in-1']);
  const audio = fields(f[5]), video = fields(f[6]);
  assert.deepEqual([str(audio[1]), audio[2], str(audio[3])], ['a1', 2, '{"lang":"pl"}']);
  assert.deepEqual([str(video[1]), video[2], video[3]], ['v1', 1, undefined]);
  [no, f] = member(frames[1]);
  assert.equal(no, 31, 'track_forwarding_removed is member 31');
  assert.deepEqual([str(f[1]), str(f[2]), str(f[3]), str(f[4])], [roomId, 'p1', 'https://comp/1', 'in-1']);
  [no, f] = member(frames[2]);
  assert.equal(no, 32, 'vad_notification is member 32');
  assert.deepEqual([str(f[1]), str(f[2]), str(f[3]), f[4]], [roomId, 'p1', 'a1', 2], 'speech is STATUS_SPEECH (2)');
  [no, f] = member(frames[3]);
  assert.equal(no, 32);
  assert.equal(f[4], 1, 'silence is STATUS_SILENCE (1)');
}

test('track.forwarding, track.forwarding_removed, vad.notification reach every listener', async () => {
  const json = await jsonNotifier(herald.url);
  const pb = await pbNotifier(herald);
  const old = await sdk025(herald);
  const r = await roomAfter(herald, [pb]);
  const got = [];
  const es = new EventSource(`${herald.url}/v1/stream?token=${encodeURIComponent(r.token)}`);
  es.onmessage = (m) => got.push(JSON.parse(m.data));
  await new Promise((res) => { es.onopen = res; });
  const jsonHook = await receiver();
  const pbHook = await receiver();
  const epJson = await endpoint(herald, { url: jsonHook.url, room_ids: [r.id], event_types: ['track.*', 'vad.*'] });
  const epPb = await endpoint(herald, { url: pbHook.url, room_ids: [r.id], event_types: ['track.*', 'vad.*'], format: 'protobuf' });

  const events = newEvents(r.id);
  await old.emitted('peerAdded', r.peer); // the setup's frames are behind it
  const errorsBefore = decodeErrors.length;
  const ids = await publishOk(herald, [...events, { type: 'peer.added', room_id: r.id, data: { peer_id: 'mark', peer_type: 'webrtc' } }]);

  // JSON notifier: the native envelope, data as published.
  for (let i = 0; i < events.length; i++) {
    const m = await nextOf(json, ids, `JSON event ${i}`);
    assert.equal(m.id, ids[i]);
    assert.equal(m.type, events[i].type);
    assert.equal(m.room_id, r.id);
    assert.deepEqual(m.data, events[i].data);
  }
  // History.
  const stored = (await history(herald, `room_id=${r.id}`)).filter((e) => ids.includes(e.id));
  assert.deepEqual(stored.map((e) => e.type), [...events.map((e) => e.type), 'peer.added']);
  assert.deepEqual(stored[2].data, events[2].data);
  // The app client.
  const mine = () => got.filter((e) => ids.includes(e.id));
  await waitUntil(() => mine().length >= 5, WAIT_MS, 'the SSE stream to get the five events');
  es.close();
  assert.deepEqual(mine().map((e) => e.type), [...events.map((e) => e.type), 'peer.added']);
  // The protobuf notifier: members 30, 31, 32, 32.
  const frames = [];
  for (let i = 0; i < 5; i++) frames.push(await pb.binary(WAIT_MS, `protobuf frame ${i}`));
  checkPb(frames, r.id);
  assert.equal(member(frames[4])[0], 20, 'then peer_added');
  // Webhooks: JSON bodies are the envelope; protobuf bodies the same members.
  await settled(herald.url, epJson.id);
  await settled(herald.url, epPb.id);
  assert.deepEqual(jsonHook.requests.map((q) => q.json.type), events.map((e) => e.type));
  assert.deepEqual(jsonHook.requests[0].json.data, events[0].data);
  assert.equal(pbHook.requests[0].headers['content-type'], 'application/x-protobuf');
  checkPb(pbHook.requests.map((q) => q.body), r.id);

  // SDK 0.25 decodes each as an empty message and logs it, one error per
  // frame, and goes on: the event after them still arrives.
  const mark = await old.emitted('peerAdded', 'mark');
  assert.deepEqual(mark, { name: 'peerAdded', roomId: r.id, peerId: 'mark', peerType: 1 });
  assert.equal(decodeErrors.length - errorsBefore, 4, 'one console error per frame SDK 0.25 cannot decode');
  assert.equal(old.closed(), null, 'the SDK 0.25 notifier stays connected');
  old.close();
  await closeClient(json);
  await closeClient(pb);
});

test('--fishjam-compat 0.25: protobuf listeners get none of them, JSON listeners all', async () => {
  const json = await jsonNotifier(compat.url);
  const pb = await pbNotifier(compat);
  const old = await sdk025(compat);
  const r = await roomAfter(compat, [pb]);
  await old.emitted('peerAdded', r.peer);
  const pbHook = await receiver();
  const epPb = await endpoint(compat, { url: pbHook.url, room_ids: [r.id], format: 'protobuf' });
  const events = newEvents(r.id);
  const errorsBefore = decodeErrors.length;
  const mark = { type: 'peer.connected', room_id: r.id, data: { peer_id: 'mark', peer_type: 'webrtc' } };
  const ids = await publishOk(compat, [...events, mark]);

  for (let i = 0; i < events.length; i++)
    assert.equal((await nextOf(json, ids, `JSON event ${i}`)).type, events[i].type);
  // Frames are sent in order: the next one is the marker.
  assert.equal(member(await pb.binary(WAIT_MS, 'the marker'))[0], 2, 'peer_connected, nothing before it');
  await old.emitted('peerConnected', 'mark');
  assert.equal(decodeErrors.length, errorsBefore, 'SDK 0.25 logs nothing');
  await settled(compat.url, epPb.id);
  assert.deepEqual(pbHook.requests.map((q) => member(q.body)[0]), [2], 'the protobuf webhook gets peer_connected alone');
  assert.equal((await history(compat, `room_id=${r.id}`)).filter((e) => ids.includes(e.id)).length, 5);
  old.close();
  await closeClient(json);
  await closeClient(pb);
});

test('a disabled endpoint: component.crashed and herald.endpoint_disabled; protobuf gets the first only', async () => {
  const json = await jsonNotifier(herald.url);
  const pb = await pbNotifier(herald);
  const r = await roomAfter(herald, [pb]);
  const ops = await receiver();
  const epOps = await endpoint(herald, { url: ops.url, event_types: ['herald.*', 'component.*'] });
  const gone = await receiver({ respond: () => ({ status: 410, body: 'gone' }) });
  const ep = await endpoint(herald, { url: gone.url, room_ids: [r.id], event_types: ['gone.*'] });
  await publishOk(herald, { type: 'gone.x', room_id: r.id, data: {} });

  const own = await waitUntil(async () => (await history(herald, 'type=herald.endpoint_disabled'))
    .find((e) => e.data.endpoint_id === ep.id), WAIT_MS, 'herald.endpoint_disabled in the history');
  assert.deepEqual(own.data, { endpoint_id: ep.id, reason: '410 Gone' });
  assert.equal(own.room_id, undefined, "an operator's alert: no room's app clients get it");
  const crashed = (await history(herald, 'type=component.crashed')).find((e) => e.data.component_id === ep.id);
  assert.ok(crashed, 'component.crashed stays for SDK 0.25 listeners');
  assert.ok(BigInt(crashed.id) < BigInt(own.id), 'component.crashed first, in the same commit');

  // The JSON notifier: gone.x, component.crashed, herald.endpoint_disabled.
  const seen = [];
  while (seen.length < 3) {
    const t = (await json.json(WAIT_MS, 'the JSON events')).type;
    if (t !== 'room.created' && t !== 'peer.added') seen.push(t); // the setup's
  }
  assert.deepEqual(seen, ['gone.x', 'component.crashed', 'herald.endpoint_disabled']);
  // The operator's JSON webhook gets both.
  await settled(herald.url, epOps.id);
  assert.deepEqual(ops.requests.map((q) => q.json.type), ['component.crashed', 'herald.endpoint_disabled']);
  assert.deepEqual(ops.requests[1].json.data, { endpoint_id: ep.id, reason: '410 Gone' });
  // The protobuf notifier: component_crashed (5), then the marker; nothing
  // for herald.endpoint_disabled, which has no member.
  await publishOk(herald, { type: 'peer.connected', room_id: r.id, data: { peer_id: 'mark' } });
  assert.equal(member(await pb.binary(WAIT_MS, 'component_crashed'))[0], 5);
  assert.equal(member(await pb.binary(WAIT_MS, 'the marker'))[0], 2);
  await closeClient(json);
  await closeClient(pb);
});

test('publishers may not publish herald.* types', async () => {
  const r = await herald.publish({ type: 'herald.endpoint_disabled', data: { endpoint_id: 'x' } });
  assert.equal(r.status, 400);
  assert.match(JSON.stringify(r.body), /herald\.\* is reserved for herald's own events/);
  const ok = await herald.publish({ type: 'heralds.note', data: {} });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});
