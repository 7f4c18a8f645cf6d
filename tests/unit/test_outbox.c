/* SPDX-License-Identifier: MIT */
/* test_outbox.c — unit tests of the webhook outbox (outbox.h): the SQLite
 * engine's (src/store/sqlite_outbox.c and its parts of sqlite.c) and, through
 * tests/unit/run_with_redis.sh, the Redis engine's with the same
 * assertions (store_engine.h). The schema migration: test_outbox_migrate.c.
 *
 * Each test opens a store in a fresh mkdtemp directory and, when needed,
 * the delivery engine's connection (hv_outbox_open). Covers outbox rows
 * committed with their events (ids, survival across a reopen, rollback on
 * failure), loading pending rows in pages with their events, recording
 * attempts and the attempts history JSON, manual retry, replay, pruning
 * that keeps events still owed to an endpoint (and of finished outbox
 * rows and attempts), and the hub's
 * writer committing while the engine records attempts in another thread.
 * Side effects are checked through a side door into the engine's storage
 * (store_engine.h: a plain SQLite connection, or plain Redis commands).
 */
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/event.h"
#include "store/outbox.h"
#include "store/store.h"
#include "store_engine.h"

#include "outbox_fixture.h"

static void test_commit_rows(void **state)
{
    fixture *f = *state;
    assert_int_equal(commit_n(f->st, 2, "pre.e", NULL, NULL, NULL), 0);
    hv_event *evs[3] = {hv_event_new("a.e", NULL, NULL, NULL, 0),
                        hv_event_new("b.e", NULL, NULL, NULL, 0),
                        hv_event_new("c.e", NULL, NULL, NULL, 0)};
    hv_outbox_new rows[4] = {{"ep1", 0, 100, 0}, {"ep2", 2, 200, 0}, {"ep1", 2, 300, 0},
                             {"ep2", 1, 400, 0}};
    hv_kv_change kv = {"room", "r1", "{\"id\":\"r1\"}"};
    hv_commit c = {.evs = evs, .n = 3, .kv = &kv, .nkv = 1, .outbox = rows, .noutbox = 4};
    assert_int_equal(hv_store_commit(f->st, &c), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(evs[i]->id, 3 + i);
    for (int i = 0; i < 4; i++)
        assert_int_equal(rows[i].id, 1 + i);
    assert_int_equal(hv_store_last_id(f->st), 5);
    assert_int_equal(hv_outbox_pending_count(f->st, NULL), 4);
    assert_int_equal(hv_outbox_pending_count(f->st, "ep1"), 2);
    assert_int_equal(hv_outbox_pending_count(f->st, "nope"), 0);

    /* Rows survive a reopen, with their events. */
    hv_store_close(f->st);
    f->st = open_store(f);
    hv_outbox *ob = open_outbox(f);
    hv_outbox_item *items;
    size_t n = load(ob, 0, 100, &items);
    assert_int_equal(n, 4);
    static const uint64_t want_ev[4] = {3, 5, 5, 4};
    for (size_t i = 0; i < n; i++) {
        check_item(&items[i], i + 1, rows[i].endpoint_id, want_ev[i], 0, rows[i].next_at_ms);
        assert_int_equal(items[i].event->time_ms, evs[want_ev[i] - 3]->time_ms);
        assert_string_equal(items[i].event->type, evs[want_ev[i] - 3]->type);
    }
    free_items(items, n);
    hv_outbox_close(ob);
    for (int i = 0; i < 3; i++)
        hv_event_unref(evs[i]);
    assert_int_equal(te_kv_count(&f->te, "room"), 1);

    /* Outbox rows only (no event) name no event: rejected. */
    hv_outbox_new lone = {"ep1", 0, 1, 0};
    assert_int_equal(hv_store_commit(f->st, &(hv_commit){.outbox = &lone, .noutbox = 1}), -1);
    assert_int_equal(lone.id, 0);
    assert_int_equal(hv_store_commit(f->st, &(hv_commit){0}), 0);
}

static void test_commit_failure(void **state)
{
    fixture *f = *state;
    assert_int_equal(commit_n(f->st, 3, "ok.e", "ep", NULL, NULL), 0);
    te_break_endpoint(&f->te, "boom"); /* SQLite: a trigger; Redis: a key of the wrong type */
    /* The outbox insert fails: nothing of the commit stays. */
    hv_event *evs[2] = {hv_event_new("ok.e", NULL, NULL, NULL, 0),
                        hv_event_new("ok.e", NULL, NULL, NULL, 0)};
    hv_outbox_new rows[2] = {{"ep", 0, 1, 0}, {"boom", 1, 1, 0}};
    hv_kv_change kv = {"room", "r9", "{}"};
    hv_commit c = {.evs = evs, .n = 2, .kv = &kv, .nkv = 1, .outbox = rows, .noutbox = 2};
    assert_int_equal(hv_store_commit(f->st, &c), -1);
    for (int i = 0; i < 2; i++)
        assert_true(evs[i]->id == 0 && evs[i]->time_ms == 0 && rows[i].id == 0);
    assert_int_equal(hv_store_last_id(f->st), 3);
    assert_int_equal(history_count(f->st, NULL), 3);
    assert_int_equal(hv_outbox_pending_count(f->st, NULL), 3);
    assert_int_equal(te_kv_count(&f->te, "room"), 0);

    /* A row naming an event outside the commit fails the same way. */
    rows[1] = (hv_outbox_new){"ep", 2, 1, 0};
    assert_int_equal(hv_store_commit(f->st, &c), -1);
    assert_int_equal(rows[0].id, 0);
    assert_int_equal(evs[0]->id, 0);
    assert_int_equal(te_outbox_rows(&f->te), 3);

    /* The store keeps working; ids continue without a hole. */
    rows[1] = (hv_outbox_new){"ep", 1, 1, 0};
    assert_int_equal(hv_store_commit(f->st, &c), 0);
    for (int i = 0; i < 2; i++)
        assert_true(evs[i]->id == 4u + i && rows[i].id == 4u + i);
    assert_int_equal(te_outbox_field(&f->te, 5, "event_id"), 5);
    hv_event_unref(evs[0]);
    hv_event_unref(evs[1]);
}

/* ---- the engine's connection ---- */

static void test_load_pending_pages(void **state)
{
    fixture *f = *state;
    uint64_t ev[10], row[10];
    assert_int_equal(commit_n(f->st, 10, "page.e", "ep", ev, row), 0);
    hv_outbox *ob = open_outbox(f);
    uint64_t after = 0, seen = 0;
    size_t pages = 0, n;
    hv_outbox_item *items;
    while ((n = load(ob, after, 4, &items)) > 0) {
        assert_true(n <= 4);
        for (size_t i = 0; i < n; i++) {
            check_item(&items[i], row[seen], "ep", ev[seen], 0, 1000 + (int64_t)seen);
            assert_string_equal(items[i].event->type, "page.e");
            assert_string_equal(items[i].event->room_id, "room1");
            assert_null(items[i].event->user_id);
            assert_string_equal(items[i].event->data, "{\"k\":1}");
            seen++;
        }
        after = items[n - 1].id;
        free_items(items, n);
        pages++;
    }
    assert_null(items);
    assert_int_equal(seen, 10);
    assert_int_equal(pages, 3);
    assert_int_equal(load(ob, 0, 0, &items), 0);

    /* An event removed behind the store's back comes back as NULL. */
    te_delete_event(&f->te, 2);
    n = load(ob, 1, 1, &items);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].event_id, 2);
    assert_null(items[0].event);
    free_items(items, n);
    hv_outbox_close(ob);
}

