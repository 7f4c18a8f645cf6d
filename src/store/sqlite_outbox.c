/* SPDX-License-Identifier: MIT */
/* sqlite_outbox.c — the durable webhook outbox (store/outbox.h) of the SQLite
 * engine (engine.h), in the store's SQLite database (tables outbox and attempts, migration 3 in sqlite.c).
 *
 * Three connections touch it:
 *  - the store's writer (hub thread): hv_store_commit inserts the rows owed
 *    for a commit's events inside the commit's transaction
 *    (hv_sqlite_outbox_rows), and hv_store_prune removes old finished rows
 *    and attempts in bounded batches (hv_sqlite_outbox_prune);
 *  - the delivery engine's own read-write connection (hv_outbox): loads
 *    pending rows with their events (LEFT JOIN, so a pruned event comes
 *    back as NULL; all of them or one endpoint's), reads events by id
 *    (those kept below the history horizon because a row owes them are
 *    not history, so the engine never reads them through it), records attempts and new row states in one BEGIN
 *    IMMEDIATE transaction per batch, marks rows for retry, inserts replay
 *    rows. Its statements are prepared once; a mutex serializes calls, so
 *    the API may use it from another thread too. Both writers take the
 *    write lock up front (BEGIN IMMEDIATE or a single statement) and wait
 *    for each other through busy_timeout.
 *  - the store's reader pool (any thread): the attempts history as JSON
 *    and pending counts, statements prepared lazily per reader.
 *
 * Ids are never reused: pruning always keeps the newest row of each table
 * (SQLite would otherwise hand out max(id) + 1 again).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/sqlite_internal.h"
#include "store/text_json.h"

#define PRUNE_BATCH 5000  /* rows of each table per prune call */

/* ---- writer connection (hub thread) ---- */

/* Finished rows created before ?1, scanning from the oldest only up to the
 * first young row (so the work stays bounded), never the newest row. */
