/* SPDX-License-Identifier: MIT */
/* whrecv.c — the load generator's webhook receiver: a keep-alive HTTP/1.1
 * server on libuv + http-parser, on its own thread, that answers every
 * request "200 OK" (empty body) at once and counts what it got.
 *
 * Per request it reads the Standard Webhooks headers herald sends:
 *   webhook-id         msg_<event id>_<endpoint id>, or for an endpoint
 *                      with "batch" msg_<first>-<last>x<n>_<endpoint id>
 *                      (the whole id range is marked seen; when n is less
 *                      than the range, a filter left gaps: the ids are
 *                      read from the JSON array in the body)
 *   webhook-timestamp  Unix seconds
 *   webhook-signature  "v1,<base64 HMAC-SHA256>" (space-separated list)
 * and keeps, per endpoint id, a bitmap of the event ids seen, so the
 * distinct deliveries, the duplicates and (against what was acknowledged)
 * the missing ones can be told apart. One request in `verify_every` (and
 * always the first of each endpoint) has its signature checked: the HMAC
 * of "<id>.<timestamp>.<body>" keyed with the base64-decoded part of the
 * endpoint's "whsec_" secret must be one of the header's v1 signatures,
 * and the timestamp within 5 minutes of the clock.
 *
 * A request from herald's "http" sink module (one POST of a JSON array per
 * batch) carries herald-batch-first-id, herald-batch-last-id and
 * herald-batch-size instead: it counts for the endpoint "sink" (made on
 * first sight, nothing to verify), whose bitmap gets the whole id range;
 * a size that is not last - first + 1 counts as bad (the bench sink has no
 * filter, so its batches are runs of consecutive ids).
 *
 * The answers of all requests parsed from one read() go out in one
 * uv_try_write (uv_write for what did not fit). Counters are atomics the
 * main thread reads while the receiver runs; everything else belongs to
 * the receiver thread.
 */
#include "lg.h"

#include <http_parser.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define MAX_EPS 16
#define READ_BUF (64 * 1024)
#define BODY_CAP (256 * 1024)
#define RESP "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
#define RESP_LEN (sizeof(RESP) - 1)
#define RESP_BATCH 256

typedef struct rep {
    char id[80];
    uint8_t key[128];
    int keylen;       /* -1: no usable secret */
    uint8_t *seen;    /* bitmap by event id */
    size_t seen_bytes;
    uint64_t requests;
} rep;

typedef struct rconn {
    uv_tcp_t tcp;
    http_parser parser;
    lg_recv *r;
    char buf[READ_BUF];
    /* header being parsed */
    char field[64];
    size_t field_len;
    int last_was_value;
    int capture; /* 0 none, 1 id, 2 timestamp, 3 signature, 4-6 batch first/last/size */
    char hid[128], hts[32], hsig[512], hfirst[24], hlast[24], hsize[24];
    size_t hid_len, hts_len, hsig_len, hfirst_len, hlast_len, hsize_len;
    char *body;
    size_t body_len, body_cap;
    int done_msgs; /* answers owed for this read */
    int close_after;
} rconn;

struct lg_recv {
    uv_loop_t loop;
    uv_tcp_t server;
    uv_async_t stop;
    pthread_t thread;
    http_parser_settings settings;
    int port;
    int verify_every;
    char default_secret[128];
    rep eps[MAX_EPS];
    int neps;
    int nconns;
    int stopped;
    lg_recv_stats st;
    char resp_batch[RESP_BATCH * RESP_LEN];
};

/* ---- secrets and signatures ------------------------------------------------ */

/* "whsec_" + base64 -> key bytes; -1 when unusable. */
static int decode_secret(const char *secret, uint8_t *key, size_t cap)
{
    if (!secret || strncmp(secret, "whsec_", 6) != 0)
        return -1;
    const char *b = secret + 6;
    size_t len = strlen(b);
    char padded[200];
    if (len == 0 || len + 4 >= sizeof padded)
        return -1;
    memcpy(padded, b, len);
    while (len % 4)
        padded[len++] = '=';
    padded[len] = 0;
    int pad = (len >= 1 && padded[len - 1] == '=') + (len >= 2 && padded[len - 2] == '=');
    uint8_t out[200];
    int n = EVP_DecodeBlock(out, (const unsigned char *)padded, (int)len);
    if (n < 0)
        return -1;
    n -= pad;
    if (n <= 0 || (size_t)n > cap)
        return -1;
    memcpy(key, out, (size_t)n);
    return n;
}

