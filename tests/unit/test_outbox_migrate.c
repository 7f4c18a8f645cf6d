/* SPDX-License-Identifier: MIT */
/* test_outbox_migrate.c — the SQLite schema's migrations: a version-2
 * database (before the outbox, version 3, and the seeds' created_at key,
 * version 4) opened by this herald is migrated, keeps its events and takes
 * outbox rows; a version-4 database (before peers' channels became
 * "peer:<peer id>", version 5) has its events addressed to a peer's bare
 * id readdressed, and its users' events kept; a version-5 one gets the
 * rooms' audience index (version 6) over the events it already holds.
 * Nothing like it in Redis: the tests skip there (run_with_redis.sh does
 * not run them).
 */
#include <sqlite3.h>

#include "outbox_fixture.h"

static void test_migrate_from_v2(void **state)
{
    fixture *f = *state;
    if (f->te.redis)
        skip(); /* the SQLite schema's migration: nothing like it in Redis */
    assert_int_equal(commit_n(f->st, 3, "e", NULL, NULL, NULL), 0);
    hv_store_close(f->st);
    f->st = NULL;
    /* a version 2 database: without what versions 3 (the outbox), 4 (the
     * seeds' created_key) and 6 (the rooms' audience index) added */
    sql_exec(f, "DROP TABLE idempotency; DROP TABLE outbox; DROP TABLE attempts; DROP INDEX events_created;"
                " DROP INDEX events_room_audience;"
                " ALTER TABLE events DROP COLUMN created_key; PRAGMA user_version = 2");
    f->st = open_store(f);
    assert_int_equal(sql_int(f, "PRAGMA user_version"), 7);
    assert_int_equal(hv_store_last_id(f->st), 3);
    assert_int_equal(hv_store_first_id(f->st), 1);
    assert_int_equal(commit_n(f->st, 2, "e", "ep", NULL, NULL), 0);
    assert_int_equal(hv_outbox_pending_count(f->st, NULL), 2);
}

/* Ids of the events of user_id's audience (no rooms), joined by commas. */
static void audience_ids(hv_store *st, const char *user_id, char *buf, size_t len)
{
    hv_event **evs = NULL;
    size_t n = 0;
    assert_int_equal(hv_store_audience(st, 0, 100, user_id, NULL, 0, &evs, &n), 0);
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%llu", i ? "," : "", (unsigned long long)evs[i]->id);
        hv_event_unref(evs[i]);
    }
    free(evs);
}

static void test_migrate_peer_channels_from_v4(void **state)
{
    fixture *f = *state;
    if (f->te.redis)
        skip();
    hv_store_close(f->st);
    f->st = NULL;
    /* a version 4 database: events 2 and 4 addressed to peers by their
     * bare ids (p1 announced by peer.added, p2 still held as a peer
     * record), event 3 to the user alice */
    sql_exec(f, "INSERT INTO events(id, time_ms, type, room_id, user_id, data) VALUES"
                " (1, 1, 'peer.added', 'r', NULL, '{\"room_id\":\"r\",\"peer_id\":\"p1\"}'),"
                " (2, 2, 'x.private', NULL, 'p1', '{}'),"
                " (3, 3, 'x.private', NULL, 'alice', '{}'),"
                " (4, 4, 'x.private', 'r', 'p2', '{}');"
                " INSERT INTO kv(ns, key, value) VALUES('peer', 'p2', '{}');"
                " DROP TABLE idempotency; DROP INDEX events_room_audience; PRAGMA user_version = 4");
    f->st = open_store(f);
    assert_int_equal(sql_int(f, "PRAGMA user_version"), 7);
    char ids[64];
    audience_ids(f->st, "peer:p1", ids, sizeof(ids));
    assert_string_equal(ids, "2");
    audience_ids(f->st, "peer:p2", ids, sizeof(ids));
    assert_string_equal(ids, "4");
    audience_ids(f->st, "p1", ids, sizeof(ids)); /* a user token with sub p1 */
    assert_string_equal(ids, "");
    audience_ids(f->st, "alice", ids, sizeof(ids));
    assert_string_equal(ids, "3");
    assert_int_equal(hv_store_last_id(f->st), 4);
}

/* Version 6 indexes the rooms' own events (store/sqlite_audience.c): a version-5
 * database's events are in the index once herald opened it, and a resume
 * reads them from it (room events to a user stay out of a room's term). */
static void test_migrate_audience_index_from_v5(void **state)
{
    fixture *f = *state;
    if (f->te.redis)
        skip();
    assert_int_equal(commit_n(f->st, 3, "e", NULL, NULL, NULL), 0); /* 1-3 in room1 */
    hv_store_close(f->st);
    f->st = NULL;
    sql_exec(f, "DROP TABLE idempotency; DROP INDEX events_room_audience; PRAGMA user_version = 5;"
                "INSERT INTO events(id, time_ms, type, room_id, user_id, data) VALUES"
                " (4, 1, 'e', 'room1', 'u1', '{}'), (5, 1, 'e', 'room1', NULL, '{}');"
                "UPDATE meta SET value = 5 WHERE key = 'last_id';");
    f->st = open_store(f);
    assert_int_equal(sql_int(f, "PRAGMA user_version"), 7);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events INDEXED BY events_room_audience"
                                " WHERE room_id = 'room1' AND user_id IS NULL"), 4);
    const char *rooms[] = {"room1"};
    hv_event **evs;
    size_t n;
    assert_int_equal(hv_store_audience(f->st, 1, 10, NULL, rooms, 1, &evs, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(evs[0]->id, 2);
    assert_int_equal(evs[1]->id, 3);
    assert_int_equal(evs[2]->id, 5);
    for (size_t i = 0; i < n; i++)
        hv_event_unref(evs[i]);
    free(evs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_from_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_peer_channels_from_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_audience_index_from_v5, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
