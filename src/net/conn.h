/* SPDX-License-Identifier: MIT */
/* conn.h — one client connection and its outbound queue.
 *
 * A connection is a TCP stream on one loop, spoken to by one protocol at a
 * time (HTTP, then possibly WebSocket or SSE) through hv_conn_ops. Outbound
 * bytes are queued as references to shared buffers (an event frame is never
 * copied per subscriber), and the loop writes each connection's whole
 * queue with one writev per flush.
 */
#ifndef HV_CONN_H
#define HV_CONN_H

#include <stdint.h>
#include <uv.h>

#include "core/list.h"
#include "core/sbuf.h"
#include "net/loop.h"

typedef struct hv_outq_item {
    hv_sbuf *buf;
    uint32_t off, len;
} hv_outq_item;

typedef struct hv_conn_ops {
    void (*on_data)(hv_conn *c, const char *data, size_t len);
    void (*on_eof)(hv_conn *c, int status);   /* peer closed or read error */
    void (*on_timeout)(hv_conn *c, int64_t now); /* deadline passed */
    void (*on_tick)(hv_conn *c, int64_t now);    /* about once a second */
    void (*on_drained)(hv_conn *c);              /* unsent output fell back below --outbound-pause */
    void (*on_stalled)(hv_conn *c);              /* optional: about to be closed by --send-timeout */
    void (*on_close)(hv_conn *c);                /* release protocol state */
    void (*on_shutdown)(hv_conn *c);             /* server stopping: close politely */
} hv_conn_ops;

struct hv_conn {
    uv_tcp_t tcp;
    hv_loop *loop;
    hv_list node;            /* on loop->conns */
    hv_conn *dirty_next;
    const hv_conn_ops *ops;
    void *proto;             /* protocol state (HTTP request, WebSocket) */
    uint8_t kind;            /* HV_CONN_KIND_* for metrics */
    uint8_t dirty, writing, closing, close_when_drained, paused, head_partial;
    uint8_t bp_paused;       /* not read: unsent output above --outbound-pause */
    uint8_t reading;         /* uv_read_start is in effect */
    uint8_t counted;         /* admitted: counted in srv->limits until closed */
    uint8_t authed;          /* hv_conn_authenticated was called */
    char addr[24];           /* client address, the limits' key ("" = none; IPv6: its /64) */
    int holds;               /* async work still pointing at this conn */
    int64_t deadline;        /* loop ms; 0 = none */
    int64_t bp_since;        /* loop ms: paused since, or last write progress while paused */
    hv_outq_item *q;         /* ring of queued buffers */
    uint32_t qcap, qhead, qlen, inflight;
    size_t qbytes;
    uv_write_t wreq;
};

/* Accepts a pending connection from the loop's listener. */
void hv_conn_accept(hv_loop *l);
/* Serves an already connected stream socket (tests and fuzzing). */
hv_conn *hv_conn_open_fd(hv_loop *l, int fd);

/* Queues a reference to buf[off, off+len) (takes a new reference). */
void hv_conn_send_ref(hv_conn *c, hv_sbuf *buf, uint32_t off, uint32_t len);
/* Queues a copy of bytes. */
void hv_conn_send_copy(hv_conn *c, const void *bytes, size_t len);
/* Drops queued buffers not yet handed to the kernel. */
void hv_conn_drop_queued(hv_conn *c);

/* Closes once the queue is written (or at once if the peer is gone). */
void hv_conn_close_after_flush(hv_conn *c);
/* Closes now; queued output is dropped. Safe to call twice. */
void hv_conn_close(hv_conn *c);

/* Stops/starts reading from the socket (back-pressure while a request is
 * being served). */
void hv_conn_pause(hv_conn *c);
void hv_conn_resume(hv_conn *c);

/* Back-pressure on output: 1 when c's unsent output is above
 * --outbound-pause. Reading then stops until it drains below that, when
 * ops->on_drained runs; a protocol must not parse more input meanwhile.
 * Paused with no write progress for --send-timeout, c is closed (the
 * loop's tick calls hv_conn_check_stalled). */
int hv_conn_backlogged(hv_conn *c);
void hv_conn_check_stalled(hv_conn *c, int64_t now);
/* 1 when c's unsent output is past --max-outbound: the caller closes it
 * rather than queue more. */
int hv_conn_over_limit(const hv_conn *c);

/* Keep the conn's memory alive across async work; release may free it. */
void hv_conn_hold(hv_conn *c);
void hv_conn_release(hv_conn *c);

void hv_conn_set_kind(hv_conn *c, int kind);

/* The client proved who it is (a token was accepted on this connection):
 * it no longer counts against the unauthenticated caps, and a WebSocket's
 * --auth-timeout no longer applies. Idempotent. */
void hv_conn_authenticated(hv_conn *c);

/* Flushes c's queue now (used by hv_loop_flush). */
void hv_conn_flush(hv_conn *c);

#endif
