/* SPDX-License-Identifier: MIT */
/* ws.c — WebSocket connections on wslay; see ws.h.
 *
 * Input: the loop's read buffer is handed to wslay_event_recv through the
 * recv callback. wslay parses frames without buffering data payloads (its
 * "no buffering" mode): ws.c gathers each message itself, so a frame whose
 * announced length would take the message past the socket's bound is
 * refused from its header (1009 "message too big") before one byte of it
 * is stored. Each message (and ping) takes a token from the socket's
 * bucket when it has a rate limit; an empty bucket closes it with 4008.
 * An endpoint may pause a socket (hv_ws_pause) while a message's work is
 * pending: reading stops, messages already parsed from the last read are
 * held, the unparsed rest of it is kept, and hv_ws_resume hands them on
 * later, from the loop, in order.
 * Output: wslay's own frames (control frames, replies) go through the send
 * callback, which always takes everything into the connection's queue, so
 * wslay never holds half a frame and shared event frames can be queued
 * between its frames safely.
 * Memory: a wslay context costs about 9 KiB, more than everything else a
 * subscriber needs. Most subscribers only listen, so the context exists
 * only while it holds state: it is freed once every byte received belongs
 * to a complete frame, no fragmented message is pending and nothing is
 * queued, and made again when the client next sends something or herald
 * needs to send a control frame.
 */
#include "net/ws.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "codec/ws_frame.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "hv_ws_shared.h"
#include "net/server.h"

#define CLOSE_GRACE_MS 2000
/* Input kept while paused: the rest of the read that paused the socket, and
 * whatever arrives if something else restarts reading meanwhile. */
#define MAX_KEPT_INPUT (1u << 20)

/* A message parsed while the socket was paused, waiting for hv_ws_resume. */
typedef struct held_msg {
    struct held_msg *next;
    int opcode;
    size_t len;
    uint8_t *data;
} held_msg;

typedef struct hv_ws {
    wslay_event_context_ptr ctx; /* NULL while idle; its user data is the hv_ws */
    hv_conn *conn;
    const hv_ws_handler *h;
    void *app;
    const uint8_t *in;
    size_t in_len;
    int64_t last_rx, ping_sent;
    int64_t auth_deadline;       /* loop ms; 0 = authenticated or no limit */
    uint64_t fed, framed;        /* bytes given to wslay / bytes of complete frames */
    uint64_t cur_frame;          /* size of the frame being received */
    uint8_t closing, notified, in_fragment, close_received;
    uint8_t in_recv, dead; /* handing on input (ws on the stack); closed meanwhile */
    uint8_t cur_data;      /* the frame being received is a data frame */
    uint8_t paused, resume_posted;
    const char *lost_reason;
    /* limits (hv_ws_set_limits) */
    size_t max_msg;
    double rate, burst, tokens;
    int64_t refill_at;
    /* the data message being received */
    uint8_t *msg;
    size_t msg_len, msg_cap;
    /* while paused */
    held_msg *held, **held_tail;
    char *kept;
    size_t kept_len;
} hv_ws;

static hv_ws *ws_of(hv_conn *c)
{
    return c->proto;
}

static int64_t now_ms(hv_conn *c)
{
    return (int64_t)uv_now(&c->loop->uv);
}

static void ws_free(hv_ws *ws)
{
    if (ws->ctx)
        wslay_event_context_free(ws->ctx);
    while (ws->held) {
        held_msg *m = ws->held;
        ws->held = m->next;
        free(m->data);
        free(m);
    }
    free(ws->msg);
    free(ws->kept);
    free(ws);
}

/* Refuses the stream from inside wslay (a bound passed): the close frame
 * with its reason, and nothing more is read. */
