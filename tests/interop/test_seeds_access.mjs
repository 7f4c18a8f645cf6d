// SPDX-License-Identifier: MIT
// test_seeds_access.mjs — the seeds' access-id API as a seed client and
// connector use it (issue 19): a plain `ws` client sends exactly the
// seed's first message {"access_id", "timestamp"} (plus the user token
// herald requires), a connector POSTs /push_events [{"accessid",
// "created_at", "payload"}]. Replay selects created_at > timestamp in
// created_at order (0 or none: everything), then live with no gap and no
// duplicate; events pushed without created_at get storage time; herald's
// own `since` works on this socket too; drop_user closes every connection
// of that user and no other.
//
// Every case runs against the SQLite engine and, in a second herald, the
// Redis engine (a throwaway redis-server; skipped with a note when none is
// installed). Waits are for conditions: a live "marker" event pushed after
// subscribing arrives after the whole replay, so once it is here the
// replay is complete and can be compared exactly.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { startHerald } from './herald.mjs';
import { WAIT_MS, waitUntil, within } from './wsutil.mjs';
import { hasRedis, startRedis } from './redis.mjs';

const SECRET = 'seed-secret-0123456789';
const b64u = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
function userToken(sub) {
  const head = b64u({ alg: 'HS256', typ: 'JWT' });
  const body = b64u({ sub, exp: Math.floor(Date.now() / 1000) + 3600 });
  return `${head}.${body}.${createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url')}`;
}

// ---- the seed's two sides ----