static hv_attempt attempt(uint64_t row, uint64_t ev, int64_t t, int http, int latency,
                          const char *error, const char *response, int status, int attempts,
                          int64_t next_at)
{
    return (hv_attempt){row, "ep1", ev, t, http, latency, error, response, status, attempts,
                        next_at, 0};
}

/* A page of the attempts history, parsed (to json_decref). */
static json_t *attempts_page(hv_store *st, const char *ep, uint64_t before, size_t limit)
{
    char *js = hv_outbox_attempts_json(st, ep, before, limit);
    assert_non_null(js);
    json_t *arr = json_loads(js, 0, NULL);
    free(js);
    assert_true(json_is_array(arr));
    return arr;
}

static size_t attempts_n(hv_store *st, const char *ep, uint64_t before, size_t limit)
{
    json_t *arr = attempts_page(st, ep, before, limit);
    size_t n = json_array_size(arr);
    json_decref(arr);
    return n;
}

static void expect_attempts(hv_store *st, size_t limit, const char *want)
{
    char *js = hv_outbox_attempts_json(st, "ep1", 0, limit);
    assert_non_null(js);
    assert_string_equal(js, want);
    free(js);
}

#define ATTEMPT_3                                                                          \
    "{\"id\":\"3\",\"delivery_id\":\"1\",\"event_id\":\"1\","                                  \
    "\"timestamp\":\"2025-11-24T16:00:05.000Z\",\"status_code\":null,\"latency_ms\":30000,"     \
    "\"error\":\"timeout\",\"response\":null,\"state\":\"failed\"}"
