// SPDX-License-Identifier: MIT
// test_fishjam_sdk029_webhooks.mjs — room webhooks as the vendored Fishjam
// SDK 0.29.0 reads them (issue 15 item 5): with --room-webhook-secret every
// request carries x-fishjam-signature-256, which the SDK's
// verifyWebhookSignature accepts with that secret (and refuses with another
// or over a changed body), and its body decodes with
// decodeServerNotifications. A room created with batchWebhookNotifications
// gets ServerMessage{notification_batch} bodies (never nested, in order);
// one created without gets one notification per request as before; VAD
// notifications are never batched (each alone, bare, as upstream). The
// Standard Webhooks headers stay. Without a secret there is no signature
// header.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { FishjamClient, ServerMessage, verifyWebhookSignature, decodeServerNotifications } from 'fishjam-sdk-029';
import { startHerald } from './herald.mjs';
import { finish, metric } from './wsutil.mjs';
import { startReceiver, waitUntil, WAIT_MS } from './webhook_receiver.mjs';

const SECRET = 'room-hook-secret-0123456789';
const herald = await startHerald(['--room-webhook-secret', SECRET, '--webhook-retry-schedule', '0.2,0.4']);
const heralds = [herald];
after(async () => { for (const h of heralds) await finish(h); });
const fishjam = new FishjamClient({ fishjamId: herald.url, managementToken: 'development' });

let cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  cleanup = [];
});
async function receiver() {
  const rx = await startReceiver({ path: '/fj' });
  cleanup.push(() => rx.close());
  return rx;
}
// Every notification rx got, in order, as [type, notification] (via the SDK).
const decoded = (rx) => rx.requests.flatMap((q) => decodeServerNotifications(q.body).map((n) => [n.type, JSON.parse(JSON.stringify(n.notification))]));
// Waits until herald owes no webhook delivery and has none in flight.
async function settled(h = herald) {
  await waitUntil(async () => (await metric(h.url, 'herald_webhook_pending')) === 0 &&
    (await metric(h.url, 'herald_webhook_in_flight')) === 0, WAIT_MS, 'herald to owe no webhook delivery');
}
// A room's life cycle through the SDK; returns what its webhook must decode to.
async function lifecycle(fj, roomConfig) {
  const room = await fj.createRoom(roomConfig);
  const { peer } = await fj.createPeer(room.id, { metadata: { n: 1 } });
  const { peer: p2 } = await fj.createPeer(room.id);
  await fj.deletePeer(room.id, peer.id);
  await fj.deleteRoom(room.id);
  return { room, expected: [
    ['roomCreated', { roomId: room.id }],
    ['peerAdded', { roomId: room.id, peerId: peer.id, peerType: 'webrtc' }],
    ['peerAdded', { roomId: room.id, peerId: p2.id, peerType: 'webrtc' }],
    ['peerDeleted', { roomId: room.id, peerId: peer.id, peerType: 'webrtc' }],
    ['roomDeleted', { roomId: room.id }],
  ] };
}

test('unbatched room: each request is signed (x-fishjam-signature-256) and holds one notification', async () => {
  const rx = await receiver();
  const { expected } = await lifecycle(fishjam, { webhookUrl: rx.url });
  await rx.waitFor(() => decoded(rx).some(([t]) => t === 'roomDeleted'), WAIT_MS, 'roomDeleted');
  await settled();
  assert.deepEqual(decoded(rx), expected);
  assert.equal(rx.requests.length, expected.length, 'one notification per request');
  for (const q of rx.requests) {
    const sig = q.headers['x-fishjam-signature-256'];
    assert.match(sig ?? '', /^sha256=[0-9a-f]{64}$/, `signature header: ${sig}`);
    assert.equal(verifyWebhookSignature(q.body, sig, SECRET), true);
    assert.equal(verifyWebhookSignature(q.body, sig, 'another-secret'), false);
    assert.equal(verifyWebhookSignature(Buffer.concat([q.body, Buffer.from([0])]), sig, SECRET), false);
    assert.equal(q.headers['content-type'], 'application/x-protobuf');
    for (const h of ['webhook-id', 'webhook-timestamp', 'webhook-signature'])
      assert.ok(q.headers[h], `Standard Webhooks header ${h} stays`);
    assert.equal(ServerMessage.decode(q.body).notificationBatch, undefined);
  }
});

