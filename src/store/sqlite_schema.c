/* SPDX-License-Identifier: MIT */
/* sqlite_schema.c — the SQLite store's schema: the list of migrations
 * and hv_sqlite_schema_migrate, which brings a database of any older
 * version (PRAGMA user_version) up to this herald's. Kept apart from
 * sqlite.c so the history of the schema reads in one place.
 */
#include <stdio.h>

#include "store/sqlite_internal.h"

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
    /* 3: the webhook outbox (a row per event and endpoint owed a delivery;
     * status 0 pending, 1 delivered, 2 failed) and every delivery attempt. */
    "CREATE TABLE outbox(id INTEGER PRIMARY KEY, endpoint_id TEXT NOT NULL,"
    "  event_id INTEGER NOT NULL, status INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE INDEX outbox_pending ON outbox(id) WHERE status = 0;"
    "CREATE INDEX outbox_pending_event ON outbox(event_id) WHERE status = 0;"
    "CREATE INDEX outbox_endpoint ON outbox(endpoint_id, id);"
    "CREATE TABLE attempts(id INTEGER PRIMARY KEY, outbox_id INTEGER NOT NULL,"
    "  endpoint_id TEXT NOT NULL, event_id INTEGER NOT NULL, time_ms INTEGER NOT NULL,"
    "  status_code INTEGER, latency_ms INTEGER, error TEXT, response TEXT,"
    "  state INTEGER NOT NULL);"
    "CREATE INDEX attempts_endpoint ON attempts(endpoint_id, id);",
    /* 4: the seeds' access events ordered by their own created_at
     * (core/created_at.h: a number as itself, an ISO 8601 time as ms since
     * the epoch), indexed per user so a replay "created after t" is an
     * index range. Events stored before this version get their key from
     * their data the same way (an unreadable or null one: storage time). */
    "ALTER TABLE events ADD COLUMN created_key REAL;"
    "UPDATE events SET created_key = COALESCE(CASE json_type(data, '$.created_at')"
    "    WHEN 'integer' THEN json_extract(data, '$.created_at')"
    "    WHEN 'real' THEN json_extract(data, '$.created_at')"
    "    WHEN 'text' THEN round((julianday(json_extract(data, '$.created_at')) - 2440587.5) * 86400000.0)"
    "  END, time_ms)"
    "  WHERE type = 'access.event' AND user_id IS NOT NULL AND json_valid(data);"
    "CREATE INDEX events_created ON events(user_id, created_key) WHERE created_key IS NOT NULL;",
    /* 5: a peer's channel is "peer:<peer id>" (HV_PEER_CHANNEL_PREFIX,
     * auth/jwt.h), no longer its bare id, which a user token's sub could
     * equal (issue 13). An event stored addressed to the bare id of a peer
     * herald announced (peer.added) or still holds is readdressed, so the
     * peer still resumes it and a user token cannot read it. */
    "UPDATE events SET user_id = 'peer:' || user_id WHERE user_id IN ("
    "  SELECT json_extract(data, '$.peer_id') FROM events WHERE type = 'peer.added' AND json_valid(data)"
    "  UNION SELECT key FROM kv WHERE ns = 'peer');",
    /* 6: the rooms' own events (addressed to no user) by room and id, so
     * that a page of a resume reads one index range per room, bounded by
     * the page (store/sqlite_audience.c; issue 13). events_room_id also holds the
     * room events addressed to users, which a room's audience skips. */
    "CREATE INDEX events_room_audience ON events(room_id, id) WHERE user_id IS NULL AND room_id IS NOT NULL;",
    /* 7: idempotency keys of publishes (store/sqlite_idem.c, issue 18):
     * the hash of what was published under the key and the ids it got. */
    "CREATE TABLE idempotency(key TEXT PRIMARY KEY, hash TEXT NOT NULL, ids TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX idempotency_time ON idempotency(time_ms);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Applies every migration above the database's user_version, each in its
 * own transaction together with the version bump. */
int hv_sqlite_schema_migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_int64 version;
    if (hv_sqlite_query_int64(db, "PRAGMA user_version", &version) != 0) {
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
