/* SPDX-License-Identifier: MIT */
/* test_nodes.c — unit tests of the nodes sharing one store: who owns a
 * webhook delivery row, heartbeats, and the takeover of a dead node
 * (store.h hv_store_node_beat / _leave; outbox.h).
 *
 * Against the Redis engine (run_with_redis.sh, store_engine.h) each test
 * opens two stores on one key prefix as two nodes, "a" and "b", with a
 * node timeout of 300 ms, and checks what each node's delivery engine
 * connection (hv_outbox) is given: the rows a node's commits create are
 * that node's alone; a node that stops beating is taken over by exactly
 * one other node, which then loads its rows, while the dead node's late
 * attempts are refused (lost) and not stored; silence of every node (Redis
 * away) kills nobody; a node whose peers' sessions nobody ended is named
 * again by later beats; a clean leave is taken over
 * at the next beat; a manual retry moves a row to the node asked; what
 * hv_store_nodes reads (GET /v1/nodes) is what the beats recorded. With
 * SQLite (one node) the beat is a no-op and the multi-node tests skip.
 *
 * Time is played out, not waited for: every beat is given its time
 * (hv_store_node_beat_at) from the fixture's clock, which a test moves
 * forward, so what a beat decides does not depend on how fast this
 * machine runs the test.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/event.h"
#include "store/outbox.h"
#include "store/store.h"
#include "store_engine.h"

#define TIMEOUT_MS 300

typedef struct fixture {
    char tmp[64];
    char dir[128];
    te te;
    hv_store *a, *b;
    hv_outbox *oa, *ob;
    int64_t now; /* the time the next beat is given (ms) */
} fixture;

static hv_store *open_node(fixture *f, const char *name)
{
    hv_store_options opt = te_options(&f->te, f->dir, 0);
    opt.node_id = name;
    opt.node_timeout_ms = TIMEOUT_MS;
    return te_open(&opt);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->tmp, sizeof(f->tmp), "/tmp/herald-nodes-XXXXXX");
    if (!mkdtemp(f->tmp))
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/data", f->tmp);
    te_init(&f->te, f->dir);
    f->now = hv_now_ms();
    f->a = open_node(f, "a");
    f->oa = te_open_outbox(f->a);
    if (f->te.redis) { /* a second node needs a shared store */
        f->b = open_node(f, "b");
        f->ob = te_open_outbox(f->b);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hv_outbox_close(f->oa);
    hv_store_close(f->a);
    if (f->b) {
        hv_outbox_close(f->ob);
        hv_store_close(f->b);
    }
    te_cleanup(&f->te);
    te_rmtree(f->tmp);
    free(f);
    return 0;
}


/* Commits n events on st, each with a row for endpoint "ep1"; row ids
 * into rows. */
static void commit_rows(hv_store *st, size_t n, uint64_t *rows)
{
    hv_event *evs[8];
    hv_outbox_new nr[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        evs[i] = hv_event_new("room.created", "r1", NULL, "{}", 2);
        nr[i] = (hv_outbox_new){.endpoint_id = "ep1", .event_index = i, .next_at_ms = 1};
    }
    hv_commit c = {.evs = evs, .n = n, .outbox = nr, .noutbox = n};
    assert_int_equal(hv_store_commit(st, &c), 0);
    for (size_t i = 0; i < n; i++) {
        rows[i] = nr[i].id;
        hv_event_unref(evs[i]);
    }
}

/* The ids of the pending rows ob is given, as "1,2,3". */
static const char *loaded(hv_outbox *ob, char *buf, size_t len)
{
    hv_outbox_item *items = NULL;
    size_t n = 0, off = 0;
    assert_int_equal(hv_outbox_load_pending(ob, 0, 100, &items, &n), 0);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        off += (size_t)snprintf(buf + off, len - off, "%s%llu", i ? "," : "",
                                (unsigned long long)items[i].id);
        hv_event_unref(items[i].event);
    }
    free(items);
    return buf;
}

/* Beats st at f->now; the names of the nodes it took over as "x(rows),…". */
static const char *beat(fixture *f, hv_store *st, char *buf, size_t len)
{
    hv_node_death *dead = NULL;
    size_t n = 0, off = 0;
    assert_int_equal(hv_store_node_beat_at(st, f->now, &dead, &n), 0);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s(%ld)", i ? "," : "", dead[i].node,
                                dead[i].rows);
    free(dead);
    return buf;
}

