/* SPDX-License-Identifier: MIT */
/* outbox_fixture.h — the fixture and helpers the outbox unit tests share
 * (test_outbox.c, test_outbox_migrate.c): a store in a fresh mkdtemp
 * directory on either engine (store_engine.h), the engine's outbox
 * connection, and ways to commit events with rows and read them back.
 */
#ifndef HV_TEST_OUTBOX_FIXTURE_H
#define HV_TEST_OUTBOX_FIXTURE_H

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/event.h"
#include "store/outbox.h"
#include "store/store.h"
#include "store_engine.h"

typedef te_fixture fixture;

TE_FN hv_store *open_store(fixture *f)
{
    hv_store_options opt = te_options(&f->te, f->dir, 0);
    return te_open(&opt);
}

TE_FN hv_outbox *open_outbox(fixture *f)
{
    return te_open_outbox(f->st);
}

TE_FN int setup(void **state)
{
    return te_fixture_setup(state, "outbox", "data");
}

TE_FN int teardown(void **state)
{
    return te_fixture_teardown(state);
}

TE_FN void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The SQLite-only side door of the migration test. */
TE_FN void sql_exec(fixture *f, const char *sql)
{
    te_sql_exec(&f->te, sql);
}

TE_FN long long sql_int(fixture *f, const char *sql)
{
    return te_sql(&f->te, sql, NULL, 0);
}

/* Commits n events of type, each with one outbox row for endpoint ep
 * (ep NULL: none). Fills ev_ids and row_ids (either may be NULL). */
TE_FN int commit_n(hv_store *st, size_t n, const char *type, const char *ep, uint64_t *ev_ids,
                    uint64_t *row_ids)
{
    hv_event **evs = calloc(n, sizeof(*evs));
    hv_outbox_new *rows = calloc(n, sizeof(*rows));
    for (size_t i = 0; i < n; i++) {
        evs[i] = hv_event_new(type, "room1", NULL, "{\"k\":1}", 7);
        rows[i] = (hv_outbox_new){.endpoint_id = ep, .event_index = i, .next_at_ms = 1000 + i};
    }
    hv_commit c = {.evs = evs, .n = n, .outbox = rows, .noutbox = ep ? n : 0};
    int rc = hv_store_commit(st, &c);
    for (size_t i = 0; i < n; i++) {
        if (ev_ids)
            ev_ids[i] = evs[i]->id;
        if (row_ids)
            row_ids[i] = rows[i].id;
        hv_event_unref(evs[i]);
    }
    free(evs);
    free(rows);
    return rc;
}

TE_FN size_t load(hv_outbox *ob, uint64_t after, size_t limit, hv_outbox_item **items)
{
    size_t n = 99;
    assert_int_equal(hv_outbox_load_pending(ob, after, limit, items, &n), 0);
    return n;
}

TE_FN void free_items(hv_outbox_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].event)
            hv_event_unref(items[i].event);
    free(items);
}

/* Checks a loaded row and that its event came with it. */
TE_FN void check_item(const hv_outbox_item *it, uint64_t id, const char *ep, uint64_t ev,
                       int attempts, int64_t next_at)
{
    assert_int_equal(it->id, id);
    assert_string_equal(it->endpoint_id, ep);
    assert_int_equal(it->event_id, ev);
    assert_int_equal(it->attempts, attempts);
    assert_int_equal(it->next_at_ms, next_at);
    assert_non_null(it->event);
    assert_int_equal(it->event->id, ev);
}

TE_FN size_t history_count(hv_store *st, uint64_t *first)
{
    hv_event **evs;
    size_t n;
    assert_int_equal(hv_store_history(st, &(hv_history_query){.limit = 1000}, &evs, &n), 0);
    if (first)
        *first = n ? evs[0]->id : 0;
    for (size_t i = 0; i < n; i++)
        hv_event_unref(evs[i]);
    free(evs);
    return n;
}

/* ---- commits ---- */

#endif
