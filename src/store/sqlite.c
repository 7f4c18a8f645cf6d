/* sqlite.c — the embedded event store: SQLite in WAL mode (store.h).
 *
 * Files: <dir>/herald.db (+ -wal, -shm). The schema is versioned with
 * PRAGMA user_version and built by schema_migrate() from the `migrations`
 * list; later tables (rooms, peers, webhook outbox) are added there.
 *
 * Writing: one connection, used only by the store's single writer thread
 * (appends and prunes). An append is one BEGIN IMMEDIATE ... COMMIT with a
 * cached INSERT; ids continue from an in-memory last_id, and the high-water
 * marks (last id, last time) are persisted in the `meta` table inside the
 * same transaction, so ids keep increasing across restarts even after
 * pruning deletes every event. Time never goes backwards between appends.
 *
 * Reading: a small pool of read-only connections guarded by a mutex and a
 * condition variable. WAL lets them read beside the writer; each history
 * query is a single SELECT, so it sees one consistent snapshot, bounded by
 * the published last_id: history never shows an event whose append has not
 * returned yet. History statements come in variants (one per combination of
 * filters, so each can use the right index), prepared lazily, once per
 * connection. With no results, *out may be NULL.
 */
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"

#define HV_STORE_READERS 4
#define HV_BUSY_TIMEOUT_MS 5000
#define HV_HISTORY_MAX 10000

/* History filter bits; one prepared statement per combination. */
enum { F_ROOM = 1, F_USER = 2, F_TYPE = 4, F_TIME = 8, F_VARIANTS = 16 };

/* Cached statements of the writer connection. */
enum { W_BEGIN, W_COMMIT, W_ROLLBACK, W_INSERT, W_META, W_PRUNE_COUNT, W_PRUNE_AGE,
       W_MIN_ID, W_KV_PUT, W_KV_DEL, W_KV_LOAD, W_COUNT };

static const char *const writer_sql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_INSERT] = "INSERT INTO events(id, time_ms, type, room_id, user_id, data) "
                 "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [W_META] = "INSERT INTO meta(key, value) VALUES('last_id', ?1), ('last_time_ms', ?2) "
               "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [W_PRUNE_COUNT] = "DELETE FROM events WHERE id <= "
                      "(SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)",
    [W_PRUNE_AGE] = "DELETE FROM events WHERE time_ms < ?1",
    [W_MIN_ID] = "SELECT COALESCE(MIN(id), 0) FROM events",
    [W_KV_PUT] = "INSERT INTO kv(ns, key, value) VALUES(?1, ?2, ?3) "
                 "ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value",
    [W_KV_DEL] = "DELETE FROM kv WHERE ns = ?1 AND key = ?2",
    [W_KV_LOAD] = "SELECT key, value FROM kv WHERE ns = ?1 ORDER BY rowid",
};

/* Schema migrations: entry i takes the database from user_version i to
 * i + 1. To add tables or indexes, append an entry; never edit one that has
 * shipped. */