test('batchWebhookNotifications: the bodies are notification batches, signed, in order, never nested', async () => {
  const rx = await receiver();
  const { room, expected } = await lifecycle(fishjam, { webhookUrl: rx.url, batchWebhookNotifications: true });
  assert.equal(room.config.batchWebhookNotifications, true);
  await rx.waitFor(() => decoded(rx).some(([t]) => t === 'roomDeleted'), WAIT_MS, 'roomDeleted');
  await settled();
  assert.deepEqual(decoded(rx), expected);
  for (const q of rx.requests) {
    assert.equal(verifyWebhookSignature(q.body, q.headers['x-fishjam-signature-256'] ?? '', SECRET), true);
    const msg = ServerMessage.decode(q.body);
    assert.ok(msg.notificationBatch, `a notification_batch body: ${JSON.stringify(msg)}`);
    assert.ok(msg.notificationBatch.notifications.length >= 1);
    for (const inner of msg.notificationBatch.notifications) {
      const set = Object.entries(inner).filter(([, v]) => v !== undefined);
      assert.equal(set.length, 1, JSON.stringify(inner));
      assert.ok(!['notificationBatch', 'authenticated', 'authRequest', 'subscribeRequest', 'subscribeResponse'].includes(set[0][0]),
        `only notifications in a batch, never a batch: ${set[0][0]}`);
    }
  }
});

test('members 30-32 on a batched room webhook: forwardings batched, each VAD alone and bare, all decoded by the SDK', async () => {
  const rx = await receiver();
  const room = await fishjam.createRoom({ webhookUrl: rx.url, batchWebhookNotifications: true });
  const url = 'https://composer.example/c/1';
  const pub = await herald.publish([
    { type: 'track.forwarding', room_id: room.id, data: { peer_id: 'p1', composition_url: url, input_id: 'i1',
      audio_track: { id: 'a1', type: 'audio' } } },
    { type: 'vad.notification', room_id: room.id, data: { peer_id: 'p1', track_id: 'a1', status: 'speech' } },
    { type: 'vad.notification', room_id: room.id, data: { peer_id: 'p1', track_id: 'a1', status: 'silence' } },
    { type: 'track.forwarding_removed', room_id: room.id, data: { peer_id: 'p1', composition_url: url, input_id: 'i1' } },
  ]);
  assert.equal(pub.status, 201, JSON.stringify(pub.body));
  await fishjam.deleteRoom(room.id);
  await rx.waitFor(() => decoded(rx).some(([t]) => t === 'roomDeleted'), WAIT_MS, 'roomDeleted');
  await settled();
  assert.deepEqual(decoded(rx), [
    ['roomCreated', { roomId: room.id }],
    ['trackForwarding', { roomId: room.id, peerId: 'p1', compositionUrl: url, inputId: 'i1',
      audioTrack: { id: 'a1', type: 'audio', metadata: '' } }],
    ['vadNotification', { roomId: room.id, peerId: 'p1', trackId: 'a1', status: 'speech' }],
    ['vadNotification', { roomId: room.id, peerId: 'p1', trackId: 'a1', status: 'silence' }],
    ['trackForwardingRemoved', { roomId: room.id, peerId: 'p1', compositionUrl: url, inputId: 'i1' }],
    ['roomDeleted', { roomId: room.id }],
  ]);
  for (const q of rx.requests) {
    assert.equal(verifyWebhookSignature(q.body, q.headers['x-fishjam-signature-256'] ?? '', SECRET), true);
    const msg = ServerMessage.decode(q.body);
    const vadInBatch = msg.notificationBatch?.notifications.some((n) => n.vadNotification);
    assert.ok(!vadInBatch, 'VAD notifications are never batched');
    if (!msg.notificationBatch) assert.ok(msg.vadNotification, `a bare body is a VAD one: ${JSON.stringify(msg)}`);
  }
  assert.equal(rx.requests.filter((q) => ServerMessage.decode(q.body).vadNotification).length, 2, 'each VAD in a request of its own');
});

test('a batched room and an unbatched one side by side each get their own form', async () => {
  const batched = await receiver();
  const single = await receiver();
  const a = await lifecycle(fishjam, { webhookUrl: batched.url, batchWebhookNotifications: true });
  const b = await lifecycle(fishjam, { webhookUrl: single.url, batchWebhookNotifications: false });
  await batched.waitFor(() => decoded(batched).some(([t]) => t === 'roomDeleted'), WAIT_MS, 'roomDeleted (batched)');
  await single.waitFor(() => decoded(single).some(([t]) => t === 'roomDeleted'), WAIT_MS, 'roomDeleted (single)');
  await settled();
  assert.deepEqual(decoded(batched), a.expected);
  assert.deepEqual(decoded(single), b.expected);
  assert.ok(batched.requests.every((q) => ServerMessage.decode(q.body).notificationBatch));
  assert.ok(single.requests.every((q) => !ServerMessage.decode(q.body).notificationBatch));
});

test('without --room-webhook-secret there is no x-fishjam-signature-256 header', async () => {
  const h = await startHerald(['--webhook-retry-schedule', '0.2,0.4']);
  heralds.push(h);
  const fj = new FishjamClient({ fishjamId: h.url, managementToken: 'development' });
  const rx = await receiver();
  const { expected } = await lifecycle(fj, { webhookUrl: rx.url });
  await rx.waitFor(() => decoded(rx).some(([t]) => t === 'roomDeleted'), WAIT_MS, 'roomDeleted');
  await settled(h);
  assert.deepEqual(decoded(rx), expected);
  for (const q of rx.requests) assert.equal(q.headers['x-fishjam-signature-256'], undefined);
});
