// SPDX-License-Identifier: MIT
// test_fishjam_rooms.mjs — the real Fishjam JS server SDK's FishjamClient
// (REST room API) and FishjamWSNotifier against herald: the whole room and
// peer life cycle, its notifications in order, and the SDK's exceptions.
// The peer connects with its token through herald's own C client
// (`herald-cli peer connect`), as an app would.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  FishjamClient, FishjamWSNotifier, RoomNotFoundException, PeerNotFoundException,
} from '@fishjam-cloud/js-server-sdk';
import * as sdk from '@fishjam-cloud/js-server-sdk';
import { startHerald } from './herald.mjs';
import { checkErrorMapping } from './sdk_errors.mjs';
import { sdkSubscribed, WAIT_MS } from './wsutil.mjs';

globalThis.WebSocket ??= WebSocket;

const herald = await startHerald();
after(() => herald.stop());
const config = { fishjamId: herald.url, managementToken: 'development' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Collects every notification the SDK emits, in arrival order.
const events = [];
const names = ['roomCreated', 'roomDeleted', 'roomCrashed', 'peerAdded', 'peerDeleted', 'peerConnected',
  'peerDisconnected', 'peerCrashed', 'peerMetadataUpdated'];
const notifier = new FishjamWSNotifier(config, () => {}, () => {});
for (const n of names) notifier.on(n, (m) => events.push({ name: n, ...m }));
await sdkSubscribed(notifier); // herald answers the subscribe once it holds

async function waitFor(pred, what, ms = WAIT_MS) {
  for (let t = 0; t < ms; t += 25) { if (pred()) return; await sleep(25); }
  throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events)}`);
}

// A peer client: `herald-cli peer connect`, printing events as JSON lines.
function connectPeer(token) {
  const cli = join(process.env.BUILD ?? new URL('../../build', import.meta.url).pathname, 'herald-cli');
  const p = spawn(cli, ['--server', herald.url, 'peer', 'connect', '--peer-token', token], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { lines: [], err: '', proc: p, exited: new Promise((r) => p.on('exit', (code) => r(code))) };
  p.stdout.on('data', (d) => out.lines.push(...d.toString().split('\n').filter(Boolean)));
  p.stderr.on('data', (d) => { out.err += d; });
  return out;
}

test('room and peer life cycle through FishjamClient, notified in order', async () => {
  const fishjam = new FishjamClient(config);
  const room = await fishjam.createRoom({ maxPeers: 3, webhookUrl: 'http://127.0.0.1:1/hook', videoCodec: 'h264' });
  assert.equal(typeof room.id, 'string');
  assert.equal(room.config.maxPeers, 3);
  assert.equal(room.config.webhookUrl, 'http://127.0.0.1:1/hook');
  assert.deepEqual(room.peers, []);

  assert.ok((await fishjam.getAllRooms()).some((r) => r.id === room.id));
  assert.equal((await fishjam.getRoom(room.id)).id, room.id);

  const { peer, peerToken } = await fishjam.createPeer(room.id, { metadata: { name: 'alice' } });
  assert.equal(peer.status, 'disconnected');
  assert.deepEqual(peer.metadata, { name: 'alice' });
  assert.equal(typeof peerToken, 'string');

  // The old token stops working once refreshed.
  const newToken = await fishjam.refreshPeerToken(room.id, peer.id);
  assert.notEqual(newToken, peerToken);
  const stale = connectPeer(peerToken);
  assert.notEqual(await stale.exited, 0);
  assert.match(stale.err, /4003.*invalid token/);

  const client = connectPeer(newToken);
  await waitFor(() => events.some((e) => e.name === 'peerConnected'), 'peerConnected');
  assert.equal((await fishjam.getRoom(room.id)).peers[0].status, 'connected');
  client.proc.kill('SIGINT'); // a clean close
  assert.equal(await client.exited, 0);
  await waitFor(() => events.some((e) => e.name === 'peerDisconnected'), 'peerDisconnected');

  await fishjam.deletePeer(room.id, peer.id);
  await assert.rejects(fishjam.deletePeer(room.id, peer.id), PeerNotFoundException);
  await fishjam.deleteRoom(room.id);
  await assert.rejects(fishjam.getRoom(room.id), RoomNotFoundException);
  await waitFor(() => events.some((e) => e.name === 'roomDeleted'), 'roomDeleted');

  const mine = events.filter((e) => e.roomId === room.id);
  assert.deepEqual(mine.map((e) => e.name),
    ['roomCreated', 'peerAdded', 'peerConnected', 'peerDisconnected', 'peerDeleted', 'roomDeleted']);
  for (const e of mine.filter((e) => e.name.startsWith('peer'))) {
    assert.equal(e.peerId, peer.id);
    assert.equal(e.peerType, 1);
  }
});

test('the SDK maps herald errors to its exceptions', async () => {
  await checkErrorMapping(sdk, config);
});
