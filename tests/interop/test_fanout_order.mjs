// SPDX-License-Identifier: MIT
// test_fanout_order.mjs — many events from concurrent publishers reach
// every subscriber exactly once, in id order.
//
// 4 publishers each send 5 batches of 100 events (sequentially per
// publisher, all publishers at once) = 2000 events. 3 JSON subscribers on
// separate connections (spread over herald's 2 I/O loops) must each get all
// 2000, ids strictly increasing, each publisher's events in its own order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald } from './herald.mjs';
import { jsonNotifier, closeClient, finish, waitUntil, WAIT_MS } from './wsutil.mjs';

const PUBLISHERS = 4, BATCHES = 5, PER_BATCH = 100;
const TOTAL = PUBLISHERS * BATCHES * PER_BATCH;
const herald = await startHerald();
after(() => finish(herald));

async function publisher(p) {
  const ids = [];
  for (let b = 0; b < BATCHES; b++) {
    const events = Array.from({ length: PER_BATCH }, (_, i) => ({
      type: 'order.test', room_id: `pub-${p}`, data: { pub: p, seq: b * PER_BATCH + i } }));
    const r = await herald.publish(events);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.ids.length, PER_BATCH);
    ids.push(...r.body.ids);
  }
  return ids;
}

test(`${TOTAL} events from ${PUBLISHERS} concurrent publishers reach 3 subscribers once each, in order`, async () => {
  const subs = await Promise.all([0, 1, 2].map(() => jsonNotifier(herald.url)));
  const perPub = await Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => publisher(p)));

  // Each publisher's ids increase in the order it published them.
  for (const ids of perPub)
    for (let i = 1; i < ids.length; i++) assert.ok(BigInt(ids[i]) > BigInt(ids[i - 1]), 'ids grow per publisher');
  const all = perPub.flat().sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  assert.equal(new Set(all).size, TOTAL, 'publish answers carry distinct ids');

  for (const [n, s] of subs.entries()) {
    await waitUntil(() => s.messages.items.length >= TOTAL || s.messages.ended !== null, WAIT_MS,
      `subscriber ${n} to receive ${TOTAL} events (has ${s.messages.items.length})`);
    const got = s.messages.items.splice(0).map((m) => m.json);
    assert.equal(s.messages.ended, null, `subscriber ${n} stayed connected`);
    assert.equal(got.length, TOTAL, `subscriber ${n} got each event once`);
    for (let i = 1; i < got.length; i++)
      assert.ok(BigInt(got[i].id) > BigInt(got[i - 1].id), `subscriber ${n}: ids strictly increasing at ${i}: ${got[i - 1].id}, ${got[i].id}`);
    assert.deepEqual(got.map((e) => e.id), all, `subscriber ${n} got exactly the published ids`);
    const next = new Array(PUBLISHERS).fill(0);
    for (const e of got) {
      assert.equal(e.type, 'order.test');
      assert.equal(e.room_id, `pub-${e.data.pub}`);
      assert.equal(e.data.seq, next[e.data.pub]++, `subscriber ${n}: publisher ${e.data.pub} in order`);
    }
    assert.deepEqual(next, new Array(PUBLISHERS).fill(BATCHES * PER_BATCH));
  }

  // Nothing extra follows: the next event is the very next frame.
  const r = await herald.publish({ type: 'order.done', data: {} });
  for (const s of subs) assert.equal((await s.json()).id, r.body.ids[0]);
  for (const s of subs) await closeClient(s);
});
