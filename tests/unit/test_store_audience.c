/* SPDX-License-Identifier: MIT */
/* test_store_audience.c — a resume's page of an audience (a user and its
 * rooms, hv_store_audience), run against the SQLite engine and, through
 * tests/unit/run_with_redis.sh, the Redis engine with the same assertions.
 *
 * Issue 13, defect 6: the SQLite page query was one OR over the terms,
 * planned as a multi-index OR plus a temp B-tree sort of every later row,
 * so a full resume was quadratic in the room's history. It is now one
 * index range per term merged under ORDER BY id LIMIT n. These tests pin
 * what a client sees (the merged order, page boundaries, room and user
 * terms together, no event twice even when a room is named twice, more
 * rooms than one SQLite statement takes) and, for SQLite, that the plan of
 * every shape of the query reads index ranges only: no scan, no temp B-tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "store/sqlite_internal.h"
#include "store/store.h"
#include "store_engine.h"

typedef te_fixture fixture;

static int setup(void **state)
{
    return te_fixture_setup(state, "audience", "data");
}

static int teardown(void **state)
{
    return te_fixture_teardown(state);
}

/* Appends one event to room (or none) addressed to user (or none). */
static void add(hv_store *st, const char *room, const char *user)
{
    hv_event *ev = hv_event_new("e", room, user, "{}", 2);
    assert_int_equal(hv_store_append(st, &ev, 1), 0);
    hv_event_unref(ev);
}

/* Reads the whole audience after `after` in pages of `page`, as a resume
 * does (each page after the last id of the one before); the ids joined
 * with ',' into buf, and each page's size after a '|' into sizes. */
static const char *resume(hv_store *st, uint64_t after, size_t page, const char *user, const char *const *rooms,
                          size_t nrooms, char *buf, size_t len, char *sizes, size_t slen)
{
    buf[0] = sizes[0] = 0;
    for (;;) {
        hv_event **evs;
        size_t n = 99;
        assert_int_equal(hv_store_audience(st, after, page, user, rooms, nrooms, &evs, &n), 0);
        snprintf(sizes + strlen(sizes), slen - strlen(sizes), "|%zu", n);
        for (size_t i = 0; i < n; i++) {
            assert_true(evs[i]->id > after); /* ascending, nothing twice */
            after = evs[i]->id;
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%llu", buf[0] ? "," : "", (unsigned long long)after);
            hv_event_unref(evs[i]);
        }
        free(evs);
        if (n < page)
            return buf;
    }
}

static void test_room_and_user_terms_merged_in_pages(void **state)
{
    fixture *f = *state;
    add(f->st, "r1", NULL);  /* 1  r1's */
    add(f->st, NULL, "u1");  /* 2  u1's */
    add(f->st, "r1", "u2");  /* 3  in r1 but to u2 only: not u1's */
    add(f->st, "r2", NULL);  /* 4  r2's */
    add(f->st, "r9", NULL);  /* 5  another room */
    add(f->st, "r1", "u1");  /* 6  in r1 and to u1: u1's, once */
    add(f->st, NULL, "u2");  /* 7  another user */
    add(f->st, NULL, NULL);  /* 8  neither */
    add(f->st, "r2", NULL);  /* 9  r2's */
    add(f->st, "r1", NULL);  /* 10 r1's */
    add(f->st, NULL, "u1");  /* 11 u1's */
    const char *rooms[] = {"r2", "r1", "r2"}; /* r2 named twice: still one term */
    char b[256], sz[64];
    assert_string_equal(resume(f->st, 0, 100, "u1", rooms, 3, b, sizeof(b), sz, sizeof(sz)), "1,2,4,6,9,10,11");
    assert_string_equal(sz, "|7");
    /* pages of 3: the same ids, cut at every third, then an empty page */
    assert_string_equal(resume(f->st, 0, 3, "u1", rooms, 3, b, sizeof(b), sz, sizeof(sz)), "1,2,4,6,9,10,11");
    assert_string_equal(sz, "|3|3|1");
    assert_string_equal(resume(f->st, 0, 7, "u1", rooms, 3, b, sizeof(b), sz, sizeof(sz)), "1,2,4,6,9,10,11");
    assert_string_equal(sz, "|7|0");
    /* from the middle of the history, and with a page of one */
    assert_string_equal(resume(f->st, 4, 1, "u1", rooms, 3, b, sizeof(b), sz, sizeof(sz)), "6,9,10,11");
    assert_string_equal(sz, "|1|1|1|1|0");
    /* each term alone */
    assert_string_equal(resume(f->st, 0, 2, "u1", NULL, 0, b, sizeof(b), sz, sizeof(sz)), "2,6,11");
    assert_string_equal(resume(f->st, 0, 2, NULL, rooms + 1, 1, b, sizeof(b), sz, sizeof(sz)), "1,10");
    assert_string_equal(resume(f->st, 0, 2, "u2", rooms, 3, b, sizeof(b), sz, sizeof(sz)), "1,3,4,7,9,10");
    /* no term, or nothing after the last id */
    assert_string_equal(resume(f->st, 0, 2, NULL, NULL, 0, b, sizeof(b), sz, sizeof(sz)), "");
    assert_string_equal(resume(f->st, 11, 2, "u1", rooms, 3, b, sizeof(b), sz, sizeof(sz)), "");
}

