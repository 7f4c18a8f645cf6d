// SPDX-License-Identifier: MIT
// test_users.mjs — user tokens (JWT HS256 minted by the user's backend),
// the seeds' access-id API, and connection limits, as clients see them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { startHerald } from './herald.mjs';
import { metric, WAIT_MS } from './wsutil.mjs';

const SECRET = 'test-secret-0123456789';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
function jwt(claims, { secret = SECRET, alg = 'HS256' } = {}) {
  const head = b64u({ alg, typ: 'JWT' }), body = b64u(claims);
  if (alg === 'none') return `${head}.${body}.`;
  return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
}
const now = () => Math.floor(Date.now() / 1000);
const AUTH = { authorization: 'Bearer development', 'content-type': 'application/json' };

// --jwt-leeway 10 (instead of 30): the expiry tests below wait for exp + leeway.
const LEEWAY = 10;
const herald = await startHerald(['--jwt-secret', SECRET, '--jwt-audience', 'herald-test', '--max-connections-per-user', '2',
  '--jwt-leeway', String(LEEWAY)]);
after(() => herald.stop());
const wsUrl = (p) => herald.url.replace('http', 'ws') + p;
const api = async (method, path, body, headers = AUTH) => {
  const res = await fetch(herald.url + path, { method, headers, body: body && JSON.stringify(body) });
  const t = await res.text();
  return { status: res.status, body: t ? JSON.parse(t) : null };
};

function socket(path, first, headers = {}) {
  const ws = new WebSocket(wsUrl(path), { headers });
  const s = { ws, msgs: [], closed: null };
  s.closedP = new Promise((r) => ws.on('close', (code, reason) => { s.closed = { code, reason: reason.toString() }; r(s.closed); }));
  ws.on('error', () => {});
  ws.on('message', (d) => s.msgs.push(JSON.parse(d.toString())));
  if (first) ws.on('open', () => ws.send(JSON.stringify(first)));
  return s;
}
async function waitFor(pred, what, ms = WAIT_MS) {
  for (const end = Date.now() + ms; Date.now() < end;) { const v = await pred(); if (v) return v; await sleep(25); }
  throw new Error(`timed out waiting for ${what}`);
}
const good = (sub, rooms, extra = {}) => jwt({ sub, exp: now() + 600, aud: 'herald-test', ...(rooms ? { rooms } : {}), ...extra });

test('a user token reaches its own user channel and the rooms it names, nothing else', async () => {
  const s = socket('/socket/peer/websocket', { type: 'auth', token: good('alice', ['r-a']) });
  const auth = await waitFor(() => s.msgs.find((m) => m.type === 'authenticated'), 'authenticated');
  assert.deepEqual(auth, { type: 'authenticated', user_id: 'alice', rooms: ['r-a'] });
  await api('POST', '/v1/events', [
    { type: 't.room', room_id: 'r-a', data: { n: 1 } },
    { type: 't.room', room_id: 'r-b', data: { n: 'other room' } },
    { type: 't.user', user_id: 'alice', data: { n: 2 } },
    { type: 't.user', user_id: 'bob', data: { n: 'other user' } },
    { type: 't.user', room_id: 'r-a', user_id: 'bob', data: { n: 'bob in my room' } },
  ]);
  // A marker published after them: events arrive in id order, so once it
  // is here every event of the batch meant for alice is here too.
  await api('POST', '/v1/events', [{ type: 't.user', user_id: 'alice', data: { n: 'marker' } }]);
  await waitFor(() => s.msgs.some((m) => m.data?.n === 'marker'), 'the marker event');
  assert.deepEqual(s.msgs.filter((m) => m.id).map((m) => m.data.n), [1, 2, 'marker']);
  s.ws.close();
  await s.closedP;
});

