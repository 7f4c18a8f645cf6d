/* SPDX-License-Identifier: MIT */
/* test_channels.c — unit tests of resume (src/deliver/channels.c) on the
 * real pieces: a SQLite store in a mkdtemp directory, a loop (run by hand
 * on the test's thread, so nothing lands behind the test's back), and a
 * connection on one end of a socketpair, turned into an SSE stream the way
 * src/api/sse.c does (HTTP state detached, stream ops whose on_close
 * releases the subscriber).
 *
 * The replay of a resume is read on the libuv pool and lands on the loop,
 * page by page (500 events). The tests force the close branches instead of
 * racing them:
 *  - the client's end is closed while the connection does not read (as a
 *    loop that has not read the EOF yet), so the flush made when a page
 *    lands is the one that finds the peer gone and closes the connection,
 *    releasing the subscriber under replay_landed (heap-use-after-free
 *    before 3bb0b66), on a single page and on the first of several;
 *  - the server closes the connection while a read is still on the pool,
 *    held there by a job that occupies the pool's only thread
 *    (UV_THREADPOOL_SIZE=1), so the connection is freed before the read
 *    lands: before the first page, and between two pages.
 * A control resume to an open client checks that every event arrives.
 */
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec/event_frames.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/event.h"
#include "deliver/channels.h"
#include "deliver/loop_slot.h"
#include "net/conn.h"
#include "net/http.h"
#include "net/loop.h"
#include "net/server.h"
#include "store/store.h"

#define PAGE 500          /* REPLAY_PAGE of channels.c */
#define WAIT_MS 120000    /* a deadline for conditions that do come */

typedef struct fixture {
    char dir[64];
    hv_server srv;
    hv_loop *loop;
    hv_conn *conn;        /* until its on_close */
    hv_sub *sub;          /* until released by on_close */
    int client;           /* the client's end; -1 once closed */
    /* what the callbacks saw */
    int closes, eofs, dones, done_status;
    int jobs_at_close;
    uint64_t last_id_at_close;
    /* the job that holds the pool's thread */
    uv_work_t block;
    uv_sem_t gate;
    int blocked, opened;
    /* bytes the client read */
    char *got;
    size_t ngot, capgot;
} fixture;

/* ---- the stream's callbacks (cf. src/api/sse.c) ---- */

static void t_data(hv_conn *c, const char *data, size_t len)
{
    (void)c, (void)data, (void)len;
}

static void t_eof(hv_conn *c, int status)
{
    (void)status;
    ((fixture *)c->proto)->eofs++;
    hv_conn_close(c);
}

static void t_timeout(hv_conn *c, int64_t now)
{
    (void)now;
    hv_conn_close(c);
}

static void t_close(hv_conn *c)
{
    fixture *f = c->proto;
    f->closes++;
    f->jobs_at_close = f->sub->jobs;
    f->last_id_at_close = f->sub->last_id;
    hv_sub_release(f->sub);
    f->sub = NULL;
    f->conn = NULL;
    c->proto = NULL;
}

static const hv_conn_ops t_ops = {.on_data = t_data, .on_eof = t_eof, .on_timeout = t_timeout, .on_close = t_close};

static void t_resumed(hv_sub *s, int status, uint64_t first_id)
{
    (void)first_id;
    fixture *f = s->app;
    f->dones++;
    f->done_status = status;
}

/* ---- the pool blocker ---- */

static void block_work(uv_work_t *w)
{
    uv_sem_wait(&((fixture *)w->data)->gate);
}

static void block_done(uv_work_t *w, int status)
{
    (void)status;
    ((fixture *)w->data)->blocked = 0;
}

/* Occupies the pool's one thread: reads queued after this wait. */
static void block_pool(fixture *f)
{
    f->block.data = f;
    f->blocked = 1;
    assert_int_equal(uv_queue_work(&f->loop->uv, &f->block, block_work, block_done), 0);
}

static void open_pool(fixture *f)
{
    if (f->blocked && !f->opened)
        uv_sem_post(&f->gate);
    f->opened = 1;
}

/* ---- running the loop ---- */

static void drain_client(fixture *f)
{
    char buf[16384];
    ssize_t n;
    while (f->client >= 0 && (n = read(f->client, buf, sizeof(buf))) > 0) {
        if (f->ngot + (size_t)n > f->capgot) {
            f->capgot = (f->ngot + (size_t)n) * 2;
            f->got = realloc(f->got, f->capgot);
        }
        memcpy(f->got + f->ngot, buf, (size_t)n);
        f->ngot += (size_t)n;
    }
}

/* Runs the loop until cond(f) holds; 0, or -1 past the deadline. The
 * wait is on the loop's own descriptors, so it returns once cond holds. */
