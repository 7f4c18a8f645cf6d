/* SPDX-License-Identifier: MIT */
/* wspub.c — the load generator's publisher over the persistent publishing
 * connection (GET /v1/events/websocket): the publish_ws cells.
 *
 * Each of `conns` connections runs on its own thread with a plain socket
 * and poll(): the upgrade carries "Authorization: Bearer <token>", then
 * it waits for {"type":"authenticated"} and keeps up to `window` publish
 * frames unanswered. Every frame is one event of the standard shape
 * (publisher.c): {"type":"bench.tick","data":{"t":<ns>,"pad":"x…"}} with a
 * `payload`-byte data object, "t" stamped just before the frame is built
 * (with --idempotency-keys, and a fresh "idempotency_key" per event).
 * Frames are built (masked, as RFC 6455 requires of a client) into one
 * buffer as the window opens and written with as few writes as the socket
 * takes; answers are parsed by hand ({"seq":N,"ids":["…"]} counts its ids
 * as acknowledged, anything with "status" as failed), checking that they
 * come in seq order, and each frame's send->answer time is recorded. The
 * 101 answer's Sec-WebSocket-Accept is not checked (the server is ours).
 *
 * This is a benchmark client, not the library: no herald-client code, so
 * that the numbers measure the server and the protocol, and the load
 * generator stays a stand-alone build (bench/Makefile).
 */
#include "lg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define T_DIGITS 19
#define IO_TIMEOUT_MS 60000 /* no progress for this long: the connection failed */

typedef struct wconn {
    const lg_wspub_cfg *cfg;
    long target;              /* frames this connection publishes */
    int fd;
    long sent, answered, acked, failed;
    int64_t *sent_ns;         /* ring of window send times, by seq */
    char *out, *in, *text;
    size_t out_len, out_off, out_cap, in_len, in_cap;
    uint64_t rng;
    int64_t first_send_ns, last_ack_ns;
    lg_hist hist;             /* µs from a frame's build to its answer */
    char error[200];
} wconn;

