// SPDX-License-Identifier: MIT
// test_console_rooms.mjs — the console's Rooms and peers page in a real
// browser (issue 17): Debian's chromium, headless, driven by playwright-core
// (console/node_modules), on a real herald. Signs in, opens Rooms, sees a
// bad webhookUrl refused with the API's own message next to that field,
// creates a room through the form, adds a peer and reads its token from the
// page (shown once: after Done it is in no part of the DOM, no storage, no
// URL), connects a peer socket from node with that token and sees the peer
// turn "connected" with the time of the peer.connected event (only the
// notifier's events carry that time: GET /room has none), closes it and sees
// "disconnected", gets a new token, sees a room made by the API appear
// live, sees another peer's lost connection (no close frame) as "crashed
// (connection lost)", then deletes the peer and the rooms through the two-step buttons
// and sees them go. Throughout: no script error, no CSP violation, nothing
// loaded from another origin. Screenshots rooms.png (1280x800) and
// rooms-phone.png (390x844) go to $SCREENSHOTS (default: the build dir).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SHOTS, WAIT_MS, assertClean, runConsoleTest, watchPage, SRC, startConsoleHerald } from './browser.mjs';

const WebSocket = createRequire(join(SRC, 'tests/interop/package.json'))('ws');
const AUTH = { authorization: 'Bearer development', 'content-type': 'application/json' };

const herald = await startConsoleHerald();
async function call(method, path, body) {
  const res = await fetch(herald.url + path, { method, headers: AUTH, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
// The timestamp of the latest event of this type for this peer (the history).
async function eventTime(type, peerId) {
  const r = await call('GET', `/v1/events?since=0&limit=1000&type=${type}`);
  const mine = r.body.events.filter((e) => e.data && e.data.peer_id === peerId);
  assert.ok(mine.length, `a ${type} event for ${peerId}`);
  return mine.at(-1).timestamp;
}
// A peer socket authenticated by its first text frame (docs/api.md "Peer socket").
function connectPeer(token) {
  const ws = new WebSocket(`ws://127.0.0.1:${herald.port}/socket/peer/websocket`);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('peer socket not authenticated')), WAIT_MS);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
    ws.on('message', (m) => {
      if (JSON.parse(String(m)).type === 'authenticated') { clearTimeout(t); resolve(ws); }
    });
    ws.on('close', (code, reason) => reject(new Error(`peer socket closed ${code} ${reason}`)));
    ws.on('error', reject);
  });
}
function closePeer(ws) {
  return new Promise((resolve) => { ws.on('close', resolve); ws.close(1000); });
}