#define ATTEMPT_2                                                                          \
    "{\"id\":\"2\",\"delivery_id\":\"2\",\"event_id\":\"2\","                                  \
    "\"timestamp\":\"2025-11-24T16:00:00.001Z\",\"status_code\":200,\"latency_ms\":7,"         \
    "\"error\":null,\"response\":\"ab\xef\xbf\xbd\",\"state\":\"delivered\"}"

static void test_record_attempts(void **state)
{
    fixture *f = *state;
    uint64_t ev[2], row[2];
    assert_int_equal(commit_n(f->st, 2, "rec.e", "ep1", ev, row), 0);
    assert_int_equal(commit_n(f->st, 1, "rec.e", "ep2", NULL, NULL), 0);
    hv_outbox *ob = open_outbox(f);
    int64_t t0 = 1764000000000LL; /* 2025-11-24T16:00:00.000Z */
    hv_attempt batch1[2] = {
        attempt(row[0], ev[0], t0, 500, 12, NULL, "oops", HV_OUTBOX_PENDING, 1, t0 + 5000),
        attempt(row[1], ev[1], t0 + 1, 200, 7, NULL, "ab\xff", HV_OUTBOX_DELIVERED, 1, 0),
    };
    assert_int_equal(hv_outbox_record(ob, batch1, 2), 0);
    assert_int_equal(hv_outbox_record(ob, batch1, 0), 0);
    hv_outbox_item *items;
    size_t n = load(ob, 0, 10, &items);
    assert_int_equal(n, 2); /* row[0] (retrying) and ep2's row */
    check_item(&items[0], row[0], "ep1", ev[0], 1, t0 + 5000);
    free_items(items, n);
    assert_int_equal(hv_outbox_pending_count(f->st, "ep1"), 1);

    hv_attempt last = attempt(row[0], ev[0], t0 + 5000, 0, 30000, "timeout", NULL,
                              HV_OUTBOX_FAILED, 2, t0 + 5000);
    assert_int_equal(hv_outbox_record(ob, &last, 1), 0);
    assert_int_equal(hv_outbox_pending_count(f->st, "ep1"), 0);
    assert_int_equal(te_outbox_field(&f->te, 1, "status"), HV_OUTBOX_FAILED);
    assert_int_equal(te_outbox_field(&f->te, 2, "status"), HV_OUTBOX_DELIVERED);

    /* Newest first, exact shape (invalid UTF-8 in a response becomes U+FFFD). */
    expect_attempts(f->st, 1, "[" ATTEMPT_3 "]");
    expect_attempts(f->st, 2, "[" ATTEMPT_3 "," ATTEMPT_2 "]");
    /* The next page, from before the last id seen. */
    json_t *arr = attempts_page(f->st, "ep1", 2, 100);
    assert_int_equal(json_array_size(arr), 1);
    json_t *a = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(a, "id")), "1");
    assert_int_equal(json_integer_value(json_object_get(a, "status_code")), 500);
    assert_string_equal(json_string_value(json_object_get(a, "response")), "oops");
    assert_string_equal(json_string_value(json_object_get(a, "state")), "pending");
    assert_string_equal(json_string_value(json_object_get(a, "timestamp")),
                        "2025-11-24T16:00:00.000Z");
    json_decref(arr);
    /* Limits are clamped to 1..1000; unknown endpoints have no attempts. */
    assert_int_equal(attempts_n(f->st, "ep1", 0, 0), 1);
    assert_int_equal(attempts_n(f->st, "ep1", 0, 1000000), 3);
    assert_int_equal(attempts_n(f->st, "ep2", 0, 10), 0);
    assert_null(hv_outbox_attempts_json(f->st, NULL, 0, 10));

    /* A failed batch changes nothing. */
    hv_attempt bad[2] = {attempt(row[1], ev[1], t0, 200, 1, NULL, NULL, HV_OUTBOX_PENDING, 9, 0),
                         attempt(row[1], ev[1], t0, 200, 1, NULL, NULL, 1, 1, 0)};
    bad[1].endpoint_id = NULL; /* NOT NULL column */
    assert_int_equal(hv_outbox_record(ob, bad, 2), -1);
    assert_int_equal(te_attempt_rows(&f->te), 3);
    assert_int_equal(te_outbox_field(&f->te, 2, "status"), HV_OUTBOX_DELIVERED);
    assert_int_equal(hv_outbox_record(ob, &last, 1), 0); /* and the connection still works */
    hv_outbox_close(ob);
}

