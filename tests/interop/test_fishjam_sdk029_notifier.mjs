// SPDX-License-Identifier: MIT
// test_fishjam_sdk029_notifier.mjs — the vendored Fishjam SDK 0.29.0's
// FishjamWSNotifier on herald's server socket (fishjamId = herald's URL,
// so it asks for "//socket/server/websocket", as 0.25 does): every event
// type it emits that herald had before issue 15 arrives, published through
// POST /v1/events, with 0.29's mapping (string peerType, track type); the
// members 0.27+ drops (component.crashed, stream.*) and JSON-only events
// reach it as nothing at all, without a console error; a wrong management
// token ends in onClose(1000, "invalid token").
// The new members 30-32 are in test_fishjam_sdk029_new_events.mjs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald } from './herald.mjs';
import { within, WAIT_MS } from './wsutil.mjs';
import { recorder, consoleErrors } from './sdk029.mjs';

const herald = await startHerald();
const recs = [];
after(async () => { for (const r of recs) r.close(); await herald.stop(); });

test('every pre-0.26 event type reaches FishjamWSNotifier 0.29 as it maps it; dropped members are silent', async () => {
  const rec = recorder(herald.url);
  recs.push(rec);
  await rec.ready;
  const errs = consoleErrors();
  try {
    const r = 'room-n';
    const track = { id: 'tr1', type: 'video', metadata: { w: 640 } };
    const res = await herald.publish([
      { type: 'room.created', room_id: r, data: {} },
      { type: 'peer.added', room_id: r, data: { peer_id: 'p1', peer_type: 'webrtc' } },
      { type: 'peer.added', room_id: r, data: { peerId: 'a1', peerType: 'agent' } },
      { type: 'peer.connected', room_id: r, data: { peer_id: 'p1', peer_type: 'webrtc' } },
      { type: 'peer.metadata_updated', room_id: r, data: { peer_id: 'p1', peer_type: 'webrtc', metadata: { name: 'bob' } } },
      { type: 'track.added', room_id: r, data: { peer_id: 'p1', track } },
      { type: 'track.metadata_updated', room_id: r, data: { peer_id: 'p1', track: { ...track, metadata: { w: 1280 } } } },
      { type: 'track.removed', room_id: r, data: { peer_id: 'p1', track: { id: 'tr1', type: 'audio' } } },
      { type: 'channel.added', room_id: r, data: { peer_id: 'p1', channel_id: 'c1' } },
      { type: 'channel.removed', room_id: r, data: { peer_id: 'p1', channel_id: 'c1' } },
      { type: 'component.crashed', room_id: r, data: { component_id: 'hls' } }, // 0.27+ drops it
      { type: 'stream.connected', data: { stream_id: 's1' } },                   // 0.27+ drops it
      { type: 'chat.message', room_id: r, data: { text: 'JSON only, no protobuf form' } },
      { type: 'streamer.connected', data: { stream_id: 's1', streamer_id: 'st1' } },
      { type: 'viewer.connected', data: { stream_id: 's1', viewer_id: 'v1' } },
      { type: 'viewer.disconnected', data: { stream_id: 's1', viewer_id: 'v1' } },
      { type: 'streamer.disconnected', data: { stream_id: 's1', streamer_id: 'st1' } },
      { type: 'stream.disconnected', data: { stream_id: 's1' } },                // 0.27+ drops it
      { type: 'peer.crashed', room_id: r, data: { peer_id: 'p1', peer_type: 'webrtc', reason: 'connection lost' } },
      { type: 'peer.disconnected', room_id: r, data: { peer_id: 'a1', peer_type: 'agent' } },
      { type: 'peer.deleted', room_id: r, data: { peer_id: 'a1', peer_type: 'agent' } },
      { type: 'room.crashed', room_id: r, data: {} },
      { type: 'room.deleted', room_id: r, data: {} },
    ]);
    assert.equal(res.status, 201);
    await rec.has('roomDeleted', { roomId: r });
    assert.deepEqual(rec.events, [
      { name: 'roomCreated', roomId: r },
      { name: 'peerAdded', roomId: r, peerId: 'p1', peerType: 'webrtc' },
      { name: 'peerAdded', roomId: r, peerId: 'a1', peerType: 'agent' },
      { name: 'peerConnected', roomId: r, peerId: 'p1', peerType: 'webrtc' },
      { name: 'peerMetadataUpdated', roomId: r, peerId: 'p1', metadata: '{"name":"bob"}', peerType: 'webrtc' },
      { name: 'trackAdded', roomId: r, peerId: 'p1', track: { id: 'tr1', type: 'video', metadata: '{"w":640}' } },
      { name: 'trackMetadataUpdated', roomId: r, peerId: 'p1', track: { id: 'tr1', type: 'video', metadata: '{"w":1280}' } },
      { name: 'trackRemoved', roomId: r, peerId: 'p1', track: { id: 'tr1', type: 'audio', metadata: '' } },
      { name: 'channelAdded', roomId: r, peerId: 'p1', channelId: 'c1' },
      { name: 'channelRemoved', roomId: r, peerId: 'p1', channelId: 'c1' },
      { name: 'streamerConnected', streamId: 's1', streamerId: 'st1' },
      { name: 'viewerConnected', streamId: 's1', viewerId: 'v1' },
      { name: 'viewerDisconnected', streamId: 's1', viewerId: 'v1' },
      { name: 'streamerDisconnected', streamId: 's1', streamerId: 'st1' },
      { name: 'peerCrashed', roomId: r, peerId: 'p1', reason: 'connection lost', peerType: 'webrtc' },
      { name: 'peerDisconnected', roomId: r, peerId: 'a1', peerType: 'agent' },
      { name: 'peerDeleted', roomId: r, peerId: 'a1', peerType: 'agent' },
      { name: 'roomCrashed', roomId: r },
      { name: 'roomDeleted', roomId: r },
    ]);
  } finally {
    errs.restore();
  }
  assert.deepEqual(errs.calls, [], 'no frame the SDK could not decode');
  assert.deepEqual(rec.errors, []);
  assert.equal(rec.closed, null);
});

test('two notifiers each get every event; a wrong token ends in onClose(1000, "invalid token")', async () => {
  const a = recorder(herald.url), b = recorder(herald.url);
  recs.push(a, b);
  await Promise.all([a.ready, b.ready]);
  const bad = recorder(herald.url, 'not-the-token');
  recs.push(bad);
  await within((async () => { while (!bad.closed) await new Promise((r) => setTimeout(r, 25)); })(), WAIT_MS, 'the bad notifier to be closed');
  assert.deepEqual(bad.closed, { code: 1000, reason: 'invalid token' });
  assert.equal((await herald.publish({ type: 'room.created', room_id: 'both', data: {} })).status, 201);
  await a.has('roomCreated', { roomId: 'both' });
  await b.has('roomCreated', { roomId: 'both' });
  assert.deepEqual(bad.events, []);
});
