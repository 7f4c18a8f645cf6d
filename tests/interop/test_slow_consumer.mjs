// SPDX-License-Identifier: MIT
// test_slow_consumer.mjs — a subscriber that stops reading is disconnected
// with 4001 "slow consumer" once its queue passes --max-outbound, while a
// subscriber that keeps reading gets every event, in order, with no gap.
//
// herald runs with --max-outbound 65536. Published events carry a 16 KiB
// pad; one publisher sends them 3 per request (48 KiB, under the bound) and
// keeps going until /metrics counts a slow consumer (at most MAX_BATCHES:
// ~9 MiB, well past the kernel's socket buffers). The paused socket is
// resumed as soon as the server has given up on it, so the close frame
// herald queued can still reach it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald } from './herald.mjs';
import { jsonNotifier, rawWs, closeClient, finish, metric, waitUntil, WAIT_MS } from './wsutil.mjs';

const MAX_OUTBOUND = 65536;
const PAD = 'x'.repeat(16 * 1024);
const PER_BATCH = 3;
const MAX_BATCHES = 200;
const herald = await startHerald(['--max-outbound', String(MAX_OUTBOUND), '--sync-full', '0']);
after(() => finish(herald));

const slowCount = () => metric(herald.url, 'herald_slow_consumers_total');

// Publishes 3-event batches until stop() is true; returns the ids in order.
async function publishUntil(stop, tag) {
  const ids = [];
  for (let b = 0; b < MAX_BATCHES && !(await stop()); b++) {
    const events = Array.from({ length: PER_BATCH }, (_, i) => ({
      type: 'load.test', room_id: tag, data: { seq: b * PER_BATCH + i, pad: PAD } }));
    const r = await herald.publish(events);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(...r.body.ids);
  }
  return ids;
}

// Waits until `client` has received exactly the events `ids` (in order).
async function expectAll(client, ids, tag) {
  let closed = null;
  client.closed.then((c) => { closed = c; });
  await waitUntil(() => client.messages.items.length >= ids.length || closed, WAIT_MS,
    `all ${ids.length} events on the reading subscriber (have ${client.messages.items.length})`);
  const got = client.messages.items.splice(0).map((m) => m.json);
  assert.equal(closed, null, `the reading subscriber was closed after ${got.length}/${ids.length} events: ${JSON.stringify(closed)}`);
  assert.deepEqual(got.map((e) => e.id), ids, 'every event, in order, no gap, no duplicate');
  got.forEach((e, i) => { assert.equal(e.room_id, tag); assert.equal(e.data.seq, i); });
}

test('a paused subscriber is closed 4001 "slow consumer"; the reading one gets every event', async () => {
  const before = await slowCount();
  const fast = await jsonNotifier(herald.url);
  const slow = await jsonNotifier(herald.url);
  slow.ws._socket.pause();

  // Resume the paused socket the moment herald has given up on it.
  let resumed = false;
  const watcher = (async () => {
    await waitUntil(async () => (await slowCount()) > before, WAIT_MS, 'herald to count a slow consumer', 20);
    slow.ws._socket.resume();
    resumed = true;
  })();
  const ids = await publishUntil(async () => resumed, 'slow-1');
  await watcher;
  assert.ok(ids.length > 0);

  const closed = await slow.waitClosed(WAIT_MS).catch(async (e) => {
    const f = fast.ws.readyState === fast.ws.CLOSED ? JSON.stringify(await fast.closed) : 'open';
    throw new Error(`${e.message} (the reading subscriber: ${f}; slow consumers: ${await slowCount()})`);
  });
  assert.deepEqual(closed, { code: 4001, reason: 'slow consumer' });
  // What the slow one did get is a gap-free prefix: it can resume from its last id.
  const slowIds = slow.messages.items.map((m) => m.json.id);
  assert.ok(slowIds.length < ids.length, 'the slow subscriber fell behind');
  assert.deepEqual(slowIds, ids.slice(0, slowIds.length));

  await expectAll(fast, ids, 'slow-1');
  assert.equal(fast.ws.readyState, fast.ws.OPEN);
  assert.ok((await slowCount()) >= before + 1);
  assert.equal(await slowCount(), before + 1, 'only the paused subscriber was dropped');

  // The reader still gets new events.
  const r = await herald.publish({ type: 'after.slow', data: {} });
  assert.equal((await fast.json()).id, r.body.ids[0]);
  await closeClient(fast);
});

test('a raw subscriber that never reads is dropped and its queue freed', async () => {
  const before = await slowCount();
  const fast = await jsonNotifier(herald.url);
  const raw = await rawWs(herald.port);
  raw.text(JSON.stringify({ type: 'auth', token: 'development' }));
  raw.text(JSON.stringify({ type: 'subscribe', event_type: 'server_notification' }));
  assert.equal(JSON.parse(await raw.nextText()).type, 'authenticated');
  assert.equal(JSON.parse(await raw.nextText()).type, 'subscribe_response');
  raw.sock.pause(); // never reads again

  const ids = await publishUntil(async () => (await slowCount()) > before, 'slow-2');
  assert.equal(await slowCount(), before + 1);
  await expectAll(fast, ids, 'slow-2');

  // herald lets go of the dead socket: only the reader is left, nothing queued.
  await waitUntil(async () => (await metric(herald.url, 'herald_connections{kind="ws_server"}')) === 1,
    WAIT_MS, 'the dropped socket to be closed by herald');
  await waitUntil(async () => (await metric(herald.url, 'herald_outbound_queue_bytes')) === 0,
    WAIT_MS, 'the outbound queues to drain');
  assert.equal(fast.ws.readyState, fast.ws.OPEN);
  raw.destroy();
  await closeClient(fast);
});

test('a publish batch bigger than --max-outbound does not drop a subscriber that keeps up', async () => {
  const before = await slowCount();
  const fast = await jsonNotifier(herald.url); // subscribed once it returns
  // 12 x 16 KiB = ~192 KiB in one request: three times the per-client bound,
  // but the subscriber reads as fast as loopback allows.
  const events = Array.from({ length: 12 }, (_, i) => ({ type: 'load.test', room_id: 'big', data: { seq: i, pad: PAD } }));
  const r = await herald.publish(events);
  assert.equal(r.status, 201);
  await expectAll(fast, r.body.ids, 'big');
  assert.equal(fast.ws.readyState, fast.ws.OPEN);
  assert.equal(await slowCount(), before);
  await closeClient(fast);
});
