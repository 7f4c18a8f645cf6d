// SPDX-License-Identifier: MIT
// test_janus_webhook.mjs — Janus events on to webhook endpoints: the real
// captures (tests/data/janus) posted to /janus/events as the sample event
// handler does, one of them resent, reach a `janus.*` endpoint once each,
// and an endpoint filtered on a room (the events' opaque_id) gets that
// room's events only, once each.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { startHerald } from './herald.mjs';
import { finish } from './wsutil.mjs';
import { startReceiver, hapi, settled, WAIT_MS } from './webhook_receiver.mjs';

const herald = await startHerald();
const receivers = [];
after(async () => { for (const r of receivers) await r.close(); await finish(herald); });
const data = (f) => readFileSync(new URL(`../data/janus/${f}`, import.meta.url));

async function janusPost(body, headers = {}) {
  const res = await fetch(`${herald.url}/janus/events`, {
    method: 'POST', body,
    headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from('janus:development').toString('base64'), ...headers },
  });
  assert.equal(res.status, 200);
  return res.json();
}

async function endpoint(body) {
  const rx = await startReceiver();
  receivers.push(rx);
  const r = await hapi(herald.url, 'POST', '/v1/webhooks', { url: rx.url, ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  rx.endpointId = r.body.id;
  return rx;
}

// What identifies a Janus event: its emitter, type, subtype, µs timestamp.
const key = (env) => `${env.data.emitter}/${env.data.type}/${env.data.subtype ?? 0}/${env.data.timestamp}`;

test('each Janus event reaches the webhooks once', async () => {
  const all = await endpoint({ event_types: ['janus.*'] });
  const room = await endpoint({ room_ids: ['jsep-test'] });
  const ids = [];
  for (const f of ['13-batch-14-events-after-retries.json', '16-batch-webrtc-gathering+local-candidates+jsep-local-answer+plugin.json',
    '13-batch-14-events-after-retries.json', '18-webrtc-ice-failed.json'])
    ids.push(...(await janusPost(data(f))).ids);
  ids.push(...(await janusPost(gzipSync(data('15-jsep-remote-offer.json')), { 'content-encoding': 'gzip' })).ids);
  ids.push(...(await janusPost(data('18-webrtc-ice-failed.json'))).ids); // resent: nothing new
  assert.equal(ids.length, 14 + 6 + 1 + 1);
  await all.waitFor((reqs) => reqs.length >= ids.length, WAIT_MS);
  await room.waitFor((reqs) => reqs.length >= 8, WAIT_MS);
  // Nothing pending: every delivery owed for these events has been made
  // (its rows were written with the events), so anything extra is here.
  await settled(herald.url, all.endpointId);
  await settled(herald.url, room.endpointId);
  const got = all.requests.map((r) => r.json);
  assert.deepEqual(got.map((e) => e.id).sort(), [...ids].sort());
  assert.equal(new Set(got.map(key)).size, ids.length);
  assert.ok(got.every((e) => e.type.startsWith('janus.')));
  const inRoom = room.requests.map((r) => r.json);
  assert.equal(inRoom.length, 8);
  assert.ok(inRoom.every((e) => e.room_id === 'jsep-test' && e.data.opaque_id === 'jsep-test'));
  assert.equal(new Set(inRoom.map(key)).size, 8);
  const offer = inRoom.find((e) => e.type === 'janus.jsep' && e.data.event.owner === 'remote');
  assert.equal(offer.data.session_id, 5584236750442469);
});
