/* SPDX-License-Identifier: MIT */
/* test_store_created.c — the store's replay by created_at (the seeds'
 * access-id API, hv_store_by_created), against the SQLite engine and,
 * through tests/unit/run_with_redis.sh, the Redis engine (store_engine.h).
 *
 * Covers: (key, id) order whatever the commit order, the "after key" and
 * cursor bounds, paging through equal keys, the max_id bound, users kept
 * apart, events without a key left out, that the SQLite query is a range of
 * the index (EXPLAIN QUERY PLAN), and that pruning takes events out of the
 * index too (Redis: the zset members go with the events).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/event.h"
#include "store/store.h"
#include "store_engine.h"

typedef te_fixture fixture;

static int setup(void **state)
{
    return te_fixture_setup(state, "created", "data");
}

static int teardown(void **state)
{
    return te_fixture_teardown(state);
}

/* Appends one access event of user with created key `key` (< 0: none),
 * payload n. */
static void push(hv_store *st, const char *user, double key, int n)
{
    char data[64];
    snprintf(data, sizeof(data), "{\"payload\":%d}", n);
    hv_event *ev = hv_event_new("access.event", NULL, user, data, strlen(data));
    if (key >= 0) {
        ev->created_set = HV_CREATED_KEY;
        ev->created_key = key;
    }
    assert_int_equal(hv_store_append(st, &ev, 1), 0);
    hv_event_unref(ev);
}

/* The payloads of a replay page as "n,n,…" into buf. */
static const char *page(hv_store *st, const char *user, double after_key, uint64_t after_id,
                        uint64_t max_id, size_t limit, char *buf, size_t len)
{
    hv_event **evs = NULL;
    size_t n = 0;
    hv_created_query q = {user, after_key, after_id, max_id, limit};
    assert_int_equal(hv_store_by_created(st, &q, &evs, &n), 0);
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = strstr(evs[i]->data, ":") + 1;
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", i ? "," : "", atoi(p));
        assert_int_equal(evs[i]->created_set, HV_CREATED_KEY);
        hv_event_unref(evs[i]);
    }
    free(evs);
    return buf;
}

#define ALL (-1.0)
#define ONLY_AFTER UINT64_MAX

static void test_order_and_bounds(void **state)
{
    fixture *f = *state;
    char b[256];
    push(f->st, "u", 50, 1);   /* id 1 */
    push(f->st, "u", 40, 2);   /* id 2 */
    push(f->st, "v", 45, 3);   /* another user */
    push(f->st, "u", -1, 4);   /* no key: not in the replay */
    push(f->st, "u", 45, 5);   /* id 5 */
    push(f->st, "u", 45, 6);   /* id 6: equal key, after 5 */
    push(f->st, "u", 0, 7);    /* key 0 */
    push(f->st, "u", 1.5, 8);
    assert_string_equal(page(f->st, "u", ALL, 0, UINT64_MAX, 100, b, sizeof(b)), "7,8,2,5,6,1");
    assert_string_equal(page(f->st, "v", ALL, 0, UINT64_MAX, 100, b, sizeof(b)), "3");
    assert_string_equal(page(f->st, "nobody", ALL, 0, UINT64_MAX, 100, b, sizeof(b)), "");
    /* keys > after_key */
    assert_string_equal(page(f->st, "u", 40, ONLY_AFTER, UINT64_MAX, 100, b, sizeof(b)), "5,6,1");
    assert_string_equal(page(f->st, "u", 44.9, ONLY_AFTER, UINT64_MAX, 100, b, sizeof(b)), "5,6,1");
    assert_string_equal(page(f->st, "u", 45, ONLY_AFTER, UINT64_MAX, 100, b, sizeof(b)), "1");
    assert_string_equal(page(f->st, "u", 50, ONLY_AFTER, UINT64_MAX, 100, b, sizeof(b)), "");
    assert_string_equal(page(f->st, "u", 0, ONLY_AFTER, UINT64_MAX, 100, b, sizeof(b)), "8,2,5,6,1");
    /* a cursor inside equal keys: (45, id 5) */
    assert_string_equal(page(f->st, "u", 45, 5, UINT64_MAX, 100, b, sizeof(b)), "6,1");
    /* pages */
    assert_string_equal(page(f->st, "u", ALL, 0, UINT64_MAX, 2, b, sizeof(b)), "7,8");
    assert_string_equal(page(f->st, "u", 1.5, 8, UINT64_MAX, 2, b, sizeof(b)), "2,5");
    assert_string_equal(page(f->st, "u", 45, 5, UINT64_MAX, 2, b, sizeof(b)), "6,1");
    assert_string_equal(page(f->st, "u", 50, 1, UINT64_MAX, 2, b, sizeof(b)), "");
    /* max_id: what was stored when the replay began */
    assert_string_equal(page(f->st, "u", ALL, 0, 5, 100, b, sizeof(b)), "2,5,1");
    assert_string_equal(page(f->st, "u", ALL, 0, 5, 1, b, sizeof(b)), "2");
}