static rep *ep_find(lg_recv *r, const char *id, size_t len)
{
    for (int i = 0; i < r->neps; i++)
        if (strlen(r->eps[i].id) == len && !memcmp(r->eps[i].id, id, len))
            return &r->eps[i];
    return NULL;
}

static rep *ep_add(lg_recv *r, const char *id, size_t len, const char *secret)
{
    if (r->neps == MAX_EPS || len >= sizeof r->eps[0].id)
        return NULL;
    rep *e = &r->eps[r->neps++];
    memset(e, 0, sizeof *e);
    memcpy(e->id, id, len);
    e->keylen = decode_secret(secret, e->key, sizeof e->key);
    atomic_store(&r->st.endpoints, r->neps);
    return e;
}

/* 1 when one of the header's v1 signatures is the HMAC of id.ts.body. */
static int verify(const rep *e, const rconn *c)
{
    if (e->keylen <= 0)
        return 0;
    size_t n = c->hid_len + 1 + c->hts_len + 1 + c->body_len;
    char *msg = malloc(n);
    if (!msg)
        return 0;
    char *p = msg;
    memcpy(p, c->hid, c->hid_len), p += c->hid_len, *p++ = '.';
    memcpy(p, c->hts, c->hts_len), p += c->hts_len, *p++ = '.';
    if (c->body_len)
        memcpy(p, c->body, c->body_len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), e->key, e->keylen, (const unsigned char *)msg, n, mac, &maclen);
    free(msg);
    char b64[128];
    int blen = EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
    /* the header: space-separated "v1,<sig>" entries */
    const char *s = c->hsig, *end = c->hsig + c->hsig_len;
    while (s < end) {
        while (s < end && *s == ' ')
            s++;
        const char *t = s;
        while (t < end && *t != ' ')
            t++;
        if (t - s == 3 + blen && !memcmp(s, "v1,", 3) && !memcmp(s + 3, b64, (size_t)blen))
            return 1;
        s = t;
    }
    return 0;
}

static void mark_seen(lg_recv *r, rep *e, uint64_t ev)
{
    size_t byte = (size_t)(ev >> 3);
    if (byte >= e->seen_bytes) {
        size_t nb = e->seen_bytes ? e->seen_bytes : 4096;
        while (nb <= byte)
            nb *= 2;
        uint8_t *g = realloc(e->seen, nb);
        if (!g)
            abort();
        memset(g + e->seen_bytes, 0, nb - e->seen_bytes);
        e->seen = g;
        e->seen_bytes = nb;
    }
    uint8_t bit = (uint8_t)(1u << (ev & 7));
    if (e->seen[byte] & bit) {
        atomic_fetch_add(&r->st.dups, 1);
    } else {
        e->seen[byte] |= bit;
        atomic_fetch_add(&r->st.deliveries, 1);
    }
}

/* ---- http-parser callbacks ------------------------------------------------ */

static void append(char *dst, size_t *len, size_t cap, const char *at, size_t n)
{
    size_t room = cap - *len;
    size_t take = n < room ? n : room;
    memcpy(dst + *len, at, take);
    *len += take;
}

