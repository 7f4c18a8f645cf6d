/* SPDX-License-Identifier: MIT */
/* ws_client.c — a WebSocket client (RFC 6455) on a libuv loop.
 *
 * Steps: uv_getaddrinfo resolves the host; uv_tcp_connect tries each
 * address in turn; the opening handshake (ws_handshake.c) is written as
 * one request and its response parsed as it arrives. Then a wslay event
 * context in client mode does the framing: bytes read from the socket are
 * handed to wslay_event_recv through recv_callback (which answers
 * WSLAY_ERR_WOULDBLOCK once the chunk is used up), and wslay_event_send
 * hands each outgoing frame (masked with RAND_bytes keys) to send_callback,
 * which copies it into a uv_write. wslay answers pings and close frames by
 * itself. When wslay wants neither to read nor to write any more, the
 * connection is over.
 *
 * Life cycle: on_end is called once with the close code (the server's, or
 * 1006 when the connection failed or broke), then every handle is closed
 * and on_released is called once nothing of ws is in use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "client_internal.h"
#include "hv_ws_shared.h"

#define CLOSE_WAIT_MS 2000
#define MAX_MESSAGE (64u * 1024 * 1024)

typedef struct write_req {
    uv_write_t req;
    herald_ws *ws;
    char data[];
} write_req;

static void finish(herald_ws *ws, int code, const char *reason, int notify);

static void unpend(herald_ws *ws)
{
    if (--ws->pending == 0 && ws->state == HERALD_WS_ENDED && ws->cb.on_released)
        ws->cb.on_released(ws, ws->user);
}

static void on_handle_closed(uv_handle_t *h)
{
    unpend(h->data);
}

static void on_write_done(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    herald_ws *ws = w->ws;
    free(w);
    if (status < 0 && status != UV_ECANCELED && ws->state != HERALD_WS_ENDED) {
        snprintf(ws->last_error, sizeof(ws->last_error), "send failed: %s", uv_strerror(status));
        finish(ws, 1006, ws->last_error, 1);
    }
    unpend(ws);
}

/* Queues raw bytes on the socket. */
static int write_bytes(herald_ws *ws, const void *data, size_t len)
{
    write_req *w = malloc(sizeof(*w) + len);
    if (!w)
        return HERALD_ENOMEM;
    w->ws = ws;
    memcpy(w->data, data, len);
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&ws->tcp, &buf, 1, on_write_done);
    if (rc < 0) {
        free(w);
        return HERALD_ENET;
    }
    ws->pending++;
    return 0;
}

/* ---- wslay callbacks ---- */

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *user)
{
    (void)flags;
    herald_ws *ws = user;
    return hv_ws_wslay_take(ctx, &ws->in, &ws->in_len, buf, len);
}

/* wslay hands over each frame (in chunks); they are gathered into one
 * write request per pump, so that a burst of small frames (a publisher's
 * pipeline) costs one uv_write and one syscall, not one per frame. */
static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                          int flags, void *user)
{
    (void)flags;
    herald_ws *ws = user;
    size_t need = ws->out_len + len;
    if (need > ws->out_cap) {
        size_t cap = ws->out_cap ? ws->out_cap : 4096;
        while (cap < need)
            cap *= 2;
        write_req *w = realloc(ws->out, sizeof(*w) + cap);
        if (!w) {
            wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
            return -1;
        }
        ws->out = w;
        ws->out_cap = cap;
    }
    memcpy(ws->out->data + ws->out_len, data, len);
    ws->out_len = need;
    return (ssize_t)len;
}

/* Writes what ws_send_cb gathered; the request owns the buffer now. */
static int flush_out(herald_ws *ws)
{
    write_req *w = ws->out;
    size_t len = ws->out_len;
    ws->out = NULL;
    ws->out_len = ws->out_cap = 0;
    if (!w || len == 0) {
        free(w);
        return 0;
    }
    w->ws = ws;
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&ws->tcp, &buf, 1, on_write_done) < 0) {
        free(w);
        return HERALD_ENET;
    }
    ws->pending++;
    return 0;
}

static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)user;
    if (RAND_bytes(buf, (int)len) != 1) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return 0;
}

/* The close frame's payload is kept as it arrives: wslay 1.1.1 refuses
 * the close codes registered after its table (1012 service restart, 1013
 * try again later, 1014 bad gateway) as a protocol error without passing
 * the frame on, and the server uses 1012 and 1013 to say "reconnect". */