/* Many events with one key: pages walk through them by id. */
static void test_paging_through_equal_keys(void **state)
{
    fixture *f = *state;
    char b[512];
    for (int i = 1; i <= 25; i++)
        push(f->st, "tie", 7, i);
    double key = ALL;
    uint64_t after = 0;
    char all[512] = "";
    for (int round = 0; round < 10; round++) {
        hv_event **evs = NULL;
        size_t n = 0;
        hv_created_query q = {"tie", key, after, UINT64_MAX, 4};
        assert_int_equal(hv_store_by_created(f->st, &q, &evs, &n), 0);
        for (size_t i = 0; i < n; i++) {
            snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%llu", all[0] ? "," : "",
                     (unsigned long long)evs[i]->id);
            key = evs[i]->created_key;
            after = evs[i]->id;
            hv_event_unref(evs[i]);
        }
        free(evs);
        if (n < 4)
            break;
    }
    assert_string_equal(all, "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25");
    (void)b;
}

static void test_prune_takes_events_out_of_the_index(void **state)
{
    fixture *f = *state;
    char b[256];
    for (int i = 1; i <= 6; i++)
        push(f->st, "p", 100 - i, i); /* keys fall as ids rise */
    assert_int_equal(hv_store_prune(f->st, 2, 0), 4);
    assert_string_equal(page(f->st, "p", ALL, 0, UINT64_MAX, 100, b, sizeof(b)), "6,5");
    if (f->te.redis) /* the members of the pruned events are gone too */
        assert_int_equal(te_cmd_int(&f->te, "ZCARD %Pacc:%s", "p"), 2);
}

static void test_sqlite_query_is_an_index_range(void **state)
{
    fixture *f = *state;
    if (f->te.redis) {
        skip();
        return;
    }
    push(f->st, "u", 1, 1);
    /* the query of store/sqlite_audience.c, as the store's schema plans it */
    sqlite3 *db;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_open(f->te.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
        "EXPLAIN QUERY PLAN SELECT id, time_ms, type, room_id, user_id, data, created_key FROM events"
        " WHERE user_id = ?1 AND created_key IS NOT NULL AND (created_key, id) > (?2, ?3)"
        " AND id >= ?4 AND id <= ?5 ORDER BY created_key, id LIMIT ?6", -1, &s, NULL), SQLITE_OK);
    char plan[1024] = "";
    while (sqlite3_step(s) == SQLITE_ROW)
        snprintf(plan + strlen(plan), sizeof(plan) - strlen(plan), "%s;", sqlite3_column_text(s, 3));
    sqlite3_finalize(s);
    sqlite3_close(db);
    /* one index range, no scan, no sort */
    assert_string_equal(plan, "SEARCH events USING INDEX events_created (user_id=? AND created_key>?);");
}

/* A database of schema 3 (before created_key) gets its access events'
 * keys from their data when herald opens it. */
static void test_sqlite_migration_keys_old_events(void **state)
{
    fixture *f = *state;
    if (f->te.redis) {
        skip();
        return;
    }
    push(f->st, "u", -1, 0); /* id 1, then downgraded: its data has no created_at */
    hv_store_close(f->st);
    f->st = NULL;
    char sql[1024];
    long long now = (long long)hv_now_ms();
    snprintf(sql, sizeof(sql),
             "DROP TABLE idempotency; DROP INDEX events_room_audience; DROP INDEX events_created; ALTER TABLE events DROP COLUMN created_key;"
             " PRAGMA user_version = 3;"
             "INSERT INTO events(id, time_ms, type, user_id, data) VALUES"
             " (2, %lld, 'access.event', 'u', '{\"payload\":2,\"created_at\":30}'),"
             " (3, %lld, 'access.event', 'u', '{\"payload\":3,\"created_at\":\"1970-01-01T00:00:00.020Z\"}'),"
             " (4, %lld, 'access.event', 'u', '{\"payload\":4,\"created_at\":\"1970-01-01T01:00:00.010+01:00\"}'),"
             " (5, %lld, 'access.event', 'u', '{\"payload\":5,\"created_at\":null}'),"
             " (6, %lld, 'other', 'u', '{\"payload\":6}');"
             "UPDATE meta SET value = 6 WHERE key = 'last_id';",
             now, now, now, now, now);
    te_sql_exec(&f->te, sql);
    hv_store_options opt = te_options(&f->te, f->dir, 0);
    f->st = te_open(&opt);
    char b[128];
    /* numbers and ISO times as keys; a null created_at sorts by storage time */
    assert_string_equal(page(f->st, "u", ALL, 0, UINT64_MAX, 100, b, sizeof(b)), "4,3,2,0,5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging_through_equal_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_takes_events_out_of_the_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_query_is_an_index_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_migration_keys_old_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
