// SPDX-License-Identifier: MIT
// test_webhooks_durable.mjs — webhook deliveries are durable: an endpoint
// whose receiver is down, 200 events published and acknowledged, herald
// killed with SIGKILL while the deliveries are pending, the receiver
// brought up, herald restarted on the same data dir: every one of the 200
// events arrives at least once, correctly signed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHerald } from './herald.mjs';
import { finish, SANITIZER_RE } from './wsutil.mjs';
import { startReceiver, verifyWebhook, hapi, within, waitUntil, WAIT_MS } from './webhook_receiver.mjs';

// Long enough that no delivery runs out of retries while the receiver is down.
const ARGS = ['--webhook-retry-schedule', '0.3,0.5,1,1,1,1,1,1,1,1,1,1', '--webhook-timeout', '2',
  '--webhook-connect-timeout', '1'];
const N = 200;

const dataDir = mkdtempSync(join(tmpdir(), 'herald-wh-durable-'));
const started = [];
let rx = null;
after(async () => {
  if (rx) await rx.close();
  for (const h of started) {
    if (h.proc.exitCode === null && h.proc.signalCode === null) await finish(h);
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test(`kill -9 with ${N} deliveries pending, restart on the same data dir: every event delivered`, async () => {
  rx = await startReceiver({ down: true });
  const h1 = await startHerald(ARGS, { dataDir });
  started.push(h1);
  const c = await hapi(h1.url, 'POST', '/v1/webhooks', { url: rx.url, event_types: ['durable.*'] });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const ep = c.body;

  // 200 events in 10 concurrent batches of 20, every one acknowledged.
  const batches = await Promise.all(Array.from({ length: 10 }, (_, b) => h1.publish(
    Array.from({ length: 20 }, (_, i) => ({ type: 'durable.x', data: { b, i } })))));
  const ids = [];
  for (const r of batches) {
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.ids.length, 20);
    ids.push(...r.body.ids);
  }
  assert.equal(new Set(ids).size, N);

  // Deliveries are pending (the receiver is down), then herald dies hard.
  const pending = (await hapi(h1.url, 'GET', `/v1/webhooks/${ep.id}`)).body.pending;
  assert.ok(pending > 0, `deliveries pending before the kill: ${pending}`);
  const died = new Promise((r) => h1.proc.once('exit', r));
  h1.proc.kill('SIGKILL');
  await within(died, WAIT_MS, 'herald to die');
  assert.equal(h1.proc.signalCode, 'SIGKILL');
  assert.doesNotMatch(h1.log(), SANITIZER_RE, `sanitizer report before the kill:\n${h1.log()}`);
  assert.equal(rx.requests.length, 0);

  await rx.up();
  const h2 = await startHerald(ARGS, { dataDir });
  started.push(h2);
  // The endpoint survived too.
  const g = await hapi(h2.url, 'GET', `/v1/webhooks/${ep.id}`);
  assert.equal(g.status, 200, JSON.stringify(g.body));
  assert.equal(g.body.url, rx.url);

  const want = new Set(ids);
  const got = new Set();
  try {
    await waitUntil(() => {
      for (const q of rx.requests) if (q.json?.id) got.add(q.json.id);
      return [...want].every((id) => got.has(id));
    }, WAIT_MS, `all ${N} events after the restart`, 50);
  } catch (e) {
    const missing = [...want].filter((id) => !got.has(id));
    e.message += `\n${missing.length} missing: ${missing.slice(0, 30).join(',')}…\nherald log:\n${h2.log().slice(-3000)}`;
    throw e;
  }
  for (const q of rx.requests) {
    verifyWebhook(ep.secret, q);
    assert.equal(q.headers['webhook-id'], `msg_${q.json.id}_${ep.id}`);
    assert.equal(q.json.type, 'durable.x');
  }
  await waitUntil(async () => (await hapi(h2.url, 'GET', `/v1/webhooks/${ep.id}`)).body.pending === 0, WAIT_MS,
    'no pending deliveries left');
  const extra = rx.requests.length - N;
  if (extra > 0) console.log(`# ${extra} duplicate deliveries (at-least-once)`);

  started.splice(started.indexOf(h2), 1);
  const r = await within(h2.stop(), WAIT_MS, 'herald to stop');
  assert.equal(r, 0, `herald exited with ${r}:\n${h2.log().slice(-3000)}`);
});

test(`kill -9 in the middle of delivering ${N} events to a live receiver: the rest after the restart`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-wh-durable2-'));
  const live = await startReceiver({ respond: () => ({ status: 200, delayMs: 40 }) });
  try {
    const h1 = await startHerald(ARGS, { dataDir: dir });
    started.push(h1);
    const c = await hapi(h1.url, 'POST', '/v1/webhooks', { url: live.url, event_types: ['mid.*'] });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const ep = c.body;
    const r = await h1.publish(Array.from({ length: N }, (_, i) => ({ type: 'mid.x', data: { i } })));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const ids = r.body.ids;
    // Some were delivered, some are in flight, most are queued.
    await live.waitCount(20, WAIT_MS, 'the first deliveries');
    const died = new Promise((res) => h1.proc.once('exit', res));
    h1.proc.kill('SIGKILL');
    await within(died, WAIT_MS, 'herald to die');
    assert.doesNotMatch(h1.log(), SANITIZER_RE);
    const before = new Set(live.requests.map((q) => q.json.id));
    assert.ok(before.size < N, `not everything was delivered before the kill (${before.size})`);

    const h2 = await startHerald(ARGS, { dataDir: dir });
    started.push(h2);
    const got = new Set();
    await waitUntil(() => {
      for (const q of live.requests) got.add(q.json.id);
      return ids.every((id) => got.has(id));
    }, WAIT_MS, `all ${N} events (${before.size} before the kill)`, 50);
    for (const q of live.requests) {
      verifyWebhook(ep.secret, q);
      assert.equal(q.headers['webhook-id'], `msg_${q.json.id}_${ep.id}`);
    }
    await waitUntil(async () => (await hapi(h2.url, 'GET', `/v1/webhooks/${ep.id}`)).body.pending === 0, WAIT_MS,
      'no pending deliveries left');
    const dups = live.requests.length - N;
    if (dups > 0) console.log(`# ${dups} duplicate deliveries after the kill (at-least-once)`);
    started.splice(started.indexOf(h2), 1);
    const code = await within(h2.stop(), WAIT_MS, 'herald to stop');
    assert.equal(code, 0, `herald exited with ${code}:\n${h2.log().slice(-3000)}`);
  } finally {
    await live.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