const sockets = [];
await runConsoleTest(herald, async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: herald.url });
  const page = await context.newPage();
  const w = watchPage(page);

  // Sign in by keyboard, open Rooms from the navigation.
  await page.goto(`${herald.url}/console/`);
  await page.getByLabel('Server token').focus();
  await page.keyboard.type('development');
  await page.keyboard.press('Enter');
  await page.getByRole('link', { name: 'Rooms and peers' }).click();
  await page.locator('#no-rooms').waitFor();
  await page.locator('#rooms-live', { hasText: /^live$/ }).waitFor();
  console.log('ok - signed in; Rooms shows no rooms and its presence socket is live');

  // A bad webhookUrl: the API's message next to that field, nothing created.
  const webhook = page.getByLabel('Webhook URL (optional)');
  await page.getByLabel('Room id (optional)').fill('lobby');
  await page.getByLabel('Max peers (optional)').fill('8');
  await webhook.fill('not a url');
  await page.getByRole('button', { name: 'Create room' }).click();
  await page.locator('#room-webhook-url-error', { hasText: 'Expected webhookUrl to be valid URL, got: "not a url"' }).waitFor();
  assert.equal(await webhook.getAttribute('aria-invalid'), 'true');
  assert.match(await webhook.getAttribute('aria-describedby'), /room-webhook-url-error/);
  assert.equal(await page.locator('#room-max-peers').getAttribute('aria-invalid'), 'false');
  assert.deepEqual((await call('GET', '/room')).body.data, [], 'nothing created');
  console.log('ok - a bad webhookUrl shows the API\'s message next to the field');

  // Fixed: the room is created with its config and shown.
  await webhook.fill('http://127.0.0.1:9/hooks');
  await page.getByLabel('Video codec').selectOption('h264');
  await page.getByRole('button', { name: 'Create room' }).click();
  const lobby = page.locator('article[data-room="lobby"]');
  await lobby.waitFor();
  await lobby.getByText('http://127.0.0.1:9/hooks').waitFor();
  assert.equal(await webhook.getAttribute('aria-invalid'), 'false');
  assert.match(await lobby.locator('.room-config').textContent(), /Max peers8.*Video codech264/);
  const stored = (await call('GET', '/room/lobby')).body.data;
  assert.equal(stored.config.maxPeers, 8);
  assert.equal(stored.config.webhookUrl, 'http://127.0.0.1:9/hooks');
  console.log('ok - a room created through the form is shown with its config');

  // Add a peer: its token is shown once.
  await lobby.getByText('Add a peer to lobby').click();
  await page.getByLabel('Metadata (JSON, optional)').fill('{"name":"alice"}');
  await lobby.getByRole('button', { name: 'Add peer' }).click();
  const tokenField = page.locator('#peer-token');
  await tokenField.waitFor();
  const token = await tokenField.inputValue();
  assert.ok(token.length >= 20, 'a token is shown');
  const row = lobby.locator('tbody tr');
  await row.first().waitFor();
  const peerId = await row.first().getAttribute('data-peer');
  const status = (id) => page.locator(`tr[data-peer="${id}"] [data-testid="peer-status"]`);
  await status(peerId).filter({ hasText: /^disconnected$/ }).waitFor();
  assert.match(await row.first().textContent(), /webrtc.*\{"name":"alice"\}/);
  await page.getByRole('button', { name: 'Copy token' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
  await page.getByRole('button', { name: 'Done, hide the token' }).click();
  await tokenField.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'page-title', 'focus back on the title');
  assert.equal(await page.evaluate((t) => document.documentElement.outerHTML.includes(t), token), false,
    'the token is gone from the DOM');
  assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), ['herald.token']);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.ok(!page.url().includes(token), 'the token is not in the URL');
  console.log('ok - a peer is added; its token is shown once, copied, and gone after Done');

  // The peer connects from node with that token: connected, at the event's time.
  const alice = await connectPeer(token);
  sockets.push(alice);
  await status(peerId).filter({ hasText: /^connected$/ }).waitFor();
  const connectedAt = await eventTime('peer.connected', peerId);
  await page.locator(`tr[data-peer="${peerId}"] time[datetime="${connectedAt}"]`).waitFor();
  console.log('ok - the peer\'s socket connects: status connected at the peer.connected event\'s time');

  // A second peer, by the API, connected too: for the screenshots.
  const bob = (await call('POST', '/room/lobby/peer', { type: 'agent', options: { metadata: { name: 'bob' } } })).body.data;
  const bobWs = await connectPeer(bob.token);
  sockets.push(bobWs);
  await status(bob.peer.id).filter({ hasText: /^connected$/ }).waitFor();
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, 'rooms.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await lobby.evaluate((el) => el.scrollIntoView());
  await page.screenshot({ path: join(SHOTS, 'rooms-phone.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  console.log('ok - a peer added by the API appears and connects live; screenshots taken');

  // Its socket closes: disconnected, at that event's time.
  await closePeer(alice);
  await status(peerId).filter({ hasText: /^disconnected$/ }).waitFor();
  const disconnectedAt = await eventTime('peer.disconnected', peerId);
  await page.locator(`tr[data-peer="${peerId}"] time[datetime="${disconnectedAt}"]`).waitFor();
  console.log('ok - the socket closes: status disconnected at the peer.disconnected event\'s time');

  // A new token, shown once likewise; the old one stops working.
  await page.getByRole('button', { name: `Refresh the token of peer ${peerId}` }).click();
  await tokenField.waitFor();
  const token2 = await tokenField.inputValue();
  assert.notEqual(token2, token);
  await page.getByRole('button', { name: 'Done, hide the token' }).click();
  await tokenField.waitFor({ state: 'detached' });
  await assert.rejects(connectPeer(token), /closed 4003/, 'the old token is refused');
  sockets.push(await connectPeer(token2));
  await status(peerId).filter({ hasText: /^connected$/ }).waitFor();
  console.log('ok - a refreshed token is shown once and works; the old one is refused');

  // A room made elsewhere appears live.
  assert.equal((await call('POST', '/room', { roomId: 'side' })).status, 201);
  const side = page.locator('article[data-room="side"]');
  await side.waitFor();
  console.log('ok - a room created by the API appears without a reload');

  // A connection lost without a close frame: crashed, with the reason.
  bobWs.terminate();
  await status(bob.peer.id).filter({ hasText: /^crashed$/ }).waitFor();
  await page.locator(`tr[data-peer="${bob.peer.id}"]`, { hasText: '(connection lost)' }).waitFor();
  const crashedAt = await eventTime('peer.crashed', bob.peer.id);
  await page.locator(`tr[data-peer="${bob.peer.id}"] time[datetime="${crashedAt}"]`).waitFor();
  console.log('ok - a socket lost without a close frame: status crashed (connection lost) at that event\'s time');

  // Delete the peer, then the rooms, through the two-step buttons (keyboard).
  await page.getByRole('button', { name: `Delete peer ${peerId}` }).click();
  await page.getByRole('button', { name: 'Really delete' }).focus();
  await page.keyboard.press('Enter');
  await page.locator(`tr[data-peer="${peerId}"]`).waitFor({ state: 'detached' });
  assert.equal((await call('GET', `/room/lobby`)).body.data.peers.length, 1);
  console.log('ok - a peer is deleted after "Really delete"');
  await page.getByRole('button', { name: 'Delete room lobby' }).click();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Delete room lobby' }).click();
  await page.getByRole('button', { name: 'Really delete' }).click();
  await lobby.waitFor({ state: 'detached' });
  assert.equal((await call('GET', '/room/lobby')).status, 404);
  assert.equal((await call('DELETE', '/room/side')).status, 204);
  await side.waitFor({ state: 'detached' });
  await page.locator('#no-rooms').waitFor();
  console.log('ok - rooms deleted by the page and by the API go from the list');

  assertClean(w, herald, { secrets: [token, token2, 'development'], refused: { 400: 1 } }); // the bad webhookUrl's
}, async () => {
  for (const ws of sockets) ws.terminate();
});
