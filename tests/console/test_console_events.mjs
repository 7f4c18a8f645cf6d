// SPDX-License-Identifier: MIT
// test_console_events.mjs — the console's Events page in a real browser
// (issue 17): Debian's chromium, headless, driven by playwright-core. Signs
// in, opens Events, and checks what an operator sees: an event published
// with POST /v1/events (from node) appears in the live tail pushed by the
// server notifier's socket (the page makes no HTTP request between the
// publish and the row; the latency is printed, not asserted); events
// published while its socket is cut (reconnects refused) appear once it
// reconnects, in order, read from the history; the type glob
// filter hides and shows; pause holds new events and resume shows them; a
// row expands to its JSON; the history search finds by type and pages with
// "Next page"; a bad `since` gets the API's message next to the field; the
// test-publish form publishes (bad JSON caught in the page, a bad type
// refused by the API next to the field) and the id it shows is the live
// tail's row. No console error, CSP violation or foreign request. Writes
// events.png (1280x800) and events-phone.png (390x844) into $SCREENSHOTS
// (default: the build dir; docs/console/ is made with SCREENSHOTS set).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SHOTS, assertClean, runConsoleTest, watchPage, startConsoleHerald } from './browser.mjs';

const herald = await startConsoleHerald();

async function publish(events) {
  const r = await herald.publish(events);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.ids;
}

