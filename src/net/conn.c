/* SPDX-License-Identifier: MIT */
/* conn.c — connections: accept, read, the outbound queue, close.
 *
 * Output is a ring of (shared buffer, offset, length) items. A flush first
 * tries uv_try_write with the whole queue as one iovec array (one writev
 * syscall, no request object); whatever the kernel does not take is handed
 * to one uv_write, and new output keeps queueing behind it until its
 * callback. A connection is freed only when its socket is closed and no
 * async work (a publish awaiting its commit, a pending flush) holds it.
 * Back-pressure: replies are produced only by what a client sends, so a
 * client that does not read them is stopped from sending more: above
 * --outbound-pause unsent bytes the socket is not read (the protocol also
 * stops parsing what it already has) until the output drains below it,
 * and a paused client that takes no byte for --send-timeout is closed.
 * Admission: a new connection is counted in the server's limits (total,
 * unauthenticated, per address) or refused at once with a 503.
 */
#include "net/conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "net/http.h"
#include "net/server.h"

#define IOV_BATCH 64

static void on_closed(uv_handle_t *h);

static void stats_conns(hv_conn *c, int delta)
{
    atomic_fetch_add_explicit(&c->loop->stats.conns[c->kind], delta, memory_order_relaxed);
}

void hv_conn_set_kind(hv_conn *c, int kind)
{
    stats_conns(c, -1);
    c->kind = (uint8_t)kind;
    stats_conns(c, 1);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    hv_conn *c = h->data;
    buf->base = c->loop->readbuf;
    buf->len = c->loop->readbuf_size;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    hv_conn *c = s->data;
    if (c->closing)
        return;
    if (nread > 0)
        c->ops->on_data(c, buf->base, (size_t)nread);
    else if (nread < 0)
        c->ops->on_eof(c, (int)nread);
    hv_loop_flush(c->loop);
    /* What the kernel did not take of the replies to this read decides
     * whether the next one is read. */
    hv_conn_backlogged(c);
}

/* Reads iff neither the protocol nor back-pressure holds the socket. */
static void reading_update(hv_conn *c)
{
    int want = !c->paused && !c->bp_paused && !c->closing;
    if (want == c->reading)
        return;
    c->reading = (uint8_t)want;
    if (want)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    else
        uv_read_stop((uv_stream_t *)&c->tcp);
}

static hv_conn *conn_new(hv_loop *l)
{
    hv_conn *c = hv_xcalloc(1, sizeof(*c));
    c->loop = l;
    c->holds = 1; /* the open socket's own hold, released in on_closed */
    uv_tcp_init(&l->uv, &c->tcp);
    c->tcp.data = c;
    return c;
}

static void conn_start(hv_conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    hv_list_push(&c->loop->conns, &c->node);
    c->kind = HV_CONN_KIND_HTTP;
    stats_conns(c, 1);
    hv_http_attach(c);
    reading_update(c);
}

/* ---- admission ----------------------------------------------------------- */

#define LINGER_MS 2000   /* a refused client has this long to read its 503 */
#define MAX_LINGERING 64 /* per loop; past it a refused connection is closed at once */

/* The client's address as the limits' key: IPv4 as is, IPv6 by its /64
 * (one host or network holds a whole /64). */
static void peer_key(hv_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char tmp[INET6_ADDRSTRLEN];
    c->addr[0] = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, tmp, sizeof(tmp));
    } else if (ss.ss_family == AF_INET6) {
        struct in6_addr a = ((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            inet_ntop(AF_INET, &a.s6_addr[12], tmp, sizeof(tmp));
        } else {
            memset(&a.s6_addr[8], 0, 8);
            inet_ntop(AF_INET6, &a, tmp, sizeof(tmp)); /* at most "ffff:ffff:ffff:ffff::" */
        }
    } else {
        return;
    }
    size_t n = strnlen(tmp, sizeof(c->addr) - 1); /* fits: 21 characters at most */
    memcpy(c->addr, tmp, n);
    c->addr[n] = 0;
}

/* A refused connection: its 503 is written, its side shut down, and what
 * the client still sends is read and dropped until it closes (or
 * LINGER_MS), so the kernel does not answer that data with a reset that
 * could destroy the 503 before the client reads it. */
static void refused_data(hv_conn *c, const char *data, size_t len)
{
    (void)c, (void)data, (void)len;
}

static void refused_eof(hv_conn *c, int status)
{
    (void)status;
    hv_conn_close(c);
}

static void refused_timeout(hv_conn *c, int64_t now)
{
    (void)now;
    hv_conn_close(c);
}

static void refused_close(hv_conn *c)
{
    c->loop->refusing--;
}

static const hv_conn_ops refused_ops = {
    .on_data = refused_data, .on_eof = refused_eof, .on_timeout = refused_timeout,
    .on_close = refused_close, .on_shutdown = hv_conn_close};

