/* SPDX-License-Identifier: MIT */
/* sqlite_idem.c — idempotency keys in the SQLite engine (store/idem.h).
 *
 * Table idempotency(key, hash, ids, time_ms) (schema version 7): one row
 * per key, written by the commit's own transaction (hv_sqlite_idem_rows),
 * so a key is durable exactly when its events are. ids is the events' ids
 * as text ("12,13"). Only the writer connection (the hub's thread) reads
 * and writes it: the hub looks a key up before the commit that would
 * record it, and nothing else writes the table, so no other transaction
 * can slip in between. Statements are prepared on first use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "store/sqlite_internal.h"

enum { I_PUT, I_GET, I_PRUNE, I_COUNT };

static const char *const idem_sql[I_COUNT] = {
    /* an expired row the prune has not reached yet is replaced */
    [I_PUT] = ("INSERT INTO idempotency(key, hash, ids, time_ms) VALUES(?1, ?2, ?3, ?4) "
               "ON CONFLICT(key) DO UPDATE SET hash = excluded.hash, ids = excluded.ids, "
               "time_ms = excluded.time_ms"),
    [I_GET] = "SELECT hash, ids FROM idempotency WHERE key = ?1 AND time_ms >= ?2",
    [I_PRUNE] = ("DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency "
                 "WHERE time_ms < ?1 LIMIT ?2)"),
};

static sqlite3_stmt *stmt(hv_sqlite *st, int which)
{
    if (!st->idem[which] &&
        sqlite3_prepare_v3(st->db, idem_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                           &st->idem[which], NULL) != SQLITE_OK)
        return NULL;
    return st->idem[which];
}

void hv_sqlite_idem_finalize(hv_sqlite *st)
{
    for (int i = 0; i < I_COUNT; i++)
        sqlite3_finalize(st->idem[i]);
}

int hv_sqlite_idem_rows(hv_sqlite *st, const hv_commit *c, uint64_t base, int64_t now)
{
    sqlite3_stmt *s = stmt(st, I_PUT);
    if (!s)
        return -1;
    for (size_t i = 0; i < c->nidem; i++) {
        const hv_idem_put *p = &c->idem[i];
        if (p->first + p->count > c->n || p->count == 0)
            return -1;
        size_t cap = p->count * 21 + 1, len = 0;
        char *ids = hv_xmalloc(cap);
        ids[0] = 0;
        for (size_t j = 0; j < p->count; j++)
            len += (size_t)snprintf(ids + len, cap - len, "%s%llu", j ? "," : "",
                                    (unsigned long long)(base + 1 + p->first + j));
        bind_text(s, 1, p->key);
        bind_text(s, 2, p->hash);
        sqlite3_bind_text(s, 3, ids, (int)len, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 4, now);
        free(ids);
        if (run(s) != 0)
            return -1;
    }
    return 0;
}

/* "12,13" into a malloc'd array; the count. */
static size_t parse_ids(const char *text, uint64_t **out)
{
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    uint64_t *ids = hv_xmalloc(n * sizeof(*ids));
    size_t k = 0;
    const char *p = text;
    while (*p && k < n) {
        char *end;
        ids[k++] = strtoull(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p)
            break;
    }
    *out = ids;
    return k;
}

int hv_sqlite_idem_get(hv_store *base, const char *key, int64_t since_ms, char *hash,
                       uint64_t **ids, size_t *n)
{
    hv_sqlite *st = hv_sqlite_of(base);
    sqlite3_stmt *s = stmt(st, I_GET);
    if (!s)
        return -1;
    bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, since_ms);
    int rc = sqlite3_step(s), found = 0;
    if (rc == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(s, 0);
        const char *t = (const char *)sqlite3_column_text(s, 1);
        snprintf(hash, HV_IDEM_HASH_HEX + 1, "%s", h ? h : "");
        *n = parse_ids(t ? t : "", ids);
        found = 1;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_ROW ? found : rc == SQLITE_DONE ? 0 : -1;
}

long hv_sqlite_idem_prune(hv_store *base, int64_t before_ms)
{
    hv_sqlite *st = hv_sqlite_of(base);
    sqlite3_stmt *s = stmt(st, I_PRUNE);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, before_ms);
    sqlite3_bind_int64(s, 2, HV_IDEM_PRUNE_BATCH);
    if (run(s) != 0)
        return -1;
    return (long)sqlite3_changes(st->db);
}
