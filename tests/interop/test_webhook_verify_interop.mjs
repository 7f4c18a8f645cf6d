// SPDX-License-Identifier: MIT
// test_webhook_verify_interop.mjs — the C client's herald_webhook_verify
// (run by `herald-cli webhook-listen`) agrees with the real
// `standardwebhooks` library: messages signed by the library are POSTed
// to webhook-listen, and for each one the listener's answer (204 accepted
// / 401 refused) and its printed "verified" must match what the library's
// own verify says — good messages, altered body / id / timestamp, old
// and future timestamps, a wrong secret, several signatures with one
// valid, a missing header, a multi-byte UTF-8 body.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';

const build = process.env.BUILD ?? new URL('../../build', import.meta.url).pathname;
const rawKey = randomBytes(32).toString('base64');
const secret = 'whsec_' + rawKey;
const wh = new Webhook(secret);

const proc = spawn(join(build, 'herald-cli'), ['webhook-listen', '--secret', secret, '--port', '0'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '', err = '';
proc.stdout.on('data', (c) => { out += c; });
const port = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('webhook-listen did not start: ' + err)), 60000);
  proc.stderr.on('data', (c) => {
    err += c;
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
    if (m) { clearTimeout(timer); resolve(Number(m[1])); }
  });
  proc.on('exit', (code) => reject(new Error(`webhook-listen exited with ${code}: ${err}`)));
});
after(async () => {
  const code = await new Promise((r) => { proc.removeAllListeners('exit'); proc.on('exit', r); proc.kill('SIGTERM'); });
  assert.equal(code, 0, `webhook-listen exit status on SIGTERM; stderr: ${err}`);
  assert.doesNotMatch(err, /AddressSanitizer|LeakSanitizer|runtime error:/);
});

const nowS = () => Math.floor(Date.now() / 1000);
function headersFor(id, ts, payload, signer = wh) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signer.sign(id, new Date(ts * 1000), payload),
  };
}
function libraryAccepts(payload, headers) {
  try { wh.verify(payload, headers); return true; } catch { return false; }
}
let seq = 0;
async function check(name, payload, headers) {
  const lines = out.split('\n').filter(Boolean).length;
  const res = await fetch(`http://127.0.0.1:${port}/hook`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload,
  });
  const body = await res.text();
  const lib = libraryAccepts(payload, headers);
  assert.equal(res.status, lib ? 204 : 401, `${name}: listener ${res.status} ${body}, library ${lib}`);
  for (let i = 0; i < 100 && out.split('\n').filter(Boolean).length <= lines; i++)
    await new Promise((r) => setTimeout(r, 20));
  const line = JSON.parse(out.split('\n').filter(Boolean)[lines]);
  assert.equal(line.verified, lib, `${name}: printed verified`);
  if (!lib) assert.ok(JSON.parse(body).errors, `${name}: a JSON error body`);
  return lib;
}

test('herald_webhook_verify and standardwebhooks agree', async () => {
  const p = JSON.stringify({ id: '1', type: 'peer.connected', data: { n: ++seq } });
  const id = 'msg_1_ep_interop';
  const ts = nowS();
  assert.equal(await check('good', p, headersFor(id, ts, p)), true);
  assert.equal(await check('prefix-less library secret', p, headersFor(id, ts, p, new Webhook(rawKey))), true);
  assert.equal(await check('altered body', p.replace('"1"', '"2"'), headersFor(id, ts, p)), false);
  assert.equal(await check('altered id', p, { ...headersFor(id, ts, p), 'webhook-id': 'msg_2_ep_interop' }), false);
  assert.equal(await check('altered timestamp', p, { ...headersFor(id, ts, p), 'webhook-timestamp': String(ts + 1) }), false);
  assert.equal(await check('10 minutes old', p, headersFor(id, ts - 600, p)), false);
  assert.equal(await check('4 minutes old', p, headersFor(id, ts - 240, p)), true);
  assert.equal(await check('10 minutes ahead', p, headersFor(id, ts + 600, p)), false);
  const other = new Webhook('whsec_' + randomBytes(32).toString('base64'));
  assert.equal(await check('wrong secret', p, headersFor(id, ts, p, other)), false);
  const both = `${other.sign(id, new Date(ts * 1000), p)} ${wh.sign(id, new Date(ts * 1000), p)}`;
  assert.equal(await check('rotation: one of two matches', p, { ...headersFor(id, ts, p), 'webhook-signature': both }), true);
  const { 'webhook-signature': _s, ...noSig } = headersFor(id, ts, p);
  assert.equal(await check('missing signature header', p, noSig), false);
  const u = JSON.stringify({ text: 'héllo wörld ✓ 🎉' });
  assert.equal(await check('multi-byte UTF-8 body', u, headersFor(id, ts, u)), true);
});
