// SPDX-License-Identifier: MIT
// webhook_receiver.mjs — a local HTTP receiver for herald's webhooks, plus
// helpers shared by the test_webhooks_*.mjs files.
//
// - startReceiver(): a node:http server on 127.0.0.1 (or another loopback
//   address) that records every request (method, path, headers, raw body,
//   arrival time) and answers what `respond(rec)` says: a status, headers,
//   a body, a delay, or `hang` (never answer). It can start "down" (port
//   reserved, nothing listening) and be brought up or down again on the
//   same port. It tracks TCP connections and concurrent requests.
// - verifyWebhook(): Standard Webhooks verification with the real
//   `standardwebhooks` library. That library turns a Buffer body into a
//   UTF-8 string before signing, so it cannot verify binary (protobuf)
//   bodies that are not valid UTF-8; for those the same check (HMAC-SHA256
//   of "<id>.<timestamp>.<raw body>", ±5 min) is done here on the raw bytes.
// - hapi(): JSON requests to herald's REST API; settled(): waits until
//   herald has nothing pending for an endpoint (the positive sync for
//   "nothing more was sent").
// - pbName(): the member set in a decoded Fishjam ServerMessage.
import http from 'node:http';
import net from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { Queue, within, waitUntil, sleep, WAIT_MS } from './wsutil.mjs';

export { sleep, within, waitUntil, WAIT_MS };

// A TCP port that was free a moment ago on host.
export async function freePort(host = '127.0.0.1') {
  const s = net.createServer();
  await new Promise((resolve, reject) => { s.once('error', reject); s.listen(0, host, resolve); });
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// opts.host, opts.port (0 = pick one), opts.path (for `url`), opts.down
// (reserve the port but do not listen yet), opts.respond(rec) -> {status,
// headers, body, delayMs, hang}. `respond` can be replaced at any time.
export async function startReceiver(opts = {}) {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port || await freePort(host);
  const r = {
    host, port,
    url: `http://${host}:${port}${opts.path ?? '/hook'}`,
    requests: [],           // every request, in arrival order
    queue: new Queue(),     // the same, for bounded reads
    respond: opts.respond ?? (() => ({ status: 200, body: 'ok' })),
    connections: 0,         // TCP connections accepted
    inFlight: 0,            // requests received and not answered yet
    maxInFlight: 0,
    server: null,
  };
  const sockets = new Set();
  const hanging = new Set();

  function handler(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const rec = {
        n: r.requests.length, method: req.method, path: req.url, headers: req.headers, body,
        at: Date.now(), webhookId: req.headers['webhook-id'],
      };
      rec.text = body.toString('utf8');
      try { rec.json = JSON.parse(rec.text); } catch { rec.json = undefined; }
      r.requests.push(rec);
      r.inFlight++;
      r.maxInFlight = Math.max(r.maxInFlight, r.inFlight);
      res.on('close', () => { r.inFlight--; hanging.delete(res); });
      r.queue.push(rec);
      let a;
      try { a = (await r.respond(rec)) ?? {}; } catch (e) { a = { status: 599, body: String(e) }; }
      if (a.hang) { hanging.add(res); return; }
      if (a.delayMs) await sleep(a.delayMs);
      if (res.destroyed) return;
      res.writeHead(a.status ?? 200, a.headers ?? {});
      res.end(a.body ?? '');
    });
  }

  // Starts listening (on the same port every time).
  r.up = async () => {
    const s = http.createServer(handler);
    s.keepAliveTimeout = 2000;
    s.on('connection', (sock) => { r.connections++; sockets.add(sock); sock.on('close', () => sockets.delete(sock)); });
    await new Promise((resolve, reject) => { s.once('error', reject); s.listen(port, host, resolve); });
    r.server = s;
  };
  // Answers every hanging request with `a` ({status, body}) now.
  r.release = (a = { status: 200 }) => {
    for (const res of [...hanging]) {
      hanging.delete(res);
      if (!res.destroyed) { res.writeHead(a.status ?? 200, a.headers ?? {}); res.end(a.body ?? ''); }
    }
  };
  // Stops listening and drops every connection (hanging requests too).
  r.down = async () => {
    const s = r.server;
    r.server = null;
    if (!s) return;
    const closed = new Promise((resolve) => s.close(resolve));
    for (const sock of sockets) sock.destroy();
    await within(closed, WAIT_MS, 'the receiver to close');
  };
  r.close = r.down;
  // The next request (bounded wait).
  r.next = (ms = WAIT_MS, what = 'a webhook request') => r.queue.next(ms, what);
  // Waits until pred(requests) is truthy; returns its value.
  r.waitFor = (pred, ms = WAIT_MS, what = 'webhook requests') =>
    waitUntil(() => pred(r.requests), ms, `${what} (got ${r.requests.length}: ${r.summary()})`);
  // Waits for at least n requests in all.
  r.waitCount = (n, ms = WAIT_MS, what = `${n} webhook requests`) => r.waitFor((q) => q.length >= n && q, ms, what);
  r.summary = () => r.requests.slice(-20).map((q) => `${q.webhookId ?? '-'}:${q.json?.type ?? q.body.length + 'B'}`).join(' ');
  if (!opts.down) await r.up();
  return r;
}

