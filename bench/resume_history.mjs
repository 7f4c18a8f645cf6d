// SPDX-License-Identifier: MIT
// bench/resume_history.mjs — a resume through a room's whole history
// (issue 13, defect 6): does each page of a resume cost what it returns,
// or what comes after it?
//
// Starts its own herald (HERALD, default build/herald; a free loopback
// port, a fresh data dir, --sync-full 0: loading is not what is measured,
// --retention-events 0 so all EVENTS stay), publishes EVENTS events
// (default 1,000,000) to one room through POST /v1/events in batches of
// 1,000 (4 in flight), then opens one app client socket
// (/socket/peer/websocket, a user token naming the room, so the audience
// is a user term and a room term) that resumes from id 0, and times
//   first_page_ms  from the auth frame to the 500th replayed event (one
//                  page: herald reads history 500 events at a time)
//   all_ms         to the last event (EVENTS replayed, ids checked to
//                  ascend with no gap), or, if TIMEOUT_S (default 900)
//                  passes first, how many came by then ("timed_out")
// Then, with herald stopped and if the sqlite3 CLI is installed, runs that
// build's page query on the loaded file (the query of schema 4, the one
// before, or of schema 6 or later, the one after, picked by PRAGMA user_version)
// for the first page, with .stats: its VM steps and sorts say how many
// rows the page read. Prints one JSON line.
//
//   nice -n 15 node bench/resume_history.mjs
//   EVENTS=100000 nice -n 15 node bench/resume_history.mjs       # a quick check
//   HERALD=/tmp/resume-before/build/herald node bench/resume_history.mjs   # another build
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const WebSocket = createRequire(join(root, 'tests/interop/package.json'))('ws');
const EVENTS = Number(process.env.EVENTS ?? 1e6), TIMEOUT_S = Number(process.env.TIMEOUT_S ?? 900);
const SECRET = 'bench-secret-0123456789', ROOM = 'big-room', PAGE = 500;

function token(sub, rooms) {
  const b = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const hp = `${b({ alg: 'HS256', typ: 'JWT' })}.${b({ sub, rooms, exp: Math.floor(Date.now() / 1000) + 7200 })}`;
  return `${hp}.${createHmac('sha256', SECRET).update(hp).digest('base64url')}`;
}

async function start() {
  const dir = mkdtempSync(join(process.env.BENCH_DATA_ROOT ?? tmpdir(), 'herald-resume-bench-'));
  const args = ['--listen', '127.0.0.1:0', '--data-dir', dir, '--sync-full', '0', '--retention-events', '0',
    '--jwt-secret', SECRET];
  const proc = spawn(process.env.HERALD ?? join(root, 'build/herald'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => { log += d; const m = /listening on [^ ]+:(\d+)/.exec(log); if (m) resolve(Number(m[1])); });
    proc.on('exit', (c) => reject(new Error(`herald exited ${c}: ${log}`)));
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  return { url: `http://127.0.0.1:${port}`, dir,
    stop: async () => { proc.kill('SIGTERM'); await exited; },
    remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function publish(url, events) {
  for (;;) {
    const r = await fetch(`${url}/v1/events`, {
      method: 'POST', headers: { authorization: 'Bearer development', 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    await r.text();
    if (r.status === 201) return;
    if (r.status !== 503) throw new Error(`publish: HTTP ${r.status}`);
  }
}

async function load(url) {
  let next = 0;
  const worker = async () => {
    while (next < EVENTS) {
      const from = next;
      next += 1000;
      const batch = [];
      for (let i = from; i < Math.min(from + 1000, EVENTS); i++) batch.push({ type: 'bench.tick', room_id: ROOM, data: { i } });
      await publish(url, batch);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

// Resumes from 0 and times the first page and the whole history.
function resume(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace('http', 'ws') + '/socket/peer/websocket');
    let t0, got = 0, last = 0, firstPage = null;
    const end = (timedOut) => {
      clearTimeout(timer);
      ws.terminate();
      resolve({ first_page_ms: firstPage, all_ms: Number(process.hrtime.bigint() - t0) / 1e6, replayed: got, timed_out: timedOut });
    };
    const timer = setTimeout(() => end(true), TIMEOUT_S * 1000);
    ws.on('open', () => {
      t0 = process.hrtime.bigint();
      ws.send(JSON.stringify({ type: 'auth', token: token('bench-user', [ROOM]), since: '0' }));
    });
    ws.on('message', (d) => {
      const m = JSON.parse(d);
      if (m.type === 'authenticated') return;
      if (m.type === 'error' || m.type === 'resume_failed') return reject(new Error(d.toString()));
      const id = Number(m.id);
      if (id !== last + 1) return reject(new Error(`id ${id} after ${last}`));
      last = id;
      if (++got === PAGE) firstPage = Number(process.hrtime.bigint() - t0) / 1e6;
      if (got === EVENTS) end(false);
    });
    ws.on('close', (code, why) => { if (got < EVENTS) reject(new Error(`closed ${code} ${why}`)); });
    ws.on('error', reject);
  });
}

// The first page's query as the build that wrote dir issues it, run by the
// sqlite3 CLI with .stats: time, VM steps, sorts.
function pageCost(dir) {
  const db = join(dir, 'herald.db');
  const v = spawnSync('sqlite3', [db, 'PRAGMA user_version'], { encoding: 'utf8' });
  if (v.status !== 0) return {};
  const schema = Number(v.stdout.trim());
  const cols = 'SELECT id, time_ms, type, room_id, user_id, data FROM events WHERE ';
  const sql = schema >= 6
    ? `${cols}user_id = 'bench-user' AND id > 0 AND id <= ${EVENTS} UNION ALL `
      + `${cols}room_id = '${ROOM}' AND user_id IS NULL AND id > 0 AND id <= ${EVENTS} ORDER BY id LIMIT ${PAGE}`
    : `${cols}id > 0 AND id <= ${EVENTS} AND ((user_id IS NULL AND room_id IN (SELECT value FROM json_each('["${ROOM}"]')))`
      + ` OR ('bench-user' IS NOT NULL AND user_id = 'bench-user')) ORDER BY id LIMIT ${PAGE}`;
  const script = `EXPLAIN QUERY PLAN ${sql};\n.stats on\n.timer on\nSELECT count(*) FROM (${sql});\n`;
  const r = spawnSync('sqlite3', [db], { input: script, encoding: 'utf8' });
  const num = (re) => Number((re.exec(r.stdout) ?? [])[1]);
  return {
    schema,
    page_plan: r.stdout.split('\n').filter((l) => /SEARCH|SCAN|TEMP|MERGE|MULTI/.test(l)).map((l) => l.replace(/^[|`\- ]+/, '')).join('; '),
    page_query_ms: Number((num(/Run Time: real ([\d.]+)/) * 1000).toFixed(2)),
    page_vm_steps: num(/Virtual Machine Steps:\s+(\d+)/),
    page_sorts: num(/Sort Operations:\s+(\d+)/),
  };
}

const herald = await start();
try {
  const t0 = Date.now();
  await load(herald.url);
  const res = { cell: 'resume_history', events: EVENTS, load_s: (Date.now() - t0) / 1000 };
  Object.assign(res, await resume(herald.url));
  res.events_per_s = Math.round(res.replayed / (res.all_ms / 1000));
  await herald.stop();
  Object.assign(res, pageCost(herald.dir));
  console.log(JSON.stringify(res));
} finally {
  await herald.stop();
  herald.remove();
}
