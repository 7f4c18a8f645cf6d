/* SPDX-License-Identifier: MIT */
/* test_store.c — unit tests of the event store (src/store/), run against
 * the SQLite engine and, through tests/unit/run_with_redis.sh, the Redis
 * engine with the same assertions (store_engine.h).
 *
 * Each test opens a store in a fresh mkdtemp directory (a nested, missing
 * sub-directory, to exercise mkdir -p) and removes it afterwards. Covers id
 * and time assignment, history filters and limits, id continuity across
 * restarts (also after everything was pruned), pruning by count and age,
 * concurrent readers beside a writer, the append failure path (provoked by
 * a trigger that aborts inserts) and open errors.
 */
#include <ftw.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/event.h"
#include "store/store.h"
#include "store_engine.h"

typedef te_fixture fixture;

static hv_store *open_store(fixture *f, int sync_full)
{
    hv_store_options opt = te_options(&f->te, f->dir, sync_full);
    return te_open(&opt);
}

static int setup(void **state)
{
    return te_fixture_setup(state, "store", "data/sub");
}

static int teardown(void **state)
{
    return te_fixture_teardown(state);
}

/* Waits until the clock is past t (ms), so the next commit gets a later
 * time than one made at t. */
static void wait_clock_past(int64_t t)
{
    while (hv_now_ms() <= t) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Appends n events of the given shape; returns 0 or -1, checks nothing. */
static int append_n(hv_store *st, size_t n, const char *type, const char *room,
                    const char *user)
{
    hv_event **evs = calloc(n, sizeof(*evs));
    for (size_t i = 0; i < n; i++)
        evs[i] = hv_event_new(type, room, user, "{\"k\":1}", 7);
    int rc = hv_store_append(st, evs, n);
    for (size_t i = 0; i < n; i++)
        hv_event_unref(evs[i]);
    free(evs);
    return rc;
}

static size_t history(hv_store *st, const hv_history_query *q, hv_event ***out)
{
    size_t n = 0;
    assert_int_equal(hv_store_history(st, q, out, &n), 0);
    return n;
}

static void free_history(hv_event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hv_event_unref(evs[i]);
    free(evs);
}

/* Counts history results for q and checks they ascend. */
static size_t count(hv_store *st, hv_history_query q)
{
    hv_event **evs;
    size_t n = history(st, &q, &evs);
    for (size_t i = 1; i < n; i++)
        assert_true(evs[i]->id > evs[i - 1]->id);
    free_history(evs, n);
    return n;
}

/* Waits (up to 60 s) until the store takes work again. The redis engine's
 * probe judges Redis down when a PING waits more than 2 s, as it does
 * behind one long script on a loaded machine, and refuses commands until
 * the next PING is answered. */
static void wait_available(hv_store *st)
{
    char why[256] = "";
    for (int i = 0; i < 60000 && !hv_store_available(st, why, sizeof(why)); i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!hv_store_available(st, why, sizeof(why)))
        fail_msg("the store stayed unavailable: %s", why);
}

/* The time of the newest event. */
static int64_t newest_time(hv_store *st)
{
    hv_event **evs;
    uint64_t last = hv_store_last_id(st);
    size_t n = history(st, &(hv_history_query){.after_id = last - 1, .limit = 1}, &evs);
    assert_int_equal(n, 1);
    int64_t t = evs[0]->time_ms;
    free_history(evs, n);
    return t;
}

static void test_append_assigns_ids(void **state)
{
    fixture *f = *state;
    assert_int_equal(hv_store_last_id(f->st), 0);
    assert_int_equal(hv_store_first_id(f->st), 0);
    int64_t before = hv_now_ms();
    uint64_t expect = 1;
    int64_t prev_time = 0;
    for (size_t batch = 1; batch <= 4; batch++) {
        hv_event *evs[4];
        for (size_t i = 0; i < batch; i++)
            evs[i] = hv_event_new("test.one", "r1", NULL, NULL, 0);
        assert_int_equal(hv_store_append(f->st, evs, batch), 0);
        for (size_t i = 0; i < batch; i++) {
            assert_int_equal(evs[i]->id, expect++);
            assert_true(evs[i]->time_ms >= before);
            assert_true(evs[i]->time_ms >= prev_time);
            prev_time = evs[i]->time_ms;
            hv_event_unref(evs[i]);
        }
    }
    assert_int_equal(hv_store_append(f->st, NULL, 0), 0);
    assert_int_equal(hv_store_last_id(f->st), 10);
    assert_int_equal(hv_store_first_id(f->st), 1);
}

static void test_history_roundtrip(void **state)
{
    fixture *f = *state;
    hv_event *ev = hv_event_new("peer.connected", "room-a", "user-1", "{\"x\":\"y\"}", 9);
    assert_int_equal(hv_store_append(f->st, &ev, 1), 0);
    hv_event **evs;
    size_t n = history(f->st, &(hv_history_query){.limit = 10}, &evs);
    assert_int_equal(n, 1);
    assert_int_equal(evs[0]->id, ev->id);
    assert_int_equal(evs[0]->time_ms, ev->time_ms);
    assert_string_equal(evs[0]->type, "peer.connected");
    assert_string_equal(evs[0]->room_id, "room-a");
    assert_string_equal(evs[0]->user_id, "user-1");
    assert_string_equal(evs[0]->data, "{\"x\":\"y\"}");
    assert_int_equal(evs[0]->data_len, 9);
    assert_null(evs[0]->json.buf);
    free_history(evs, n);
    hv_event_unref(ev);

    ev = hv_event_new("room.created", NULL, NULL, NULL, 0);
    assert_int_equal(hv_store_append(f->st, &ev, 1), 0);
    n = history(f->st, &(hv_history_query){.after_id = 1, .limit = 10}, &evs);
    assert_int_equal(n, 1);
    assert_null(evs[0]->room_id);
    assert_null(evs[0]->user_id);
    assert_string_equal(evs[0]->data, "{}");
    free_history(evs, n);
    hv_event_unref(ev);
}

static void test_history_filters(void **state)
{
    fixture *f = *state;
    assert_int_equal(append_n(f->st, 5, "a.x", "r1", NULL), 0);      /* 1..5 */
    assert_int_equal(append_n(f->st, 3, "b.y", "r2", "u1"), 0);      /* 6..8 */
    assert_int_equal(append_n(f->st, 2, "a.x", NULL, "u1"), 0);      /* 9..10 */
    hv_event **evs;
    size_t n = history(f->st, &(hv_history_query){.after_id = 0, .limit = 100}, &evs);
    assert_int_equal(n, 10);
    int64_t t6 = evs[5]->time_ms;
    free_history(evs, n);

    assert_int_equal(count(f->st, (hv_history_query){.after_id = 7, .limit = 100}), 3);
    assert_int_equal(count(f->st, (hv_history_query){.room_id = "r1", .limit = 100}), 5);
    assert_int_equal(count(f->st, (hv_history_query){.room_id = "r2", .limit = 100}), 3);
    assert_int_equal(count(f->st, (hv_history_query){.room_id = "zz", .limit = 100}), 0);
    assert_int_equal(count(f->st, (hv_history_query){.user_id = "u1", .limit = 100}), 5);
    assert_int_equal(count(f->st, (hv_history_query){.type = "a.x", .limit = 100}), 7);
    assert_int_equal(count(f->st, (hv_history_query){.type = "a.x", .user_id = "u1",
                                                     .limit = 100}), 2);
    assert_int_equal(count(f->st, (hv_history_query){.room_id = "r2", .user_id = "u1",
                                                     .type = "b.y", .after_id = 6,
                                                     .limit = 100}), 2);
    /* Times never go backwards, so a time filter keeps at least ids 6..10. */
    assert_true(count(f->st, (hv_history_query){.after_time_ms = t6 - 1, .limit = 100}) >= 5);

    n = history(f->st, &(hv_history_query){.after_id = 2, .limit = 3}, &evs);
    assert_int_equal(n, 3);
    assert_int_equal(evs[0]->id, 3);
    assert_int_equal(evs[2]->id, 5);
    free_history(evs, n);
}

static void test_history_time_filter(void **state)
{
    fixture *f = *state;
    assert_int_equal(append_n(f->st, 4, "t.a", NULL, NULL), 0);
    wait_clock_past(newest_time(f->st));
    assert_int_equal(append_n(f->st, 3, "t.b", NULL, NULL), 0);
    hv_event **evs;
    size_t n = history(f->st, &(hv_history_query){.limit = 100}, &evs);
    assert_int_equal(n, 7);
    int64_t t_first = evs[0]->time_ms, t_last = evs[6]->time_ms;
    free_history(evs, n);
    assert_true(t_last > t_first);
    assert_int_equal(count(f->st, (hv_history_query){.after_time_ms = t_first, .limit = 100}),
                     3);
    assert_int_equal(count(f->st, (hv_history_query){.after_time_ms = t_last, .limit = 100}),
                     0);
    assert_int_equal(count(f->st, (hv_history_query){.after_time_ms = t_first - 1,
                                                     .type = "t.b", .limit = 100}), 3);
}

static void test_history_limit_clamp(void **state)
{
    fixture *f = *state;
    assert_int_equal(append_n(f->st, 10050, "bulk.e", NULL, NULL), 0);
    wait_available(f->st); /* Redis was busy with that one script */
    assert_int_equal(count(f->st, (hv_history_query){.limit = 0}), 1);
    assert_int_equal(count(f->st, (hv_history_query){.limit = 20000}), 10000);
    assert_int_equal(count(f->st, (hv_history_query){.limit = 10000, .after_id = 10000}), 50);
}

static void test_reopen_continues_ids(void **state)
{
    fixture *f = *state;
    assert_int_equal(append_n(f->st, 5, "x.y", NULL, NULL), 0);
    hv_store_close(f->st);
    f->st = open_store(f, 1);
    assert_int_equal(hv_store_last_id(f->st), 5);
    assert_int_equal(hv_store_first_id(f->st), 1);
    hv_event *ev = hv_event_new("x.y", NULL, NULL, NULL, 0);
    assert_int_equal(hv_store_append(f->st, &ev, 1), 0);
    assert_int_equal(ev->id, 6);
    int64_t t6 = ev->time_ms;
    hv_event_unref(ev);

    /* Prune everything: ids still continue, in memory and after reopening.
     * (Ages as at 30 ms after the last event: all are older than 10 ms.) */
    assert_int_equal(hv_store_prune_at(f->st, 0, 10, t6 + 30), 6);
    assert_int_equal(hv_store_first_id(f->st), 0);
    assert_int_equal(hv_store_last_id(f->st), 6);
    hv_store_close(f->st);
    f->st = open_store(f, 0);
    assert_int_equal(hv_store_last_id(f->st), 6);
    assert_int_equal(hv_store_first_id(f->st), 0);
    ev = hv_event_new("x.y", NULL, NULL, NULL, 0);
    assert_int_equal(hv_store_append(f->st, &ev, 1), 0);
    assert_int_equal(ev->id, 7);
    assert_true(ev->time_ms >= t6);
    hv_event_unref(ev);
    assert_int_equal(hv_store_first_id(f->st), 7);
}

static void test_prune_by_count(void **state)
{
    fixture *f = *state;
    assert_int_equal(hv_store_prune(f->st, 5, 0), 0);
    assert_int_equal(append_n(f->st, 10, "p.c", NULL, NULL), 0);
    assert_int_equal(hv_store_prune(f->st, 0, 0), 0);
    assert_int_equal(hv_store_prune(f->st, 20, 0), 0);
    assert_int_equal(hv_store_prune(f->st, 3, 0), 7);
    assert_int_equal(hv_store_first_id(f->st), 8);
    assert_int_equal(hv_store_last_id(f->st), 10);
    hv_event **evs;
    size_t n = history(f->st, &(hv_history_query){.limit = 100}, &evs);
    assert_int_equal(n, 3);
    assert_int_equal(evs[0]->id, 8);
    assert_int_equal(evs[2]->id, 10);
    free_history(evs, n);
    assert_int_equal(hv_store_prune(f->st, 3, 0), 0);
}

/* A prune deletes at most HV_STORE_PRUNE_BATCH events (it holds the
 * writer); the next ones go on from there, keeping history whole. */
static void test_prune_in_batches(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 11; i++)
        assert_int_equal(append_n(f->st, 1000, "p.b", NULL, NULL), 0);
    assert_int_equal(hv_store_prune(f->st, 5, 0), HV_STORE_PRUNE_BATCH);
    wait_available(f->st); /* a long script may have looked like a hang to the probe */
    assert_int_equal(hv_store_first_id(f->st), HV_STORE_PRUNE_BATCH + 1);
    assert_int_equal(count(f->st, (hv_history_query){.limit = 10000}), 11000 - HV_STORE_PRUNE_BATCH);
    assert_int_equal(hv_store_prune(f->st, 5, 0), 11000 - HV_STORE_PRUNE_BATCH - 5);
    wait_available(f->st);
    assert_int_equal(hv_store_first_id(f->st), 10996);
    assert_int_equal(hv_store_prune(f->st, 5, 0), 0);
    /* By age: the same bound. */
    for (int i = 0; i < 11; i++)
        assert_int_equal(append_n(f->st, 1000, "p.b", NULL, NULL), 0);
    wait_available(f->st);
    assert_int_equal(hv_store_prune_at(f->st, 0, 1, newest_time(f->st) + 2), HV_STORE_PRUNE_BATCH);
    wait_available(f->st);
    assert_int_equal(hv_store_prune_at(f->st, 0, 1, newest_time(f->st) + 2), 11005 - HV_STORE_PRUNE_BATCH);
    assert_int_equal(hv_store_first_id(f->st), 0);
}

