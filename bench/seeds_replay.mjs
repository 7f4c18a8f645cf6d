// SPDX-License-Identifier: MIT
// bench/seeds_replay.mjs — the seeds' replay by created_at on a big log
// (issue 19): is subscribe_to_events {"access_id", "timestamp"} an index
// read, whatever the size of the log?
//
// Starts its own build/herald (a free loopback port, a fresh data dir,
// --sync-full 0: loading is not what is measured), pushes EVENTS events
// (default 1,000,000) through POST /push_events in batches of 1,000 (4 in
// flight), spread round-robin over USERS access ids (default 1,000), each
// batch's created_at in reverse order, then times, for one access id, a
// seed client (plain `ws`, the seed's first message) from the upgrade to
// the last replayed event, replaying
//   all      timestamp 0: the user's EVENTS/USERS events
//   middle   from the created_at of its 10th newest event: 9 events
//   none     from its newest: nothing to replay
// each REPEAT times (default 20); prints one JSON line with the medians.
// A scan would cost time in proportion to the log; an index read costs in
// proportion to what it returns.
//
//   nice -n 15 node bench/seeds_replay.mjs
//   EVENTS=100000 nice -n 15 node bench/seeds_replay.mjs     # a quick check
//   ENGINE=redis REDIS_URL=redis://127.0.0.1:6379 node bench/seeds_replay.mjs
//   HERALD=path/to/herald                                   # another build
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const WebSocket = createRequire(join(root, 'tests/interop/package.json'))('ws');
const EVENTS = Number(process.env.EVENTS ?? 1e6), USERS = Number(process.env.USERS ?? 1000);
const REPEAT = Number(process.env.REPEAT ?? 20), ENGINE = process.env.ENGINE ?? 'sqlite';
const SECRET = 'bench-secret-0123456789';

function token(sub) {
  const b = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const hp = `${b({ alg: 'HS256', typ: 'JWT' })}.${b({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${hp}.${createHmac('sha256', SECRET).update(hp).digest('base64url')}`;
}

async function start() {
  const dir = mkdtempSync(join(process.env.BENCH_DATA_ROOT ?? tmpdir(), 'herald-seeds-bench-'));
  const args = ['--listen', '127.0.0.1:0', '--data-dir', dir, '--sync-full', '0',
    '--jwt-secret', SECRET];
  if (ENGINE === 'redis') args.push('--engine', 'redis', '--redis-url', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    '--redis-prefix', `bench-seeds-${process.pid}:`);
  const proc = spawn(process.env.HERALD ?? join(root, 'build/herald'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => { log += d; const m = /listening on [^ ]+:(\d+)/.exec(log); if (m) resolve(Number(m[1])); });
    proc.on('exit', (c) => reject(new Error(`herald exited ${c}: ${log}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => { proc.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); } };
}

async function push(url, events) {
  for (;;) {
    const r = await fetch(`${url}/push_events`, {
      method: 'POST', headers: { authorization: 'Bearer development', 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    await r.text();
    if (r.status === 200) return;
    if (r.status !== 503) throw new Error(`push: HTTP ${r.status}`);
  }
}

// created_at of event i: each batch of 1,000 is pushed newest first.
const createdOf = (i) => (Math.floor(i / 1000) * 1000 + 999 - (i % 1000)) * 10;

async function load(url) {
  let next = 0;
  const worker = async () => {
    while (next < EVENTS) {
      const from = next;
      next += 1000;
      const batch = [];
      for (let i = from; i < Math.min(from + 1000, EVENTS); i++) batch.push({ accessid: `u${i % USERS}`, created_at: createdOf(i), payload: i });
      await push(url, batch);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

// ms from the upgrade to the `want`th replayed event (want 0: to a live
// marker pushed once the socket is open, so "nothing" is measured too).
// The markers are newer than every timestamp of the 'all' and 'middle'
// runs only after them, so 'none' runs last.
function replay(url, user, timestamp, want) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const ws = new WebSocket(url.replace('http', 'ws') + '/subscribe_to_events');
    let got = 0;
    const done = () => { resolve(Number(process.hrtime.bigint() - t0) / 1e6); ws.terminate(); };
    ws.on('open', () => {
      ws.send(JSON.stringify({ access_id: user, timestamp, token: token(user) }));
      // no created_at: storage time, after every timestamp here, so the
      // marker comes whether herald joined before storing it or not
      if (want === 0) push(url, [{ accessid: user, payload: 'marker' }]).catch(reject);
    });
    ws.on('message', (d) => {
      const m = JSON.parse(d);
      if (m.type !== 'access.event') return reject(new Error(d.toString()));
      if (want === 0 ? m.data.payload === 'marker' : ++got === want) done();
    });
    ws.on('error', reject);
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const herald = await start();
try {
  const t0 = Date.now();
  await load(herald.url);
  const loadS = (Date.now() - t0) / 1000;
  const user = 'u7', mine = [];
  for (let i = 7; i < EVENTS; i += USERS) mine.push(createdOf(i));
  mine.sort((a, b) => a - b);
  const res = { cell: 'seeds_replay', engine: ENGINE, events: EVENTS, users: USERS, per_user: mine.length, load_s: loadS };
  for (const [name, ts, want] of [['all', 0, mine.length], ['middle', mine.at(-10), 9], ['none', mine.at(-1), 0]]) {
    const times = [];
    for (let k = 0; k < REPEAT; k++) times.push(await replay(herald.url, user, ts, want));
    res[`${name}_median_ms`] = Number(median(times).toFixed(2));
    res[`${name}_max_ms`] = Number(Math.max(...times).toFixed(2));
  }
  console.log(JSON.stringify(res));
} finally {
  herald.stop();
}