static void ws_frame_start_cb(wslay_event_context_ptr ctx,
                              const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
    (void)ctx;
    herald_ws *ws = user;
    ws->in_close = arg->opcode == WSLAY_CONNECTION_CLOSE;
    ws->close_frame_len = 0;
}

static void ws_frame_chunk_cb(wslay_event_context_ptr ctx,
                              const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user)
{
    (void)ctx;
    herald_ws *ws = user;
    size_t room = sizeof(ws->close_frame) - ws->close_frame_len;
    size_t n = arg->data_length < room ? arg->data_length : room;
    if (ws->in_close && n) {
        memcpy(ws->close_frame + ws->close_frame_len, arg->data, n);
        ws->close_frame_len += n;
    }
}

static void ws_frame_end_cb(wslay_event_context_ptr ctx, void *user)
{
    (void)ctx;
    herald_ws *ws = user;
    if (!ws->in_close || ws->close_frame_len < 2)
        return;
    ws->in_close = 0;
    int code = ws->close_frame[0] << 8 | ws->close_frame[1];
    if (code < 1012 || code > 1014 || ws->close_code)
        return; /* wslay passes the others on itself (ws_msg_cb) */
    size_t rlen = ws->close_frame_len - 2;
    if (rlen > sizeof(ws->close_reason) - 1)
        rlen = sizeof(ws->close_reason) - 1;
    memcpy(ws->close_reason, ws->close_frame + 2, rlen);
    ws->close_reason[rlen] = '\0';
    ws->close_code = code;
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    (void)ctx;
    herald_ws *ws = user;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        ws->close_code = arg->status_code ? arg->status_code : 1005;
        size_t rlen = arg->msg_length > 2 ? arg->msg_length - 2 : 0;
        if (rlen > sizeof(ws->close_reason) - 1)
            rlen = sizeof(ws->close_reason) - 1;
        if (rlen)
            memcpy(ws->close_reason, arg->msg + 2, rlen);
        ws->close_reason[rlen] = '\0';
        return;
    }
    if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
        return; /* ping / pong: wslay answers pings itself */
    if (ws->state != HERALD_WS_OPEN && ws->state != HERALD_WS_CLOSING)
        return;
    if (ws->cb.on_message)
        ws->cb.on_message(ws, arg->opcode == WSLAY_TEXT_FRAME, arg->msg, arg->msg_length,
                          ws->user);
}

/* Sends what wslay has queued, then ends the connection if wslay is done
 * in both directions. */
static void pump(herald_ws *ws)
{
    if (ws->state == HERALD_WS_ENDED || !ws->ctx)
        return;
    if (wslay_event_want_write(ws->ctx)) {
        int send_failed = wslay_event_send(ws->ctx) != 0;
        /* what wslay did queue goes out even when it then failed */
        if (flush_out(ws) != 0 || send_failed) {
            finish(ws, 1006, "send failed", 1);
            return;
        }
    }
    if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx)) {
        if (ws->close_code)
            finish(ws, ws->close_code, ws->close_reason, 1);
        else
            finish(ws, 1006, "websocket protocol error", 1);
    }
}

/* ---- ending ---- */

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, on_handle_closed);
}

/* Ends the connection: reports (if notify) and closes every handle. */
static void finish(herald_ws *ws, int code, const char *reason, int notify)
{
    if (ws->state == HERALD_WS_ENDED)
        return;
    enum herald_ws_state was = ws->state;
    ws->state = HERALD_WS_ENDED;
    ws->pending++; /* hold on_released until the end of this function */
    if (notify && ws->cb.on_end)
        ws->cb.on_end(ws, code, reason ? reason : "", ws->user);
    if (was == HERALD_WS_RESOLVING)
        uv_cancel((uv_req_t *)&ws->resolve);
    if (ws->tcp_open)
        close_handle((uv_handle_t *)&ws->tcp);
    close_handle((uv_handle_t *)&ws->close_timer);
    unpend(ws);
}

void herald__ws_abort(herald_ws *ws, int code, const char *reason)
{
    finish(ws, code, reason, 1);
}

static void on_close_timeout(uv_timer_t *t)
{
    herald_ws *ws = t->data;
    finish(ws, ws->close_code ? ws->close_code : 1000,
           ws->close_code ? ws->close_reason : "closed (no close reply from the server)", 1);
}

