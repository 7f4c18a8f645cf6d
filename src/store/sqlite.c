/* SPDX-License-Identifier: MIT */
/* sqlite.c — the embedded event store: SQLite in WAL mode, the default
 * engine of store.h (engine.h; hv_sqlite_open, the table at the end).
 *
 * Files: <dir>/herald.db (+ -wal, -shm). The schema is versioned with
 * PRAGMA user_version and built by hv_sqlite_schema_migrate()
 * (sqlite_schema.c) from its list of migrations: the event log, state records (kv), the webhook outbox. The outbox
 * code lives in store/sqlite_outbox.c; sqlite_internal.h holds what both share.
 *
 * Writing: one connection, used only by the store's single writer thread
 * (commits and prunes). A commit (hv_store_commit; hv_store_append[_kv]
 * wrap it) is one BEGIN IMMEDIATE ... COMMIT with cached statements: kv
 * changes, events, outbox rows; ids continue from an in-memory last_id,
 * and the high-water marks (last id, last time) are persisted in the
 * `meta` table inside the same transaction, so ids keep increasing across
 * restarts even after pruning deletes every event. Time never goes
 * backwards between appends. The webhook engine writes the outbox through
 * its own connection (busy_timeout makes each side wait for the other).
 *
 * Pruning deletes old events (by count, by age) but never one a pending
 * outbox row needs. Every deleted id lies below a horizon (in meta, never
 * decreasing) above which the log is complete; first_id is the oldest
 * event at or above it and history serves only [first_id, last_id], so
 * events kept for the outbox never show up as a history with holes.
 *
 * Reading: a small pool of read-only connections guarded by a mutex and a
 * condition variable. WAL lets them read beside the writer; each history
 * query is a single SELECT, so it sees one consistent snapshot, bounded by
 * the published last_id: history never shows an event whose append has not
 * returned yet. History statements come in variants (one per combination of
 * filters, so each can use the right index), prepared lazily, once per
 * connection. With no results, *out may be NULL.
 */
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "store/sqlite_internal.h"


/* Leaves out events a pending outbox row still needs. */
#define NOT_OWED                                                                          \
    " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = events.id AND o.status = 0)"

static const char *const writer_sql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_INSERT] = "INSERT INTO events(id, time_ms, type, room_id, user_id, data, created_key) "
                 "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_META] = "INSERT INTO meta(key, value) VALUES('last_id', ?1), ('last_time_ms', ?2) "
               "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    /* the oldest ?2 at most (HV_STORE_PRUNE_BATCH): times never decrease
     * along ids, so both select a prefix of the log (owed events aside) */
    [W_PRUNE_COUNT] = "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= "
                      "(SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)" NOT_OWED
                      " ORDER BY id LIMIT ?2) RETURNING id",
    [W_PRUNE_AGE] = "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ms < ?1" NOT_OWED
                    " ORDER BY id LIMIT ?2) RETURNING id",
    [W_FIRST_ID] = "SELECT COALESCE((SELECT id FROM events WHERE id >= ?1 ORDER BY id LIMIT 1), 0)",
    [W_HORIZON] = "INSERT INTO meta(key, value) VALUES('horizon', ?1) "
                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [W_KV_PUT] = "INSERT INTO kv(ns, key, value) VALUES(?1, ?2, ?3) "
                 "ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value",
    [W_KV_DEL] = "DELETE FROM kv WHERE ns = ?1 AND key = ?2",
    [W_KV_LOAD] = "SELECT key, value FROM kv WHERE ns = ?1 ORDER BY rowid",
};