static void test_prune_by_age(void **state)
{
    fixture *f = *state;
    assert_int_equal(append_n(f->st, 5, "old.e", NULL, NULL), 0);
    wait_clock_past(newest_time(f->st));
    assert_int_equal(append_n(f->st, 4, "new.e", NULL, NULL), 0);
    /* As at 150 ms after the new events, with a limit of 150 ms: the old
     * ones, earlier, are too old; the new ones are just young enough. */
    int64_t t_new = newest_time(f->st);
    assert_int_equal(hv_store_prune_at(f->st, 0, 150, t_new + 150), 5);
    assert_int_equal(hv_store_first_id(f->st), 6);
    assert_int_equal(count(f->st, (hv_history_query){.limit = 100}), 4);
    assert_int_equal(count(f->st, (hv_history_query){.type = "old.e", .limit = 100}), 0);
    /* Both limits at once: count first, then age. */
    assert_int_equal(hv_store_prune_at(f->st, 2, 60000, t_new + 150), 2);
    assert_int_equal(hv_store_first_id(f->st), 8);
}

static void test_audience(void **state)
{
    fixture *f = *state;
    assert_int_equal(append_n(f->st, 2, "a.e", "r1", NULL), 0);   /* 1, 2 */
    assert_int_equal(append_n(f->st, 1, "a.e", "r1", "u1"), 0);   /* 3: to u1 only */
    assert_int_equal(append_n(f->st, 1, "a.e", "r2", NULL), 0);   /* 4 */
    assert_int_equal(append_n(f->st, 1, "a.e", NULL, "u2"), 0);   /* 5 */
    assert_int_equal(append_n(f->st, 1, "a.e", "r3", NULL), 0);   /* 6 */
    const char *rooms[] = {"r1", "r3"};
    hv_event **evs;
    size_t n;
    assert_int_equal(hv_store_audience(f->st, 0, 100, "u1", rooms, 2, &evs, &n), 0);
    assert_int_equal(n, 4);
    static const uint64_t want[] = {1, 2, 3, 6};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(evs[i]->id, want[i]);
    free_history(evs, n);
    assert_int_equal(hv_store_audience(f->st, 2, 1, "u2", rooms, 2, &evs, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(evs[0]->id, 5);
    free_history(evs, n);
    assert_int_equal(hv_store_audience(f->st, 0, 100, NULL, NULL, 0, &evs, &n), 0);
    assert_int_equal(n, 0);
    free(evs);
}

/* ---- concurrency: one writer, two readers ---- */

#define CONC_BATCHES 200
#define CONC_BATCH 5
#define CONC_TOTAL (CONC_BATCHES * CONC_BATCH)

typedef struct reader_arg {
    hv_store *st;
    atomic_int *writer_done;
    const char *room; /* NULL: all events, which must then be contiguous */
    uint64_t seen;    /* last id seen */
    long queries;
    const char *error; /* first inconsistency found, NULL if none */
} reader_arg;

static int check_batch(reader_arg *a, hv_event **evs, size_t n, uint64_t high)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t id = evs[i]->id;
        if (id <= a->seen)
            a->error = "ids not ascending";
        else if (!a->room && id != a->seen + 1)
            a->error = "gap in ids";
        else if (id > high)
            a->error = "id above last_id";
        else if (a->room && strcmp(evs[i]->room_id, a->room) != 0)
            a->error = "room filter leaked";
        a->seen = id;
    }
    return a->error ? -1 : 0;
}

