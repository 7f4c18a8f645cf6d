/* SPDX-License-Identifier: MIT */
/* loop.c — I/O loops and their inboxes; see loop.h.
 *
 * Life of a loop: hv_loop_new binds it to its listening socket; its thread
 * runs uv_run until hv_loop_shutdown has closed the listener and every
 * connection, then closes its own handles so uv_run returns. A tick timer
 * drives per-connection deadlines (header timeout, idle, pings, send timeout).
 */
#include "net/loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "net/conn.h"
#include "net/server.h"

#define READBUF_SIZE (64 * 1024)
#define TICK_MS 100
#define SHUTDOWN_GRACE_MS 3000

static void on_wake(uv_async_t *a);
static void on_tick(uv_timer_t *t);
static void on_flush_more(uv_idle_t *h);

static void on_connection(uv_stream_t *server, int status)
{
    hv_loop *l = server->data;
    if (status < 0 || l->stopping)
        return;
    hv_conn_accept(l);
}

hv_loop *hv_loop_new(hv_server *srv, int index, int listen_fd)
{
    hv_loop *l = hv_xcalloc(1, sizeof(*l));
    l->srv = srv;
    l->index = index;
    uv_loop_init(&l->uv);
    uv_mutex_init(&l->inbox_mu);
    hv_list_init(&l->conns);
    if (srv->net.slot_new)
        l->slot = srv->net.slot_new(l);
    l->readbuf_size = READBUF_SIZE;
    l->readbuf = hv_xmalloc(READBUF_SIZE);
    uv_async_init(&l->uv, &l->wake, on_wake);
    l->wake.data = l;
    uv_timer_init(&l->uv, &l->tick);
    l->tick.data = l;
    uv_idle_init(&l->uv, &l->flush_more);
    l->flush_more.data = l;
    uv_tcp_init(&l->uv, &l->listener);
    l->listener.data = l;
    if (uv_tcp_open(&l->listener, listen_fd) != 0 ||
        uv_listen((uv_stream_t *)&l->listener, 4096, on_connection) != 0) {
        hv_error("loop %d: cannot listen: %s", index, strerror(errno));
        close(listen_fd);
        return l; /* the caller checks l->listening */
    }
    l->listening = 1;
    return l;
}

static void run_thread(void *arg)
{
    hv_loop *l = arg;
    uv_timer_start(&l->tick, on_tick, TICK_MS, TICK_MS);
    uv_run(&l->uv, UV_RUN_DEFAULT);
}

int hv_loop_start(hv_loop *l)
{
    return uv_thread_create(&l->thread, run_thread, l);
}

void hv_loop_join(hv_loop *l)
{
    uv_thread_join(&l->thread);
}

void hv_loop_free(hv_loop *l)
{
    if (!l)
        return;
    /* Messages posted after the loop ended are run once so their resources
     * are released (their fns see l->stopping). */
    on_wake(&l->wake);
    uv_loop_close(&l->uv);
    if (l->srv->net.slot_free) /* every subscriber has left by now */
        l->srv->net.slot_free(l, l->slot);
    uv_mutex_destroy(&l->inbox_mu);
    free(l->readbuf);
    free(l);
}

void hv_loop_post(hv_loop *l, hv_loop_fn fn, void *arg)
{
    hv_loop_msg *m = hv_xmalloc(sizeof(*m));
    m->next = NULL;
    m->fn = fn;
    m->arg = arg;
    uv_mutex_lock(&l->inbox_mu);
    if (l->inbox_tail)
        l->inbox_tail->next = m;
    else
        l->inbox_head = m;
    l->inbox_tail = m;
    uv_mutex_unlock(&l->inbox_mu);
    uv_async_send(&l->wake);
}