static void test_retry(void **state)
{
    fixture *f = *state;
    uint64_t ev[1], row[1];
    assert_int_equal(commit_n(f->st, 1, "r.e", "ep1", ev, row), 0);
    hv_outbox *ob = open_outbox(f);
    hv_attempt gave_up = attempt(row[0], ev[0], 5, 0, 1, "refused", NULL, HV_OUTBOX_FAILED, 8, 9);
    assert_int_equal(hv_outbox_record(ob, &gave_up, 1), 0);
    assert_int_equal(hv_outbox_pending_count(f->st, NULL), 0);
    assert_int_equal(hv_outbox_retry(ob, "ep2", row[0], 777), 0);    /* other endpoint */
    assert_int_equal(hv_outbox_retry(ob, "ep1", row[0] + 1, 777), 0); /* no such row */
    assert_int_equal(hv_outbox_retry(ob, "ep1", row[0], 777), 1);
    hv_outbox_item *items;
    size_t n = load(ob, 0, 10, &items);
    assert_int_equal(n, 1);
    check_item(&items[0], row[0], "ep1", ev[0], 8, 777); /* attempts so far are kept */
    free_items(items, n);
    hv_outbox_close(ob);
}

static void test_insert_replay(void **state)
{
    fixture *f = *state;
    uint64_t row[2];
    assert_int_equal(commit_n(f->st, 5, "x.e", NULL, NULL, NULL), 0);
    assert_int_equal(commit_n(f->st, 2, "y.e", "old", NULL, row), 0);
    hv_outbox *ob = open_outbox(f);
    uint64_t ids[3] = {2, 4, 99}, first = 123;
    assert_int_equal(hv_outbox_insert(ob, "ep9", ids, 3, 4242, &first), 2); /* 99: no event */
    assert_int_equal(first, row[1] + 1);
    assert_int_equal(hv_outbox_insert(ob, "ep9", ids, 0, 4242, &first), 0);
    assert_int_equal(first, 0);
    hv_outbox_item *items;
    size_t n = load(ob, row[1], 10, &items);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        check_item(&items[i], row[1] + 1 + i, "ep9", ids[i], 0, 4242);
        assert_string_equal(items[i].event->type, "x.e");
    }
    free_items(items, n);
    assert_int_equal(hv_outbox_pending_count(f->st, "ep9"), 2);
    hv_outbox_close(ob);
}