static void *reader_main(void *p)
{
    reader_arg *a = p;
    uint64_t want = a->room ? CONC_TOTAL - 1 : CONC_TOTAL;
    while (a->seen < want && !a->error) {
        int done = atomic_load(a->writer_done);
        hv_history_query q = {.after_id = a->seen, .limit = 7, .room_id = a->room};
        hv_event **evs;
        size_t n;
        if (hv_store_history(a->st, &q, &evs, &n) != 0) {
            a->error = "history failed";
            break;
        }
        uint64_t high = hv_store_last_id(a->st);
        a->queries++;
        check_batch(a, evs, n, high);
        free_history(evs, n);
        if (n == 0 && done)
            break; /* the writer stopped short: nothing more will come */
    }
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    fixture *f = *state;
    atomic_int done = 0;
    reader_arg args[2] = {{.st = f->st, .writer_done = &done},
                          {.st = f->st, .writer_done = &done, .room = "odd"}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &args[i]), 0);
    int failed = 0;
    for (int b = 0; b < CONC_BATCHES && !failed; b++) {
        hv_event *evs[CONC_BATCH];
        for (int i = 0; i < CONC_BATCH; i++) {
            const char *room = (b * CONC_BATCH + i) % 2 ? NULL : "odd"; /* ids 1,3,5.. */
            evs[i] = hv_event_new("c.e", room, NULL, NULL, 0);
        }
        failed = hv_store_append(f->st, evs, CONC_BATCH) != 0;
        for (int i = 0; i < CONC_BATCH; i++)
            hv_event_unref(evs[i]);
    }
    atomic_store(&done, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_false(failed);
    for (int i = 0; i < 2; i++) {
        if (args[i].error)
            fail_msg("reader %d: %s at id %llu", i, args[i].error,
                     (unsigned long long)args[i].seen);
        assert_true(args[i].queries > 0);
    }
    assert_int_equal(args[0].seen, CONC_TOTAL);
    assert_int_equal(args[1].seen, CONC_TOTAL - 1);
}