/* st beats every 50 ms for ms (as its heartbeat thread does), the others
 * silent; the nodes it took over meanwhile, as beat() says them. */
static const char *keep_beating(fixture *f, hv_store *st, long ms, char *out, size_t len)
{
    char buf[256];
    out[0] = '\0';
    for (long t = 0; t < ms; t += 50) {
        if (*beat(f, st, buf, sizeof(buf))) {
            size_t used = strlen(out);
            int n = snprintf(out + used, len - used, "%s%s", *out ? "," : "", buf);
            assert_true(n >= 0 && (size_t)n < len - used); /* the list fits */
        }
        f->now += 50;
    }
    return out;
}

static hv_attempt delivered(uint64_t row)
{
    return (hv_attempt){.outbox_id = row, .endpoint_id = "ep1", .event_id = 1, .time_ms = 5,
                        .http_status = 200, .status = HV_OUTBOX_DELIVERED, .attempts = 1};
}

static void test_one_node_beat_is_quiet(void **state)
{
    fixture *f = *state;
    char buf[256];
    assert_string_equal(beat(f, f->a, buf, sizeof(buf)), "");
    hv_store_node_leave(f->a);
    assert_string_equal(beat(f, f->a, buf, sizeof(buf)), "");
}

static void test_rows_are_the_committing_nodes(void **state)
{
    fixture *f = *state;
    if (!f->b)
        skip();
    char buf[256];
    uint64_t ra[3], rb[2];
    commit_rows(f->a, 3, ra);
    commit_rows(f->b, 2, rb);
    char want[64];
    snprintf(want, sizeof(want), "%llu,%llu,%llu", (unsigned long long)ra[0],
             (unsigned long long)ra[1], (unsigned long long)ra[2]);
    assert_string_equal(loaded(f->oa, buf, sizeof(buf)), want);
    snprintf(want, sizeof(want), "%llu,%llu", (unsigned long long)rb[0], (unsigned long long)rb[1]);
    assert_string_equal(loaded(f->ob, buf, sizeof(buf)), want);
    /* both alive: nobody is taken over */
    assert_string_equal(beat(f, f->a, buf, sizeof(buf)), "");
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), "");
    assert_string_equal(beat(f, f->a, buf, sizeof(buf)), "");
}

static void test_dead_node_taken_over_once(void **state)
{
    fixture *f = *state;
    if (!f->b)
        skip();
    char buf[256];
    uint64_t ra[3];
    commit_rows(f->a, 3, ra);
    beat(f, f->a, buf, sizeof(buf));
    beat(f, f->b, buf, sizeof(buf));
    /* a delivers its first row, then stops beating */
    hv_attempt ok = delivered(ra[0]);
    assert_int_equal(hv_outbox_record(f->oa, &ok, 1), 0);
    assert_int_equal(ok.lost, 0);
    assert_string_equal(keep_beating(f, f->b, TIMEOUT_MS + 100, buf, sizeof(buf)), "a(2)");
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), ""); /* once */
    char want[64];
    snprintf(want, sizeof(want), "%llu,%llu", (unsigned long long)ra[1], (unsigned long long)ra[2]);
    assert_string_equal(loaded(f->ob, buf, sizeof(buf)), want);
    assert_string_equal(loaded(f->oa, buf, sizeof(buf)), "");
    /* a wakes up late: its attempt on a row b holds is refused, not stored */
    long long before = te_attempt_rows(&f->te);
    hv_attempt late = delivered(ra[1]);
    assert_int_equal(hv_outbox_record(f->oa, &late, 1), 0);
    assert_int_equal(late.lost, 1);
    assert_int_equal(te_attempt_rows(&f->te), before);
    assert_int_equal(te_outbox_field(&f->te, (unsigned)ra[1], "status"), HV_OUTBOX_PENDING);
    /* b's attempt is stored and finishes the row */
    hv_attempt mine = delivered(ra[1]);
    assert_int_equal(hv_outbox_record(f->ob, &mine, 1), 0);
    assert_int_equal(mine.lost, 0);
    assert_int_equal(te_attempt_rows(&f->te), before + 1);
    assert_int_equal(te_outbox_field(&f->te, (unsigned)ra[1], "status"), HV_OUTBOX_DELIVERED);
    snprintf(want, sizeof(want), "%llu", (unsigned long long)ra[2]);
    assert_string_equal(loaded(f->ob, buf, sizeof(buf)), want);
}

