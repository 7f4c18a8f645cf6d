/* SPDX-License-Identifier: MIT */
/* sqlite_audience.c — the stored events an app client may read, for resume, the
 * id at a time, and the seeds' replay by created_at (the SQLite engine's,
 * engine.h).
 *
 * A client's audience is its user (events addressed to it) and its rooms
 * (room events addressed to no user). A page of it (issue 13, defect 6) is
 * one SELECT per term, each a range of an index ordered by id (the user's:
 * events_user_id; a room's: events_room_audience, schema 5), joined with
 * UNION ALL under one ORDER BY id LIMIT n: SQLite merges the ranges as it
 * reads them and stops after n rows, so a page costs what it returns plus
 * one row per term, whatever the history after it. (One OR over the terms,
 * as before, was planned as a multi-index OR with a temp B-tree sort:
 * every later row of the audience was read and sorted for each page, and a
 * full resume was quadratic in the room's history.) The terms are disjoint
 * (a room term takes only events with no user_id; the rooms are deduped),
 * so no event comes twice. Runs on a reader connection, any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/sqlite_internal.h"

/* Terms per statement: SQLite takes at most 500 SELECTs in one compound
 * (SQLITE_MAX_COMPOUND_SELECT); a longer audience (a user token may name
 * 1,000 rooms) is read in chunks of this many, merged in audience(). */
#define TERMS_MAX 200

static const char leg_cols[] = "SELECT id, time_ms, type, room_id, user_id, data FROM events WHERE ";

/* The page query of an audience of the user (when with_user) and nrooms
 * rooms: ?1 after this id, ?2 up to this id, ?3 the page size, ?4 the user,
 * ?5... the rooms. NULL when there is no term. Malloc'd. */
char *hv_sqlite_audience_sql(int with_user, size_t nrooms)
{
    size_t terms = (with_user ? 1 : 0) + nrooms;
    if (terms == 0)
        return NULL;
    /* a leg is under 160 bytes: the columns, "room_id = ?NNNNN AND ..." */
    size_t cap = terms * 160 + 32, len = 0;
    char *sql = hv_xmalloc(cap);
    for (size_t t = 0; t < terms; t++) {
        const char *sep = t ? " UNION ALL " : "";
        if (with_user && t == 0)
            len += (size_t)snprintf(sql + len, cap - len, "%s%suser_id = ?4 AND id > ?1 AND id <= ?2", sep,
                                    leg_cols);
        else
            len += (size_t)snprintf(sql + len, cap - len,
                                    "%s%sroom_id = ?%zu AND user_id IS NULL AND id > ?1 AND id <= ?2", sep, leg_cols,
                                    5 + t - (with_user ? 1 : 0));
    }
    snprintf(sql + len, cap - len, " ORDER BY id LIMIT ?3");
    return sql;
}

static void free_events(hv_event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hv_event_unref(evs[i]);
    free(evs);
}

/* Reads one chunk's page: user (or NULL) and nrooms rooms, ids in
 * (after, high], at most limit, in id order. 0 or -1. */
static int read_chunk(sqlite3 *db, uint64_t after, uint64_t high, size_t limit, const char *user,
                      const char *const *rooms, size_t nrooms, hv_event ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char *sql = hv_sqlite_audience_sql(user != NULL, nrooms);
    sqlite3_stmt *s = NULL;
    if (!sql || sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        free(sql);
        return -1;
    }
    free(sql);
    bind_u64(s, 1, after);
    bind_u64(s, 2, high);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
    if (user)
        sqlite3_bind_text(s, 4, user, -1, SQLITE_STATIC);
    for (size_t i = 0; i < nrooms; i++)
        sqlite3_bind_text(s, (int)(5 + i), rooms[i], -1, SQLITE_STATIC);
    size_t cap = limit < 64 ? limit : 64, len = 0;
    hv_event **evs = hv_xmalloc(cap * sizeof(*evs));
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap)
            evs = hv_xrealloc(evs, (cap *= 2) * sizeof(*evs));
        evs[len++] = hv_sqlite_row_event(s, 0);
    }
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        free_events(evs, len);
        return -1;
    }
    *out = evs;
    *n = len;
    return 0;
}

/* Merges the id-ordered b (nb, consumed) into *a (*na), keeping the first
 * limit. */
