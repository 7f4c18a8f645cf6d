// SPDX-License-Identifier: MIT
// test_fishjam_sdk025_new_members.mjs — what a listener on the registry's
// Fishjam SDK 0.25.0 sees when herald publishes a notification 0.25 does
// not know (track.forwarding 30, track.forwarding_removed 31,
// vad.notification 32; issue 15 items 4 and 8). The notifier sends no SDK
// version, so herald sends them to every server socket, as Fishjam does;
// 0.25 decodes such a frame as an empty ServerMessage and logs one console
// error per frame ("Couldn't decode websocket server message"), emits
// nothing for it, and keeps working: the events before and after arrive,
// in order, and the socket stays open. With --fishjam-compat 0.25 herald
// withholds 30-32 from protobuf listeners: no console error (that an SDK
// 0.29 notifier there misses them is in test_fishjam_sdk029_new_events.mjs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { FishjamWSNotifier } from '@fishjam-cloud/js-server-sdk';
import { startHerald, once } from './herald.mjs';
import { sdkSubscribed } from './wsutil.mjs';

globalThis.WebSocket ??= WebSocket; // Node 20 has no global WebSocket; 0.25 needs one

const heralds = [];
const notifiers = [];
after(async () => { for (const n of notifiers) n.client.close(); for (const h of heralds) await h.stop(); });

// A herald started with args and an 0.25 notifier subscribed to it.
async function setup(args) {
  const herald = await startHerald(args);
  heralds.push(herald);
  const s = { herald, closed: null };
  s.n = new FishjamWSNotifier({ fishjamId: herald.url, managementToken: 'development' },
    () => {}, (code, reason) => { s.closed = { code, reason }; });
  notifiers.push(s.n);
  await sdkSubscribed(s.n);
  return s;
}

// Publishes 30-32 between older notifications; returns what the 0.25
// notifier emitted and the console errors logged meanwhile.
async function publishMixed({ herald, n }) {
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
  return { got, errors };
}

test('an 0.25 listener logs one console error per 30-32 frame and keeps receiving (default: --fishjam-compat current)', async () => {
  const s = await setup([]);
  const { got, errors } = await publishMixed(s);
  assert.deepEqual(got, [
    { name: 'roomCreated', roomId: 'room-old-sdk' },
    { name: 'peerAdded', roomId: 'room-old-sdk', peerId: 'p1', peerType: 1 },
    { name: 'roomDeleted', roomId: 'room-old-sdk' },
  ]);
  // Frames arrive in order, so all three unknown ones were handled before roomDeleted.
  assert.equal(errors.length, 3, `one console error per unknown frame: ${errors.map((a) => a[0]).join(' | ')}`);
  for (const args of errors) assert.equal(args[0], "Couldn't decode websocket server message");
  assert.equal(s.closed, null);
});

test('with --fishjam-compat 0.25 the 0.25 listener gets no 30-32 frame: no console error', async () => {
  const s = await setup(['--fishjam-compat', '0.25']);
  const { got, errors } = await publishMixed(s);
  assert.deepEqual(got.map((e) => e.name), ['roomCreated', 'peerAdded', 'roomDeleted']);
  assert.deepEqual(errors, []);
  assert.equal(s.closed, null);
});