static int on_message_begin(http_parser *p)
{
    rconn *c = p->data;
    c->field_len = 0;
    c->last_was_value = 0;
    c->capture = 0;
    c->hid_len = c->hts_len = c->hsig_len = 0;
    c->hfirst_len = c->hlast_len = c->hsize_len = 0;
    c->body_len = 0;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    rconn *c = p->data;
    if (c->last_was_value) {
        c->field_len = 0;
        c->last_was_value = 0;
    }
    append(c->field, &c->field_len, sizeof c->field, at, n);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    rconn *c = p->data;
    if (!c->last_was_value) {
        c->last_was_value = 1;
        c->capture = 0;
        if (c->field_len == 10 && !strncasecmp(c->field, "webhook-id", 10))
            c->capture = 1;
        else if (c->field_len == 17 && !strncasecmp(c->field, "webhook-timestamp", 17))
            c->capture = 2;
        else if (c->field_len == 17 && !strncasecmp(c->field, "webhook-signature", 17))
            c->capture = 3;
        else if (c->field_len == 21 && !strncasecmp(c->field, "herald-batch-first-id", 21))
            c->capture = 4;
        else if (c->field_len == 20 && !strncasecmp(c->field, "herald-batch-last-id", 20))
            c->capture = 5;
        else if (c->field_len == 17 && !strncasecmp(c->field, "herald-batch-size", 17))
            c->capture = 6;
    }
    if (c->capture == 1)
        append(c->hid, &c->hid_len, sizeof c->hid, at, n);
    else if (c->capture == 2)
        append(c->hts, &c->hts_len, sizeof c->hts - 1, at, n);
    else if (c->capture == 3)
        append(c->hsig, &c->hsig_len, sizeof c->hsig, at, n);
    else if (c->capture == 4)
        append(c->hfirst, &c->hfirst_len, sizeof c->hfirst - 1, at, n);
    else if (c->capture == 5)
        append(c->hlast, &c->hlast_len, sizeof c->hlast - 1, at, n);
    else if (c->capture == 6)
        append(c->hsize, &c->hsize_len, sizeof c->hsize - 1, at, n);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    rconn *c = p->data;
    if (c->body_len + n > c->body_cap) {
        size_t nc = c->body_cap ? c->body_cap : 1024;
        while (nc < c->body_len + n && nc < BODY_CAP)
            nc *= 2;
        if (nc < c->body_len + n)
            n = nc - c->body_len; /* cap it: the count is what matters */
        char *g = realloc(c->body, nc);
        if (!g)
            abort();
        c->body = g;
        c->body_cap = nc;
    }
    memcpy(c->body + c->body_len, at, n);
    c->body_len += n;
    return 0;
}

/* A batch with gaps (a payload filter): its body is a JSON array of n
 * events whose "id"s rise from first to last; each is marked seen. */
static int mark_batch_ids(lg_recv *r, rep *e, const char *body, size_t len, uint64_t first, uint64_t last,
                          uint64_t n)
{
    json_t *a = json_loadb(body, len, 0, NULL);
    int ok = json_is_array(a) && json_array_size(a) == n;
    uint64_t prev = 0;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *id = json_object_get(json_array_get(a, i), "id");
        uint64_t v = json_is_string(id) ? strtoull(json_string_value(id), NULL, 10)
                     : json_is_integer(id) ? (uint64_t)json_integer_value(id) : 0;
        ok = v > prev && (i || v == first) && (i + 1 < n || v == last);
        prev = v;
        if (ok)
            mark_seen(r, e, v);
    }
    json_decref(a);
    return ok;
}