static int run_until(fixture *f, int (*cond)(fixture *f))
{
    int64_t end = hv_now_ms() + WAIT_MS;
    for (;;) {
        uv_run(&f->loop->uv, UV_RUN_NOWAIT);
        drain_client(f);
        if (cond(f))
            return 0;
        if (hv_now_ms() > end)
            return -1;
        int t = uv_backend_timeout(&f->loop->uv);
        struct pollfd p[2] = {{.fd = uv_backend_fd(&f->loop->uv), .events = POLLIN},
                              {.fd = f->client, .events = POLLIN}};
        poll(p, f->client >= 0 ? 2 : 1, t < 0 || t > 50 ? 50 : t);
    }
}

static int closed(fixture *f) { return f->closes > 0; }
static int conn_gone(fixture *f) { return hv_list_empty(&f->loop->conns); }
static int first_page_sent(fixture *f) { return f->sub && f->sub->last_id >= PAGE; }
static int pool_idle(fixture *f) { return !f->blocked && f->loop->uv.active_reqs.count == 0; }

/* The ids of the SSE records the client read, which must be 1, 2, ...;
 * returns how many, or -1 when one is out of order. */
static long ids_in_order(fixture *f)
{
    long n = 0;
    for (size_t i = 0; i + 4 < f->ngot; i++) {
        if ((i == 0 || f->got[i - 1] == '\n') && !memcmp(f->got + i, "id: ", 4)) {
            if (strtoull(f->got + i + 4, NULL, 10) != (unsigned long long)n + 1)
                return -1;
            n++;
        }
    }
    return n;
}

static long want_ids;
static int all_sent(fixture *f) { return f->dones > 0 && ids_in_order(f) == want_ids; }

/* ---- fixture ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    *state = f;
    f->client = -1;
    uv_sem_init(&f->gate, 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/herald-channels-XXXXXX");
    char *args[] = {"test_channels", NULL};
    if (!mkdtemp(f->dir) || hv_config_load(&f->srv.cfg, 1, args) != 0)
        return -1;
    char err[256];
    hv_store_options opt = {.dir = f->dir};
    if (!(f->srv.store = hv_store_open(&opt, err, sizeof(err)))) {
        fprintf(stderr, "store: %s\n", err);
        return -1;
    }
    f->srv.net = (hv_net_hooks){.slot_new = hv_deliver_slot_new, .slot_free = hv_deliver_slot_free};
    int port, sv[2];
    int fd = hv_listen_socket("127.0.0.1", 0, &port);
    if (fd < 0 || !(f->loop = hv_loop_new(&f->srv, 0, fd)) || !f->loop->listening)
        return -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    f->client = sv[1];
    if (!(f->conn = hv_conn_open_fd(f->loop, sv[0])))
        return -1;
    size_t rest;
    free(hv_http_detach(f->conn, &rest)); /* as sse.c: from now on a stream */
    f->conn->proto = f;
    f->conn->ops = &t_ops;
    const char *room = "r1";
    f->sub = hv_sub_new(f->conn, HV_SUB_SSE, "u1", &room, 1);
    f->sub->app = f;
    hv_sub_join(f->sub);
    return 0;
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = 0;
    if (f->loop) {
        open_pool(f);
        if (f->client >= 0)
            close(f->client);
        f->client = -1;
        if (f->conn)
            hv_conn_close(f->conn);
        rc = run_until(f, conn_gone);
        close_handle((uv_handle_t *)&f->loop->listener);
        close_handle((uv_handle_t *)&f->loop->tick);
        close_handle((uv_handle_t *)&f->loop->wake);
        close_handle((uv_handle_t *)&f->loop->flush_more);
        uv_run(&f->loop->uv, UV_RUN_DEFAULT); /* lands what is still out */
        hv_loop_free(f->loop);
    }
    if (f->client >= 0)
        close(f->client);
    if (f->srv.store)
        hv_store_close(f->srv.store);
    uv_sem_destroy(&f->gate);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f->got);
    free(f);
    return rc;
}

/* Stores n events of room r1 (ids 1..n). */
static void store_events(fixture *f, size_t n)
{
    hv_event **evs = calloc(n, sizeof(*evs));
    for (size_t i = 0; i < n; i++)
        evs[i] = hv_event_new("app.note", "r1", NULL, "{\"k\":1}", 7);
    assert_int_equal(hv_store_append(f->srv.store, evs, n), 0);
    for (size_t i = 0; i < n; i++)
        hv_event_unref(evs[i]);
    free(evs);
}

/* The client goes before the replay lands, and the loop does not read its
 * EOF (the connection is paused): the flush of the first landed page finds
 * the peer gone and closes the connection, which releases the subscriber
 * while replay_landed still has it. */
