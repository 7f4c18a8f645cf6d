// SPDX-License-Identifier: MIT
// redis.mjs — a throwaway redis-server for the interop tests that run
// herald's Redis engine: on a free loopback port, in its own directory,
// with appendfsync always (what herald requires); stop() ends it and
// removes the directory.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './webhook_receiver.mjs';
import { within, WAIT_MS } from './wsutil.mjs';

export function hasRedis() {
  try { execFileSync('redis-server', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
}

// A port taken between freePort and the server's bind is tried again.
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'herald-interop-redis-'));
  for (;;) {
    const port = await freePort();
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout.on('data', (d) => { log += d; });
    const up = await within(new Promise((resolve) => {
      proc.stdout.on('data', () => { if (/Ready to accept connections/.test(log)) resolve(true); });
      proc.on('exit', () => resolve(false));
    }), WAIT_MS, 'redis-server to start');
    if (up) {
      return {
        url: `redis://127.0.0.1:${port}/0`,
        async stop() {
          if (proc.exitCode === null) { const gone = new Promise((r) => proc.once('exit', r)); proc.kill('SIGTERM'); await gone; }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (!/Address already in use/.test(log)) throw new Error(`redis-server did not start:\n${log}`);
  }
}