/* ---- retention ---- */

static void deliver(hv_outbox *ob, uint64_t row, uint64_t ev, int64_t t)
{
    hv_attempt a = attempt(row, ev, t, 200, 1, NULL, NULL, HV_OUTBOX_DELIVERED, 1, 0);
    assert_int_equal(hv_outbox_record(ob, &a, 1), 0);
}

static void test_prune_keeps_owed_events(void **state)
{
    fixture *f = *state;
    uint64_t row[11] = {0}; /* by event id: events 3, 5 and 7 are owed to ep */
    for (int id = 1; id <= 10; id++)
        assert_int_equal(commit_n(f->st, 1, "e", id % 2 && id > 1 && id < 9 ? "ep" : NULL,
                                  NULL, &row[id]), 0);
    hv_outbox *ob = open_outbox(f);
    deliver(ob, row[5], 5, hv_now_ms());

    /* Keep 2: events 3 and 7 are owed to ep and stay; 5 was delivered. */
    assert_int_equal(hv_store_prune(f->st, 2, 0), 6);
    char ids[256];
    assert_string_equal(te_event_ids(&f->te, ids, sizeof(ids)), "3,7,9,10");
    assert_int_equal(hv_store_first_id(f->st), 9);
    uint64_t first;
    assert_int_equal(history_count(f->st, &first), 2); /* kept events are not history */
    assert_int_equal(first, 9);
    hv_outbox_item *items;
    size_t n = load(ob, 0, 10, &items);
    assert_int_equal(n, 2);
    assert_int_equal(items[0].event->id, 3);
    assert_int_equal(items[1].event->id, 7);
    free_items(items, n);

    /* Once delivered, 3 goes too; 7 is still owed. */
    deliver(ob, row[3], 3, hv_now_ms());
    assert_int_equal(hv_store_prune(f->st, 2, 0), 1);
    assert_string_equal(te_event_ids(&f->te, ids, sizeof(ids)), "7,9,10");

    /* By age: everything but 7 goes; the horizon survives a reopen. (Ages
     * as at 30 ms from now: everything is older than 10 ms.) */
    assert_int_equal(hv_store_prune_at(f->st, 0, 10, hv_now_ms() + 30), 2);
    assert_string_equal(te_event_ids(&f->te, ids, sizeof(ids)), "7");
    assert_int_equal(hv_store_first_id(f->st), 0);
    assert_int_equal(history_count(f->st, NULL), 0);
    hv_outbox_close(ob);
    hv_store_close(f->st);
    f->st = open_store(f);
    assert_int_equal(hv_store_first_id(f->st), 0);
    assert_int_equal(hv_store_last_id(f->st), 10);
    assert_int_equal(commit_n(f->st, 1, "e", NULL, NULL, NULL), 0);
    assert_int_equal(hv_store_first_id(f->st), 11);
    assert_int_equal(history_count(f->st, &first), 1);
    assert_int_equal(first, 11);
    hv_store_close(f->st);
    f->st = open_store(f);
    assert_int_equal(hv_store_first_id(f->st), 11);
}

/* Issue 13, defect 7: an event kept below the history horizon because a
 * pending row owes it is read by id (the delivery engine reloads a parked
 * delivery's event this way); an event pruned for good, or never stored,
 * comes back NULL. */
