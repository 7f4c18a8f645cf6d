/* SPDX-License-Identifier: MIT */
/* notifier.c — the server notifier socket (/socket/server/websocket).
 *
 * Fishjam's protocol, to the byte: binary protobuf frames, auth then
 * subscribe (reference fishjam-protocol.md §2-3). A client whose first
 * frame is text speaks the JSON variant instead.
 *
 * States: a new socket is unauthenticated; its first frame must be an auth
 * request (binary AuthRequest, or text {"type":"auth","token":…}), which
 * also fixes the socket's format. After that it may only subscribe, to
 * server notifications and/or metrics. The close codes and reasons are
 * Fishjam's: 1000 "invalid token", 1000 "invalid auth request",
 * 1003 "operation not allowed"; a socket that does not authenticate within
 * --auth-timeout is closed with 1008 "authentication timeout" (ws.c).
 * A console token (auth/console_token.h) authenticates too; an expired
 * one gets 1000 "console token expired", and a socket it opened is
 * closed so when the token expires.
 * A subscribed socket sits on its loop's lists in deliver/notifiers.c,
 * which fan-out walks.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/backoff.h"
#include "api/handlers.h"
#include "api/reply.h"
#include "api/router.h"
#include "auth/server_token.h"
#include "codec/fishjam_pb.h"
#include "codec/ws_frame.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/notifiers.h"
#include "net/server.h"
#include "net/ws.h"

enum { FMT_NONE, FMT_PB, FMT_JSON };

typedef struct notif {
    hv_notifier_sub sub; /* its place on the loop's lists (deliver/notifiers.h) */
    uint8_t authed, format;
    int64_t expires_ms; /* authenticated by a console token: its expiry (wall clock); else 0 */
} notif;

static void send_pb(hv_conn *c, void (*enc)(uint8_t **, size_t *))
{
    uint8_t *buf;
    size_t len;
    enc(&buf, &len);
    hv_ws_send(c, HV_WS_BINARY, buf, len);
    free(buf);
}

static int authenticate(hv_conn *c, notif *n, const char *token, int format)
{
    if (hv_auth_backoff_ws(c) != 0)
        return -1;
    if (!token) {
        hv_ws_close(c, 1000, "invalid auth request");
        return -1;
    }
    /* The console's pages use this socket: a console token is taken too. */
    int64_t exp_s = 0;
    hv_token_kind k = hv_auth_token_kind(c->loop->srv, token, strlen(token), &exp_s);
    if (k == HV_TOKEN_CONSOLE_EXPIRED) {
        hv_info("Server WS authentication failed: console token expired");
        hv_ws_close(c, 1000, "console token expired");
        return -1;
    }
    if (k == HV_TOKEN_INVALID) {
        hv_info("Server WS authentication failed: invalid token");
        hv_auth_failed(c);
        hv_ws_close(c, 1000, "invalid token");
        return -1;
    }
    n->authed = 1;
    n->expires_ms = k == HV_TOKEN_CONSOLE ? exp_s * 1000 : 0;
    hv_conn_authenticated(c);
    n->format = (uint8_t)format;
    hv_info("Server WS authenticated.");
    if (format == FMT_PB)
        send_pb(c, hv_fishjam_encode_authenticated);
    else
        hv_api_ws_send_json(c, json_pack("{s:s}", "type", "authenticated"));
    return 0;
}

static void subscribe(notif *n, int event_type)
{
    if (event_type == HV_FJ_EVENT_SERVER_NOTIFICATION)
        hv_notifier_sub_events(&n->sub, n->format == FMT_PB);
    if (event_type == HV_FJ_EVENT_METRICS)
        hv_notifier_sub_metrics(&n->sub, n->format == FMT_PB);
}

static void on_binary(hv_conn *c, notif *n, const uint8_t *data, size_t len)
{
    hv_fj_request req;
    hv_fishjam_decode_request(data, len, &req);
    if (!n->authed) {
        authenticate(c, n, req.kind == HV_FJ_REQ_AUTH ? req.token : NULL, FMT_PB);
    } else if (n->format == FMT_PB && req.kind == HV_FJ_REQ_SUBSCRIBE) {
        /* Unknown event types are answered and ignored (the reference
         * crashes on them). */
        subscribe(n, req.event_type);
        uint8_t *buf;
        size_t blen;
        hv_fishjam_encode_subscribe_response(req.event_type, &buf, &blen);
        hv_ws_send(c, HV_WS_BINARY, buf, blen);
        free(buf);
    } else {
        hv_ws_close(c, 1003, "operation not allowed");
    }
    hv_fishjam_request_clear(&req);
}

static int json_event_type(json_t *v)
{
    if (json_is_integer(v))
        return (int)json_integer_value(v);
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    if (!strcmp(s, "server_notification") || !strcmp(s, "EVENT_TYPE_SERVER_NOTIFICATION"))
        return HV_FJ_EVENT_SERVER_NOTIFICATION;
    if (!strcmp(s, "metrics") || !strcmp(s, "EVENT_TYPE_METRICS"))
        return HV_FJ_EVENT_METRICS;
    return -1;
}

static void on_text(hv_conn *c, notif *n, const uint8_t *data, size_t len)
{
    json_t *j = json_loadb((const char *)data, len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!n->authed) {
        const char *token = type && !strcmp(type, "auth")
                                ? json_string_value(json_object_get(j, "token")) : NULL;
        authenticate(c, n, token, FMT_JSON);
    } else if (n->format == FMT_JSON && type && !strcmp(type, "subscribe")) {
        json_t *et = json_object_get(j, "event_type");
        subscribe(n, json_event_type(et));
        hv_api_ws_send_json(c, json_pack("{s:s,s:O?}", "type", "subscribe_response", "event_type", et));
    } else {
        hv_ws_close(c, 1003, "operation not allowed");
    }
    json_decref(j);
}

static void on_message(hv_conn *c, int opcode, const uint8_t *data, size_t len)
{
    notif *n = hv_ws_app(c);
    if (opcode == HV_WS_BINARY)
        on_binary(c, n, data, len);
    else if (!n->authed || n->format == FMT_JSON)
        on_text(c, n, data, len);
    else
        hv_ws_close(c, 1003, "operation not allowed");
}

static void on_close(hv_conn *c, int lost, const char *reason)
{
    (void)lost, (void)reason;
    notif *n = hv_ws_app(c);
    hv_notifier_sub_leave(&n->sub);
    free(n);
}

/* A socket a console token opened ends with the token: it would
 * otherwise carry the stream on past the token's life. */
static void on_tick(hv_conn *c, int64_t now)
{
    (void)now; /* loop time; the expiry is wall-clock time */
    notif *n = hv_ws_app(c);
    if (n->expires_ms && hv_now_ms() >= n->expires_ms) {
        n->expires_ms = 0;
        hv_info("Server WS closed: its console token expired");
        hv_ws_close(c, 1000, "console token expired");
    }
}

/* Fishjam has no auth deadline; herald's closes with 1008. */
static const hv_ws_handler handler = {on_message, on_close, on_tick, NULL, 1008, NULL, NULL, NULL};

void hv_api_notifier(hv_conn *c, hv_http_req *r)
{
    (void)r;
    hv_info("New incoming server WebSocket connection, accepting");
    notif *n = hv_xcalloc(1, sizeof(*n));
    hv_notifier_sub_init(&n->sub, c);
    if (hv_ws_accept(c, &handler, n, HV_CONN_KIND_WS_SERVER) != 0)
        free(n);
}
