// SPDX-License-Identifier: MIT
// wsutil.mjs — helpers shared by the WebSocket interop tests.
//
// - Queue: messages in arrival order, read with a bounded wait.
// - notifier(): a real `ws` client on /socket/server/websocket that records
//   every message, ping and the close code/reason from the moment it opens.
// - rawWs() / rawHttp(): node:net sockets for what `ws` refuses to send
//   (unmasked frames, hand-made fragments, bad handshakes). RawWs parses
//   server frames (RFC 6455 §5.2) and builds masked client frames.
// - finish(): stops herald by PID and fails on sanitizer reports or on a
//   non-zero exit, for every test file's `after` hook.
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

// Deadline of every "wait until X happens": generous, because the waits
// return as soon as X holds and the suite runs on a loaded machine under ASan.
export const WAIT_MS = 60000;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Fishjam protobuf frames (reference §2-3).
export const PB = {
  auth: (token = 'development') => {
    const t = Buffer.from(token);
    return Buffer.concat([Buffer.from([0x3a, t.length + 2, 0x0a, t.length]), t]);
  },
  subscribeNotifications: Buffer.from([0x42, 0x02, 0x08, 0x01]),
  authenticated: Buffer.from([0x32, 0x00]),
  subscribeResponseNotifications: Buffer.from([0x4a, 0x02, 0x08, 0x01]),
};

// Resolves once the Fishjam SDK's FishjamWSNotifier `n` has been answered
// the SubscribeResponse for server notifications: herald sends it after
// adding the socket to its subscribers, so every event published from then
// on reaches the notifier. The SDK itself ignores that answer.
export function sdkSubscribed(n, ms = WAIT_MS) {
  return within(new Promise((resolve) => {
    const on = (m) => {
      if (Buffer.from(m.data).equals(PB.subscribeResponseNotifications)) {
        n.client.removeEventListener('message', on);
        resolve();
      }
    };
    n.client.addEventListener('message', on);
  }), ms, 'the SDK notifier to be subscribed');
}

// Rejects after ms with a message naming what was awaited (what: a string,
// or a function giving one at that moment).
export function within(promise, ms, what) {
  let t;
  const timeout = new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

// Polls cond() (sync or async) until truthy; fails after ms.
export async function waitUntil(cond, ms = WAIT_MS, what = 'condition', step = 25) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(step);
  }
}

// A FIFO of received items with bounded reads.
export class Queue {
  constructor() { this.items = []; this.waiters = []; this.ended = null; }
  push(v) {
    const w = this.waiters.shift();
    if (w) w.resolve(v); else this.items.push(v);
  }
  end(reason) {
    this.ended = reason;
    for (const w of this.waiters.splice(0)) w.reject(new Error(`stream ended (${reason}) while waiting for ${w.what}`));
  }
  next(ms = WAIT_MS, what = 'a message') {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.ended !== null) return Promise.reject(new Error(`stream ended (${this.ended}) while waiting for ${what}`));
    return new Promise((resolve, reject) => {
      const w = { what };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      w.resolve = (v) => { clearTimeout(t); resolve(v); };
      w.reject = (e) => { clearTimeout(t); reject(e); };
      this.waiters.push(w);
    });
  }
  async take(n, ms = WAIT_MS, what = 'messages') {
    const out = [];
    const end = Date.now() + ms;
    while (out.length < n) out.push(await this.next(Math.max(1, end - Date.now()), `${what} (${out.length}/${n} received)`));
    return out;
  }
}

// A `ws` client on herald's server socket. Every message is queued as
// {isBinary, data (Buffer), text, json?}. closed resolves to {code, reason}.
export function wsClient(baseUrl, { path = '/socket/server/websocket', options = {} } = {}) {
  const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + path, options);
  const messages = new Queue();
  const pings = [];
  ws.on('message', (data, isBinary) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    const m = { isBinary, data: buf };
    if (!isBinary) {
      m.text = buf.toString('utf8');
      try { m.json = JSON.parse(m.text); } catch { m.json = undefined; }
    }
    messages.push(m);
  });
  ws.on('ping', (p) => pings.push(p));
  ws.on('error', () => {}); // surfaced through `closed`
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => {
    messages.end(`close ${code}`);
    resolve({ code, reason: reason.toString() });
  }));
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (_, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return {
    ws, messages, pings, closed,
    opened: within(opened, WAIT_MS, 'the WebSocket to open'),
    send: (d, opts) => ws.send(d, opts),
    // The next message, which must be a JSON text frame.
    async json(ms = WAIT_MS, what = 'a JSON message') {
      const m = await messages.next(ms, what);
      assert.equal(m.isBinary, false, `expected a text frame, got binary ${m.data.toString('hex')}`);
      assert.notEqual(m.json, undefined, `expected JSON, got ${m.text}`);
      return m.json;
    },
    async binary(ms = WAIT_MS, what = 'a binary message') {
      const m = await messages.next(ms, what);
      assert.equal(m.isBinary, true, `expected a binary frame, got text ${m.text}`);
      return m.data;
    },
    waitClosed: (ms = WAIT_MS) => within(closed, ms, 'the server to close the WebSocket'),
    terminate: () => ws.terminate(),
  };
}

