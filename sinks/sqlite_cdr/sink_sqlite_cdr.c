/* SPDX-License-Identifier: MIT */
/* sink_sqlite_cdr.c — the "sqlite-cdr" sink module: one row per event in
 * an SQLite database of the user's choosing, for call records (CDRs) and
 * other queries over the event history that outlive herald's retention.
 *
 * Config: {"path": "/var/lib/herald/cdr.db",   required; created when missing
 *          "table": "herald_events",          a plain identifier [A-Za-z_][A-Za-z0-9_]*
 *          "sync": "full",                    "full" (default) or "normal"
 *          "busy_timeout_ms": 5000}           wait this long for another writer's lock
 *
 * The table, created when missing:
 *
 *   event_id INTEGER PRIMARY KEY   herald's event id
 *   type TEXT, room_id TEXT, user_id TEXT (NULL when absent),
 *   time_ms INTEGER (ms since the epoch), time TEXT (ISO 8601 UTC),
 *   data TEXT (the event's data, JSON)
 *
 * with indexes <table>_room_time (room_id, time_ms) and <table>_type (type).
 *
 * A batch is one transaction (BEGIN IMMEDIATE … COMMIT) of INSERT OR
 * IGNORE rows. Since the key is herald's event id, a batch delivered again
 * (after a failure or a crash of herald) adds nothing it already added:
 * the table holds every event exactly once. The database is in WAL mode
 * with a busy timeout, so other processes can read it (and briefly write
 * it) while herald writes. With "sync": "full" a commit is on disk before
 * herald moves its position past the batch, even across a power cut;
 * "normal" is faster and safe against a crash of herald, not of the
 * machine. Any failure (a full disk, a lock held past the timeout, a
 * folder that does not exist yet) rolls the batch back and fails it, and
 * herald retries it; the database is opened again on the next try.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "herald/sink.h"

#define TABLE_MAX 64

typedef struct cdr_sink {
    const herald_sink_host *host;
    char *path;
    char table[TABLE_MAX + 1];
    int sync_full;
    int busy_ms;
    sqlite3 *db;            /* NULL until opened (again) */
    sqlite3_stmt *insert;
} cdr_sink;

/* ---- settings ---------------------------------------------------------- */

static int table_name_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > TABLE_MAX || (t[0] >= '0' && t[0] <= '9') || !strncasecmp(t, "sqlite_", 7))
        return 0;
    for (const char *p = t; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

static const char *unknown_key(json_t *c)
{
    static const char *const known[] = {"path", "table", "sync", "busy_timeout_ms", NULL};
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v) {
        int found = 0;
        for (size_t i = 0; known[i]; i++)
            found |= !strcmp(key, known[i]);
        if (!found)
            return key;
    }
    return NULL;
}

/* The reason the settings are bad, or NULL. */
static const char *check_config(json_t *c, char *buf, size_t len)
{
    const char *path = json_string_value(json_object_get(c, "path"));
    json_t *table = json_object_get(c, "table"), *sync = json_object_get(c, "sync");
    json_t *busy = json_object_get(c, "busy_timeout_ms");
    const char *unknown = json_is_object(c) ? unknown_key(c) : NULL;
    if (!json_is_object(c))
        return "config must be a JSON object";
    if (unknown) {
        snprintf(buf, len, "unknown setting \"%.64s\"", unknown);
        return buf;
    }
    if (!path || !*path)
        return "\"path\" (the database file) is required";
    if (table && (!json_is_string(table) || !table_name_ok(json_string_value(table)))) {
        snprintf(buf, len, "\"table\" must be a plain name of letters, digits and '_' (at most %d, "
                           "not starting with a digit or sqlite_)", TABLE_MAX);
        return buf;
    }
    if (sync && (!json_is_string(sync) || (strcmp(json_string_value(sync), "full") &&
                                           strcmp(json_string_value(sync), "normal"))))
        return "\"sync\" must be \"full\" or \"normal\"";
    if (busy && (!json_is_integer(busy) || json_integer_value(busy) < 0 || json_integer_value(busy) > 600000))
        return "\"busy_timeout_ms\" must be 0-600000";
    return NULL;
}

static int parse_config(cdr_sink *s, const char *config_json, char *err, size_t errlen)
{
    json_error_t je;
    json_t *c = json_loads(config_json, 0, &je);
    char buf[256];
    const char *bad = check_config(c, buf, sizeof(buf));
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        json_decref(c);
        return -1;
    }
    const char *table = json_string_value(json_object_get(c, "table"));
    const char *sync = json_string_value(json_object_get(c, "sync"));
    json_t *busy = json_object_get(c, "busy_timeout_ms");
    s->path = strdup(json_string_value(json_object_get(c, "path")));
    snprintf(s->table, sizeof(s->table), "%s", table ? table : "herald_events");
    s->sync_full = !sync || !strcmp(sync, "full");
    s->busy_ms = busy ? (int)json_integer_value(busy) : 5000;
    json_decref(c);
    return 0;
}

/* ---- the database ------------------------------------------------------ */

static void close_db(cdr_sink *s)
{
    sqlite3_finalize(s->insert);
    s->insert = NULL;
    sqlite3_close(s->db); /* NULL is fine */
    s->db = NULL;
}

/* "what: sqlite's message" into why. */
static void db_error(cdr_sink *s, const char *what, char *why, size_t wl)
{
    snprintf(why, wl, "%s %s (table %s): %s", what, s->path, s->table,
             s->db ? sqlite3_errmsg(s->db) : "out of memory");
}