void herald__ws_close(herald_ws *ws, int code, const char *reason)
{
    if (ws->state == HERALD_WS_ENDED)
        return;
    if (ws->state != HERALD_WS_OPEN) {
        if (ws->state != HERALD_WS_CLOSING)
            finish(ws, code, reason ? reason : "closed by the client", 1);
        return;
    }
    ws->state = HERALD_WS_CLOSING;
    size_t rlen = reason ? strlen(reason) : 0;
    if (rlen > 123)
        rlen = 123;
    wslay_event_queue_close(ws->ctx, (uint16_t)code, (const uint8_t *)reason, rlen);
    uv_timer_start(&ws->close_timer, on_close_timeout, CLOSE_WAIT_MS, 0);
    pump(ws);
}

int herald__ws_queue_text(herald_ws *ws, const char *text, size_t len)
{
    if (ws->state != HERALD_WS_OPEN)
        return HERALD_ESTATE;
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};
    return wslay_event_queue_msg(ws->ctx, &msg) != 0 ? HERALD_ENOMEM : 0;
}

void herald__ws_flush(herald_ws *ws)
{
    if (ws->state == HERALD_WS_OPEN || ws->state == HERALD_WS_CLOSING)
        pump(ws);
}

int herald__ws_send_text(herald_ws *ws, const char *text, size_t len)
{
    int rc = herald__ws_queue_text(ws, text, len);
    if (rc == 0)
        pump(ws);
    return rc;
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base ? suggested : 0;
}

static void start_websocket(herald_ws *ws, const char *rest, size_t rest_len)
{
    struct wslay_event_callbacks cbs = {
        ws_recv_cb, ws_send_cb, ws_genmask_cb, ws_frame_start_cb, ws_frame_chunk_cb,
        ws_frame_end_cb, ws_msg_cb,
    };
    if (wslay_event_context_client_init(&ws->ctx, &cbs, ws) != 0) {
        ws->ctx = NULL;
        finish(ws, 1006, "out of memory", 1);
        return;
    }
    wslay_event_config_set_max_recv_msg_length(ws->ctx, MAX_MESSAGE);
    ws->state = HERALD_WS_OPEN;
    if (ws->cb.on_open)
        ws->cb.on_open(ws, ws->user);
    if (ws->state == HERALD_WS_ENDED)
        return;
    if (rest_len) { /* frames that came with the handshake response */
        ws->in = (const uint8_t *)rest;
        ws->in_len = rest_len;
        int rc = wslay_event_recv(ws->ctx);
        ws->in = NULL; /* rest belongs to the caller's buffer */
        ws->in_len = 0;
        if (rc != 0) {
            finish(ws, 1006, "websocket protocol error", 1);
            return;
        }
    }
    pump(ws);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    herald_ws *ws = s->data;
    if (nread < 0) {
        free(buf->base);
        if (ws->close_code)
            finish(ws, ws->close_code, ws->close_reason, 1);
        else if (nread == UV_EOF)
            finish(ws, 1006, "connection closed without a close frame", 1);
        else {
            snprintf(ws->last_error, sizeof(ws->last_error), "receive failed: %s",
                     uv_strerror((int)nread));
            finish(ws, 1006, ws->last_error, 1);
        }
        return;
    }
    if (nread == 0 || ws->state == HERALD_WS_ENDED) {
        free(buf->base);
        return;
    }
    if (ws->state == HERALD_WS_HANDSHAKE) {
        size_t used = 0;
        int rc = herald__ws_handshake_feed(&ws->hs, buf->base, (size_t)nread, &used);
        if (rc < 0)
            finish(ws, 1006, ws->hs.error, 1);
        else if (rc > 0)
            start_websocket(ws, buf->base + used, (size_t)nread - used);
        free(buf->base);
        return;
    }
    ws->in = (const uint8_t *)buf->base;
    ws->in_len = (size_t)nread;
    int rc = wslay_event_recv(ws->ctx);
    ws->in = NULL;
    ws->in_len = 0;
    free(buf->base);
    if (rc != 0) {
        finish(ws, 1006, "websocket protocol error", 1);
        return;
    }
    pump(ws);
}

/* ---- connecting ---- */

static void try_next_address(herald_ws *ws);

/* A socket whose connect failed is closed before the next address gets
 * the handle. */
static void on_failed_tcp_closed(uv_handle_t *h)
{
    herald_ws *ws = h->data;
    if (ws->state == HERALD_WS_CONNECTING)
        try_next_address(ws);
    unpend(ws);
}