// A JSON-variant notifier: connected, authenticated and subscribed to the
// given event types (each answered by subscribe_response) before returning.
export async function jsonNotifier(baseUrl, { subscribe = ['server_notification'], path, options } = {}) {
  const c = wsClient(baseUrl, { path, options });
  await c.opened;
  c.send(JSON.stringify({ type: 'auth', token: 'development' }));
  assert.deepEqual(await c.json(WAIT_MS, 'authenticated'), { type: 'authenticated' });
  for (const et of subscribe) {
    c.send(JSON.stringify({ type: 'subscribe', event_type: et }));
    assert.deepEqual(await c.json(WAIT_MS, `subscribe_response ${et}`), { type: 'subscribe_response', event_type: et });
  }
  return c;
}

// Closes a client and waits for it to be closed (bounded).
export async function closeClient(c) {
  if (c.ws.readyState === WebSocket.CLOSED) return;
  c.ws.close();
  try { await within(c.closed, WAIT_MS, 'close'); } catch { c.ws.terminate(); }
}

// ---- raw sockets ---------------------------------------------------------

export function wsAccept(key) {
  return createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
}

// Parses "HTTP/1.1 ..." head + Content-Length body out of buf; null if incomplete.
function parseHttpResponse(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP response: ${lines[0]}`);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const status = Number(m[1]);
  const rest = buf.subarray(end + 4);
  if (status === 101) return { status, headers, body: Buffer.alloc(0), rest };
  const len = headers['content-length'] !== undefined ? Number(headers['content-length']) : null;
  if (len === null || rest.length < len) return len === null ? { status, headers, body: rest, rest: Buffer.alloc(0), open: true } : null;
  return { status, headers, body: rest.subarray(0, len), rest: rest.subarray(len) };
}

// Sends raw request text and reads one response (head and body).
export function rawHttp(port, request, ms = WAIT_MS) {
  return within(new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    let buf = Buffer.alloc(0);
    const done = (r) => { s.destroy(); resolve(r); };
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      try {
        const r = parseHttpResponse(buf);
        if (r && !r.open) done(r);
      } catch (e) { s.destroy(); reject(e); }
    });
    s.on('end', () => { try { const r = parseHttpResponse(buf); r ? done(r) : reject(new Error('connection closed before a response')); } catch (e) { reject(e); } });
    s.on('error', reject);
  }), ms, 'an HTTP response');
}

export function upgradeRequest(port, { path = '/socket/server/websocket', key = randomBytes(16).toString('base64'), version = '13', extra = '' } = {}) {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    (key !== null ? `Sec-WebSocket-Key: ${key}\r\n` : '') +
    (version !== null ? `Sec-WebSocket-Version: ${version}\r\n` : '') + extra + '\r\n';
}

// Builds one client frame. mask=false makes an (illegal) unmasked frame.
export function encodeFrame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0 } = {}) {
  payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = payload.length;
  const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode)];
  const mbit = mask ? 0x80 : 0;
  if (len < 126) head.push(mbit | len);
  else if (len < 65536) head.push(mbit | 126, len >> 8, len & 0xff);
  else {
    head.push(mbit | 127);
    const l = Buffer.alloc(8);
    l.writeBigUInt64BE(BigInt(len));
    head.push(...l);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

export function closePayload(code, reason = '') {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

// A raw WebSocket connection (after a verified 101). frames is a Queue of
// {fin, opcode, masked, payload}; tcpClosed resolves when the server ends
// the TCP connection.
export class RawWs {
  constructor(sock, rest) {
    this.sock = sock;
    this.frames = new Queue();
    this.buf = Buffer.alloc(0);
    this.tcpClosed = new Promise((resolve) => {
      sock.on('end', () => resolve('end'));
      sock.on('close', () => { this.frames.end('tcp closed'); resolve('close'); });
    });
    sock.on('error', () => {});
    sock.on('data', (d) => this.feed(d));
    if (rest.length) this.feed(rest);
  }
  feed(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f, off = 2;
      const masked = !!(b[1] & 0x80);
      if (len === 126) { if (b.length < 4) return; len = b.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (b.length < 10) return; len = Number(b.readBigUInt64BE(2)); off = 10; }
      if (masked) off += 4;
      if (b.length < off + len) return;
      let payload = Buffer.from(b.subarray(off, off + len));
      if (masked) { const k = b.subarray(off - 4, off); payload = payload.map((x, i) => x ^ k[i & 3]); }
      this.frames.push({ fin: !!(b[0] & 0x80), rsv: (b[0] >> 4) & 7, opcode: b[0] & 0x0f, masked, payload });
      this.buf = b.subarray(off + len);
    }
  }
  write(buf) { this.sock.write(buf); }
  send(opcode, payload, opts) { this.sock.write(encodeFrame(opcode, payload, opts)); }
  text(s, opts) { this.send(OP.TEXT, Buffer.from(s), opts); }
  binary(b, opts) { this.send(OP.BINARY, b, opts); }
  next(ms = WAIT_MS, what = 'a frame') { return this.frames.next(ms, what); }
  async nextText(ms = WAIT_MS, what = 'a text frame') {
    const f = await this.next(ms, what);
    assert.equal(f.opcode, OP.TEXT, `expected a text frame, got opcode ${f.opcode} ${f.payload.toString('hex')}`);
    assert.equal(f.fin, true);
    return f.payload.toString('utf8');
  }
  // Reads frames up to the server's close frame; returns {code, reason, frames}.
  async closeFrame(ms = WAIT_MS) {
    const seen = [];
    const end = Date.now() + ms;
    for (;;) {
      const f = await this.next(Math.max(1, end - Date.now()), `a close frame (after ${seen.map((x) => x.opcode)})`);
      if (f.opcode === OP.CLOSE) {
        assert.equal(f.masked, false, 'server frames must not be masked');
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
        return { code, reason: f.payload.subarray(2).toString('utf8'), frames: seen };
      }
      seen.push(f);
    }
  }
  waitTcpClosed(ms = WAIT_MS) { return within(this.tcpClosed, ms, 'the server to close the TCP connection'); }
  destroy() { this.sock.destroy(); }
}

// Opens a raw WebSocket to herald and checks the 101 handshake.
export function rawWs(port, { path = '/socket/server/websocket' } = {}) {
  const key = randomBytes(16).toString('base64');
  return within(new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(upgradeRequest(port, { path, key })));
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      let r;
      try { r = parseHttpResponse(buf); } catch (e) { s.destroy(); reject(e); return; }
      if (!r) return;
      s.off('data', onData);
      if (r.status !== 101) { s.destroy(); reject(new Error(`upgrade refused: HTTP ${r.status} ${r.body}`)); return; }
      try {
        assert.equal(r.headers['sec-websocket-accept'], wsAccept(key));
        assert.match(r.headers.upgrade, /^websocket$/i);
      } catch (e) { s.destroy(); reject(e); return; }
      resolve(new RawWs(s, r.rest));
    };
    s.on('data', onData);
    s.on('error', reject);
  }), WAIT_MS, 'the raw WebSocket handshake');
}

// ---- herald --------------------------------------------------------------

// Prometheus counter/gauge value (first sample of that name), or null.
export async function metric(baseUrl, name) {
  const res = await fetch(`${baseUrl}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

export const SANITIZER_RE = /ERROR: (?:Address|Leak|Thread|Memory)Sanitizer|runtime error:/;

// Stops herald by PID (SIGTERM, then SIGKILL after WAIT_MS), waits for its
// stderr to drain, removes its data dir and fails on sanitizer reports or
// an unclean exit. Safe to call twice. Returns {code, signal, log}.
export async function finish(herald) {
  const { proc } = herald;
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  if (!exited()) {
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    try { await within(gone, WAIT_MS, 'herald to exit after SIGTERM'); } catch (e) {
      proc.kill('SIGKILL');
      await gone;
      throw e;
    }
  }
  if (!proc.stderr.closed) await within(new Promise((r) => proc.stderr.once('close', r)), WAIT_MS, 'herald stderr to close').catch(() => {});
  const i = proc.spawnargs.indexOf('--data-dir');
  if (i > 0) rmSync(proc.spawnargs[i + 1], { recursive: true, force: true });
  const log = herald.log();
  assert.doesNotMatch(log, SANITIZER_RE, `sanitizer report in herald's log:\n${log}`);
  assert.equal(proc.signalCode, null, `herald died of ${proc.signalCode}:\n${log.slice(-4000)}`);
  assert.equal(proc.exitCode, 0, `herald exited with ${proc.exitCode}:\n${log.slice(-4000)}`);
  return { code: proc.exitCode, signal: proc.signalCode, log };
}
