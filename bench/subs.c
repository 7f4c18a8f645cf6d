/* SPDX-License-Identifier: MIT */
/* subs.c — N WebSocket subscribers (of herald, or of Nchan) on one epoll.
 *
 * What a subscriber subscribes to:
 *   default     herald's server notifier (/socket/server/websocket, the
 *               server token in an auth frame, then a subscribe frame): every
 *               event;
 *   cfg.rooms   (herald) an app client of its own room: subscriber i opens
 *               /socket/peer/websocket?token=<JWT> with a user token it mints
 *               itself (HS256 with cfg.jwt_secret through OpenSSL's HMAC;
 *               sub "u<i>", rooms ["r<i>"], exp an hour ahead) and is
 *               subscribed once "authenticated" arrives;
 *   cfg.nchan   an Nchan WebSocket subscriber: GET /sub/<channel> (channel
 *               "bench", or "r<i>" with cfg.rooms); no auth, subscribed at
 *               the 101, and every text frame is one message whose body is
 *               the published data object (its "t" gives the latency; Nchan
 *               sends no id, so order is not checked).
 *
 * With cfg.nports, subscriber i connects to cfg.ports[i % nports] (the
 * nodes of one deployment; bench/nodes.sh), so they split evenly.
 *
 * Each subscriber is a non-blocking TCP socket that goes through:
 *   CONNECTING  connect() in progress, waiting for EPOLLOUT;
 *   HANDSHAKE   RFC 6455 upgrade request sent (random Sec-WebSocket-Key),
 *               reading the 101 answer and checking Sec-WebSocket-Accept =
 *               base64(SHA-1(key + GUID)) computed with OpenSSL libcrypto;
 *   AUTH        a wslay client context is made; the auth and subscribe text
 *               frames are queued back to back; waiting for "authenticated"
 *               and "subscribe_response" (these rare frames go through
 *               jansson);
 *   SUBSCRIBED  every text frame that starts with {"id":" is an event: the
 *               id is checked to grow, "t": is found with memmem after
 *               "data": and the publish->receipt latency is recorded;
 *   DEAD        closed by either side.
 * The epoll set is level-triggered; one read() of up to 64 KiB per ready
 * socket per turn goes into a shared buffer that wslay's recv callback then
 * serves from, so wslay parses frames (and answers pings with pongs) without
 * a syscall per frame. Receipt time is taken once per read().
 * New connections start at a bounded rate with a bounded number of
 * handshakes in flight. At the end every socket is closed with SO_LINGER 0
 * (an RST) so no TIME_WAIT is left to eat the ephemeral ports of the next run.
 */
#include "lg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

enum { ST_NEW, ST_CONNECTING, ST_HANDSHAKE, ST_AUTH, ST_SUBSCRIBED, ST_DEAD };

typedef struct handshake {
    char accept[32];   /* expected Sec-WebSocket-Accept */
    char req[768];     /* the upgrade request */
    size_t reqlen, reqsent;
    char resp[2048];   /* the answer so far */
    size_t resplen;
} handshake;

typedef struct conn {
    int fd;
    uint8_t state;
    uint8_t got_auth, got_sub, ever_subscribed;
    uint8_t want_out; /* EPOLLOUT is in the interest set */
    uint8_t doomed;   /* to close once wslay_event_recv returns */
    handshake *hs;    /* only while connecting */
    wslay_event_context_ptr ws;
    int64_t started_ns;
    uint64_t count;   /* events received */
    uint64_t last_id;
} conn;

struct lg_subs {
    lg_subs_cfg cfg;
    lg_hist *hist;
    int epfd;
    conn *conns;
    int next;    /* next subscriber to start */
    int pending; /* started, neither subscribed nor dead */
    lg_subs_stats st;
    struct sockaddr_in addr[LG_MAX_NODES]; /* one per port (cfg.ports) */
    int naddr;
    uint64_t rng;
    int64_t read_rt_ns; /* CLOCK_REALTIME of the read() being parsed */
    int64_t read_mono_ns;
    const uint8_t *feed; /* bytes wslay's recv callback hands out */
    size_t feedlen;
    uint8_t rbuf[65536];
};

static lg_subs *g_subs; /* the wslay callbacks reach the loop through this */

__attribute__((format(printf, 2, 3))) static void set_error(lg_subs *s, const char *fmt, ...)
{
    if (s->st.error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->st.error, sizeof s->st.error, fmt, ap);
    va_end(ap);
}

static void watch(lg_subs *s, conn *c, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)(c - s->conns)};
    if (epoll_ctl(s->epfd, op, c->fd, &ev) != 0)
        set_error(s, "epoll_ctl: %s", strerror(errno));
}

