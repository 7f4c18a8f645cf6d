// SPDX-License-Identifier: MIT
// test_webhook_jsonbatch.mjs — batched delivery for JSON endpoints that opt
// in (issue 18 item 6): "batch": {max_events, max_wait_ms, gzip}. Every
// request is verified with the real `standardwebhooks` library (a gzip
// body after inflating it, as a receiver's framework would).
//  - the setting: defaults, shown last in the endpoint, 400s naming the
//    field, null turns it off, kept across a restart;
//  - max_events reached with a wait of a minute: one request, a JSON array
//    in id order, webhook-id msg_<first>-<last>x<n>_<endpoint>;
//  - an event waits (a minute) for a second one and both go together; a
//    lone event with a short wait goes (as an array of one) when the wait
//    is over — nothing but the engine's timer would send it;
//  - gzip: Content-Encoding: gzip, verifies once inflated;
//  - a failing receiver gets the same rows again in one request, same
//    webhook-id and order; each row keeps its own attempts;
//  - replay and manual retry on a batched endpoint.
// Waits are conditions; the "at most T" branches are forced (a minute's
// wait that only a full batch can end; a short one with a lone event).
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Webhook } from 'standardwebhooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHerald } from './herald.mjs';
import { finish } from './wsutil.mjs';
import { startReceiver, hapi, waitUntil, settled, WAIT_MS } from './webhook_receiver.mjs';

const ARGS = ['--webhook-retry-schedule', '0.2,0.2', '--webhook-timeout', '5'];
const dataDir = mkdtempSync(join(tmpdir(), 'herald-jsonbatch-'));
let herald = await startHerald(ARGS, { dataDir });
after(async () => {
  await finish(herald);
  rmSync(dataDir, { recursive: true, force: true });
});

let cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  cleanup = [];
});

let seq = 0;
const typeFor = (name) => `jb${++seq}.${name}`;

async function receiver(opts) {
  const rx = await startReceiver(opts);
  cleanup.push(() => rx.close());
  return rx;
}

async function endpoint(body) {
  const r = await hapi(herald.url, 'POST', '/v1/webhooks', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  cleanup.push(() => hapi(herald.url, 'DELETE', `/v1/webhooks/${r.body.id}`));
  return r.body;
}

async function publish(type, n) {
  const r = await herald.publish(Array.from({ length: n }, (_, i) => ({ type, data: { i } })));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.ids.map(String);
}

// The events of a batch request, verified with standardwebhooks over the
// JSON as a receiver's framework hands it over (inflated when gzip).
function batchOf(secret, rec) {
  const gz = rec.headers['content-encoding'] === 'gzip';
  const text = (gz ? gunzipSync(rec.body) : rec.body).toString('utf8');
  const headers = {
    'webhook-id': rec.headers['webhook-id'],
    'webhook-timestamp': rec.headers['webhook-timestamp'],
    'webhook-signature': rec.headers['webhook-signature'],
  };
  const events = new Webhook(secret).verify(text, headers);
  assert.ok(Array.isArray(events), `a batch is a JSON array: ${text}`);
  assert.match(rec.headers['content-type'], /^application\/json/);
  return events;
}

const ids = (events) => events.map((e) => String(e.id));

test('the setting: defaults, shown last, 400s naming the field, null turns it off', async () => {
  const ep = await endpoint({ url: 'http://127.0.0.1:9/x', batch: {} });
  assert.deepEqual(ep.batch, { max_events: 100, max_wait_ms: 1000, gzip: false });
  const keys = Object.keys(ep);
  assert.equal(keys.indexOf('batch'), keys.indexOf('breaker_threshold') + 1,
    `batch follows the other settings (then come the live counts): ${keys}`);
  const plain = await endpoint({ url: 'http://127.0.0.1:9/y' });
  assert.equal(plain.batch, null);

  const bad = [
    [{ max_events: 0 }, 'batch.max_events'], [{ max_events: 1001 }, 'batch.max_events'],
    [{ max_events: 'x' }, 'batch.max_events'], [{ max_wait_ms: -1 }, 'batch.max_wait_ms'],
    [{ max_wait_ms: 60001 }, 'batch.max_wait_ms'], [{ gzip: 'yes' }, 'batch.gzip'],
    [{ size: 3 }, 'unknown field "size"'], [5, 'batch must be null or an object'],
  ];
  for (const [b, want] of bad) {
    const r = await hapi(herald.url, 'POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/z', batch: b });
    assert.equal(r.status, 400, JSON.stringify(b));
    assert.ok(String(r.body.errors).includes(want), `${JSON.stringify(b)}: ${JSON.stringify(r.body)}`);
  }
  const pb = await hapi(herald.url, 'POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/z', format: 'protobuf', batch: {} });
  assert.equal(pb.status, 400);
  assert.match(pb.body.errors, /batch needs an endpoint of format "json"/);
  const toPb = await hapi(herald.url, 'PATCH', `/v1/webhooks/${ep.id}`, { format: 'protobuf' });
  assert.equal(toPb.status, 400, 'a batched endpoint cannot turn protobuf');

  const set = await hapi(herald.url, 'PATCH', `/v1/webhooks/${plain.id}`, { batch: { max_events: 7, max_wait_ms: 0, gzip: true } });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.deepEqual(set.body.batch, { max_events: 7, max_wait_ms: 0, gzip: true });
  const off = await hapi(herald.url, 'PATCH', `/v1/webhooks/${plain.id}`, { batch: null });
  assert.equal(off.status, 200);
  assert.equal(off.body.batch, null);
  const other = await hapi(herald.url, 'PATCH', `/v1/webhooks/${ep.id}`, { description: 'kept' });
  assert.deepEqual(other.body.batch, { max_events: 100, max_wait_ms: 1000, gzip: false }, 'a PATCH without batch keeps it');
});