/* ---- failures ---- */

static void test_append_failure(void **state)
{
    fixture *f = *state;
    assert_int_equal(append_n(f->st, 3, "ok.e", NULL, NULL), 0);
    te_break_commits(&f->te); /* SQLite: a trigger refuses "boom"; Redis: a key of the wrong type */
    hv_event *evs[3] = {hv_event_new("ok.e", NULL, NULL, NULL, 0),
                        hv_event_new("boom", NULL, NULL, NULL, 0),
                        hv_event_new("ok.e", NULL, NULL, NULL, 0)};
    assert_int_equal(hv_store_append(f->st, evs, 3), -1);
    te_unbreak_commits(&f->te);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(evs[i]->id, 0);
        hv_event_unref(evs[i]);
    }
    assert_int_equal(hv_store_last_id(f->st), 3);
    assert_int_equal(count(f->st, (hv_history_query){.limit = 100}), 3);
    /* The store keeps working, and ids continue without a hole. */
    hv_event *ev = hv_event_new("ok.e", NULL, NULL, NULL, 0);
    assert_int_equal(hv_store_append(f->st, &ev, 1), 0);
    assert_int_equal(ev->id, 4);
    hv_event_unref(ev);
    assert_int_equal(count(f->st, (hv_history_query){.limit = 100}), 4);
}