static const char *const writer_sql[OW_COUNT] = {
    [OW_INSERT] = "INSERT INTO outbox(endpoint_id, event_id, status, attempts, next_at,"
                  " created_ms) VALUES(?1, ?2, 0, 0, ?3, ?4)",
    [OW_PRUNE_OUTBOX] =
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE id < COALESCE("
        "(SELECT id FROM outbox WHERE created_ms >= ?1 ORDER BY id LIMIT 1),"
        " (SELECT MAX(id) FROM outbox)) AND status <> 0 AND created_ms < ?1 ORDER BY id LIMIT ?2)",
    [OW_PRUNE_ATTEMPTS] =
        "DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE id < COALESCE("
        "(SELECT id FROM attempts WHERE time_ms >= ?1 ORDER BY id LIMIT 1),"
        " (SELECT MAX(id) FROM attempts)) AND time_ms < ?1 AND NOT EXISTS (SELECT 1 FROM outbox o"
        " WHERE o.id = attempts.outbox_id AND o.status = 0) ORDER BY id LIMIT ?2)",
};

int hv_sqlite_outbox_prepare(hv_sqlite *st)
{
    for (int i = 0; i < OW_COUNT; i++)
        if (sqlite3_prepare_v3(st->db, writer_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->ow[i],
                               NULL) != SQLITE_OK)
            return -1;
    return 0;
}

int hv_sqlite_outbox_rows(hv_sqlite *st, hv_commit *c, uint64_t base, int64_t now)
{
    sqlite3_stmt *s = st->ow[OW_INSERT];
    for (size_t i = 0; i < c->noutbox; i++) {
        hv_outbox_new *row = &c->outbox[i];
        if (row->event_index >= c->n || !row->endpoint_id) {
            hv_error("store: outbox row %zu names event %zu of a commit of %zu", i,
                     row->event_index, c->n);
            return -1;
        }
        bind_text(s, 1, row->endpoint_id);
        bind_u64(s, 2, base + 1 + row->event_index);
        sqlite3_bind_int64(s, 3, row->next_at_ms);
        sqlite3_bind_int64(s, 4, now);
        if (run(s) != 0)
            return -1;
        row->id = (uint64_t)sqlite3_last_insert_rowid(st->db);
    }
    return 0;
}

int hv_sqlite_outbox_prune(hv_sqlite *st, int64_t cutoff_ms)
{
    for (int i = OW_PRUNE_OUTBOX; i <= OW_PRUNE_ATTEMPTS; i++) {
        sqlite3_bind_int64(st->ow[i], 1, cutoff_ms);
        sqlite3_bind_int64(st->ow[i], 2, PRUNE_BATCH);
        if (run(st->ow[i]) != 0)
            return -1;
    }
    return 0;
}

/* ---- the delivery engine's connection ---- */

enum { E_BEGIN, E_COMMIT, E_ROLLBACK, E_PENDING, E_PENDING_EP, E_EVENT, E_ATTEMPT, E_UPDATE,
       E_RETRY, E_REPLAY, E_COUNT };

static const char *const engine_sql[E_COUNT] = {
    [E_BEGIN] = "BEGIN IMMEDIATE",
    [E_COMMIT] = "COMMIT",
    [E_ROLLBACK] = "ROLLBACK",
    [E_PENDING] = "SELECT o.id, o.endpoint_id, o.event_id, o.attempts, o.next_at,"
                  " e.id, e.time_ms, e.type, e.room_id, e.user_id, e.data"
                  " FROM outbox o LEFT JOIN events e ON e.id = o.event_id"
                  " WHERE o.status = 0 AND o.id > ?1 ORDER BY o.id LIMIT ?2",
    /* one endpoint's (index outbox_endpoint: a range read) */
    [E_PENDING_EP] = "SELECT o.id, o.endpoint_id, o.event_id, o.attempts, o.next_at,"
                     " e.id, e.time_ms, e.type, e.room_id, e.user_id, e.data"
                     " FROM outbox o LEFT JOIN events e ON e.id = o.event_id"
                     " WHERE o.endpoint_id = ?3 AND o.id > ?1 AND o.status = 0 ORDER BY o.id LIMIT ?2",
    /* by primary key, below the history horizon too (events owed) */
    [E_EVENT] = "SELECT id, time_ms, type, room_id, user_id, data FROM events WHERE id = ?1",
    [E_ATTEMPT] = "INSERT INTO attempts(outbox_id, endpoint_id, event_id, time_ms, status_code,"
                  " latency_ms, error, response, state) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [E_UPDATE] = "UPDATE outbox SET status = ?2, attempts = ?3, next_at = ?4 WHERE id = ?1",
    [E_RETRY] = "UPDATE outbox SET status = 0, next_at = ?3 WHERE id = ?2 AND endpoint_id = ?1",
    [E_REPLAY] = "INSERT INTO outbox(endpoint_id, event_id, status, attempts, next_at, created_ms)"
                 " SELECT ?1, id, 0, 0, ?3, ?3 FROM events WHERE id = ?2",
};

typedef struct sq_outbox {
    hv_outbox base; /* ops: the SQLite engine */
    hv_sqlite *st;
    sqlite3 *db;
    sqlite3_stmt *s[E_COUNT];
    pthread_mutex_t mu; /* serializes every call (statements are shared) */
} sq_outbox;

void hv_sqlite_outbox_close(hv_outbox *base)
{
    sq_outbox *ob = (sq_outbox *)base;
    if (!ob)
        return;
    for (int i = 0; i < E_COUNT; i++)
        sqlite3_finalize(ob->s[i]);
    sqlite3_close(ob->db);
    pthread_mutex_destroy(&ob->mu);
    free(ob);
}

hv_outbox *hv_sqlite_outbox_open(hv_store *base, char *err, size_t errlen)
{
    hv_sqlite *st = hv_sqlite_of(base);
    sq_outbox *ob = hv_xcalloc(1, sizeof(*ob));
    ob->base.ops = base->ops;
    ob->st = st;
    pthread_mutex_init(&ob->mu, NULL);
    int rc = sqlite3_open_v2(st->path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "cannot open outbox connection on '%s': %s", st->path,
                ob->db ? sqlite3_errmsg(ob->db) : sqlite3_errstr(rc));
        goto fail;
    }
    if (hv_sqlite_configure(ob->db, st->sync_full, st->busy_ms, err, errlen) != 0)
        goto fail;
    for (int i = 0; i < E_COUNT; i++)
        if (sqlite3_prepare_v3(ob->db, engine_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ob->s[i],
                               NULL) != SQLITE_OK) {
            set_err(err, errlen, "cannot prepare outbox statements: %s", sqlite3_errmsg(ob->db));
            goto fail;
        }
    return &ob->base;
fail:
    hv_sqlite_outbox_close(&ob->base);
    return NULL;
}

