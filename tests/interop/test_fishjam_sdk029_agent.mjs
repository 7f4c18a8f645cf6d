// SPDX-License-Identifier: MIT
// test_fishjam_sdk029_agent.mjs — createAgent() of both Fishjam SDKs
// against herald's agent socket /socket/agent/websocket (issue 15 item 3).
// SDK 0.29.0 (vendored) createAgent derives the socket's URL from the
// peer's peer_websocket_url (a URL without a scheme is taken as https, so
// wss); the registry's 0.25.0 from fishjamId (so it asks for
// "//socket/agent/websocket"), as 0.29's FishjamAgent does without a
// peer_websocket_url (agentPeer below). Either authenticates with
// AgentRequest{auth_request{token}}; the agent peer then counts as
// connected (peerConnected with peerType agent, status "connected") and as
// disconnected once its socket closes, exactly like a peer socket;
// deleting the peer or its room closes the socket (4004, 4005) as it
// does a peer socket's;
// a media request (herald carries no media) is refused with 1003 naming it.
// Runs under --experimental-websocket: both SDKs use the global WebSocket.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { FishjamClient, FishjamAgent } from 'fishjam-sdk-029';
import { FishjamClient as FishjamClient025 } from '@fishjam-cloud/js-server-sdk';
import { startHerald } from './herald.mjs';
import { within, waitUntil, WAIT_MS } from './wsutil.mjs';
import { hapi } from './webhook_receiver.mjs';
import { recorder } from './sdk029.mjs';

// --peer-url-scheme ws: peer_websocket_url says ws:// (herald has no TLS
// here); without it the URL has no scheme, as Fishjam's, and SDK 0.29's
// createAgent would open wss:// (checked below).
const herald = await startHerald(['--peer-url-scheme', 'ws']);
const config = { fishjamId: herald.url, managementToken: 'development' };
const rec = recorder(herald.url);
after(async () => { rec.close(); await herald.stop(); });
await rec.ready;

// An agent peer made through the REST API and its FishjamAgent built as
// createAgent builds it, minus the peer_websocket_url: the SDK then derives
// the socket's URL from fishjamId (ws://…//socket/agent/websocket).
async function agentPeer(roomId, callbacks) {
  const r = await hapi(herald.url, 'POST', `/room/${roomId}/peer`, { type: 'agent', options: {} });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const agent = new FishjamAgent(config, r.body.data.token, callbacks);
  await within(agent.awaitConnected(), WAIT_MS, 'the agent socket to open');
  return { agent, peer: r.body.data.peer, url: r.body.data.peer_websocket_url };
}

const status = async (fj, roomId, peerId) => (await fj.getRoom(roomId)).peers.find((p) => p.id === peerId)?.status;

test('SDK 0.29 createAgent connects: the agent peer is connected, then disconnected when it leaves', async () => {
  const fishjam = new FishjamClient(config);
  const room = await fishjam.createRoom();
  // createAgent opens the URL it derives from peer_websocket_url: one
  // without a scheme is taken as https (wss://), which a plain-HTTP herald
  // cannot answer (and Node 20's WebSocket then never reports a close, so
  // createAgent would hang): with --peer-url-scheme ws it is ws://.
  const { agent: a0, url } = await agentPeer(room.id);
  a0.disconnect();
  assert.match(url, /^(ws|http):\/\//,
    `peer_websocket_url "${url}": SDK 0.29 createAgent would open wss://${url.replace('/socket/peer/', '/socket/agent/')} on a plain-HTTP herald`);
  let closed = null;
  const { agent, peer } = await within(fishjam.createAgent(room.id, { subscribeMode: 'auto' },
    { onClose: (code, reason) => { closed = { code, reason }; } }), WAIT_MS, 'createAgent');
  assert.ok(agent instanceof FishjamAgent);
  assert.equal(peer.type, 'agent');
  await rec.has('peerConnected', { peerId: peer.id });
  assert.equal(await status(fishjam, room.id, peer.id), 'connected');
  agent.disconnect();
  await rec.has('peerDisconnected', { peerId: peer.id });
  assert.equal(await status(fishjam, room.id, peer.id), 'disconnected');
  assert.equal(rec.events.some((e) => e.name === 'peerCrashed' && e.peerId === peer.id), false);
  assert.deepEqual(rec.events.filter((e) => e.peerId === peer.id).map((e) => [e.name, e.peerType]), [
    ['peerAdded', 'agent'], ['peerConnected', 'agent'], ['peerDisconnected', 'agent'],
  ]);
  await waitUntil(() => closed, WAIT_MS, 'the agent socket to close');
  await fishjam.deleteRoom(room.id);
});

