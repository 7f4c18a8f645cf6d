// SPDX-License-Identifier: MIT
// test_webhooks_api.mjs — the /v1/webhooks endpoints API: create, list,
// get, patch, delete, disable, enable; the secret shown only on creation
// and rotation; a rotated endpoint signing with both secrets (checked with
// the real `standardwebhooks` library); every 400, the 404s and the 401s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { startHerald } from './herald.mjs';
import { finish } from './wsutil.mjs';
import { startReceiver, hapi, verifies, signatures, within, waitUntil, settled, WAIT_MS } from './webhook_receiver.mjs';

const herald = await startHerald(['--webhook-retry-schedule', '0.2,0.4,0.8', '--webhook-timeout', '2']);
const receivers = [];
after(async () => {
  for (const r of receivers) await r.close();
  await finish(herald);
});
const api = (method, path, body, token) => hapi(herald.url, method, path, body, token);
const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const VIEW_KEYS = ['created_at', 'description', 'disabled_at', 'disabled_reason', 'enabled', 'event_types', 'format', 'id',
  'room_ids', 'room_webhook', 'url',
  'filter', // issue 18 item 5: the payload filter, null when none
  // issue 18 items 4 and 3: the endpoint's own retry schedules, breaker threshold and breaker state
  'retry_schedule', 'retry_schedules', 'breaker_threshold', 'breaker',
  'batch', // issue 18 item 6: batched delivery, null when off
  // issue 18 item 2: the endpoint's rate limit and its receiver's pause (null when none)
  'rate_limit', 'throttled_until'];
const secretOf = (n) => 'whsec_' + randomBytes(n).toString('base64');