static void refuse(hv_ws *ws, uint16_t code, const char *reason)
{
    if (ws->closing)
        return;
    hv_debug("websocket: closing with %u %s", code, reason);
    ws->closing = 1;
    wslay_event_send(ws->ctx); /* what is owed first (pongs): wslay puts a close before them */
    wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason, strlen(reason));
    wslay_event_shutdown_read(ws->ctx);
    ws->conn->deadline = now_ms(ws->conn) + CLOSE_GRACE_MS;
    free(ws->msg);
    ws->msg = NULL;
    ws->msg_len = ws->msg_cap = 0;
}

/* One message's token from the socket's bucket; 0 when it is empty. */
static int take_token(hv_ws *ws)
{
    if (ws->rate <= 0)
        return 1;
    int64_t now = now_ms(ws->conn);
    ws->tokens += (double)(now - ws->refill_at) * ws->rate / 1000.0;
    if (ws->tokens > ws->burst)
        ws->tokens = ws->burst;
    ws->refill_at = now;
    if (ws->tokens < 1)
        return 0;
    ws->tokens -= 1;
    return 1;
}

static void keep_input(hv_ws *ws, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (ws->kept_len + len > MAX_KEPT_INPUT) {
        hv_warn("websocket: more than %u bytes arrived while paused, closing", MAX_KEPT_INPUT);
        hv_conn_close(ws->conn);
        return;
    }
    char *k = hv_xrealloc(ws->kept, ws->kept_len + len);
    memcpy(k + ws->kept_len, data, len);
    ws->kept = k;
    ws->kept_len += len;
}

/* ---- wslay callbacks ---------------------------------------------------- */

static ssize_t cb_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    hv_ws *ws = user;
    if (ws->paused) { /* the rest stays with ws_data, kept for hv_ws_resume */
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    ssize_t n = hv_ws_wslay_take(ctx, &ws->in, &ws->in_len, buf, len);
    if (n > 0)
        ws->fed += (uint64_t)n;
    return n;
}

static ssize_t cb_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
    (void)ctx, (void)flags;
    hv_ws *ws = user;
    if (!ws->dead)
        hv_conn_send_copy(ws->conn, data, len);
    return (ssize_t)len;
}

static void cb_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m, void *user)
{
    hv_ws *ws = user;
    hv_conn *c = ws->conn;
    if (ws->dead)
        return;
    if (m->opcode == WSLAY_PONG) {
        ws->ping_sent = 0;
        return;
    }
    if (m->opcode == WSLAY_CONNECTION_CLOSE || c->closing || ws->closing)
        return; /* wslay answers a close itself */
    if (!take_token(ws)) { /* a ping costs a pong: it counts too */
        refuse(ws, HV_WS_CLOSE_RATE_LIMITED, "rate limit exceeded");
        return;
    }
    if (m->opcode != WSLAY_TEXT_FRAME && m->opcode != WSLAY_BINARY_FRAME)
        return;
    /* Data payloads are not buffered by wslay: the message is ws->msg. */
    static uint8_t empty[1];
    uint8_t *data = ws->msg ? ws->msg : empty;
    size_t len = ws->msg_len;
    ws->msg = NULL;
    ws->msg_len = ws->msg_cap = 0;
    if (m->opcode == WSLAY_TEXT_FRAME && !hv_utf8_valid(data, len)) {
        wslay_event_queue_close(ctx, 1007, (const uint8_t *)"invalid UTF-8", 13);
    } else if (ws->paused) {
        held_msg *h = hv_xmalloc(sizeof(*h));
        *h = (held_msg){NULL, m->opcode, len, data == empty ? NULL : data};
        *ws->held_tail = h;
        ws->held_tail = &h->next;
        return;
    } else {
        ws->h->on_message(c, m->opcode, data, len);
    }
    if (data != empty)
        free(data);
}

/* Frame boundaries, to know when the context holds no state. Client
 * frames are always masked (wslay refuses others), so the header is
 * 2 + extended length + 4 bytes of mask. */
