// SPDX-License-Identifier: MIT
// test_notifier_json.mjs — the server notifier socket with the real `ws`
// client: the JSON variant (text frames, native envelope), the Fishjam
// protobuf variant (binary frames, exact bytes from the reference), metrics
// subscriptions, and the close codes of both.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald } from './herald.mjs';
import { PB, wsClient, jsonNotifier, closeClient, finish, waitUntil, within, WAIT_MS } from './wsutil.mjs';

const herald = await startHerald(['--metrics-interval', '0.3']);
after(() => finish(herald));

const hex = (b) => Buffer.from(b).toString('hex');
const bytes = (s) => Buffer.from(s.replace(/ /g, ''), 'hex');
const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

async function publishOk(events) {
  const r = await herald.publish(events);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.ids.length, Array.isArray(events) ? events.length : 1);
  return r.body.ids;
}

// A protobuf notifier: auth and subscribe sent back-to-back, as the SDK does.
async function pbNotifier(eventType = 1) {
  const c = wsClient(herald.url, { options: { perMessageDeflate: false } });
  await c.opened;
  c.send(PB.auth());
  c.send(Buffer.from([0x42, 0x02, 0x08, eventType]));
  assert.equal(hex(await c.binary(undefined, 'Authenticated')), '3200');
  assert.equal(hex(await c.binary(undefined, 'SubscribeResponse')), hex([0x4a, 0x02, 0x08, eventType]));
  return c;
}

// Reads a protobuf varint at off; returns [value, next offset].
function varint(buf, off) {
  let v = 0, shift = 0;
  for (;;) {
    const b = buf[off++];
    v += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [v, off];
    shift += 7;
  }
}

test('JSON: auth, subscribe, and each event as one text frame in the native envelope', async () => {
  const c = wsClient(herald.url);
  await c.opened;
  c.send(JSON.stringify({ type: 'auth', token: 'development' }));
  assert.deepEqual(await c.json(), { type: 'authenticated' });
  c.send(JSON.stringify({ type: 'subscribe', event_type: 'server_notification' }));
  assert.deepEqual(await c.json(), { type: 'subscribe_response', event_type: 'server_notification' });

  const events = [
    { type: 'room.created', room_id: 'r1', data: { room_id: 'r1' } },
    { type: 'chat.message', room_id: 'r1', user_id: 'u-7', data: { text: 'héllo "wörld" \u2603', n: 1.5, list: [1, null, true] } },
    { type: 'user.notice', user_id: 'u-8', data: {} },
  ];
  const before = Date.now();
  const ids = await publishOk(events);
  for (const id of ids) assert.match(id, /^\d+$/);
  for (let i = 0; i < events.length; i++) {
    const m = await c.messages.next(undefined, `event ${i}`);
    assert.equal(m.isBinary, false, 'JSON subscribers get text frames');
    const ev = m.json;
    const { id, type, timestamp, data } = ev;
    assert.deepEqual(Object.keys(ev).sort(), ['data', 'id', 'timestamp', 'type',
      ...(events[i].room_id ? ['room_id'] : []), ...(events[i].user_id ? ['user_id'] : [])].sort());
    assert.equal(id, ids[i]);
    assert.equal(type, events[i].type);
    assert.equal(ev.room_id, events[i].room_id);
    assert.equal(ev.user_id, events[i].user_id);
    assert.deepEqual(data, events[i].data);
    assert.match(timestamp, ISO_Z);
    const t = Date.parse(timestamp);
    assert.ok(t >= before - 2000 && t <= Date.now() + 2000, `timestamp ${timestamp} is the append time`);
  }
  assert.ok(BigInt(ids[0]) < BigInt(ids[1]) && BigInt(ids[1]) < BigInt(ids[2]));
  await closeClient(c);
});

test('JSON: auth and subscribe sent back-to-back are both answered, in order', async () => {
  const c = wsClient(herald.url);
  await c.opened;
  c.send(JSON.stringify({ type: 'auth', token: 'development' }));
  c.send(JSON.stringify({ type: 'subscribe', event_type: 'server_notification' }));
  assert.deepEqual(await c.json(), { type: 'authenticated' });
  assert.deepEqual(await c.json(), { type: 'subscribe_response', event_type: 'server_notification' });
  const [id] = await publishOk({ type: 'room.deleted', room_id: 'r9', data: {} });
  assert.equal((await c.json()).id, id);
  await closeClient(c);
});

test('JSON: the SDK-style path //socket/server/websocket works too', async () => {
  const c = await jsonNotifier(herald.url, { path: '//socket/server/websocket' });
  const [id] = await publishOk({ type: 'chat.message', data: { via: 'double slash' } });
  const ev = await c.json();
  assert.equal(ev.id, id);
  assert.deepEqual(ev.data, { via: 'double slash' });
  await closeClient(c);
});

