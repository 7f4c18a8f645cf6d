// SPDX-License-Identifier: MIT
// bench/console_tail.mjs — how soon does a published event show in the
// console's live tail (issue 17: "a published event appears in the live
// tail within a second")? A timing target, so it is measured here, not
// asserted by tests/console/test_console_events.mjs (which checks that the
// row comes from the socket push with no HTTP request in between).
//
// Starts its own herald (HERALD, default build/herald; a free loopback
// port, a fresh data dir), opens /console/#/events in Debian's chromium
// (headless, playwright-core from console/node_modules), signs in, waits
// for the tail's socket to be live, then EVENTS times (default 200), one
// at a time: POST /v1/events of one event (from this process), and waits
// for its row in the page. Each sample is the time from sending the POST
// to the row being in the DOM (the page draws arrivals in batches every
// 50 ms at most: that is part of it). With RATE set (events/s), a
// background publisher adds that many other events per second, which the
// tail also draws. Prints one JSON line: count, p50, p90, p99, max (ms).
//
//   nice -n 15 node bench/console_tail.mjs
//   RATE=500 EVENTS=200 nice -n 15 node bench/console_tail.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { chromium } = createRequire(join(root, 'console/package.json'))('playwright-core');
const EVENTS = Number(process.env.EVENTS ?? 200), RATE = Number(process.env.RATE ?? 0);
const AUTH = { authorization: 'Bearer development', 'content-type': 'application/json' };

async function start() {
  const dir = mkdtempSync(join(tmpdir(), 'herald-console-bench-'));
  const proc = spawn(process.env.HERALD ?? join(root, 'build/herald'),
    ['--listen', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => { log += d; const m = /listening on [^ ]+:(\d+)/.exec(log); if (m) resolve(Number(m[1])); });
    proc.on('exit', (c) => reject(new Error(`herald exited ${c}: ${log}`)));
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  return { url: `http://127.0.0.1:${port}`,
    stop: async () => { proc.kill('SIGTERM'); await exited; rmSync(dir, { recursive: true, force: true }); } };
}

async function publish(url, event) {
  const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: AUTH, body: JSON.stringify(event) });
  if (res.status !== 201) throw new Error(`publish: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()).ids[0];
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

const herald = await start();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox'],
});
let background = null;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(60000);
  await page.goto(`${herald.url}/console/#/events`);
  await page.getByLabel('Server token or console token').fill('development');
  await page.keyboard.press('Enter');
  await page.locator('#tail-conn', { hasText: 'live' }).waitFor();
  if (RATE > 0) {
    let stop = false;
    const loop = async () => {
      const gap = 1000 / RATE;
      let next = performance.now();
      while (!stop) {
        await publish(herald.url, { type: 'bench.background', data: {} });
        next += gap;
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    };
    const done = loop();
    background = async () => { stop = true; await done; };
  }
  const samples = [];
  for (let i = 0; i < EVENTS; i++) {
    const t0 = performance.now();
    const id = await publish(herald.url, { type: 'bench.tail', data: { i } });
    await page.locator(`#tail tr[data-event-id="${id}"]`).waitFor({ state: 'attached' });
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const r = (x) => Math.round(x * 10) / 10;
  console.log(JSON.stringify({ cell: 'console_tail', events: EVENTS, background_rate: RATE,
    p50_ms: r(pct(samples, 0.5)), p90_ms: r(pct(samples, 0.9)), p99_ms: r(pct(samples, 0.99)),
    max_ms: r(samples[samples.length - 1]) }));
} finally {
  if (background) await background();
  await browser.close();
  await herald.stop();
}
