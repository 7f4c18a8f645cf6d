// SPDX-License-Identifier: MIT
// test_webhook_controls_together.mjs — issue 18's delivery controls on ONE
// endpoint at once: a payload filter, batch (max_events 3, a wait, gzip),
// rate_limit, a retry_schedule (and an empty one for one type),
// breaker_threshold; publishes with idempotency keys, some repeated. One
// real receiver verifies every request with the `standardwebhooks` package
// (after inflating the gzip body, as a receiver's framework would).
// What a user would see, phase by phase:
//  A. healthy receiver: only the events the filter matches arrive, each
//     exactly once, in id order within and across requests; a repeated
//     idempotency key stores and delivers nothing more; requests keep to the
//     rate limit (a lower bound on the receiver's clock: load only slows);
//  B. 429 (with Retry-After, then without): the batch comes back whole
//     (same rows, same webhook-id), no retry spent (its type's schedule is
//     [], so a counted attempt would fail the rows for good), the breaker
//     stays closed, no herald.endpoint_paused;
//  C. 500 until the breaker opens (herald.endpoint_paused in the history), a
//     failing probe, then recovery: herald.endpoint_resumed, every matching
//     event delivered, none failed, the successes in id order;
//  D. SIGTERM and kill -9 with deliveries pending (one request hanging):
//     after each restart every pending matching event arrives, in order,
//     and the endpoint's settings are intact;
//  E. what breaks order and what restores it (docs/webhooks.md, "Controls
//     together"): a failed batch lets the next one pass without a breaker;
//     with breaker_threshold 1 the failed batch is taken first.
// Waits are conditions (the receiver's requests, the history, `pending`);
// the branches are forced (probe intervals of 0.3-1 s, short schedules, a
// hanging receiver); the 60 s deadlines only bound failures.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Webhook } from 'standardwebhooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHerald } from './herald.mjs';
import { finish, within } from './wsutil.mjs';
import { startReceiver, hapi, waitUntil, settled, WAIT_MS } from './webhook_receiver.mjs';

const ARGS = ['--webhook-timeout', '30', '--webhook-breaker-probe-min', '0.3', '--webhook-breaker-probe-max', '1'];
const dataDir = mkdtempSync(join(tmpdir(), 'herald-controls-'));
let herald = await startHerald(ARGS, { dataDir });

// The receiver answers what `mode` says and notes it on the request.
let mode = 'ok';
const rx = await startReceiver({
  respond: (rec) => {
    rec.mode = mode;
    if (mode === 'hang') return { hang: true };
    if (mode === '429ra') { mode = '429'; return { status: 429, headers: { 'retry-after': '1' } }; }
    if (mode === '429') { mode = 'ok'; rec.mode = '429'; return { status: 429 }; }
    if (mode === '500') return { status: 500 };
    return { status: 200 };
  },
});
after(async () => {
  await rx.close().catch(() => {});
  await finish(herald);
  rmSync(dataDir, { recursive: true, force: true });
});

const RATE = 4;     // requests a second
const BURST = 1;
const MAX_EVENTS = 3;
const SETTINGS = {
  event_types: ['ctl.*'],
  filter: { 'data.kind': { $prefix: 'keep' }, $or: [{ 'data.amount': { $gte: 10 } }, { 'data.vip': true }] },
  batch: { max_events: MAX_EVENTS, max_wait_ms: 200, gzip: true },
  rate_limit: { per_second: RATE, burst: BURST },
  retry_schedule: [0.3, 0.3, 0.3, 0.3, 0.3],
  retry_schedules: { 'ctl.thr': [] },
  breaker_threshold: 2,
};
const created = await hapi(herald.url, 'POST', '/v1/webhooks', { url: rx.url, ...SETTINGS });
assert.equal(created.status, 201, JSON.stringify(created.body));
const ep = created.body;

// The events of a request, verified with standardwebhooks (inflated first).
function eventsOf(rec) {
  if (rec.events) return rec.events;
  assert.equal(rec.headers['content-encoding'], 'gzip', 'gzip: true');
  const text = gunzipSync(rec.body).toString('utf8');
  const headers = {
    'webhook-id': rec.headers['webhook-id'],
    'webhook-timestamp': rec.headers['webhook-timestamp'],
    'webhook-signature': rec.headers['webhook-signature'],
  };
  const events = new Webhook(ep.secret).verify(text, headers);
  assert.ok(Array.isArray(events) && events.length >= 1 && events.length <= MAX_EVENTS,
    `a batch of 1..${MAX_EVENTS}: ${text}`);
  rec.events = events;
  return events;
}
const idsOf = (rec) => eventsOf(rec).map((e) => BigInt(e.id));
const ok2xx = (rec) => rec.mode === 'ok';

