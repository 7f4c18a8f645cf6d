// SPDX-License-Identifier: MIT
// test_redis_webhook_controls_together.mjs — issue 18's delivery controls
// on one endpoint across two herald nodes sharing one redis-server (the
// Redis mode of test_webhook_controls_together.mjs): a payload filter,
// gzip batches, rate_limit, retry schedules and breaker_threshold, set on
// node A. Events are published on both nodes, with idempotency keys (a key
// first used on A, repeated on B, stores nothing); one receiver verifies
// every request with the `standardwebhooks` package after inflating it.
//  - exactly the matching events arrive, each once, in id order inside each
//    request (the two nodes deliver their own rows side by side, so there
//    is no order across nodes);
//  - the rate limit holds for the endpoint as a whole: all requests, from
//    both nodes, keep to burst + per_second x t on the receiver's clock;
//  - 500s until a node's breaker opens (herald.endpoint_paused in the
//    shared history), then recovery (herald.endpoint_resumed): nothing lost,
//    no delivery failed;
//  - kill -9 of node B with its deliveries pending (a request hanging):
//    restarted, it sends them all.
// Skipped with a note when redis-server is not installed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Webhook } from 'standardwebhooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHerald } from './herald.mjs';
import { finish, within } from './wsutil.mjs';
import { hasRedis, startRedis } from './redis.mjs';
import { startReceiver, hapi, waitUntil, settled, WAIT_MS } from './webhook_receiver.mjs';


const RATE = 4;
const BURST = 1;
const MAX_EVENTS = 3;
const SETTINGS = {
  event_types: ['ctl.*'],
  filter: { 'data.kind': { $prefix: 'keep' }, $or: [{ 'data.amount': { $gte: 10 } }, { 'data.vip': true }] },
  batch: { max_events: MAX_EVENTS, max_wait_ms: 200, gzip: true },
  rate_limit: { per_second: RATE, burst: BURST },
  retry_schedule: [0.3, 0.3, 0.3, 0.3, 0.3],
  breaker_threshold: 2,
};

