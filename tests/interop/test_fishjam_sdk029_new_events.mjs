// SPDX-License-Identifier: MIT
// test_fishjam_sdk029_new_events.mjs — the notifications SDK 0.26+ knows
// and herald publishes since issue 15 item 4: track.forwarding (member 30),
// track.forwarding_removed (31) and vad.notification (32), published
// through POST /v1/events with their fields in data (snake_case or
// camelCase), reach the vendored SDK 0.29.0's FishjamWSNotifier as
// trackForwarding, trackForwardingRemoved and vadNotification, mapped as
// 0.29 maps them (tracks' type, VAD status 'speech' / 'silence'), in order
// with the older ones and without a console error. A herald started with
// --fishjam-compat 0.25 (for deployments whose protobuf listeners are all
// SDK 0.25) withholds them from protobuf notifiers: 0.29 misses them there.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald } from './herald.mjs';
import { recorder, consoleErrors } from './sdk029.mjs';

const herald = await startHerald();
const rec = recorder(herald.url);
const more = [];
after(async () => { rec.close(); await herald.stop(); for (const fn of more) await fn(); });
await rec.ready;

test('trackForwarding, trackForwardingRemoved and vadNotification reach FishjamWSNotifier 0.29', async () => {
  const errs = consoleErrors();
  const r = 'room-fwd';
  const url = 'https://composer.example/c/1';
  try {
    const res = await herald.publish([
      { type: 'room.created', room_id: r, data: {} },
      { type: 'track.forwarding', room_id: r, data: {
        peer_id: 'p1', composition_url: url, input_id: 'in-1',
        audio_track: { id: 'a1', type: 'audio', metadata: { lang: 'pl' } },
        video_track: { id: 'v1', type: 'video' } } },
      { type: 'track.forwarding', room_id: r, data: {
        peerId: 'p2', compositionUrl: url, inputId: 'in-2', audioTrack: { id: 'a2', type: 'audio' } } },
      { type: 'vad.notification', room_id: r, data: { peer_id: 'p1', track_id: 'a1', status: 'speech' } },
      { type: 'vad.notification', room_id: r, data: { peerId: 'p1', trackId: 'a1', status: 'silence' } },
      { type: 'track.forwarding_removed', room_id: r, data: { peer_id: 'p1', composition_url: url, input_id: 'in-1' } },
      { type: 'room.deleted', room_id: r, data: {} },
    ]);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await rec.has('roomDeleted', { roomId: r });
  } finally {
    errs.restore();
  }
  assert.deepEqual(rec.events, [
    { name: 'roomCreated', roomId: r },
    { name: 'trackForwarding', roomId: r, peerId: 'p1', compositionUrl: url, inputId: 'in-1',
      audioTrack: { id: 'a1', type: 'audio', metadata: '{"lang":"pl"}' },
      videoTrack: { id: 'v1', type: 'video', metadata: '' } },
    { name: 'trackForwarding', roomId: r, peerId: 'p2', compositionUrl: url, inputId: 'in-2',
      audioTrack: { id: 'a2', type: 'audio', metadata: '' } },
    { name: 'vadNotification', roomId: r, peerId: 'p1', trackId: 'a1', status: 'speech' },
    { name: 'vadNotification', roomId: r, peerId: 'p1', trackId: 'a1', status: 'silence' },
    { name: 'trackForwardingRemoved', roomId: r, peerId: 'p1', compositionUrl: url, inputId: 'in-1' },
    { name: 'roomDeleted', roomId: r },
  ]);
  assert.deepEqual(errs.calls, [], 'no frame the SDK could not decode');
  assert.deepEqual(rec.errors, []);
});

test('--fishjam-compat 0.25 withholds them from the protobuf notifier', async () => {
  const h = await startHerald(['--fishjam-compat', '0.25']);
  const r29 = recorder(h.url);
  more.push(async () => { r29.close(); await h.stop(); });
  await r29.ready;
  const res = await h.publish([
    { type: 'room.created', room_id: 'c', data: {} },
    { type: 'track.forwarding', room_id: 'c', data: { peer_id: 'p1', composition_url: 'https://c.example', input_id: 'i' } },
    { type: 'vad.notification', room_id: 'c', data: { peer_id: 'p1', track_id: 't', status: 'speech' } },
    { type: 'track.forwarding_removed', room_id: 'c', data: { peer_id: 'p1', composition_url: 'https://c.example', input_id: 'i' } },
    { type: 'room.deleted', room_id: 'c', data: {} },
  ]);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  await r29.has('roomDeleted', { roomId: 'c' });
  assert.deepEqual(r29.events.map((e) => e.name), ['roomCreated', 'roomDeleted']);
});