test('JSON: subscribing twice delivers each event once', async () => {
  const c = await jsonNotifier(herald.url, { subscribe: ['server_notification', 'server_notification'] });
  const ids = await publishOk([{ type: 'a.one', data: {} }, { type: 'a.two', data: {} }]);
  const [marker] = await publishOk({ type: 'a.marker', data: {} });
  const got = [];
  for (let i = 0; i < 3; i++) got.push((await c.json()).id);
  assert.deepEqual(got, [...ids, marker]);
  await closeClient(c);
});

test('JSON: an authenticated socket that did not subscribe gets no events', async () => {
  const quiet = wsClient(herald.url);
  await quiet.opened;
  quiet.send(JSON.stringify({ type: 'auth', token: 'development' }));
  assert.deepEqual(await quiet.json(), { type: 'authenticated' });
  const loud = await jsonNotifier(herald.url);
  const [id] = await publishOk({ type: 'chat.message', data: { to: 'subscribers' } });
  assert.equal((await loud.json()).id, id);
  // Had the event reached `quiet`, it would come before this answer.
  quiet.send(JSON.stringify({ type: 'subscribe', event_type: 'server_notification' }));
  assert.deepEqual(await quiet.json(), { type: 'subscribe_response', event_type: 'server_notification' });
  await closeClient(quiet);
  await closeClient(loud);
});

test('protobuf: exact handshake bytes, Fishjam events as binary frames, custom types only to JSON', async () => {
  const pb = await pbNotifier();
  const js = await jsonNotifier(herald.url);
  const events = [
    { type: 'room.created', data: { room_id: 'r1' } },
    { type: 'chat.message', room_id: 'r1', data: { text: 'no protobuf form' } },
    { type: 'peer.added', room_id: 'r1', data: { peer_id: 'p1', peer_type: 'webrtc' } },
    { type: 'track.added', room_id: 'r1', data: { peer_id: 'p1', track: { id: 't', type: 'audio', metadata: {} } } },
    { type: 'room.deleted', data: { roomId: 'r1' } },
  ];
  const ids = await publishOk(events);

  assert.equal(hex(await pb.binary()), '52040a027231');
  // chat.message has no protobuf form: the next frame is peer.added.
  assert.equal(hex(await pb.binary()), hex(bytes('a2 01 0a 0a 02 72 31 12 02 70 31 18 01')));
  assert.equal(hex(await pb.binary()), hex(bytes('8a 01 13 0a 02 72 31 12 02 70 31 22 09 0a 01 74 10 02 1a 02 7b 7d')));
  assert.equal(hex(await pb.binary()), '5a040a027231');

  for (let i = 0; i < events.length; i++) {
    const ev = await js.json(undefined, `JSON event ${i}`);
    assert.equal(ev.id, ids[i]);
    assert.equal(ev.type, events[i].type);
    assert.deepEqual(ev.data, events[i].data);
  }
  // Nothing else is queued for the protobuf subscriber.
  const [last] = await publishOk({ type: 'peer.deleted', room_id: 'r1', data: { peer_id: 'p1', peer_type: 'webrtc' } });
  assert.equal(hex(await pb.binary()), hex(bytes('aa 01 0a 0a 02 72 31 12 02 70 31 18 01')));
  assert.equal((await js.json()).id, last);
  await closeClient(pb);
  await closeClient(js);
});

test('protobuf: an unknown event type is answered and ignored; the socket keeps working', async () => {
  const pb = await pbNotifier(7);
  pb.send(PB.subscribeNotifications);
  assert.equal(hex(await pb.binary()), hex(PB.subscribeResponseNotifications));
  await publishOk({ type: 'room.created', data: { room_id: 'r2' } });
  assert.equal(hex(await pb.binary()), '52040a027232');
  assert.equal(pb.ws.readyState, pb.ws.OPEN);
  await closeClient(pb);
});

test('metrics (JSON): metrics.report frames every --metrics-interval, with the figures', async () => {
  const c = await jsonNotifier(herald.url, { subscribe: ['metrics'] });
  const reports = [];
  for (let i = 0; i < 2; i++) reports.push(await c.json(WAIT_MS, `metrics report ${i}`));
  for (const r of reports) {
    assert.deepEqual(Object.keys(r).sort(), ['data', 'timestamp', 'type']);
    assert.equal(r.type, 'metrics.report');
    assert.match(r.timestamp, ISO_Z);
    assert.equal(typeof r.data.connections, 'object');
    assert.ok(r.data.connections.ws_server >= 1, `this socket is counted: ${JSON.stringify(r.data.connections)}`);
    assert.equal(typeof r.data.events_per_s, 'number');
    assert.ok(r.data.events_per_s >= 0);
  }
  assert.ok(Date.parse(reports[1].timestamp) > Date.parse(reports[0].timestamp));
  await closeClient(c);
});