// Event i of a kind: which ones the filter matches is known up front.
function ev(type, i) {
  switch (i % 4) {
    case 0: return { type, data: { i, kind: 'keep', amount: 10 + i }, match: true };
    case 1: return { type, data: { i, kind: 'keep', amount: 5 }, match: false };          // amount too low
    case 2: return { type, data: { i, kind: 'keep-vip', amount: 1, vip: true }, match: true }; // $or's vip
    default: return { type, data: { i, kind: 'drop', amount: 50 }, match: false };        // kind
  }
}

let keySeq = 0;
// Publishes events (each with its own idempotency_key); returns the events
// with their ids. A repeated call with the same keys and bodies answers the
// same ids and stores nothing.
async function publish(events, headers = {}) {
  const res = await fetch(`${herald.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: 'Bearer development', 'content-type': 'application/json', ...headers },
    body: JSON.stringify(events.map(({ type, data, key }) => (key ? { type, data, idempotency_key: key } : { type, data }))),
  });
  const body = await res.json();
  assert.ok(res.status === 201, `${res.status} ${JSON.stringify(body)}`);
  return { replayed: res.headers.get('idempotent-replayed') === 'true', out: events.map((e, n) => ({ ...e, id: BigInt(body.ids[n]) })) };
}
function batchOf(type, from, n) {
  return Array.from({ length: n }, (_, k) => ({ ...ev(type, from + k), key: `ctl-${++keySeq}` }));
}

// Every matching event published, and the ids seen in requests answered 2xx.
const expected = new Set();
const remember = (out) => out.filter((e) => e.match).forEach((e) => expected.add(e.id));
const deliveredIds = () => rx.requests.filter(ok2xx).flatMap(idsOf);
const allArrived = (want) => () => { const got = new Set(deliveredIds()); return [...want].every((id) => got.has(id)); };

function assertInOrder(reqs, what) {
  const seq = reqs.flatMap(idsOf);
  for (let k = 1; k < seq.length; k++)
    assert.ok(seq[k - 1] < seq[k], `${what}: ${seq[k - 1]} then ${seq[k]} (${reqs.map((q) => idsOf(q).join(',')).join(' | ')})`);
}

async function history(type) {
  const r = await hapi(herald.url, 'GET', `/v1/events?type=${type}&limit=1000`);
  assert.equal(r.status, 200);
  return r.body.events.filter((e) => e.data.endpoint_id === ep.id);
}

async function deliveries() {
  const r = await hapi(herald.url, 'GET', `/v1/webhooks/${ep.id}/deliveries?limit=1000`);
  assert.equal(r.status, 200);
  return r.body.deliveries;
}

// Requests of this herald process: the rate limit's bucket is its memory.
let processStart = 0;
function assertRateLimit(what) {
  const reqs = rx.requests.slice(processStart);
  const n = reqs.length;
  if (n <= BURST + 1) return;
  const span = reqs[n - 1].at - reqs[0].at;
  // n requests within span ms: n <= BURST + RATE * span (GCRA); one
  // interval of slack for the first request's own transit time.
  const floor = ((n - BURST - 1) / RATE) * 1000;
  assert.ok(span >= floor, `${what}: ${n} requests in ${span} ms, the limit (${RATE}/s, burst ${BURST}) needs >= ${floor} ms`);
}

test('A: filter, batches, gzip, idempotency, rate limit on a healthy receiver', async () => {
  const first = batchOf('ctl.a', 0, 24);
  const p1 = await publish(first);
  assert.equal(p1.replayed, false);
  remember(p1.out);
  // The same request again (same keys, same events): the same ids, nothing stored.
  const again = await publish(first);
  assert.equal(again.replayed, true, 'Idempotent-Replayed: true');
  assert.deepEqual(again.out.map((e) => e.id), p1.out.map((e) => e.id));
  // A whole request under one Idempotency-Key header, sent twice.
  const second = batchOf('ctl.a', 24, 8).map(({ key, ...e }) => e);
  const p2 = await publish(second, { 'idempotency-key': 'ctl-header-1' });
  const p2again = await publish(second, { 'idempotency-key': 'ctl-header-1' });
  assert.equal(p2again.replayed, true);
  assert.deepEqual(p2again.out.map((e) => e.id), p2.out.map((e) => e.id));
  remember(p2.out);
  assert.equal(expected.size, 16);

  await waitUntil(allArrived(expected), WAIT_MS, `the 16 matching events (got ${deliveredIds().length})`);
  await settled(herald.url, ep.id);
  const got = deliveredIds();
  assert.deepEqual(got.slice().sort((a, b) => (a < b ? -1 : 1)), [...expected].sort((a, b) => (a < b ? -1 : 1)),
    'exactly the matching events, each once: the filter and the repeated keys held');
  assert.ok(rx.requests.every(ok2xx), 'the receiver never failed');
  assertInOrder(rx.requests, 'in id order within and across requests');
  for (const q of rx.requests) for (const e of eventsOf(q)) assert.ok(e.data.kind.startsWith('keep'));
  assert.ok(rx.requests.length >= 16 / MAX_EVENTS, 'batches of at most 3');
  assertRateLimit('phase A');
  // Nothing stored twice: the history has 32 ctl.a events, not 64.
  const h = await hapi(herald.url, 'GET', '/v1/events?type=ctl.a&limit=1000');
  assert.equal(h.body.events.length, 32, 'a repeated idempotency key stores nothing');
});

test('B: 429 with and without Retry-After: the batch comes back whole, no retry spent, breaker closed', async () => {
  const before = rx.requests.length;
  mode = '429ra';
  // 3 matching events (a full batch) and 3 the filter refuses, of a type
  // whose schedule is []: one counted failure would fail them for good.
  const evs = batchOf('ctl.thr', 0, 6);
  const { out } = await publish(evs);
  remember(out);
  const want = out.filter((e) => e.match).map((e) => e.id);
  assert.equal(want.length, MAX_EVENTS);
  await rx.waitFor((q) => q.length >= before + 3 && q.slice(before).some(ok2xx), WAIT_MS, 'two 429s then a 200');
  await settled(herald.url, ep.id);
  const reqs = rx.requests.slice(before);
  assert.deepEqual(reqs.map((q) => q.mode), ['429ra', '429', 'ok']);
  for (const q of reqs) {
    assert.deepEqual(idsOf(q), want, 'the same batch, whole, in order');
    assert.equal(q.headers['webhook-id'], reqs[0].headers['webhook-id'], 'the same webhook-id');
  }
  assert.ok(reqs[1].at - reqs[0].at >= 950, `Retry-After: 1 held (${reqs[1].at - reqs[0].at} ms; a little slack for the timer's cached loop time)`);
  const log = (await deliveries()).filter((d) => want.includes(BigInt(d.event_id)));
  assert.equal(log.filter((d) => d.status_code === 429).length, 2 * MAX_EVENTS, 'the log shows the 429s');
  assert.equal(log.filter((d) => d.state === 'delivered').length, MAX_EVENTS, JSON.stringify(log));
  assert.equal(log.filter((d) => d.state === 'failed').length, 0, 'no retry spent (the schedule was [])');
  const view = (await hapi(herald.url, 'GET', `/v1/webhooks/${ep.id}`)).body;
  assert.equal(view.breaker.state, 'closed');
  assert.equal(view.breaker.consecutive_failures, 0);
  assert.deepEqual(await history('herald.endpoint_paused'), [], 'a 429 never opens the breaker');
  assertRateLimit('phases A-B');
});

test('C: 500 until the breaker opens, a failing probe, then recovery: nothing lost, in order', async () => {
  const before = rx.requests.length;
  mode = '500';
  const p = await publish(batchOf('ctl.a', 100, 12)); // 6 matching: two batches
  remember(p.out);
  await waitUntil(async () => (await history('herald.endpoint_paused')).length >= 1, WAIT_MS, 'herald.endpoint_paused');
  const [paused] = await history('herald.endpoint_paused');
  assert.equal(paused.data.failures, 2, 'opened at breaker_threshold');
  // While paused: more events wait, and a probe fails (the breaker reopens).
  const q = await publish(batchOf('ctl.a', 200, 8));
  remember(q.out);
  const atPause = rx.requests.length;
  await rx.waitFor((r) => r.length > atPause, WAIT_MS, 'a probe while paused');
  const view = (await hapi(herald.url, 'GET', `/v1/webhooks/${ep.id}`)).body;
  assert.notEqual(view.breaker.state, 'closed', JSON.stringify(view.breaker));
  mode = 'ok';
  await waitUntil(async () => (await history('herald.endpoint_resumed')).length >= 1, WAIT_MS, 'herald.endpoint_resumed');
  await waitUntil(allArrived(expected), WAIT_MS, 'every matching event after the recovery');
  await settled(herald.url, ep.id);
  const oks = rx.requests.slice(before).filter(ok2xx);
  assertInOrder(oks, 'the breaker restores order: the successes in id order');
  const log = await deliveries();
  assert.equal(log.filter((d) => d.state === 'failed').length, 0, 'no delivery failed for good');
  const ids = new Set(deliveredIds());
  for (const id of expected) assert.ok(ids.has(id), `event ${id} delivered`);
  for (const id of ids) assert.ok(expected.has(id), `event ${id} was not filtered out`);
  assertRateLimit('phases A-C');
});

async function pendingThenStop(kill) {
  mode = 'hang';
  const before = rx.requests.length;
  const p = await publish(batchOf('ctl.a', 300 + rx.requests.length * 10, 16)); // 8 matching
  remember(p.out);
  const want = new Set(p.out.filter((e) => e.match).map((e) => e.id));
  await rx.waitFor((r) => r.length > before, WAIT_MS, 'a request hanging');
  const view = (await hapi(herald.url, 'GET', `/v1/webhooks/${ep.id}`)).body;
  assert.ok(view.pending >= want.size, `pending deliveries before the stop: ${view.pending}`);
  if (kill) {
    const exited = new Promise((r) => herald.proc.on('exit', r));
    herald.proc.kill('SIGKILL');
    await within(exited, WAIT_MS, 'herald to die');
  } else {
    await within(herald.stop(), WAIT_MS, 'herald to stop on SIGTERM');
  }
  rx.release({ status: 500 }); // too late: herald is gone, nothing recorded
  mode = 'ok';
  processStart = rx.requests.length;
  herald = await startHerald(ARGS, { dataDir });
  await waitUntil(allArrived(want), WAIT_MS, 'every pending matching event after the restart');
  await settled(herald.url, ep.id);
  const after = rx.requests.slice(processStart);
  assertInOrder(after, 'after the restart, in id order');
  for (const id of deliveredIds()) assert.ok(expected.has(id), `event ${id} was not filtered out`);
  const g = (await hapi(herald.url, 'GET', `/v1/webhooks/${ep.id}`)).body;
  for (const [k, v] of Object.entries(SETTINGS))
    assert.deepEqual(g[k], v, `${k} kept across the restart`);
  assertRateLimit('after the restart');
}

test('D: SIGTERM with deliveries pending: they all arrive after the restart, settings intact', async () => {
  await pendingThenStop(false);
});

test('D: kill -9 with deliveries pending: they all arrive after the restart', async () => {
  await pendingThenStop(true);
  // In all: every matching event delivered, nothing else; and once each
  // among the requests answered 2xx (an answered request is recorded, so
  // herald never sends its events again).
  assert.deepEqual(new Set(deliveredIds()), expected);
  assert.equal(deliveredIds().length, expected.size, 'no event in two requests answered 2xx');
});

// What breaks order and how the breaker restores it (docs/webhooks.md,
// "Controls together"): the first request of a batched endpoint is held by
// the receiver until the next batch is ready, then answered 500. Without a
// breaker the next batch goes while the failed one waits for its retry, so
// the receiver takes the newer events first; with breaker_threshold 1 the
// failed batch is the probe and everything after it waits.
async function failFirstThenOk(threshold) {
  let release;
  const held = new Promise((r) => { release = r; });
  let n = 0;
  const r2 = await startReceiver({ respond: async (rec) => { if (n++ === 0) { await held; rec.mode = '500'; return { status: 500 }; } rec.mode = 'ok'; return { status: 200 }; } });
  try {
    const type = `ord${threshold}.x`;
    const c = await hapi(herald.url, 'POST', '/v1/webhooks', {
      url: r2.url, event_types: [type], batch: { max_events: 3, max_wait_ms: 0 },
      retry_schedule: [0.3, 0.3, 0.3], breaker_threshold: threshold,
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const pub = async () => (await publish([0, 1, 2].map((i) => ({ type, data: { i } })))).out.map((e) => e.id);
    const first = await pub();
    await r2.waitCount(1);
    const second = await pub();
    await waitUntil(async () => (await hapi(herald.url, 'GET', `/v1/webhooks/${c.body.id}`)).body.pending === 6,
      WAIT_MS, 'the second batch queued');
    release();
    await r2.waitFor((q) => q.filter((x) => x.mode === 'ok').length >= 2, WAIT_MS, 'both batches taken');
    await settled(herald.url, c.body.id);
    const ids = (q) => eventsOfSecret(c.body.secret, q).map((e) => BigInt(e.id));
    await hapi(herald.url, 'DELETE', `/v1/webhooks/${c.body.id}`);
    return { first, second, oks: r2.requests.filter((q) => q.mode === 'ok').map(ids) };
  } finally {
    await r2.close();
  }
}
function eventsOfSecret(secret, rec) {
  return new Webhook(secret).verify(rec.body.toString('utf8'), {
    'webhook-id': rec.headers['webhook-id'],
    'webhook-timestamp': rec.headers['webhook-timestamp'],
    'webhook-signature': rec.headers['webhook-signature'],
  });
}

test('E: a failure lets newer events pass without a breaker; breaker_threshold 1 keeps order', async () => {
  const loose = await failFirstThenOk(0);
  assert.deepEqual(loose.oks, [loose.second, loose.first], 'no breaker: the newer batch is taken first');
  const strict = await failFirstThenOk(1);
  assert.deepEqual(strict.oks, [strict.first, strict.second], 'breaker_threshold 1: the failed batch first, then the rest');
});