static void cb_frame_start(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *a, void *user)
{
    (void)ctx;
    hv_ws *ws = user;
    uint64_t len = a->payload_length;
    ws->cur_frame = 2 + (len > 65535 ? 8 : len > 125 ? 2 : 0) + 4 + len;
    ws->cur_data = a->opcode < 8;
    if (a->opcode < 8) /* data or continuation: fin ends a message */
        ws->in_fragment = !a->fin;
    if (ws->cur_data && len > ws->max_msg - ws->msg_len)
        refuse(ws, 1009, "message too big");
}

/* A piece of a data frame's payload (unmasked): appended to the message,
 * whose frames were checked against the bound at their headers. */
static void cb_chunk(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_chunk_arg *a, void *user)
{
    (void)ctx;
    hv_ws *ws = user;
    if (!ws->cur_data || ws->closing || a->data_length == 0)
        return;
    if (ws->msg_len + a->data_length > ws->msg_cap) {
        size_t cap = ws->msg_cap ? ws->msg_cap : 256;
        while (cap < ws->msg_len + a->data_length)
            cap *= 2;
        if (cap > ws->max_msg)
            cap = ws->max_msg;
        uint8_t *m = hv_xrealloc(ws->msg, cap);
        ws->msg = m;
        ws->msg_cap = cap;
    }
    memcpy(ws->msg + ws->msg_len, a->data, a->data_length);
    ws->msg_len += a->data_length;
}

static void cb_frame_end(wslay_event_context_ptr ctx, void *user)
{
    (void)ctx;
    hv_ws *ws = user;
    ws->framed += ws->cur_frame;
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = cb_recv, .send_callback = cb_send,
    .on_frame_recv_start_callback = cb_frame_start, .on_frame_recv_chunk_callback = cb_chunk,
    .on_frame_recv_end_callback = cb_frame_end, .on_msg_recv_callback = cb_msg};

static wslay_event_context_ptr ws_ctx(hv_conn *c)
{
    hv_ws *ws = ws_of(c);
    if (!ws->ctx) {
        if (wslay_event_context_server_init(&ws->ctx, &callbacks, ws) != 0)
            abort();
        /* ws.c bounds messages itself (cb_frame_start), with a reason. */
        wslay_event_config_set_no_buffering(ws->ctx, 1);
        wslay_event_config_set_max_recv_msg_length(ws->ctx, UINT64_MAX);
        ws->fed = ws->framed = 0;
    }
    return ws->ctx;
}

/* Frees the context when it holds nothing worth keeping. */
static void ws_release_idle(hv_ws *ws)
{
    if (!ws->ctx || ws->in_recv || ws->closing || ws->in_fragment || ws->fed != ws->framed ||
        wslay_event_want_write(ws->ctx) || !wslay_event_want_read(ws->ctx) ||
        wslay_event_get_close_sent(ws->ctx) || wslay_event_get_close_received(ws->ctx))
        return;
    wslay_event_context_free(ws->ctx);
    ws->ctx = NULL;
}

/* ---- connection ops ----------------------------------------------------- */

static void slow_consumer(hv_conn *c);

static void pump(hv_conn *c)
{
    hv_ws *ws = ws_of(c);
    if (c->closing || !ws->ctx)
        return;
    wslay_event_send(ws->ctx);
    if (hv_conn_over_limit(c) && !ws->closing) {
        /* Replies (pongs, answers) past --max-outbound: back-pressure
         * stops reading well before, so only a bug gets here. */
        slow_consumer(c);
        return;
    }
    if (wslay_event_get_close_received(ws->ctx))
        ws->close_received = 1;
    if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx))
        hv_conn_close_after_flush(c);
    else
        ws_release_idle(ws);
}

