// SPDX-License-Identifier: MIT
// test_resume.mjs — gap-free resume on the peer socket: a client that
// disconnects and reconnects with the last id it saw gets every event it
// missed, in order, then live ones, with no gap and no duplicate, even
// while events are being published concurrently; and is told when history
// no longer holds what it missed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startHerald } from './herald.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WAIT_MS = 60000; // returns as soon as the condition holds
async function waitFor(pred, what, ms = WAIT_MS) {
  for (const end = Date.now() + ms; Date.now() < end;) { const v = await pred(); if (v) return v; await sleep(20); }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
const AUTH = { authorization: 'Bearer development', 'content-type': 'application/json' };
const herald = await startHerald();
after(() => herald.stop());

async function api(method, path, body) {
  const res = await fetch(herald.url + path, { method, headers: AUTH, body: body && JSON.stringify(body) });
  const t = await res.text();
  return { status: res.status, body: t ? JSON.parse(t) : null };
}

// Connects as the peer; resolves once authenticated. since: last seen id or undefined.
function connect(token, since, onEvent, onOther = () => {}) {
  const ws = new WebSocket(herald.url.replace('http', 'ws') + '/socket/peer/websocket');
  ws.on('open', () => ws.send(JSON.stringify(since === undefined ? { type: 'auth', token } : { type: 'auth', token, since: String(since) })));
  ws.on('error', () => {});
  ws.closed = new Promise((r) => ws.on('close', r));
  return new Promise((resolve, reject) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'authenticated') resolve(ws);
      else if (m.id) onEvent(m);
      else onOther(m);
    });
    ws.on('close', (code, reason) => reject(new Error(`closed ${code} ${reason}`)));
  });
}

test('reconnecting repeatedly while 10,000 events are published: exactly the published sequence', async () => {
  const room = (await api('POST', '/room', {})).body.data.room.id;
  const { token } = (await api('POST', `/room/${room}/peer`, { type: 'webrtc' })).body.data;
  const total = 10000, batch = 100;
  const published = [];
  const got = [];
  let last = 0;
  const onEvent = (m) => { if (m.type === 'seq.tick') got.push(Number(m.id)); last = Number(m.id); };
  // Connected before the first publish: every published event is owed.
  let ws = await connect(token, undefined, onEvent);
  const publisher = (async () => {
    for (let i = 0; i < total / batch; i++) {
      const evs = Array.from({ length: batch }, (_, k) => ({ type: 'seq.tick', room_id: room, data: { n: i * batch + k } }));
      const r = await api('POST', '/v1/events', evs);
      assert.equal(r.status, 201);
      published.push(...r.body.ids.map(Number));
      if (i % 10 === 0) await sleep(5);
    }
  })();
  // Stay a little, drop (sometimes cleanly, sometimes abruptly), resume.
  let rounds = 0;
  let done = false;
  publisher.then(() => { done = true; });
  while (!done || rounds < 3) {
    await sleep(20 + Math.floor(Math.random() * 40));
    if (rounds % 2) ws.close(); else ws._socket.destroy();
    await ws.closed;
    ws = await connect(token, last, onEvent);
    rounds++;
  }
  await publisher;
  // Wait until the client has caught up with the last published id.
  const lastPublished = Math.max(...published);
  await waitFor(() => last >= lastPublished, `the client to catch up with ${lastPublished} (at ${last})`);
  ws.close();
  await ws.closed;
  assert.ok(rounds >= 3, `only ${rounds} reconnects`);
  assert.equal(got.length, published.length, `got ${got.length} events for ${published.length} published`);
  assert.deepEqual(got, [...published].sort((a, b) => a - b));
});

test('resume picks up events addressed to the peer itself; since after the newest gives nothing old', async () => {
  const room = (await api('POST', '/room', {})).body.data.room.id;
  const { peer, token } = (await api('POST', `/room/${room}/peer`, { type: 'webrtc' })).body.data;
  const r1 = await api('POST', '/v1/events', [
    { type: 'a.one', room_id: room }, { type: 'a.private', user_id: `peer:${peer.id}` }, { type: 'a.other', room_id: 'elsewhere' },
  ]);
  const base = Number(r1.body.ids[0]) - 1;
  const seen = [];
  const ws = await connect(token, base, (m) => seen.push(m.type));
  // A marker published after them: once it is here, so is every older event owed.
  await api('POST', '/v1/events', { type: 'z.marker', room_id: room });
  await waitFor(() => seen.includes('z.marker'), 'the marker event');
  assert.deepEqual(seen.filter((t) => t.startsWith('a.')), ['a.one', 'a.private']);
  ws.close();
  await ws.closed;
  const newest = Number(r1.body.ids[2]);
  const seen2 = [];
  const ws2 = await connect(token, newest + 1000, (m) => seen2.push(m.type));
  // The client says it has seen up to newest + 1000: ids are moved past
  // that with events for another room, then a live event for this room
  // (the marker) must arrive, and an old one would have arrived before it.
  for (let i = 0; i < 2; i++) {
    const pad = await api('POST', '/v1/events', Array.from({ length: 600 }, () => ({ type: 'pad.x', room_id: 'elsewhere' })));
    assert.equal(pad.status, 201, JSON.stringify(pad.body));
  }
  const live = await api('POST', '/v1/events', { type: 'a.live', room_id: room });
  assert.ok(Number(live.body.ids[0]) > newest + 1000);
  await waitFor(() => seen2.includes('a.live'), 'the live event');
  assert.deepEqual(seen2.filter((t) => t.startsWith('a.')), ['a.live']);
  ws2.close();
  await ws2.closed;
});

test('a resume beyond retention is told so, then goes live', async () => {
  const small = await startHerald(['--retention-events', '5']);
  try {
    const call = async (m, p, b) => (await (await fetch(small.url + p, { method: m, headers: AUTH, body: b && JSON.stringify(b) })).json());
    const room = (await call('POST', '/room', {})).data.room.id;
    const { token } = (await call('POST', `/room/${room}/peer`, { type: 'webrtc' })).data;
    const ids = (await call('POST', '/v1/events', Array.from({ length: 20 }, () => ({ type: 'old.one', room_id: room })))).ids;
    // Retention runs in the background: wait until history has let go of
    // what the client missed (more than ids[0] and ids[1]).
    await waitFor(async () => {
      const h = await call('GET', `/v1/events?since=0&limit=1000`);
      return h.events.length && Number(h.events[0].id) > Number(ids[1]);
    }, 'retention to prune the old events');
    const other = [];
    const events = [];
    const ws = new WebSocket(small.url.replace('http', 'ws') + '/socket/peer/websocket');
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token, since: ids[0] })));
    ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.id) events.push(m); else other.push(m); });
    await waitFor(() => other.some((m) => m.type === 'resume_failed'), 'resume_failed');
    const failed = other.find((m) => m.type === 'resume_failed');
    assert.ok(failed, JSON.stringify(other));
    assert.match(failed.message, /no longer holds/);
    assert.ok(Number(failed.first_id) > Number(ids[1]));
    await call('POST', '/v1/events', { type: 'new.one', room_id: room });
    await waitFor(() => events.some((m) => m.type === 'new.one'), 'the new event');
    assert.ok(events.some((m) => m.type === 'new.one'));
    assert.ok(!events.some((m) => m.type === 'old.one'));
    ws.close();
  } finally {
    await small.stop();
  }
});
