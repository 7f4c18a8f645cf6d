// SPDX-License-Identifier: MIT
// test_console_webhooks.mjs — the console's Webhooks page in a real browser
// (issue 17): Debian's chromium, headless, driven by playwright-core. A
// receiver in this process answers 500 at first; herald retries on a short
// schedule (--webhook-retry-schedule 0.3,0.3: three attempts, then the
// delivery is failed). Through the page only: a bad URL in the create form
// gets the API's error next to the field; an endpoint for the receiver is
// created and its secret shown once; a published event's failed attempts
// (500, the receiver's answer as excerpt) appear live; the receiver is
// fixed, Retry is pressed, the delivery shows delivered, and the receiver
// got a request that verifies with the secret (standardwebhooks); edit,
// replay (and a bad replay value refused next to its field), disable (the
// reason shown) and enable, rotate (a new secret, which signs the next
// request), delete behind a second button; Close and open again by
// keyboard. Throughout: no script error, no CSP violation, nothing from
// another origin. Screenshots webhooks.png
// (1280x800) and webhooks-phone.png (390x844) into $SCREENSHOTS (default:
// the build dir) with an endpoint open showing failed and delivered attempts.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SHOTS, assertClean, runConsoleTest, until, watchPage, SRC, startConsoleHerald } from './browser.mjs';

const { Webhook } = createRequire(join(SRC, 'tests/interop/package.json'))('standardwebhooks');

// The receiver: records every request; answers `status` (500 until fixed).
const received = [];
let status = 500;
const receiver = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    received.push({ headers: req.headers, body, answered: status });
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 500 ? 'receiver broken' : 'ok');
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

