// SPDX-License-Identifier: MIT
// test_console_sinks.mjs — the console's Sinks page in a real browser
// (issue 17): Debian's chromium, headless, driven by playwright-core.
// herald runs with three sinks of the file module: "audit" (every event,
// a writable file), "archive" (console.* events, a file in a folder that
// does not exist: every batch fails, and after crash_after_s it is marked
// crashed) and "broken" (a module that does not exist: failed). Signing
// in uses a console token minted with POST /v1/console/token: the header
// shows its expiry. The page's table must show, field by field, what GET
// /v1/sinks answers; the herald.sink_crashed alert appears as it arrives
// on the notifier socket (the page is subscribed before the archive sink
// has anything to fail on: it starts at the log's end and only the
// events published here reach it). Then the console-token sign-in paths:
// an expired token (forged with the documented key derivation) is refused
// with the API's "Console token expired" next to the field, and a signed-
// in console token signs out by itself at its expiry (the browser's clock
// fast-forwarded, no waiting). Throughout: nothing loaded from outside the
// origin, no CSP violation, no script error. Screenshots sinks.png
// (1280x800) and sinks-phone.png (390x844, the table scrolling sideways
// inside the page) go to $SCREENSHOTS (default: the build dir).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHOTS, WAIT_MS, assertClean, runConsoleTest, until, watchPage, startConsoleHerald } from './browser.mjs';

const FIELDS = ['module', 'state', 'position', 'last_event_id', 'lag', 'batches', 'events', 'failures',
  'attempt', 'last_error'];

const dir = mkdtempSync(join(tmpdir(), 'herald-console-sinks-'));
writeFileSync(join(dir, 'herald.json'), JSON.stringify({
  sinks: [
    { name: 'audit', module: 'file', config: { path: join(dir, 'audit.jsonl') } },
    { name: 'archive', module: 'file', events: ['console.*'], crash_after_s: 0.5,
      retry: { initial_ms: 50, max_ms: 60000 }, config: { path: join(dir, 'no-such-folder', 'archive.jsonl') } },
    { name: 'broken', module: 'nosuch' },
  ],
}));
const herald = await startConsoleHerald(['--config', join(dir, 'herald.json')]);
const auth = { authorization: 'Bearer development' };
const getJson = async (path) => (await fetch(herald.url + path, { headers: auth })).json();
// A console token as docs/security.md describes it (the server token is 'development').
function forge(expS) {
  const key = createHmac('sha256', 'development').update('herald console token v1').digest();
  const part = `hct_${expS}`;
  return `${part}_${createHmac('sha256', key).update(part).digest('hex')}`;
}

