// SPDX-License-Identifier: MIT
// browser.mjs — what every console test shares (issue 17): Debian's
// chromium, headless, driven by playwright-core from console/node_modules;
// a watch on each page for what must never happen (a script error, a CSP
// violation, a request to another origin, a token in a URL, an API refusal
// the test did not provoke); and the run's frame (herald stopped, its log
// printed on failure, the exit code). Each test_console_<page>.mjs drives
// its page; its screenshots go to $SCREENSHOTS (default: the build dir;
// SCREENSHOTS=$PWD/docs/console refreshes the ones in the docs).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startHerald } from '../interop/herald.mjs';

export const SRC = process.env.SRC ?? new URL('../..', import.meta.url).pathname;
export const BUILD = process.env.BUILD ?? join(SRC, 'build');
export const SHOTS = process.env.SCREENSHOTS ?? BUILD;
// Bounds a failure only: every wait returns as soon as its condition holds.
export const WAIT_MS = 60000;

const { chromium } = createRequire(join(SRC, 'console/package.json'))('playwright-core');

// A herald for a console test (tests/interop/herald.mjs), logging at debug
// level so that assertClean's look for tokens in the log sees every line.
export function startConsoleHerald(args = []) {
  return startHerald(['--log-level', 'debug', ...args]);
}

// Watches page: `problems` (script errors, CSP violations: the browser
// logs both as console errors), `requests` (every URL asked for) and
// `refused` (status -> how many API refusals the browser logged).
export function watchPage(page) {
  const w = { page, problems: [], requests: [], refused: {} };
  page.setDefaultTimeout(WAIT_MS);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const r = /Failed to load resource: .* status of (\d+)/.exec(m.text());
    if (r) w.refused[r[1]] = (w.refused[r[1]] ?? 0) + 1;
    else w.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => w.problems.push(`page error: ${e.message}`));
  page.on('request', (r) => w.requests.push(r.url()));
  return w;
}

// What a user must never see, checked at the end of a test: every request
// same-origin, none of `secrets` (tokens) in a URL or herald's log (at
// debug level: startConsoleHerald), no script error or CSP
// violation, and exactly the refusals the test provoked (`refused`, e.g.
// {400: 2}).
export function assertClean(w, herald, { secrets = ['development'], refused = {} } = {}) {
  const origin = new URL(herald.url).origin;
  const foreign = w.requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'nothing loaded from outside the origin');
  // herald names its built-in default token, 'development', in the one
  // start-up warning that says it is in use: that line is no leak.
  const log = herald.log().split('\n').filter((l) => !l.includes('DEVELOPMENT DEFAULT'));
  for (const s of secrets) {
    assert.ok(w.requests.every((u) => !u.includes(s)), 'no token in any URL');
    assert.deepEqual(log.filter((l) => l.includes(s)), [], 'no token in herald\'s log');
  }
  assert.deepEqual(w.problems, [], 'no CSP violation and no script error');
  const want = Object.fromEntries(Object.entries(refused).map(([k, v]) => [String(k), v]));
  assert.deepEqual(w.refused, want, 'exactly the API refusals the test provoked');
  console.log(`ok - ${w.requests.length} requests, all same-origin; no CSP violation, no error`);
}

// Runs test(browser) against herald: launches chromium, and whatever
// happens closes it, stops herald (which fails on a sanitizer report in
// its log), then runs cleanup; prints herald's log on failure and exits 0
// or 1.
export async function runConsoleTest(herald, test, cleanup = async () => {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'], // root in CI; the page is our own
  });
  let failed = false;
  try {
    await test(browser);
  } catch (e) {
    failed = true;
    console.error(e);
    console.error(herald.log());
  } finally {
    await browser.close();
    try {
      await herald.stop();
    } catch (e) {
      failed = true;
      console.error(e);
    }
    await cleanup();
  }
  console.log(failed ? '0 passed, 1 failed' : '1 passed, 0 failed');
  process.exit(failed ? 1 : 0);
}

// Waits until fn() is truthy, checking every 20 ms; returns its value.
export async function until(fn, what) {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