function seedApi(herald) {
  const push = async (events) => {
    const res = await fetch(`${herald.url}/push_events`, {
      method: 'POST',
      headers: { authorization: 'Bearer development', 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    const t = await res.text();
    return { status: res.status, body: t ? JSON.parse(t) : null };
  };
  // A subscriber: the seed's first message, every event in arrival order.
  const subscribe = (first, path = '/subscribe_to_events') => {
    const ws = new WebSocket(herald.url.replace('http', 'ws') + path);
    const s = { ws, msgs: [], events: [], closed: null };
    s.closedP = new Promise((r) => ws.on('close', (code, reason) => { s.closed = { code, reason: reason.toString() }; r(s.closed); }));
    s.opened = new Promise((r) => ws.on('open', r));
    ws.on('error', () => {});
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      s.msgs.push(m);
      if (m.type === 'access.event') s.events.push(m);
    });
    ws.on('open', () => ws.send(JSON.stringify(first)));
    return s;
  };
  const seed = (access_id, timestamp, extra = {}) =>
    subscribe({ access_id, ...(timestamp === undefined ? {} : { timestamp }), token: userToken(access_id), ...extra });
  // Pushes a marker for s's access id (no created_at: storage time, newer
  // than every event before it) and waits for it: it comes live after the
  // replay, or, if herald had not read the first message yet, last in the
  // replay; either way what came before it is complete. Returns the
  // payloads before it, earlier markers left out.
  let markers = 0;
  const settled = async (s, accessId) => {
    const tag = `marker-${++markers}`;
    await s.opened;
    assert.equal((await push([{ accessid: accessId, payload: tag }])).status, 200);
    await waitUntil(() => s.events.some((m) => m.data.payload === tag) || s.closed, WAIT_MS, `${tag} on ${accessId}`);
    assert.equal(s.closed, null, `socket closed: ${JSON.stringify(s.closed)}`);
    const i = s.events.findIndex((m) => m.data.payload === tag);
    return s.events.slice(0, i).map((m) => m.data.payload).filter((p) => !/^marker-/.test(p));
  };
  return { push, subscribe, seed, settled };
}

const engines = [['sqlite', null]];
if (hasRedis()) engines.push(['redis', null]);
else test('redis engine', { skip: 'redis-server is not installed (scripts/deps.sh)' }, () => {});

for (const [engine] of engines) {
  describe(`${engine} engine`, () => {
    let herald, redis, push, seed, subscribe, settled;
    test('start', async () => {
      const args = ['--jwt-secret', SECRET];
      if (engine === 'redis') {
        redis = await startRedis();
        args.push('--engine', 'redis', '--redis-url', redis.url);
      }
      herald = await startHerald(args);
      ({ push, seed, subscribe, settled } = seedApi(herald));
      // the redis engine takes commits once its first probe found Redis
      await waitUntil(async () => (await push([{ accessid: 'warm-up', payload: 0 }])).status === 200, WAIT_MS,
        'the store to take a push');
    });
    after(async () => {
      if (herald) await herald.stop();
      if (redis) await redis.stop();
    });

    test('timestamp 0 or absent replays everything retained, in created_at order', async () => {
      assert.deepEqual(await push([
        { accessid: 'zero', created_at: 10, payload: 'a' },
        { accessid: 'zero', created_at: 20, payload: 'b' },
        { accessid: 'other', created_at: 15, payload: 'not zero' },
        { accessid: 'zero', created_at: '1970-01-01T00:00:00.030Z', payload: 'c' },
        { accessid: 'zero', created_at: 0, payload: 'at zero' },
      ]), { status: 200, body: true });
      for (const ts of [0, undefined, null]) {
        const s = seed('zero', ts);
        assert.deepEqual(await settled(s, 'zero'), ['at zero', 'a', 'b', 'c'], `timestamp ${ts}`);
        // the events are herald's envelope: the connector's created_at verbatim
        const b = s.events.find((m) => m.data.payload === 'b');
        assert.equal(b.user_id, 'zero');
        assert.equal(b.data.created_at, 20);
        assert.equal(s.events.find((m) => m.data.payload === 'c').data.created_at, '1970-01-01T00:00:00.030Z');
        s.ws.close();
        await s.closedP;
      }
    });

    test('replay from the middle: created_at > timestamp, numbers as numbers, ISO 8601 as times', async () => {
      await push([
        { accessid: 'mid', created_at: 100, payload: 'p100' },
        { accessid: 'mid', created_at: 200, payload: 'p200' },
        { accessid: 'mid', created_at: 300, payload: 'p300' },
      ]);
      const cases = [
        [150, ['p200', 'p300']],
        [200, ['p300']], // the last one seen is not sent again
        [199.5, ['p200', 'p300']],
        [300, []],
        ['1970-01-01T00:00:00.250Z', ['p300']],
        ['1970-01-01T01:00:00.150+01:00', ['p200', 'p300']],
      ];
      for (const [ts, want] of cases) {
        const s = seed('mid', ts);
        assert.deepEqual(await settled(s, 'mid'), want, `timestamp ${JSON.stringify(ts)}`);
        s.ws.close();
        await s.closedP;
      }
    });

    test('events pushed out of created_at order replay in created_at order', async () => {
      await push([{ accessid: 'ooo', created_at: 50, payload: 'x50' }, { accessid: 'ooo', created_at: 40, payload: 'y40' }]);
      await push([{ accessid: 'ooo', created_at: 60, payload: 'z60' }]);
      await push([{ accessid: 'ooo', created_at: 45, payload: 'w45' }, { accessid: 'ooo', created_at: 45, payload: 'v45' }]);
      await push([{ accessid: 'ooo', created_at: '1970-01-01T00:00:00.042Z', payload: 'iso42' }]);
      let s = seed('ooo', 0);
      // equal created_at: in the order they were stored
      assert.deepEqual(await settled(s, 'ooo'), ['y40', 'iso42', 'w45', 'v45', 'x50', 'z60']);
      s.ws.close();
      s = seed('ooo', 44);
      assert.deepEqual(await settled(s, 'ooo'), ['w45', 'v45', 'x50', 'z60']);
      // live events come as they are pushed, whatever their created_at
      await push([{ accessid: 'ooo', created_at: 1, payload: 'late1' }]);
      await waitUntil(() => s.events.some((m) => m.data.payload === 'late1'), WAIT_MS, 'the live late1');
      s.ws.close();
    });

    test('events pushed without created_at get storage time, increasing, and resume from it', async () => {
      const before = Date.now();
      await push([{ accessid: 'stamp', payload: 's1' }, { accessid: 'stamp', payload: 's2' }, { accessid: 'stamp', payload: 's3', created_at: null }]);
      let s = seed('stamp', 0);
      assert.deepEqual(await settled(s, 'stamp'), ['s1', 's2', 's3']);
      const t = s.events.slice(0, 3).map((m) => m.data.created_at);
      for (const x of t) {
        assert.equal(typeof x, 'number');
        assert.ok(x >= before - 5000 && x <= Date.now() + 5000, `storage time ${x} near now`);
      }
      assert.ok(t[0] < t[1] && t[1] < t[2], `strictly increasing: ${t}`);
      s.ws.close();
      s = seed('stamp', t[0]);
      assert.deepEqual(await settled(s, 'stamp'), ['s2', 's3']);
      s.ws.close();
    });

    test('bad created_at and timestamp are refused clearly', async () => {
      for (const bad of ['yesterday', '2026-01-01', -1, true, { t: 1 }]) {
        const r = await push([{ accessid: 'bad', created_at: bad, payload: 1 }]);
        assert.equal(r.status, 400, JSON.stringify(bad));
        assert.match(r.body.errors, /created_at must be a number >= 0 or an ISO 8601 time/);
      }
      const s = seed('bad', 'last tuesday');
      assert.equal((await s.closedP).code, 4003);
      assert.match(s.closed.reason, /timestamp must be/);
      const wrong = subscribe({ access_id: 'bad', timestamp: 0, token: userToken('mallory') });
      assert.deepEqual(await wrong.closedP, { code: 4003, reason: 'the token is not for this access_id' });
    });

    test("herald's own resume by event id (since) on this socket", async () => {
      await push([{ accessid: 'since', created_at: 3, payload: 'e3' }, { accessid: 'since', created_at: 1, payload: 'e1' }]);
      let s = seed('since', 0);
      assert.deepEqual(await settled(s, 'since'), ['e1', 'e3']);
      const e3 = s.events.find((m) => m.data.payload === 'e3');
      s.ws.close();
      // since: the events after that id, in id order (not created_at order)
      s = seed('since', undefined, { since: e3.id });
      assert.deepEqual(await settled(s, 'since'), ['e1']);
      s.ws.close();
      s = seed('since', undefined, { since: Number(e3.id) });
      assert.equal((await settled(s, 'since'))[0], 'e1');
      s.ws.close();
      // ?since= on the upgrade, as on herald's other sockets
      s = subscribe({ access_id: 'since', token: userToken('since') }, `/subscribe_to_events?since=${e3.id}`);
      assert.equal((await settled(s, 'since'))[0], 'e1');
      s.ws.close();
      s = seed('since', 0, { since: 'latest' });
      assert.equal((await s.closedP).code, 4003);
    });

    test('a reconnect loop while connectors push: no gap, no duplicate', async () => {
      const N = 150;
      // Connector A gives its own increasing created_at and pushes one
      // batch at a time; connector B gives none (storage time) and pushes
      // three batches at once, so its commits race each other.
      const a = (async () => {
        for (let i = 0; i < N; i += 3) {
          const batch = [];
          for (let k = i; k < Math.min(i + 3, N); k++) batch.push({ accessid: 'loop-a', created_at: 1000 + k, payload: k });
          assert.equal((await push(batch)).status, 200);
        }
      })();
      const b = (async () => {
        for (let i = 0; i < N; i += 6) {
          const reqs = [];
          for (let k = i; k < Math.min(i + 6, N); k += 2) {
            const batch = [{ accessid: 'loop-b', payload: k }];
            if (k + 1 < N) batch.push({ accessid: 'loop-b', payload: k + 1 });
            reqs.push(push(batch));
          }
          for (const r of await Promise.all(reqs)) assert.equal(r.status, 200);
        }
      })();
      // A seed client: reconnects with the created_at of the last event it
      // saw after a few events, closing cleanly or cutting the TCP
      // connection, until it has seen all N.
      const client = async (accessId) => {
        const seen = [];
        let last = 0, round = 0;
        while (seen.length < N) {
          const want = Math.min(N, seen.length + 1 + (round % 7));
          const s = seed(accessId, last);
          await waitUntil(() => seen.length + s.events.length >= want || s.closed, WAIT_MS,
            `${accessId}: event ${want} of ${N} (round ${round}, resumed from ${last}, had ${seen.length})`);
          assert.equal(s.closed, null);
          // what arrived before the client hung up is what it saw
          const got = s.events.slice();
          if (round++ % 2) s.ws.terminate(); else s.ws.close();
          for (const m of got) {
            seen.push(m);
            last = m.data.created_at;
          }
        }
        return seen;
      };
      const [seenA, seenB] = await Promise.all([client('loop-a'), client('loop-b'), a, b]);
      const want = [...Array(N).keys()];
      for (const [name, seen] of [['loop-a', seenA], ['loop-b', seenB]]) {
        const keys = seen.map((m) => `${m.data.created_at}/${m.data.payload}`);
        assert.equal(new Set(keys).size, keys.length, `${name}: a duplicate by created_at and payload`);
        const payloads = seen.map((m) => m.data.payload).sort((x, y) => x - y);
        assert.deepEqual(payloads, want, `${name}: every event exactly once`);
        const times = seen.map((m) => m.data.created_at);
        assert.deepEqual(times, [...times].sort((x, y) => x - y), `${name}: created_at never goes back`);
      }
      // connector A's own order is its created_at order: exactly in order
      assert.deepEqual(seenA.map((m) => m.data.payload), want);
    });

    test('drop_user closes every connection of that user, another user stays connected', async () => {
      const drops = [seed('dropme', 0), seed('dropme', 0), seed('dropme', 0)];
      const keep = seed('keepme', 0);
      for (const s of drops) await settled(s, 'dropme');
      await settled(keep, 'keepme');
      const r = await fetch(`${herald.url}/drop_user`, {
        method: 'POST',
        headers: { authorization: 'Bearer development', 'content-type': 'application/json' },
        body: JSON.stringify({ drop_access_id: 'dropme' }),
      });
      assert.equal(r.status, 200);
      assert.equal(await r.json(), true);
      for (const s of drops) assert.deepEqual(await within(s.closedP, WAIT_MS, 'dropme closed'), { code: 4006, reason: 'dropped' });
      // the other user's socket still gets its events, live
      assert.deepEqual(await settled(keep, 'keepme'), []);
      assert.equal(keep.closed, null);
      assert.equal(keep.ws.readyState, WebSocket.OPEN);
      keep.ws.close();
      await keep.closedP;
    });
  });
}