static void conn_kill(lg_subs *s, conn *c, int rst)
{
    if (c->state == ST_DEAD)
        return;
    if (c->state == ST_SUBSCRIBED)
        s->st.closed++;
    else if (c->state != ST_NEW) {
        s->st.failed++;
        s->pending--;
    }
    c->state = ST_DEAD;
    if (c->fd >= 0) {
        if (rst) {
            struct linger lg = {1, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(c->fd); /* also leaves the epoll set */
        c->fd = -1;
    }
    free(c->hs);
    c->hs = NULL;
    if (c->ws)
        wslay_event_context_free(c->ws);
    c->ws = NULL;
}

/* ---- wslay callbacks ---- */

static ssize_t cb_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user)
{
    (void)flags, (void)user;
    lg_subs *s = g_subs;
    if (!s->feedlen) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < s->feedlen ? len : s->feedlen;
    memcpy(buf, s->feed, n);
    s->feed += n;
    s->feedlen -= n;
    return (ssize_t)n;
}

static ssize_t cb_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)flags;
    conn *c = user;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
            if (!c->want_out) {
                c->want_out = 1;
                watch(g_subs, c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
            }
        } else
            wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static int cb_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx, (void)user;
    lg_subs *s = g_subs;
    for (size_t i = 0; i < len; i++) { /* xorshift64: masks need not be secret here */
        s->rng ^= s->rng << 13;
        s->rng ^= s->rng >> 7;
        s->rng ^= s->rng << 17;
        buf[i] = (uint8_t)s->rng;
    }
    return 0;
}

/* Parses the decimal digits at p (bounded by end); *ok tells if any. */
static uint64_t parse_u64(const char *p, const char *end, int *ok)
{
    uint64_t v = 0;
    *ok = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p++ - '0');
        *ok = 1;
    }
    return v;
}

static void on_event(lg_subs *s, conn *c, const char *m, size_t len)
{
    const char *end = m + len;
    int ok;
    uint64_t id = parse_u64(m + 7, end, &ok);
    if (id <= c->last_id)
        s->st.reordered++;
    c->last_id = id;
    c->count++;
    s->st.deliveries++;
    s->st.last_delivery_ns = s->read_mono_ns;
    const char *d = memmem(m, len, "\"data\":", 7);
    const char *t = d ? memmem(d, (size_t)(end - d), "\"t\":", 4) : NULL;
    uint64_t sent = t ? parse_u64(t + 4, end, &ok) : 0;
    if (!t || !ok) {
        s->st.bad++;
        return;
    }
    int64_t lat_ns = s->read_rt_ns - (int64_t)sent;
    lg_hist_record(s->hist, lat_ns > 0 ? (uint64_t)lat_ns / 1000 : 0);
}

/* Nchan: the frame is the published data object {"t":…,"pad":…}. */
static void on_nchan_msg(lg_subs *s, conn *c, const char *m, size_t len)
{
    c->count++;
    s->st.deliveries++;
    s->st.last_delivery_ns = s->read_mono_ns;
    const char *t = memmem(m, len, "\"t\":", 4);
    int ok = 0;
    uint64_t sent = t ? parse_u64(t + 4, m + len, &ok) : 0;
    if (!ok) {
        s->st.bad++;
        return;
    }
    int64_t lat_ns = s->read_rt_ns - (int64_t)sent;
    lg_hist_record(s->hist, lat_ns > 0 ? (uint64_t)lat_ns / 1000 : 0);
}

static void on_control(lg_subs *s, conn *c, const char *m, size_t len)
{
    json_error_t err;
    json_t *j = json_loadb(m, len, 0, &err);
    const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
    if (type && !strcmp(type, "authenticated"))
        c->got_auth = 1;
    else if (type && !strcmp(type, "subscribe_response"))
        c->got_sub = 1;
    else if (c->state != ST_SUBSCRIBED) {
        char snip[120];
        snprintf(snip, sizeof snip, "%.*s", (int)(len < 100 ? len : 100), m);
        set_error(s, "unexpected frame before subscribed: %s", snip);
        json_decref(j);
        c->doomed = 1; /* wslay is still running on this context */
        return;
    }
    json_decref(j);
    if (c->state == ST_AUTH && c->got_auth && c->got_sub) {
        c->state = ST_SUBSCRIBED;
        c->ever_subscribed = 1;
        s->st.subscribed++;
        s->pending--;
    }
}

