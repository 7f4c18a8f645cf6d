// SPDX-License-Identifier: MIT
// test_console_overview.mjs — the web console in a real browser (issue 17):
// Debian's chromium, headless, driven by playwright-core (console/
// node_modules). Opens /console/ on a real herald, signs in with a wrong
// token (refused, the API's own message next to the field, nothing kept),
// then with the right one typed by keyboard; the Overview shows health ok,
// the version, and an event published with POST /v1/events moves the
// events counter and the events/s figure without a reload. Signing out
// forgets the token. Throughout, the page loads nothing from outside its
// origin, the CSP refuses nothing (a violation would mean a part of the
// page does not work) and no script error happens. Screenshots of the
// Overview, overview.png (1280x800) and overview-phone.png (390x844), go
// to $SCREENSHOTS (default: the build dir; SCREENSHOTS=docs/console
// refreshes the committed ones).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SHOTS, WAIT_MS, assertClean, runConsoleTest, watchPage, startConsoleHerald } from './browser.mjs';

// Metrics reports every 0.2 s: the Overview's notifier socket shows them.
const herald = await startConsoleHerald(['--metrics-interval', '0.2']);
await runConsoleTest(herald, async (browser) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const w = watchPage(page);

  await page.goto(`${herald.url}/console/`);
  const token = page.getByLabel('Server token');

  // A wrong token: the API's message next to the field, nothing kept.
  await token.fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#token-error', { hasText: 'Invalid token' }).waitFor();
  assert.equal(await token.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');
  console.log('ok - a wrong token is refused with the API\'s message next to the field');

  // The right token, by keyboard only: focus the field, type, Enter.
  await token.fill('');
  await token.focus();
  await page.keyboard.type('development');
  await page.keyboard.press('Enter');
  await page.locator('#health-status', { hasText: /^ok$/ }).waitFor();
  console.log('ok - the right token signs in; the Overview shows health ok');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('herald.token')), 'development');
  assert.equal(await page.evaluate(() => document.cookie), '', 'no cookie');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
  assert.ok(!page.url().includes('development'), 'the token is not in the URL');
  await page.locator('#store-state', { hasText: 'up' }).waitFor();
  const health = await (await fetch(`${herald.url}/health`)).json();
  assert.equal(await page.locator('#version').textContent(), health.version);
  console.log('ok - token in sessionStorage only; version and store shown');
  await page.locator('#notifier', { hasText: /^\d+ reports?, last/ }).waitFor();
  console.log('ok - the server notifier socket authenticates with the token (first frame) and reports arrive');

  // The Nodes panel (GET /v1/nodes): with SQLite one row, this node, alive.
  const nodes = await (await fetch(`${herald.url}/v1/nodes`, { headers: { authorization: 'Bearer development' } })).json();
  const selfRow = page.locator(`#nodes tbody tr[data-node="${nodes.self}"]`);
  await selfRow.locator('td', { hasText: /^yes$/ }).waitFor();
  assert.equal(await page.locator('#nodes tbody tr').count(), 1, 'one node with SQLite');
  assert.match(await selfRow.textContent(), /\(this node\).*webhooks, retention/);
  console.log('ok - the Nodes panel shows this node alone, alive, owning webhooks and retention');

  // An event published by the API moves the counter and the rate, live.
  await page.locator('#events-total', { hasText: /^\d+$/ }).waitFor();
  const before = Number(await page.locator('#events-total').textContent());
  const pub = await herald.publish([{ type: 'console.test' }, { type: 'console.test' }, { type: 'console.test' }]);
  assert.equal(pub.status, 201);
  await page.waitForFunction((n) => Number(document.querySelector('#events-total')?.textContent) >= n,
    before + 3, { polling: 50, timeout: WAIT_MS });
  await page.waitForFunction(() => Number(document.querySelector('#events-rate')?.textContent) > 0,
    null, { polling: 50, timeout: WAIT_MS });
  console.log('ok - a published event moves the events counter and events/s without a reload');
  assert.equal(await page.locator('.chart canvas').count() > 0, true, 'the chart is drawn');
  await page.locator('#webhook-endpoints', { hasText: '0' }).waitFor();
  await page.locator('#sinks', { hasText: 'none configured' }).waitFor();
  console.log('ok - webhooks and sinks shown');
  await page.screenshot({ path: join(SHOTS, 'overview.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => document.documentElement.scrollWidth <= 390, null,
    { polling: 50, timeout: WAIT_MS });
  await page.screenshot({ path: join(SHOTS, 'overview-phone.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  console.log('ok - at 390 px the Overview fits the width');

  // Every page of the navigation opens by keyboard (focus its link, Enter)
  // and shows its title; the link says it is the current page.
  for (const title of ['Events', 'Rooms and peers', 'Webhooks', 'Sinks', 'Overview']) {
    const link = page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: title, exact: true });
    await link.focus();
    await page.keyboard.press('Enter');
    await page.locator('#page-title', { hasText: title }).waitFor();
    await page.locator('a[aria-current="page"]', { hasText: title }).waitFor();
  }
  console.log('ok - every page opens from the navigation by keyboard');

  // Sign out forgets the token.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await token.waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('herald.token')), null);
  console.log('ok - sign out clears the token');

  assertClean(w, herald, { refused: { 401: 1 } }); // the wrong token's
});
