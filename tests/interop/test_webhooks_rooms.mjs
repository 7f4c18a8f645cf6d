// SPDX-License-Identifier: MIT
// test_webhooks_rooms.mjs — Fishjam room webhooks end to end with the real
// SDK (@fishjam-cloud/js-server-sdk 0.25.0): FishjamClient.createRoom with
// a webhookUrl, then createPeer / deletePeer / deleteRoom. The room's URL
// gets every notification of that room as one raw protobuf ServerMessage
// per POST (Content-Type application/x-protobuf), decoded with the SDK's
// exported ServerMessage.decode, in order, and nothing after roomDeleted.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { FishjamClient, ServerMessage } from '@fishjam-cloud/js-server-sdk';
import { startHerald } from './herald.mjs';
import { finish, metric } from './wsutil.mjs';
import { startReceiver, pbName, hapi, waitUntil, WAIT_MS } from './webhook_receiver.mjs';

globalThis.WebSocket ??= WebSocket;

const herald = await startHerald(['--webhook-retry-schedule', '0.2,0.4', '--webhook-timeout', '2']);
const heralds = [herald];
after(async () => { for (const h of heralds) await finish(h); });
const fishjam = new FishjamClient({ fishjamId: herald.url, managementToken: 'development' });

let cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  cleanup = [];
});
async function receiver(opts) {
  const rx = await startReceiver({ path: '/fj', ...opts });
  cleanup.push(() => rx.close());
  return rx;
}

// Decodes every request of rx: checks it is one raw ServerMessage and
// returns [name, payload] pairs in arrival order.
function decodeAll(rx) {
  return rx.requests.map((q) => {
    assert.equal(q.method, 'POST');
    assert.equal(q.path, '/fj');
    assert.equal(q.headers['content-type'], 'application/x-protobuf');
    const msg = ServerMessage.decode(q.body);
    assert.deepEqual(Buffer.from(ServerMessage.encode(msg).finish()), q.body,
      `exactly one ServerMessage per request (no batch, no extra fields): ${q.body.toString('hex')}`);
    return pbName(msg);
  });
}
const names = (rx) => decodeAll(rx).map(([n]) => n);

// Waits until herald owes no webhook delivery at all and has no request in
// flight. Outbox rows are written in the same transaction as their events,
// so once this holds every request herald was ever going to send for the
// events published so far has reached its receiver (which records a
// request before answering it). The tests of this file run one at a time.
async function settled(h = herald) {
  await waitUntil(async () => (await metric(h.url, 'herald_webhook_pending')) === 0 &&
    (await metric(h.url, 'herald_webhook_in_flight')) === 0, WAIT_MS, 'herald to owe no webhook delivery');
}

test('roomCreated, peerAdded, peerDeleted, roomDeleted reach the room webhookUrl, in order, one at a time', async () => {
  // A small delay per answer, so requests sent concurrently would show up out of order.
  const rx = await receiver({ respond: () => ({ status: 200, delayMs: 30 }) });
  const room = await fishjam.createRoom({ webhookUrl: rx.url, maxPeers: 3 });
  assert.equal(room.config.webhookUrl, rx.url);
  const { peer } = await fishjam.createPeer(room.id, { metadata: { name: 'alice' } });
  const { peer: peer2 } = await fishjam.createPeer(room.id);
  await fishjam.deletePeer(room.id, peer.id);
  await fishjam.deleteRoom(room.id);
  await rx.waitFor(() => names(rx).includes('roomDeleted'), WAIT_MS, 'roomDeleted');
  await settled();

  const got = decodeAll(rx);
  assert.deepEqual(got, [
    ['roomCreated', { roomId: room.id }],
    ['peerAdded', { roomId: room.id, peerId: peer.id, peerType: 1 }],
    ['peerAdded', { roomId: room.id, peerId: peer2.id, peerType: 1 }],
    ['peerDeleted', { roomId: room.id, peerId: peer.id, peerType: 1 }],
    ['roomDeleted', { roomId: room.id }],
  ], `got ${JSON.stringify(got)}`);
  // Concurrent HTTP requests cannot keep an order: like the reference, a
  // room's webhook gets one request at a time.
  assert.equal(rx.maxInFlight, 1, `one request at a time to a room webhook (saw ${rx.maxInFlight} at once)`);
});

test('nothing goes to a room URL after roomDeleted, even events carrying that room id', async () => {
  const rx = await receiver();
  const room = await fishjam.createRoom({ webhookUrl: rx.url });
  await fishjam.createPeer(room.id);
  await fishjam.deleteRoom(room.id);
  await rx.waitFor(() => names(rx).includes('roomDeleted'), WAIT_MS, 'roomDeleted');
  await settled();
  assert.equal(names(rx).at(-1), 'roomDeleted');
  const n = rx.requests.length;
  const pub = await herald.publish([
    { type: 'peer.added', room_id: room.id, data: { peer_id: 'late', peer_type: 1 } },
    { type: 'room.crashed', room_id: room.id, data: {} },
  ]);
  assert.equal(pub.status, 201);
  const other = await fishjam.createRoom();
  await fishjam.createPeer(other.id);
  await fishjam.deleteRoom(other.id);
  await settled(); // a row owed to the deleted room's URL would have been sent by now
  assert.equal(rx.requests.length, n, `nothing after roomDeleted: ${JSON.stringify(decodeAll(rx).slice(n))}`);
});