/* mkdir -p: creates dir and its missing parents. */
static int mkdir_p(const char *dir)
{
    char buf[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof(buf)) {
        errno = len ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, dir, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat sb;
    if (stat(buf, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Runs a one-row, one-integer query on db. */
int hv_sqlite_query_int64(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Journal mode, durability level and lock waiting for a read-write
 * connection (the writer, the webhook engine's). */
int hv_sqlite_configure(sqlite3 *db, int sync_full, int busy_ms, char *err, size_t errlen)
{
    sqlite3_busy_timeout(db, busy_ms);
    if (sqlite3_db_readonly(db, "main") == 1) {
        set_err(err, errlen, "database is read-only");
        return -1;
    }
    sqlite3_stmt *s;
    int wal = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            wal = sqlite3_strnicmp((const char *)sqlite3_column_text(s, 0), "wal", 3) == 0;
        sqlite3_finalize(s);
    }
    if (!wal) {
        set_err(err, errlen, "cannot enable WAL mode: %s", sqlite3_errmsg(db));
        return -1;
    }
    const char *sync = sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    if (sqlite3_exec(db, sync, NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, errlen, "cannot set synchronous mode: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

/* Loads the high-water marks: the larger of what meta says and what the
 * events table holds (meta is absent before the first append), and the
 * prune horizon with the first event at or above it. */
static int load_state(hv_sqlite *st)
{
    sqlite3_int64 meta_id = 0, meta_time = 0, max_id = 0, max_time = 0, horizon = 0, first = 0;
    if (hv_sqlite_query_int64(st->db, "SELECT COALESCE((SELECT value FROM meta WHERE key='last_id'), 0)",
                    &meta_id) != 0 ||
        hv_sqlite_query_int64(st->db,
                    "SELECT COALESCE((SELECT value FROM meta WHERE key='last_time_ms'), 0)",
                    &meta_time) != 0 ||
        hv_sqlite_query_int64(st->db, "SELECT COALESCE(MAX(id), 0) FROM events", &max_id) != 0 ||
        hv_sqlite_query_int64(st->db, "SELECT COALESCE(MAX(time_ms), 0) FROM events", &max_time) != 0 ||
        hv_sqlite_query_int64(st->db, "SELECT COALESCE((SELECT value FROM meta WHERE key='horizon'), 0)",
                    &horizon) != 0 ||
        hv_sqlite_query_int64(st->db,
                    "SELECT COALESCE((SELECT id FROM events WHERE id >= (SELECT COALESCE("
                    "(SELECT value FROM meta WHERE key='horizon'), 0)) ORDER BY id LIMIT 1), 0)",
                    &first) != 0)
        return -1;
    atomic_store(&st->last_id, (uint64_t)(meta_id > max_id ? meta_id : max_id));
    atomic_store(&st->first_id, (uint64_t)first);
    st->horizon = (uint64_t)horizon;
    st->last_time_ms = meta_time > max_time ? meta_time : max_time;
    return 0;
}

static int prepare_writer(hv_sqlite *st)
{
    for (int i = 0; i < W_COUNT; i++)
        if (sqlite3_prepare_v3(st->db, writer_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->w[i],
                               NULL) != SQLITE_OK)
            return -1;
    return hv_sqlite_outbox_prepare(st);
}

static int open_readers(hv_sqlite *st, char *err, size_t errlen)
{
    for (int i = 0; i < HV_STORE_READERS; i++) {
        hv_reader *r = &st->readers[i];
        int rc = sqlite3_open_v2(st->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                                 NULL);
        if (rc != SQLITE_OK) {
            set_err(err, errlen, "cannot open reader on '%s': %s", st->path,
                    r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
            return -1;
        }
        sqlite3_busy_timeout(r->db, st->busy_ms);
        st->idle[st->nidle++] = r;
    }
    return 0;
}

/* Opens the writer connection and brings the schema up to date. */
static int open_writer(hv_sqlite *st, int sync_full, char *err, size_t errlen)
{
    /* The events are private: the database is created owner-only, whatever
     * the umask and the data directory's mode (an existing directory may be
     * world-readable), and SQLite gives its -wal and -shm files the
     * database file's mode. An existing file keeps the mode it was given. */
    int fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        set_err(err, errlen, "cannot open database '%s': %s", st->path, strerror(errno));
        return -1;
    }
    close(fd);
    int rc = sqlite3_open_v2(st->path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "cannot open database '%s': %s", st->path,
                st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        return -1;
    }
    if (hv_sqlite_configure(st->db, sync_full, st->busy_ms, err, errlen) != 0 ||
        hv_sqlite_schema_migrate(st->db, err, errlen) != 0)
        return -1;
    if (load_state(st) != 0 || prepare_writer(st) != 0) {
        set_err(err, errlen, "cannot prepare database '%s': %s", st->path,
                sqlite3_errmsg(st->db));
        return -1;
    }
    return 0;
}

static const hv_store_engine sqlite_engine;
static void sq_close(hv_store *base);

hv_store *hv_sqlite_open(const hv_store_options *opt, char *err, size_t errlen)
{
    if (!opt || !opt->dir || !*opt->dir) {
        set_err(err, errlen, "no data directory given");
        return NULL;
    }
    if (mkdir_p(opt->dir) != 0) {
        set_err(err, errlen, "cannot create data directory '%s': %s", opt->dir,
                strerror(errno));
        return NULL;
    }
    size_t plen = strlen(opt->dir) + sizeof("/herald.db");
    hv_sqlite *st = hv_xcalloc(1, sizeof(*st) + plen);
    st->base.ops = &sqlite_engine;
    snprintf(st->path, plen, "%s/herald.db", opt->dir);
    st->sync_full = opt->sync_full;
    st->busy_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : HV_BUSY_TIMEOUT_MS;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    if (open_writer(st, opt->sync_full, err, errlen) != 0 ||
        open_readers(st, err, errlen) != 0) {
        sq_close(&st->base);
        return NULL;
    }
    hv_info("store: opened %s (last id %llu)", st->path,
            (unsigned long long)atomic_load(&st->last_id));
    return &st->base;
}

static void sq_close(hv_store *base)
{
    hv_sqlite *st = hv_sqlite_of(base);
    if (!st)
        return;
    for (int i = 0; i < HV_STORE_READERS; i++) {
        hv_reader *r = &st->readers[i];
        for (int v = 0; v < F_VARIANTS; v++)
            sqlite3_finalize(r->hist[v]);
        for (int v = 0; v < OR_COUNT; v++)
            sqlite3_finalize(r->ob[v]);
        sqlite3_close(r->db);
    }
    for (int i = 0; i < W_COUNT; i++)
        sqlite3_finalize(st->w[i]);
    hv_sqlite_idem_finalize(st);
    for (int i = 0; i < OW_COUNT; i++)
        sqlite3_finalize(st->ow[i]);
    sqlite3_close(st->db);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* Ends a failed write transaction, if SQLite has not already done so. */
static void rollback(hv_sqlite *st)
{
    if (!sqlite3_get_autocommit(st->db))
        run(st->w[W_ROLLBACK]);
}

static int insert_event(hv_sqlite *st, const hv_event *ev, uint64_t id, int64_t time_ms)
{
    sqlite3_stmt *s = st->w[W_INSERT];
    if (bind_u64(s, 1, id) != SQLITE_OK || sqlite3_bind_int64(s, 2, time_ms) != SQLITE_OK ||
        bind_text(s, 3, ev->type) != SQLITE_OK || bind_text(s, 4, ev->room_id) != SQLITE_OK ||
        bind_text(s, 5, ev->user_id) != SQLITE_OK ||
        sqlite3_bind_text(s, 6, ev->data ? ev->data : "{}", ev->data ? (int)ev->data_len : 2,
                          SQLITE_STATIC) != SQLITE_OK ||
        (ev->created_set == HV_CREATED_KEY ? sqlite3_bind_double(s, 7, ev->created_key)
                                           : sqlite3_bind_null(s, 7)) != SQLITE_OK) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return -1;
    }
    return run(s);
}

static int apply_kv(hv_sqlite *st, const hv_kv_change *kv)
{
    sqlite3_stmt *s = st->w[kv->value ? W_KV_PUT : W_KV_DEL];
    if (bind_text(s, 1, kv->ns) != SQLITE_OK || bind_text(s, 2, kv->key) != SQLITE_OK ||
        (kv->value && bind_text(s, 3, kv->value) != SQLITE_OK)) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return -1;
    }
    return run(s);
}

static int commit_txn(hv_sqlite *st, hv_commit *c, uint64_t base, int64_t now)
{
    if (run(st->w[W_BEGIN]) != 0)
        return -1;
    for (size_t i = 0; i < c->nkv; i++)
        if (apply_kv(st, &c->kv[i]) != 0)
            return -1;
    for (size_t i = 0; i < c->n; i++)
        if (insert_event(st, c->evs[i], base + 1 + i, now) != 0)
            return -1;
    if (c->noutbox > 0 && hv_sqlite_outbox_rows(st, c, base, now) != 0)
        return -1;
    if (c->nidem > 0 && hv_sqlite_idem_rows(st, c, base, now) != 0)
        return -1;
    sqlite3_stmt *meta = st->w[W_META];
    bind_u64(meta, 1, base + c->n);
    sqlite3_bind_int64(meta, 2, now);
    if (run(meta) != 0)
        return -1;
    return run(st->w[W_COMMIT]);
}

static int sq_commit(hv_store *store, hv_commit *c)
{
    hv_sqlite *st = hv_sqlite_of(store);
    if (c->n == 0 && c->nkv == 0 && c->noutbox == 0 && c->nidem == 0)
        return 0;
    uint64_t base = atomic_load(&st->last_id);
    int64_t now = hv_now_ms();
    if (now < st->last_time_ms)
        now = st->last_time_ms; /* the clock stepped back: hold time still */
    if (commit_txn(st, c, base, now) != 0) {
        hv_error("store: commit of %zu events failed: %s", c->n, sqlite3_errmsg(st->db));
        rollback(st);
        for (size_t i = 0; i < c->n; i++) {
            c->evs[i]->id = 0;
            c->evs[i]->time_ms = 0;
        }
        for (size_t i = 0; i < c->noutbox; i++)
            c->outbox[i].id = 0;
        return -1;
    }
    for (size_t i = 0; i < c->n; i++) {
        c->evs[i]->id = base + 1 + i;
        c->evs[i]->time_ms = now;
    }
    if (c->n == 0)
        return 0;
    st->last_time_ms = now;
    if (atomic_load(&st->first_id) == 0)
        atomic_store(&st->first_id, base + 1);
    atomic_store(&st->last_id, base + c->n);
    return 0;
}

static int sq_kv_load(hv_store *base, const char *ns, hv_kv_fn fn, void *arg)
{
    hv_sqlite *st = hv_sqlite_of(base);
    sqlite3_stmt *s = st->w[W_KV_LOAD];
    if (bind_text(s, 1, ns) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Recomputes first_id in a prune's transaction: the oldest event at or
 * above the horizon, 0 if none. Published before the commit, so history
 * readers skip what is being deleted instead of seeing holes. */
static void refresh_first_id(hv_sqlite *st)
{
    sqlite3_stmt *s = st->w[W_FIRST_ID];
    bind_u64(s, 1, st->horizon);
    if (sqlite3_step(s) == SQLITE_ROW)
        atomic_store(&st->first_id, (uint64_t)sqlite3_column_int64(s, 0));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Steps a DELETE ... RETURNING id to the end: rows deleted (raising
 * *max_id to the highest id), or -1. Always resets. */
static long prune_step(sqlite3_stmt *s, uint64_t *max_id)
{
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(s, 0);
        if (id > *max_id)
            *max_id = id;
        n++;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? n : -1;
}

static long sq_prune(hv_store *base, uint64_t keep_events, int64_t max_age_ms, int64_t now_ms)
{
    hv_sqlite *st = hv_sqlite_of(base);
    if (keep_events == 0 && max_age_ms <= 0)
        return 0;
    long deleted = 0, n;
    uint64_t max_id = 0, old_horizon = st->horizon, old_first = atomic_load(&st->first_id);
    if (run(st->w[W_BEGIN]) != 0)
        goto fail;
    if (keep_events > 0 && keep_events <= INT64_MAX) {
        bind_u64(st->w[W_PRUNE_COUNT], 1, keep_events);
        sqlite3_bind_int64(st->w[W_PRUNE_COUNT], 2, HV_STORE_PRUNE_BATCH);
        if ((n = prune_step(st->w[W_PRUNE_COUNT], &max_id)) < 0)
            goto fail;
        deleted += n;
    }
    if (max_age_ms > 0 && deleted < HV_STORE_PRUNE_BATCH) {
        int64_t cutoff = (now_ms ? now_ms : hv_now_ms()) - max_age_ms;
        sqlite3_bind_int64(st->w[W_PRUNE_AGE], 1, cutoff);
        sqlite3_bind_int64(st->w[W_PRUNE_AGE], 2, HV_STORE_PRUNE_BATCH - deleted);
        if ((n = prune_step(st->w[W_PRUNE_AGE], &max_id)) < 0 ||
            hv_sqlite_outbox_prune(st, cutoff) != 0)
            goto fail;
        deleted += n;
    }
    uint64_t horizon = max_id && max_id >= st->horizon ? max_id + 1 : st->horizon;
    if (horizon != st->horizon) {
        bind_u64(st->w[W_HORIZON], 1, horizon);
        if (run(st->w[W_HORIZON]) != 0)
            goto fail;
    }
    st->horizon = horizon;
    refresh_first_id(st);
    if (run(st->w[W_COMMIT]) != 0)
        goto fail;
    return deleted;
fail:
    hv_error("store: prune failed: %s", sqlite3_errmsg(st->db));
    rollback(st);
    st->horizon = old_horizon;
    atomic_store(&st->first_id, old_first);
    return -1;
}

static uint64_t sq_last_id(hv_store *base)
{
    hv_sqlite *st = hv_sqlite_of(base);
    return atomic_load(&st->last_id);
}

static uint64_t sq_first_id(hv_store *base)
{
    hv_sqlite *st = hv_sqlite_of(base);
    return atomic_load(&st->first_id);
}

/* ---- history (any thread) ---- */

/* The history statement for one filter combination, prepared on first use.
 * Parameters: ?1 after_id, ?2 room, ?3 user, ?4 type, ?5 after_time, ?6 limit,
 * ?7 the published last_id (rows committed by an append that has not yet
 * returned stay invisible, so history never runs ahead of hv_store_last_id). */
static sqlite3_stmt *history_stmt(hv_reader *r, int mask)
{
    if (r->hist[mask])
        return r->hist[mask];
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT id, time_ms, type, room_id, user_id, data FROM events"
             " WHERE id > ?1 AND id <= ?7"
             "%s%s%s%s ORDER BY id LIMIT ?6",
             (mask & F_ROOM) ? " AND room_id = ?2" : "",
             (mask & F_USER) ? " AND user_id = ?3" : "",
             (mask & F_TYPE) ? " AND type = ?4" : "",
             (mask & F_TIME) ? " AND time_ms > ?5" : "");
    if (sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &r->hist[mask], NULL) !=
        SQLITE_OK) {
        hv_error("store: cannot prepare history query: %s", sqlite3_errmsg(r->db));
        return NULL;
    }
    return r->hist[mask];
}

hv_event *hv_sqlite_row_event(sqlite3_stmt *s, int col)
{
    hv_event *ev = hv_event_new((const char *)sqlite3_column_text(s, col + 2),
                                (const char *)sqlite3_column_text(s, col + 3),
                                (const char *)sqlite3_column_text(s, col + 4),
                                (const char *)sqlite3_column_text(s, col + 5),
                                (size_t)sqlite3_column_bytes(s, col + 5));
    ev->id = (uint64_t)sqlite3_column_int64(s, col);
    ev->time_ms = sqlite3_column_int64(s, col + 1);
    return ev;
}

static void free_events(hv_event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hv_event_unref(evs[i]);
    free(evs);
}

/* Steps s to the end, collecting rows into a malloc'd array. */
static int collect_rows(sqlite3_stmt *s, size_t limit, hv_event ***out, size_t *n)
{
    size_t cap = limit < 64 ? limit : 64, len = 0;
    hv_event **evs = hv_xmalloc(cap * sizeof(*evs));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? 2 * cap : 64;
            evs = hv_xrealloc(evs, cap * sizeof(*evs));
        }
        evs[len++] = hv_sqlite_row_event(s, 0);
    }
    if (rc != SQLITE_DONE) {
        free_events(evs, len);
        return -1;
    }
    *out = evs;
    *n = len;
    return 0;
}

static int run_history(hv_reader *r, const hv_history_query *q, uint64_t after, size_t limit,
                       uint64_t high, hv_event ***out, size_t *n)
{
    int mask = (q->room_id ? F_ROOM : 0) | (q->user_id ? F_USER : 0) |
               (q->type ? F_TYPE : 0) | (q->after_time_ms ? F_TIME : 0);
    sqlite3_stmt *s = history_stmt(r, mask);
    if (!s)
        return -1;
    bind_u64(s, 1, after);
    bind_text(s, 2, q->room_id);
    bind_text(s, 3, q->user_id);
    bind_text(s, 4, q->type);
    sqlite3_bind_int64(s, 5, q->after_time_ms);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)limit);
    bind_u64(s, 7, high);
    int rc = collect_rows(s, limit, out, n);
    if (rc != 0)
        hv_error("store: history query failed: %s", sqlite3_errmsg(r->db));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

static int sq_history(hv_store *base, const hv_history_query *q, hv_event ***out, size_t *n)
{
    hv_sqlite *st = hv_sqlite_of(base);
    *out = NULL;
    *n = 0;
    size_t limit = q->limit;
    uint64_t high = atomic_load(&st->last_id);
    if (q->after_id >= high)
        return 0; /* nothing newer has been acknowledged */
    uint64_t first = atomic_load(&st->first_id);
    if (first == 0)
        return 0; /* everything was pruned */
    /* Events kept below first_id only for the outbox are not history. */
    uint64_t after = q->after_id >= first ? q->after_id : first - 1;
    hv_reader *r = hv_sqlite_reader_acquire(st);
    int rc = run_history(r, q, after, limit, high, out, n);
    hv_sqlite_reader_release(st, r);
    return rc;
}

static const hv_store_engine sqlite_engine = {
    .name = "sqlite",
    .close = sq_close,
    .idem_get = hv_sqlite_idem_get,
    .idem_prune = hv_sqlite_idem_prune,
    .commit = sq_commit,
    .kv_load = sq_kv_load,
    .history = sq_history,
    .audience = hv_sqlite_audience,
    .by_created = hv_sqlite_by_created,
    .prune = sq_prune,
    .last_id = sq_last_id,
    .first_id = sq_first_id,
    .attempts_json = hv_sqlite_attempts_json,
    .row_state = hv_sqlite_row_state,
    .pending_count = hv_sqlite_pending_count,
    .outbox_open = hv_sqlite_outbox_open,
    .outbox_close = hv_sqlite_outbox_close,
    .load_pending = hv_sqlite_load_pending,
    .load_events = hv_sqlite_load_events,
    .record = hv_sqlite_record,
    .retry = hv_sqlite_retry,
    .insert = hv_sqlite_insert,
};