static void test_load_events_below_horizon(void **state)
{
    fixture *f = *state;
    uint64_t row[11] = {0};
    for (int id = 1; id <= 10; id++) /* event 2 is owed to ep */
        assert_int_equal(commit_n(f->st, 1, "e", id == 2 ? "ep" : NULL, NULL, &row[id]), 0);
    assert_int_equal(hv_store_prune(f->st, 3, 0), 6);
    assert_int_equal(hv_store_first_id(f->st), 8);
    hv_outbox *ob = open_outbox(f);
    uint64_t ids[4] = {2, 1, 9, 42};
    hv_event *evs[4];
    assert_int_equal(hv_outbox_load_events(ob, ids, 4, evs), 0);
    assert_non_null(evs[0]);
    assert_int_equal(evs[0]->id, 2);
    assert_string_equal(evs[0]->type, "e");
    assert_string_equal(evs[0]->room_id, "room1");
    assert_int_equal(evs[0]->data_len, 7);
    assert_memory_equal(evs[0]->data, "{\"k\":1}", 7);
    assert_null(evs[1]); /* pruned */
    assert_non_null(evs[2]);
    assert_int_equal(evs[2]->id, 9);
    assert_null(evs[3]); /* never stored */
    for (int i = 0; i < 4; i++)
        hv_event_unref(evs[i]);
    hv_outbox_close(ob);
}

/* One endpoint's pending rows, in row order, after a row id (how the
 * engine refills an endpoint's window); other endpoints' rows and
 * finished rows are skipped. */
static void test_load_endpoint(void **state)
{
    fixture *f = *state;
    uint64_t a[6], b[6];
    for (int i = 0; i < 6; i++) {
        assert_int_equal(commit_n(f->st, 1, "e", "epA", NULL, &a[i]), 0);
        assert_int_equal(commit_n(f->st, 1, "e", "epB", NULL, &b[i]), 0);
    }
    hv_outbox *ob = open_outbox(f);
    deliver(ob, a[2], 0, hv_now_ms());
    hv_outbox_item *items;
    size_t n = 99;
    assert_int_equal(hv_outbox_load_endpoint(ob, "epA", a[0], 3, &items, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(items[0].id, a[1]);
    assert_int_equal(items[1].id, a[3]);
    assert_int_equal(items[2].id, a[4]);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(items[i].endpoint_id, "epA");
        assert_non_null(items[i].event);
        assert_int_equal(items[i].event->id, items[i].event_id);
    }
    free_items(items, n);
    assert_int_equal(hv_outbox_load_endpoint(ob, "epA", a[4], 10, &items, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].id, a[5]);
    free_items(items, n);
    assert_int_equal(hv_outbox_load_endpoint(ob, "epC", 0, 10, &items, &n), 0);
    assert_int_equal(n, 0);
    free_items(items, n);
    hv_outbox_close(ob);
}

static void test_prune_outbox_and_attempts(void **state)
{
    fixture *f = *state;
    uint64_t ev[3], row[3];
    assert_int_equal(commit_n(f->st, 3, "e", "ep1", ev, row), 0);
    hv_outbox *ob = open_outbox(f);
    int64_t old = hv_now_ms() - 3600 * 1000;
    deliver(ob, row[0], ev[0], old);
    deliver(ob, row[1], ev[1], old);
    hv_attempt retrying = attempt(row[2], ev[2], old, 503, 1, NULL, NULL, HV_OUTBOX_PENDING, 1, 0);
    assert_int_equal(hv_outbox_record(ob, &retrying, 1), 0);
    /* Finished rows and their attempts go; the pending row keeps its own.
     * (Ages as at 30 ms from now: every row is older than 10 ms.) */
    assert_int_equal(hv_store_prune_at(f->st, 0, 10, hv_now_ms() + 30), 2);
    char ids[256];
    assert_string_equal(te_outbox_ids(&f->te, ids, sizeof(ids)), "3");
    te_attempt_rows_of(&f->te, ids, sizeof(ids));
    assert_string_equal(ids, "3");

    /* The newest row of each table is kept, so ids are never reused. */
    deliver(ob, row[2], ev[2], old);
    assert_int_equal(hv_store_prune_at(f->st, 0, 10, hv_now_ms() + 30), 1); /* event 3, no longer owed */
    assert_int_equal(te_outbox_rows(&f->te), 1);
    assert_int_equal(te_attempt_rows(&f->te), 1);
    uint64_t again[1];
    assert_int_equal(commit_n(f->st, 1, "e", "ep1", NULL, again), 0);
    assert_int_equal(again[0], 4);
    json_t *arr = attempts_page(f->st, "ep1", 0, 10);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "id")), "4");
    json_decref(arr);
    hv_outbox_close(ob);
}