static void refuse(hv_conn *c, int why)
{
    static const char *const reason[] = {
        [HV_ADMIT_FULL] = "too busy",
        [HV_ADMIT_UNAUTH] = "too many unauthenticated connections",
        [HV_ADMIT_ADDRESS] = "too many unauthenticated connections from this address"};
    hv_loop *l = c->loop;
    atomic_fetch_add_explicit(&l->srv->metrics.refused[why], 1, memory_order_relaxed);
    hv_debug("refusing a connection from %s: %s", c->addr[0] ? c->addr : "?", reason[why]);
    hv_list_push(&l->conns, &c->node);
    c->kind = HV_CONN_KIND_HTTP;
    stats_conns(c, 1);
    c->ops = &refused_ops;
    l->refusing++;
    char resp[256];
    int body = (int)strlen(reason[why]) + 13;
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n{\"errors\":\"%s\"}",
                     body, reason[why]);
    hv_conn_send_copy(c, resp, (size_t)n);
    hv_conn_flush(c);
    uv_os_fd_t fd;
    if (c->closing || c->qlen > 0 || l->refusing > MAX_LINGERING ||
        uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0 || shutdown(fd, SHUT_WR) != 0) {
        hv_conn_close(c);
        return;
    }
    c->deadline = (int64_t)uv_now(&l->uv) + LINGER_MS;
    reading_update(c);
}

void hv_conn_accept(hv_loop *l)
{
    hv_conn *c = conn_new(l);
    if (uv_accept((uv_stream_t *)&l->listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
        return;
    }
    peer_key(c);
    int why = hv_limits_admit(&l->srv->limits, c->addr);
    if (why != HV_ADMIT_OK) {
        refuse(c, why);
        return;
    }
    c->counted = 1;
    conn_start(c);
}

void hv_conn_authenticated(hv_conn *c)
{
    if (c->authed)
        return;
    c->authed = 1;
    if (c->counted)
        hv_limits_authed(&c->loop->srv->limits, c->addr);
}

hv_conn *hv_conn_open_fd(hv_loop *l, int fd)
{
    hv_conn *c = conn_new(l);
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
        return NULL;
    }
    conn_start(c);
    return c;
}

/* ---- outbound queue ---------------------------------------------------- */

static void queue_grow(hv_conn *c)
{
    uint32_t ncap = c->qcap ? c->qcap * 2 : 4;
    hv_outq_item *nq = hv_xmalloc(ncap * sizeof(*nq));
    for (uint32_t i = 0; i < c->qlen; i++)
        nq[i] = c->q[(c->qhead + i) % c->qcap];
    free(c->q);
    c->q = nq;
    c->qcap = ncap;
    c->qhead = 0;
}

static void mark_dirty(hv_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    c->holds++;
    c->dirty_next = NULL; /* to the tail: the oldest output goes first */
    hv_loop *l = c->loop;
    if (l->dirty_tail)
        l->dirty_tail->dirty_next = c;
    else
        l->dirty = c;
    l->dirty_tail = c;
}

static void account(hv_conn *c, int64_t delta)
{
    c->qbytes = (size_t)((int64_t)c->qbytes + delta);
    atomic_fetch_add_explicit(&c->loop->stats.outbound_bytes, delta, memory_order_relaxed);
}

void hv_conn_send_ref(hv_conn *c, hv_sbuf *buf, uint32_t off, uint32_t len)
{
    if (c->closing || len == 0)
        return;
    if (c->qlen == c->qcap)
        queue_grow(c);
    hv_outq_item *it = &c->q[(c->qhead + c->qlen) % c->qcap];
    it->buf = hv_sbuf_ref(buf);
    it->off = off;
    it->len = len;
    c->qlen++;
    account(c, len);
    mark_dirty(c);
}

void hv_conn_send_copy(hv_conn *c, const void *bytes, size_t len)
{
    if (c->closing || len == 0)
        return;
    hv_sbuf *b = hv_sbuf_dup(bytes, len);
    hv_conn_send_ref(c, b, 0, (uint32_t)len);
    hv_sbuf_unref(b);
}

