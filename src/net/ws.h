/* SPDX-License-Identifier: MIT */
/* ws.h — WebSocket connections (RFC 6455) on wslay.
 *
 * hv_ws_accept validates an upgrade request, answers 101 and moves the
 * connection to WebSocket mode. wslay parses client frames (masking rules,
 * fragmentation, control frames, the close handshake); ws.c bounds each
 * message (1009 "message too big", refused from the frame header, nothing
 * buffered) and, when the endpoint sets one, the rate of messages (4008
 * "rate limit exceeded"); whole messages go to the endpoint's handler,
 * which may pause the socket while a message's work is pending. Event frames prepared once by the hub are queued by reference
 * with hv_ws_send_frame; a connection whose queue passes the configured
 * bound is closed with 4001 "slow consumer" and never slows anyone else.
 * Every connection is pinged each ping interval; a missing pong closes it.
 * Frames are not read while the replies to earlier ones (pongs included)
 * sit unsent past --outbound-pause (conn.c).
 */
#ifndef HV_WS_H
#define HV_WS_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "hv_ws_shared.h" /* hv_utf8_valid */
#include "net/conn.h"
#include "net/http.h"

#define HV_WS_CLOSE_SLOW_CONSUMER 4001
/* Discord's gateway uses 4008 for the same. */
#define HV_WS_CLOSE_RATE_LIMITED 4008

/* What one socket may send (hv_ws_set_limits). */
typedef struct hv_ws_limits {
    size_t max_message; /* bytes of one message; 0 = --max-ws-message */
    double rate;        /* messages (and pings) per second; 0 = no limit */
    double burst;       /* messages at once: the bucket's size */
} hv_ws_limits;

typedef struct hv_ws_handler {
    /* A complete text (opcode 1) or binary (2) message. Text is valid UTF-8. */
    void (*on_message)(hv_conn *c, int opcode, const uint8_t *data, size_t len);
    /* The connection is going away. lost = 1 when it ended without a close
     * handshake; reason then says how ("connection lost", "heartbeat
     * timeout"). */
    void (*on_close)(hv_conn *c, int lost, const char *reason);
    /* Optional: called about ten times a second (deadlines of the endpoint). */
    void (*on_tick)(hv_conn *c, int64_t now);
    /* Optional: called once the connection speaks WebSocket, before any
     * frame that came in the same read as the upgrade request is handled:
     * the place to act on the request's headers (a token). Done later, such
     * a frame would be handled first and the endpoint would act twice. */
    void (*on_open)(hv_conn *c);
    /* The close code when the socket has not authenticated
     * (hv_conn_authenticated) within --auth-timeout of its upgrade; the
     * reason is "authentication timeout". 0 = 1008 (policy violation). */
    uint16_t auth_timeout_code;
    /* Optional: the unsent output fell back below --outbound-pause (the
     * place to send more of something paced, e.g. a replay). */
    void (*on_drained)(hv_conn *c);
    /* Optional: every message parsed from one read (or handed on from the
     * held ones after hv_ws_resume) has gone to on_message: the place to
     * act on them together, e.g. one request for many messages. */
    void (*on_input_end)(hv_conn *c);
    /* Optional: the server is stopping. The endpoint closes the socket
     * itself (hv_ws_close 1001) once it has answered what it owes; the
     * loop closes it anyway after its shutdown grace. Unset: closed at
     * once with 1001 "server shutting down". */
    void (*on_shutdown)(hv_conn *c);
} hv_ws_handler;

/* Upgrades the current request. On a bad upgrade answers 400/426 and
 * returns -1. app is the endpoint's per-connection state (hv_ws_app). */
int hv_ws_accept(hv_conn *c, const hv_ws_handler *h, void *app, int kind);

void *hv_ws_app(hv_conn *c);

/* Sets the socket's limits (from on_open, to cover the first frames too). */
void hv_ws_set_limits(hv_conn *c, const hv_ws_limits *lim);

/* Stops handing on messages and reading the socket, e.g. while the work of
 * the last message is pending, so one client cannot queue work without
 * bound; the kernel's buffers then hold the client back. Messages already
 * parsed are held and handed on after hv_ws_resume, which acts from the
 * loop soon after (never from inside the call). */
void hv_ws_pause(hv_conn *c);
void hv_ws_resume(hv_conn *c);

/* Queues a message (copied). */
void hv_ws_send(hv_conn *c, int opcode, const void *data, size_t len);
/* Queues a shared, pre-built frame by reference (the hot path). */
void hv_ws_send_frame(hv_conn *c, const hv_frame *f);
/* Starts the close handshake; the socket closes when the peer answers or
 * after a short grace period. */
void hv_ws_close(hv_conn *c, int code, const char *reason);
/* 1 once c is closed or its close handshake began (work that finishes
 * later, e.g. a token lookup, then has nothing left to do on it). */
int hv_ws_closing(hv_conn *c);

/* Checks r as a WebSocket upgrade (GET, Upgrade and Connection tokens,
 * version 13, a well-formed key): 0 with accept set to its
 * Sec-WebSocket-Accept value, or -1 after answering 400 or 426 with a JSON
 * body (ws_handshake.c). */
int hv_ws_handshake_check(hv_conn *c, hv_http_req *r, char accept[32]);

#endif
