// SPDX-License-Identifier: MIT
// test_sse.mjs — GET /v1/stream with a real EventSource client (the
// `eventsource` npm package): headers, the peer's audience, heartbeats,
// and the client's own automatic reconnect with Last-Event-ID after the
// server restarts, resuming with no gap and no duplicate.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { startHerald } from './herald.mjs';
import { within } from './wsutil.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const AUTH = { authorization: 'Bearer development', 'content-type': 'application/json' };
const dir = mkdtempSync(join(tmpdir(), 'herald-sse-'));
let herald = await startHerald(['--ping-interval', '0.3'], { dataDir: dir });
after(async () => { await herald.stop(); rmSync(dir, { recursive: true, force: true }); });

async function api(method, path, body) {
  const res = await fetch(herald.url + path, { method, headers: AUTH, body: body && JSON.stringify(body) });
  const t = await res.text();
  return { status: res.status, body: t ? JSON.parse(t) : null };
}
const WAIT_MS = 60000; // returns as soon as the condition holds
async function waitFor(pred, what, ms = WAIT_MS) {
  for (const end = Date.now() + ms; Date.now() < end;) { if (pred()) return; await sleep(25); }
  throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`);
}

test('headers, bad tokens, and the raw stream with heartbeats', async () => {
  const room = (await api('POST', '/room', {})).body.data.room.id;
  const { token } = (await api('POST', `/room/${room}/peer`, { type: 'webrtc' })).body.data;
  const bad = await fetch(`${herald.url}/v1/stream?token=nope`);
  assert.equal(bad.status, 401);
  assert.deepEqual(await bad.json(), { errors: 'Invalid token' });
  assert.equal((await fetch(`${herald.url}/v1/stream`)).status, 401);
  const badSince = await fetch(`${herald.url}/v1/stream?token=${token}`, { headers: { 'last-event-id': 'abc' } });
  assert.equal(badSince.status, 400);
  // Only digits are an event id: a sign, a blank or a number past 2^64-1
  // is refused like any other bad id, not read as some other id.
  for (const v of ['+5', ' 5', '18446744073709551616']) {
    const r = await fetch(`${herald.url}/v1/stream?token=${token}&since=${encodeURIComponent(v)}`);
    assert.equal(r.status, 400, `since=${JSON.stringify(v)}`);
    await r.body?.cancel();
  }

  const ctl = new AbortController();
  const res = await fetch(`${herald.url}/v1/stream`, { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  assert.match(res.headers.get('cache-control'), /no-cache/);
  assert.equal(res.headers.get('x-accel-buffering'), 'no');
  const reader = res.body.getReader();
  let text = '';
  let pending = null; // one read in flight at a time: a lost read would lose bytes
  const readUntil = async (re) => {
    for (const end = Date.now() + WAIT_MS; !re.test(text);) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${re} in the stream: ${JSON.stringify(text)}`);
      pending ??= reader.read().then((r) => { pending = null; if (r.value) text += Buffer.from(r.value).toString(); });
      await Promise.race([pending, sleep(50)]);
    }
  };
  await readUntil(/retry: \d+/);
  assert.match(text, /^retry: 3000\n\n/);
  const ids = (await api('POST', '/v1/events', { type: 'chat.message', room_id: room, data: { text: 'hi' } })).body.ids;
  await readUntil(/data: /);
  assert.match(text, new RegExp(`id: ${ids[0]}\\ndata: \\{"id":"${ids[0]}","type":"chat.message".*\\}\\n\\n`));
  await readUntil(/: heartbeat/);
  assert.match(text, /\n: heartbeat\n\n/);
  ctl.abort();
});

test('EventSource gets its room and its user, then resumes by itself after a restart', async () => {
  const room = (await api('POST', '/room', {})).body.data.room.id;
  const other = (await api('POST', '/room', {})).body.data.room.id;
  const { peer, token } = (await api('POST', `/room/${room}/peer`, { type: 'webrtc' })).body.data;
  const got = [];
  const es = new EventSource(`${herald.url}/v1/stream?token=${encodeURIComponent(token)}`);
  es.onmessage = (m) => got.push({ id: m.lastEventId, ev: JSON.parse(m.data) });
  await new Promise((r) => { es.onopen = r; });
  const first = (await api('POST', '/v1/events', [
    { type: 'chat.message', room_id: room, data: { n: 1 } },
    { type: 'chat.message', room_id: other, data: { n: 'not mine' } },
    { type: 'user.notice', user_id: `peer:${peer.id}`, data: { n: 2 } },
  ])).body.ids;
  await waitFor(() => got.length >= 2, 'first events');
  assert.deepEqual(got.map((g) => g.ev.data.n), [1, 2]);
  assert.equal(got[0].id, first[0]);

  // The server goes away; events are published while the client is away.
  const port = herald.port;
  assert.equal(await herald.stop(), 0);
  herald = await startHerald(['--ping-interval', '0.3', '--listen', `127.0.0.1:${port}`], { dataDir: dir });
  const missed = (await api('POST', '/v1/events', Array.from({ length: 50 }, (_, i) => ({
    type: 'chat.message', room_id: room, data: { n: 100 + i } })))).body.ids;
  // EventSource reconnects after the retry hint, sending Last-Event-ID.
  await waitFor(() => got.some((g) => g.ev.data.n === 149), 'resumed events');
  const live = (await api('POST', '/v1/events', { type: 'chat.message', room_id: room, data: { n: 'live' } })).body.ids;
  await waitFor(() => got.some((g) => g.ev.data.n === 'live'), 'live event');
  es.close();
  const ids = got.map((g) => g.id);
  assert.deepEqual(ids, [first[0], first[2], ...missed, live[0]]);
});