/* More rooms than one SQLite compound SELECT takes (500; sqlite_audience.c reads
 * 200 terms per statement and merges): a user token may name 1,000. */
static void test_more_rooms_than_one_statement(void **state)
{
    fixture *f = *state;
    enum { ROOMS = 450 };
    char *names[ROOMS];
    for (int i = 0; i < ROOMS; i++) {
        names[i] = malloc(16);
        snprintf(names[i], 16, "room-%03d", i);
    }
    /* ids 1..900: each room twice, the last rooms first, so the merge
     * draws from every chunk; every tenth id also goes to user u */
    static char want[8192];
    want[0] = 0;
    for (int k = 0; k < 2 * ROOMS; k++) {
        int r = ROOMS - 1 - (k % ROOMS);
        add(f->st, names[r], k % 10 == 0 ? "u" : NULL);
        if (k % 10 == 0 || r % 3 != 1) /* the audience: u and 2 rooms in 3 */
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%d", want[0] ? "," : "", k + 1);
    }
    const char *audience[ROOMS];
    size_t na = 0;
    for (int i = 0; i < ROOMS; i++)
        if (i % 3 != 1)
            audience[na++] = names[i];
    static char got[8192];
    char sz[256];
    assert_string_equal(resume(f->st, 0, 64, "u", audience, na, got, sizeof(got), sz, sizeof(sz)), want);
    assert_string_equal(resume(f->st, 0, 1000, "u", audience, na, got, sizeof(got), sz, sizeof(sz)), want);
    for (int i = 0; i < ROOMS; i++)
        free(names[i]);
}

/* The page query's plan, as SQLite makes it for the store's schema:
 * one SEARCH of an index range per term, no scan, no temp B-tree (a sort
 * there reads every later row of the audience for each page). */
static void test_sqlite_page_is_index_ranges(void **state)
{
    fixture *f = *state;
    if (f->te.redis) {
        skip();
        return;
    }
    add(f->st, "r", NULL);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->te.db, &db), SQLITE_OK);
    static const struct { int user; size_t rooms; } shapes[] = {{1, 0}, {0, 1}, {1, 1}, {0, 2}, {1, 3}, {1, 199}, {0, 200}};
    for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
        char *sql = hv_sqlite_audience_sql(shapes[k].user, shapes[k].rooms);
        char *eqp = malloc(strlen(sql) + 32);
        sprintf(eqp, "EXPLAIN QUERY PLAN %s", sql);
        sqlite3_stmt *s;
        assert_int_equal(sqlite3_prepare_v2(db, eqp, -1, &s, NULL), SQLITE_OK);
        size_t user_ranges = 0, room_ranges = 0;
        while (sqlite3_step(s) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(s, 3);
            if (strstr(d, "TEMP B-TREE") || !strncmp(d, "SCAN", 4))
                fail_msg("shape %d user, %zu rooms: plan has \"%s\"", shapes[k].user, shapes[k].rooms, d);
            if (!strcmp(d, "SEARCH events USING INDEX events_user_id (user_id=? AND id>? AND id<?)"))
                user_ranges++;
            else if (!strcmp(d, "SEARCH events USING INDEX events_room_audience (room_id=? AND id>? AND id<?)"))
                room_ranges++;
            else if (strncmp(d, "MERGE", 5) && strcmp(d, "LEFT") && strcmp(d, "RIGHT"))
                fail_msg("shape %d user, %zu rooms: unexpected plan step \"%s\"", shapes[k].user, shapes[k].rooms, d);
        }
        sqlite3_finalize(s);
        assert_int_equal(user_ranges, (size_t)shapes[k].user);
        assert_int_equal(room_ranges, shapes[k].rooms);
        free(eqp);
        free(sql);
    }
    assert_null(hv_sqlite_audience_sql(0, 0));
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_room_and_user_terms_merged_in_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_rooms_than_one_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_page_is_index_ranges, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