/* ---- concurrency: the hub commits while the engine records ---- */

#define CONC_COMMITS 150
#define CONC_PER 4
#define CONC_ROWS (CONC_COMMITS * CONC_PER)

typedef struct conc {
    fixture *f;
    hv_outbox *ob;
    int hub_failures, engine_failures, missing_events;
    size_t recorded;
    atomic_int hub_done;
} conc;

static void *hub_thread(void *arg)
{
    conc *c = arg;
    for (int i = 0; i < CONC_COMMITS; i++) {
        if (commit_n(c->f->st, CONC_PER, "c.e", "ep", NULL, NULL) != 0)
            c->hub_failures++;
        if (i % 10 == 0 && hv_store_prune(c->f->st, 20, 0) < 0)
            c->hub_failures++;
    }
    atomic_store(&c->hub_done, 1);
    return NULL;
}

static void *engine_thread(void *arg)
{
    conc *c = arg;
    uint64_t after = 0;
    int64_t deadline = hv_now_ms() + 60000;
    while (hv_now_ms() < deadline) {
        int done = atomic_load(&c->hub_done); /* before loading: no row is missed */
        hv_outbox_item *items;
        size_t n;
        if (hv_outbox_load_pending(c->ob, after, 16, &items, &n) != 0) {
            c->engine_failures++;
            break;
        }
        if (n == 0 && done)
            break;
        hv_attempt *a = calloc(n ? n : 1, sizeof(*a));
        for (size_t i = 0; i < n; i++) {
            if (!items[i].event || items[i].event->id != items[i].event_id)
                c->missing_events++;
            a[i] = attempt(items[i].id, items[i].event_id, hv_now_ms(), 200, 1, NULL, "ok",
                           HV_OUTBOX_DELIVERED, 1, 0);
            a[i].endpoint_id = "ep";
        }
        if (n > 0 && hv_outbox_record(c->ob, a, n) != 0)
            c->engine_failures++;
        c->recorded += n;
        if (n > 0)
            after = items[n - 1].id;
        else
            sleep_ms(1);
        free(a);
        free_items(items, n);
    }
    return NULL;
}

static void test_concurrent_hub_and_engine(void **state)
{
    fixture *f = *state;
    conc c = {.f = f, .ob = open_outbox(f)};
    pthread_t hub, engine;
    pthread_create(&engine, NULL, engine_thread, &c);
    pthread_create(&hub, NULL, hub_thread, &c);
    pthread_join(hub, NULL);
    pthread_join(engine, NULL);
    assert_int_equal(c.hub_failures, 0);
    assert_int_equal(c.engine_failures, 0);
    assert_int_equal(c.missing_events, 0);
    assert_int_equal(c.recorded, CONC_ROWS);
    assert_int_equal(hv_store_last_id(f->st), CONC_ROWS);
    assert_int_equal(hv_outbox_pending_count(f->st, NULL), 0);
    assert_int_equal(te_outbox_with_status(&f->te, 1), CONC_ROWS);
    char *rows = malloc(16 * CONC_ROWS);
    assert_int_equal(te_attempt_rows_of(&f->te, rows, 16 * CONC_ROWS), CONC_ROWS);
    free(rows);
    /* Delivered events are no longer protected: the next prune trims them. */
    assert_true(hv_store_prune(f->st, 20, 0) >= 0);
    assert_int_equal(te_event_count(&f->te), 20);
    hv_outbox_close(c.ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_pending_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_keeps_owed_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_outbox_and_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_events_below_horizon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_hub_and_engine, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
