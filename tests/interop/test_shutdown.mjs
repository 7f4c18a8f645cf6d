// SPDX-License-Identifier: MIT
// test_shutdown.mjs — SIGTERM is a graceful stop: subscribers get close
// 1001 (going away) and herald exits 0, even when a client never answers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHerald } from './herald.mjs';
import { PB, wsClient, jsonNotifier, rawWs, finish, within, WAIT_MS } from './wsutil.mjs';

const started = [];
async function start(args) {
  const h = await startHerald(args);
  started.push(h);
  return h;
}
// Every herald is stopped by PID; sanitizer reports fail the file.
after(async () => { for (const h of started) await finish(h); });

function exitOf(h, ms = WAIT_MS) {
  const { proc } = h;
  const done = proc.exitCode !== null || proc.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => proc.once('exit', r));
  return within(done.then(() => ({ code: proc.exitCode, signal: proc.signalCode })), ms, 'herald to exit');
}

test('SIGTERM: JSON and protobuf subscribers get 1001, herald exits 0', async () => {
  const h = await start([]);
  const json = await jsonNotifier(h.url);
  const metricsSub = await jsonNotifier(h.url, { subscribe: ['metrics'] });
  const pb = wsClient(h.url);
  await pb.opened;
  pb.send(PB.auth());
  pb.send(PB.subscribeNotifications);
  assert.equal((await pb.binary()).toString('hex'), '3200');
  assert.equal((await pb.binary()).toString('hex'), '4a020801');
  // Subscriptions are live before the signal.
  const r = await h.publish({ type: 'room.created', data: { room_id: 'r1' } });
  assert.equal((await json.json()).id, r.body.ids[0]);
  assert.equal((await pb.binary()).toString('hex'), '52040a027231');

  h.proc.kill('SIGTERM');
  for (const [name, c] of [['json', json], ['metrics', metricsSub], ['protobuf', pb]]) {
    const closed = await c.waitClosed(WAIT_MS);
    assert.equal(closed.code, 1001, `${name} subscriber: ${JSON.stringify(closed)}`);
  }
  assert.deepEqual(await exitOf(h), { code: 0, signal: null });
  assert.match(h.log(), /shutting down/);
});

test('SIGTERM: a client that never reads or answers the close does not keep herald alive', async () => {
  const h = await start([]);
  const raw = await rawWs(h.port);
  raw.text(JSON.stringify({ type: 'auth', token: 'development' }));
  raw.text(JSON.stringify({ type: 'subscribe', event_type: 'server_notification' }));
  assert.equal(JSON.parse(await raw.nextText()).type, 'authenticated');
  assert.equal(JSON.parse(await raw.nextText()).type, 'subscribe_response');
  const good = await jsonNotifier(h.url);
  raw.sock.pause(); // deaf from now on: no close reply, no reads

  h.proc.kill('SIGTERM');
  assert.equal((await good.waitClosed(WAIT_MS)).code, 1001);
  assert.deepEqual(await exitOf(h), { code: 0, signal: null });
  // The deaf client was sent a 1001 close frame too.
  raw.sock.resume();
  const { code } = await raw.closeFrame();
  assert.equal(code, 1001);
  raw.destroy();
});

test('SIGTERM with no clients: herald exits 0 and stops listening', async () => {
  const h = await start([]);
  const health = await fetch(`${h.url}/health`);
  assert.equal(health.status, 200);
  await health.text();
  h.proc.kill('SIGTERM');
  assert.deepEqual(await exitOf(h), { code: 0, signal: null });
  await assert.rejects(fetch(`${h.url}/health`), 'nothing listens after exit');
  const ws = new WebSocket(`ws://127.0.0.1:${h.port}/socket/server/websocket`);
  await assert.rejects(within(new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); }), 5000, 'connect'));
});

test('SIGTERM while herald starts (after it opened its store): a graceful stop once started, exit 0', async () => {
  // Sent at the log line of the store's opening, long before herald
  // listens: the signal must not take the default action (death) at any
  // point after herald began to start.
  const build = process.env.BUILD ?? new URL('../../build', import.meta.url).pathname;
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-interop-'));
  const proc = spawn(join(build, 'herald'), ['--listen', '127.0.0.1:0', '--data-dir', dataDir],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (chunk) => {
    const first = !/store: opened/.test(log);
    log += chunk;
    if (first && /store: opened/.test(log)) proc.kill('SIGTERM');
  });
  const exit = await exitOf({ proc });
  rmSync(dataDir, { recursive: true, force: true });
  assert.deepEqual(exit, { code: 0, signal: null }, log);
  assert.match(log, /received SIGTERM, shutting down/);
  assert.doesNotMatch(log, /ERROR: AddressSanitizer|runtime error:|LeakSanitizer/);
});