/* Redis: a bad URL, nothing listening, an unknown engine. */
static void test_open_errors_redis(fixture *f)
{
    char err[256] = "";
    hv_store_options opt = te_options(&f->te, f->dir, 0);
    opt.redis_url = "http://127.0.0.1:6379";
    assert_null(hv_store_open(&opt, err, sizeof(err)));
    assert_non_null(strstr(err, "redis://"));
    opt.redis_url = "redis://herald:s3cret@127.0.0.1:notaport"; /* the password never in the error */
    assert_null(hv_store_open(&opt, err, sizeof(err)));
    assert_non_null(strstr(err, "'redis://***@127.0.0.1:notaport'"));
    assert_null(strstr(err, "s3cret"));
    opt.redis_url = "rediss://:s3cret@127.0.0.1";
    assert_null(hv_store_open(&opt, err, sizeof(err)));
    assert_null(strstr(err, "s3cret"));
    opt.redis_url = "redis://127.0.0.1:notaport";
    assert_null(hv_store_open(&opt, err, sizeof(err)));
    assert_non_null(strstr(err, "bad Redis URL"));
    opt.redis_url = "redis://127.0.0.1:1";
    err[0] = 0;
    assert_null(hv_store_open(&opt, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot connect to Redis"));
    assert_null(hv_store_open(&opt, NULL, 0));
    opt.engine = "nosuch";
    assert_null(hv_store_open(&opt, err, sizeof(err)));
    assert_non_null(strstr(err, "unknown store engine"));
}

static void test_open_errors(void **state)
{
    fixture *f = *state;
    if (f->te.redis) {
        test_open_errors_redis(f);
        return;
    }
    char file[256], dir[300], err[256] = "";
    snprintf(file, sizeof(file), "%s/plainfile", f->tmp);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(dir, sizeof(dir), "%s/sub", file);
    hv_store_options opt = {.dir = dir};
    assert_null(hv_store_open(&opt, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot create data directory"));
    assert_non_null(strstr(err, dir));

    opt.dir = file; /* exists, but is not a directory */
    err[0] = 0;
    assert_null(hv_store_open(&opt, err, sizeof(err)));
    assert_non_null(strstr(err, "Not a directory"));

    opt.dir = "";
    assert_null(hv_store_open(&opt, err, sizeof(err)));
    assert_null(hv_store_open(&opt, NULL, 0));

    if (geteuid() != 0) { /* root ignores permissions */
        snprintf(dir, sizeof(dir), "%s/locked", f->tmp);
        assert_int_equal(mkdir(dir, 0500), 0);
        opt.dir = dir;
        err[0] = 0;
        assert_null(hv_store_open(&opt, err, sizeof(err)));
        assert_true(strlen(err) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_assigns_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_time_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_limit_clamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_continues_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_by_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_in_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_by_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audience, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