/* Hands bytes to wslay; whatever a pause leaves unread is kept. */
static void feed(hv_conn *c, const char *data, size_t len)
{
    hv_ws *ws = ws_of(c);
    wslay_event_context_ptr ctx = ws_ctx(c);
    ws->in = (const uint8_t *)data;
    ws->in_len = len;
    ws->in_recv = 1;
    int r = wslay_event_recv(ctx);
    if (ws->h->on_input_end && !ws->dead)
        ws->h->on_input_end(c);
    ws->in_recv = 0;
    if (ws->dead) { /* closed by a handler while wslay was running */
        ws_free(ws);
        return;
    }
    const uint8_t *unread = ws->in;
    size_t unread_len = ws->in_len;
    ws->in_len = 0;
    if (ws->paused && r == 0 && !ws->closing) {
        keep_input(ws, unread, unread_len); /* past its bound it closes c: ws is gone */
        if (c->closing)
            return;
    }
    if (r != 0) {
        /* wslay gave up on the stream (a protocol error it does not answer
         * itself, e.g. an oversized or fragmented control frame): say so
         * with 1002 before closing. */
        if (!ws->closing) {
            static const uint8_t payload[] = {0x03, 0xea, 'p', 'r', 'o', 't', 'o', 'c', 'o', 'l', ' ',
                                              'e', 'r', 'r', 'o', 'r'};
            hv_frame f = hv_ws_frame_new(0x8, payload, sizeof(payload));
            hv_conn_send_ref(c, f.buf, 0, f.buf->len);
            hv_sbuf_unref(f.buf);
            ws->closing = 1;
        }
        hv_conn_close_after_flush(c);
        return;
    }
    pump(c);
}

static void ws_data(hv_conn *c, const char *data, size_t len)
{
    hv_ws *ws = ws_of(c);
    ws->last_rx = now_ms(c);
    if (ws->paused) { /* reading was restarted by someone else: keep it for later */
        keep_input(ws, data, len);
        hv_conn_pause(c);
        return;
    }
    feed(c, data, len);
}

static void ws_eof(hv_conn *c, int status)
{
    (void)status;
    ws_of(c)->lost_reason = "connection lost";
    hv_conn_close(c);
}

static void ws_timeout(hv_conn *c, int64_t now)
{
    (void)now;
    hv_conn_close(c); /* the close handshake did not finish in time */
}

/* --auth-timeout: 1 when it closed c. Checked while paused too: a socket
 * paused before it authenticated (its token being looked up) keeps its
 * deadline. */
static int auth_expired(hv_conn *c, hv_ws *ws, int64_t now)
{
    if (!ws->auth_deadline || now < ws->auth_deadline)
        return 0;
    ws->auth_deadline = 0;
    if (c->authed)
        return 0;
    atomic_fetch_add_explicit(&c->loop->srv->metrics.auth_timeouts, 1, memory_order_relaxed);
    hv_ws_close(c, ws->h->auth_timeout_code ? ws->h->auth_timeout_code : 1008, "authentication timeout");
    return 1;
}

static void ws_tick(hv_conn *c, int64_t now)
{
    hv_ws *ws = ws_of(c);
    int64_t interval = (int64_t)(c->loop->srv->cfg.ping_interval_s * 1000);
    if (auth_expired(c, ws, now))
        return;
    if (ws->paused) { /* herald is not reading: the client's pong may be waiting unread */
        if (ws->h->on_tick)
            ws->h->on_tick(c, now);
        return;
    }
    if (c->bp_paused) {
        /* Not read while its output drains: a pong cannot be seen, and
         * the client's liveness is its write progress (--send-timeout). */
        ws->last_rx = now;
        ws->ping_sent = 0;
    }
    if (ws->ping_sent && now - ws->ping_sent >= interval) {
        hv_debug("websocket: no pong within %lld ms, closing", (long long)interval);
        ws->lost_reason = "heartbeat timeout";
        hv_conn_close(c);
        return;
    }
    if (ws->h->on_tick) {
        ws->h->on_tick(c, now);
        if (c->closing)
            return;
    }
    if (!ws->ping_sent && now - ws->last_rx >= interval) {
        struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
        wslay_event_queue_msg(ws_ctx(c), &ping);
        ws->ping_sent = now;
        pump(c);
    }
}