static const char *const migrations[] = {
    /* 1: the event log and the store's own metadata (high-water marks). */
    "CREATE TABLE events("
    "  id INTEGER PRIMARY KEY,"
    "  time_ms INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  room_id TEXT,"
    "  user_id TEXT,"
    "  data TEXT NOT NULL);"
    "CREATE INDEX events_room_id ON events(room_id, id) WHERE room_id IS NOT NULL;"
    "CREATE INDEX events_user_id ON events(user_id, id) WHERE user_id IS NOT NULL;"
    "CREATE INDEX events_time ON events(time_ms);"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;",
    /* 2: state records (rooms, peers, ...) written in the same transaction
     * as the events that announce their changes. */
    "CREATE TABLE kv(ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY(ns, key));",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

typedef struct reader {
    sqlite3 *db;
    sqlite3_stmt *hist[F_VARIANTS]; /* prepared on first use */
} reader;

struct hv_store {
    sqlite3 *db; /* the writer connection */
    sqlite3_stmt *w[W_COUNT];
    int64_t last_time_ms; /* writer thread only */
    _Atomic uint64_t last_id;
    _Atomic uint64_t first_id;

    reader readers[HV_STORE_READERS];
    reader *idle[HV_STORE_READERS]; /* free readers, guarded by mu */
    size_t nidle;
    pthread_mutex_t mu;
    pthread_cond_t cv;

    char path[];
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

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

/* Binds a uint64 as SQLite's signed 64-bit integer, saturating. */
static int bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    return sqlite3_bind_int64(s, i, v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v);
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

/* Runs a cached statement that returns no rows; 0 or -1. Always resets. */
static int run(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Runs a one-row, one-integer query on db. */
static int query_int64(sqlite3 *db, const char *sql, sqlite3_int64 *out)
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

/* Applies every migration above the database's user_version, each in its
 * own transaction together with the version bump. */
static int schema_migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_int64 version;
    if (query_int64(db, "PRAGMA user_version", &version) != 0) {
        set_err(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(db));
        return -1;
    }
    if (version > SCHEMA_VERSION) {
        set_err(err, errlen, "database schema version %lld is newer than this herald (%d)",
                (long long)version, SCHEMA_VERSION);
        return -1;
    }
    for (int v = (int)version; v < SCHEMA_VERSION; v++) {
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, bump, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            set_err(err, errlen, "schema migration to version %d failed: %s", v + 1,
                    sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

/* Journal mode, durability level and lock waiting for the writer. */
static int configure_writer(sqlite3 *db, int sync_full, char *err, size_t errlen)
{
    sqlite3_busy_timeout(db, HV_BUSY_TIMEOUT_MS);
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
 * events table holds (meta is absent before the first append). */
static int load_state(hv_store *st)
{
    sqlite3_int64 meta_id = 0, meta_time = 0, max_id = 0, max_time = 0, min_id = 0;
    if (query_int64(st->db, "SELECT COALESCE((SELECT value FROM meta WHERE key='last_id'), 0)",
                    &meta_id) != 0 ||
        query_int64(st->db,
                    "SELECT COALESCE((SELECT value FROM meta WHERE key='last_time_ms'), 0)",
                    &meta_time) != 0 ||
        query_int64(st->db, "SELECT COALESCE(MAX(id), 0) FROM events", &max_id) != 0 ||
        query_int64(st->db, "SELECT COALESCE(MAX(time_ms), 0) FROM events", &max_time) != 0 ||
        query_int64(st->db, "SELECT COALESCE(MIN(id), 0) FROM events", &min_id) != 0)
        return -1;
    atomic_store(&st->last_id, (uint64_t)(meta_id > max_id ? meta_id : max_id));
    atomic_store(&st->first_id, (uint64_t)min_id);
    st->last_time_ms = meta_time > max_time ? meta_time : max_time;
    return 0;
}

static int prepare_writer(hv_store *st)
{
    for (int i = 0; i < W_COUNT; i++)
        if (sqlite3_prepare_v3(st->db, writer_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->w[i],
                               NULL) != SQLITE_OK)
            return -1;
    return 0;
}

static int open_readers(hv_store *st, char *err, size_t errlen)
{
    for (int i = 0; i < HV_STORE_READERS; i++) {
        reader *r = &st->readers[i];
        int rc = sqlite3_open_v2(st->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                                 NULL);
        if (rc != SQLITE_OK) {
            set_err(err, errlen, "cannot open reader on '%s': %s", st->path,
                    r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
            return -1;
        }
        sqlite3_busy_timeout(r->db, HV_BUSY_TIMEOUT_MS);
        st->idle[st->nidle++] = r;
    }
    return 0;
}

/* Opens the writer connection and brings the schema up to date. */
static int open_writer(hv_store *st, int sync_full, char *err, size_t errlen)
{
    int rc = sqlite3_open_v2(st->path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "cannot open database '%s': %s", st->path,
                st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        return -1;
    }
    if (configure_writer(st->db, sync_full, err, errlen) != 0 ||
        schema_migrate(st->db, err, errlen) != 0)
        return -1;
    if (load_state(st) != 0 || prepare_writer(st) != 0) {
        set_err(err, errlen, "cannot prepare database '%s': %s", st->path,
                sqlite3_errmsg(st->db));
        return -1;
    }
    return 0;
}

hv_store *hv_store_open(const hv_store_options *opt, char *err, size_t errlen)
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
    hv_store *st = calloc(1, sizeof(*st) + plen);
    if (!st) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(st->path, plen, "%s/herald.db", opt->dir);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    if (open_writer(st, opt->sync_full, err, errlen) != 0 ||
        open_readers(st, err, errlen) != 0) {
        hv_store_close(st);
        return NULL;
    }
    hv_info("store: opened %s (last id %llu)", st->path,
            (unsigned long long)atomic_load(&st->last_id));
    return st;
}

void hv_store_close(hv_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < HV_STORE_READERS; i++) {
        reader *r = &st->readers[i];
        for (int v = 0; v < F_VARIANTS; v++)
            sqlite3_finalize(r->hist[v]);
        sqlite3_close(r->db);
    }
    for (int i = 0; i < W_COUNT; i++)
        sqlite3_finalize(st->w[i]);
    sqlite3_close(st->db);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* Ends a failed write transaction, if SQLite has not already done so. */
static void rollback(hv_store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        run(st->w[W_ROLLBACK]);
}

static int insert_event(hv_store *st, const hv_event *ev, uint64_t id, int64_t time_ms)
{
    sqlite3_stmt *s = st->w[W_INSERT];
    if (bind_u64(s, 1, id) != SQLITE_OK || sqlite3_bind_int64(s, 2, time_ms) != SQLITE_OK ||
        bind_text(s, 3, ev->type) != SQLITE_OK || bind_text(s, 4, ev->room_id) != SQLITE_OK ||
        bind_text(s, 5, ev->user_id) != SQLITE_OK ||
        sqlite3_bind_text(s, 6, ev->data ? ev->data : "{}", ev->data ? (int)ev->data_len : 2,
                          SQLITE_STATIC) != SQLITE_OK) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return -1;
    }
    return run(s);
}

static int apply_kv(hv_store *st, const hv_kv_change *kv)
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

static int append_txn(hv_store *st, hv_event **evs, size_t n, const hv_kv_change *kv, size_t nkv,
                      uint64_t base, int64_t now)
{
    if (run(st->w[W_BEGIN]) != 0)
        return -1;
    for (size_t i = 0; i < nkv; i++)
        if (apply_kv(st, &kv[i]) != 0)
            return -1;
    for (size_t i = 0; i < n; i++)
        if (insert_event(st, evs[i], base + 1 + i, now) != 0)
            return -1;
    sqlite3_stmt *meta = st->w[W_META];
    bind_u64(meta, 1, base + n);
    sqlite3_bind_int64(meta, 2, now);
    if (run(meta) != 0)
        return -1;
    return run(st->w[W_COMMIT]);
}

int hv_store_append(hv_store *st, hv_event **evs, size_t n)
{
    return hv_store_append_kv(st, evs, n, NULL, 0);
}

int hv_store_append_kv(hv_store *st, hv_event **evs, size_t n, const hv_kv_change *kv, size_t nkv)
{
    if (n == 0 && nkv == 0)
        return 0;
    uint64_t base = atomic_load(&st->last_id);
    int64_t now = hv_now_ms();
    if (now < st->last_time_ms)
        now = st->last_time_ms; /* the clock stepped back: hold time still */
    if (append_txn(st, evs, n, kv, nkv, base, now) != 0) {
        hv_error("store: append of %zu events failed: %s", n, sqlite3_errmsg(st->db));
        rollback(st);
        for (size_t i = 0; i < n; i++) {
            evs[i]->id = 0;
            evs[i]->time_ms = 0;
        }
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        evs[i]->id = base + 1 + i;
        evs[i]->time_ms = now;
    }
    if (n == 0)
        return 0;
    st->last_time_ms = now;
    if (atomic_load(&st->first_id) == 0)
        atomic_store(&st->first_id, base + 1);
    atomic_store(&st->last_id, base + n);
    return 0;
}

int hv_store_kv_load(hv_store *st, const char *ns, hv_kv_fn fn, void *arg)
{
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

/* Recomputes first_id after a prune (writer connection). */
static void refresh_first_id(hv_store *st)
{
    sqlite3_stmt *s = st->w[W_MIN_ID];
    if (sqlite3_step(s) == SQLITE_ROW)
        atomic_store(&st->first_id, (uint64_t)sqlite3_column_int64(s, 0));
    sqlite3_reset(s);
}

long hv_store_prune(hv_store *st, uint64_t keep_events, int64_t max_age_ms)
{
    if (keep_events == 0 && max_age_ms <= 0)
        return 0;
    long deleted = 0;
    if (run(st->w[W_BEGIN]) != 0)
        goto fail;
    if (keep_events > 0 && keep_events <= INT64_MAX) {
        bind_u64(st->w[W_PRUNE_COUNT], 1, keep_events);
        if (run(st->w[W_PRUNE_COUNT]) != 0)
            goto fail;
        deleted += (long)sqlite3_changes64(st->db);
    }
    if (max_age_ms > 0) {
        sqlite3_bind_int64(st->w[W_PRUNE_AGE], 1, hv_now_ms() - max_age_ms);
        if (run(st->w[W_PRUNE_AGE]) != 0)
            goto fail;
        deleted += (long)sqlite3_changes64(st->db);
    }
    if (run(st->w[W_COMMIT]) != 0)
        goto fail;
    refresh_first_id(st);
    return deleted;
fail:
    hv_error("store: prune failed: %s", sqlite3_errmsg(st->db));
    rollback(st);
    return -1;
}

uint64_t hv_store_last_id(hv_store *st)
{
    return atomic_load(&st->last_id);
}

uint64_t hv_store_first_id(hv_store *st)
{
    return atomic_load(&st->first_id);
}

/* ---- history (any thread) ---- */

static reader *reader_acquire(hv_store *st)
{
    pthread_mutex_lock(&st->mu);
    while (st->nidle == 0)
        pthread_cond_wait(&st->cv, &st->mu);
    reader *r = st->idle[--st->nidle];
    pthread_mutex_unlock(&st->mu);
    return r;
}

static void reader_release(hv_store *st, reader *r)
{
    pthread_mutex_lock(&st->mu);
    st->idle[st->nidle++] = r;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* The history statement for one filter combination, prepared on first use.
 * Parameters: ?1 after_id, ?2 room, ?3 user, ?4 type, ?5 after_time, ?6 limit,
 * ?7 the published last_id (rows committed by an append that has not yet
 * returned stay invisible, so history never runs ahead of hv_store_last_id). */
static sqlite3_stmt *history_stmt(reader *r, int mask)
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

static hv_event *row_event(sqlite3_stmt *s)
{
    hv_event *ev = hv_event_new((const char *)sqlite3_column_text(s, 2),
                                (const char *)sqlite3_column_text(s, 3),
                                (const char *)sqlite3_column_text(s, 4),
                                (const char *)sqlite3_column_text(s, 5),
                                (size_t)sqlite3_column_bytes(s, 5));
    ev->id = (uint64_t)sqlite3_column_int64(s, 0);
    ev->time_ms = sqlite3_column_int64(s, 1);
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
    hv_event **evs = malloc(cap * sizeof(*evs));
    if (!evs)
        return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            hv_event **grown = realloc(evs, 2 * cap * sizeof(*evs));
            if (!grown)
                break;
            evs = grown;
            cap *= 2;
        }
        evs[len++] = row_event(s);
    }
    if (rc != SQLITE_DONE) {
        free_events(evs, len);
        return -1;
    }
    *out = evs;
    *n = len;
    return 0;
}

static int run_history(reader *r, const hv_history_query *q, size_t limit, uint64_t high,
                       hv_event ***out, size_t *n)
{
    int mask = (q->room_id ? F_ROOM : 0) | (q->user_id ? F_USER : 0) |
               (q->type ? F_TYPE : 0) | (q->after_time_ms ? F_TIME : 0);
    sqlite3_stmt *s = history_stmt(r, mask);
    if (!s)
        return -1;
    bind_u64(s, 1, q->after_id);
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

int hv_store_history(hv_store *st, const hv_history_query *q, hv_event ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t limit = q->limit;
    if (limit < 1)
        limit = 1;
    if (limit > HV_HISTORY_MAX)
        limit = HV_HISTORY_MAX;
    uint64_t high = atomic_load(&st->last_id);
    if (q->after_id >= high)
        return 0; /* nothing newer has been acknowledged */
    reader *r = reader_acquire(st);
    int rc = run_history(r, q, limit, high, out, n);
    reader_release(st, r);
    return rc;
}