static void merge(hv_event ***a, size_t *na, hv_event **b, size_t nb, size_t limit)
{
    size_t total = *na + nb, keep = total < limit ? total : limit, i = 0, j = 0, k = 0;
    hv_event **m = keep ? hv_xmalloc(keep * sizeof(*m)) : NULL;
    while (k < keep)
        m[k++] = j == nb || (i < *na && (*a)[i]->id < b[j]->id) ? (*a)[i++] : b[j++];
    while (i < *na)
        hv_event_unref((*a)[i++]);
    while (j < nb)
        hv_event_unref(b[j++]);
    free(*a);
    free(b);
    *a = m;
    *na = keep;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The page: the chunks of TERMS_MAX terms, merged. A full page narrows the
 * ids the next chunks need to read (below its last). */
static int audience(sqlite3 *db, uint64_t after, uint64_t high, size_t limit, const char *user,
                    const char **rooms, size_t nrooms, hv_event ***out, size_t *n)
{
    size_t done = 0;
    int first = 1;
    while (first || done < nrooms) {
        size_t take = nrooms - done;
        size_t room_max = TERMS_MAX - (first && user ? 1 : 0);
        if (take > room_max)
            take = room_max;
        hv_event **evs;
        size_t got;
        if (read_chunk(db, after, high, limit, first ? user : NULL, rooms + done, take, &evs, &got) != 0) {
            free_events(*out, *n);
            *out = NULL;
            *n = 0;
            return -1;
        }
        merge(out, n, evs, got, limit);
        if (*n == limit && limit > 0)
            high = (*out)[*n - 1]->id - 1;
        done += take;
        first = 0;
    }
    return 0;
}

int hv_sqlite_audience(hv_store *base, uint64_t after_id, size_t limit, const char *user_id,
                       const char *const *rooms, size_t nrooms, hv_event ***out, size_t *n)
{
    hv_sqlite *st = hv_sqlite_of(base);
    *out = NULL;
    *n = 0;
    uint64_t high = hv_store_last_id(base);
    if (limit == 0 || after_id >= high || (!user_id && nrooms == 0))
        return 0;
    /* the rooms sorted and deduped: a room named twice is one term */
    const char **uniq = hv_xmalloc(nrooms * sizeof(*uniq));
    size_t nu = 0;
    if (nrooms)
        memcpy(uniq, rooms, nrooms * sizeof(*uniq));
    qsort(uniq, nrooms, sizeof(*uniq), cmp_str);
    for (size_t i = 0; i < nrooms; i++)
        if (nu == 0 || strcmp(uniq[nu - 1], uniq[i]) != 0)
            uniq[nu++] = uniq[i];
    hv_reader *r = hv_sqlite_reader_acquire(st);
    int rc = audience(r->db, after_id, high, limit, user_id, uniq, nu, out, n);
    if (rc != 0)
        hv_error("store: audience query failed: %s", sqlite3_errmsg(r->db));
    hv_sqlite_reader_release(st, r);
    free(uniq);
    return rc;
}

/* The seeds' replay: a range of index events_created (user_id, created_key,
 * then the rowid, which is the id), so the cost is that of the page read,
 * not of the user's events before it or of the log. */
static const char created_sql[] =
    "SELECT id, time_ms, type, room_id, user_id, data, created_key FROM events"
    " WHERE user_id = ?1 AND created_key IS NOT NULL AND (created_key, id) > (?2, ?3)"
    " AND id >= ?4 AND id <= ?5"
    " ORDER BY created_key, id LIMIT ?6";

int hv_sqlite_by_created(hv_store *base, const hv_created_query *q, hv_event ***out, size_t *n)
{
    hv_sqlite *st = hv_sqlite_of(base);
    uint64_t first = atomic_load(&st->first_id), high = atomic_load(&st->last_id);
    if (q->max_id < high)
        high = q->max_id;
    if (first == 0 || high < first)
        return 0;
    hv_reader *r = hv_sqlite_reader_acquire(st);
    sqlite3_stmt *s = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(r->db, created_sql, -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, q->user_id, -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 2, q->after_key);
        bind_u64(s, 3, q->after_id);
        bind_u64(s, 4, first);
        bind_u64(s, 5, high);
        sqlite3_bind_int64(s, 6, (sqlite3_int64)q->limit);
        size_t cap = 64;
        hv_event **evs = hv_xmalloc(cap * sizeof(*evs));
        int step;
        while ((step = sqlite3_step(s)) == SQLITE_ROW) {
            if (*n == cap)
                evs = hv_xrealloc(evs, (cap *= 2) * sizeof(*evs));
            hv_event *ev = hv_sqlite_row_event(s, 0);
            ev->created_key = sqlite3_column_double(s, 6);
            ev->created_set = HV_CREATED_KEY;
            evs[(*n)++] = ev;
        }
        rc = step == SQLITE_DONE ? 0 : -1;
        *out = evs;
    }
    if (rc != 0) {
        hv_error("store: replay by created_at failed: %s", sqlite3_errmsg(r->db));
        for (size_t i = 0; i < *n; i++)
            hv_event_unref((*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    sqlite3_finalize(s);
    hv_sqlite_reader_release(st, r);
    return rc;
}
