// SPDX-License-Identifier: MIT
// test_fishjam_sdk029_rest.mjs — the REST calls SDK 0.26-0.29 added, made
// by the vendored SDK 0.29.0 against herald (issue 15 items 1, 2, 6):
// FishjamClient.create / checkCredentials (GET /validate: 2xx for the
// management token, 401 → UnauthorizedException otherwise), createVapiAgent
// (peer type vapi: apiKey and callId required, listed by the room API,
// PEER_TYPE_VAPI → 'vapi' in the notifier), and createMoqAccess (herald
// carries no media: a clear 501, not a 404 the SDK would read as "not found").
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  FishjamClient, UnauthorizedException, InvalidFishjamCredentialsException, BadRequestException,
  RoomNotFoundException, FishjamNotFoundException, FishjamBaseException,
} from 'fishjam-sdk-029';
import { startHerald } from './herald.mjs';
import { recorder } from './sdk029.mjs';

const herald = await startHerald();
const config = { fishjamId: herald.url, managementToken: 'development' };
const rec = recorder(herald.url);
after(async () => { rec.close(); await herald.stop(); });
await rec.ready;

test('FishjamClient.create resolves with the management token (GET /validate)', async () => {
  const fishjam = await FishjamClient.create(config);
  assert.ok(fishjam instanceof FishjamClient);
  await fishjam.checkCredentials();
  const room = await fishjam.createRoom();
  assert.ok((await fishjam.getAllRooms()).some((r) => r.id === room.id));
  await fishjam.deleteRoom(room.id);
});

test('FishjamClient.create with a wrong token is refused as unauthorized (401), not as an unknown Fishjam (404)', async () => {
  const err = await FishjamClient.create({ ...config, managementToken: 'wrong' }).then(() => null, (e) => e);
  assert.ok(err instanceof UnauthorizedException, `got ${err?.constructor?.name}: ${err?.message} ${JSON.stringify(err?.details)}`);
  assert.ok(!(err instanceof InvalidFishjamCredentialsException));
  assert.equal(err.statusCode, 401);
  const empty = await FishjamClient.create({ ...config, managementToken: '' }).then(() => null, (e) => e);
  assert.ok(empty instanceof UnauthorizedException, `got ${empty?.constructor?.name}: ${empty?.message}`);
});

test('createVapiAgent adds a vapi peer, listed and notified as vapi', async () => {
  const fishjam = new FishjamClient(config);
  const room = await fishjam.createRoom();
  const { peer } = await fishjam.createVapiAgent(room.id, { apiKey: 'vapi-key', callId: 'call-1' });
  assert.equal(peer.type, 'vapi');
  assert.equal(peer.status, 'disconnected');
  const { peer: manual } = await fishjam.createVapiAgent(room.id, { apiKey: 'vapi-key', callId: 'call-2', subscribeMode: 'manual' });
  assert.equal(manual.type, 'vapi');
  assert.equal(manual.subscribeMode, 'manual');
  const listed = (await fishjam.getRoom(room.id)).peers;
  assert.deepEqual(listed.map((p) => [p.id, p.type]).sort(), [[peer.id, 'vapi'], [manual.id, 'vapi']].sort());

  for (const bad of [{ callId: 'c' }, { apiKey: 'k' }, {}, { apiKey: 5, callId: 'c' }, { apiKey: 'k', callId: 'c', subscribeMode: 'sometimes' }])
    await assert.rejects(fishjam.createVapiAgent(room.id, bad), BadRequestException, JSON.stringify(bad));
  await assert.rejects(fishjam.createVapiAgent('no-such-room', { apiKey: 'k', callId: 'c' }), FishjamNotFoundException);

  await fishjam.deletePeer(room.id, peer.id);
  await rec.has('peerDeleted', { peerId: peer.id });
  await fishjam.deleteRoom(room.id);
  await assert.rejects(fishjam.getRoom(room.id), RoomNotFoundException);
  assert.deepEqual(rec.events.filter((e) => e.roomId === room.id && e.peerId).map((e) => [e.name, e.peerId, e.peerType]), [
    ['peerAdded', peer.id, 'vapi'],
    ['peerAdded', manual.id, 'vapi'],
    ['peerDeleted', peer.id, 'vapi'],
  ]);
});

test('createMoqAccess gets a clear 501 (herald carries no media), not a 404', async () => {
  const fishjam = new FishjamClient(config);
  const err = await fishjam.createMoqAccess({ publishPath: 'a', subscribePath: 'b' }).then(() => null, (e) => e);
  assert.ok(err instanceof FishjamBaseException, `got ${err}`);
  assert.ok(!(err instanceof FishjamNotFoundException), `a 404: ${JSON.stringify(err.details)}`);
  assert.equal(err.statusCode, 501, JSON.stringify(err.details));
  assert.match(JSON.stringify(err.details), /moq|media/i);
});
