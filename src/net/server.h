/* SPDX-License-Identifier: MIT */
/* server.h — the running server: settings, store, hub, loops, counters.
 *
 * One hv_server exists per process. It is created by main.c, which owns
 * the control loop (signals, the metrics timer) on the main thread; the
 * I/O loops and the hub's commit thread each run on threads of their own.
 */
#ifndef HV_SERVER_H
#define HV_SERVER_H

#include <stdatomic.h>
#include <uv.h>

#include "core/config.h"
#include "core/authfail.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "net/loop.h"
#include "store/store.h"

typedef struct hv_hub hv_hub;
typedef struct hv_rooms hv_rooms;
typedef struct hv_endpoints hv_endpoints;
typedef struct hv_webhooks hv_webhooks;
typedef struct hv_sinks hv_sinks;
typedef struct hv_janus_dedup hv_janus_dedup;
typedef struct hv_http_req hv_http_req;

/* What the layers above net hand it: net calls these and knows nothing
 * else about what sits above it. main.c (the composition root) fills them
 * in before hv_server_start. */
typedef struct hv_net_hooks {
    /* A complete HTTP request on c, to be answered (api/router.c). */
    void (*request)(hv_conn *c, hv_http_req *r);
    /* A loop's slot (hv_loop.slot: deliver/loop_slot.h), made in
     * hv_loop_new and freed in hv_loop_free once its thread has ended
     * and its connections are gone. Unset: the slot stays NULL. */
    hv_loop_slot *(*slot_new)(hv_loop *l);
    void (*slot_free)(hv_loop *l, hv_loop_slot *slot);
} hv_net_hooks;

struct hv_server {
    hv_config cfg;
    hv_net_hooks net;        /* installed by main.c */
    hv_store *store;
    hv_hub *hub;
    hv_rooms *rooms;
    hv_endpoints *endpoints; /* webhook endpoints (deliver/endpoints.c) */
    hv_webhooks *webhooks;   /* the delivery engine (deliver/webhooks.c) */
    hv_sinks *sinks;         /* sink modules (deliver/sinks.c) */
    hv_janus_dedup *janus_dedup; /* recent Janus events (ingest/janus_dedup.c) */
    hv_loop **loops;
    int nloops;
    int port;                /* the bound port (useful with --listen :0) */
    hv_metrics metrics;
    hv_limits limits;
    hv_authfail authfail;    /* back-off on failed authentications (used by api/, not net/) */
    int64_t started_ms;
    atomic_int stopping;
};

/* Starts listening and the I/O loops; 0 or -1 with a logged reason. */
int hv_server_start(hv_server *srv);
/* Logs the limits and that herald listens (what process managers and the
 * tests wait for): once everything that serves requests has started. */
void hv_server_announce(hv_server *srv);
/* Any thread: asks every loop to stop accepting and close its sockets
 * with 1001 (their threads end once they are closed). */
void hv_server_shutdown(hv_server *srv);
/* Waits for every loop's thread to end, then frees the loops. */
void hv_server_join(hv_server *srv);

/* Sums every loop's counters. */
int64_t hv_server_conns(hv_server *srv, int kind);
uint64_t hv_server_deliveries(hv_server *srv);
int64_t hv_server_outbound_bytes(hv_server *srv);

#endif
