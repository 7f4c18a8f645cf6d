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
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startHerald } from '../interop/herald.mjs';

const SRC = process.env.SRC ?? new URL('../..', import.meta.url).pathname;
const BUILD = process.env.BUILD ?? join(SRC, 'build');
const SHOTS = process.env.SCREENSHOTS ?? BUILD;
const require = createRequire(join(SRC, 'console/package.json'));
const { chromium } = require('playwright-core');
const WAIT_MS = 60000; // bounds a failure only: every wait returns when its condition holds

// Metrics reports every 0.2 s: the Overview's notifier socket shows them.
const herald = await startHerald(['--metrics-interval', '0.2']);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'], // root in CI; the page is our own
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(WAIT_MS);
  const problems = [];
  const requests = [];
  let refused401 = 0; // the browser logs the wrong token's 401 (below): expected once
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (/Failed to load resource: .* status of 401/.test(m.text())) refused401++;
    else problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));

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

  const origin = new URL(herald.url).origin;
  const foreign = requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'nothing loaded from outside the origin');
  assert.ok(requests.every((u) => !u.includes('development')), 'the token is in no URL');
  assert.deepEqual(problems, [], 'no CSP violation and no script error');
  assert.equal(refused401, 1, 'one 401: the wrong token\'s');
  console.log(`ok - ${requests.length} requests, all same-origin; no CSP violation, no error`);
} catch (e) {
  failed = true;
  console.error(e);
  console.error(herald.log());
} finally {
  await browser.close();
  await herald.stop();
}
console.log(failed ? '0 passed, 1 failed' : '1 passed, 0 failed');
process.exit(failed ? 1 : 0);
