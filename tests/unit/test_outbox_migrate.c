/* test_outbox_migrate.c — the SQLite schema's migration under the webhook
 * outbox: a version-2 database (before the outbox, version 3, and the
 * seeds' created_at key, version 4) opened by this herald is migrated,
 * keeps its events and takes outbox rows. Nothing like it in Redis: the
 * test skips there (run_with_redis.sh does not run it).
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
    /* a version 2 database: without what versions 3 (the outbox) and 4
     * (the seeds' created_key) added */
    sql_exec(f, "DROP TABLE outbox; DROP TABLE attempts; DROP INDEX events_created;"
                " ALTER TABLE events DROP COLUMN created_key; PRAGMA user_version = 2");
    f->st = open_store(f);
    assert_int_equal(sql_int(f, "PRAGMA user_version"), 4);
    assert_int_equal(hv_store_last_id(f->st), 3);
    assert_int_equal(hv_store_first_id(f->st), 1);
    assert_int_equal(commit_n(f->st, 2, "e", "ep", NULL, NULL), 0);
    assert_int_equal(hv_outbox_pending_count(f->st, NULL), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_from_v2, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
