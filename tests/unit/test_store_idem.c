/* SPDX-License-Identifier: MIT */
/* test_store_idem.c — idempotency keys in the store (store/idem.h; issue
 * 18 item 1), against the SQLite engine and, through run_with_redis.sh,
 * the Redis engine: a key is recorded by the commit of its events with
 * their ids and hash and survives reopening; SQLite ignores a key older
 * than the lookup's horizon and prunes it; in Redis a key another node
 * recorded first makes the commit drop the key's events and report it
 * lost (the atomic decision two racing nodes rely on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/event.h"
#include "store/idem.h"
#include "store/outbox.h"
#include "store/store.h"
#include "store_engine.h"

typedef te_fixture fixture;

static const char HASH_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char HASH_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static int setup(void **state)
{
    return te_fixture_setup(state, "idem", "data");
}

static int teardown(void **state)
{
    return te_fixture_teardown(state);
}

/* Commits n events with one key over events first..first+count-1; the
 * ids the events got in ids (0: not stored); returns put.lost. */
static int commit_keyed(hv_store *st, size_t n, const char *key, const char *hash, size_t first,
                        size_t count, uint64_t *ids)
{
    hv_event **evs = calloc(n, sizeof(*evs));
    for (size_t i = 0; i < n; i++)
        evs[i] = hv_event_new("idem.test", NULL, NULL, "{}", 2);
    hv_idem_put put = {key, hash, first, count, 60000, NULL, 0};
    hv_commit c = {.evs = evs, .n = n, .idem = &put, .nidem = 1};
    assert_int_equal(hv_store_commit(st, &c), 0);
    for (size_t i = 0; i < n; i++) {
        ids[i] = evs[i]->id;
        hv_event_unref(evs[i]);
    }
    free(evs);
    return put.lost;
}

static void expect_key(hv_store *st, const char *key, const char *hash, const uint64_t *ids, size_t n)
{
    char got_hash[HV_IDEM_HASH_HEX + 1] = "";
    uint64_t *got;
    size_t ngot;
    assert_int_equal(hv_store_idem_get(st, key, 0, got_hash, &got, &ngot), 1);
    assert_string_equal(got_hash, hash);
    assert_int_equal(ngot, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], ids[i]);
    free(got);
}

static void test_key_recorded_with_its_events(void **state)
{
    fixture *f = *state;
    uint64_t ids[3];
    assert_int_equal(commit_keyed(f->st, 3, "k1", HASH_A, 1, 2, ids), 0);
    assert_int_equal(ids[0], 1);
    expect_key(f->st, "k1", HASH_A, ids + 1, 2);
    char h[HV_IDEM_HASH_HEX + 1];
    uint64_t *none;
    size_t nn;
    assert_int_equal(hv_store_idem_get(f->st, "k2", 0, h, &none, &nn), 0);
    assert_null(none);
    /* durable: the key is there after the store is closed and reopened */
    hv_store_close(f->st);
    hv_store_options opt = te_options(&f->te, f->dir, 0);
    f->st = te_open(&opt);
    expect_key(f->st, "k1", HASH_A, ids + 1, 2);
}

static void test_sqlite_window_and_prune(void **state)
{
    fixture *f = *state;
    if (f->te.redis) {
        skip(); /* Redis expires the key itself (PX): see the next test */
        return;
    }
    uint64_t ids[1];
    commit_keyed(f->st, 1, "old", HASH_A, 0, 1, ids);
    int64_t later = hv_now_ms() + 1000;
    char h[HV_IDEM_HASH_HEX + 1];
    uint64_t *got;
    size_t n;
    /* a lookup whose window starts after the key was recorded misses it */
    assert_int_equal(hv_store_idem_get(f->st, "old", later, h, &got, &n), 0);
    assert_int_equal(hv_store_idem_prune(f->st, hv_now_ms() - 60000), 0);
    assert_int_equal(hv_store_idem_get(f->st, "old", 0, h, &got, &n), 1);
    free(got);
    assert_int_equal(hv_store_idem_prune(f->st, later), 1);
    assert_int_equal(hv_store_idem_get(f->st, "old", 0, h, &got, &n), 0);
}

static void test_redis_key_of_another_node_drops_events(void **state)
{
    fixture *f = *state;
    if (!f->te.redis) {
        skip(); /* one writer per SQLite store: the hub's lookup decides */
        return;
    }
    uint64_t first[2], second[2];
    assert_int_equal(commit_keyed(f->st, 2, "race", HASH_A, 0, 2, first), 0);
    /* another commit under the same key (as from a node whose lookup ran
     * before the first commit): its events are not stored, it is lost */
    assert_int_equal(commit_keyed(f->st, 2, "race", HASH_B, 0, 2, second), 1);
    assert_int_equal(second[0], 0);
    assert_int_equal(second[1], 0);
    expect_key(f->st, "race", HASH_A, first, 2);
    assert_int_equal(hv_store_last_id(f->st), first[1]);
    /* a commit of other events beside a lost key stores those */
    uint64_t mixed[3];
    assert_int_equal(commit_keyed(f->st, 3, "race", HASH_A, 1, 1, mixed), 1);
    assert_int_equal(mixed[0], first[1] + 1);
    assert_int_equal(mixed[1], 0);
    assert_int_equal(mixed[2], first[1] + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_recorded_with_its_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_window_and_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_key_of_another_node_drops_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