static void ob_rollback(sq_outbox *ob)
{
    if (!sqlite3_get_autocommit(ob->db))
        run(ob->s[E_ROLLBACK]);
}

static void free_items(hv_outbox_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].event)
            hv_event_unref(items[i].event);
    free(items);
}

/* Steps the pending query to the end, collecting rows. */
static int collect_pending(sqlite3_stmt *s, hv_outbox_item **out, size_t *n)
{
    hv_outbox_item *items = NULL;
    size_t len = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? 2 * cap : 16;
            items = hv_xrealloc(items, cap * sizeof(*items));
        }
        hv_outbox_item *it = &items[len++];
        it->id = (uint64_t)sqlite3_column_int64(s, 0);
        const char *ep = (const char *)sqlite3_column_text(s, 1);
        snprintf(it->endpoint_id, sizeof(it->endpoint_id), "%s", ep ? ep : "");
        it->event_id = (uint64_t)sqlite3_column_int64(s, 2);
        it->attempts = sqlite3_column_int(s, 3);
        it->next_at_ms = sqlite3_column_int64(s, 4);
        it->event = sqlite3_column_type(s, 5) == SQLITE_NULL ? NULL : hv_sqlite_row_event(s, 5);
    }
    if (rc != SQLITE_DONE) {
        free_items(items, len);
        return -1;
    }
    *out = items;
    *n = len;
    return 0;
}

