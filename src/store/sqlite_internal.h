/* SPDX-License-Identifier: MIT */
/* sqlite_internal.h — what store/sqlite.c (the event log) and store/sqlite_outbox.c
 * (the webhook outbox) share, the SQLite engine of engine.h: the private
 * hv_sqlite struct (an hv_store) with its writer
 * connection and reader pool, the statement slots each file owns, small
 * statement helpers and the reader pool's borrow/return. Not for use
 * outside src/store/.
 *
 * Ownership: sqlite.c opens and closes everything and prepares the event
 * log's writer statements (w[]); sqlite_outbox.c prepares the outbox statements of
 * the writer connection (ow[], used by hv_store_commit and hv_store_prune)
 * and, lazily, its statements on reader connections (hv_reader.ob[]).
 */
#ifndef HV_SQLITE_INTERNAL_H
#define HV_SQLITE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "store/engine.h"

#define HV_STORE_READERS 4
#define HV_BUSY_TIMEOUT_MS 5000 /* --sqlite-busy-timeout's default */

/* History filter bits; one prepared statement per combination. */
enum { F_ROOM = 1, F_USER = 2, F_TYPE = 4, F_TIME = 8, F_VARIANTS = 16 };

/* Cached statements of the writer connection (SQL in sqlite.c). */
enum { W_BEGIN, W_COMMIT, W_ROLLBACK, W_INSERT, W_META, W_PRUNE_COUNT, W_PRUNE_AGE,
       W_FIRST_ID, W_HORIZON, W_KV_PUT, W_KV_DEL, W_KV_LOAD, W_COUNT };

/* Outbox statements of the writer connection (SQL in sqlite_outbox.c). */
enum { OW_INSERT, OW_PRUNE_OUTBOX, OW_PRUNE_ATTEMPTS, OW_COUNT };

/* Outbox statements of a reader connection, prepared on first use. */
enum { OR_ATTEMPTS, OR_PENDING_ALL, OR_PENDING_EP, OR_ROW_STATE, OR_COUNT };

typedef struct hv_reader {
    sqlite3 *db;
    sqlite3_stmt *hist[F_VARIANTS]; /* prepared on first use */
    sqlite3_stmt *ob[OR_COUNT];     /* sqlite_outbox.c, prepared on first use */
} hv_reader;

typedef struct hv_sqlite {
    hv_store base; /* ops: the SQLite engine */
    sqlite3 *db; /* the writer connection */
    sqlite3_stmt *w[W_COUNT];
    sqlite3_stmt *ow[OW_COUNT];
    sqlite3_stmt *idem[3]; /* sqlite_idem.c, prepared on first use */
    int sync_full;
    int busy_ms; /* sqlite3_busy_timeout of every connection (--sqlite-busy-timeout) */
    int64_t last_time_ms; /* writer thread only */
    uint64_t horizon;     /* writer thread only: every id >= horizon is retained */
    _Atomic uint64_t last_id;
    _Atomic uint64_t first_id;

    hv_reader readers[HV_STORE_READERS];
    hv_reader *idle[HV_STORE_READERS]; /* free readers, guarded by mu */
    size_t nidle;
    pthread_mutex_t mu;
    pthread_cond_t cv;

    char path[];
} hv_sqlite;

/* Binds a uint64 as SQLite's signed 64-bit integer, saturating. */
static inline int bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    return sqlite3_bind_int64(s, i, v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v);
}

static inline int bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