// issue 13: a peer's channel is "peer:<peer id>", a user token's is its sub.
// A JWT whose sub is some peer's id (peer ids are seen by the whole room)
// must not read that peer's events, and the peer not that user's.
test('a user token whose sub is a peer id and that peer do not share a channel', async () => {
  const room = (await api('POST', '/room', {})).body.data.room.id;
  const { peer, token } = (await api('POST', `/room/${room}/peer`, { type: 'webrtc' })).body.data;
  const p = socket('/socket/peer/websocket', { type: 'auth', token });
  const u = socket('/socket/peer/websocket', { type: 'auth', token: good(peer.id) });
  await waitFor(() => p.msgs.find((m) => m.type === 'authenticated'), 'the peer authenticated');
  const auth = await waitFor(() => u.msgs.find((m) => m.type === 'authenticated'), 'the user authenticated');
  assert.deepEqual(auth, { type: 'authenticated', user_id: peer.id, rooms: [] });
  await api('POST', '/v1/events', [
    { type: 't.private', user_id: `peer:${peer.id}`, data: { n: 'to the peer' } },
    { type: 't.private', user_id: peer.id, data: { n: 'to the user' } },
    { type: 't.private', user_id: peer.id, data: { n: 'user marker' } },
    { type: 't.private', user_id: `peer:${peer.id}`, data: { n: 'peer marker' } },
  ]);
  await waitFor(() => p.msgs.some((m) => m.data?.n === 'peer marker'), "the peer's marker");
  await waitFor(() => u.msgs.some((m) => m.data?.n === 'user marker'), "the user's marker");
  const got = (s) => s.msgs.filter((m) => m.type === 't.private').map((m) => m.data.n);
  assert.deepEqual(got(p), ['to the peer', 'peer marker']);
  assert.deepEqual(got(u), ['to the user', 'user marker']);
  // No user token may name a peer's channel.
  const bad = socket('/socket/peer/websocket', { type: 'auth', token: good(`peer:${peer.id}`) });
  assert.deepEqual(await bad.closedP, { code: 4003, reason: 'invalid token: sub must not begin with "peer:" (peers\' channels)' });
  for (const s of [p, u]) s.ws.close();
  await Promise.all([p.closedP, u.closedP]);
});

test('expired, badly signed, alg none, wrong audience and garbage tokens are refused', async () => {
  const cases = [
    [jwt({ sub: 'u', exp: now() - 3600, aud: 'herald-test' }), /expired/],
    // past exp + --jwt-leeway (10 s here): accepted under the default 30 s
    [jwt({ sub: 'u', exp: now() - LEEWAY - 5, aud: 'herald-test' }), /expired/],
    [jwt({ sub: 'u', exp: now() + 600, aud: 'herald-test' }, { secret: 'wrong' }), /signature/],
    [jwt({ sub: 'u', exp: now() + 600, aud: 'herald-test' }, { alg: 'none' }), /alg/],
    [jwt({ sub: 'u', exp: now() + 600, aud: 'someone-else' }), /audience/],
    [jwt({ exp: now() + 600, aud: 'herald-test' }), /sub/],
    ['not.a.token', /invalid token/],
  ];
  for (const [token, why] of cases) {
    const s = socket('/socket/peer/websocket', { type: 'auth', token });
    const closed = await s.closedP;
    assert.equal(closed.code, 4003, `${token}: ${JSON.stringify(closed)}`);
    assert.match(closed.reason, why);
    const sse = await fetch(`${herald.url}/v1/stream?token=${encodeURIComponent(token)}`);
    assert.equal(sse.status, 401);
    assert.match((await sse.json()).errors, why);
  }
});

test('a socket is closed when its token expires', async () => {
  // Valid for 2 s, then the leeway: at least 11 s, time enough to authenticate on a loaded machine.
  const exp = now() + 2;
  const s = socket('/socket/peer/websocket', { type: 'auth', token: jwt({ sub: 'brief', exp, aud: 'herald-test' }) });
  await waitFor(() => s.msgs.find((m) => m.type === 'authenticated'), 'authenticated');
  assert.deepEqual(await s.closedP, { code: 4003, reason: 'token expired' });
  const at = Date.now();
  assert.ok(at >= (exp + LEEWAY) * 1000 - 1000, `closed ${((exp + LEEWAY) * 1000 - at) / 1000} s before exp + --jwt-leeway`);
});

test('a token inside the clock-skew leeway (exp passed, by less than --jwt-leeway) is served until the leeway ends', async () => {
  // exp 1 s ago: accepted for LEEWAY - 1 s more (at least 8 on a loaded machine).
  const exp = now() - 1;
  const s = socket('/socket/peer/websocket', { type: 'auth', token: jwt({ sub: 'skewed', exp, aud: 'herald-test' }) });
  await waitFor(() => s.msgs.find((m) => m.type === 'authenticated'), 'authenticated');
  const closed = await s.closedP;
  const at = Date.now();
  assert.deepEqual(closed, { code: 4003, reason: 'token expired' });
  assert.ok(at >= (exp + LEEWAY) * 1000 - 1000, `closed ${((exp + LEEWAY) * 1000 - at) / 1000} s before the leeway ended`);
});