static int on_message_complete(http_parser *p)
{
    rconn *c = p->data;
    lg_recv *r = c->r;
    c->done_msgs++;
    if (!http_should_keep_alive(p))
        c->close_after = 1;
    uint64_t nreq = atomic_fetch_add(&r->st.requests, 1) + 1;
    int64_t now = lg_now_ns();
    if (nreq == 1)
        atomic_store(&r->st.first_ns, now);
    atomic_store(&r->st.last_ns, now);
    if (c->hfirst_len && c->hlast_len) { /* a batch of the http sink module */
        c->hfirst[c->hfirst_len] = c->hlast[c->hlast_len] = c->hsize[c->hsize_len] = 0;
        uint64_t first = strtoull(c->hfirst, NULL, 10), last = strtoull(c->hlast, NULL, 10);
        rep *e = ep_find(r, "sink", 4);
        if (!e)
            e = ep_add(r, "sink", 4, NULL);
        if (!e || first == 0 || last < first || last > (1ULL << 36) ||
            strtoull(c->hsize, NULL, 10) != last - first + 1) {
            atomic_fetch_add(&r->st.bad, 1);
            return 0;
        }
        e->requests++;
        for (uint64_t ev = first; ev <= last; ev++)
            mark_seen(r, e, ev);
        return 0;
    }
    /* msg_<event id>_<endpoint id> */
    if (c->hid_len < 6 || memcmp(c->hid, "msg_", 4) != 0) {
        atomic_fetch_add(&r->st.bad, 1);
        return 0;
    }
    char *q = c->hid + 4, *end = c->hid + c->hid_len;
    uint64_t ev = 0;
    while (q < end && *q >= '0' && *q <= '9')
        ev = ev * 10 + (uint64_t)(*q++ - '0');
    uint64_t last = ev, n = 1;
    if (q < end && *q == '-') { /* a batched JSON endpoint: msg_<first>-<last>x<n>_<endpoint> */
        last = n = 0;
        for (q++; q < end && *q >= '0' && *q <= '9'; q++)
            last = last * 10 + (uint64_t)(*q - '0');
        if (q < end && *q == 'x')
            for (q++; q < end && *q >= '0' && *q <= '9'; q++)
                n = n * 10 + (uint64_t)(*q - '0');
    }
    /* a run of consecutive ids, or fewer when a payload filter left gaps */
    if (q == end || *q != '_' || ev == 0 || last > (1ULL << 36) || last < ev || n > last - ev + 1 || !n) {
        atomic_fetch_add(&r->st.bad, 1);
        return 0;
    }
    q++;
    rep *e = ep_find(r, q, (size_t)(end - q));
    if (!e && r->default_secret[0])
        e = ep_add(r, q, (size_t)(end - q), r->default_secret);
    if (!e) {
        atomic_fetch_add(&r->st.bad, 1);
        return 0;
    }
    e->requests++;
    if (n == last - ev + 1) {
        for (uint64_t x = ev; x <= last; x++)
            mark_seen(r, e, x);
    } else if (!mark_batch_ids(r, e, c->body, c->body_len, ev, last, n)) {
        atomic_fetch_add(&r->st.bad, 1);
        return 0;
    }
    if (e->requests == 1 || (r->verify_every > 0 && nreq % (uint64_t)r->verify_every == 0)) {
        c->hts[c->hts_len] = 0;
        long long ts = atoll(c->hts);
        long long skew = ts - (long long)time(NULL);
        if (verify(e, c) && skew > -300 && skew < 300)
            atomic_fetch_add(&r->st.verified, 1);
        else
            atomic_fetch_add(&r->st.bad_sig, 1);
    }
    return 0;
}

/* ---- libuv side ------------------------------------------------------------ */

static void on_closed(uv_handle_t *h)
{
    rconn *c = h->data;
    c->r->nconns--;
    free(c->body);
    free(c);
}

static void close_conn(rconn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    rconn *c = h->data;
    buf->base = c->buf;
    buf->len = sizeof c->buf;
}

typedef struct wreq {
    uv_write_t req;
    rconn *c;
} wreq;

static void on_written(uv_write_t *w, int status)
{
    wreq *wr = (wreq *)w;
    if (status < 0)
        close_conn(wr->c);
    free(wr);
}

/* Sends n answers: try_write first, uv_write (queued) for the rest. */
static void answer(rconn *c, int n)
{
    lg_recv *r = c->r;
    while (n > 0) {
        int k = n < RESP_BATCH ? n : RESP_BATCH;
        n -= k;
        uv_buf_t b = uv_buf_init(r->resp_batch, (unsigned)(k * RESP_LEN));
        int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (w == (int)b.len)
            continue;
        if (w < 0 && w != UV_EAGAIN) {
            close_conn(c);
            return;
        }
        if (w > 0) {
            b.base += w;
            b.len -= (unsigned)w;
        }
        wreq *wr = malloc(sizeof *wr);
        if (!wr)
            abort();
        wr->c = c;
        if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
            free(wr);
            close_conn(c);
            return;
        }
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    rconn *c = s->data;
    if (nread < 0) {
        close_conn(c);
        return;
    }
    if (nread == 0)
        return;
    c->done_msgs = 0;
    size_t used = http_parser_execute(&c->parser, &c->r->settings, buf->base, (size_t)nread);
    if (c->done_msgs)
        answer(c, c->done_msgs);
    if (used != (size_t)nread || HTTP_PARSER_ERRNO(&c->parser) != HPE_OK) {
        atomic_fetch_add(&c->r->st.bad, 1);
        close_conn(c);
        return;
    }
    if (c->close_after)
        close_conn(c);
}