test('deleting a connected agent peer closes its socket like a peer socket (4004)', async () => {
  const fishjam = new FishjamClient(config);
  const room = await fishjam.createRoom();
  let closed = null;
  const { peer } = await agentPeer(room.id, { onClose: (code, reason) => { closed = { code, reason }; } });
  await rec.has('peerConnected', { peerId: peer.id });
  await fishjam.deletePeer(room.id, peer.id);
  await waitUntil(() => closed, WAIT_MS, 'the agent socket to close');
  assert.deepEqual(closed, { code: 4004, reason: 'peer deleted' });
  await rec.has('peerDeleted', { peerId: peer.id });
  assert.deepEqual(rec.events.filter((e) => e.peerId === peer.id).map((e) => e.name),
    ['peerAdded', 'peerConnected', 'peerDisconnected', 'peerDeleted']);
  await fishjam.deleteRoom(room.id);
});

test('deleting the room of a connected agent closes its socket like a peer socket (4005)', async () => {
  const fishjam = new FishjamClient(config);
  const room = await fishjam.createRoom();
  let closed = null;
  const { peer } = await agentPeer(room.id, { onClose: (code, reason) => { closed = { code, reason }; } });
  await rec.has('peerConnected', { peerId: peer.id });
  await fishjam.deleteRoom(room.id);
  await waitUntil(() => closed, WAIT_MS, 'the agent socket to close');
  assert.deepEqual(closed, { code: 4005, reason: 'room deleted' });
});

test('herald carries no media: an agent track request is refused (1003, naming it) and the agent is disconnected', async () => {
  const fishjam = new FishjamClient(config);
  const room = await fishjam.createRoom();
  let closed = null;
  const { agent, peer } = await agentPeer(room.id, { onClose: (code, reason) => { closed = { code, reason }; } });
  await rec.has('peerConnected', { peerId: peer.id });
  agent.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 });
  await waitUntil(() => closed, WAIT_MS, 'the agent socket to close');
  assert.equal(closed.code, 1003, JSON.stringify(closed));
  assert.match(closed.reason, /herald carries no media: add_track/);
  await rec.has('peerDisconnected', { peerId: peer.id });
  assert.equal(await status(fishjam, room.id, peer.id), 'disconnected');
  await fishjam.deleteRoom(room.id);
});

test('an agent socket with a wrong token is refused and nothing connects', async () => {
  const fishjam = new FishjamClient(config);
  const room = await fishjam.createRoom();
  let closed = null;
  const agent = new FishjamAgent(config, 'not-an-agent-token', { onClose: (code, reason) => { closed = { code, reason }; } });
  await waitUntil(() => closed, WAIT_MS, 'the refused agent socket to close');
  assert.deepEqual(closed, { code: 4003, reason: 'invalid token' });
  agent.disconnect();
  // A webrtc peer's token is not an agent's.
  const { peerToken } = await fishjam.createPeer(room.id);
  closed = null;
  const asWebrtc = new FishjamAgent(config, peerToken, { onClose: (code, reason) => { closed = { code, reason }; } });
  await waitUntil(() => closed, WAIT_MS, 'the agent socket with a webrtc token to close');
  assert.equal(closed.code, 4003, JSON.stringify(closed));
  asWebrtc.disconnect();
  assert.equal(rec.events.some((e) => e.name === 'peerConnected' && e.roomId === room.id), false);
  await fishjam.deleteRoom(room.id);
});

test('SDK 0.25 createAgent connects too ("//socket/agent/websocket")', async () => {
  const fishjam = new FishjamClient025(config);
  const room = await fishjam.createRoom();
  const { agent, peer } = await within(fishjam.createAgent(room.id), WAIT_MS, 'createAgent (0.25)');
  await rec.has('peerConnected', { peerId: peer.id });
  assert.equal(rec.events.find((e) => e.name === 'peerConnected' && e.peerId === peer.id).peerType, 'agent');
  agent.disconnect();
  await rec.has('peerDisconnected', { peerId: peer.id });
  await fishjam.deleteRoom(room.id);
});