await runConsoleTest(herald, async (browser) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const w = watchPage(page);
  await page.clock.install(); // runs at the real pace until fast-forwarded (the expiry, below)

  // Sign in with a console token minted by the API.
  const minted = await fetch(`${herald.url}/v1/console/token`, { method: 'POST', headers: auth });
  assert.equal(minted.status, 201);
  const { token: consoleToken, expires_at: expiresAt } = await minted.json();
  await page.goto(`${herald.url}/console/#/sinks`);
  await page.getByLabel('Server token or console token').fill(consoleToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Sinks', level: 2 }).waitFor();
  assert.equal(await page.locator('#token-expiry time').getAttribute('datetime'), new Date(expiresAt).toISOString());
  console.log('ok - a console token signs in; the header shows its expiry');

  // The table, before any event: three sinks, "broken" failed with its reason.
  await page.locator('tr[data-sink]').nth(2).waitFor();
  assert.deepEqual(await page.locator('tr[data-sink] th').allTextContents(), ['audit', 'archive', 'broken']);
  await page.locator('tr[data-sink="broken"] [data-field="state"]', { hasText: 'failed' }).waitFor();
  await page.locator('#alerts-live', { hasText: '(live)' }).waitFor();
  console.log('ok - every sink listed; the notifier socket is subscribed');

  // Events: audit takes them, archive fails on them until it is crashed;
  // the alert arrives on the open socket.
  const pub = await herald.publish([{ type: 'console.test', data: { n: 1 } }, { type: 'console.test', data: { n: 2 } },
    { type: 'room.created', room_id: 'r1' }]);
  assert.equal(pub.status, 201);
  const alert = page.locator('#sink-alerts li[data-event-id]');
  await alert.first().waitFor();
  const crashed = (await getJson('/v1/events?type=herald.sink_crashed')).events;
  assert.equal(crashed.length, 1);
  assert.equal(await alert.first().getAttribute('data-event-id'), crashed[0].id);
  const text = await alert.first().textContent();
  assert.ok(text.includes(`archive (file): ${crashed[0].data.reason}`), text);
  assert.match(crashed[0].data.reason, /cannot open/);
  console.log('ok - herald.sink_crashed appears as it arrives, with the sink, module and reason');

  // The page shows what GET /v1/sinks says, field by field (polled every
  // 2 s; the crashed sink retries at most every minute, so the two meet).
  const shown = () => page.$$eval('tr[data-sink]', (rows) => rows.map((r) => {
    const o = { name: r.dataset.sink };
    for (const td of r.querySelectorAll('td[data-field]')) o[td.dataset.field] = td.textContent;
    return o;
  }));
  const asShown = (sinks) => sinks.map((s) => Object.fromEntries([['name', s.name],
    ...FIELDS.map((f) => [f, s[f] == null ? '' : String(s[f])])]));
  let api, onPage;
  const end = Date.now() + WAIT_MS;
  for (;;) {
    api = asShown((await getJson('/v1/sinks')).sinks);
    onPage = await shown();
    const settled = api.find((s) => s.name === 'archive').state === 'crashed' &&
      api.find((s) => s.name === 'audit').lag === '0';
    if (settled && JSON.stringify(api) === JSON.stringify(onPage)) break;
    if (Date.now() > end) assert.deepEqual(onPage, api, 'the table shows GET /v1/sinks');
    await page.waitForTimeout(100); // paces the comparison only
  }
  const archive = onPage.find((s) => s.name === 'archive');
  assert.ok(Number(archive.failures) >= 1 && archive.last_error.includes('cannot open'), JSON.stringify(archive));
  assert.ok(Number(onPage.find((s) => s.name === 'audit').events) >= 4);
  await page.locator('#sinks-summary', { hasText: '3 sinks: 1 running, 1 crashed, 1 failed' }).waitFor();
  console.log(`ok - the table shows GET /v1/sinks field by field (${FIELDS.join(', ')})`);
  await page.screenshot({ path: join(SHOTS, 'sinks.png') });

  // Phone width: the table scrolls inside its region, the page does not.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => {
    const box = document.querySelector('.table-scroll');
    return box.scrollWidth > box.clientWidth && document.documentElement.scrollWidth <= 390;
  }, null, { polling: 50, timeout: WAIT_MS });
  await page.screenshot({ path: join(SHOTS, 'sinks-phone.png') });
  console.log('ok - at 390 px the table scrolls sideways inside the page');
  await page.setViewportSize({ width: 1280, height: 800 });

  // A console token signs out by itself at its expiry.
  await page.clock.fastForward(new Date(expiresAt).getTime() - Date.now() + 1000);
  await page.locator('#token-error', { hasText: 'Signed out: Console token expired' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the token is forgotten');
  console.log('ok - a console token signs out at its expiry with a clear message');

  // An expired console token is refused with the API's message.
  const token = page.getByLabel('Server token or console token');
  await token.fill(forge(Math.floor(Date.now() / 1000) - 60));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#token-error', { hasText: /^Console token expired$/ }).waitFor();
  assert.equal(await token.getAttribute('aria-invalid'), 'true');
  console.log('ok - an expired console token is refused with "Console token expired" next to the field');

  assertClean(w, herald, { secrets: ['hct_', 'development'], refused: { 401: 1 } }); // the expired token's
}, async () => {
  rmSync(dir, { recursive: true, force: true });
});
