// SPDX-License-Identifier: MIT
// test_ws_protocol.mjs — RFC 6455 behaviour of herald's WebSocket layer,
// seen from raw node:net sockets (for frames `ws` will not send) and the
// real `ws` client.
//
// One herald with a small --max-ws-message serves the framing tests; a
// second with --ping-interval 0.3 serves the heartbeat test (its deaf
// client), a third with --ping-interval 2 the clients that answer.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald } from './herald.mjs';
import {
  OP, rawWs, rawHttp, upgradeRequest, closePayload, wsClient, jsonNotifier, closeClient,
  finish, waitUntil, within, WAIT_MS,
} from './wsutil.mjs';

const MAX_MSG = 4096;
const AUTH = JSON.stringify({ type: 'auth', token: 'development' });
const herald = await startHerald(['--max-ws-message', String(MAX_MSG)]);
const pinger = await startHerald(['--ping-interval', '0.3']);
// Clients that must be kept answer on a herald that waits 2 s for a pong:
// a client on a loaded machine may take longer than 0.3 s to answer.
const patient = await startHerald(['--ping-interval', '2']);
after(async () => {
  await finish(herald);
  await finish(pinger);
  await finish(patient);
});

// The body of an HTTP error response: JSON with a non-empty "errors" string.
function errorBody(r) {
  const text = r.body.toString();
  assert.equal(Buffer.byteLength(text), Number(r.headers['content-length']));
  let body;
  try { body = JSON.parse(text); } catch { assert.fail(`the body is not JSON: ${JSON.stringify(text)}`); }
  assert.equal(typeof body.errors, 'string', text);
  assert.ok(body.errors.length > 0);
  return body;
}

async function authed() {
  const c = await rawWs(herald.port);
  c.text(AUTH);
  assert.deepEqual(JSON.parse(await c.nextText()), { type: 'authenticated' });
  return c;
}

test('a text message in three fragments is reassembled', async () => {
  const c = await rawWs(herald.port);
  // Split inside the token and inside the two-byte "é" of an extra field.
  const msg = Buffer.from('{"type":"auth","token":"development","note":"h\u00e9llo"}');
  const cut1 = msg.indexOf('velop'), cut2 = msg.indexOf(0xc3) + 1;
  c.send(OP.TEXT, msg.subarray(0, cut1), { fin: false });
  c.send(OP.CONT, msg.subarray(cut1, cut2), { fin: false });
  c.send(OP.CONT, msg.subarray(cut2), { fin: true });
  assert.deepEqual(JSON.parse(await c.nextText()), { type: 'authenticated' });
  c.destroy();
});

test('a ping between fragments is answered and the message still reassembled', async () => {
  const c = await rawWs(herald.port);
  c.send(OP.TEXT, AUTH.slice(0, 10), { fin: false });
  c.send(OP.PING, 'mid');
  c.send(OP.CONT, AUTH.slice(10), { fin: true });
  const pong = await c.next();
  assert.equal(pong.opcode, OP.PONG);
  assert.equal(pong.payload.toString(), 'mid');
  assert.deepEqual(JSON.parse(await c.nextText()), { type: 'authenticated' });
  c.destroy();
});

test('ping is answered with a pong carrying the same payload', async () => {
  const c = await authed();
  const payload = Buffer.from([0, 1, 2, 0xff, 0x7f, 0x80, 0x41]);
  c.send(OP.PING, payload);
  const f = await c.next();
  assert.equal(f.opcode, OP.PONG);
  assert.equal(f.fin, true);
  assert.equal(f.masked, false);
  assert.deepEqual(f.payload, payload);
  c.destroy();
});

test('a client close frame is echoed and the TCP connection closed', async () => {
  const c = await authed();
  c.send(OP.CLOSE, closePayload(1000, 'bye'));
  const { code } = await c.closeFrame();
  assert.equal(code, 1000);
  await c.waitTcpClosed();
});

test('the real ws client closes cleanly with 1000', async () => {
  const c = await jsonNotifier(herald.url);
  c.ws.close(1000, 'done');
  assert.equal((await c.waitClosed()).code, 1000);
});

