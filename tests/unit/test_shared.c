/* SPDX-License-Identifier: MIT */
/* test_shared.c — unit tests of what nodes sharing one store share
 * (store/shared.h): the change feed and the presence conditions a commit
 * carries.
 *
 * Against the Redis engine (run_with_redis.sh, store_engine.h) each test
 * opens two stores on one key prefix as nodes "a" and "b" and checks: a
 * shared namespace's changes reach the feed in commit order with their
 * node and the commit's last event id, an unshared one's do not; a new
 * store follows the feed from where it stood at open; each condition
 * (connect, leave, leave node, drop) keeps or drops its event as the
 * sessions stand, a dropped event gets id 0 and no outbox row and leaves
 * no gap in the ids, the sessions move between the nodes' presence sets
 * and the feed tells each move; a node that commits before it followed
 * the other's commits still serves them in its history. With SQLite (one node) nothing is shared:
 * no feed, and conditions are ignored (every event is kept).
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "store/outbox.h"
#include "store/shared.h"
#include "store/store.h"
#include "store_engine.h"

typedef struct fixture {
    char tmp[64];
    char dir[128];
    te te;
    hv_store *a, *b;
} fixture;

static hv_store *open_node(fixture *f, const char *name)
{
    hv_store_options opt = te_options(&f->te, f->dir, 0);
    opt.node_id = name;
    hv_store *st = te_open(&opt);
    hv_store_kv_share(st, "room");
    return st;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->tmp, sizeof(f->tmp), "/tmp/herald-shared-XXXXXX");
    if (!mkdtemp(f->tmp))
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/data", f->tmp);
    te_init(&f->te, f->dir);
    f->a = open_node(f, "a");
    if (f->te.redis)
        f->b = open_node(f, "b");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hv_store_close(f->a);
    hv_store_close(f->b);
    te_cleanup(&f->te);
    te_rmtree(f->tmp);
    free(f);
    return 0;
}

/* The feed after position `after`, one "seq ns key value node event" line
 * per entry ("-" for a deleted value). */
typedef struct text {
    char buf[2048];
    size_t len;
} text;

static void add_line(void *arg, const hv_kv_entry *e)
{
    text *t = arg;
    t->len += (size_t)snprintf(t->buf + t->len, sizeof(t->buf) - t->len, "%llu %s %s %s %s %llu\n",
                               (unsigned long long)e->seq, e->ns, e->key, e->value ? e->value : "-",
                               e->node, (unsigned long long)e->event_id);
}

static const char *feed_after(hv_store *st, uint64_t after, text *t)
{
    t->len = 0;
    t->buf[0] = '\0';
    hv_store_feed *f = hv_store_feed_open(st);
    assert_non_null(f);
    char err[128];
    assert_true(hv_store_feed_read(f, after, 100, 0, add_line, t, err, sizeof(err)) >= 0);
    hv_store_feed_close(f);
    return t->buf;
}

static uint64_t feed_pos(hv_store *st)
{
    uint64_t pos = 99;
    assert_int_equal(hv_store_feed_position(st, &pos), 0);
    return pos;
}

/* Commits one event "peer.x" with one condition; returns its id (0: dropped). */
static uint64_t commit_op(hv_store *st, int op, const char *peer, const char *value)
{
    hv_event *ev = hv_event_new("peer.x", "r1", NULL, "{}", 2);
    hv_presence_op p = {op, peer, value, 0};
    hv_commit c = {.evs = &ev, .n = 1, .presence = &p, .npresence = 1};
    assert_int_equal(hv_store_commit(st, &c), 0);
    uint64_t id = ev->id;
    hv_event_unref(ev);
    return id;
}

static const char *on_node(hv_store *st, const char *node, char *buf, size_t len)
{
    char **ids = NULL;
    size_t n = 0, off = 0;
    assert_int_equal(hv_store_presence_list(st, node, &ids, &n), 0);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "", ids[i]);
        free(ids[i]);
    }
    free(ids);
    return buf;
}