await runConsoleTest(herald, async (browser) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const w = watchPage(page);
  // The page's notifier sockets go through this route, so the test can cut
  // one and keep the page from reconnecting until it has published.
  const sockets = [];
  let refuse = false;
  await page.routeWebSocket(/\/socket\/server\/websocket$/, (ws) => {
    if (refuse) return ws.close({ code: 1013, reason: 'test: refused' });
    sockets.push({ page: ws, server: ws.connectToServer() });
  });

  await page.goto(`${herald.url}/console/#/events`);
  await page.getByLabel('Server token').fill('development');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Events', level: 2 }).waitFor();
  await page.locator('#tail-conn', { hasText: 'live' }).waitFor();
  console.log('ok - signed in; the Events page\'s notifier socket is live');

  const row = (table, id) => page.locator(`#${table} tr[data-event-id="${id}"]`);

  // Live tail: published from node, pushed by the socket, no HTTP in between.
  const before = w.requests.length;
  const t0 = Date.now();
  const [liveId] = await publish({ type: 'console.live', room_id: 'r1', data: { n: 1 } });
  await row('tail', liveId).waitFor();
  const latency = Date.now() - t0;
  assert.deepEqual(w.requests.slice(before), [], 'the page made no HTTP request: the row came from the socket');
  assert.equal(await row('tail', liveId).locator('td.type').textContent(), 'console.live');
  console.log(`ok - a published event (id ${liveId}) appears in the live tail from the socket push, ${latency} ms after the POST`);

  // A lost socket leaves no hole: cut it, publish while the page cannot
  // reconnect, let it reconnect: the events come from the history, in order.
  refuse = true;
  const cut = sockets[sockets.length - 1];
  cut.server.close();
  await cut.page.close({ code: 1012, reason: 'test: cut' });
  await page.locator('#tail-conn', { hasText: 'closed' }).waitFor();
  const missed = await publish([{ type: 'console.missed', data: { n: 1 } }, { type: 'console.missed', data: { n: 2 } }]);
  refuse = false;
  await page.locator('#tail-conn', { hasText: /live$/ }).waitFor();
  await row('tail', missed[1]).waitFor();
  const order = await page.locator('#tail tr[data-event-id]').evaluateAll((rows) => rows.map((r) => r.dataset.eventId));
  assert.deepEqual(order.slice(0, 3), [missed[1], missed[0], liveId], 'newest first, nothing missing');
  await page.locator('#tail-gap', { hasText: '2 events published while the socket was closed were read from the history' }).waitFor();
  console.log('ok - events published while the socket was closed are read from the history after it reconnects');

  // Type glob: hides what does not match, shows what does.
  const [alphaId, betaId] = await publish([{ type: 'peer.alpha', user_id: 'u1' }, { type: 'other.beta' }]);
  await row('tail', betaId).waitFor();
  await page.locator('#tail-type').fill('peer.*');
  await row('tail', betaId).waitFor({ state: 'detached' });
  assert.equal(await row('tail', alphaId).isVisible(), true, 'peer.alpha matches peer.*');
  assert.equal(await row('tail', liveId).count(), 0, 'console.live is hidden by peer.*');
  await page.locator('#tail-type').fill('*.b?ta');
  await row('tail', betaId).waitFor();
  assert.equal(await row('tail', alphaId).count(), 0, 'peer.alpha is hidden by *.b?ta');
  await page.locator('#tail-type').fill('');
  await page.locator('#tail-user').fill('u1');
  await row('tail', betaId).waitFor({ state: 'detached' });
  assert.equal(await row('tail', alphaId).isVisible(), true, 'the user filter keeps u1\'s event');
  await page.locator('#tail-user').fill('');
  await row('tail', liveId).waitFor();
  console.log('ok - the type glob and user filters hide non-matching rows and show matching ones');

  // Pause holds new events (counted on the page), Resume shows them.
  await page.getByRole('button', { name: 'Pause' }).click();
  const [heldId] = await publish({ type: 'console.held', data: { marker: 'expand-me', list: [1, 2] } });
  await page.locator('#tail-held', { hasText: 'Paused: 1 new event held' }).waitFor();
  assert.equal(await row('tail', heldId).count(), 0, 'a held event is not shown while paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  await row('tail', heldId).waitFor();
  assert.equal(await page.locator('#tail-held').count(), 0);
  console.log('ok - pause holds a new event and counts it; resume shows it');

  // Expand by keyboard: the row's button shows the whole envelope.
  const expand = page.getByRole('button', { name: `Event ${heldId} as JSON` });
  await expand.focus();
  await page.keyboard.press('Enter');
  const json = page.locator(`#tail-json-${heldId}`);
  await json.waitFor();
  const shown = JSON.parse(await json.textContent());
  assert.equal(shown.id, heldId);
  assert.deepEqual(shown.data, { marker: 'expand-me', list: [1, 2] });
  assert.equal(await expand.getAttribute('aria-expanded'), 'true');
  console.log('ok - a row expands (keyboard) to its JSON with the event\'s data');
  await page.screenshot({ path: join(SHOTS, 'events.png') });

  // History: exact type, paged by Next from the last id.
  const pageIds = await publish([{ type: 'console.page' }, { type: 'console.other' }, { type: 'console.page' },
    { type: 'console.page' }]).then((ids) => [ids[0], ids[2], ids[3]]);
  await page.locator('#hist-type').fill('console.page');
  await page.locator('#hist-limit').fill('2');
  await page.getByRole('button', { name: 'Search' }).click();
  const histIds = () => page.locator('#history tr[data-event-id]').evaluateAll(
    (rows) => rows.map((r) => [r.dataset.eventId, r.dataset.type]));
  await page.locator('#hist-status', { hasText: 'Page 1: 2 events' }).waitFor();
  assert.deepEqual(await histIds(), [[pageIds[0], 'console.page'], [pageIds[1], 'console.page']]);
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.locator('#hist-status', { hasText: 'Page 2: 1 event,' }).waitFor();
  assert.deepEqual(await histIds(), [[pageIds[2], 'console.page']]);
  assert.equal(await page.locator('#hist-since').inputValue(), pageIds[1], 'since moved to the last id');
  assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true, 'no more pages');
  console.log('ok - history search finds events by type and pages with Next from the last id');

  // A bad since: the API's 400 message next to that field.
  await page.locator('#hist-since').fill('abc');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#hist-since-error', { hasText: 'since must be an event id' }).waitFor();
  assert.equal(await page.locator('#hist-since').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#hist-type-error').textContent(), '');
  console.log('ok - a bad since shows the API\'s 400 message next to the field');

  // Test publish: bad JSON caught in the page, a bad type refused by the
  // API next to the field, then a good one whose id is the tail's row.
  const sent = w.requests.length;
  await page.locator('#pub-data').fill('{"from": form}');
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.locator('#pub-data-error', { hasText: 'data is not valid JSON' }).waitFor();
  assert.equal(w.requests.length, sent, 'bad JSON is not sent');
  await page.locator('#pub-data').fill('{"from": "form"}');
  await page.locator('#pub-type').fill('Bad Type');
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.locator('#pub-type-error', { hasText: 'type must be a dotted lower-case name' }).waitFor();
  assert.equal(await page.locator('#pub-data-error').textContent(), '');
  await page.locator('#pub-type').fill('console.form');
  await page.locator('#pub-room_id').fill('room-7');
  await page.getByRole('button', { name: 'Publish' }).click();
  const formId = await page.locator('#pub-id').textContent();
  await row('tail', formId).waitFor();
  assert.equal(await row('tail', formId).locator('td.type').textContent(), 'console.form');
  assert.equal(await page.locator('#pub-type').getAttribute('aria-invalid'), 'false');
  console.log(`ok - the publish form catches bad JSON, shows the API's type error, publishes id ${formId} seen in the tail`);

  // Phone width: the tail (newest row expanded) scrolls sideways in its box.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('button', { name: `Event ${heldId} as JSON` }).click();
  await page.getByRole('button', { name: `Event ${formId} as JSON` }).click();
  await page.locator(`#tail-json-${formId}`).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, 'no page-wide horizontal scroll');
  await page.evaluate(() => document.getElementById('tail-title').scrollIntoView());
  await page.screenshot({ path: join(SHOTS, 'events-phone.png') });

  assertClean(w, herald, { refused: { 400: 2 } }); // the bad since and the bad type
});
