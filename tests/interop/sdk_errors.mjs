// SPDX-License-Identifier: MIT
// sdk_errors.mjs — the one check that a Fishjam server SDK maps herald's
// errors to its exceptions, run by the tests of each SDK version
// (test_fishjam_rooms.mjs for 0.25, test_fishjam_sdk029_rooms.mjs for 0.29)
// with that version's module, so the two cannot drift apart.
import assert from 'node:assert/strict';

// sdk: the SDK's module namespace (its FishjamClient and exception classes).
export async function checkErrorMapping(sdk, config) {
  const fishjam = new sdk.FishjamClient(config);
  await assert.rejects(fishjam.getRoom('no-such-room'), sdk.RoomNotFoundException);
  await assert.rejects(fishjam.deleteRoom('no-such-room'), sdk.RoomNotFoundException);
  await assert.rejects(fishjam.createPeer('no-such-room'), sdk.FishjamNotFoundException);
  await assert.rejects(fishjam.createRoom({ webhookUrl: 'not a url' }), sdk.BadRequestException);
  await assert.rejects(fishjam.createRoom({ videoCodec: 'av1' }), sdk.BadRequestException);
  const room = await fishjam.createRoom({ maxPeers: 1 });
  await fishjam.createPeer(room.id);
  await assert.rejects(fishjam.createPeer(room.id), sdk.ServiceUnavailableException);
  await assert.rejects(fishjam.refreshPeerToken(room.id, 'nobody'), sdk.PeerNotFoundException);
  await fishjam.deleteRoom(room.id);

  const wrong = new sdk.FishjamClient({ ...config, managementToken: 'wrong' });
  await assert.rejects(wrong.getAllRooms(), sdk.UnauthorizedException);
  await assert.rejects(wrong.createRoom(), sdk.UnauthorizedException);
}