static void free_handle(uv_handle_t *h)
{
    free(h->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    lg_recv *r = server->data;
    if (status < 0)
        return;
    rconn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->r = r;
    uv_tcp_init(&r->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, free_handle);
        return;
    }
    r->nconns++;
    atomic_fetch_add(&r->st.connections, 1);
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    if (h->type == UV_TCP && h->data && h->data != arg)
        uv_close(h, on_closed);
    else
        uv_close(h, NULL);
}

static void on_stop(uv_async_t *a)
{
    lg_recv *r = a->data;
    uv_walk(&r->loop, close_walk, r);
}

static void *run(void *arg)
{
    lg_recv *r = arg;
    uv_run(&r->loop, UV_RUN_DEFAULT);
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    r->st.cpu_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return NULL;
}

lg_recv *lg_recv_start(const char *host, int port, int verify_every, const char *default_secret)
{
    lg_recv *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->verify_every = verify_every;
    if (default_secret)
        snprintf(r->default_secret, sizeof r->default_secret, "%s", default_secret);
    for (int i = 0; i < RESP_BATCH; i++)
        memcpy(r->resp_batch + (size_t)i * RESP_LEN, RESP, RESP_LEN);
    r->settings.on_message_begin = on_message_begin;
    r->settings.on_header_field = on_header_field;
    r->settings.on_header_value = on_header_value;
    r->settings.on_body = on_body;
    r->settings.on_message_complete = on_message_complete;
    uv_loop_init(&r->loop);
    uv_tcp_init(&r->loop, &r->server);
    r->server.data = r;
    struct sockaddr_in a;
    uv_ip4_addr(host, port, &a);
    int rc = uv_tcp_bind(&r->server, (const struct sockaddr *)&a, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&r->server, 1024, on_connection);
    if (rc != 0) {
        fprintf(stderr, "loadgen: receiver cannot listen on %s:%d: %s\n", host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)&r->server, NULL);
        uv_run(&r->loop, UV_RUN_DEFAULT);
        uv_loop_close(&r->loop);
        free(r);
        return NULL;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_getsockname(&r->server, (struct sockaddr *)&ss, &len);
    r->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    uv_async_init(&r->loop, &r->stop, on_stop);
    r->stop.data = r;
    if (pthread_create(&r->thread, NULL, run, r) != 0)
        abort();
    return r;
}

int lg_recv_port(const lg_recv *r)
{
    return r->port;
}

/* Called before any delivery for that endpoint can arrive (before the
 * publish starts): the receiver thread only reads the table after a
 * request that the main thread's later calls caused. */
int lg_recv_add_endpoint(lg_recv *r, const char *id, const char *secret)
{
    return ep_add(r, id, strlen(id), secret) ? 0 : -1;
}

const lg_recv_stats *lg_recv_stats_get(const lg_recv *r)
{
    return &r->st;
}

void lg_recv_stop(lg_recv *r)
{
    if (!r || r->stopped)
        return;
    r->stopped = 1;
    uv_async_send(&r->stop);
    pthread_join(r->thread, NULL);
    uv_loop_close(&r->loop);
}

void lg_recv_free(lg_recv *r)
{
    if (!r)
        return;
    lg_recv_stop(r);
    for (int i = 0; i < r->neps; i++)
        free(r->eps[i].seen);
    free(r);
}

int lg_recv_endpoints(const lg_recv *r)
{
    return r->neps;
}

/* Distinct event ids in [first, last] endpoint i got (receiver stopped). */
uint64_t lg_recv_seen_range(const lg_recv *r, int i, uint64_t first, uint64_t last)
{
    if (!r->stopped || i < 0 || i >= r->neps)
        return 0;
    const rep *e = &r->eps[i];
    uint64_t n = 0;
    for (uint64_t ev = first; ev <= last; ev++) {
        size_t byte = (size_t)(ev >> 3);
        if (byte < e->seen_bytes && (e->seen[byte] & (1u << (ev & 7))))
            n++;
    }
    return n;
}