test('an unmasked client frame closes with 1002', async () => {
  const c = await rawWs(herald.port);
  c.send(OP.TEXT, AUTH, { mask: false });
  const { code, frames } = await c.closeFrame();
  assert.equal(code, 1002);
  assert.deepEqual(frames, [], 'nothing but the close frame is sent');
  await c.waitTcpClosed();
});

test('a message larger than --max-ws-message closes with 1009', async () => {
  const c = await authed();
  c.text(JSON.stringify({ type: 'subscribe', event_type: 'server_notification', pad: 'x'.repeat(MAX_MSG) }));
  const { code, frames } = await c.closeFrame();
  assert.equal(code, 1009);
  assert.deepEqual(frames, []);
  await c.waitTcpClosed();
});

test('a fragmented message growing past --max-ws-message closes with 1009', async () => {
  const c = await authed();
  const chunk = 'x'.repeat(MAX_MSG / 2);
  c.send(OP.TEXT, '{"type":"subscribe","pad":"' + chunk, { fin: false });
  c.send(OP.CONT, chunk, { fin: false });
  c.send(OP.CONT, chunk + '"}', { fin: true });
  const { code } = await c.closeFrame();
  assert.equal(code, 1009);
  await c.waitTcpClosed();
});

test('a message of exactly --max-ws-message bytes is accepted', async () => {
  const c = await authed();
  const head = '{"type":"subscribe","event_type":"server_notification","pad":"';
  const msg = head + 'x'.repeat(MAX_MSG - head.length - 2) + '"}';
  assert.equal(Buffer.byteLength(msg), MAX_MSG);
  c.text(msg);
  assert.deepEqual(JSON.parse(await c.nextText()), { type: 'subscribe_response', event_type: 'server_notification' });
  c.destroy();
});

test('invalid UTF-8 in a text frame closes with 1007', async () => {
  const c = await authed();
  c.send(OP.TEXT, Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d])); // {"\xc3("}
  const { code } = await c.closeFrame();
  assert.equal(code, 1007);
  await c.waitTcpClosed();
});

test('invalid UTF-8 before authentication closes with 1007', async () => {
  const c = await rawWs(herald.port);
  c.send(OP.TEXT, Buffer.from('{"type":"auth","token":"\xed\xa0\x80"}', 'latin1')); // a UTF-16 surrogate
  const { code } = await c.closeFrame();
  assert.equal(code, 1007);
  await c.waitTcpClosed();
});

test('a ping with a payload over 125 bytes closes with 1002', async () => {
  const c = await authed();
  c.send(OP.PING, Buffer.alloc(126, 0x61));
  const { code } = await c.closeFrame();
  assert.equal(code, 1002);
  await c.waitTcpClosed();
});

test('a fragmented ping closes with 1002', async () => {
  const c = await authed();
  c.send(OP.PING, 'a', { fin: false });
  const { code } = await c.closeFrame();
  assert.equal(code, 1002);
  await c.waitTcpClosed();
});

test('a continuation frame with no message started closes with 1002', async () => {
  const c = await authed();
  c.send(OP.CONT, '{}', { fin: true });
  const { code } = await c.closeFrame();
  assert.equal(code, 1002);
  await c.waitTcpClosed();
});

test('a new text frame inside a fragmented message closes with 1002', async () => {
  const c = await authed();
  c.send(OP.TEXT, '{"type":', { fin: false });
  c.send(OP.TEXT, '{}', { fin: true });
  const { code } = await c.closeFrame();
  assert.equal(code, 1002);
  await c.waitTcpClosed();
});

test('RSV bits without a negotiated extension close with 1002', async () => {
  const c = await authed();
  c.send(OP.TEXT, '{}', { rsv: 4 }); // RSV1: permessage-deflate was not accepted
  const { code } = await c.closeFrame();
  assert.equal(code, 1002);
  await c.waitTcpClosed();
});