static void set_error(wconn *c, const char *what, const char *detail)
{
    if (!c->error[0])
        snprintf(c->error, sizeof c->error, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

static uint32_t next_mask(wconn *c)
{
    c->rng ^= c->rng << 13; /* xorshift64: masks need not be secret here */
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (uint32_t)c->rng;
}

/* The event's text into buf (the same shape as publisher.c's), with
 * "idempotency_key" when key is set (--idempotency-keys). */
static size_t event_text(const lg_wspub_cfg *cfg, char *buf, int64_t t_ns, const char *key)
{
    int pad = cfg->payload - 34; /* {"t":19 digits,"pad":""} is 34 bytes */
    if (pad < 0)
        pad = 0;
    int n = sprintf(buf, "{\"type\":\"bench.tick\",\"data\":{\"t\":%019lld,\"pad\":\"",
                    (long long)t_ns);
    memset(buf + n, 'x', (size_t)pad);
    n += pad;
    n += sprintf(buf + n, "\"}");
    if (key)
        n += sprintf(buf + n, ",\"idempotency_key\":\"%s\"", key);
    n += sprintf(buf + n, "}");
    return (size_t)n;
}

/* Appends one masked text frame of the next event to c->out. */
static void add_frame(wconn *c)
{
    const lg_wspub_cfg *cfg = c->cfg;
    size_t max = (size_t)cfg->payload + 64 + 14 + 96; /* 96: a key */
    if (c->out_len + max > c->out_cap) {
        c->out_cap = (c->out_len + max) * 2;
        if (!(c->out = realloc(c->out, c->out_cap)))
            abort();
    }
    int64_t now = lg_now_ns();
    char *text = c->text;
    char key[64];
    int64_t t = lg_realtime_ns();
    if (cfg->idem_keys) /* unique: this connection's address, its frame, the time */
        snprintf(key, sizeof key, "w%llx-%ld-%lld", (unsigned long long)(uintptr_t)c, c->sent, (long long)t);
    size_t len = event_text(cfg, text, t, cfg->idem_keys ? key : NULL);
    uint8_t *p = (uint8_t *)c->out + c->out_len;
    *p++ = 0x81;
    if (len < 126) {
        *p++ = (uint8_t)(0x80 | len);
    } else {
        *p++ = 0x80 | 126;
        *p++ = (uint8_t)(len >> 8);
        *p++ = (uint8_t)len;
    }
    uint32_t m = next_mask(c);
    uint8_t mask[4] = {(uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16), (uint8_t)(m >> 24)};
    memcpy(p, mask, 4);
    p += 4;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)text[i] ^ mask[i & 3];
    p += len;
    c->out_len = (size_t)((char *)p - c->out);
    c->sent_ns[c->sent % cfg->window] = now;
    if (!c->first_send_ns)
        c->first_send_ns = now;
    c->sent++;
}

/* Where the value of member key ("\"seq\"") starts in the JSON text t,
 * past the colon and any blanks; NULL when absent. */
static const char *member(const char *t, size_t len, const char *key)
{
    size_t kl = strlen(key);
    const char *k = memmem(t, len, key, kl), *end = t + len;
    if (!k)
        return NULL;
    for (k += kl; k < end && (*k == ' ' || *k == ':'); k++)
        ;
    return k < end ? k : NULL;
}

/* One answer frame's text. Returns 0, or -1 on a protocol error. */
static int take_answer(wconn *c, const char *t, size_t len)
{
    char buf[160];
    if (len && t[0] == '{' && len < 200 && memmem(t, len, "\"type\"", 6))
        return 0; /* a notice ("authenticated" came before) */
    const char *s = member(t, len, "\"seq\"");
    long seq = s ? strtol(s, NULL, 10) : -1;
    if (seq != c->answered + 1 || seq > c->sent) {
        snprintf(buf, sizeof buf, "%.*s", (int)(len < 120 ? len : 120), t);
        set_error(c, "answer out of order", buf);
        return -1;
    }
    int64_t now = lg_now_ns();
    lg_hist_record(&c->hist, (uint64_t)(now - c->sent_ns[(seq - 1) % c->cfg->window]) / 1000);
    c->answered = seq;
    const char *ids = member(t, len, "\"ids\"");
    if (!ids || *ids != '[') {
        c->failed++;
        snprintf(buf, sizeof buf, "%.*s", (int)(len < 160 ? len : 160), t);
        set_error(c, "refused", buf);
        return 0;
    }
    long n = 0;
    for (const char *q = ids + 1; q < t + len && *q != ']'; q++)
        n += *q == '"';
    c->acked += n / 2;
    c->last_ack_ns = now;
    return 0;
}

/* Parses the whole server frames in c->in. Returns 0, or -1 to stop. */
static int parse_in(wconn *c, int *authed)
{
    size_t off = 0;
    int rc = 0;
    while (rc == 0 && c->in_len - off >= 2) {
        const uint8_t *h = (const uint8_t *)c->in + off;
        size_t hl = 2, len = h[1] & 0x7f;
        if (len == 126) {
            if (c->in_len - off < 4)
                break;
            len = (size_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (c->in_len - off < 10)
                break;
            len = 0;
            for (int i = 2; i < 10; i++)
                len = len << 8 | h[i];
            hl = 10;
        }
        if (c->in_len - off - hl < len)
            break;
        const char *pl = (const char *)h + hl;
        int op = h[0] & 0x0f;
        if (op == 8) {
            char buf[140];
            snprintf(buf, sizeof buf, "%d %.*s", len >= 2 ? (uint8_t)pl[0] << 8 | (uint8_t)pl[1] : 0,
                     (int)(len > 2 ? len - 2 : 0), pl + 2);
            set_error(c, "closed by the server", buf);
            rc = -1;
        } else if (op == 1 && !*authed) {
            if (memmem(pl, len, "\"authenticated\"", 15))
                *authed = 1;
        } else if (op == 1) {
            rc = take_answer(c, pl, len);
        }
        off += hl + len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return rc;
}

static int read_some(wconn *c)
{
    if (c->in_cap - c->in_len < 65536) {
        c->in_cap = c->in_cap ? c->in_cap * 2 : 262144;
        if (!(c->in = realloc(c->in, c->in_cap)))
            abort();
    }
    ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n > 0) {
        c->in_len += (size_t)n;
        return 0;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    set_error(c, "connection lost", n ? strerror(errno) : "closed without a close frame");
    return -1;
}

/* Connects and sends the upgrade; the 101 is read by the main loop. */
static int open_conn(wconn *c)
{
    const lg_wspub_cfg *cfg = c->cfg;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    inet_pton(AF_INET, cfg->host, &a.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        set_error(c, "connect", strerror(errno));
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /v1/events/websocket HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
                     cfg->host, cfg->port, cfg->token);
    if (write(c->fd, req, (size_t)n) != n) {
        set_error(c, "handshake send", strerror(errno));
        return -1;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* The 101 answer at the start of c->in: 1 when complete (and removed), 0
 * when more is needed, -1 when refused. */
static int take_upgrade(wconn *c)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    if (strncmp(c->in, "HTTP/1.1 101", 12) != 0) {
        char buf[160];
        snprintf(buf, sizeof buf, "%.*s", (int)(c->in_len < 150 ? c->in_len : 150), c->in);
        set_error(c, "upgrade refused", buf);
        return -1;
    }
    size_t hl = (size_t)(end + 4 - c->in);
    memmove(c->in, c->in + hl, c->in_len - hl);
    c->in_len -= hl;
    return 1;
}

static void run_conn(wconn *c, double max_seconds)
{
    int upgraded = 0, authed = 0;
    int64_t t0 = lg_now_ns(), last_progress = t0;
    if (open_conn(c) != 0)
        return;
    while (c->answered < c->sent || c->sent < c->target) {
        int64_t now = lg_now_ns();
        int capped = max_seconds > 0 && now - t0 > (int64_t)(max_seconds * 1e9);
        if (capped && c->answered == c->sent)
            break;
        if (authed && !capped && c->out_len == c->out_off) {
            c->out_len = c->out_off = 0;
            while (c->sent < c->target && c->sent - c->answered < c->cfg->window)
                add_frame(c);
        }
        struct pollfd p = {.fd = c->fd, .events = POLLIN | (c->out_off < c->out_len ? POLLOUT : 0)};
        if (poll(&p, 1, 1000) < 0 && errno != EINTR)
            break;
        if (p.revents & POLLOUT) {
            ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
            if (n > 0)
                c->out_off += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                set_error(c, "send", strerror(errno));
                break;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            long before = c->answered;
            if (read_some(c) != 0)
                break;
            int up = upgraded ? 1 : take_upgrade(c);
            if (up < 0)
                break;
            upgraded = up;
            int was_authed = authed;
            if (upgraded && parse_in(c, &authed) != 0)
                break;
            if (c->answered != before || authed != was_authed)
                last_progress = lg_now_ns();
        }
        if (lg_now_ns() - last_progress > (int64_t)IO_TIMEOUT_MS * 1000000) {
            set_error(c, authed ? "no answer for 60 s" : "not authenticated after 60 s", NULL);
            break;
        }
    }
    struct linger lg0 = {1, 0}; /* no TIME_WAIT piles up across cells */
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg0, sizeof lg0);
    close(c->fd);
}

static void *conn_thread(void *arg)
{
    wconn *c = arg;
    run_conn(c, c->cfg->max_seconds);
    return NULL;
}

int lg_wspub_run(const lg_wspub_cfg *cfg)
{
    int n = cfg->conns > 0 ? cfg->conns : 1;
    wconn *cs = calloc((size_t)n, sizeof *cs);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    static lg_hist all;
    if (!cs || !th)
        abort();
    double self0 = lg_self_cpu_s();
    double cpu0 = cfg->server_pid ? lg_proc_cpu_s(cfg->server_pid) : -1;
    for (int i = 0; i < n; i++) {
        cs[i].cfg = cfg;
        cs[i].target = cfg->events / n + (i < cfg->events % n);
        cs[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        cs[i].sent_ns = calloc((size_t)cfg->window, sizeof(int64_t));
        cs[i].text = malloc((size_t)cfg->payload + 128 + 96);
        if (!cs[i].sent_ns || !cs[i].text)
            abort();
        pthread_create(&th[i], NULL, conn_thread, &cs[i]);
    }
    long acked = 0, failed = 0, sent = 0;
    int64_t first = 0, last = 0;
    const char *error = NULL;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        wconn *c = &cs[i];
        acked += c->acked, failed += c->failed, sent += c->sent;
        if (c->first_send_ns && (!first || c->first_send_ns < first))
            first = c->first_send_ns;
        if (c->last_ack_ns > last)
            last = c->last_ack_ns;
        for (int b = 0; b < LG_HIST_BUCKETS; b++)
            all.counts[b] += c->hist.counts[b];
        all.total += c->hist.total;
        if (c->hist.max > all.max)
            all.max = c->hist.max;
        if (c->error[0] && !error)
            error = c->error;
    }
    double cpu = cfg->server_pid ? lg_proc_cpu_s(cfg->server_pid) - cpu0 : -1;
    long rss = cfg->server_pid ? lg_proc_rss_kib(cfg->server_pid) : -1;
    double secs = last > first && first ? (double)(last - first) / 1e9 : -1;
    json_t *out = json_object();
    json_object_set_new(out, "cell", json_string(cfg->cell));
    json_object_set_new(out, "server", json_string("herald"));
    json_object_set_new(out, "events", json_integer(acked));
    json_object_set_new(out, "seconds", secs > 0 ? json_real(round(secs * 1000) / 1000) : json_null());
    json_object_set_new(out, "server_cpu_s", cpu >= 0 ? json_real(round(cpu * 100) / 100) : json_null());
    json_object_set_new(out, "rss_kib", rss >= 0 ? json_integer(rss) : json_null());
    json_object_set_new(out, "publish_per_s", secs > 0 ? json_real(round(acked / secs * 10) / 10) : json_null());
    json_object_set_new(out, "publish_per_cpu_s", cpu > 0 ? json_real(round(acked / cpu * 10) / 10) : json_null());
    json_object_set_new(out, "ack_p50_ms", json_real((double)lg_hist_quantile(&all, 0.50) / 1000));
    json_object_set_new(out, "ack_p99_ms", json_real((double)lg_hist_quantile(&all, 0.99) / 1000));
    json_object_set_new(out, "ack_max_ms", json_real((double)all.max / 1000));
    json_object_set_new(out, "publish_failed", json_integer(failed + (sent - acked - failed)));
    json_object_set_new(out, "frames", json_integer(sent));
    json_object_set_new(out, "batch", json_integer(1));
    json_object_set_new(out, "connections", json_integer(n));
    json_object_set_new(out, "window", json_integer(cfg->window));
    json_object_set_new(out, "payload", json_integer(cfg->payload));
    json_object_set_new(out, "idempotency_keys", json_boolean(cfg->idem_keys));
    json_object_set_new(out, "loadgen_cpu_s", json_real(round((lg_self_cpu_s() - self0) * 100) / 100));
    if (error)
        json_object_set_new(out, "publish_error", json_string(error));
    json_object_set_new(out, "ok", json_boolean(!error && failed == 0 && acked == sent && acked > 0));
    lg_emit(out);
    for (int i = 0; i < n; i++) {
        free(cs[i].sent_ns);
        free(cs[i].out);
        free(cs[i].in);
        free(cs[i].text);
    }
    free(cs);
    free(th);
    return 0;
}