int hv_sqlite_load_pending(hv_outbox *base, const char *endpoint_id, uint64_t after_id,
                           size_t limit, hv_outbox_item **out, size_t *n)
{
    sq_outbox *ob = (sq_outbox *)base;
    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    pthread_mutex_lock(&ob->mu);
    sqlite3_stmt *s = ob->s[endpoint_id ? E_PENDING_EP : E_PENDING];
    bind_u64(s, 1, after_id);
    bind_u64(s, 2, limit);
    if (endpoint_id)
        bind_text(s, 3, endpoint_id);
    int rc = collect_pending(s, out, n);
    if (rc != 0)
        hv_error("outbox: loading pending rows failed: %s", sqlite3_errmsg(ob->db));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

int hv_sqlite_load_events(hv_outbox *base, const uint64_t *ids, size_t n, hv_event **out)
{
    sq_outbox *ob = (sq_outbox *)base;
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    pthread_mutex_lock(&ob->mu);
    sqlite3_stmt *s = ob->s[E_EVENT];
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < n && (rc == SQLITE_DONE || rc == SQLITE_ROW); i++) {
        bind_u64(s, 1, ids[i]);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            out[i] = hv_sqlite_row_event(s, 0);
        sqlite3_reset(s);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        hv_error("outbox: loading events by id failed: %s", sqlite3_errmsg(ob->db));
    sqlite3_clear_bindings(s);
    pthread_mutex_unlock(&ob->mu);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    for (size_t i = 0; i < n; i++) {
        hv_event_unref(out[i]);
        out[i] = NULL;
    }
    return -1;
}

static int record_one(sq_outbox *ob, const hv_attempt *a)
{
    sqlite3_stmt *s = ob->s[E_ATTEMPT];
    bind_u64(s, 1, a->outbox_id);
    bind_text(s, 2, a->endpoint_id);
    bind_u64(s, 3, a->event_id);
    sqlite3_bind_int64(s, 4, a->time_ms);
    if (a->http_status > 0)
        sqlite3_bind_int(s, 5, a->http_status);
    else
        sqlite3_bind_null(s, 5);
    sqlite3_bind_int(s, 6, a->latency_ms);
    bind_text(s, 7, a->error);
    bind_text(s, 8, a->response);
    sqlite3_bind_int(s, 9, a->status);
    if (run(s) != 0)
        return -1;
    s = ob->s[E_UPDATE];
    bind_u64(s, 1, a->outbox_id);
    sqlite3_bind_int(s, 2, a->status);
    sqlite3_bind_int(s, 3, a->attempts);
    sqlite3_bind_int64(s, 4, a->next_at_ms);
    return run(s);
}

int hv_sqlite_record(hv_outbox *base, hv_attempt *a, size_t n)
{
    sq_outbox *ob = (sq_outbox *)base;
    for (size_t i = 0; i < n; i++)
        a[i].lost = 0; /* one node: every row is ours */
    if (n == 0)
        return 0;
    pthread_mutex_lock(&ob->mu);
    int rc = run(ob->s[E_BEGIN]);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = record_one(ob, &a[i]);
    if (rc == 0)
        rc = run(ob->s[E_COMMIT]);
    if (rc != 0) {
        hv_error("outbox: recording %zu attempts failed: %s", n, sqlite3_errmsg(ob->db));
        ob_rollback(ob);
    }
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

int hv_sqlite_retry(hv_outbox *base, const char *endpoint_id, uint64_t outbox_id, int64_t now_ms)
{
    sq_outbox *ob = (sq_outbox *)base;
    if (!endpoint_id)
        return 0;
    pthread_mutex_lock(&ob->mu);
    sqlite3_stmt *s = ob->s[E_RETRY];
    bind_text(s, 1, endpoint_id);
    bind_u64(s, 2, outbox_id);
    sqlite3_bind_int64(s, 3, now_ms);
    int rc = run(s);
    int found = sqlite3_changes(ob->db) > 0;
    if (rc != 0)
        hv_error("outbox: retry of row %llu failed: %s", (unsigned long long)outbox_id,
                 sqlite3_errmsg(ob->db));
    pthread_mutex_unlock(&ob->mu);
    return rc != 0 ? -1 : found;
}

long hv_sqlite_insert(hv_outbox *base, const char *endpoint_id, const uint64_t *event_ids, size_t n,
                      int64_t now_ms, uint64_t *first_id)
{
    sq_outbox *ob = (sq_outbox *)base;
    if (first_id)
        *first_id = 0;
    if (n == 0)
        return 0;
    if (!endpoint_id)
        return -1;
    pthread_mutex_lock(&ob->mu);
    long count = 0;
    uint64_t first = 0;
    sqlite3_stmt *s = ob->s[E_REPLAY];
    int rc = run(ob->s[E_BEGIN]);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bind_text(s, 1, endpoint_id);
        bind_u64(s, 2, event_ids[i]);
        sqlite3_bind_int64(s, 3, now_ms);
        rc = run(s);
        if (rc == 0 && sqlite3_changes(ob->db) > 0) {
            if (count++ == 0)
                first = (uint64_t)sqlite3_last_insert_rowid(ob->db);
        }
    }
    if (rc == 0)
        rc = run(ob->s[E_COMMIT]);
    if (rc != 0) {
        hv_error("outbox: replay of %zu events failed: %s", n, sqlite3_errmsg(ob->db));
        ob_rollback(ob);
    }
    pthread_mutex_unlock(&ob->mu);
    if (rc != 0)
        return -1;
    if (first_id)
        *first_id = first;
    return count;
}

/* ---- reader pool (any thread) ---- */

static const char *const reader_sql[OR_COUNT] = {
    [OR_ATTEMPTS] = "SELECT id, outbox_id, event_id, time_ms, status_code, latency_ms, error,"
                    " response, state FROM attempts WHERE endpoint_id = ?1 AND id < ?2"
                    " ORDER BY id DESC LIMIT ?3",
    [OR_PENDING_ALL] = "SELECT COUNT(*) FROM outbox WHERE status = 0",
    [OR_PENDING_EP] = "SELECT COUNT(*) FROM outbox WHERE endpoint_id = ?1 AND status = 0",
    [OR_ROW_STATE] = "SELECT status FROM outbox WHERE id = ?1 AND endpoint_id = ?2",
};

static sqlite3_stmt *reader_stmt(hv_reader *r, int which)
{
    if (!r->ob[which] && sqlite3_prepare_v3(r->db, reader_sql[which], -1,
                                            SQLITE_PREPARE_PERSISTENT, &r->ob[which],
                                            NULL) != SQLITE_OK) {
        hv_error("outbox: cannot prepare query: %s", sqlite3_errmsg(r->db));
        return NULL;
    }
    return r->ob[which];
}

/* A stored text column as the shared builder takes it (NULL: SQL NULL). */
static const char *col_text(sqlite3_stmt *s, int col, size_t *len)
{
    *len = (size_t)sqlite3_column_bytes(s, col);
    return sqlite3_column_type(s, col) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(s, col);
}

/* One attempt row (columns of OR_ATTEMPTS) as the API's object. */
static json_t *attempt_json(sqlite3_stmt *s)
{
    char id[24], row[24], ev[24];
    snprintf(id, sizeof(id), "%lld", (long long)sqlite3_column_int64(s, 0));
    snprintf(row, sizeof(row), "%lld", (long long)sqlite3_column_int64(s, 1));
    snprintf(ev, sizeof(ev), "%lld", (long long)sqlite3_column_int64(s, 2));
    hv_attempt_row a = {.id = id, .delivery_id = row, .event_id = ev,
                        .time_ms = sqlite3_column_int64(s, 3),
                        .has_status = sqlite3_column_type(s, 4) != SQLITE_NULL,
                        .status = sqlite3_column_int(s, 4),
                        .latency_ms = sqlite3_column_int64(s, 5),
                        .state = sqlite3_column_int(s, 8)};
    a.error = col_text(s, 6, &a.error_len);
    a.response = col_text(s, 7, &a.response_len);
    return hv_store_attempt_json(&a);
}

char *hv_sqlite_attempts_json(hv_store *base, const char *endpoint_id, uint64_t before_id,
                              size_t limit)
{
    hv_sqlite *st = hv_sqlite_of(base);
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    int rc = SQLITE_ERROR;
    hv_reader *r = hv_sqlite_reader_acquire(st);
    sqlite3_stmt *s = reader_stmt(r, OR_ATTEMPTS);
    if (s) {
        bind_text(s, 1, endpoint_id);
        bind_u64(s, 2, before_id ? before_id : (uint64_t)INT64_MAX);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            if (json_array_append_new(arr, attempt_json(s)) != 0) {
                rc = SQLITE_NOMEM;
                break;
            }
        if (rc != SQLITE_DONE)
            hv_error("outbox: attempts query failed: %s", sqlite3_errmsg(r->db));
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    hv_sqlite_reader_release(st, r);
    char *out = rc == SQLITE_DONE ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return out;
}

long hv_sqlite_pending_count(hv_store *base, const char *endpoint_id)
{
    hv_sqlite *st = hv_sqlite_of(base);
    long n = -1;
    hv_reader *r = hv_sqlite_reader_acquire(st);
    sqlite3_stmt *s = reader_stmt(r, endpoint_id ? OR_PENDING_EP : OR_PENDING_ALL);
    if (s) {
        if (endpoint_id)
            bind_text(s, 1, endpoint_id);
        if (sqlite3_step(s) == SQLITE_ROW)
            n = (long)sqlite3_column_int64(s, 0);
        else
            hv_error("outbox: pending count failed: %s", sqlite3_errmsg(r->db));
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    hv_sqlite_reader_release(st, r);
    return n;
}

int hv_sqlite_row_state(hv_store *base, const char *endpoint_id, uint64_t outbox_id)
{
    hv_sqlite *st = hv_sqlite_of(base);
    int state = -1;
    hv_reader *r = hv_sqlite_reader_acquire(st);
    sqlite3_stmt *s = reader_stmt(r, OR_ROW_STATE);
    if (s) {
        sqlite3_bind_int64(s, 1, (sqlite3_int64)outbox_id);
        bind_text(s, 2, endpoint_id);
        if (sqlite3_step(s) == SQLITE_ROW)
            state = sqlite3_column_int(s, 0);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    hv_sqlite_reader_release(st, r);
    return state;
}