// ---- Standard Webhooks ------------------------------------------------------

const isUtf8 = (b) => Buffer.from(b.toString('utf8'), 'utf8').equals(b);

// The v1 signatures of a request's webhook-signature header.
export function signatures(rec) {
  return String(rec.headers['webhook-signature'] ?? '').split(' ').filter(Boolean)
    .map((s) => { const i = s.indexOf(','); return { version: s.slice(0, i), sig: s.slice(i + 1) }; });
}

// The expected v1 signature of rec for secret, over the raw body bytes.
export function expectedSignature(secret, rec) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const ts = rec.headers['webhook-timestamp'];
  return createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(`${rec.headers['webhook-id']}.${ts}.`), rec.body]))
    .digest('base64');
}

// Verifies rec with secret; throws (WebhookVerificationError or an
// assertion) when it does not verify. UTF-8 bodies go through the
// `standardwebhooks` library; binary ones through the same check on raw bytes.
export function verifyWebhook(secret, rec) {
  const headers = {
    'webhook-id': rec.headers['webhook-id'],
    'webhook-timestamp': rec.headers['webhook-timestamp'],
    'webhook-signature': rec.headers['webhook-signature'],
  };
  if (isUtf8(rec.body)) {
    new Webhook(secret).verify(rec.body.toString('utf8'), headers, { jsonParse: false });
    return true;
  }
  if (!headers['webhook-id'] || !headers['webhook-timestamp'] || !headers['webhook-signature'])
    throw new Error('Missing required headers');
  const ts = Number.parseInt(headers['webhook-timestamp'], 10);
  if (!Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > 300) throw new Error('timestamp out of tolerance');
  const want = Buffer.from(expectedSignature(secret, rec));
  for (const { version, sig } of signatures(rec)) {
    if (version === 'v1' && sig.length === want.length && timingSafeEqual(Buffer.from(sig), want)) return true;
  }
  throw new Error('No matching signature found');
}

// True when rec verifies with secret.
export function verifies(secret, rec) {
  try { return verifyWebhook(secret, rec); } catch { return false; }
}

// ---- herald's REST API ------------------------------------------------------

// A JSON request; returns {status, body (parsed JSON or text or null), headers}.
export async function hapi(baseUrl, method, path, body, token = 'development') {
  const headers = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await within(fetch(baseUrl + path, { method, headers, body: payload }), WAIT_MS, `${method} ${path}`);
  const text = await res.text();
  let parsed = text.length ? text : null;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed, headers: res.headers };
}

// Waits until herald owes endpoint id nothing: no delivery of it is
// pending in the outbox (every owed row is delivered or failed, and every
// attempt made has been recorded). Outbox rows are written in the same
// transaction as their events, so after a publish has been answered this
// proves herald has sent, and will send, nothing more for those events.
// Returns the endpoint.
export async function settled(baseUrl, id, ms = WAIT_MS) {
  let last;
  try {
    await waitUntil(async () => {
      last = await hapi(baseUrl, 'GET', `/v1/webhooks/${id}`);
      if (last.status !== 200) throw new Error(`GET /v1/webhooks/${id}: ${last.status} ${JSON.stringify(last.body)}`);
      return last.body.pending === 0;
    }, ms, `nothing pending for webhook ${id}`, 50);
  } catch (e) {
    e.message += ` (last: ${JSON.stringify(last?.body)})`;
    throw e;
  }
  return last.body;
}

// ---- Fishjam protobuf -------------------------------------------------------

// The one member set in a decoded ServerMessage: [name, value].
export function pbName(msg) {
  const set = Object.entries(msg).filter(([, v]) => v !== undefined && v !== null);
  if (set.length !== 1) throw new Error(`expected exactly one ServerMessage member, got ${JSON.stringify(set)}`);
  return set[0];
}