static void test_feed(void **state)
{
    fixture *f = *state;
    if (!f->te.redis) {
        assert_false(hv_store_shared(f->a));
        assert_null(hv_store_feed_open(f->a));
        skip();
    }
    assert_true(hv_store_shared(f->a));
    uint64_t start = feed_pos(f->a);
    assert_int_equal(start, hv_store_feed_start(f->a));
    hv_event *ev = hv_event_new("room.created", "r1", NULL, "{}", 2);
    hv_kv_change kv[] = {{"room", "r1", "{\"id\":\"r1\"}"}, {"sink", "s1", "42"}};
    assert_int_equal(hv_store_append_kv(f->a, &ev, 1, kv, 2), 0);
    char want[256];
    snprintf(want, sizeof(want), "%llu room r1 {\"id\":\"r1\"} a %llu\n",
             (unsigned long long)start + 1, (unsigned long long)ev->id);
    hv_event_unref(ev);
    text t;
    assert_string_equal(feed_after(f->b, start, &t), want); /* the sink position is not shared */
    hv_kv_change del = {"room", "r1", NULL};
    assert_int_equal(hv_store_append_kv(f->b, NULL, 0, &del, 1), 0);
    assert_int_equal(feed_pos(f->a), start + 2);
    assert_string_equal(strchr(feed_after(f->a, start + 1, &t), ' '), " room r1 - b 1\n");
    /* A store opened now follows from here. */
    hv_store *c = open_node(f, "c");
    assert_int_equal(hv_store_feed_start(c), start + 2);
    hv_store_close(c);
}

static void test_presence(void **state)
{
    fixture *f = *state;
    if (!f->te.redis) { /* one node: the registry decides, the store ignores conditions */
        assert_int_equal(commit_op(f->a, HV_PRESENCE_CONNECT, "p1", "a/1"), 1);
        assert_int_equal(commit_op(f->a, HV_PRESENCE_CONNECT, "p1", "a/2"), 2);
        skip();
    }
    char buf[128];
    uint64_t start = feed_pos(f->a);
    assert_int_equal(commit_op(f->a, HV_PRESENCE_CONNECT, "p1", "a/1"), 1);
    assert_string_equal(on_node(f->a, "a", buf, sizeof(buf)), "p1");
    /* b takes the session: no second connected */
    assert_int_equal(commit_op(f->b, HV_PRESENCE_CONNECT, "p1", "b/7"), 0);
    assert_string_equal(on_node(f->a, "a", buf, sizeof(buf)), "");
    assert_string_equal(on_node(f->a, "b", buf, sizeof(buf)), "p1");
    /* a's socket closing after the move announces nothing */
    assert_int_equal(commit_op(f->a, HV_PRESENCE_LEAVE, "p1", "a/1"), 0);
    assert_int_equal(commit_op(f->b, HV_PRESENCE_LEAVE, "p1", "b/7"), 2); /* no gap */
    assert_string_equal(on_node(f->a, "b", buf, sizeof(buf)), "");
    text t;
    char want[256];
    snprintf(want, sizeof(want),
             "%llu presence p1 a/1 a 1\n%llu presence p1 b/7 b 1\n%llu presence p1 - b 2\n",
             (unsigned long long)start + 1, (unsigned long long)start + 2,
             (unsigned long long)start + 3);
    assert_string_equal(feed_after(f->a, start, &t), want);
    /* leave node: once */
    assert_int_equal(commit_op(f->a, HV_PRESENCE_CONNECT, "p2", "a/3"), 3);
    assert_int_equal(commit_op(f->b, HV_PRESENCE_LEAVE_NODE, "p2", "a"), 4);
    assert_int_equal(commit_op(f->b, HV_PRESENCE_LEAVE_NODE, "p2", "a"), 0);
    /* drop: only a session there was */
    assert_int_equal(commit_op(f->a, HV_PRESENCE_DROP, "p3", NULL), 0);
    assert_int_equal(commit_op(f->a, HV_PRESENCE_CONNECT, "p3", "a/4"), 5);
    assert_int_equal(commit_op(f->b, HV_PRESENCE_DROP, "p3", NULL), 6);
    assert_string_equal(on_node(f->a, "a", buf, sizeof(buf)), "");
    assert_int_equal(hv_store_last_id(f->a) >= 5, 1);
}

