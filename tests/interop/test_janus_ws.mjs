// SPDX-License-Identifier: MIT
// test_janus_ws.mjs — GET /janus/ws, the endpoint of Janus's WebSockets
// event handler (janus.eventhandler.wsevh), with the real `ws` client
// sending the real captures (tests/data/janus) as text frames, as wsevh
// does: each frame is answered, after the commit, by {"ids":[…],
// "duplicates":N}; the events reach a server notifier listener once each;
// a resent frame is dropped as duplicates; a bad frame is answered with an
// error and counted; the upgrade needs the server token (?token=, Bearer
// or Basic) and a refusal is counted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startHerald } from './herald.mjs';
import { wsClient, jsonNotifier, closeClient, finish, metric } from './wsutil.mjs';

const herald = await startHerald();
after(() => finish(herald));
const data = (f) => readFileSync(new URL(`../data/janus/${f}`, import.meta.url), 'utf8');
const count = (text) => { const j = JSON.parse(text); return Array.isArray(j) ? j.length : 1; };

async function janusSocket(opts = {}) {
  const c = wsClient(herald.url, { path: '/janus/ws?token=development', ...opts });
  await c.opened;
  return c;
}

test('captures sent as frames are stored and delivered once each', async () => {
  const listener = await jsonNotifier(herald.url);
  const janus = await janusSocket();
  const files = ['13-batch-14-events-after-retries.json', '10-nogroup-compact-session-created.json',
    '16-batch-webrtc-gathering+local-candidates+jsep-local-answer+plugin.json', '19-media-stats.json'];
  let total = 0;
  for (const f of files) janus.send(data(f)); // back to back, as wsevh does
  for (const f of files) {
    const ack = await janus.json();
    assert.equal(ack.ids.length, count(data(f)), f);
    assert.equal(ack.duplicates, 0);
    total += ack.ids.length;
  }
  const got = [];
  for (let i = 0; i < total; i++) got.push(await listener.json());
  assert.equal(got.filter((e) => e.type.startsWith('janus.')).length, total);
  const media = got.find((e) => e.type === 'janus.media');
  assert.equal(media.room_id, 'jsep-test');
  assert.equal(media.data.emitter, 'janus-acceptance');
  assert.match(JSON.stringify(media.data), /"timestamp":1795340288128543,"session_id":5584236750442469,"handle_id":7557850811630787/);
  const created = got.find((e) => e.type === 'janus.session' && e.data.event.name === 'created');
  assert.equal(typeof created.data.event.transport.id, 'string');

  // Janus resends a frame after a reconnect: taken once.
  janus.send(data(files[0]));
  assert.deepEqual(await janus.json(), { ids: [], duplicates: 14 });
  // A bad frame is answered and counted; the socket stays open.
  janus.send('[{"type":1},');
  assert.match((await janus.json()).errors, /^body is not valid JSON/);
  assert.equal(await metric(herald.url, 'herald_janus_invalid_total'), 1);
  janus.send(data('20-webrtc-hangup.json'));
  assert.equal((await janus.json()).ids.length, 1);
  assert.equal((await listener.json()).type, 'janus.webrtc');
  await closeClient(janus);
  await closeClient(listener);
});

test('the upgrade needs the server token', async () => {
  const basic = 'Basic ' + Buffer.from('janus:development').toString('base64');
  const acks = [];
  for (const headers of [{ authorization: basic }, { authorization: 'Bearer development' }]) {
    const c = wsClient(herald.url, { path: '/janus/ws', options: { headers } });
    await c.opened;
    c.send(data('21-session-timeout.json'));
    const ack = await c.json();
    acks.push([ack.ids.length, ack.duplicates]);
    await closeClient(c);
  }
  assert.deepEqual(acks, [[1, 0], [0, 1]]); // the same event twice: stored once
  const before = await metric(herald.url, 'herald_janus_auth_failures_total');
  for (const path of ['/janus/ws', '/janus/ws?token=wrong']) {
    const c = wsClient(herald.url, { path });
    await assert.rejects(c.opened, /HTTP 401/);
  }
  assert.equal(await metric(herald.url, 'herald_janus_auth_failures_total'), before + 2);
});
