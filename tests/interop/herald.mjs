// SPDX-License-Identifier: MIT
// herald.mjs — starts a real herald for an interop test and stops it by PID.
//
// The server listens on 127.0.0.1:0 (a free port picked by the kernel); the
// port is read from its "listening on" log line. Each server gets a fresh
// data directory that is removed when it stops.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Deadline of the waits below: they return as soon as the thing happens.
const WAIT_MS = 60000;

// opts.dataDir: use (and keep) this data directory instead of a fresh one.
export async function startHerald(extraArgs = [], opts = {}) {
  const build = process.env.BUILD ?? new URL('../../build', import.meta.url).pathname;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'herald-interop-'));
  const proc = spawn(join(build, 'herald'),
    ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--threads', '2', ...extraArgs],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('herald did not start:\n' + log)), WAIT_MS);
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening on [^ ]+:(\d+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => reject(new Error(`herald exited with ${code}:\n${log}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url, port, proc, dataDir,
    log: () => log,
    async publish(events, token = 'development') {
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(events),
      });
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.on('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (/ERROR: AddressSanitizer|runtime error:|LeakSanitizer/.test(log))
        throw new Error('sanitizer report in the herald log:\n' + log);
      if (proc.signalCode) throw new Error(`herald died of ${proc.signalCode}:\n${log}`);
      return proc.exitCode;
    },
  };
}

// Waits for emitter's event `name`, failing after ms.
export function once(emitter, name, ms = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${name}`)), ms);
    emitter.once(name, (v) => { clearTimeout(t); resolve(v); });
  });
}