static void ws_on_close(hv_conn *c)
{
    hv_ws *ws = ws_of(c);
    /* Clean: the peer sent a close frame, or herald itself was closing it. */
    int clean = ws->close_received || ws->closing || (ws->ctx && wslay_event_get_close_received(ws->ctx));
    if (!ws->notified) {
        ws->notified = 1;
        ws->h->on_close(c, !clean, ws->lost_reason ? ws->lost_reason : "connection lost");
    }
    c->proto = NULL;
    if (ws->in_recv) { /* ws is on the stack: feed or drain frees it */
        ws->dead = 1;
        return;
    }
    ws_free(ws);
}

static void ws_shutdown(hv_conn *c)
{
    hv_ws *ws = ws_of(c);
    if (ws->h->on_shutdown && !ws->closing)
        ws->h->on_shutdown(c);
    else
        hv_ws_close(c, 1001, "server shutting down");
}

static void ws_stalled(hv_conn *c)
{
    /* No close frame: the client reads nothing. The endpoint hears why. */
    atomic_fetch_add_explicit(&c->loop->srv->metrics.slow_consumers, 1, memory_order_relaxed);
    ws_of(c)->lost_reason = "slow consumer";
}

static void ws_drained(hv_conn *c)
{
    hv_ws *ws = ws_of(c);
    if (ws->h->on_drained)
        ws->h->on_drained(c);
}

static const hv_conn_ops ws_ops = {
    .on_data = ws_data, .on_eof = ws_eof, .on_timeout = ws_timeout, .on_tick = ws_tick,
    .on_stalled = ws_stalled, .on_close = ws_on_close, .on_shutdown = ws_shutdown, .on_drained = ws_drained};

int hv_ws_accept(hv_conn *c, const hv_ws_handler *h, void *app, int kind)
{
    hv_http_req *r = hv_http_request(c);
    char accept[32], resp[256];
    if (hv_ws_handshake_check(c, r, accept) != 0)
        return -1;
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    hv_conn_send_copy(c, resp, (size_t)n);
    size_t rest_len;
    char *rest = hv_http_detach(c, &rest_len);

    hv_ws *ws = hv_xcalloc(1, sizeof(*ws));
    ws->conn = c;
    ws->h = h;
    ws->app = app;
    ws->last_rx = now_ms(c);
    ws->max_msg = c->loop->srv->cfg.max_ws_message;
    ws->held_tail = &ws->held;
    double auth_s = c->loop->srv->cfg.auth_timeout_s;
    if (!c->authed) /* every socket kind: none stays anonymous for long */
        ws->auth_deadline = ws->last_rx + (int64_t)(auth_s * 1000);
    c->proto = ws;
    c->ops = &ws_ops;
    hv_conn_set_kind(c, kind);
    hv_conn_resume(c);
    if (h->on_open)
        h->on_open(c);
    if (rest && !c->closing)
        ws_data(c, rest, rest_len);
    free(rest);
    return 0;
}

void *hv_ws_app(hv_conn *c)
{
    return c->ops == &ws_ops && c->proto ? ws_of(c)->app : NULL;
}

void hv_ws_set_limits(hv_conn *c, const hv_ws_limits *lim)
{
    if (c->closing || c->ops != &ws_ops)
        return;
    hv_ws *ws = ws_of(c);
    ws->max_msg = lim->max_message ? lim->max_message : c->loop->srv->cfg.max_ws_message;
    ws->rate = lim->rate;
    ws->burst = lim->burst >= 1 ? lim->burst : 1;
    ws->tokens = ws->burst;
    ws->refill_at = now_ms(c);
}

/* ---- pausing -------------------------------------------------------------- */

void hv_ws_pause(hv_conn *c)
{
    if (c->closing || c->ops != &ws_ops)
        return;
    ws_of(c)->paused = 1;
    hv_conn_pause(c);
}