static int exec(cdr_sink *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* WAL mode; a database on a file system without it still works (rollback
 * journal), with a warning. */
static void set_wal(cdr_sink *s)
{
    sqlite3_stmt *st = NULL;
    const char *mode = "";
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || strcmp(mode, "wal"))
        s->host->log(s->host, HERALD_SINK_LOG_WARN, "%s: WAL mode not available (journal mode %s)", s->path,
                     mode && *mode ? mode : "unknown");
    sqlite3_finalize(st);
}

static int create_table(cdr_sink *s)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS \"%s\" (event_id INTEGER PRIMARY KEY, type TEXT NOT NULL, "
             "room_id TEXT, user_id TEXT, time_ms INTEGER NOT NULL, time TEXT NOT NULL, data TEXT NOT NULL);"
             "CREATE INDEX IF NOT EXISTS \"%s_room_time\" ON \"%s\" (room_id, time_ms);"
             "CREATE INDEX IF NOT EXISTS \"%s_type\" ON \"%s\" (type);",
             s->table, s->table, s->table, s->table, s->table);
    return exec(s, sql);
}

/* Opens the database, sets it up and prepares the insert. 0, or -1 with
 * the reason in why (and the database closed again). */
static int open_db(cdr_sink *s, char *why, size_t wl)
{
    char sql[256];
    const char *step = "cannot open";
    int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(s->db, s->busy_ms);
        set_wal(s);
        step = "cannot set up";
        snprintf(sql, sizeof(sql), "PRAGMA synchronous=%s", s->sync_full ? "FULL" : "NORMAL");
        rc = exec(s, sql) == 0 && create_table(s) == 0 ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc == SQLITE_OK) {
        step = "cannot prepare the insert into";
        snprintf(sql, sizeof(sql),
                 "INSERT OR IGNORE INTO \"%s\" (event_id, type, room_id, user_id, time_ms, time, data) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)", s->table);
        rc = sqlite3_prepare_v2(s->db, sql, -1, &s->insert, NULL);
    }
    if (rc != SQLITE_OK) {
        db_error(s, step, why, wl);
        close_db(s);
        return -1;
    }
    return 0;
}

/* ---- one batch --------------------------------------------------------- */

/* 2026-11-22T10:00:00.123Z */
static void iso_time(int64_t ms, char *out, size_t len)
{
    int64_t secs = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char day[32];
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%03dZ", day, (int)rem);
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static int insert_event(cdr_sink *s, const herald_sink_event *e)
{
    char when[48];
    sqlite3_stmt *st = s->insert;
    iso_time(e->time_ms, when, sizeof(when));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)e->id);
    sqlite3_bind_text(st, 2, e->type, -1, SQLITE_STATIC);
    bind_opt(st, 3, e->room_id);
    bind_opt(st, 4, e->user_id);
    sqlite3_bind_int64(st, 5, e->time_ms);
    sqlite3_bind_text(st, 6, when, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, e->data, (int)e->data_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The whole batch in one transaction. 0, or -1 with why. */
static int write_batch(cdr_sink *s, const herald_sink_batch *b, char *why, size_t wl)
{
    if (exec(s, "BEGIN IMMEDIATE") != 0) {
        db_error(s, "cannot begin a transaction on", why, wl);
        return -1;
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->events[i].id > (uint64_t)INT64_MAX || b->events[i].data_len > 0x7fffffff ||
            insert_event(s, &b->events[i]) != 0) {
            db_error(s, "cannot insert into", why, wl);
            exec(s, "ROLLBACK");
            return -1;
        }
    if (exec(s, "COMMIT") != 0) {
        db_error(s, "cannot commit to", why, wl);
        exec(s, "ROLLBACK");
        return -1;
    }
    return 0;
}

/* ---- the module -------------------------------------------------------- */

static void cdr_destroy(void *instance)
{
    cdr_sink *s = instance;
    close_db(s);
    free(s->path);
    free(s);
}

static void *cdr_create(const herald_sink_host *host, const char *config_json, char *err, size_t errlen)
{
    cdr_sink *s = calloc(1, sizeof(*s));
    s->host = host;
    if (parse_config(s, config_json, err, errlen) != 0) {
        cdr_destroy(s);
        return NULL;
    }
    /* A database that cannot be opened yet fails batches, which herald
     * retries; only bad settings fail here. */
    char why[512];
    if (open_db(s, why, sizeof(why)) != 0)
        host->log(host, HERALD_SINK_LOG_WARN, "%s", why);
    else
        host->log(host, HERALD_SINK_LOG_INFO, "writing rows to table %s of %s", s->table, s->path);
    return s;
}

static void cdr_deliver(void *instance, const herald_sink_batch *batch)
{
    cdr_sink *s = instance;
    char why[512] = "";
    if ((s->db || open_db(s, why, sizeof(why)) == 0) && write_batch(s, batch, why, sizeof(why)) != 0)
        close_db(s); /* start afresh next time: the file may have been replaced or repaired */
    s->host->complete(s->host, batch, why[0] ? -1 : 0, why[0] ? why : NULL);
}

static const herald_sink_module cdr_module = {
    .struct_size = sizeof(herald_sink_module),
    .abi_version = HERALD_SINK_ABI_VERSION,
    .name = "sqlite-cdr",
    .description = "one row per event in an SQLite table (call records), exactly once",
    .create = cdr_create,
    .deliver = cdr_deliver,
    .destroy = cdr_destroy,
};

HERALD_SINK_EXPORT const herald_sink_module *herald_sink_entry(void)
{
    return &cdr_module;
}