function assertSecret(s) {
  assert.match(s, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
  const n = Buffer.from(s.slice(6), 'base64').length;
  assert.ok(n >= 24 && n <= 64, `secret of ${n} bytes`);
  assert.doesNotThrow(() => new Webhook(s), 'the standardwebhooks library accepts the secret');
}

async function create(body, want = 201) {
  const r = await api('POST', '/v1/webhooks', body);
  assert.equal(r.status, want, JSON.stringify(r.body));
  return r.body;
}

test('create with only a url: defaults, and the secret in this answer only', async () => {
  const ep = await create({ url: 'http://127.0.0.1:9/hook' });
  assert.deepEqual(Object.keys(ep).sort(), [...VIEW_KEYS, 'secret'].sort());
  assert.match(ep.id, /^ep_[A-Za-z0-9_-]+$/);
  assert.equal(ep.url, 'http://127.0.0.1:9/hook');
  assert.equal(ep.format, 'json');
  assert.deepEqual(ep.event_types, []);
  assert.deepEqual(ep.room_ids, []);
  assert.equal(ep.description, null);
  assert.equal(ep.enabled, true);
  assert.equal(ep.disabled_reason, null);
  assert.equal(ep.disabled_at, null);
  assert.equal(ep.room_webhook, false);
  assert.equal(ep.filter, null);
  assert.equal(ep.retry_schedule, null);
  assert.equal(ep.retry_schedules, null);
  assert.equal(ep.breaker_threshold, null);
  assert.deepEqual(ep.breaker, { state: 'closed', consecutive_failures: 0, next_probe_at: null });
  assert.equal(ep.rate_limit, null);
  assert.equal(ep.throttled_until, null);
  assert.match(ep.created_at, ISO_Z);
  assert.ok(Math.abs(Date.parse(ep.created_at) - Date.now()) < 10000);
  assertSecret(ep.secret);

  const one = await api('GET', `/v1/webhooks/${ep.id}`);
  assert.equal(one.status, 200);
  assert.deepEqual(Object.keys(one.body).sort(), [...VIEW_KEYS, 'pending'].sort());
  assert.equal(one.body.pending, 0);
  const { secret, ...view } = ep;
  const { pending, ...got } = one.body;
  assert.deepEqual(got, view);
  assert.ok(!JSON.stringify(one.body).includes(secret), 'GET never shows the secret');

  const two = await create({ url: 'https://example.com/x' });
  assert.notEqual(two.id, ep.id);
  assert.notEqual(two.secret, ep.secret, 'every endpoint gets its own secret');

  const list = await api('GET', '/v1/webhooks');
  assert.equal(list.status, 200);
  assert.deepEqual(Object.keys(list.body), ['webhooks']);
  const mine = list.body.webhooks.filter((w) => w.id === ep.id || w.id === two.id);
  assert.equal(mine.length, 2);
  for (const w of list.body.webhooks) {
    assert.equal(w.secret, undefined, 'the list never shows secrets');
    assert.ok(!JSON.stringify(w).includes('whsec_'));
  }
  assert.deepEqual(mine.find((w) => w.id === ep.id), view);

  for (const id of [ep.id, two.id]) assert.equal((await api('DELETE', `/v1/webhooks/${id}`)).status, 204);
});

test('create with every field; patch each one; the answers carry no secret', async () => {
  const secret = secretOf(32);
  const ep = await create({
    url: 'http://127.0.0.1:9/a', event_types: ['peer.*', 'room.created'], room_ids: ['r1', 'r2'],
    format: 'protobuf', secret, description: 'the SFU hook',
  });
  assert.equal(ep.secret, secret, 'a given secret is kept');
  assert.equal(ep.format, 'protobuf');
  assert.deepEqual(ep.event_types, ['peer.*', 'room.created']);
  assert.deepEqual(ep.room_ids, ['r1', 'r2']);
  assert.equal(ep.description, 'the SFU hook');

  for (const fmt of ['json', 'protobuf', 'jellyfish-json']) {
    const r = await create({ url: 'http://127.0.0.1:9/f', format: fmt });
    assert.equal(r.format, fmt);
    assert.equal((await api('DELETE', `/v1/webhooks/${r.id}`)).status, 204);
  }
  for (const n of [24, 64]) {
    const s = secretOf(n);
    const r = await create({ url: 'http://127.0.0.1:9/s', secret: s });
    assert.equal(r.secret, s, `a ${n}-byte secret is accepted`);
    assert.equal((await api('DELETE', `/v1/webhooks/${r.id}`)).status, 204);
  }

  const patches = [
    [{ url: 'https://hooks.example.org/b?x=1' }, { url: 'https://hooks.example.org/b?x=1' }],
    [{ event_types: ['room.*'] }, { event_types: ['room.*'] }],
    [{ event_types: [] }, { event_types: [] }],
    [{ room_ids: ['r9'] }, { room_ids: ['r9'] }],
    [{ format: 'jellyfish-json' }, { format: 'jellyfish-json' }],
    [{ description: 'renamed' }, { description: 'renamed' }],
    [{ url: 'http://127.0.0.1:9/c', format: 'json', room_ids: [] }, { url: 'http://127.0.0.1:9/c', format: 'json', room_ids: [] }],
  ];
  let expect = { ...ep };
  delete expect.secret;
  for (const [body, changed] of patches) {
    const r = await api('PATCH', `/v1/webhooks/${ep.id}`, body);
    assert.equal(r.status, 200, `PATCH ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    expect = { ...expect, ...changed };
    assert.equal(r.body.secret, undefined, 'a PATCH without rotation does not show the secret');
    assert.deepEqual(r.body, expect, `PATCH ${JSON.stringify(body)}`);
    const g = await api('GET', `/v1/webhooks/${ep.id}`);
    const { pending, ...view } = g.body;
    assert.deepEqual(view, expect, `GET after PATCH ${JSON.stringify(body)}`);
  }
  assert.equal((await api('DELETE', `/v1/webhooks/${ep.id}`)).status, 204);
});

test('disable and enable', async () => {
  const ep = await create({ url: 'http://127.0.0.1:9/d' });
  const d = await api('POST', `/v1/webhooks/${ep.id}/disable`);
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.equal(d.body.id, ep.id);
  assert.equal(d.body.enabled, false);
  assert.equal(d.body.disabled_reason, 'disabled through the API');
  assert.match(d.body.disabled_at, ISO_Z);
  assert.equal(d.body.secret, undefined);
  assert.equal((await api('GET', `/v1/webhooks/${ep.id}`)).body.enabled, false);
  const listed = (await api('GET', '/v1/webhooks')).body.webhooks.find((w) => w.id === ep.id);
  assert.equal(listed.enabled, false);
  assert.equal(listed.disabled_at, d.body.disabled_at, 'the list says since when too');
  // Disabling twice is harmless.
  assert.equal((await api('POST', `/v1/webhooks/${ep.id}/disable`)).status, 200);

  const e = await api('POST', `/v1/webhooks/${ep.id}/enable`);
  assert.equal(e.status, 200, JSON.stringify(e.body));
  assert.equal(e.body.enabled, true);
  assert.equal(e.body.disabled_reason, null);
  assert.equal(e.body.secret, undefined);
  const g = await api('GET', `/v1/webhooks/${ep.id}`);
  assert.equal(g.body.enabled, true);
  assert.equal(g.body.disabled_reason, null);
  assert.equal(g.body.disabled_at, null);
  assert.equal((await api('DELETE', `/v1/webhooks/${ep.id}`)).status, 204);
});

test('rotate_secret: a new secret, shown once; requests signed with both', async () => {
  const rx = await startReceiver();
  receivers.push(rx);
  const room = 'api-rot';
  const ep = await create({ url: rx.url, room_ids: [room] });
  const old = ep.secret;

  const [id0] = (await herald.publish({ type: 'rot.before', room_id: room, data: {} })).body.ids;
  const before = await rx.waitFor((q) => q.find((x) => x.json?.id === id0), WAIT_MS, 'the event before rotation');
  assert.equal(signatures(before).length, 1, 'one signature before rotation');
  assert.ok(verifies(old, before));

  const r = await api('PATCH', `/v1/webhooks/${ep.id}`, { rotate_secret: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assertSecret(r.body.secret);
  assert.notEqual(r.body.secret, old);
  const fresh = r.body.secret;
  assert.ok(!JSON.stringify((await api('GET', `/v1/webhooks/${ep.id}`)).body).includes('whsec_'));

  const [id1] = (await herald.publish({ type: 'rot.after', room_id: room, data: { n: 1 } })).body.ids;
  const after1 = await rx.waitFor((q) => q.find((x) => x.json?.id === id1), WAIT_MS, 'the event after rotation');
  const sigs = signatures(after1);
  assert.equal(sigs.length, 2, `two signatures after rotation: ${after1.headers['webhook-signature']}`);
  assert.ok(sigs.every((s) => s.version === 'v1'));
  // Each secret verifies on its own (the library accepts any matching signature) …
  new Webhook(fresh).verify(after1.body.toString(), after1.headers);
  new Webhook(old).verify(after1.body.toString(), after1.headers);
  // … one signature per secret, and nothing else verifies.
  const one = (secret) => new Webhook(secret).sign(after1.headers['webhook-id'],
    new Date(Number(after1.headers['webhook-timestamp']) * 1000), after1.body.toString()).slice(3);
  assert.deepEqual(sigs.map((s) => s.sig).sort(), [one(fresh), one(old)].sort());
  assert.equal(verifies(secretOf(32), after1), false);

  // A second rotation: the newest secret and the one before it.
  const r2 = await api('PATCH', `/v1/webhooks/${ep.id}`, { rotate_secret: true });
  assert.equal(r2.status, 200);
  assert.notEqual(r2.body.secret, fresh);
  const [id2] = (await herald.publish({ type: 'rot.again', room_id: room, data: {} })).body.ids;
  const after2 = await rx.waitFor((q) => q.find((x) => x.json?.id === id2), WAIT_MS, 'the event after the 2nd rotation');
  assert.ok(verifies(r2.body.secret, after2));
  assert.ok(verifies(fresh, after2));
  assert.equal((await api('DELETE', `/v1/webhooks/${ep.id}`)).status, 204);
});

test('every invalid body is a 400 with {"errors": message}', async () => {
  const cases = [
    [{}, null],
    [{ url: 'ftp://example.com/x' }, 'url must be an http:// or https:// URL'],
    [{ url: 'not a url' }, 'url must be an http:// or https:// URL'],
    [{ url: 'http://' }, 'url must be an http:// or https:// URL'],
    [{ url: '/relative' }, 'url must be an http:// or https:// URL'],
    [{ url: 42 }, 'url must be an http:// or https:// URL'],
    [{ url: null }, null],
    [{ url: 'http://127.0.0.1:9/', format: 'xml' }, /^format must be /],
    [{ url: 'http://127.0.0.1:9/', format: 1 }, /^format must be /],
    [{ url: 'http://127.0.0.1:9/', event_types: ['peer connected'] }, 'event_types[0] is not valid'],
    [{ url: 'http://127.0.0.1:9/', event_types: [42] }, 'event_types[0] is not valid'],
    [{ url: 'http://127.0.0.1:9/', event_types: ['room.*', ''] }, 'event_types[1] is not valid'],
    [{ url: 'http://127.0.0.1:9/', event_types: 'peer.*' }, null],
    [{ url: 'http://127.0.0.1:9/', room_ids: 'r1' }, null],
    [{ url: 'http://127.0.0.1:9/', room_ids: [7] }, null],
    [{ url: 'http://127.0.0.1:9/', x: 1 }, 'unknown field "x"'],
    [{ url: 'http://127.0.0.1:9/', rotate_secret: true }, null],
    [{ url: 'http://127.0.0.1:9/', secret: 'abc' }, /^secret must be /],
    [{ url: 'http://127.0.0.1:9/', secret: 'whsec_' }, /^secret must be /],
    [{ url: 'http://127.0.0.1:9/', secret: secretOf(8) }, /^secret must be /],
    [{ url: 'http://127.0.0.1:9/', secret: secretOf(100) }, /^secret must be /],
    [{ url: 'http://127.0.0.1:9/', secret: 'whsec_!!!!notbase64!!!!!!!!!!!!!!!!!!!!' }, /^secret must be /],
    [{ url: 'http://127.0.0.1:9/', secret: 12 }, /^secret must be /],
    [{ url: 'http://127.0.0.1:9/', description: 5 }, null],
    ['{"url": ', null],
    ['[{"url":"http://127.0.0.1:9/"}]', null],
    ['"http://127.0.0.1:9/"', null],
    ['', null],
  ];
  const before = (await api('GET', '/v1/webhooks')).body.webhooks.length;
  for (const [body, msg] of cases) {
    const r = await api('POST', '/v1/webhooks', body);
    const what = `POST ${typeof body === 'string' ? body : JSON.stringify(body)}`;
    assert.equal(r.status, 400, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(typeof r.body?.errors, 'string', `${what}: {"errors": …}, got ${JSON.stringify(r.body)}`);
    if (typeof msg === 'string') assert.equal(r.body.errors, msg, what);
    else if (msg) assert.match(r.body.errors, msg, what);
  }
  assert.equal((await api('GET', '/v1/webhooks')).body.webhooks.length, before, 'no endpoint was created');

  // PATCH validates the same way and leaves the endpoint unchanged.
  const ep = await create({ url: 'http://127.0.0.1:9/p', event_types: ['a.b'] });
  const { secret, ...view } = ep;
  for (const [body, msg] of cases.slice(1)) {
    if (typeof body === 'string' || body.rotate_secret) continue;
    const r = await api('PATCH', `/v1/webhooks/${ep.id}`, body);
    const what = `PATCH ${JSON.stringify(body)}`;
    assert.equal(r.status, 400, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
    if (typeof msg === 'string') assert.equal(r.body.errors, msg, what);
    else if (msg) assert.match(r.body.errors, msg, what);
  }
  for (const body of ['{"url": ', '[]', '']) {
    const r = await api('PATCH', `/v1/webhooks/${ep.id}`, body);
    assert.equal(r.status, 400, `PATCH ${body}: ${r.status}`);
  }
  const { pending, ...now } = (await api('GET', `/v1/webhooks/${ep.id}`)).body;
  assert.deepEqual(now, view, 'rejected PATCHes changed nothing');

  // Deliveries and replay parameters.
  for (const q of ['limit=0', 'limit=abc', 'limit=100000', 'before=abc', 'before=-1']) {
    const r = await api('GET', `/v1/webhooks/${ep.id}/deliveries?${q}`);
    assert.equal(r.status, 400, `deliveries?${q}: ${r.status}`);
    assert.equal(typeof r.body.errors, 'string');
  }
  for (const body of [{}, { since_id: -1 }, { since_id: 'x' }, { since: 'yesterday' }, { since: '2026-13-45T00:00:00Z' }, '[]', 'nope']) {
    const r = await api('POST', `/v1/webhooks/${ep.id}/replay`, body);
    assert.equal(r.status, 400, `replay ${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(typeof r.body.errors, 'string');
  }
  const ok = await api('GET', `/v1/webhooks/${ep.id}/deliveries?limit=5`);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { deliveries: [] });
  assert.equal((await api('DELETE', `/v1/webhooks/${ep.id}`)).status, 204);
});

test('unknown or deleted ids are 404 "Webhook X does not exist"', async () => {
  const ep = await create({ url: 'http://127.0.0.1:9/gone' });
  assert.equal((await api('DELETE', `/v1/webhooks/${ep.id}`)).status, 204);
  assert.ok(!(await api('GET', '/v1/webhooks')).body.webhooks.some((w) => w.id === ep.id));
  for (const id of [ep.id, 'ep_nope']) {
    const calls = [
      ['GET', `/v1/webhooks/${id}`],
      ['PATCH', `/v1/webhooks/${id}`, { description: 'x' }],
      ['DELETE', `/v1/webhooks/${id}`],
      ['POST', `/v1/webhooks/${id}/disable`],
      ['POST', `/v1/webhooks/${id}/enable`],
      ['GET', `/v1/webhooks/${id}/deliveries`],
      ['POST', `/v1/webhooks/${id}/replay`, { since_id: 0 }],
      ['POST', `/v1/webhooks/${id}/deliveries/1/retry`],
    ];
    for (const [m, p, b] of calls) {
      const r = await api(m, p, b);
      assert.equal(r.status, 404, `${m} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.deepEqual(r.body, { errors: `Webhook ${id} does not exist` }, `${m} ${p}`);
    }
  }
});

test('retrying a delivery that does not exist, or belongs to another endpoint, is a 404', async () => {
  const rx = await startReceiver();
  receivers.push(rx);
  const room = 'api-retry404';
  const a = await create({ url: rx.url, room_ids: [room] });
  const b = await create({ url: 'http://127.0.0.1:9/b', room_ids: ['api-other'] });
  const [id] = (await herald.publish({ type: 'r404.x', room_id: room, data: {} })).body.ids;
  await rx.waitFor((q) => q.some((x) => x.json?.id === id), WAIT_MS, 'the event');
  let list;
  await waitUntil(async () => (list = (await api('GET', `/v1/webhooks/${a.id}/deliveries`)).body.deliveries).length, WAIT_MS, 'the attempt');
  const did = list[0].delivery_id;
  for (const path of [`/v1/webhooks/${a.id}/deliveries/987654321/retry`, `/v1/webhooks/${b.id}/deliveries/${did}/retry`,
    `/v1/webhooks/${a.id}/deliveries/abc/retry`]) {
    const r = await api('POST', path);
    assert.equal(r.status, 404, `POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.match(r.body.errors, /does not exist/);
  }
  // Retries go through the delivery engine in order: a real retry after
  // the refused ones is the marker. Once it has arrived and nothing is
  // pending, a refused retry that had been carried out would have arrived.
  await settled(herald.url, a.id);
  const n = rx.requests.length;
  const ok = await api('POST', `/v1/webhooks/${a.id}/deliveries/${did}/retry`);
  assert.equal(ok.status, 202, JSON.stringify(ok.body));
  await rx.waitCount(n + 1, WAIT_MS, 'the real retry');
  await settled(herald.url, a.id);
  assert.equal(rx.requests.length, n + 1, `nothing was sent again but the real retry: ${rx.summary()}`);
  assert.equal(rx.requests[n].webhookId, rx.requests[0].webhookId);
  for (const ep of [a, b]) assert.equal((await api('DELETE', `/v1/webhooks/${ep.id}`)).status, 204);
});

test('without the server token: 401 on every route', async () => {
  const ep = await create({ url: 'http://127.0.0.1:9/auth' });
  const calls = [
    ['POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/x' }],
    ['GET', '/v1/webhooks'],
    ['GET', `/v1/webhooks/${ep.id}`],
    ['PATCH', `/v1/webhooks/${ep.id}`, { rotate_secret: true }],
    ['DELETE', `/v1/webhooks/${ep.id}`],
    ['POST', `/v1/webhooks/${ep.id}/disable`],
    ['POST', `/v1/webhooks/${ep.id}/enable`],
    ['GET', `/v1/webhooks/${ep.id}/deliveries`],
    ['POST', `/v1/webhooks/${ep.id}/replay`, { since_id: 0 }],
    ['POST', `/v1/webhooks/${ep.id}/deliveries/1/retry`],
  ];
  const before = (await api('GET', '/v1/webhooks')).body.webhooks.length;
  for (const token of [null, 'wrong']) {
    for (const [m, p, b] of calls) {
      const r = await api(m, p, b, token);
      assert.equal(r.status, 401, `${m} ${p} with token ${token}: ${r.status}`);
      assert.equal(typeof r.body?.errors, 'string', `${m} ${p}: {"errors": …}`);
      assert.ok(!JSON.stringify(r.body).includes('whsec_'));
    }
  }
  const g = await api('GET', `/v1/webhooks/${ep.id}`);
  assert.equal(g.status, 200, 'the endpoint is still there');
  assert.equal(g.body.enabled, true);
  assert.equal((await api('GET', '/v1/webhooks')).body.webhooks.length, before, 'nothing was created');
  assert.equal((await api('DELETE', `/v1/webhooks/${ep.id}`)).status, 204);
});

test('endpoints survive a restart (state records), secrets still signing', async () => {
  // A second herald on its own data dir, restarted on it.
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-wh-api-'));
  const rx = await startReceiver();
  receivers.push(rx);
  let h = await startHerald([], { dataDir });
  try {
    const c = await hapi(h.url, 'POST', '/v1/webhooks', { url: rx.url, event_types: ['keep.*'], description: 'kept' });
    assert.equal(c.status, 201);
    const ep = c.body;
    const rot = await hapi(h.url, 'PATCH', `/v1/webhooks/${ep.id}`, { rotate_secret: true });
    assert.equal(rot.status, 200);
    const off = await hapi(h.url, 'POST', '/v1/webhooks', { url: rx.url, event_types: ['never.*'] });
    const offView = (await hapi(h.url, 'POST', `/v1/webhooks/${off.body.id}/disable`)).body;
    assert.match(offView.disabled_at, ISO_Z);
    await finish_keep(h);
    h = await startHerald([], { dataDir });
    const { pending: _p, ...offNow } = (await hapi(h.url, 'GET', `/v1/webhooks/${off.body.id}`)).body;
    assert.deepEqual(offNow, offView, 'a disabled endpoint keeps its reason and time across a restart');
    const g = await hapi(h.url, 'GET', `/v1/webhooks/${ep.id}`);
    assert.equal(g.status, 200, JSON.stringify(g.body));
    const { secret, ...view } = ep;
    const { pending, ...now } = g.body;
    assert.deepEqual(now, view);
    const [id] = (await h.publish({ type: 'keep.it', data: {} })).body.ids;
    const rec = await rx.waitFor((q) => q.find((x) => x.json?.id === id), WAIT_MS, 'the event after restart');
    assert.ok(verifies(rot.body.secret, rec), 'the rotated secret survived');
    assert.ok(verifies(ep.secret, rec), 'the previous secret still signs after a restart');
  } finally {
    await finish_keep(h);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

// Stops a herald started with opts.dataDir, keeping its data dir; fails on
// sanitizer reports or an unclean exit.
async function finish_keep(h) {
  let r;
  try { r = await within(h.stop(), WAIT_MS, 'herald to stop'); } catch (e) {
    h.proc.kill('SIGKILL');
    throw e;
  }
  assert.equal(r, 0, `herald exited with ${r}:\n${h.log().slice(-3000)}`);
}