static void cb_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    (void)ctx;
    lg_subs *s = g_subs;
    conn *c = user;
    if (c->doomed)
        return;
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        const char *m = (const char *)arg->msg;
        if (s->cfg.nchan)
            on_nchan_msg(s, c, m, arg->msg_length);
        else if (arg->msg_length > 7 && !memcmp(m, "{\"id\":\"", 7))
            on_event(s, c, m, arg->msg_length);
        else
            on_control(s, c, m, arg->msg_length);
    } else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        set_error(s, "server closed a subscriber, code %u", arg->status_code);
    }
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = cb_recv,
    .send_callback = cb_send,
    .genmask_callback = cb_genmask,
    .on_msg_recv_callback = cb_msg,
};

/* ---- connection steps ---- */

static void start_conn(lg_subs *s, conn *c)
{
    c->started_ns = lg_now_ns();
    c->state = ST_CONNECTING;
    s->pending++;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        set_error(s, "socket: %s", strerror(errno));
        conn_kill(s, c, 0);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const struct sockaddr_in *a = &s->addr[(c - s->conns) % s->naddr];
    if (connect(c->fd, (const struct sockaddr *)a, sizeof *a) != 0 && errno != EINPROGRESS) {
        set_error(s, "connect: %s", strerror(errno));
        conn_kill(s, c, 0);
        return;
    }
    c->want_out = 1;
    watch(s, c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* base64url without padding of n bytes into out (NUL-terminated). */
static size_t b64url(const unsigned char *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = 0;
    for (int k = 0; k < len; k++)
        out[k] = out[k] == '+' ? '-' : out[k] == '/' ? '_' : out[k];
    return (size_t)len;
}

/* A user token for subscriber i: HS256 over {"sub":"u<i>","exp":now+3600,
 * "rooms":["r<i>"]} (header {"alg":"HS256","typ":"JWT"}). */
static void mint_jwt(const char *secret, long i, char *out, size_t outlen)
{
    static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char claims[128];
    int cl = snprintf(claims, sizeof claims, "{\"sub\":\"u%06ld\",\"exp\":%lld,\"rooms\":[\"r%06ld\"]}",
                      i, (long long)(lg_realtime_ns() / 1000000000 + 3600), i);
    char buf[400];
    size_t n = b64url((const unsigned char *)hdr, sizeof hdr - 1, buf);
    buf[n++] = '.';
    n += b64url((const unsigned char *)claims, (size_t)cl, buf + n);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)buf, n, mac, &maclen);
    buf[n++] = '.';
    b64url(mac, maclen, buf + n);
    snprintf(out, outlen, "%s", buf);
}

static void make_request(lg_subs *s, conn *c)
{
    handshake *hs = c->hs = calloc(1, sizeof *hs);
    if (!hs)
        abort();
    unsigned char raw[16], key[32], digest[SHA_DIGEST_LENGTH];
    RAND_bytes(raw, sizeof raw);
    EVP_EncodeBlock(key, raw, sizeof raw); /* 24 chars */
    char cat[64];
    int catlen = snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (char *)key);
    SHA1((unsigned char *)cat, (size_t)catlen, digest);
    EVP_EncodeBlock((unsigned char *)hs->accept, digest, sizeof digest);
    char path[512];
    long i = (long)(c - s->conns);
    if (s->cfg.nchan && s->cfg.rooms)
        snprintf(path, sizeof path, "/sub/r%06ld", i);
    else if (s->cfg.nchan)
        snprintf(path, sizeof path, "/sub/bench");
    else if (s->cfg.rooms) {
        char jwt[400];
        mint_jwt(s->cfg.jwt_secret, i, jwt, sizeof jwt);
        snprintf(path, sizeof path, "/socket/peer/websocket?token=%s", jwt);
    } else
        snprintf(path, sizeof path, "/socket/server/websocket");
    hs->reqlen = (size_t)snprintf(hs->req, sizeof hs->req,
                                  "GET %s HTTP/1.1\r\n"
                                  "Host: %s:%d\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: %s\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n",
                                  path, s->cfg.host, ntohs(s->addr[i % s->naddr].sin_port),
                                  (char *)key);
}

static void send_request(lg_subs *s, conn *c)
{
    handshake *hs = c->hs;
    while (hs->reqsent < hs->reqlen) {
        ssize_t n = send(c->fd, hs->req + hs->reqsent, hs->reqlen - hs->reqsent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN)
                return; /* EPOLLOUT stays on */
            set_error(s, "handshake send: %s", strerror(errno));
            conn_kill(s, c, 1);
            return;
        }
        hs->reqsent += (size_t)n;
    }
    c->state = ST_HANDSHAKE;
    c->want_out = 0;
    watch(s, c, EPOLLIN, EPOLL_CTL_MOD);
}

