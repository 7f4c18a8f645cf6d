/* SPDX-License-Identifier: MIT */
/* health.c — GET /health (liveness) and GET /metrics (Prometheus text),
 * plus the figures of the MetricsReport sent to metrics subscribers.
 * Neither waits on the store on the I/O loop. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/router.h"
#include "auth/server_token.h"
#include "core/clock.h"
#include "core/xalloc.h"
#include "deliver/sinks.h"
#include "deliver/webhooks.h"
#include "hub/hub.h"
#include "net/server.h"
#include "store/outbox.h"

void hv_api_health(hv_conn *c, hv_http_req *r)
{
    hv_server *srv = c->loop->srv;
    /* Liveness stays 200 while the store is down: the sockets are served
     * and every node shares the store, so failing them all would only
     * make a load balancer drop every node at once. "store" says whether
     * publishes are taken ("up") or refused with 503 ("down"). Why it is
     * down names the store's address: only a server-token holder sees it
     * (the endpoint itself is open, for load balancers). */
    char why[300];
    int up = hv_store_available(srv->store, why, sizeof(why));
    char id[24];
    snprintf(id, sizeof(id), "%llu", (unsigned long long)hv_store_last_id(srv->store));
    json_t *body = json_pack("{s:s,s:s,s:I,s:s,s:s}", "status", "ok", "version", HERALD_VERSION,
                             "uptime_s", (json_int_t)((hv_now_ms() - srv->started_ms) / 1000),
                             "last_event_id", id, "store", up ? "up" : "down");
    if (!up && hv_auth_is_server(srv, r))
        json_object_set_new(body, "store_error", json_string(why));
    hv_http_respond_json(c, 200, body);
}

typedef struct textbuf {
    char *s;
    size_t len, cap;
} textbuf;

static void tb_printf(textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(textbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n;
        b->s = hv_xrealloc(b->s, b->cap);
    }
}

static const char *const kind_names[HV_CONN_KINDS] = {"http", "ws_server", "ws_peer", "sse"};

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

static void counter(textbuf *b, const char *name, const char *help, unsigned long long v)
{
    tb_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, v);
}