test('EventSource reconnecting repeatedly with Last-Event-ID while 10,000 events are published: no gap, no duplicate', async () => {
  const room = (await api('POST', '/room', {})).body.data.room.id;
  const { token } = (await api('POST', `/room/${room}/peer`, { type: 'webrtc' })).body.data;
  const got = [];
  // The resume point starts at an event published before the first stream
  // opens: the client is re-opened every 20-60 ms, on a loaded machine
  // before it has received anything, and a stream opened without a resume
  // point only gets what is published after it (that lost the first batch).
  let last = (await api('POST', '/v1/events', { type: 'seq.start', room_id: room })).body.ids[0];
  let ownReconnects = 0;
  const fetches = []; // the resume point of every request, for a failure message
  // A real EventSource; its fetch sends the Last-Event-ID we resume from:
  // the last id counted, read when the request is made. The library also
  // reconnects by itself when a stream ends or fails (a loaded machine
  // can make that happen) and then sends its own Last-Event-ID: that one
  // is replaced, not added to. Added to it, the two ids made one header
  // "a, b", which herald refuses with 400, and EventSource gives up after
  // a refusal: that is how this test once failed under load.
  const open = () => new Promise((resolve) => {
    const es = new EventSource(`${herald.url}/v1/stream?token=${encodeURIComponent(token)}`, {
      fetch: (url, init) => {
        const headers = Object.fromEntries(Object.entries(init.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'last-event-id'));
        if (last) headers['Last-Event-ID'] = last;
        fetches.push(`${last || '-'}${init.headers?.['Last-Event-ID'] ? '(lib)' : ''}@${got.length}`);
        return fetch(url, { ...init, headers });
      },
    });
    es.onerror = () => { ownReconnects++; };
    // After close() no event may count: the spec fires none, and one the
    // library still dispatched from a chunk it had read would be received
    // again by the next connection, which resumes from the last counted id.
    es.onmessage = (m) => {
      if (es.readyState === EventSource.CLOSED) return;
      got.push(Number(m.lastEventId));
      last = m.lastEventId;
    };
    es.onopen = () => resolve(es);
  });
  // Bounded: if herald dies, fail instead of waiting for an open that never comes.
  const opened = () => within(open(), WAIT_MS, () => `the EventSource to open (herald log:\n${herald.log().slice(-3000)})`);
  let es = await opened();
  const published = [];
  let done = false;
  const publisher = (async () => {
    for (let i = 0; i < 100; i++) {
      const evs = Array.from({ length: 100 }, (_, k) => ({ type: 'seq.tick', room_id: room, data: { n: i * 100 + k } }));
      published.push(...(await api('POST', '/v1/events', evs)).body.ids.map(Number));
      if (i % 10 === 0) await sleep(5);
    }
    done = true;
  })();
  let rounds = 0;
  while (!done || rounds < 3) {
    await sleep(20 + Math.floor(Math.random() * 40));
    es.close();
    es = await opened();
    rounds++;
  }
  await publisher;
  const lastPublished = Math.max(...published);
  await waitFor(() => Number(last) >= lastPublished, () => `catching up with ${lastPublished} (at ${last}, ${ownReconnects} reconnects by the library)`);
  es.close();
  assert.ok(rounds >= 3);
  const want = [...published].sort((a, b) => a - b);
  const have = new Set(got);
  const missing = want.filter((id) => !have.has(id));
  assert.equal(got.length, published.length, `got ${got.length} for ${published.length}; missing ${missing.length}: ` +
    `${missing.slice(0, 5)}…${missing.slice(-5)}; duplicates ${got.length - have.size}; ${ownReconnects} reconnects by the library; ` +
    `requests (resume point@received): ${fetches.join(' ')}`);
  assert.deepEqual(got, [...published].sort((a, b) => a - b));
});
