// SPDX-License-Identifier: MIT
// console-screenshot.mjs [OUT.png] — the picture of the Overview in
// docs/console/ (issue 17): a real herald (build/herald), a few JSON
// server-notifier listeners (so there are deliveries), events published in
// waves for about 45 s, then the console at 1280x800 in headless Debian
// chromium (playwright-core from console/node_modules).
//   BUILD=$PWD/build node scripts/console-screenshot.mjs docs/console/overview.png
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startHerald } from '../tests/interop/herald.mjs';

const SRC = new URL('..', import.meta.url).pathname;
const out = process.argv[2] ?? join(SRC, 'docs/console/overview.png');
const { chromium } = createRequire(join(SRC, 'console/package.json'))('playwright-core');

const herald = await startHerald(['--metrics-interval', '1']);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${herald.url}/console/`);
  await page.getByLabel('Server token').fill('development');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#health-status', { hasText: 'ok' }).waitFor();
  // Three listeners in the page's origin, each getting every event.
  await page.evaluate(() => {
    for (let i = 0; i < 3; i++) {
      const ws = new WebSocket(`ws://${location.host}/socket/server/websocket`);
      ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: 'development' }));
      ws.onmessage = (m) => {
        if (JSON.parse(m.data).type === 'authenticated')
          ws.send(JSON.stringify({ type: 'subscribe', event_type: 'server_notification' }));
      };
      window[`listener${i}`] = ws;
    }
  });
  const start = Date.now();
  while (Date.now() - start < 45000) {
    const t = (Date.now() - start) / 1000;
    const n = Math.round(20 + 15 * Math.sin(t / 6) + (t > 25 && t < 32 ? 40 : 0));
    await herald.publish(Array.from({ length: n }, (_, i) => ({ type: 'demo.tick', room_id: `r${i % 4}` })));
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.screenshot({ path: out });
  console.log(`screenshot: ${out}`);
} finally {
  await browser.close();
  await herald.stop();
}
