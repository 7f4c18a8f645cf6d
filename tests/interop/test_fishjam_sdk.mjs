// SPDX-License-Identifier: MIT
// test_fishjam_sdk.mjs — the real Fishjam JS server SDK (0.25.0) against herald.
//
// FishjamWSNotifier connects to /socket/server/websocket with fishjamId set
// to herald's URL (so it sends "//socket/server/websocket"), authenticates
// with protobuf frames and must receive roomCreated / peerAdded published
// through POST /v1/events. A wrong token must end in onClose(1000,
// "invalid token").
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { FishjamWSNotifier } from '@fishjam-cloud/js-server-sdk';
import { startHerald, once } from './herald.mjs';
import { sdkSubscribed, within, waitUntil, WAIT_MS } from './wsutil.mjs';

// Node 20 has no global WebSocket; the SDK needs one.
globalThis.WebSocket ??= WebSocket;

const herald = await startHerald();
after(() => herald.stop());

function notifier(token, onClose = () => {}) {
  return new FishjamWSNotifier({ fishjamId: herald.url, managementToken: token },
    (err) => console.error('notifier error', err?.message), onClose);
}

test('FishjamWSNotifier receives roomCreated and peerAdded', async () => {
  let closed = null;
  const n = notifier('development', (code, reason) => { closed = { code, reason }; });
  // The SDK sends auth + subscribe on open; herald answers the subscribe
  // once the socket is subscribed.
  await sdkSubscribed(n);
  // herald logged both before answering; its stderr may be read a little later.
  await waitUntil(() => /Server WS authenticated\./.test(herald.log()), WAIT_MS, 'herald to log the authentication');
  assert.match(herald.log(), /New incoming server WebSocket connection, accepting/);

  const roomCreated = once(n, 'roomCreated');
  const peerAdded = once(n, 'peerAdded');
  const res = await herald.publish([
    { type: 'room.created', data: { room_id: 'r1' } },
    { type: 'chat.message', room_id: 'r1', data: { text: 'no protobuf form, JSON only' } },
    { type: 'peer.added', room_id: 'r1', data: { peer_id: 'p1', peer_type: 'webrtc' } },
  ]);
  assert.equal(res.status, 201);
  assert.equal(res.body.ids.length, 3);

  assert.deepEqual({ ...(await roomCreated) }, { roomId: 'r1' });
  assert.deepEqual({ ...(await peerAdded) }, { roomId: 'r1', peerId: 'p1', peerType: 1 });
  assert.equal(closed, null);
});

test('a wrong management token ends in onClose(1000, "invalid token")', async () => {
  const closed = new Promise((resolve) => notifier('not-the-token', (code, reason) => resolve({ code, reason })));
  const r = await within(closed, WAIT_MS, 'the notifier to be closed');
  assert.deepEqual(r, { code: 1000, reason: 'invalid token' });
});