/* The text, with the outbox's pending count read beforehand. */
static void metrics_respond(hv_conn *c, long pending)
{
    hv_server *srv = c->loop->srv;
    hv_metrics *m = &srv->metrics;
    textbuf b = {hv_xmalloc(4096), 0, 4096};
    tb_printf(&b, "# HELP herald_connections Open connections by kind.\n# TYPE herald_connections gauge\n");
    for (int k = 0; k < HV_CONN_KINDS; k++)
        tb_printf(&b, "herald_connections{kind=\"%s\"} %lld\n", kind_names[k], (long long)hv_server_conns(srv, k));
    counter(&b, "herald_events_appended_total", "Events durably appended to the store.", LOAD(m->events_appended));
    counter(&b, "herald_publish_requests_total", "Publish requests accepted by the hub.", LOAD(m->publish_requests));
    counter(&b, "herald_publish_errors_total", "Publish requests that failed to commit.", LOAD(m->publish_errors));
    counter(&b, "herald_publish_idempotent_replays_total", "Idempotency keys answered as replays: the first "
            "publish's ids, nothing stored.", LOAD(m->idem_replays));
    counter(&b, "herald_publish_idempotency_conflicts_total", "Publishes refused 409: an idempotency key "
            "used with other content.", LOAD(m->idem_conflicts));
    counter(&b, "herald_deliveries_total", "Event frames queued to subscribers.", (unsigned long long)hv_server_deliveries(srv));
    counter(&b, "herald_http_requests_total", "HTTP requests received.", LOAD(m->http_requests));
    counter(&b, "herald_http_errors_total", "HTTP responses with status 400 or more.", LOAD(m->http_errors));
    counter(&b, "herald_slow_consumers_total", "Sockets closed for falling behind.", LOAD(m->slow_consumers));
    static const char *const refused[] = {"", "max_connections", "max_unauthenticated", "max_unauthenticated_per_address"};
    tb_printf(&b, "# HELP herald_connections_refused_total New connections refused with 503, by the limit they "
                  "passed.\n# TYPE herald_connections_refused_total counter\n");
    for (int i = 1; i < 4; i++)
        tb_printf(&b, "herald_connections_refused_total{limit=\"%s\"} %llu\n", refused[i], LOAD(m->refused[i]));
    tb_printf(&b, "# HELP herald_unauthenticated_connections Connections that have not authenticated yet.\n"
                  "# TYPE herald_unauthenticated_connections gauge\nherald_unauthenticated_connections %ld\n",
              hv_limits_unauthenticated(&srv->limits));
    tb_printf(&b, "# HELP herald_hub_queue Publishes and changes waiting for the commit thread.\n"
                  "# TYPE herald_hub_queue gauge\nherald_hub_queue %zu\n", srv->hub ? hv_hub_queued(srv->hub) : 0);
    counter(&b, "herald_resumes_refused_total",
            "Resumes refused (1013 / 429): --max-resumes-per-address were replaying from the address.",
            hv_limits_resumes_refused(&srv->limits));
    counter(&b, "herald_auth_timeouts_total", "WebSockets closed for not authenticating within --auth-timeout.",
            LOAD(m->auth_timeouts));
    counter(&b, "herald_read_pauses_total", "Times reading a client stopped because its unsent output passed --outbound-pause.",
            LOAD(m->read_pauses));
    counter(&b, "herald_send_timeouts_total", "Clients closed for taking none of their output for --send-timeout.",
            LOAD(m->send_timeouts));
    counter(&b, "herald_events_pruned_total", "Events removed by retention.", LOAD(m->events_pruned));
    counter(&b, "herald_janus_events_total", "Janus events taken.", LOAD(m->janus_events));
    counter(&b, "herald_janus_duplicates_total", "Resent Janus events dropped as duplicates.", LOAD(m->janus_duplicates));
    counter(&b, "herald_janus_invalid_total", "Janus bodies refused as invalid (400).", LOAD(m->janus_invalid));
    counter(&b, "herald_janus_auth_failures_total", "Janus requests refused for bad credentials (401).",
            LOAD(m->janus_auth_failures));
    counter(&b, "herald_auth_failures_total", "Credentials refused (wrong server token, user or peer token, "
            "Janus password), on every path.", LOAD(m->auth_failures));
    counter(&b, "herald_auth_backoff_total", "Attempts to authenticate refused unchecked (429 / close 1013): "
            "too many failures from the address (--auth-fail-limit).", LOAD(m->auth_backoff));
    counter(&b, "herald_replica_catchups_total",
            "Catch-ups with other nodes' changes run for peer tokens this node did not know (redis engine).",
            LOAD(m->token_catchups));
    counter(&b, "herald_token_lookups_refused_total",
            "Unknown peer tokens refused at once because --max-token-lookups were waiting for a catch-up.",
            LOAD(m->token_lookups_refused));
    tb_printf(&b, "# HELP herald_token_lookups_waiting Sockets and requests whose unknown peer token waits for "
                  "a catch-up.\n# TYPE herald_token_lookups_waiting gauge\nherald_token_lookups_waiting %lld\n",
              (long long)atomic_load_explicit(&m->token_lookups_waiting, memory_order_relaxed));
    tb_printf(&b, "# HELP herald_store_up 1 when the event store takes commits, 0 while it is "
                  "unavailable (publishes answered 503).\n# TYPE herald_store_up gauge\n"
                  "herald_store_up %d\n", hv_store_available(srv->store, NULL, 0));
    tb_printf(&b, "# HELP herald_outbound_queue_bytes Bytes queued for clients, not yet written.\n"
                  "# TYPE herald_outbound_queue_bytes gauge\nherald_outbound_queue_bytes %lld\n",
              (long long)hv_server_outbound_bytes(srv));
    if (srv->webhooks) {
        hv_webhook_stats ws;
        hv_webhooks_stats(srv->webhooks, &ws);
        counter(&b, "herald_webhook_deliveries_total", "Webhook deliveries answered 2xx (each notification of a batch counts).", ws.delivered);
        counter(&b, "herald_webhook_failed_attempts_total", "Webhook attempts that failed (retried or not).", ws.failed_attempts);
        counter(&b, "herald_webhook_gave_up_total", "Webhook deliveries abandoned after the last retry.", ws.gave_up);
        tb_printf(&b, "# HELP herald_webhook_in_flight Webhook deliveries in flight (each notification of a batch counts).\n# TYPE herald_webhook_in_flight gauge\n"
                      "herald_webhook_in_flight %llu\n# HELP herald_webhook_queued Webhook deliveries waiting in memory.\n"
                      "# TYPE herald_webhook_queued gauge\nherald_webhook_queued %llu\n",
                  (unsigned long long)ws.in_flight, (unsigned long long)ws.queued);
        tb_printf(&b, "# HELP herald_webhook_pending Deliveries pending in the outbox.\n# TYPE herald_webhook_pending gauge\n"
                      "herald_webhook_pending %ld\n", pending);
        tb_printf(&b, "# HELP herald_webhook_breaker_open Webhook endpoints paused by their circuit breaker (open "
                      "or half_open).\n# TYPE herald_webhook_breaker_open gauge\nherald_webhook_breaker_open %llu\n",
                  (unsigned long long)ws.breakers_open);
        counter(&b, "herald_webhook_rate_limited_total", "Webhook requests that waited for their endpoint's rate_limit.", ws.rate_limited);
        counter(&b, "herald_webhook_throttled_total", "Webhook answers that paused an endpoint (429, or 503 with Retry-After).", ws.throttled);
    }
    char *sinks = hv_sinks_metrics_text(srv->sinks);
    tb_printf(&b, "%s", sinks);
    free(sinks);
    tb_printf(&b, "# HELP herald_store_commit_seconds Group commit latency.\n"
                  "# TYPE herald_store_commit_seconds histogram\n");
    unsigned long long cum = 0;
    for (int i = 0; i < HV_COMMIT_BUCKETS; i++) {
        cum += LOAD(m->commit_buckets[i]);
        tb_printf(&b, "herald_store_commit_seconds_bucket{le=\"%g\"} %llu\n", hv_commit_bucket_bounds_ms[i] / 1000, cum);
    }
    cum += LOAD(m->commit_buckets[HV_COMMIT_BUCKETS]);
    tb_printf(&b, "herald_store_commit_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
    tb_printf(&b, "herald_store_commit_seconds_sum %.6f\nherald_store_commit_seconds_count %llu\n",
              (double)LOAD(m->commit_latency_us_sum) / 1e6, LOAD(m->commits));
    hv_http_respond(c, 200, "text/plain; version=0.0.4", NULL, b.s, b.len);
    free(b.s);
}

/* The pending count is the one figure read from the store (a Redis round
 * trip with the redis engine, a count over the outbox with SQLite): on
 * libuv's pool, never on the loop, as /metrics is open to anyone by
 * default (issue 13, defect 11). */
typedef struct metrics_job {
    uv_work_t work;
    hv_conn *conn;
    hv_store *store;
    long pending;
} metrics_job;

static void pending_work(uv_work_t *w)
{
    metrics_job *j = w->data;
    j->pending = hv_outbox_pending_count(j->store, NULL);
}

static void pending_after(uv_work_t *w, int status)
{
    metrics_job *j = w->data;
    if (!j->conn->closing)
        metrics_respond(j->conn, status ? -1 : j->pending);
    hv_conn_release(j->conn);
    free(j);
}

void hv_api_metrics(hv_conn *c, hv_http_req *r)
{
    hv_server *srv = c->loop->srv;
    if (!srv->cfg.open_metrics && hv_auth_require_server(c, r) != 0)
        return;
    if (!srv->webhooks) {
        metrics_respond(c, 0);
        return;
    }
    metrics_job *j = hv_xcalloc(1, sizeof(*j));
    j->conn = c;
    j->store = srv->store;
    j->work.data = j;
    hv_conn_hold(c);
    if (uv_queue_work(&c->loop->uv, &j->work, pending_work, pending_after) != 0) {
        hv_conn_release(c);
        free(j);
        metrics_respond(c, -1);
    }
}
