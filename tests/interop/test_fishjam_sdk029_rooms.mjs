// SPDX-License-Identifier: MIT
// test_fishjam_sdk029_rooms.mjs — the vendored Fishjam server SDK 0.29.0's
// FishjamClient against herald, for the room API it shares with 0.25 (see
// test_fishjam_rooms.mjs for 0.25): createRoom (with every RoomConfig
// option 0.29 has, batchWebhookNotifications included), getAllRooms,
// getRoom, createPeer (webrtc, with metadata and subscribeMode),
// refreshPeerToken, subscribePeer, subscribeTracks, the livestream viewer
// and streamer tokens, deletePeer, deleteRoom; the notifier sees the whole
// life cycle in order with 0.29's string peer types, a real peer socket
// included; herald's errors map to the SDK's exceptions.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  FishjamClient, RoomNotFoundException, PeerNotFoundException, BadRequestException,
} from 'fishjam-sdk-029';
import * as sdk from 'fishjam-sdk-029';
import { startHerald } from './herald.mjs';
import { checkErrorMapping } from './sdk_errors.mjs';
import { recorder, connectPeer } from './sdk029.mjs';

const herald = await startHerald();
const config = { fishjamId: herald.url, managementToken: 'development' };
const rec = recorder(herald.url);
after(async () => { rec.close(); await herald.stop(); });
await rec.ready;

test('room and peer life cycle through FishjamClient 0.29, notified in order', async () => {
  const fishjam = new FishjamClient(config);
  const room = await fishjam.createRoom({
    maxPeers: 3, webhookUrl: 'http://127.0.0.1:1/hook', videoCodec: 'h264', roomType: 'conference',
    public: false, batchWebhookNotifications: false,
  });
  assert.equal(typeof room.id, 'string');
  assert.equal(room.config.maxPeers, 3);
  assert.equal(room.config.webhookUrl, 'http://127.0.0.1:1/hook');
  assert.equal(room.config.videoCodec, 'h264');
  assert.equal(room.config.roomType, 'conference');
  assert.deepEqual(room.peers, []);

  assert.ok((await fishjam.getAllRooms()).some((r) => r.id === room.id));
  assert.equal((await fishjam.getRoom(room.id)).id, room.id);

  const { peer, peerToken } = await fishjam.createPeer(room.id, { metadata: { name: 'alice' }, subscribeMode: 'manual' });
  assert.equal(peer.type, 'webrtc');
  assert.equal(peer.status, 'disconnected');
  assert.equal(peer.subscribeMode, 'manual');
  assert.deepEqual(peer.metadata, { name: 'alice' });
  assert.equal(typeof peerToken, 'string');
  const { peer: other } = await fishjam.createPeer(room.id);
  // herald relays no media: the subscriptions are accepted (201) and resolve.
  assert.equal(await fishjam.subscribePeer(room.id, peer.id, other.id), undefined);
  assert.equal(await fishjam.subscribeTracks(room.id, peer.id, ['t1']), undefined);
  await assert.rejects(fishjam.subscribePeer(room.id, 'nobody', other.id), PeerNotFoundException);

  // The old token stops working once refreshed.
  const newToken = await fishjam.refreshPeerToken(room.id, peer.id);
  assert.notEqual(newToken, peerToken);
  const stale = connectPeer(herald.url, peerToken);
  assert.notEqual(await stale.exited, 0);
  assert.match(stale.err, /4003.*invalid token/);

  const client = connectPeer(herald.url, newToken);
  await rec.has('peerConnected', { peerId: peer.id });
  assert.equal((await fishjam.getRoom(room.id)).peers.find((p) => p.id === peer.id).status, 'connected');
  client.proc.kill('SIGINT'); // a clean close
  assert.equal(await client.exited, 0);
  await rec.has('peerDisconnected', { peerId: peer.id });

  await fishjam.deletePeer(room.id, peer.id);
  await assert.rejects(fishjam.deletePeer(room.id, peer.id), PeerNotFoundException);
  await fishjam.deleteRoom(room.id);
  await assert.rejects(fishjam.getRoom(room.id), RoomNotFoundException);
  await rec.has('roomDeleted', { roomId: room.id });

  const mine = rec.events.filter((e) => e.roomId === room.id);
  assert.deepEqual(mine, [
    { name: 'roomCreated', roomId: room.id },
    { name: 'peerAdded', roomId: room.id, peerId: peer.id, peerType: 'webrtc' },
    { name: 'peerAdded', roomId: room.id, peerId: other.id, peerType: 'webrtc' },
    { name: 'peerConnected', roomId: room.id, peerId: peer.id, peerType: 'webrtc' },
    { name: 'peerDisconnected', roomId: room.id, peerId: peer.id, peerType: 'webrtc' },
    { name: 'peerDeleted', roomId: room.id, peerId: peer.id, peerType: 'webrtc' },
    { name: 'roomDeleted', roomId: room.id },
  ]);
  assert.deepEqual(rec.errors, []);
  assert.equal(rec.closed, null);
});

test('livestream rooms: viewer and streamer tokens', async () => {
  const fishjam = new FishjamClient(config);
  const live = await fishjam.createRoom({ roomType: 'livestream' });
  assert.equal(live.config.roomType, 'livestream');
  const viewer = await fishjam.createLivestreamViewerToken(live.id);
  const streamer = await fishjam.createLivestreamStreamerToken(live.id);
  assert.equal(typeof viewer.token, 'string');
  assert.equal(typeof streamer.token, 'string');
  assert.notEqual(viewer.token, streamer.token);
  const conf = await fishjam.createRoom();
  await assert.rejects(fishjam.createLivestreamViewerToken(conf.id), BadRequestException);
  await assert.rejects(fishjam.createLivestreamStreamerToken(conf.id), BadRequestException);
  await fishjam.deleteRoom(live.id);
  await fishjam.deleteRoom(conf.id);
});

test('the SDK 0.29 maps herald errors to its exceptions', async () => {
  await checkErrorMapping(sdk, config);
});