/* A dropped event gets no outbox row; the kept ones keep theirs. */
static void test_dropped_rows(void **state)
{
    fixture *f = *state;
    if (!f->te.redis)
        skip();
    hv_event *evs[3] = {hv_event_new("peer.connected", "r1", NULL, "{}", 2),
                        hv_event_new("peer.connected", "r1", NULL, "{}", 2),
                        hv_event_new("chat.message", "r1", NULL, "{}", 2)};
    hv_presence_op ops[2] = {{HV_PRESENCE_CONNECT, "p1", "a/1", 0},
                             {HV_PRESENCE_CONNECT, "p1", "a/2", 1}};
    hv_outbox_new rows[3] = {{"ep1", 0, 1, 0}, {"ep1", 1, 1, 0}, {"ep1", 2, 1, 0}};
    hv_commit c = {evs, 3, NULL, 0, rows, 3, ops, 2, NULL, 0};
    assert_int_equal(hv_store_commit(f->a, &c), 0);
    assert_int_equal(evs[0]->id, 1);
    assert_int_equal(evs[1]->id, 0);
    assert_int_equal(evs[2]->id, 2);
    assert_true(rows[0].id != 0);
    assert_int_equal(rows[1].id, 0);
    assert_true(rows[2].id != 0);
    assert_int_equal(hv_outbox_pending_count(f->a, "ep1"), 2);
    for (int i = 0; i < 3; i++)
        hv_event_unref(evs[i]);
}

/* A malformed condition fails the commit, storing nothing. */
static void test_bad_condition(void **state)
{
    fixture *f = *state;
    if (!f->te.redis)
        skip();
    hv_event *ev = hv_event_new("peer.x", "r1", NULL, "{}", 2);
    hv_presence_op p = {HV_PRESENCE_LEAVE, "p1", NULL, 0};
    hv_commit c = {.evs = &ev, .n = 1, .presence = &p, .npresence = 1};
    assert_int_equal(hv_store_commit(f->a, &c), -1);
    assert_int_equal(ev->id, 0);
    assert_int_equal(hv_store_last_id(f->a), 0);
    hv_event_unref(ev);
}

/* A node whose view of the log is empty (it opened before anything was
 * stored and has not followed the other node's commits: no follower runs
 * here, as when a node's follower backs off after an outage) commits: its
 * history then starts at the oldest event of the shared log, not at its
 * own first, so a resume on it misses none of the other node's events. */
static void test_first_commit_sees_older_events(void **state)
{
    fixture *f = *state;
    if (!f->te.redis)
        skip();
    assert_int_equal(hv_store_first_id(f->a), 0);
    for (uint64_t id = 1; id <= 4; id++) {
        hv_event *ev = hv_event_new("room.created", "r1", NULL, "{}", 2);
        assert_int_equal(hv_store_append(id < 4 ? f->b : f->a, &ev, 1), 0);
        assert_int_equal(ev->id, id);
        hv_event_unref(ev);
        if (id == 3)
            assert_int_equal(hv_store_first_id(f->a), 0); /* a has not seen them */
    }
    assert_int_equal(hv_store_first_id(f->a), 1);
    hv_event **evs = NULL;
    size_t n = 0;
    assert_int_equal(hv_store_history(f->a, &(hv_history_query){.limit = 10}, &evs, &n), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(evs[i]->id, i + 1);
        hv_event_unref(evs[i]);
    }
    free(evs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_condition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_commit_sees_older_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