/* Runs a cached statement that returns no rows; 0 or -1. Always resets. */
static inline int run(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* sqlite.c: WAL, synchronous level and busy timeout of a read-write
 * connection; 0 or -1 with err set. */
int hv_sqlite_configure(sqlite3 *db, int sync_full, int busy_ms, char *err, size_t errlen);

/* Borrows a reader connection from the pool (waits for one). */
static inline hv_reader *hv_sqlite_reader_acquire(hv_sqlite *st)
{
    pthread_mutex_lock(&st->mu);
    while (st->nidle == 0)
        pthread_cond_wait(&st->cv, &st->mu);
    hv_reader *r = st->idle[--st->nidle];
    pthread_mutex_unlock(&st->mu);
    return r;
}

static inline void hv_sqlite_reader_release(hv_sqlite *st, hv_reader *r)
{
    pthread_mutex_lock(&st->mu);
    st->idle[st->nidle++] = r;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* sqlite.c: an event from columns col..col+5 of s (id, time_ms, type,
 * room_id, user_id, data). */
hv_event *hv_sqlite_row_event(sqlite3_stmt *s, int col);

/* sqlite_outbox.c: prepares ow[]; 0 or -1. */
int hv_sqlite_outbox_prepare(hv_sqlite *st);

/* sqlite_outbox.c: inserts the commit's outbox rows inside the open transaction
 * (events of the commit have ids base + 1 ...); sets each row's id.
 * 0 or -1. */
int hv_sqlite_outbox_rows(hv_sqlite *st, hv_commit *c, uint64_t base, int64_t now);

/* sqlite_outbox.c: inside the open prune transaction, deletes a bounded batch of
 * finished outbox rows created before cutoff_ms and of attempts made
 * before it (except those of pending rows). 0 or -1. */
int hv_sqlite_outbox_prune(hv_sqlite *st, int64_t cutoff_ms);

/* sqlite_idem.c: records the commit's idempotency keys inside the open
 * transaction (events have ids base + 1 ...); 0 or -1. */
int hv_sqlite_idem_rows(hv_sqlite *st, const hv_commit *c, uint64_t base, int64_t now);
void hv_sqlite_idem_finalize(hv_sqlite *st);
int hv_sqlite_idem_get(hv_store *st, const char *key, int64_t since_ms, char *hash,
                       uint64_t **ids, size_t *n);
long hv_sqlite_idem_prune(hv_store *st, int64_t before_ms);

/* The engine's operations in sqlite_outbox.c and sqlite_audience.c (engine.h). */
char *hv_sqlite_attempts_json(hv_store *st, const char *endpoint_id, uint64_t before_id,
                              size_t limit);
int hv_sqlite_row_state(hv_store *st, const char *endpoint_id, uint64_t outbox_id);
long hv_sqlite_pending_count(hv_store *st, const char *endpoint_id);
hv_outbox *hv_sqlite_outbox_open(hv_store *st, char *err, size_t errlen);
void hv_sqlite_outbox_close(hv_outbox *ob);
int hv_sqlite_load_pending(hv_outbox *ob, const char *endpoint_id, uint64_t after_id,
                           size_t limit, hv_outbox_item **out, size_t *n);
int hv_sqlite_load_events(hv_outbox *ob, const uint64_t *ids, size_t n, hv_event **out);
int hv_sqlite_record(hv_outbox *ob, hv_attempt *a, size_t n);
int hv_sqlite_retry(hv_outbox *ob, const char *endpoint_id, uint64_t outbox_id, int64_t now_ms);
long hv_sqlite_insert(hv_outbox *ob, const char *endpoint_id, const uint64_t *event_ids,
                      size_t n, int64_t now_ms, uint64_t *first_id);
int hv_sqlite_audience(hv_store *st, uint64_t after_id, size_t limit, const char *user_id,
                       const char *const *rooms, size_t nrooms, hv_event ***out, size_t *n);
/* sqlite_audience.c: the SQL of a page of an audience of the user (with_user)
 * and nrooms rooms (?1 after id, ?2 up to id, ?3 page size, ?4 user, ?5...
 * rooms); NULL when there is no term. Malloc'd. For the plan's test. */
char *hv_sqlite_audience_sql(int with_user, size_t nrooms);
int hv_sqlite_by_created(hv_store *st, const hv_created_query *q, hv_event ***out, size_t *n);

/* The hv_sqlite of an hv_store of this engine. */
static inline hv_sqlite *hv_sqlite_of(hv_store *st)
{
    return (hv_sqlite *)st;
}

/* Runs a one-row, one-integer query on db: 0 and *out, or -1. */
int hv_sqlite_query_int64(sqlite3 *db, const char *sql, sqlite3_int64 *out);
/* Applies every migration above the database's user_version, each in its
 * own transaction with the version bump (sqlite_schema.c). 0 or -1 (err). */
int hv_sqlite_schema_migrate(sqlite3 *db, char *err, size_t errlen);

#endif