/* Feeds bytes to wslay and flushes what it wants to send. */
static void ws_feed(lg_subs *s, conn *c, const uint8_t *p, size_t n)
{
    s->feed = p;
    s->feedlen = n;
    if (wslay_event_recv(c->ws) != 0) {
        set_error(s, "%s", "wslay_event_recv failed");
        conn_kill(s, c, 1);
        return;
    }
    if (c->doomed) {
        conn_kill(s, c, 1);
        return;
    }
    if (wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) {
        set_error(s, "%s", "wslay_event_send failed");
        conn_kill(s, c, 1);
        return;
    }
    if (!wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws))
        conn_kill(s, c, 0); /* close handshake finished */
}

static void open_ws(lg_subs *s, conn *c, const uint8_t *rest, size_t restlen)
{
    if (wslay_event_context_client_init(&c->ws, &callbacks, c) != 0)
        abort();
    wslay_event_config_set_max_recv_msg_length(c->ws, 1 << 20);
    c->state = ST_AUTH;
    if (s->cfg.nchan) { /* subscribed at the upgrade */
        c->state = ST_SUBSCRIBED;
        c->ever_subscribed = 1;
        s->st.subscribed++;
        s->pending--;
        ws_feed(s, c, rest, restlen);
        return;
    }
    if (s->cfg.rooms) { /* the token was on the upgrade: wait for "authenticated" */
        c->got_sub = 1;
        ws_feed(s, c, rest, restlen);
        return;
    }
    char auth[256];
    int alen = snprintf(auth, sizeof auth, "{\"type\":\"auth\",\"token\":\"%s\"}", s->cfg.token);
    static const char sub[] = "{\"type\":\"subscribe\",\"event_type\":\"server_notification\"}";
    struct wslay_event_msg m1 = {WSLAY_TEXT_FRAME, (const uint8_t *)auth, (size_t)alen};
    struct wslay_event_msg m2 = {WSLAY_TEXT_FRAME, (const uint8_t *)sub, sizeof sub - 1};
    wslay_event_queue_msg(c->ws, &m1);
    wslay_event_queue_msg(c->ws, &m2);
    ws_feed(s, c, rest, restlen); /* also sends the two frames */
}

static void read_handshake(lg_subs *s, conn *c)
{
    handshake *hs = c->hs;
    ssize_t n = read(c->fd, hs->resp + hs->resplen, sizeof hs->resp - 1 - hs->resplen);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        set_error(s, "handshake read: %s", n ? strerror(errno) : "closed by server");
        conn_kill(s, c, 0);
        return;
    }
    hs->resplen += (size_t)n;
    hs->resp[hs->resplen] = 0;
    char *eoh = strstr(hs->resp, "\r\n\r\n");
    if (!eoh) {
        if (hs->resplen >= sizeof hs->resp - 1) {
            set_error(s, "%s", "handshake answer too long");
            conn_kill(s, c, 1);
        }
        return;
    }
    *eoh = 0;
    int ok = !strncmp(hs->resp, "HTTP/1.1 101", 12);
    char *acc = NULL;
    for (char *line = strstr(hs->resp, "\r\n"); ok && line; line = strstr(line + 2, "\r\n"))
        if (!strncasecmp(line + 2, "Sec-WebSocket-Accept:", 21)) {
            acc = line + 23;
            while (*acc == ' ')
                acc++;
            break;
        }
    if (!ok || !acc || strncmp(acc, hs->accept, strlen(hs->accept))) {
        char *nl = strstr(hs->resp, "\r\n");
        if (nl)
            *nl = 0;
        set_error(s, "bad upgrade answer: %.160s", hs->resp);
        conn_kill(s, c, 1);
        return;
    }
    size_t head = (size_t)(eoh + 4 - hs->resp);
    uint8_t rest[sizeof hs->resp];
    size_t restlen = hs->resplen - head;
    memcpy(rest, hs->resp + head, restlen);
    free(c->hs);
    c->hs = NULL;
    open_ws(s, c, rest, restlen);
}