test('access-id API: push_events, subscribe_to_events with replay after a timestamp, drop_user', async () => {
  // timestamp is the created_at of the last event the client saw
  // (tests/interop/test_seeds_access.mjs covers the API in depth).
  const before = await api('POST', '/push_events', [{ accessid: 'carol', created_at: 5, payload: { n: 'old' } }]);
  assert.equal(before.status, 200);
  assert.equal(before.body, true);
  await api('POST', '/push_events', [{ accessid: 'carol', created_at: 10, payload: { n: 'missed' } }, { accessid: 'dave', payload: 'not carol' }]);
  const s = socket('/subscribe_to_events', { access_id: 'carol', timestamp: 5, token: good('carol') });
  await waitFor(() => s.msgs.some((m) => m.data?.payload?.n === 'missed'), 'replayed event');
  await api('POST', '/push_events', [{ accessid: 'carol', created_at: 2, payload: { n: 'live' } }]);
  await waitFor(() => s.msgs.some((m) => m.data?.payload?.n === 'live'), 'live event');
  assert.deepEqual(s.msgs.map((m) => m.data.payload.n), ['missed', 'live']);
  assert.equal(s.msgs[0].type, 'access.event');
  assert.equal(s.msgs[0].user_id, 'carol');
  assert.equal(s.msgs[0].data.created_at, 10);
  const dropped = await api('POST', '/drop_user', { drop_access_id: 'carol' });
  assert.equal(dropped.body, true);
  assert.deepEqual(await s.closedP, { code: 4006, reason: 'dropped' });

  const wrong = socket('/subscribe_to_events', { access_id: 'carol', timestamp: 0, token: good('mallory') });
  assert.equal((await wrong.closedP).code, 4003);
  assert.match(wrong.closed.reason, /not for this access_id/);
  assert.equal((await api('POST', '/push_events', { accessid: 'x' })).status, 400);
  assert.equal((await api('POST', '/push_events', [{ payload: 1 }])).status, 400);
  assert.equal((await api('POST', '/drop_user', {})).status, 400);
  assert.equal((await api('POST', '/push_events', [], { 'content-type': 'application/json' })).status, 401);
});

test('--max-connections-per-user: the third stream of a user is too busy', async () => {
  const token = good('erin', ['r-e']);
  const a = socket('/socket/peer/websocket', { type: 'auth', token });
  const b = socket('/socket/peer/websocket', { type: 'auth', token });
  await waitFor(() => a.msgs.length && b.msgs.length, 'two sockets');
  const c = socket('/socket/peer/websocket', { type: 'auth', token });
  assert.deepEqual(await c.closedP, { code: 1013, reason: 'too busy' });
  const sse = await fetch(`${herald.url}/v1/stream?token=${encodeURIComponent(token)}`);
  assert.equal(sse.status, 503);
  assert.deepEqual(await sse.json(), { errors: 'too busy' });
  a.ws.close();
  await a.closedP;
  // herald counts a peer socket out after releasing its user's slot.
  await waitFor(async () => (await metric(herald.url, 'herald_connections{kind="ws_peer"}')) === 1, 'herald to close the first socket');
  const d = socket('/socket/peer/websocket', { type: 'auth', token });
  await waitFor(() => d.msgs.find((m) => m.type === 'authenticated'), 'a slot again');
  b.ws.close();
  d.ws.close();
  await Promise.all([b.closedP, d.closedP]);
});

test('--max-connections: an upgrade past the limit gets 503 too busy', async () => {
  const small = await startHerald(['--max-connections', '1']);
  try {
    const first = new WebSocket(small.url.replace('http', 'ws') + '/socket/server/websocket');
    await new Promise((r) => first.on('open', r));
    const second = new WebSocket(small.url.replace('http', 'ws') + '/socket/server/websocket');
    const status = await new Promise((r) => second.on('unexpected-response', (req, res) => r(res.statusCode)));
    assert.equal(status, 503);
    first.close();
  } finally {
    await small.stop();
  }
});