/* Hands on what was held, in order, until the socket is paused again. */
static void drain(hv_conn *c)
{
    hv_ws *ws = ws_of(c);
    ws->in_recv = 1;
    while (ws->held && !ws->paused && !c->closing && !ws->closing) {
        held_msg *m = ws->held;
        if (!(ws->held = m->next))
            ws->held_tail = &ws->held;
        static uint8_t empty[1];
        ws->h->on_message(c, m->opcode, m->data ? m->data : empty, m->len);
        free(m->data);
        free(m);
    }
    if (ws->h->on_input_end && !ws->dead)
        ws->h->on_input_end(c);
    ws->in_recv = 0;
    if (ws->dead) {
        ws_free(ws);
        return;
    }
    if (c->closing || ws->paused)
        return;
    if (ws->kept) { /* also when closing: the client's close may be in it */
        char *kept = ws->kept;
        size_t n = ws->kept_len;
        ws->kept = NULL;
        ws->kept_len = 0;
        feed(c, kept, n); /* may pause again: its rest is kept anew */
        free(kept);
        if (c->closing || ws_of(c)->paused)
            return;
    }
    ws->last_rx = now_ms(c); /* its pong may have waited unread */
    ws->ping_sent = 0;
    hv_conn_resume(c);
    pump(c);
}

static void resume_now(hv_loop *l, void *arg)
{
    hv_conn *c = arg;
    if (!c->closing) {
        ws_of(c)->resume_posted = 0;
        if (!ws_of(c)->paused)
            drain(c);
    }
    hv_conn_release(c);
    hv_loop_flush(l);
}

void hv_ws_resume(hv_conn *c)
{
    if (c->closing || c->ops != &ws_ops || !ws_of(c)->paused)
        return;
    hv_ws *ws = ws_of(c);
    ws->paused = 0;
    /* From the loop, not from here: the caller (a commit's answer) runs
     * before the commit's events are sent, and the client must see those
     * before any answer to its next message. */
    if (!ws->resume_posted) {
        ws->resume_posted = 1;
        hv_conn_hold(c);
        hv_loop_post(c->loop, resume_now, c);
    }
}

/* ---- sending -------------------------------------------------------------- */

void hv_ws_send(hv_conn *c, int opcode, const void *data, size_t len)
{
    if (c->closing || c->ops != &ws_ops || ws_of(c)->closing)
        return;
    struct wslay_event_msg m = {(uint8_t)opcode, data, len};
    wslay_event_queue_msg(ws_ctx(c), &m);
    pump(c);
}

static void slow_consumer(hv_conn *c)
{
    hv_server *srv = c->loop->srv;
    atomic_fetch_add_explicit(&srv->metrics.slow_consumers, 1, memory_order_relaxed);
    hv_warn("websocket: closing slow consumer (%zu bytes queued)", c->qbytes);
    hv_conn_drop_queued(c);
    hv_ws_close(c, HV_WS_CLOSE_SLOW_CONSUMER, "slow consumer");
}

void hv_ws_send_frame(hv_conn *c, const hv_frame *f)
{
    if (c->closing || ws_of(c)->closing)
        return;
    size_t max = c->loop->srv->cfg.max_outbound;
    if (c->qbytes + f->buf->len > max) {
        /* Over the bound only counts what the kernel will not take: a big
         * batch to a fast reader is written out here, not held against it. */
        hv_conn_flush(c);
        if (c->closing)
            return;
        if (c->qbytes + f->buf->len > max) {
            slow_consumer(c);
            return;
        }
    }
    hv_conn_send_ref(c, f->buf, 0, f->buf->len);
}

int hv_ws_closing(hv_conn *c)
{
    return c->closing || c->ops != &ws_ops || ws_of(c)->closing;
}

void hv_ws_close(hv_conn *c, int code, const char *reason)
{
    if (c->closing || c->ops != &ws_ops)
        return;
    hv_ws *ws = ws_of(c);
    if (ws->closing)
        return;
    ws->closing = 1;
    wslay_event_queue_close(ws_ctx(c), (uint16_t)code, (const uint8_t *)reason, strlen(reason));
    c->deadline = now_ms(c) + CLOSE_GRACE_MS;
    pump(c);
}
