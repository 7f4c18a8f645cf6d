// SPDX-License-Identifier: MIT
// test_fishjam_agent.mjs — the real Fishjam JS server SDK (0.25.0, the
// registry's) opening an agent with FishjamClient.createAgent() against
// herald's /socket/agent/websocket (issue 15 item 3; before it, the path
// answered 404 and the agent never connected). The SDK sends
// AgentRequest{auth_request{token}} on open ("//socket/agent/websocket":
// fishjamId is herald's bare URL); herald must count the agent peer as
// connected — FishjamWSNotifier sees peerConnected with peerType 2
// (PEER_TYPE_AGENT) — and, herald carrying no media, answer the agent's
// first track (createTrack sends add_track) by closing with 1003 and a
// reason naming it, after which the notifier sees peerDisconnected.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { FishjamClient, FishjamWSNotifier } from '@fishjam-cloud/js-server-sdk';
import { startHerald } from './herald.mjs';
import { sdkSubscribed, waitUntil, within, WAIT_MS } from './wsutil.mjs';

globalThis.WebSocket ??= WebSocket; // Node 20 has none; the SDK needs one

const herald = await startHerald();
after(() => herald.stop());
const config = { fishjamId: herald.url, managementToken: 'development' };

const events = [];
const notifier = new FishjamWSNotifier(config, () => {}, () => {});
for (const n of ['peerConnected', 'peerDisconnected', 'peerCrashed']) notifier.on(n, (m) => events.push({ name: n, ...m }));
await sdkSubscribed(notifier);

test('createAgent connects an agent peer; its add_track is refused with 1003', async () => {
  const fishjam = new FishjamClient(config);
  const room = await fishjam.createRoom();
  let closed;
  const onClose = new Promise((resolve) => { closed = resolve; });
  // The SDK resolves once the socket opened (a 404 upgrade never opens).
  const { agent, peer } = await within(
    fishjam.createAgent(room.id, {}, { onClose: (code, reason) => closed({ code, reason }) }),
    WAIT_MS, 'createAgent to connect');
  assert.equal(peer.type, 'agent');

  // Connected only once herald accepted the token (the SDK resolves on open).
  await waitUntil(() => events.some((e) => e.name === 'peerConnected' && e.peerId === peer.id),
    WAIT_MS, 'peerConnected of the agent');
  const connected = events.find((e) => e.name === 'peerConnected' && e.peerId === peer.id);
  assert.deepEqual({ ...connected }, { name: 'peerConnected', roomId: room.id, peerId: peer.id, peerType: 2 });
  const listed = await fishjam.getRoom(room.id);
  assert.equal(listed.peers.find((p) => p.id === peer.id).status, 'connected');

  agent.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 });
  const r = await within(onClose, WAIT_MS, 'the agent socket to be closed');
  assert.deepEqual(r, { code: 1003, reason: 'herald carries no media: add_track is not supported' });
  await waitUntil(() => events.some((e) => e.name === 'peerDisconnected' && e.peerId === peer.id),
    WAIT_MS, 'peerDisconnected of the agent');
  const gone = events.find((e) => e.name === 'peerDisconnected' && e.peerId === peer.id);
  assert.deepEqual({ ...gone }, { name: 'peerDisconnected', roomId: room.id, peerId: peer.id, peerType: 2 });
  assert.ok(!events.some((e) => e.name === 'peerCrashed'), JSON.stringify(events));
});

test('an agent socket with a wrong token is closed 4003', async () => {
  const fishjam = new FishjamClient(config);
  const room = await fishjam.createRoom();
  // A webrtc peer's token is no agent's: the SDK's FishjamAgent with it.
  const res = await fetch(`${herald.url}/room/${room.id}/peer`, {
    method: 'POST', headers: { authorization: 'Bearer development', 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'webrtc' }),
  });
  const { data } = await res.json();
  const ws = new WebSocket(`${herald.url.replace('http', 'ws')}/socket/agent/websocket`);
  const closedWith = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await within(new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); }),
    WAIT_MS, 'the agent socket to open');
  // AgentRequest{auth_request(1){token(1)}}, encoded by hand as the SDK does.
  const tok = Buffer.from(data.token);
  ws.send(Buffer.concat([Buffer.from([0x0a, tok.length + 2, 0x0a, tok.length]), tok]));
  assert.deepEqual(await within(closedWith, WAIT_MS, 'the close'),
    { code: 4003, reason: "invalid token: not an agent peer's token" });
});