const herald = await startConsoleHerald(['--webhook-retry-schedule', '0.3,0.3']);
await runConsoleTest(herald, async (browser) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const w = watchPage(page);

  await page.goto(`${herald.url}/console/`);
  await page.getByLabel('Server token').fill('development');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
  await page.getByText('No endpoints yet.').waitFor();
  console.log('ok - the Webhooks page lists no endpoint yet');

  // A bad URL: the API's own 400 next to the URL field.
  await page.getByRole('button', { name: 'New endpoint' }).click();
  const url = page.locator('#create-url');
  await url.fill('ftp://example.com/hook');
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  await page.locator('#create-url-error', { hasText: 'url must be an http:// or https:// URL' }).waitFor();
  assert.equal(await url.getAttribute('aria-invalid'), 'true');
  assert.match(await url.getAttribute('aria-describedby'), /create-url-error/);
  console.log('ok - a bad url gets the API\'s error next to the field');

  // Created for the receiver: the secret is shown once.
  await url.fill(hookUrl);
  await page.getByLabel('Description').fill('console test receiver');
  await page.getByLabel('Event types').fill('console.*');
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  const secretEl = page.locator('#wh-secret-value');
  await secretEl.waitFor();
  const secret = await secretEl.textContent();
  assert.match(secret, /^whsec_[A-Za-z0-9+/=]+$/);
  assert.equal(await url.count(), 0, 'the create form is closed');
  const listed = (await (await fetch(`${herald.url}/v1/webhooks`, { headers: { authorization: 'Bearer development' } })).json()).webhooks;
  assert.equal(listed.length, 1);
  const epId = listed[0].id;
  const row = page.locator(`tr[data-endpoint="${epId}"]`);
  await row.getByText(hookUrl).waitFor();
  await row.getByText('console test receiver').waitFor();
  await row.getByText('console.*').waitFor();
  await row.getByText('enabled').waitFor();
  await page.locator('#wh-url', { hasText: hookUrl }).waitFor(); // opened at once
  await page.getByRole('button', { name: 'I have copied it' }).click();
  assert.equal(await secretEl.count(), 0, 'the secret is gone once dismissed');
  console.log('ok - an endpoint is created through the form; its secret is shown once');

  // An event: three attempts answered 500 appear live, then the delivery is failed.
  const pub = await herald.publish([{ type: 'console.hook', data: { n: 1 } }]);
  assert.equal(pub.status, 201);
  const delivery = page.locator('.wh-delivery').first();
  await delivery.locator('h4', { hasText: 'failed' }).waitFor();
  const statuses = await delivery.locator('td.wh-status').allTextContents();
  assert.deepEqual(statuses, ['500', '500', '500'], 'three attempts, each answered 500');
  await delivery.getByText('receiver broken').first().waitFor();
  assert.equal(received.length, 3);
  console.log('ok - the failed attempts (500, with the response excerpt) appear without a reload');

  // Fixed, retried by the button: delivered, correctly signed.
  status = 200;
  await delivery.getByRole('button', { name: /^Retry delivery/ }).click();
  await delivery.locator('h4', { hasText: 'delivered' }).waitFor();
  await delivery.locator('td.wh-status', { hasText: '200' }).waitFor();
  assert.equal(await delivery.locator('tr[data-attempt]').count(), 4);
  const ok200 = received.filter((r) => r.answered === 200);
  assert.equal(ok200.length, 1);
  const verified = new Webhook(secret).verify(ok200[0].body, ok200[0].headers);
  assert.equal(verified.type, 'console.hook');
  assert.deepEqual(verified.data, { n: 1 });
  assert.equal(new Set(received.map((r) => r.headers['webhook-id'])).size, 1, 'one webhook-id for all four');
  console.log('ok - Retry delivers it; the receiver got a request signed with the secret shown');

  // A second event, delivered at first try: failed and delivered side by side.
  await herald.publish([{ type: 'console.hook', data: { n: 2 } }]);
  await page.locator('.wh-delivery').nth(1).waitFor();
  await page.locator('.wh-delivery').first().locator('h4', { hasText: 'delivered' }).waitFor();
  await row.locator('td', { hasText: /^0$/ }).waitFor(); // pending, on the list
  await page.locator('#wh-pending', { hasText: /^0$/ }).waitFor();
  // In view: the deliveries (desktop), the retried one's attempts (phone).
  const top = (sel) => page.locator(sel).first().evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await top('#deliveries-title');
  await page.screenshot({ path: join(SHOTS, 'webhooks.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await top('.wh-delivery >> nth=1');
  await page.screenshot({ path: join(SHOTS, 'webhooks-phone.png') });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390 + 1),
    'at phone width the page does not scroll sideways (tables scroll inside their box)');
  await page.setViewportSize({ width: 1280, height: 800 });
  console.log('ok - screenshots at 1280x800 and 390x844; no sideways scroll at phone width');

  // By keyboard: Close, then open it again from the list with Enter.
  await page.getByRole('button', { name: 'Close' }).press('Enter');
  assert.equal(await page.locator('.wh-detail').count(), 0);
  await row.getByRole('button', { name: `Open ${hookUrl}` }).focus();
  await page.keyboard.press('Enter');
  await page.locator('.wh-delivery').nth(1).waitFor(); // both deliveries, read again
  await page.locator('#wh-url', { hasText: hookUrl }).waitFor();
  console.log('ok - closed and opened again by keyboard');

  // Replay: a bad value refused next to its field, then since event id 0.
  await page.getByLabel('Since', { exact: true }).selectOption('since');
  const from = page.locator('#replay-from');
  await from.fill('yesterday');
  await page.getByRole('button', { name: 'Replay', exact: true }).click();
  await page.locator('#replay-error', { hasText: 'body must be' }).waitFor();
  assert.equal(await from.getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Since', { exact: true }).selectOption('since_id');
  await from.fill('0');
  const before = received.length;
  await page.getByRole('button', { name: 'Replay', exact: true }).click();
  await page.locator('#replay-result', { hasText: 'Replayed 2 events.' }).waitFor();
  await until(() => received.length >= before + 2, 'the two replayed w.requests');
  console.log('ok - replay since an event id says how many; a bad time is refused next to the field');

  // Edit: the description changes on the page and in the list.
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.locator('#edit-description').fill('edited in the console');
  await page.getByRole('button', { name: 'Save' }).click();
  await row.getByText('edited in the console').waitFor();
  await page.locator('.wh-props', { hasText: 'edited in the console' }).waitFor();
  console.log('ok - edit changes the description');

  // Disable (the reason shown, on the page and in the list), then enable.
  await page.getByRole('button', { name: 'Disable' }).click();
  await page.locator('#wh-disabled-reason', { hasText: 'disabled through the API' }).waitFor();
  await page.locator('#wh-disabled-reason', { hasText: 'since' }).waitFor();
  await row.getByText('disabled: disabled through the API').waitFor();
  await page.getByRole('button', { name: 'Enable' }).click();
  await page.locator('#wh-state', { hasText: /^enabled$/ }).waitFor();
  await row.locator('td', { hasText: /^enabled$/ }).waitFor();
  console.log('ok - disable shows why; enable brings it back');

  // Rotate: a new secret, shown once, signs the next request.
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await secretEl.waitFor();
  const secret2 = await secretEl.textContent();
  assert.match(secret2, /^whsec_/);
  assert.notEqual(secret2, secret);
  await page.getByRole('button', { name: 'I have copied it' }).click();
  const n = received.length;
  await herald.publish([{ type: 'console.hook', data: { n: 3 } }]);
  const last = await until(() => received.slice(n).find((r) => r.body.includes('"n":3')), 'the request after rotation');
  assert.deepEqual(new Webhook(secret2).verify(last.body, last.headers).data, { n: 3 });
  console.log('ok - rotate shows a new secret, which signs the next request');

  // Delete: a first button asks, the second deletes.
  await page.getByRole('button', { name: 'Delete…' }).click();
  await page.getByRole('button', { name: 'Keep it' }).waitFor();
  assert.equal(await row.count(), 1, 'nothing deleted by the first button');
  await page.getByRole('button', { name: 'Really delete' }).click();
  await page.getByText('No endpoints yet.').waitFor();
  assert.equal(await page.locator('.wh-detail').count(), 0);
  const after = await (await fetch(`${herald.url}/v1/webhooks`, { headers: { authorization: 'Bearer development' } })).json();
  assert.deepEqual(after.webhooks, []);
  console.log('ok - delete asks with a second button, then the endpoint is gone');

  assertClean(w, herald, { refused: { 400: 2 } }); // the bad url and the bad replay time
}, async () => {
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
});
