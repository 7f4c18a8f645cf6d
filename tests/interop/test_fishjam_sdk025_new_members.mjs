// SPDX-License-Identifier: MIT
// test_fishjam_sdk025_new_members.mjs — what a listener on the registry's
// Fishjam SDK 0.25.0 sees when herald publishes a notification 0.25 does
// not know (track.forwarding 30, track.forwarding_removed 31,
// vad.notification 32; issue 15 items 4 and 8). The notifier sends no SDK
// version, so herald sends them to every server socket, as Fishjam does;
// 0.25 decodes such a frame as an empty ServerMessage and logs one console
// error per frame ("Couldn't decode websocket server message"), emits
// nothing for it, and keeps working: the events before and after arrive,
// in order, and the socket stays open.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { FishjamWSNotifier } from '@fishjam-cloud/js-server-sdk';
import { startHerald, once } from './herald.mjs';
import { sdkSubscribed } from './wsutil.mjs';

globalThis.WebSocket ??= WebSocket; // Node 20 has no global WebSocket; 0.25 needs one

const herald = await startHerald();
let closed = null;
const n = new FishjamWSNotifier({ fishjamId: herald.url, managementToken: 'development' },
  () => {}, (code, reason) => { closed = { code, reason }; });
after(async () => { n.client.close(); await herald.stop(); });
await sdkSubscribed(n);

test('an 0.25 listener logs one console error per 30-32 frame and keeps receiving', async () => {
  const got = [];
  for (const name of ['roomCreated', 'peerAdded', 'roomDeleted']) n.on(name, (m) => got.push({ name, ...m }));
  const errors = [];
  const orig = console.error;
  console.error = (...args) => errors.push(args);
  try {
    const deleted = once(n, 'roomDeleted');
    const r = 'room-old-sdk';
    const res = await herald.publish([
      { type: 'room.created', room_id: r, data: {} },
      { type: 'track.forwarding', room_id: r, data: { peer_id: 'p1', composition_url: 'https://c.example/1', input_id: 'i1' } },
      { type: 'vad.notification', room_id: r, data: { peer_id: 'p1', track_id: 't1', status: 'speech' } },
      { type: 'peer.added', room_id: r, data: { peer_id: 'p1', peer_type: 'webrtc' } },
      { type: 'track.forwarding_removed', room_id: r, data: { peer_id: 'p1', composition_url: 'https://c.example/1', input_id: 'i1' } },
      { type: 'room.deleted', room_id: r, data: {} },
    ]);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await deleted;
  } finally {
    console.error = orig;
  }
  assert.deepEqual(got, [
    { name: 'roomCreated', roomId: 'room-old-sdk' },
    { name: 'peerAdded', roomId: 'room-old-sdk', peerId: 'p1', peerType: 1 },
    { name: 'roomDeleted', roomId: 'room-old-sdk' },
  ]);
  // Frames arrive in order, so all three unknown ones were handled before roomDeleted.
  assert.equal(errors.length, 3, `one console error per unknown frame: ${errors.map((a) => a[0]).join(' | ')}`);
  for (const args of errors) assert.equal(args[0], "Couldn't decode websocket server message");
  assert.equal(closed, null);
});