test('max_events reached: one request, a JSON array in id order, verified; webhook-id names the batch', async () => {
  const rx = await receiver();
  const type = typeFor('full');
  const ep = await endpoint({ url: rx.url, event_types: [type], batch: { max_events: 5, max_wait_ms: 60000 } });
  const sent = await publish(type, 5);
  const [rec] = await rx.waitCount(1);
  const events = batchOf(ep.secret, rec);
  assert.deepEqual(ids(events), sent);
  assert.deepEqual(events.map((e) => e.data.i), [0, 1, 2, 3, 4]);
  assert.equal(events[0].type, type);
  assert.equal(rec.headers['webhook-id'], `msg_${sent[0]}-${sent[4]}x5_${ep.id}`);
  assert.equal(rec.headers['content-encoding'], undefined);
  await settled(herald.url, ep.id);
  assert.equal(rx.requests.length, 1, 'five events, one request');

  // Two batches' worth: 5 + 5, each in order, the second after the first.
  const more = await publish(type, 10);
  await rx.waitCount(3);
  await settled(herald.url, ep.id);
  assert.deepEqual(rx.requests.slice(1).map((q) => ids(batchOf(ep.secret, q))), [more.slice(0, 5), more.slice(5)]);
});

test('an event waits for more (up to max_wait_ms), and a lone one goes when the wait is over', async () => {
  // A minute's wait and room for two: the first event waits for the
  // second and both go in one request (sent at once, the first would come
  // alone).
  const rx = await receiver();
  const type = typeFor('wait');
  const ep = await endpoint({ url: rx.url, event_types: [type], batch: { max_events: 2, max_wait_ms: 60000 } });
  const [a] = await publish(type, 1);
  const [b] = await publish(type, 1);
  const [first] = await rx.waitCount(1);
  assert.deepEqual(ids(batchOf(ep.secret, first)), [a, b], 'the first event waited for the second');

  // A short wait and room for a hundred: only the end of the wait (the
  // engine's timer) can send a lone event.
  const rx2 = await receiver();
  const type2 = typeFor('lone');
  const ep2 = await endpoint({ url: rx2.url, event_types: [type2], batch: { max_events: 100, max_wait_ms: 150 } });
  const [id] = await publish(type2, 1);
  const [rec] = await rx2.waitCount(1);
  assert.deepEqual(ids(batchOf(ep2.secret, rec)), [id]);
  assert.equal(rec.headers['webhook-id'], `msg_${id}_${ep2.id}`);
  await settled(herald.url, ep.id);
  assert.equal(rx.requests.length, 1);
});

test('gzip: Content-Encoding gzip, verifies once inflated', async () => {
  const rx = await receiver();
  const type = typeFor('gz');
  const ep = await endpoint({ url: rx.url, event_types: [type], batch: { max_events: 3, max_wait_ms: 60000, gzip: true } });
  const sent = await publish(type, 3);
  const [rec] = await rx.waitCount(1);
  assert.equal(rec.headers['content-encoding'], 'gzip');
  assert.equal(rec.body[0], 0x1f, 'a gzip stream on the wire');
  assert.equal(rec.body[1], 0x8b);
  assert.throws(() => new Webhook(ep.secret).verify(rec.body.toString('latin1'), rec.headers), 'the compressed bytes are not what is signed');
  assert.deepEqual(ids(batchOf(ep.secret, rec)), sent);
});

