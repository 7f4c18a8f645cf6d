// SPDX-License-Identifier: MIT
// test_webhooks_netguard.mjs — which addresses a webhook may reach (issue
// 13, defect 9), seen as a user sees it: the receiver gets the request or
// never sees a connection, and the endpoint's deliveries say why.
//
// The regression: http://[::]:PORT/ connects to this host (::1), so a
// receiver on ::1 got the webhook although nothing allowed "::"; now the
// unspecified address is refused. With the development default (token
// 'development' on loopback) loopback receivers still work; with a real
// token loopback is refused like any non-public network, unless
// --webhook-allow lists it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald } from './herald.mjs';
import { finish } from './wsutil.mjs';
import { startReceiver, hapi, waitUntil, WAIT_MS } from './webhook_receiver.mjs';

const heralds = [];
const receivers = [];
after(async () => {
  for (const rx of receivers) await rx.close();
  for (const h of heralds) await finish(h);
});

async function receiver(host) {
  const rx = await startReceiver({ host });
  receivers.push(rx);
  return rx;
}

async function endpoint(h, url, room, token) {
  const r = await hapi(h.url, 'POST', '/v1/webhooks', { url, room_ids: [room] }, token);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function publish(h, room, token) {
  const r = await hapi(h.url, 'POST', '/v1/events', { type: 'guard.x', room_id: room, data: {} }, token);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.ids[0];
}

// The first attempt's error of endpoint ep (waits for the attempt).
async function firstError(h, ep, token) {
  let list = [];
  await waitUntil(async () => {
    const r = await hapi(h.url, 'GET', `/v1/webhooks/${ep.id}/deliveries`, undefined, token);
    list = r.body.deliveries ?? [];
    return list.length >= 1;
  }, WAIT_MS, `an attempt to ${ep.url}`);
  assert.ok(!list[0].status_code, `no request was made: ${JSON.stringify(list[0])}`);
  return list[0].error ?? '';
}

const delivered = (rx, id) => rx.waitFor((q) => q.some((x) => x.json?.id === id), WAIT_MS, `event ${id}`);

test('development default: [::] is refused (it reaches ::1), loopback receivers are served', async () => {
  const h = await startHerald(['--webhook-retry-schedule', '60']);
  heralds.push(h);
  const rx6 = await receiver('::1');
  const rx4 = await receiver('127.0.0.1');
  const room = 'dev';
  const epAny = await endpoint(h, `http://[::]:${rx6.port}/hook`, room);
  const ep6 = await endpoint(h, `http://[::1]:${rx6.port}/hook`, room);
  const ep4 = await endpoint(h, rx4.url, room);
  const id = await publish(h, room);
  await delivered(rx4, id);
  await delivered(rx6, id);
  assert.match(await firstError(h, epAny), /^destination address not allowed: :: is unspecified \(::\/128/);
  assert.equal(rx6.requests.filter((q) => q.headers['webhook-id'] === `msg_${id}_${epAny.id}`).length, 0,
    'the receiver never got the request sent to [::]');
  assert.equal(rx6.requests.length, 1, 'only the [::1] endpoint reached the receiver on ::1');
  assert.equal(rx4.requests[0].headers['webhook-id'], `msg_${id}_${ep4.id}`);
  assert.equal(rx6.requests[0].headers['webhook-id'], `msg_${id}_${ep6.id}`);
  assert.match(h.log(), /DEVELOPMENT DEFAULT .*webhooks may reach loopback/, 'said loudly at start');
});

test('a real token: loopback is refused unless --webhook-allow lists it', async () => {
  const token = 'a-real-token-for-the-netguard-test';
  const h = await startHerald(['--token', token, '--webhook-retry-schedule', '60',
    '--webhook-allow', '127.0.0.1/32']);
  heralds.push(h);
  assert.doesNotMatch(h.log(), /DEVELOPMENT DEFAULT/);
  const allowed = await receiver('127.0.0.1');
  const other = await receiver('127.0.0.2');
  const rx6 = await receiver('::1');
  const room = 'real';
  const epOk = await endpoint(h, allowed.url, room, token);
  const epOther = await endpoint(h, other.url, room, token);
  const ep6 = await endpoint(h, `http://[::1]:${rx6.port}/hook`, room, token);
  const epAny = await endpoint(h, `http://[::]:${rx6.port}/hook`, room, token);
  const epMapped = await endpoint(h, `http://[::ffff:127.0.0.2]:${other.port}/hook`, room, token);
  const id = await publish(h, room, token);
  await delivered(allowed, id);
  assert.equal(allowed.requests[0].headers['webhook-id'], `msg_${id}_${epOk.id}`);
  assert.match(await firstError(h, epOther, token),
    /^destination address not allowed: 127\.0\.0\.2 is loopback \(127\.0\.0\.0\/8; see --webhook-allow\)/);
  assert.match(await firstError(h, ep6, token), /^destination address not allowed: ::1 is loopback/);
  assert.match(await firstError(h, epAny, token), /^destination address not allowed: :: is unspecified/);
  assert.match(await firstError(h, epMapped, token),
    /^destination address not allowed: ::ffff:127\.0\.0\.2 reaches 127\.0\.0\.2, which is loopback/);
  assert.equal(other.connections, 0, 'nothing reached 127.0.0.2');
  assert.equal(rx6.connections, 0, 'nothing reached ::1');
});
