/* ws.h — WebSocket connections (RFC 6455) on wslay.
 *
 * hv_ws_accept validates an upgrade request, answers 101 and moves the
 * connection to WebSocket mode. wslay parses client frames (masking rules,
 * fragmentation, control frames, the close handshake, the message size
 * limit that closes with 1009); whole messages go to the endpoint's
 * handler. Event frames prepared once by the hub are queued by reference
 * with hv_ws_send_frame; a connection whose queue passes the configured
 * bound is closed with 4001 "slow consumer" and never slows anyone else.
 * Every connection is pinged each ping interval; a missing pong closes it.
 */
#ifndef HV_WS_H
#define HV_WS_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "net/conn.h"
#include "net/http.h"

#define HV_WS_CLOSE_SLOW_CONSUMER 4001

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
} hv_ws_handler;

/* Upgrades the current request. On a bad upgrade answers 400/426 and
 * returns -1. app is the endpoint's per-connection state (hv_ws_app). */
int hv_ws_accept(hv_conn *c, const hv_ws_handler *h, void *app, int kind);

void *hv_ws_app(hv_conn *c);

/* Queues a message (copied). */
void hv_ws_send(hv_conn *c, int opcode, const void *data, size_t len);
/* Queues a shared, pre-built frame by reference (the hot path). */
void hv_ws_send_frame(hv_conn *c, const hv_frame *f);
/* Starts the close handshake; the socket closes when the peer answers or
 * after a short grace period. */
void hv_ws_close(hv_conn *c, int code, const char *reason);

/* 1 when data is valid UTF-8. */
int hv_utf8_valid(const uint8_t *s, size_t len);

#endif