static void on_wake(uv_async_t *a)
{
    hv_loop *l = a->data;
    uv_mutex_lock(&l->inbox_mu);
    hv_loop_msg *m = l->inbox_head;
    l->inbox_head = l->inbox_tail = NULL;
    uv_mutex_unlock(&l->inbox_mu);
    if (l->dirty && m) /* more output joins a flush already under way */
        l->waves++;
    while (m) {
        hv_loop_msg *next = m->next;
        m->fn(l, m->arg);
        free(m);
        m = next;
    }
    hv_loop_flush(l);
}

/* A stopping loop flushes everything at once: its handles are closing. */
void hv_loop_flush(hv_loop *l)
{
    unsigned n = 0;
    while (l->dirty) {
        if (n++ == HV_FLUSH_SLICE && !l->stopping && l->waves < HV_FLUSH_WAVES) {
            if (!uv_is_active((uv_handle_t *)&l->flush_more))
                uv_idle_start(&l->flush_more, on_flush_more);
            return;
        }
        hv_conn *c = l->dirty;
        l->dirty = c->dirty_next;
        if (!l->dirty)
            l->dirty_tail = NULL;
        c->dirty = 0;
        hv_conn_flush(c);
        hv_conn_release(c);
    }
    l->waves = 0;
    if (uv_is_active((uv_handle_t *)&l->flush_more))
        uv_idle_stop(&l->flush_more);
}

/* The next slice of a flush, after the loop has polled for I/O (an active
 * idle handle makes that poll return at once). */
static void on_flush_more(uv_idle_t *h)
{
    hv_loop_flush(h->data);
}

/* ---- shutdown ---------------------------------------------------------- */

static void close_loop_handles(hv_loop *l)
{
    uv_timer_stop(&l->tick);
    uv_close((uv_handle_t *)&l->tick, NULL);
    uv_close((uv_handle_t *)&l->flush_more, NULL);
    uv_close((uv_handle_t *)&l->wake, NULL);
}

static void maybe_finish(hv_loop *l)
{
    if (!l->stopping || !hv_list_empty(&l->conns) || uv_is_closing((uv_handle_t *)&l->wake))
        return;
    close_loop_handles(l);
}

static void do_shutdown(hv_loop *l, void *arg)
{
    (void)arg;
    if (l->stopping)
        return;
    l->stopping = 1;
    l->shutdown_deadline = (int64_t)uv_now(&l->uv) + SHUTDOWN_GRACE_MS;
    if (!uv_is_closing((uv_handle_t *)&l->listener))
        uv_close((uv_handle_t *)&l->listener, NULL);
    hv_list_each(it, &l->conns) {
        hv_conn *c = hv_container_of(it, hv_conn, node);
        if (c->closing) /* already going; its protocol state is gone */
            continue;
        if (c->ops && c->ops->on_shutdown)
            c->ops->on_shutdown(c);
        else
            hv_conn_close(c);
    }
    maybe_finish(l);
}

void hv_loop_shutdown(hv_loop *l)
{
    hv_loop_post(l, do_shutdown, NULL);
}

static void on_tick(uv_timer_t *t)
{
    hv_loop *l = t->data;
    int64_t now = (int64_t)uv_now(&l->uv);
    int force = l->stopping && now >= l->shutdown_deadline;
    hv_list_each(it, &l->conns) {
        hv_conn *c = hv_container_of(it, hv_conn, node);
        if (c->closing)
            continue;
        if (!force)
            hv_conn_check_stalled(c, now); /* --send-timeout */
        if (force || c->closing)
            hv_conn_close(c);
        else if (c->deadline && now >= c->deadline)
            c->ops->on_timeout(c, now);
        else if (c->ops->on_tick)
            c->ops->on_tick(c, now);
    }
    hv_loop_flush(l);
    maybe_finish(l);
}

/* ---- listening socket -------------------------------------------------- */

int hv_listen_socket(const char *host, int port, int *bound_port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (!strcmp(host, "localhost"))
        host = "127.0.0.1";
    int family = AF_INET;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0) {
        if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
            errno = EINVAL;
            return -1;
        }
        family = AF_INET6;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4096) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *bound_port = family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                    : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}
