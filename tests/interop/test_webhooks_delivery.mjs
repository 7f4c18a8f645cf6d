// SPDX-License-Identifier: MIT
// test_webhooks_delivery.mjs — webhook delivery to local receivers: the
// json, protobuf (decoded by the Fishjam SDK's ServerMessage) and
// jellyfish-json formats, each request verified with the real
// `standardwebhooks` library; type and room filters; retries (same
// webhook-id, every attempt listed), Retry-After, a receiver that is down
// then back, a hanging receiver that does not delay another endpoint, 410
// Gone, giving up, manual retry, replay, and outbound address rules
// (default deny list, --webhook-allow / --webhook-deny,
// --webhook-disable-after).
//
// Every test uses its own room id and endpoints filtered on it, so the
// endpoints of one test never see another test's events.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ServerMessage } from '@fishjam-cloud/js-server-sdk';
import { Webhook } from 'standardwebhooks';
import { startHerald } from './herald.mjs';
import { finish, metric } from './wsutil.mjs';
import {
  startReceiver, verifyWebhook, verifies, hapi, pbName, waitUntil, settled, WAIT_MS,
} from './webhook_receiver.mjs';

const SCHEDULE = [0.2, 0.4, 0.8];
const DEFAULT_SCHEDULE = [5, 300]; // herald's own first steps, in seconds
const MAX_IN_FLIGHT = 4;
const RESPONSE_CAP = 16;
const herald = await startHerald([
  '--webhook-retry-schedule', SCHEDULE.join(','), '--webhook-timeout', '1', '--webhook-connect-timeout', '1',
  '--webhook-max-in-flight', String(MAX_IN_FLIGHT), '--webhook-response-cap', String(RESPONSE_CAP),
]);
const heralds = [herald];
after(async () => { for (const h of heralds) await finish(h); });

// Per-test resources, released after each test.
let cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  cleanup = [];
});

let seq = 0;
const roomFor = (name) => `${name}-${++seq}`;
const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

async function receiver(opts) {
  const rx = await startReceiver(opts);
  cleanup.push(() => rx.close());
  return rx;
}