static void client_gone_before_landing(fixture *f, size_t nevents, uint64_t first_page)
{
    store_events(f, nevents);
    hv_conn_pause(f->conn);
    close(f->client);
    f->client = -1;
    hv_sub_resume(f->sub, 0, t_resumed);
    assert_int_equal(f->sub->jobs, 1);
    assert_int_equal(run_until(f, closed), 0);
    /* closed by that flush, with the page queued and the read still counted */
    assert_int_equal(f->eofs, 0);
    assert_int_equal(f->last_id_at_close, first_page);
    assert_int_equal(f->jobs_at_close, 1);
    /* no next page is read for it, and no resume is reported to it */
    assert_int_equal(f->loop->uv.active_reqs.count, 0);
    assert_int_equal(f->dones, 0);
    assert_int_equal(run_until(f, conn_gone), 0);
}

static void test_client_gone_single_page(void **state)
{
    client_gone_before_landing(*state, 3, 3);
}

static void test_client_gone_first_of_pages(void **state)
{
    client_gone_before_landing(*state, 2 * PAGE + 200, PAGE);
}

/* The server closes the connection (as the loop does at shutdown or on a
 * deadline) while the first read waits on the pool; the connection is
 * freed before the read lands, which must then not touch it. */
static void test_released_before_first_page(void **state)
{
    fixture *f = *state;
    store_events(f, 3);
    block_pool(f);
    hv_sub_resume(f->sub, 0, t_resumed);
    hv_conn_close(f->conn);
    assert_int_equal(f->closes, 1);
    assert_int_equal(f->jobs_at_close, 1);
    assert_int_equal(run_until(f, conn_gone), 0);
    open_pool(f);
    assert_int_equal(run_until(f, pool_idle), 0);
    assert_int_equal(f->dones, 0);
    assert_int_equal(ids_in_order(f), 0);
}

/* The same between pages: the first page reached the client, the second
 * read waits on the pool when the server closes the connection. */
static void test_released_between_pages(void **state)
{
    fixture *f = *state;
    store_events(f, 2 * PAGE + 200);
    hv_sub_resume(f->sub, 0, t_resumed);
    block_pool(f); /* behind the first read: the second waits */
    assert_int_equal(run_until(f, first_page_sent), 0);
    assert_int_equal(f->sub->last_id, PAGE);
    assert_int_equal(f->sub->jobs, 1);
    assert_int_equal(f->sub->replaying, 1);
    hv_conn_close(f->conn);
    assert_int_equal(f->closes, 1);
    assert_int_equal(f->jobs_at_close, 1);
    assert_int_equal(run_until(f, conn_gone), 0);
    open_pool(f);
    assert_int_equal(run_until(f, pool_idle), 0);
    assert_int_equal(f->dones, 0);
    assert_in_range(ids_in_order(f), 0, PAGE); /* what the kernel took before the close */
}

/* More live events come during the replay than a subscriber may hold: at
 * HV_SUB_HELD_MAX they are let go (never more held), and once the replay
 * ends they are read from the store; the client gets every event once, in
 * order, and the held ones after them. */
static void test_held_bound(void **state)
{
    fixture *f = *state;
    store_events(f, 3);
    block_pool(f);
    hv_sub_resume(f->sub, 0, t_resumed);
    size_t live = HV_SUB_HELD_MAX + 100;
    for (size_t i = 0; i < live; i++) { /* stored, then handed to the loop, as the hub does */
        hv_event *ev = hv_event_new("app.note", "r1", NULL, "{\"k\":1}", 7);
        assert_int_equal(hv_store_append(f->srv.store, &ev, 1), 0);
        hv_event_encode(ev);
        hv_channels_deliver(f->loop, ev);
        hv_event_unref(ev);
        assert_true(f->sub->nheld <= HV_SUB_HELD_MAX);
    }
    assert_int_equal(f->sub->held_dropped, 1);
    want_ids = (long)(3 + live);
    open_pool(f);
    assert_int_equal(run_until(f, all_sent), 0);
    assert_int_equal(f->dones, 1);
    assert_int_equal(f->done_status, 0);
    assert_int_equal(f->sub->held_dropped, 0);
    assert_int_equal(f->sub->nheld, 0);
}

/* Control: an open client gets every page, in order, and the resume ends. */
static void test_replay_to_open_client(void **state)
{
    fixture *f = *state;
    want_ids = 2 * PAGE + 200;
    store_events(f, (size_t)want_ids);
    hv_sub_resume(f->sub, 0, t_resumed);
    assert_int_equal(run_until(f, all_sent), 0);
    assert_int_equal(f->dones, 1);
    assert_int_equal(f->done_status, 0);
    assert_int_equal(f->sub->replaying, 0);
    assert_int_equal(f->sub->jobs, 0);
    assert_int_equal(f->closes, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the server: a write to a gone peer is EPIPE */
    setenv("UV_THREADPOOL_SIZE", "1", 1); /* before the pool starts: block_pool holds all of it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_to_open_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_single_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_first_of_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_released_before_first_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_released_between_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