test('metrics and notifications are separate subscriptions', async () => {
  const metricsOnly = await jsonNotifier(herald.url, { subscribe: ['metrics'] });
  const eventsOnly = await jsonNotifier(herald.url);
  const both = await jsonNotifier(herald.url, { subscribe: ['server_notification', 'metrics'] });
  const [id] = await publishOk({ type: 'chat.message', data: { x: 1 } });
  // `both` gets the event and reports; wait for two reports after the event.
  const seen = [];
  await within((async () => {
    while (seen.filter((m) => m.type === 'metrics.report').length < 2 || !seen.some((m) => m.id === id))
      seen.push(await both.json());
  })(), WAIT_MS, 'an event and two reports on the socket subscribed to both');
  // The metrics-only socket: two reports, no event among them.
  for (let i = 0; i < 2; i++) assert.equal((await metricsOnly.json(WAIT_MS)).type, 'metrics.report');
  await waitUntil(() => eventsOnly.messages.items.length >= 1, WAIT_MS, 'the event on the events-only socket');
  const got = eventsOnly.messages.items.map((m) => m.json);
  assert.deepEqual(got.map((m) => m.id), [id], `the events-only socket got no metrics: ${JSON.stringify(got)}`);
  assert.ok(!metricsOnly.messages.items.some((m) => m.json?.id === id), 'the metrics-only socket got no event');
  for (const c of [metricsOnly, eventsOnly, both]) await closeClient(c);
});

test('metrics (protobuf): subscribe EVENT_TYPE_METRICS=2, get MetricsReport (field 12) with JSON figures', async () => {
  const pb = await pbNotifier(2);
  const f = await pb.binary(WAIT_MS, 'a MetricsReport');
  assert.equal(f[0], 0x62, `ServerMessage field 12: ${hex(f)}`);
  const [len, off] = varint(f, 1);
  assert.equal(off + len, f.length);
  assert.equal(f[off], 0x0a, 'MetricsReport.metrics is field 1, a string');
  const [slen, soff] = varint(f, off + 1);
  const figures = JSON.parse(f.subarray(soff, soff + slen).toString('utf8'));
  assert.ok(figures.connections.ws_server >= 1);
  assert.equal(typeof figures.events_per_s, 'number');
  await closeClient(pb);
});

// ---- close codes -------------------------------------------------------------

// Sends the frames (strings as text, Buffers as binary) and expects the close.
async function expectClose(send, expected) {
  const c = wsClient(herald.url);
  await c.opened;
  for (const m of send) c.send(m);
  const closed = await c.waitClosed();
  assert.deepEqual(closed, expected);
  return c;
}

test('JSON: a wrong token closes 1000 "invalid token"', async () => {
  await expectClose([JSON.stringify({ type: 'auth', token: 'nope' })], { code: 1000, reason: 'invalid token' });
});

test('JSON: a first frame that is not an auth request closes 1000 "invalid auth request"', async () => {
  await expectClose([JSON.stringify({ type: 'subscribe', event_type: 'server_notification' })],
    { code: 1000, reason: 'invalid auth request' });
  await expectClose(['hello'], { code: 1000, reason: 'invalid auth request' });
  await expectClose([JSON.stringify({ type: 'auth', token: 42 })], { code: 1000, reason: 'invalid auth request' });
  await expectClose([JSON.stringify([{ type: 'auth', token: 'development' }])], { code: 1000, reason: 'invalid auth request' });
});

test('JSON: after auth, an unknown message closes 1003 "operation not allowed"', async () => {
  const c = await jsonNotifier(herald.url);
  c.send(JSON.stringify({ type: 'unsubscribe', event_type: 'server_notification' }));
  assert.deepEqual(await c.waitClosed(), { code: 1003, reason: 'operation not allowed' });
});

test('JSON: after auth, a binary frame closes 1003 "operation not allowed"', async () => {
  const c = await jsonNotifier(herald.url);
  c.send(PB.subscribeNotifications);
  assert.deepEqual(await c.waitClosed(), { code: 1003, reason: 'operation not allowed' });
});

test('protobuf: a wrong token closes 1000 "invalid token"', async () => {
  await expectClose([PB.auth('wrong'), PB.subscribeNotifications], { code: 1000, reason: 'invalid token' });
});

test('protobuf: a first frame that is not an auth request closes 1000 "invalid auth request"', async () => {
  await expectClose([PB.subscribeNotifications], { code: 1000, reason: 'invalid auth request' });
  await expectClose([Buffer.from([0xff, 0xff, 0xff])], { code: 1000, reason: 'invalid auth request' });
  await expectClose([Buffer.alloc(0)], { code: 1000, reason: 'invalid auth request' });
});

test('protobuf: after auth, a text frame closes 1003 "operation not allowed"', async () => {
  const c = await pbNotifier();
  c.send(JSON.stringify({ type: 'subscribe', event_type: 'server_notification' }));
  assert.deepEqual(await c.waitClosed(), { code: 1003, reason: 'operation not allowed' });
});

test('protobuf: after auth, a second auth request closes 1003 "operation not allowed"', async () => {
  const c = await pbNotifier();
  c.send(PB.auth());
  assert.deepEqual(await c.waitClosed(), { code: 1003, reason: 'operation not allowed' });
});