async function endpoint(body, h = herald) {
  const r = await hapi(h.url, 'POST', '/v1/webhooks', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  cleanup.push(() => hapi(h.url, 'DELETE', `/v1/webhooks/${r.body.id}`));
  return r.body;
}

async function publishOk(events, h = herald) {
  const r = await h.publish(events);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.ids;
}

async function deliveries(h, id, query = '') {
  const r = await hapi(h.url, 'GET', `/v1/webhooks/${id}/deliveries${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.deliveries;
}

// Polls the deliveries list until pred(list) holds; returns the list.
async function waitDeliveries(h, id, pred, ms, what) {
  let last = [];
  try {
    await waitUntil(async () => pred(last = await deliveries(h, id)), ms, what, 50);
  } catch (e) {
    e.message += `\ndeliveries: ${JSON.stringify(last, null, 1)}`;
    throw e;
  }
  return last;
}

async function getEndpoint(h, id) {
  const r = await hapi(h.url, 'GET', `/v1/webhooks/${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

// Checks the Standard Webhooks headers of one request for event id.
function checkHeaders(rec, ep, eventId, secret) {
  assert.equal(rec.method, 'POST');
  assert.equal(rec.headers['webhook-id'], `msg_${eventId}_${ep.id}`);
  assert.match(rec.headers['webhook-timestamp'], /^\d+$/);
  assert.ok(Math.abs(Number(rec.headers['webhook-timestamp']) - rec.at / 1000) < 10, 'webhook-timestamp is now');
  assert.match(rec.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
  verifyWebhook(secret, rec);
}

const byEvent = (rx, id) => rx.requests.filter((q) => q.webhookId?.startsWith(`msg_${id}_`));
const distinctIds = (rx) => new Set(rx.requests.map((q) => q.webhookId));

// ---------------------------------------------------------------------------

test('json: the native envelope, Content-Type, Standard Webhooks headers, verified signature', async () => {
  const rx = await receiver();
  const room = roomFor('json');
  const ep = await endpoint({ url: rx.url, room_ids: [room], description: 'json' });
  const events = [
    { type: 'chat.message', room_id: room, user_id: 'u-1', data: { text: 'héllo "wörld" \u2603', n: 1.5, l: [1, null, true] } },
    { type: 'peer.added', room_id: room, data: { peer_id: 'p1', peer_type: 'webrtc' } },
  ];
  const ids = await publishOk(events);
  await rx.waitFor((q) => ids.every((id) => q.some((x) => x.json?.id === id)), WAIT_MS, 'both events');
  const hist = await hapi(herald.url, 'GET', `/v1/events?room_id=${room}`);
  assert.equal(hist.status, 200);
  for (let i = 0; i < ids.length; i++) {
    const rec = rx.requests.find((x) => x.json?.id === ids[i]);
    assert.equal(rec.path, '/hook');
    assert.match(rec.headers['content-type'], /^application\/json\b/);
    checkHeaders(rec, ep, ids[i], ep.secret);
    // The library itself, parsing the payload.
    const payload = new Webhook(ep.secret).verify(rec.text, rec.headers);
    assert.deepEqual(payload, rec.json);
    assert.deepEqual(Object.keys(payload).sort(),
      ['data', 'id', 'timestamp', 'type', 'room_id', ...(events[i].user_id ? ['user_id'] : [])].sort());
    assert.equal(payload.type, events[i].type);
    assert.equal(payload.room_id, room);
    assert.deepEqual(payload.data, events[i].data);
    assert.match(payload.timestamp, ISO_Z);
    assert.deepEqual(payload, hist.body.events.find((e) => e.id === ids[i]), 'the same envelope as history');
    assert.equal(verifies('whsec_' + Buffer.alloc(32, 7).toString('base64'), rec), false, 'another secret does not verify');
  }
  const list = await waitDeliveries(herald, ep.id, (d) => d.length >= 2, WAIT_MS, 'two attempts');
  assert.equal(list.length, 2);
  for (const d of list) {
    assert.deepEqual(Object.keys(d).sort(),
      ['delivery_id', 'error', 'event_id', 'id', 'latency_ms', 'response', 'state', 'status_code', 'timestamp'].sort());
    assert.equal(d.status_code, 200);
    assert.equal(d.state, 'delivered');
    assert.equal(d.error, null);
    assert.equal(d.response, 'ok');
    assert.ok(typeof d.latency_ms === 'number' && d.latency_ms >= 0);
    assert.match(d.timestamp, ISO_Z);
  }
  assert.deepEqual(list.map((d) => String(d.event_id)).sort(), [...ids].sort());
  assert.equal((await getEndpoint(herald, ep.id)).pending, 0);
});

test('protobuf: one raw ServerMessage per request, decoded by the SDK; events without a protobuf form are not sent', async () => {
  const rx = await receiver();
  const room = roomFor('pb');
  const ep = await endpoint({ url: rx.url, room_ids: [room], format: 'protobuf' });
  const ids = await publishOk([
    { type: 'room.created', room_id: room, data: {} },
    { type: 'chat.message', room_id: room, data: { text: 'no protobuf form' } },
    { type: 'peer.added', room_id: room, data: { peer_id: 'p1', peer_type: 'webrtc' } },
    { type: 'peer.metadata_updated', room_id: room, data: { peer_id: 'p1', metadata: { name: 'alice' }, peer_type: 1 } },
  ]);
  const want = [ids[0], ids[2], ids[3]];
  await rx.waitFor((q) => want.every((id) => byEvent(rx, id).length), WAIT_MS, 'the three protobuf events');
  await settled(herald.url, ep.id); // every owed delivery done: nothing more will come
  assert.equal(byEvent(rx, ids[1]).length, 0, 'chat.message has no protobuf form and is not sent');
  const decoded = {};
  for (const id of want) {
    const rec = byEvent(rx, id)[0];
    assert.equal(rec.headers['content-type'], 'application/x-protobuf');
    checkHeaders(rec, ep, id, ep.secret);
    const msg = ServerMessage.decode(rec.body);
    assert.deepEqual(Buffer.from(ServerMessage.encode(msg).finish()), rec.body, 'exactly one ServerMessage, nothing else');
    decoded[id] = pbName(msg);
  }
  assert.deepEqual(decoded[ids[0]], ['roomCreated', { roomId: room }]);
  assert.deepEqual(decoded[ids[2]], ['peerAdded', { roomId: room, peerId: 'p1', peerType: 1 }]);
  assert.equal(decoded[ids[3]][0], 'peerMetadataUpdated');
  assert.equal(decoded[ids[3]][1].roomId, room);
  assert.equal(decoded[ids[3]][1].peerId, 'p1');
  assert.deepEqual(JSON.parse(decoded[ids[3]][1].metadata), { name: 'alice' });
});

test('jellyfish-json: {"notification": protobuf bytes as a JSON string}, signed', async () => {
  const rx = await receiver();
  const room = roomFor('jf');
  const ep = await endpoint({ url: rx.url, room_ids: [room], format: 'jellyfish-json' });
  // Field numbers below 16 and short ASCII strings: every protobuf byte is
  // ASCII, so the bytes are representable as a JSON string (the Python SDK
  // reads them back with bytes(notification, "utf-8")).
  const ids = await publishOk([
    { type: 'peer.connected', room_id: room, data: { peer_id: 'p1', peer_type: 1 } },
    { type: 'chat.message', room_id: room, data: {} },
    { type: 'room.deleted', room_id: room, data: {} },
  ]);
  await rx.waitFor((q) => byEvent(rx, ids[0]).length && byEvent(rx, ids[2]).length, WAIT_MS, 'two events');
  await settled(herald.url, ep.id);
  assert.equal(byEvent(rx, ids[1]).length, 0, 'no protobuf form, not sent');
  const got = [];
  for (const id of [ids[0], ids[2]]) {
    const rec = byEvent(rx, id)[0];
    assert.match(rec.headers['content-type'], /^application\/json\b/);
    checkHeaders(rec, ep, id, ep.secret);
    const body = new Webhook(ep.secret).verify(rec.text, rec.headers);
    assert.deepEqual(Object.keys(body), ['notification']);
    assert.equal(typeof body.notification, 'string');
    const bytes = Buffer.from(body.notification, 'utf8');
    const msg = ServerMessage.decode(bytes);
    assert.deepEqual(Buffer.from(ServerMessage.encode(msg).finish()), bytes);
    got.push(pbName(msg));
  }
  assert.deepEqual(got, [
    ['peerConnected', { roomId: room, peerId: 'p1', peerType: 1 }],
    ['roomDeleted', { roomId: room }],
  ]);
});

test('jellyfish-json: non-ASCII strings read back as the Python SDK reads them, bytes(notification, "utf-8")', async () => {
  const rx = await receiver();
  const room = roomFor('jf-salle-é-☃');
  const ep = await endpoint({ url: rx.url, room_ids: [room], format: 'jellyfish-json' });
  // Field numbers below 16: the protobuf bytes are valid UTF-8 (the
  // strings themselves are UTF-8), so the JSON string is their UTF-8 text.
  const ids = await publishOk([
    { type: 'room.created', room_id: room, data: {} },
    { type: 'peer.connected', room_id: room, data: { peer_id: 'zoë', peer_type: 1 } },
  ]);
  await rx.waitFor(() => ids.every((id) => byEvent(rx, id).length), WAIT_MS, 'both events');
  const got = ids.map((id) => {
    const rec = byEvent(rx, id)[0];
    verifyWebhook(ep.secret, rec);
    const bytes = Buffer.from(rec.json.notification, 'utf8');
    let msg;
    try { msg = ServerMessage.decode(bytes); } catch (e) {
      assert.fail(`notification ${JSON.stringify(rec.json.notification)} does not decode as UTF-8 bytes: ${e.message}`);
    }
    return pbName(msg);
  });
  assert.deepEqual(got, [
    ['roomCreated', { roomId: room }],
    ['peerConnected', { roomId: room, peerId: 'zoë', peerType: 1 }],
  ], `notification strings: ${ids.map((id) => JSON.stringify(byEvent(rx, id)[0].json.notification)).join(' ')}`);
});

test('filters: event_types globs and room_ids', async () => {
  const rx1 = await receiver();
  const rx2 = await receiver();
  const room = roomFor('flt');
  const other = roomFor('flt-other');
  const tag = `f${seq}`;
  const ep1 = await endpoint({ url: rx1.url, event_types: ['peer.*'], room_ids: [room] });
  const ep2 = await endpoint({ url: rx2.url, event_types: [`${tag}.created`, `${tag}x.?`], room_ids: [room, other] });
  const evs = [
    { type: 'peer.added', room_id: room, data: { peer_id: 'a' } },          // 0: ep1
    { type: 'peer.deleted', room_id: room, data: { peer_id: 'a' } },        // 1: ep1
    { type: 'room.created', room_id: room, data: {} },                      // 2: none
    { type: 'peer.added', room_id: other, data: { peer_id: 'b' } },         // 3: none (room)
    { type: 'peerx.added', room_id: room, data: {} },                       // 4: none (glob)
    { type: 'peer.added', data: { peer_id: 'c' } },                         // 5: none (no room)
    { type: `${tag}.created`, room_id: other, data: {} },                   // 6: ep2
    { type: `${tag}x.a`, room_id: room, data: {} },                         // 7: ep2
    { type: `${tag}x.ab`, room_id: room, data: {} },                        // 8: none ("?" is one character)
    { type: `${tag}.created`, room_id: 'elsewhere', data: {} },             // 9: none (room)
    { type: `${tag}.created`, data: {} },                                   // 10: none (no room)
  ];
  const ids = await publishOk(evs);
  await rx1.waitFor(() => byEvent(rx1, ids[0]).length && byEvent(rx1, ids[1]).length, WAIT_MS, 'ep1 events');
  await rx2.waitFor(() => byEvent(rx2, ids[6]).length && byEvent(rx2, ids[7]).length, WAIT_MS, 'ep2 events');
  await settled(herald.url, ep1.id);
  await settled(herald.url, ep2.id);
  const got1 = [...new Set(rx1.requests.map((q) => q.json.id))].sort();
  const got2 = [...new Set(rx2.requests.map((q) => q.json.id))].sort();
  assert.deepEqual(got1, [ids[0], ids[1]].sort(), `ep1 got ${rx1.summary()}`);
  assert.deepEqual(got2, [ids[6], ids[7]].sort(), `ep2 got ${rx2.summary()}`);
  for (const q of rx1.requests) verifyWebhook(ep1.secret, q);
  for (const q of rx2.requests) verifyWebhook(ep2.secret, q);

  // A filter change applies to the next events.
  const p = await hapi(herald.url, 'PATCH', `/v1/webhooks/${ep1.id}`, { event_types: ['room.*'] });
  assert.equal(p.status, 200);
  const [a, b] = await publishOk([
    { type: 'peer.added', room_id: room, data: {} },
    { type: 'room.deleted', room_id: room, data: {} },
  ]);
  await rx1.waitFor(() => byEvent(rx1, b).length, WAIT_MS, 'room.deleted after the PATCH');
  await settled(herald.url, ep1.id);
  assert.equal(byEvent(rx1, a).length, 0, 'peer.added no longer matches');
});

test('500, 500, then 200: delivered on the 3rd attempt, same webhook-id, 3 attempts listed', async () => {
  const long = 'E'.repeat(200);
  const rx = await receiver({ respond: (rec) => (rec.n < 2 ? { status: 500, body: long } : { status: 200, body: 'fine' }) });
  const room = roomFor('r500');
  const ep = await endpoint({ url: rx.url, room_ids: [room] });
  const [id] = await publishOk({ type: 'retry.me', room_id: room, data: { x: 1 } });
  const reqs = await rx.waitCount(3, WAIT_MS, 'three attempts');
  await settled(herald.url, ep.id); // delivered: herald owes nothing more
  assert.equal(rx.requests.length, 3, `no attempt after the success: ${rx.summary()}`);
  for (const q of reqs) {
    checkHeaders(q, ep, id, ep.secret);
    assert.deepEqual(q.body, reqs[0].body, 'the same body every time');
  }
  const gap1 = reqs[1].at - reqs[0].at, gap2 = reqs[2].at - reqs[1].at;
  // Never before the configured step (less its jitter). The upper bounds
  // only tell the configured schedule from the default one (5 s, 300 s):
  // a loaded machine can delay a retry, never bring it forward.
  assert.ok(gap1 >= SCHEDULE[0] * 800 * 0.95 && gap1 < DEFAULT_SCHEDULE[0] * 800, `1st retry after ${gap1} ms (schedule ${SCHEDULE[0]} s ±20 %)`);
  assert.ok(gap2 >= SCHEDULE[1] * 800 * 0.95 && gap2 < DEFAULT_SCHEDULE[1] * 800, `2nd retry after ${gap2} ms (schedule ${SCHEDULE[1]} s ±20 %)`);

  const list = await waitDeliveries(herald, ep.id, (d) => d.length >= 3 && d[0].status_code === 200, WAIT_MS, '3 attempts');
  assert.equal(list.length, 3);
  assert.deepEqual(list.map((d) => d.status_code), [200, 500, 500], 'newest first');
  assert.equal(list[0].state, 'delivered');
  assert.equal(list[0].response, 'fine');
  assert.equal(list[0].error, null);
  for (const d of list) {
    assert.equal(String(d.event_id), id);
    assert.equal(String(d.delivery_id), String(list[0].delivery_id), 'one delivery, three attempts');
  }
  for (const d of list.slice(1)) {
    assert.ok(['pending', 'delivered'].includes(d.state), d.state);
    assert.ok(d.error === null || /500/.test(d.error), `error of a 500 answer: ${d.error}`);
    assert.equal(typeof d.response, 'string');
    assert.ok(Buffer.byteLength(d.response) <= RESPONSE_CAP, `response excerpt capped at ${RESPONSE_CAP} bytes: ${d.response.length}`);
    assert.ok(d.response.length > 0 && long.startsWith(d.response), 'the excerpt is the start of the body');
  }
  const ts = list.map((d) => Date.parse(d.timestamp));
  assert.ok(ts[0] >= ts[1] && ts[1] >= ts[2], 'timestamps newest first');
  assert.ok(new Set(list.map((d) => String(d.id))).size === 3, 'distinct attempt ids');

  // Paging: limit, then before=<attempt id>.
  const first = await deliveries(herald, ep.id, '?limit=2');
  assert.deepEqual(first.map((d) => String(d.id)), list.slice(0, 2).map((d) => String(d.id)));
  const rest = await deliveries(herald, ep.id, `?limit=5&before=${first[1].id}`);
  assert.deepEqual(rest.map((d) => String(d.id)), [String(list[2].id)]);
  assert.equal((await getEndpoint(herald, ep.id)).pending, 0);
});

test('Retry-After is honoured, clamped to [delay, 2 × delay]; 429 and 503 + Retry-After pause the endpoint instead', async () => {
  // A 500 with Retry-After is a failure as ever: its retry waits the schedule's step, the
  // Retry-After clamped to [step, 2 × step]. A 503 with Retry-After and a 429 are back-pressure
  // (issue 18 item 2): no attempt spent, the endpoint pauses for the Retry-After in full, or
  // (429 without a usable one: Retry-After 0) for 1 s.
  const rx = await receiver({
    respond: (rec) => (rec.n === 0 ? { status: 500, headers: { 'retry-after': '30' } }
      : rec.n === 1 ? { status: 503, headers: { 'retry-after': '2' } }
      : rec.n === 2 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 204 }),
  });
  const room = roomFor('ra');
  const ep = await endpoint({ url: rx.url, room_ids: [room] });
  await publishOk({ type: 'ra.x', room_id: room, data: {} });
  const reqs = await rx.waitCount(4, WAIT_MS, 'four attempts');
  const gap1 = reqs[1].at - reqs[0].at, gap2 = reqs[2].at - reqs[1].at, gap3 = reqs[3].at - reqs[2].at;
  // 500, Retry-After 30 s with a 0.2 s step: 2 × 0.2 s; well under the 30 s asked for.
  assert.ok(gap1 >= 2 * SCHEDULE[0] * 1000 * 0.8 && gap1 < 15000, `Retry-After: 30 clamped to 2 × ${SCHEDULE[0]} s, waited ${gap1} ms`);
  // 503, Retry-After 2 s: honoured in full (not clamped to the 0.4 s step).
  assert.ok(gap2 >= 1900 && gap2 < 15000, `503 with Retry-After: 2 paused 2 s, waited ${gap2} ms`);
  // 429, Retry-After 0: the endpoint's backoff, 1 s.
  assert.ok(gap3 >= 950 && gap3 < DEFAULT_SCHEDULE[0] * 800, `429 without a usable Retry-After paused 1 s, waited ${gap3} ms`);
  const list = await waitDeliveries(herald, ep.id, (d) => d.length >= 4 && d[0].status_code === 204, WAIT_MS, '4 attempts');
  assert.deepEqual(list.map((d) => d.status_code), [204, 429, 503, 500]);
});

test('a receiver that is down, then back: everything is delivered', async () => {
  // Retries every 2 s for two minutes (64 steps, the most herald takes):
  // the receiver comes back while the deliveries are still being retried,
  // however slow the machine is.
  const h = await startHerald(['--webhook-retry-schedule', Array(64).fill('2').join(','), '--webhook-timeout', '1',
    '--webhook-connect-timeout', '1']);
  heralds.push(h);
  const rx = await receiver({ down: true });
  const room = roomFor('down');
  const ep = await endpoint({ url: rx.url, room_ids: [room] }, h);
  const ids = await publishOk(Array.from({ length: 5 }, (_, i) => ({ type: 'down.x', room_id: room, data: { i } })), h);
  // Every delivery fails at least twice (connection refused) …
  const failsOf = (d, id) => d.filter((x) => x.error && String(x.event_id) === id).length;
  const failed = await waitDeliveries(h, ep.id, (d) => ids.every((id) => failsOf(d, id) >= 2), WAIT_MS, 'refused attempts');
  for (const d of failed) {
    assert.ok(!d.status_code, `no status without an answer: ${JSON.stringify(d)}`);
    assert.equal(typeof d.error, 'string');
    assert.ok(d.error.length > 0);
  }
  assert.equal(rx.connections, 0);
  // … then the receiver comes back on the same port.
  await rx.up();
  await rx.waitFor(() => ids.every((id) => byEvent(rx, id).length), WAIT_MS, 'all 5 events after the receiver is back');
  for (const id of ids) checkHeaders(byEvent(rx, id)[0], ep, id, ep.secret);
  await settled(h.url, ep.id);
  const list = await waitDeliveries(h, ep.id, (d) => d.filter((x) => x.state === 'delivered' && x.status_code === 200).length >= 5, WAIT_MS, 'five successes');
  assert.deepEqual([...new Set(list.filter((d) => d.status_code === 200).map((d) => String(d.event_id)))].sort(), [...ids].sort());
});

test('a hanging receiver never delays another endpoint; deleting it stops its traffic', async () => {
  // Requests may hang for two minutes here: the fast endpoint must get
  // everything while every request to the slow one is still unanswered
  // and none has ended, which involves no timing at all.
  const h = await startHerald(['--webhook-timeout', '120', '--webhook-max-in-flight', String(MAX_IN_FLIGHT)]);
  heralds.push(h);
  const slow = await receiver({ respond: () => ({ hang: true }) });
  const fast = await receiver();
  const room = roomFor('hang');
  const epSlow = await endpoint({ url: slow.url, room_ids: [room] }, h);
  const epFast = await endpoint({ url: fast.url, room_ids: [room] }, h);
  const N = 20;
  const ids = await publishOk(Array.from({ length: N }, (_, i) => ({ type: 'hang.x', room_id: room, data: { i } })), h);
  await fast.waitFor(() => ids.every((id) => byEvent(fast, id).length), WAIT_MS, `all ${N} events at the fast endpoint`);
  assert.deepEqual(await deliveries(h, epSlow.id), [], 'the fast endpoint got everything while no slow request had ended');
  for (const id of ids) checkHeaders(byEvent(fast, id)[0], epFast, id, epFast.secret);
  await slow.waitCount(MAX_IN_FLIGHT, WAIT_MS, 'the slow endpoint to be tried');
  assert.ok(slow.maxInFlight <= MAX_IN_FLIGHT, `at most ${MAX_IN_FLIGHT} requests in flight to one endpoint, saw ${slow.maxInFlight}`);

  // Meanwhile the fast endpoint still gets new events.
  const [late] = await publishOk({ type: 'hang.late', room_id: room, data: {} }, h);
  await fast.waitFor(() => byEvent(fast, late).length, WAIT_MS, 'a later event at the fast endpoint');
  assert.deepEqual(await deliveries(h, epSlow.id), [], 'while the slow requests still hang');
  assert.equal(slow.requests.length, MAX_IN_FLIGHT, `no more than ${MAX_IN_FLIGHT} requests to the slow endpoint: ${slow.summary()}`);
  assert.ok(slow.maxInFlight <= MAX_IN_FLIGHT, `at most ${MAX_IN_FLIGHT} in flight, saw ${slow.maxInFlight}`);

  // Deleting the slow endpoint stops its traffic: its hanging requests are
  // answered, and once herald owes nothing at all (every row of the
  // deleted endpoint closed) it has sent it nothing more.
  assert.equal((await hapi(h.url, 'DELETE', `/v1/webhooks/${epSlow.id}`)).status, 204);
  slow.release({ status: 200 });
  await waitUntil(async () => (await metric(h.url, 'herald_webhook_pending')) === 0 &&
    (await metric(h.url, 'herald_webhook_in_flight')) === 0, WAIT_MS, 'herald to owe no delivery');
  assert.equal(slow.requests.length, MAX_IN_FLIGHT, `no request to a deleted endpoint: ${slow.summary()}`);
});

test('--webhook-timeout 1: a request that hangs is given up after about 1 s', async () => {
  const slow = await receiver({ respond: () => ({ hang: true }) });
  const room = roomFor('timeout');
  const ep = await endpoint({ url: slow.url, room_ids: [room] });
  await publishOk({ type: 'timeout.x', room_id: room, data: {} });
  const list = await waitDeliveries(herald, ep.id, (d) => d.some((x) => x.error), WAIT_MS, 'a timed-out attempt');
  const t = list.find((x) => x.error);
  assert.ok(!t.status_code, JSON.stringify(t));
  // Never before the timeout; the upper bound only tells 1 s from the default 30 s.
  assert.ok(t.latency_ms >= 800 && t.latency_ms < 15000, `timed out after ${t.latency_ms} ms`);
  assert.ok(slow.requests.length >= 1, 'the request was sent');
});

test('410 Gone disables the endpoint at once and emits component.crashed', async () => {
  let gone = true;
  const rx = await receiver({ respond: () => (gone ? { status: 410, body: 'gone' } : { status: 200 }) });
  const room = roomFor('gone');
  const ep = await endpoint({ url: rx.url, room_ids: [room] });
  const [id1] = await publishOk({ type: 'gone.x', room_id: room, data: {} });
  await rx.waitCount(1, WAIT_MS, 'the first attempt');
  const disabled = await waitUntil(async () => {
    const e = await getEndpoint(herald, ep.id);
    return e.enabled === false && e;
  }, WAIT_MS, 'the endpoint to be disabled');
  assert.equal(disabled.disabled_reason, '410 Gone');
  const since = Date.parse(disabled.disabled_at); // and since when (the console shows it)
  assert.ok(since > Date.now() - 10 * 60000 && since <= Date.now() + 60000, `disabled_at ${disabled.disabled_at}`);
  const crashed = await waitUntil(async () => {
    const r = await hapi(herald.url, 'GET', '/v1/events?type=component.crashed&limit=1000');
    return r.body.events.find((e) => e.data?.component_id === ep.id);
  }, WAIT_MS, 'component.crashed for the endpoint');
  assert.equal(crashed.type, 'component.crashed');
  await settled(herald.url, ep.id); // the row failed at once: nothing left to retry
  assert.equal(byEvent(rx, id1).length, 1, 'no retry after 410');

  // While disabled nothing is sent and no delivery is even made (it would
  // hold its event back from retention: issue 13, defect 8). A second
  // endpoint gets the same event: once it has it, herald has committed it
  // (one commit, one hand-over), and once nothing is in flight any request
  // to the disabled endpoint would have reached its receiver.
  const witness = await receiver();
  const epWitness = await endpoint({ url: witness.url, room_ids: [room] });
  const [id2] = await publishOk({ type: 'gone.y', room_id: room, data: {} });
  await witness.waitFor(() => byEvent(witness, id2).length, WAIT_MS, 'the event at the other endpoint');
  await settled(herald.url, epWitness.id);
  await waitUntil(async () => (await metric(herald.url, 'herald_webhook_in_flight')) === 0, WAIT_MS, 'no webhook request in flight');
  assert.equal(byEvent(rx, id2).length, 0, 'nothing is sent to a disabled endpoint');
  assert.equal((await getEndpoint(herald, ep.id)).pending, 0, 'no delivery is made while disabled');

  // Re-enabled: the events from then on go out; a replay brings the gap.
  gone = false;
  const en = await hapi(herald.url, 'POST', `/v1/webhooks/${ep.id}/enable`);
  assert.equal(en.status, 200);
  assert.equal(en.body.enabled, true);
  assert.equal(en.body.disabled_reason, null);
  assert.equal(en.body.disabled_at, null);
  const [id3] = await publishOk({ type: 'gone.z', room_id: room, data: {} });
  await rx.waitFor(() => byEvent(rx, id3).length, WAIT_MS, 'an event after enable');
  assert.equal(byEvent(rx, id2).length, 0, 'the event of the gap is not sent by itself');
  const rp = await hapi(herald.url, 'POST', `/v1/webhooks/${ep.id}/replay`, { since_id: Number(id2) - 1 });
  assert.equal(rp.status, 202, JSON.stringify(rp.body));
  await rx.waitFor(() => byEvent(rx, id2).length, WAIT_MS, 'the gap, replayed');
  checkHeaders(byEvent(rx, id2)[0], ep, id2, ep.secret);
});

test('the last retry fails: state failed, no more attempts; a manual retry delivers it', async () => {
  let ok = false;
  const rx = await receiver({ respond: () => (ok ? { status: 200, body: 'at last' } : { status: 500, body: 'no' }) });
  const room = roomFor('fail');
  const ep = await endpoint({ url: rx.url, room_ids: [room] });
  const [id] = await publishOk({ type: 'fail.x', room_id: room, data: {} });
  const attempts = 1 + SCHEDULE.length;
  await rx.waitCount(attempts, WAIT_MS, `${attempts} attempts`);
  const list = await waitDeliveries(herald, ep.id, (d) => d.length >= attempts && d[0].state === 'failed', WAIT_MS, 'the delivery to fail');
  assert.equal(list.length, attempts);
  assert.ok(list.every((d) => d.status_code === 500));
  await settled(herald.url, ep.id); // failed for good: herald owes nothing more
  assert.equal(rx.requests.length, attempts, 'no attempt after the last retry');
  assert.equal((await getEndpoint(herald, ep.id)).pending, 0);
  assert.equal((await getEndpoint(herald, ep.id)).enabled, true, '500s do not disable the endpoint');

  ok = true;
  const r = await hapi(herald.url, 'POST', `/v1/webhooks/${ep.id}/deliveries/${list[0].delivery_id}/retry`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const again = await rx.waitCount(attempts + 1, WAIT_MS, 'the manual retry');
  checkHeaders(again[attempts], ep, id, ep.secret);
  const after = await waitDeliveries(herald, ep.id, (d) => d.length >= attempts + 1 && d[0].status_code === 200, WAIT_MS, 'the manual attempt');
  assert.equal(after[0].state, 'delivered');
  assert.equal(String(after[0].delivery_id), String(list[0].delivery_id));
  assert.equal(after[0].response, 'at last');
  await settled(herald.url, ep.id);
  assert.equal(rx.requests.length, attempts + 1);
});

test('replay since_id and since: delivered again with the same webhook-id', async () => {
  const rx = await receiver();
  const room = roomFor('replay');
  const ep = await endpoint({ url: rx.url, room_ids: [room] });
  const ids = await publishOk([1, 2, 3].map((i) => ({ type: 'replay.x', room_id: room, data: { i } })));
  await rx.waitFor(() => ids.every((id) => byEvent(rx, id).length), WAIT_MS, 'the three events');
  const first = Object.fromEntries(ids.map((id) => [id, byEvent(rx, id)[0]]));
  await settled(herald.url, ep.id);
  assert.equal(rx.requests.length, 3);

  const r = await hapi(herald.url, 'POST', `/v1/webhooks/${ep.id}/replay`, { since_id: Number(ids[0]) });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.deepEqual(r.body, { replayed: 2 });
  // The replay's rows are written together: once two are delivered and
  // nothing is pending, a replay of ids[0] would have been sent too.
  await rx.waitFor(() => byEvent(rx, ids[1]).length === 2 && byEvent(rx, ids[2]).length === 2, WAIT_MS, 'the replayed events');
  await settled(herald.url, ep.id);
  assert.equal(byEvent(rx, ids[0]).length, 1, 'events up to since_id are not replayed');
  for (const id of ids.slice(1)) {
    const rep = byEvent(rx, id)[1];
    assert.equal(rep.webhookId, first[id].webhookId, 'the same webhook-id as the first delivery');
    assert.deepEqual(rep.body, first[id].body, 'the same body');
    checkHeaders(rep, ep, id, ep.secret);
  }

  // since: an ISO time, inclusive, here the first event's own timestamp.
  const r2 = await hapi(herald.url, 'POST', `/v1/webhooks/${ep.id}/replay`, { since: first[ids[0]].json.timestamp });
  assert.equal(r2.status, 202, JSON.stringify(r2.body));
  assert.deepEqual(r2.body, { replayed: 3 });
  await rx.waitFor(() => byEvent(rx, ids[0]).length === 2 && byEvent(rx, ids[2]).length === 3, WAIT_MS, 'the second replay');
  for (const id of ids) for (const q of byEvent(rx, id)) assert.equal(q.webhookId, `msg_${id}_${ep.id}`);

  // Nothing after the last event: nothing replayed.
  const r3 = await hapi(herald.url, 'POST', `/v1/webhooks/${ep.id}/replay`, { since_id: Number(ids[2]) });
  assert.equal(r3.status, 202);
  assert.deepEqual(r3.body, { replayed: 0 });
});

test('default deny list: 169.254.169.254, ::ffff:169.254.169.254 and 0.0.0.0 are never connected to', async () => {
  const rx = await receiver();
  const room = roomFor('deny');
  const eps = [
    await endpoint({ url: 'http://169.254.169.254/latest/meta-data/', room_ids: [room] }),
    await endpoint({ url: 'http://[::ffff:169.254.169.254]/latest/meta-data/', room_ids: [room] }),
    // 0.0.0.0 reaches this host's listeners on Linux: the receiver must see no connection.
    await endpoint({ url: `http://0.0.0.0:${rx.port}/hook`, room_ids: [room] }),
  ];
  // A redirect to a denied address is not followed (redirects are not followed at all).
  const redirector = await receiver({ respond: () => ({ status: 307, headers: { location: `http://0.0.0.0:${rx.port}/hook` } }) });
  const epRedirect = await endpoint({ url: redirector.url, room_ids: [room] });
  await publishOk({ type: 'deny.x', room_id: room, data: {} });
  for (const ep of eps) {
    const list = await waitDeliveries(herald, ep.id, (d) => d.length >= 1, WAIT_MS, `an attempt to ${ep.url}`);
    for (const d of list) {
      assert.ok(!d.status_code, JSON.stringify(d));
      assert.match(d.error ?? '', /^destination address not allowed/, `${ep.url}: ${JSON.stringify(d)}`);
    }
  }
  const r = await waitDeliveries(herald, epRedirect.id, (d) => d.length >= 2, WAIT_MS, 'attempts to the redirector');
  assert.ok(r.every((d) => d.status_code === 307 && d.state !== 'delivered'), `a redirect is a failed attempt: ${JSON.stringify(r)}`);
  assert.ok(redirector.requests.length >= 2, 'retried like any non-2xx answer');
  assert.equal(rx.connections, 0, 'the receiver behind 0.0.0.0 was never connected to');
});

test('--webhook-allow / --webhook-deny (deny wins), --webhook-disable-after', async () => {
  const h = await startHerald([
    '--webhook-retry-schedule', Array(20).fill('0.2').join(','), '--webhook-timeout', '1',
    '--webhook-allow', '127.0.0.0/8', '--webhook-deny', '127.0.0.2/32', '--webhook-disable-after', '1.5',
  ]);
  heralds.push(h);
  const allowed = await receiver({ host: '127.0.0.1' });
  const denied = await receiver({ host: '127.0.0.2' });
  const failing = await receiver({ respond: () => ({ status: 503 }) });
  const room = roomFor('guard');
  const epOk = await endpoint({ url: allowed.url, room_ids: [room] }, h);
  const epDenied = await endpoint({ url: denied.url, room_ids: [room] }, h);
  const epOutside = await endpoint({ url: 'http://10.255.255.1:9/hook', room_ids: [room] }, h);
  const epFailing = await endpoint({ url: failing.url, room_ids: [room] }, h);
  const t0 = Date.now();
  const [id] = await publishOk({ type: 'guard.x', room_id: room, data: {} }, h);
  await allowed.waitFor(() => byEvent(allowed, id).length, WAIT_MS, 'the allowed endpoint');
  checkHeaders(byEvent(allowed, id)[0], epOk, id, epOk.secret);
  for (const ep of [epDenied, epOutside]) {
    const list = await waitDeliveries(h, ep.id, (d) => d.length >= 1, WAIT_MS, `an attempt to ${ep.url}`);
    assert.match(list[0].error ?? '', /^destination address not allowed/, `${ep.url}: ${JSON.stringify(list[0])}`);
  }
  assert.equal(denied.connections, 0, '127.0.0.2 is denied although inside the allow list');

  // Failing (503) with no success for 1.5 s: disabled, component.crashed.
  const off = await waitUntil(async () => {
    const e = await getEndpoint(h, epFailing.id);
    return e.enabled === false && e;
  }, WAIT_MS, 'the failing endpoint to be disabled');
  const took = Date.now() - t0;
  assert.ok(took >= 1200, `disabled after ${took} ms, not before --webhook-disable-after 1.5`);
  assert.equal(typeof off.disabled_reason, 'string');
  assert.ok(off.disabled_reason.length > 0);
  await waitUntil(async () => {
    const r = await hapi(h.url, 'GET', '/v1/events?type=component.crashed&limit=1000');
    return r.body.events.some((e) => e.data?.component_id === epFailing.id);
  }, WAIT_MS, 'component.crashed for the failing endpoint');
  // The disabling attempt was the failing endpoint's only request in
  // flight. Once herald holds no delivery in memory and has no request in
  // flight, it has let go of the disabled endpoint's row for good.
  const n = failing.requests.length;
  await waitUntil(async () => (await metric(h.url, 'herald_webhook_queued')) === 0 &&
    (await metric(h.url, 'herald_webhook_in_flight')) === 0, WAIT_MS, 'herald to hold no delivery in memory');
  assert.equal(failing.requests.length, n, 'no attempts once disabled');
  assert.equal((await getEndpoint(h, epOk.id)).enabled, true, 'a healthy endpoint stays enabled');
});