test('a close frame with a reserved code (1005) is answered with 1002', async () => {
  const c = await authed();
  c.send(OP.CLOSE, closePayload(1005));
  const { code } = await c.closeFrame();
  assert.equal(code, 1002);
  await c.waitTcpClosed();
});

test('an unknown opcode closes with 1002', async () => {
  const c = await authed();
  c.send(0x3, Buffer.from('?'));
  const { code } = await c.closeFrame();
  assert.equal(code, 1002);
  await c.waitTcpClosed();
});

test('upgrade without Sec-WebSocket-Key is refused with 400 and a JSON error', async () => {
  const r = await rawHttp(herald.port, upgradeRequest(herald.port, { key: null }));
  assert.equal(r.status, 400);
  assert.match(r.headers['content-type'], /^application\/json/);
  errorBody(r);
});

test('a wrong Sec-WebSocket-Version is refused with 426 naming version 13', async () => {
  const r = await rawHttp(herald.port, upgradeRequest(herald.port, { version: '8' }));
  assert.equal(r.status, 426);
  assert.equal(r.headers['sec-websocket-version'], '13');
  assert.match(r.headers['content-type'], /^application\/json/);
  errorBody(r);
});

test('a plain GET (no Upgrade) on the socket path gets 426 and a JSON error', async () => {
  const r = await rawHttp(herald.port,
    `GET /socket/server/websocket HTTP/1.1\r\nHost: 127.0.0.1:${herald.port}\r\nConnection: close\r\n\r\n`);
  assert.equal(r.status, 426);
  assert.match(r.headers.upgrade, /^websocket$/i);
  errorBody(r);
});

test('the server pings, drops a client that never pongs, keeps one that does', async () => {
  const good = await jsonNotifier(patient.url);
  const deaf = wsClient(pinger.url, { options: { autoPong: false } });
  await deaf.opened;
  deaf.send(JSON.stringify({ type: 'auth', token: 'development' }));
  assert.deepEqual(await deaf.json(), { type: 'authenticated' });
  deaf.send(JSON.stringify({ type: 'subscribe', event_type: 'server_notification' }));
  assert.deepEqual(await deaf.json(), { type: 'subscribe_response', event_type: 'server_notification' });

  await waitUntil(() => deaf.pings.length >= 1, WAIT_MS, 'a ping from herald');
  await deaf.waitClosed(WAIT_MS); // dropped: with or without a close frame
  assert.equal(deaf.ws.readyState, deaf.ws.CLOSED);

  // The client that answers keeps being pinged and keeps its subscription.
  await waitUntil(() => good.pings.length >= 2, WAIT_MS, 'pings to the ponging client');
  assert.equal(good.ws.readyState, good.ws.OPEN);
  const { status, body } = await patient.publish({ type: 'chat.message', data: { after: 'pings' } });
  assert.equal(status, 201);
  const ev = await good.json();
  assert.equal(ev.id, body.ids[0]);
  assert.deepEqual(ev.data, { after: 'pings' });
  await closeClient(good);
});

test('a raw client that answers pings by hand stays connected', async () => {
  const c = await rawWs(patient.port);
  c.text(AUTH);
  assert.deepEqual(JSON.parse(await c.nextText()), { type: 'authenticated' });
  let pings = 0;
  // Answer three pings with pongs echoing their payload; no other frame may come.
  while (pings < 3) {
    const f = await c.next(WAIT_MS, 'a ping');
    assert.equal(f.opcode, OP.PING, `unexpected opcode ${f.opcode} (${f.payload})`);
    c.send(OP.PONG, f.payload);
    pings++;
  }
  c.text(JSON.stringify({ type: 'subscribe', event_type: 'server_notification' }));
  const f = await within((async () => {
    for (;;) { const x = await c.next(); if (x.opcode !== OP.PING) return x; c.send(OP.PONG, x.payload); }
  })(), WAIT_MS, 'subscribe_response');
  assert.equal(f.opcode, OP.TEXT);
  assert.deepEqual(JSON.parse(f.payload), { type: 'subscribe_response', event_type: 'server_notification' });
  c.destroy();
});
