/* audience.c — the stored events an app client may read, for resume, the
 * id at a time, and the seeds' replay by created_at (the SQLite engine's,
 * engine.h).
 *
 * A client's audience is its user (events addressed to it) and its rooms
 * (room events addressed to no user). The rooms are passed as one JSON
 * array bound to a static statement (json_each), so one prepared query
 * serves any number of rooms. Runs on a reader connection, any thread.
 */
#include <jansson.h>
#include <stdlib.h>

#include "core/log.h"
#include "store/sqlite_internal.h"

static const char sql[] =
    "SELECT id, time_ms, type, room_id, user_id, data FROM events"
    " WHERE id > ?1 AND id <= ?2 AND ("
    "   (user_id IS NULL AND room_id IN (SELECT value FROM json_each(?3)))"
    "   OR (?4 IS NOT NULL AND user_id = ?4))"
    " ORDER BY id LIMIT ?5";

int hv_sqlite_audience(hv_store *base, uint64_t after_id, size_t limit, const char *user_id,
                       const char *const *rooms, size_t nrooms, hv_event ***out, size_t *n)
{
    hv_sqlite *st = hv_sqlite_of(base);
    *out = NULL;
    *n = 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < nrooms; i++)
        json_array_append_new(arr, json_string(rooms[i]));
    char *rooms_json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    hv_reader *r = hv_sqlite_reader_acquire(st);
    sqlite3_stmt *s = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(r->db, sql, -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, (sqlite3_int64)after_id);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)hv_store_last_id(base));
        sqlite3_bind_text(s, 3, rooms_json, -1, SQLITE_STATIC);
        if (user_id)
            sqlite3_bind_text(s, 4, user_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, (sqlite3_int64)limit);
        size_t cap = 64;
        hv_event **evs = malloc(cap * sizeof(*evs));
        int step;
        while ((step = sqlite3_step(s)) == SQLITE_ROW) {
            if (*n == cap)
                evs = realloc(evs, (cap *= 2) * sizeof(*evs));
            evs[(*n)++] = hv_sqlite_row_event(s, 0);
        }
        rc = step == SQLITE_DONE ? 0 : -1;
        *out = evs;
    }
    if (rc != 0)
        hv_error("store: audience query failed: %s", sqlite3_errmsg(r->db));
    sqlite3_finalize(s);
    hv_sqlite_reader_release(st, r);
    free(rooms_json);
    return rc;
}

uint64_t hv_sqlite_id_at_time(hv_store *base, int64_t time_ms)
{
    hv_sqlite *st = hv_sqlite_of(base);
    uint64_t id = 0;
    hv_reader *r = hv_sqlite_reader_acquire(st);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(r->db, "SELECT COALESCE(MAX(id), 0) FROM events WHERE time_ms <= ?1", -1, &s, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(s, 1, time_ms);
        if (sqlite3_step(s) == SQLITE_ROW)
            id = (uint64_t)sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    hv_sqlite_reader_release(st, r);
    return id;
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
        hv_event **evs = malloc(cap * sizeof(*evs));
        int step;
        while ((step = sqlite3_step(s)) == SQLITE_ROW) {
            if (*n == cap)
                evs = realloc(evs, (cap *= 2) * sizeof(*evs));
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