test('two nodes, one Redis: filter, gzip batches, a shared rate limit, breaker, kill -9: nothing lost', { skip: !hasRedis() && 'redis-server not installed' }, async () => {
  const redis = await startRedis();
  const dirs = { A: mkdtempSync(join(tmpdir(), 'herald-ctl-A-')), B: mkdtempSync(join(tmpdir(), 'herald-ctl-B-')) };
  const args = (id) => ['--engine', 'redis', '--redis-url', redis.url, '--redis-prefix', 'ctl:', '--node-id', id,
    '--threads', '1', '--webhook-timeout', '30', '--webhook-breaker-probe-min', '0.3', '--webhook-breaker-probe-max', '1'];
  const nodes = { A: await startHerald(args('A'), { dataDir: dirs.A }), B: await startHerald(args('B'), { dataDir: dirs.B }) };
  let mode = 'ok';
  const rx = await startReceiver({
    respond: (rec) => {
      rec.mode = mode;
      if (mode === 'hang') return { hang: true };
      return { status: mode === '500' ? 500 : 200 };
    },
  });
  after(async () => {
    await rx.close().catch(() => {});
    for (const n of Object.values(nodes)) await finish(n);
    await redis.stop();
    for (const d of Object.values(dirs)) rmSync(d, { recursive: true, force: true });
  });

  const c = await hapi(nodes.A.url, 'POST', '/v1/webhooks', { url: rx.url, ...SETTINGS });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const ep = c.body;
  await waitUntil(async () => {
    const g = await hapi(nodes.B.url, 'GET', `/v1/webhooks/${ep.id}`);
    return g.status === 200 && JSON.stringify(g.body.rate_limit) === JSON.stringify(SETTINGS.rate_limit) &&
      JSON.stringify(g.body.batch) === JSON.stringify(SETTINGS.batch) && g.body.filter !== null;
  }, WAIT_MS, 'node B to know the endpoint and its settings');

  const eventsOf = (rec) => {
    if (rec.events) return rec.events;
    assert.equal(rec.headers['content-encoding'], 'gzip');
    const text = gunzipSync(rec.body).toString('utf8');
    rec.events = new Webhook(ep.secret).verify(text, {
      'webhook-id': rec.headers['webhook-id'],
      'webhook-timestamp': rec.headers['webhook-timestamp'],
      'webhook-signature': rec.headers['webhook-signature'],
    });
    assert.ok(Array.isArray(rec.events) && rec.events.length >= 1 && rec.events.length <= MAX_EVENTS, text);
    return rec.events;
  };
  const idsOf = (rec) => eventsOf(rec).map((e) => BigInt(e.id));
  const deliveredIds = () => rx.requests.filter((q) => q.mode === 'ok').flatMap(idsOf);
  const expected = new Set();
  const allArrived = () => { const got = new Set(deliveredIds()); return [...expected].every((id) => got.has(id)); };

  let seq = 0;
  const ev = (i) => [
    { data: { i, kind: 'keep', amount: 10 + i }, match: true },
    { data: { i, kind: 'keep', amount: 5 }, match: false },
    { data: { i, kind: 'keep-vip', amount: 1, vip: true }, match: true },
    { data: { i, kind: 'drop', amount: 50 }, match: false },
  ][i % 4];
  async function publish(node, events) {
    const res = await fetch(`${node.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer development', 'content-type': 'application/json' },
      body: JSON.stringify(events.map((e) => ({ type: 'ctl.a', data: e.data, idempotency_key: e.key }))),
    });
    const body = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    return { replayed: res.headers.get('idempotent-replayed') === 'true', ids: body.ids.map(BigInt) };
  }
  async function publishNew(node, n) {
    const evs = Array.from({ length: n }, (_, k) => ({ ...ev(k), key: `rctl-${++seq}` }));
    const { ids } = await publish(node, evs);
    evs.forEach((e, k) => { if (e.match) expected.add(ids[k]); });
    return { evs, ids };
  }

  // Published on both nodes; A's request repeated on B stores nothing.
  const a = await publishNew(nodes.A, 16);
  await publishNew(nodes.B, 16);
  const again = await publish(nodes.B, a.evs);
  assert.equal(again.replayed, true, 'a key first used on A is known on B');
  assert.deepEqual(again.ids, a.ids);
  assert.equal(expected.size, 16);
  await waitUntil(allArrived, WAIT_MS, `the 16 matching events (got ${deliveredIds().length})`);
  await settled(nodes.A.url, ep.id);
  await settled(nodes.B.url, ep.id);
  const got = deliveredIds().sort((x, y) => (x < y ? -1 : 1));
  assert.deepEqual(got, [...expected].sort((x, y) => (x < y ? -1 : 1)), 'exactly the matching events, each once');
  for (const q of rx.requests) {
    const ids = idsOf(q);
    for (let k = 1; k < ids.length; k++) assert.ok(ids[k - 1] < ids[k], `in id order inside a request: ${ids}`);
  }
  const rateHolds = (reqs, what) => {
    const n = reqs.length;
    if (n <= BURST + 1) return;
    const span = reqs[n - 1].at - reqs[0].at;
    const floor = ((n - BURST - 1) / RATE) * 1000;
    assert.ok(span >= floor, `${what}: ${n} requests from both nodes in ${span} ms; ${RATE}/s burst ${BURST} needs >= ${floor} ms`);
  };
  assert.ok(rx.requests.length >= 6, `batches of at most 3: ${rx.requests.length} requests`);
  rateHolds(rx.requests, 'the rate limit in total');

  // 500s until a breaker opens, then recovery.
  const before = rx.requests.length;
  mode = '500';
  await publishNew(nodes.A, 12);
  await publishNew(nodes.B, 12);
  const history = async (type) => (await hapi(nodes.A.url, 'GET', `/v1/events?type=${type}&limit=1000`)).body.events
    .filter((e) => e.data.endpoint_id === ep.id);
  await waitUntil(async () => (await history('herald.endpoint_paused')).length >= 1, WAIT_MS, 'herald.endpoint_paused');
  const atPause = rx.requests.length;
  await rx.waitFor((r) => r.length > atPause, WAIT_MS, 'a probe while paused');
  mode = 'ok';
  await waitUntil(async () => (await history('herald.endpoint_resumed')).length >= 1, WAIT_MS, 'herald.endpoint_resumed');
  await waitUntil(allArrived, WAIT_MS, 'every matching event after the recovery');
  await settled(nodes.A.url, ep.id);
  await settled(nodes.B.url, ep.id);
  const failed = (await hapi(nodes.A.url, 'GET', `/v1/webhooks/${ep.id}/deliveries?limit=1000`)).body.deliveries
    .filter((d) => d.state === 'failed');
  assert.deepEqual(failed, [], 'no delivery failed for good');
  assert.ok(rx.requests.slice(before).some((q) => q.mode === '500'));
  assert.deepEqual(new Set(deliveredIds()), expected, 'nothing lost, nothing filtered in');
  rateHolds(rx.requests, 'the rate limit in total, 500s and probes included');

  // kill -9 of B with its deliveries pending; restarted, it sends them.
  mode = 'hang';
  const atHang = rx.requests.length;
  await publishNew(nodes.B, 16);
  await rx.waitFor((r) => r.length > atHang, WAIT_MS, 'a request hanging');
  const exited = new Promise((r) => nodes.B.proc.on('exit', r));
  nodes.B.proc.kill('SIGKILL');
  await within(exited, WAIT_MS, 'node B to die');
  rx.release({ status: 500 });
  mode = 'ok';
  // A hanging request of A (if A owned it) is released above and retried.
  nodes.B = await startHerald(args('B'), { dataDir: dirs.B });
  await waitUntil(allArrived, WAIT_MS, 'every pending matching event after B restarted');
  await settled(nodes.A.url, ep.id);
  await settled(nodes.B.url, ep.id);
  for (const id of deliveredIds()) assert.ok(expected.has(id), `event ${id} was not filtered out`);
  const g = (await hapi(nodes.B.url, 'GET', `/v1/webhooks/${ep.id}`)).body;
  for (const [k, v] of Object.entries(SETTINGS)) assert.deepEqual(g[k], v, `${k} kept`);
});