test('a failing receiver gets the same rows again in one request; nothing lost or reordered', async () => {
  let fail = 1;
  const rx = await receiver({ respond: () => (fail-- > 0 ? { status: 503 } : { status: 200 }) });
  const type = typeFor('retry');
  const ep = await endpoint({ url: rx.url, event_types: [type], batch: { max_events: 4, max_wait_ms: 60000 } });
  const sent = await publish(type, 4);
  await rx.waitCount(2);
  await settled(herald.url, ep.id);
  assert.equal(rx.requests.length, 2);
  const [a, b] = rx.requests;
  assert.deepEqual(ids(batchOf(ep.secret, a)), sent);
  assert.deepEqual(ids(batchOf(ep.secret, b)), sent, 'the retry carries the same rows, in order');
  assert.equal(b.headers['webhook-id'], a.headers['webhook-id'], 'same webhook-id on the retry');
  const r = await hapi(herald.url, 'GET', `/v1/webhooks/${ep.id}/deliveries?limit=100`);
  for (const id of sent) {
    const rows = r.body.deliveries.filter((d) => String(d.event_id) === id);
    assert.equal(rows.length, 2, `event ${id}: its own two attempts`);
    assert.ok(rows.some((d) => d.state === 'delivered' && d.status_code === 200), JSON.stringify(rows));
    assert.ok(rows.some((d) => d.status_code === 503), JSON.stringify(rows));
  }
});

test('replay and manual retry on a batched endpoint', async () => {
  let ok = false;
  const rx = await receiver({ respond: () => ({ status: ok ? 200 : 500 }) });
  const type = typeFor('replay');
  const ep = await endpoint({ url: rx.url, event_types: [type], batch: { max_events: 3, max_wait_ms: 60000 } });
  const sent = await publish(type, 3);
  // 1 + 2 attempts (the schedule 0.2,0.2), then failed for good
  await rx.waitCount(3);
  await settled(herald.url, ep.id);
  assert.ok(rx.requests.every((q) => ids(batchOf(ep.secret, q)).join() === sent.join()), 'every attempt one batch');
  ok = true;
  const list = (await hapi(herald.url, 'GET', `/v1/webhooks/${ep.id}/deliveries?limit=100`)).body.deliveries;
  const row = list.find((d) => String(d.event_id) === sent[1] && d.state === 'failed');
  assert.ok(row, JSON.stringify(list));
  const r = await hapi(herald.url, 'POST', `/v1/webhooks/${ep.id}/deliveries/${row.delivery_id}/retry`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const got = await rx.waitCount(4);
  assert.deepEqual(ids(batchOf(ep.secret, got[3])), [sent[1]], 'the retried row alone, still an array');
  await settled(herald.url, ep.id);

  const rp = await hapi(herald.url, 'POST', `/v1/webhooks/${ep.id}/replay`, { since_id: Number(sent[0]) - 1 });
  assert.equal(rp.status, 202, JSON.stringify(rp.body));
  assert.deepEqual(rp.body, { replayed: 3 });
  const again = await rx.waitCount(5);
  assert.deepEqual(ids(batchOf(ep.secret, again[4])), sent, 'the replay is one batch in id order');
  await settled(herald.url, ep.id);
  assert.equal(rx.requests.length, 5);
});

test('the setting survives a restart and still batches', async () => {
  const rx = await receiver();
  const type = typeFor('restart');
  const c = await hapi(herald.url, 'POST', '/v1/webhooks', { url: rx.url, event_types: [type], batch: { max_events: 2, max_wait_ms: 60000, gzip: true } });
  assert.equal(c.status, 201);
  await herald.stop();
  herald = await startHerald(ARGS, { dataDir });
  const g = await hapi(herald.url, 'GET', `/v1/webhooks/${c.body.id}`);
  assert.deepEqual(g.body.batch, { max_events: 2, max_wait_ms: 60000, gzip: true });
  const sent = await publish(type, 2);
  const [rec] = await rx.waitCount(1);
  assert.equal(rec.headers['content-encoding'], 'gzip');
  assert.deepEqual(ids(batchOf(c.body.secret, rec)), sent);
  await hapi(herald.url, 'DELETE', `/v1/webhooks/${c.body.id}`);
});
