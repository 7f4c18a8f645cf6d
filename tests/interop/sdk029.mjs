// SPDX-License-Identifier: MIT
// sdk029.mjs — helpers shared by the test_fishjam_sdk029_*.mjs tests, which
// drive the vendored Fishjam server SDK 0.29.0 (vendor/README.md; imported
// as 'fishjam-sdk-029' beside the registry's 0.25.0). They run under
// `node --experimental-websocket` (tests/CMakeLists.txt): 0.29 uses the
// global WebSocket, as it does on Node 22+, so no `ws` shim here.
//
// - recorder(): a FishjamWSNotifier that records every event it emits, in
//   arrival order, and its close; `ready` resolves once herald has
//   subscribed it.
// - connectPeer(): a peer client (`herald-cli peer connect`), as an app
//   would connect with the token the SDK got.
// - consoleErrors(): captures console.error calls (the SDK's way of
//   reporting a frame it cannot decode).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { FishjamWSNotifier } from 'fishjam-sdk-029';
import { sdkSubscribed, waitUntil, WAIT_MS } from './wsutil.mjs';

if (typeof globalThis.WebSocket !== 'function')
  throw new Error('the SDK 0.29 tests need a global WebSocket: run node with --experimental-websocket');

// Every event FishjamWSNotifier 0.29.0 emits (its expectedEventsList).
export const SDK029_EVENTS = ['roomCreated', 'roomDeleted', 'roomCrashed', 'peerAdded', 'peerDeleted',
  'peerConnected', 'peerDisconnected', 'peerMetadataUpdated', 'peerCrashed', 'streamerConnected',
  'streamerDisconnected', 'viewerConnected', 'viewerDisconnected', 'trackAdded', 'trackRemoved',
  'trackMetadataUpdated', 'trackForwarding', 'trackForwardingRemoved', 'vadNotification', 'channelAdded',
  'channelRemoved'];

export function recorder(url, token = 'development') {
  const r = { events: [], errors: [], closed: null };
  r.notifier = new FishjamWSNotifier({ fishjamId: url, managementToken: token },
    (e) => r.errors.push(e), (code, reason) => { r.closed = { code, reason }; });
  // As plain JSON: members of a oneof the message does not use are
  // present as undefined in the SDK's objects; they are dropped here.
  for (const name of SDK029_EVENTS) r.notifier.on(name, (m) => r.events.push(JSON.parse(JSON.stringify({ name, ...m }))));
  r.ready = token === 'development' ? sdkSubscribed(r.notifier) : Promise.resolve();
  // Waits until pred(events) holds; returns its value.
  r.waitFor = (pred, what, ms = WAIT_MS) =>
    waitUntil(() => pred(r.events), ms, `${what}; events so far: ${JSON.stringify(r.events.slice(-20))}`);
  r.has = (name, fields = {}) =>
    r.waitFor((ev) => ev.find((e) => e.name === name && Object.entries(fields).every(([k, v]) => e[k] === v)),
      `${name} ${JSON.stringify(fields)}`);
  r.close = () => r.notifier.disconnect();
  return r;
}

// A peer client: `herald-cli peer connect`, its stdout as JSON lines.
export function connectPeer(url, token) {
  const cli = join(process.env.BUILD ?? new URL('../../build', import.meta.url).pathname, 'herald-cli');
  const p = spawn(cli, ['--server', url, 'peer', 'connect', '--peer-token', token], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { lines: [], err: '', proc: p, exited: new Promise((r) => p.on('exit', (code) => r(code))) };
  p.stdout.on('data', (d) => out.lines.push(...d.toString().split('\n').filter(Boolean)));
  p.stderr.on('data', (d) => { out.err += d; });
  return out;
}

// Replaces console.error until restore(); calls are kept in `calls`.
export function consoleErrors() {
  const orig = console.error;
  const c = { calls: [] };
  console.error = (...args) => { c.calls.push(args); };
  c.restore = () => { console.error = orig; };
  return c;
}