/* Nobody could beat (Redis was away): silence is nobody's death. */
static void test_outage_is_not_death(void **state)
{
    fixture *f = *state;
    if (!f->b)
        skip();
    char buf[256];
    uint64_t ra[1];
    commit_rows(f->a, 1, ra);
    beat(f, f->a, buf, sizeof(buf));
    beat(f, f->b, buf, sizeof(buf));
    f->now += TIMEOUT_MS + 100; /* neither beats */
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), "");
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), "");
    char want[32];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)ra[0]);
    assert_string_equal(loaded(f->oa, buf, sizeof(buf)), want);
    /* a stays silent while b beats: now it is dead */
    assert_string_equal(keep_beating(f, f->b, TIMEOUT_MS + 100, buf, sizeof(buf)), "a(1)");
    assert_string_equal(loaded(f->ob, buf, sizeof(buf)), want);
}

/* A node that left cleanly just before such a pause is still taken at
 * the first beat after it. */
static void test_leave_before_outage_taken_at_once(void **state)
{
    fixture *f = *state;
    if (!f->b)
        skip();
    char buf[256];
    uint64_t ra[1];
    commit_rows(f->a, 1, ra);
    beat(f, f->a, buf, sizeof(buf));
    beat(f, f->b, buf, sizeof(buf));
    hv_store_node_leave(f->a);
    f->now += TIMEOUT_MS + 100; /* nobody beats */
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), "a(1)");
    char want[32];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)ra[0]);
    assert_string_equal(loaded(f->ob, buf, sizeof(buf)), want);
}

/* The survivor that took a node over died before ending its peers'
 * sessions: later beats name that node again (rows -1) until they end. */
static void test_left_over_sessions_named_again(void **state)
{
    fixture *f = *state;
    if (!f->b)
        skip();
    char buf[256];
    freeReplyObject(te_cmd(&f->te, "SADD %Ppresence:a peer-1"));
    beat(f, f->a, buf, sizeof(buf));
    beat(f, f->b, buf, sizeof(buf));
    assert_string_equal(keep_beating(f, f->b, TIMEOUT_MS + 100, buf, sizeof(buf)), "a(0)");
    /* nobody ended peer-1's session: a timeout later, every beat names a */
    const char *seen = keep_beating(f, f->b, TIMEOUT_MS + 100, buf, sizeof(buf));
    assert_true(*seen != '\0');
    for (const char *p = seen; *p; p += strlen("a(-1)") + (p[strlen("a(-1)")] == ','))
        assert_memory_equal(p, "a(-1)", strlen("a(-1)"));
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), "a(-1)");
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), "a(-1)");
    freeReplyObject(te_cmd(&f->te, "SREM %Ppresence:a peer-1"));
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), "");
    assert_int_equal(te_cmd_int(&f->te, "ZCARD %Preaped", NULL), 0);
}

static void test_leave_is_taken_over_at_once(void **state)
{
    fixture *f = *state;
    if (!f->b)
        skip();
    char buf[256];
    uint64_t ra[2];
    commit_rows(f->a, 2, ra);
    beat(f, f->a, buf, sizeof(buf));
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), "");
    hv_store_node_leave(f->a);
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), "a(2)");
    char want[64];
    snprintf(want, sizeof(want), "%llu,%llu", (unsigned long long)ra[0], (unsigned long long)ra[1]);
    assert_string_equal(loaded(f->ob, buf, sizeof(buf)), want);
}