static void drop_failed_tcp(herald_ws *ws, int status)
{
    snprintf(ws->last_error, sizeof(ws->last_error), "connect to %s:%u failed: %s", ws->host,
             (unsigned)ws->port, uv_strerror(status));
    ws->tcp_open = 0;
    uv_close((uv_handle_t *)&ws->tcp, on_failed_tcp_closed);
}

static void on_connected(uv_connect_t *req, int status)
{
    herald_ws *ws = req->data;
    if (ws->state != HERALD_WS_CONNECTING) {
        unpend(ws);
        return;
    }
    if (status < 0) {
        drop_failed_tcp(ws, status);
        unpend(ws);
        return;
    }
    char *req_text = NULL;
    size_t req_len = 0;
    ws->state = HERALD_WS_HANDSHAKE;
    if (herald__ws_handshake_begin(&ws->hs, ws->host, ws->port, ws->path, ws->headers,
                                   &req_text, &req_len) != 0 ||
        write_bytes(ws, req_text, req_len) != 0 ||
        uv_read_start((uv_stream_t *)&ws->tcp, on_alloc, on_read) != 0)
        finish(ws, 1006, "could not send the handshake", 1);
    free(req_text);
    unpend(ws);
}

/* Connects to the next resolved address, or ends with the last error. */
static void try_next_address(herald_ws *ws)
{
    while (ws->next_addr) {
        struct addrinfo *ai = ws->next_addr;
        ws->next_addr = ai->ai_next;
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        if (uv_tcp_init(ws->loop, &ws->tcp) != 0)
            break;
        ws->tcp.data = ws;
        ws->tcp_open = 1;
        ws->pending++;
        uv_tcp_nodelay(&ws->tcp, 1);
        ws->connect.data = ws;
        int rc = uv_tcp_connect(&ws->connect, &ws->tcp, ai->ai_addr, on_connected);
        if (rc == 0)
            ws->pending++;
        else
            drop_failed_tcp(ws, rc);
        return;
    }
    finish(ws, 1006, ws->last_error[0] ? ws->last_error : "connect failed", 1);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    herald_ws *ws = req->data;
    ws->addrs = res;
    if (ws->state != HERALD_WS_RESOLVING) {
        unpend(ws);
        return;
    }
    if (status < 0) {
        snprintf(ws->last_error, sizeof(ws->last_error), "cannot resolve %s: %s", ws->host,
                 uv_strerror(status));
        finish(ws, 1006, ws->last_error, 1);
    } else {
        ws->state = HERALD_WS_CONNECTING;
        ws->next_addr = res;
        try_next_address(ws);
    }
    unpend(ws);
}

int herald__ws_init(herald_ws *ws, uv_loop_t *loop, const herald_ws_callbacks *cb, void *user)
{
    memset(ws, 0, sizeof(*ws));
    ws->loop = loop;
    ws->cb = *cb;
    ws->user = user;
    if (uv_timer_init(loop, &ws->close_timer) != 0)
        return HERALD_ENET;
    ws->close_timer.data = ws;
    ws->pending = 1; /* the timer */
    return 0;
}

int herald__ws_connect(herald_ws *ws, const char *host, uint16_t port, const char *path,
                       const char *headers)
{
    char service[8];
    struct addrinfo hints;
    ws->host = strdup(host);
    ws->path = strdup(path);
    ws->headers = headers ? strdup(headers) : NULL;
    ws->port = port;
    if (!ws->host || !ws->path || (headers && !ws->headers)) {
        finish(ws, 0, NULL, 0);
        return HERALD_ENOMEM;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    ws->resolve.data = ws;
    ws->state = HERALD_WS_RESOLVING;
    if (uv_getaddrinfo(ws->loop, &ws->resolve, on_resolved, host, service, &hints) != 0) {
        ws->state = HERALD_WS_IDLE;
        finish(ws, 0, NULL, 0);
        return HERALD_ENET;
    }
    ws->pending++;
    return 0;
}

/* Frees what ws allocated; call from on_released (or before connecting). */
void herald__ws_dispose(herald_ws *ws)
{
    if (ws->ctx)
        wslay_event_context_free(ws->ctx);
    if (ws->addrs)
        uv_freeaddrinfo(ws->addrs);
    free(ws->host);
    free(ws->path);
    free(ws->headers);
    free(ws->out);
    ws->out = NULL;
    ws->out_len = ws->out_cap = 0;
    ws->ctx = NULL;
    ws->addrs = NULL;
    ws->host = ws->path = ws->headers = NULL;
}