static void on_ready(lg_subs *s, conn *c, uint32_t events)
{
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            set_error(s, "connect: %s", strerror(err ? err : ECONNRESET));
            conn_kill(s, c, 0);
            return;
        }
        make_request(s, c);
        send_request(s, c);
        return;
    }
    if (c->state == ST_HANDSHAKE) {
        if (c->hs->reqsent < c->hs->reqlen)
            send_request(s, c);
        else
            read_handshake(s, c);
        return;
    }
    if (!c->ws)
        return;
    if ((events & EPOLLOUT) && c->want_out) {
        c->want_out = 0;
        watch(s, c, EPOLLIN, EPOLL_CTL_MOD);
        if (wslay_event_send(c->ws) != 0) {
            conn_kill(s, c, 1);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t n = read(c->fd, s->rbuf, sizeof s->rbuf);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            if (c->state == ST_SUBSCRIBED)
                set_error(s, "subscriber socket closed by server: %s",
                          n ? strerror(errno) : "EOF");
            else
                set_error(s, "auth/subscribe: socket closed: %s", n ? strerror(errno) : "EOF");
            conn_kill(s, c, 0);
            return;
        }
        s->read_rt_ns = lg_realtime_ns();
        s->read_mono_ns = lg_now_ns();
        ws_feed(s, c, s->rbuf, (size_t)n);
    }
}

/* ---- public ---- */

lg_subs *lg_subs_new(const lg_subs_cfg *cfg, lg_hist *hist)
{
    lg_subs *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    g_subs = s;
    s->cfg = *cfg;
    s->hist = hist;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->conns = calloc((size_t)(cfg->n > 0 ? cfg->n : 1), sizeof(conn));
    if (s->epfd < 0 || !s->conns)
        abort();
    for (int i = 0; i < cfg->n; i++)
        s->conns[i].fd = -1;
    s->naddr = cfg->nports > 0 ? cfg->nports : 1;
    for (int k = 0; k < s->naddr; k++) {
        s->addr[k].sin_family = AF_INET;
        s->addr[k].sin_port = htons((uint16_t)(cfg->nports > 0 ? cfg->ports[k] : cfg->port));
        inet_pton(AF_INET, cfg->host, &s->addr[k].sin_addr);
    }
    s->rng = (uint64_t)lg_now_ns() | 1;
    return s;
}

void lg_subs_run_once(lg_subs *s, int timeout_ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(s->epfd, evs, 512, timeout_ms);
    for (int i = 0; i < n; i++)
        on_ready(s, &s->conns[evs[i].data.u32], evs[i].events);
}

void lg_subs_connect_all(lg_subs *s)
{
    int64_t t0 = lg_now_ns(), last_check = t0;
    int64_t timeout_ns = (int64_t)(s->cfg.connect_timeout_s * 1e9);
    while (s->st.subscribed + s->st.failed < s->cfg.n) {
        int64_t now = lg_now_ns();
        long allowed = (long)((double)(now - t0) * s->cfg.connect_rate / 1e9) + 1;
        while (s->next < s->cfg.n && s->next < allowed && s->pending < s->cfg.max_pending)
            start_conn(s, &s->conns[s->next++]);
        int wait_ms = 50;
        if (s->next < s->cfg.n && s->pending < s->cfg.max_pending)
            wait_ms = 1;
        lg_subs_run_once(s, wait_ms);
        if (now - last_check > 200000000) { /* time out stuck handshakes */
            last_check = now;
            for (int i = 0; i < s->next; i++) {
                conn *c = &s->conns[i];
                if (c->state > ST_NEW && c->state < ST_SUBSCRIBED && now - c->started_ns > timeout_ns) {
                    set_error(s, "%s", "handshake/auth timed out");
                    conn_kill(s, c, 1);
                }
            }
        }
    }
}

const lg_subs_stats *lg_subs_stats_get(const lg_subs *s) { return &s->st; }

uint64_t lg_subs_missing(const lg_subs *s, uint64_t expect, uint64_t *dups)
{
    uint64_t missing = 0, extra = 0;
    for (int i = 0; i < s->cfg.n; i++) {
        const conn *c = &s->conns[i];
        if (!c->ever_subscribed)
            continue;
        uint64_t want = expect;
        if (s->cfg.rooms) /* k % n == i for k < expect */
            want = expect / (uint64_t)s->cfg.n + ((uint64_t)i < expect % (uint64_t)s->cfg.n);
        if (c->count < want)
            missing += want - c->count;
        else
            extra += c->count - want;
    }
    if (dups)
        *dups = extra;
    return missing;
}

void lg_subs_free(lg_subs *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->cfg.n; i++) {
        conn *c = &s->conns[i];
        if (c->state == ST_SUBSCRIBED)
            s->st.closed--; /* our own close, not the server's */
        conn_kill(s, c, 1);
    }
    close(s->epfd);
    free(s->conns);
    free(s);
    g_subs = NULL;
}