static void test_retry_moves_the_row(void **state)
{
    fixture *f = *state;
    if (!f->b)
        skip();
    char buf[256];
    uint64_t ra[1];
    commit_rows(f->a, 1, ra);
    /* pending on a (waiting for its next attempt); retried through b */
    assert_int_equal(hv_outbox_retry(f->ob, "ep1", ra[0], 77), 1);
    char want[32];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)ra[0]);
    assert_string_equal(loaded(f->ob, buf, sizeof(buf)), want);
    assert_string_equal(loaded(f->oa, buf, sizeof(buf)), "");
    hv_attempt late = delivered(ra[0]);
    assert_int_equal(hv_outbox_record(f->oa, &late, 1), 0);
    assert_int_equal(late.lost, 1);
    /* a finished row retried comes back to the node asked */
    hv_attempt mine = delivered(ra[0]);
    assert_int_equal(hv_outbox_record(f->ob, &mine, 1), 0);
    assert_int_equal(mine.lost, 0);
    assert_string_equal(loaded(f->ob, buf, sizeof(buf)), "");
    assert_int_equal(hv_outbox_retry(f->oa, "ep1", ra[0], 78), 1);
    assert_string_equal(loaded(f->oa, buf, sizeof(buf)), want);
    assert_string_equal(loaded(f->ob, buf, sizeof(buf)), "");
}

/* What hv_store_nodes reads (GET /v1/nodes): beats, webhook rows and
 * lease holders as recorded, the bound, a leave and a takeover. */
static const hv_node_info *find_node(const hv_nodes_view *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->nodes[i].node, name))
            return &v->nodes[i];
    return NULL;
}

static void test_nodes_view(void **state)
{
    fixture *f = *state;
    const char *leases[] = {"retention", "sink:x"};
    hv_nodes_view v;
    if (!f->b) { /* one node: nothing recorded, the caller describes itself */
        assert_int_equal(hv_store_nodes(f->a, leases, 2, 10, &v), 1);
        return;
    }
    char buf[256];
    uint64_t ra[2];
    commit_rows(f->a, 2, ra);
    beat(f, f->a, buf, sizeof(buf));
    f->now += 10;
    beat(f, f->b, buf, sizeof(buf));
    assert_int_equal(hv_store_lease(f->b, "retention", 60000), 1);
    assert_int_equal(hv_store_nodes(f->a, leases, 2, 10, &v), 0);
    assert_int_equal(v.n, 2);
    assert_false(v.truncated);
    assert_int_equal(v.timeout_ms, TIMEOUT_MS);
    assert_true(v.now_ms > 0);
    assert_string_equal(v.nodes[0].node, "b"); /* newest beat first */
    assert_int_equal(v.nodes[0].beat_ms, f->now);
    assert_int_equal(find_node(&v, "a")->beat_ms, f->now - 10);
    assert_int_equal(find_node(&v, "a")->webhook_rows, 2);
    assert_int_equal(find_node(&v, "b")->webhook_rows, 0);
    assert_int_equal(find_node(&v, "a")->reaped_ms, 0);
    assert_int_equal(v.nleases, 2);
    assert_string_equal(v.leases[0].name, "retention");
    assert_string_equal(v.leases[0].holder, "b");
    assert_string_equal(v.leases[1].holder, "");
    hv_nodes_view_free(&v);
    /* the bound: one node asked, two recorded */
    assert_int_equal(hv_store_nodes(f->a, leases, 2, 1, &v), 0);
    assert_int_equal(v.n, 1);
    assert_true(v.truncated);
    hv_nodes_view_free(&v);
    /* a leaves: its beat reads 0; b's next beat takes it over */
    hv_store_node_leave(f->a);
    assert_int_equal(hv_store_nodes(f->b, NULL, 0, 10, &v), 0);
    assert_int_equal(find_node(&v, "a")->beat_ms, 0);
    hv_nodes_view_free(&v);
    f->now += 10;
    assert_string_equal(beat(f, f->b, buf, sizeof(buf)), "a(2)");
    assert_int_equal(hv_store_nodes(f->b, NULL, 0, 10, &v), 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(find_node(&v, "a")->beat_ms, -1);
    assert_int_equal(find_node(&v, "a")->reaped_ms, f->now);
    assert_int_equal(find_node(&v, "a")->webhook_rows, 0);
    assert_int_equal(find_node(&v, "b")->webhook_rows, 2);
    hv_nodes_view_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_node_beat_is_quiet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_are_the_committing_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_node_taken_over_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_is_not_death, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_before_outage_taken_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_over_sessions_named_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_is_taken_over_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_moves_the_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nodes_view, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