/* Pops n bytes off the head of the queue (items fully or partly written). */
static void queue_consume(hv_conn *c, size_t n)
{
    if (n > 0 && c->bp_paused) /* progress: --send-timeout counts from here */
        c->bp_since = (int64_t)uv_now(&c->loop->uv);
    account(c, -(int64_t)n);
    while (n > 0 && c->qlen > 0) {
        hv_outq_item *it = &c->q[c->qhead];
        if (n < it->len) {
            it->off += (uint32_t)n;
            it->len -= (uint32_t)n;
            c->head_partial = 1;
            return;
        }
        n -= it->len;
        c->head_partial = 0;
        hv_sbuf_unref(it->buf);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
}

static void queue_clear_from(hv_conn *c, uint32_t keep)
{
    while (c->qlen > keep) {
        hv_outq_item *it = &c->q[(c->qhead + c->qlen - 1) % c->qcap];
        account(c, -(int64_t)it->len);
        hv_sbuf_unref(it->buf);
        c->qlen--;
    }
}

void hv_conn_drop_queued(hv_conn *c)
{
    /* Keep what the kernel has, and a half-written head item: cutting a
     * frame in two would corrupt the stream. */
    uint32_t keep = c->writing ? c->inflight : 0;
    if (keep == 0 && c->head_partial && c->qlen > 0)
        keep = 1;
    queue_clear_from(c, keep);
}

static uint32_t fill_iov(hv_conn *c, uv_buf_t *iov, size_t *total)
{
    uint32_t n = c->qlen < IOV_BATCH ? c->qlen : IOV_BATCH;
    *total = 0;
    for (uint32_t i = 0; i < n; i++) {
        hv_outq_item *it = &c->q[(c->qhead + i) % c->qcap];
        iov[i] = uv_buf_init((char *)it->buf->data + it->off, it->len);
        *total += it->len;
    }
    return n;
}

/* Reads again once the output is back below the pause bound. Called at
 * the end of a flush, when the queue's state is settled: on_drained may
 * queue (and flush) more. */
static void maybe_unblock(hv_conn *c)
{
    if (!c->bp_paused || c->closing || c->qbytes > c->loop->srv->cfg.outbound_pause)
        return;
    c->bp_paused = 0;
    reading_update(c);
    if (c->ops->on_drained)
        c->ops->on_drained(c);
}

static void on_write(uv_write_t *req, int status)
{
    hv_conn *c = req->data;
    size_t bytes = 0;
    for (uint32_t i = 0; i < c->inflight; i++)
        bytes += c->q[(c->qhead + i) % c->qcap].len;
    queue_consume(c, bytes);
    c->writing = 0;
    c->inflight = 0;
    if (status < 0)
        hv_conn_close(c);
    else if (!c->closing)
        hv_conn_flush(c);
    hv_conn_release(c);
}

void hv_conn_flush(hv_conn *c)
{
    uv_buf_t iov[IOV_BATCH];
    size_t total;
    if (c->closing || c->writing)
        return;
    while (c->qlen > 0) {
        uint32_t n = fill_iov(c, iov, &total);
        int r = uv_try_write((uv_stream_t *)&c->tcp, iov, n);
        if (r == UV_EAGAIN || r == UV_ENOSYS)
            r = 0;
        if (r < 0) {
            hv_conn_close(c);
            return;
        }
        queue_consume(c, (size_t)r);
        if ((size_t)r < total)
            break;
    }
    if (c->qlen == 0 && c->close_when_drained) {
        hv_conn_close(c);
        return;
    }
    if (c->qlen > 0) {
        c->inflight = fill_iov(c, iov, &total);
        c->writing = 1;
        c->wreq.data = c;
        c->holds++;
        if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, iov, c->inflight, on_write) != 0) {
            c->writing = 0;
            c->inflight = 0;
            c->holds--;
            hv_conn_close(c);
            return;
        }
    }
    maybe_unblock(c);
}

/* ---- life cycle -------------------------------------------------------- */

void hv_conn_close_after_flush(hv_conn *c)
{
    if (c->closing)
        return;
    c->close_when_drained = 1;
    if (c->qlen == 0 && !c->writing)
        hv_conn_close(c);
    else
        mark_dirty(c);
}

void hv_conn_close(hv_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->ops && c->ops->on_close)
        c->ops->on_close(c);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_closed(uv_handle_t *h)
{
    hv_conn *c = h->data;
    queue_clear_from(c, 0);
    hv_list_remove(&c->node);
    stats_conns(c, -1);
    if (c->counted)
        hv_limits_release(&c->loop->srv->limits, c->addr, c->authed);
    hv_conn_release(c);
}

void hv_conn_hold(hv_conn *c)
{
    c->holds++;
}

void hv_conn_release(hv_conn *c)
{
    if (--c->holds > 0)
        return;
    free(c->q);
    free(c);
}

void hv_conn_pause(hv_conn *c)
{
    c->paused = 1;
    reading_update(c);
}

void hv_conn_resume(hv_conn *c)
{
    c->paused = 0;
    reading_update(c);
}

/* ---- back-pressure ------------------------------------------------------- */

int hv_conn_backlogged(hv_conn *c)
{
    size_t pause = c->loop->srv->cfg.outbound_pause;
    if (c->closing || pause == 0 || c->qbytes <= pause)
        return 0;
    if (!c->bp_paused) {
        c->bp_paused = 1;
        c->bp_since = (int64_t)uv_now(&c->loop->uv);
        atomic_fetch_add_explicit(&c->loop->srv->metrics.read_pauses, 1, memory_order_relaxed);
        reading_update(c);
    }
    return 1;
}

void hv_conn_check_stalled(hv_conn *c, int64_t now)
{
    double timeout = c->loop->srv->cfg.send_timeout_s;
    if (!c->bp_paused || c->closing || timeout <= 0 || now - c->bp_since < (int64_t)(timeout * 1000))
        return;
    atomic_fetch_add_explicit(&c->loop->srv->metrics.send_timeouts, 1, memory_order_relaxed);
    hv_warn("closing a client that took none of its %zu unsent bytes in %g s (--send-timeout)", c->qbytes,
            timeout);
    if (c->ops->on_stalled)
        c->ops->on_stalled(c);
    hv_conn_close(c);
}

int hv_conn_over_limit(const hv_conn *c)
{
    return c->qbytes > c->loop->srv->cfg.max_outbound;
}