test('each room has its own URL; a room without webhookUrl sends nothing', async () => {
  const rxA = await receiver();
  const rxB = await receiver();
  const a = await fishjam.createRoom({ webhookUrl: rxA.url });
  const b = await fishjam.createRoom({ webhookUrl: rxB.url });
  const none = await fishjam.createRoom();
  const { peer: pa } = await fishjam.createPeer(a.id);
  const { peer: pb } = await fishjam.createPeer(b.id);
  await fishjam.createPeer(none.id);
  await fishjam.deleteRoom(b.id);
  await fishjam.deleteRoom(a.id);
  await fishjam.deleteRoom(none.id);
  await rxA.waitFor(() => names(rxA).includes('roomDeleted'), WAIT_MS, 'roomDeleted A');
  await rxB.waitFor(() => names(rxB).includes('roomDeleted'), WAIT_MS, 'roomDeleted B');
  await settled();
  // A room deleted with a peer still in it: only roomDeleted (like the reference).
  assert.deepEqual(decodeAll(rxA), [
    ['roomCreated', { roomId: a.id }],
    ['peerAdded', { roomId: a.id, peerId: pa.id, peerType: 1 }],
    ['roomDeleted', { roomId: a.id }],
  ]);
  assert.deepEqual(decodeAll(rxB), [
    ['roomCreated', { roomId: b.id }],
    ['peerAdded', { roomId: b.id, peerId: pb.id, peerType: 1 }],
    ['roomDeleted', { roomId: b.id }],
  ]);
});

test('two rooms whose 128-character ids share their first 100 characters each keep their own webhook', async () => {
  const rxA = await receiver();
  const rxB = await receiver();
  const stem = 'r'.repeat(100);
  const idA = `${stem}${'a'.repeat(28)}`;
  const idB = `${stem}${'b'.repeat(28)}`;
  for (const [id, rx] of [[idA, rxA], [idB, rxB]]) {
    const r = await hapi(herald.url, 'POST', '/room', { roomId: id, webhookUrl: rx.url });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const hooks = (await hapi(herald.url, 'GET', '/v1/webhooks')).body.webhooks.filter((w) => w.room_webhook);
  assert.deepEqual(hooks.map((w) => w.id).sort(), [`room_${idA}`, `room_${idB}`]);
  await hapi(herald.url, 'DELETE', `/room/${idA}`);
  await hapi(herald.url, 'DELETE', `/room/${idB}`);
  await rxA.waitFor(() => names(rxA).includes('roomDeleted'), WAIT_MS, 'roomDeleted A');
  await rxB.waitFor(() => names(rxB).includes('roomDeleted'), WAIT_MS, 'roomDeleted B');
  await settled();
  assert.deepEqual(decodeAll(rxA), [['roomCreated', { roomId: idA }], ['roomDeleted', { roomId: idA }]]);
  assert.deepEqual(decodeAll(rxB), [['roomCreated', { roomId: idB }], ['roomDeleted', { roomId: idB }]]);
});

test('a producer event of the room with a protobuf form goes to its webhook; one without does not', async () => {
  const rx = await receiver();
  const room = await fishjam.createRoom({ webhookUrl: rx.url });
  const { peer } = await fishjam.createPeer(room.id);
  const pub = await herald.publish([
    { type: 'chat.message', room_id: room.id, data: { text: 'JSON only' } },
    { type: 'track.added', room_id: room.id, data: { peer_id: peer.id, track: { id: 't1', type: 'audio', metadata: '{}' } } },
  ]);
  assert.equal(pub.status, 201);
  await fishjam.deleteRoom(room.id);
  await rx.waitFor(() => names(rx).includes('roomDeleted'), WAIT_MS, 'roomDeleted');
  await settled();
  const got = decodeAll(rx);
  assert.deepEqual(got.map(([n]) => n), ['roomCreated', 'peerAdded', 'trackAdded', 'roomDeleted']);
  const track = got[2][1];
  assert.equal(track.roomId, room.id);
  assert.equal(track.peerId, peer.id);
  assert.equal(track.track.id, 't1');
  assert.equal(track.track.type, 2);
});

test("a hanging room webhook does not delay another room's webhook", async () => {
  // Requests may hang for two minutes on this herald: room B's webhooks
  // must arrive while room A's request still hangs, which involves no
  // timing (were B held up behind A, it would wait longer than WAIT_MS).
  const h = await startHerald(['--webhook-retry-schedule', '0.2,0.4', '--webhook-timeout', '120']);
  heralds.push(h);
  const fj = new FishjamClient({ fishjamId: h.url, managementToken: 'development' });
  const slow = await receiver({ respond: () => ({ hang: true }) });
  const fast = await receiver();
  const a = await fj.createRoom({ webhookUrl: slow.url });
  for (let i = 0; i < 10; i++) await fj.createPeer(a.id);
  await slow.waitCount(1, WAIT_MS, "room A's first request");
  const b = await fj.createRoom({ webhookUrl: fast.url });
  const { peer } = await fj.createPeer(b.id);
  await fast.waitFor(() => names(fast).includes('peerAdded'), WAIT_MS, 'room B events');
  const aHook = await hapi(h.url, 'GET', `/v1/webhooks/room_${a.id}/deliveries`);
  assert.equal(aHook.status, 200, JSON.stringify(aHook.body));
  assert.deepEqual(aHook.body.deliveries, [], "room A's request had not ended");
  assert.deepEqual(decodeAll(fast), [
    ['roomCreated', { roomId: b.id }],
    ['peerAdded', { roomId: b.id, peerId: peer.id, peerType: 1 }],
  ]);
  assert.equal(slow.requests.length, 1, 'one request at a time to a room webhook');
  await fj.deleteRoom(a.id);
  await fj.deleteRoom(b.id);
  await fast.waitFor(() => names(fast).includes('roomDeleted'), WAIT_MS, 'room B deleted');
  slow.respond = () => ({ status: 200 });
  slow.release({ status: 200 });
  await settled(h);
});
