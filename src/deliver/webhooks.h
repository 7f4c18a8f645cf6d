/* SPDX-License-Identifier: MIT */
/* webhooks.h — the webhook delivery engine.
 *
 * Its own thread runs a libuv loop with a libcurl multi handle (sockets
 * and timers driven by libuv), so deliveries never touch the I/O loops.
 * Work arrives from the hub right after each commit (new outbox rows with
 * their already-encoded events) and, at start, from the outbox backlog.
 * Each endpoint has its own queue and in-flight limit: a slow or dead
 * endpoint never delays another. Every request carries the Standard
 * Webhooks headers; failures are retried on the configured schedule with
 * jitter; every attempt is recorded in the outbox.
 */
#ifndef HV_WEBHOOKS_H
#define HV_WEBHOOKS_H

#include <jansson.h>
#include <stddef.h>

#include "core/event.h"
#include "store/outbox.h"

typedef struct hv_webhooks hv_webhooks;
typedef struct hv_server hv_server;

/* Opens the engine's outbox connection, loads the backlog, starts the
 * thread. NULL on failure (logged). */
hv_webhooks *hv_webhooks_start(hv_server *srv);
/* Stops the thread; in-flight requests are abandoned (their rows stay
 * pending and are retried after a restart). */
void hv_webhooks_stop(hv_webhooks *w);

/* Hub thread, after a commit: rows[i].id was assigned, and its event is
 * evs[rows[i].event_index] (a reference is taken). */
void hv_webhooks_enqueue(hv_webhooks *w, const hv_outbox_new *rows, size_t n, hv_event **evs);

/* Reloads pending rows from the outbox (after a replay, a manual retry or
 * enabling an endpoint) and closes those of disabled endpoints, including
 * the ones waiting for a retry (after disabling one). Any thread. */
void hv_webhooks_kick(hv_webhooks *w);

/* Replay: new deliveries of these events to endpoint_id (the engine's
 * thread inserts the outbox rows, then sends them). Takes a copy of ids. */
void hv_webhooks_replay(hv_webhooks *w, const char *endpoint_id, const uint64_t *event_ids, size_t n);
/* Retries one delivery (outbox row) now, whatever its state. */
void hv_webhooks_retry(hv_webhooks *w, const char *endpoint_id, uint64_t outbox_id);

/* Figures for /metrics. */
typedef struct hv_webhook_stats {
    uint64_t delivered, failed_attempts, gave_up, in_flight, queued;
    uint64_t breakers_open; /* endpoints whose circuit breaker is open or half_open */
    uint64_t rate_limited;  /* requests that waited for their endpoint's rate_limit */
    uint64_t throttled;     /* back-pressure answers (429, 503 with Retry-After) */
} hv_webhook_stats;
void hv_webhooks_stats(hv_webhooks *w, hv_webhook_stats *out);

/* Sets obj's "breaker": {"state": "closed"|"open"|"half_open",
 * "consecutive_failures", "next_probe_at"} for endpoint id (this node's
 * breaker; webhook_controls.c), then "throttled_until" (ISO time while
 * its receiver asked for a pause, else null; webhook_ratelimit.c). Any
 * thread; w may be NULL (closed). */
void hv_webhooks_breaker_view(hv_webhooks *w, const char *id, json_t *obj);

#endif
