/* SPDX-License-Identifier: MIT */
/* webhooks.c — the webhook endpoints API (/v1/webhooks…, server token).
 *
 *   POST   /v1/webhooks                      create; answers the secret once
 *   GET    /v1/webhooks                      list
 *   GET    /v1/webhooks/:id                  one, with its pending count
 *   PATCH  /v1/webhooks/:id                  change url, filters, format,
 *                                            description, secret ("rotate_secret": true)
 *   DELETE /v1/webhooks/:id
 *   POST   /v1/webhooks/:id/disable|enable
 *   GET    /v1/webhooks/:id/deliveries       every attempt, newest first
 *   POST   /v1/webhooks/:id/replay           {"since_id": …} or {"since": ISO time}
 *   POST   /v1/webhooks/:id/deliveries/:did/retry
 *
 * Changes are answered once stored (through the hub); reads that touch
 * the store run on libuv's thread pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "api/router.h"
#include "core/clock.h"
#include "core/xalloc.h"
#include "deliver/endpoint_filter.h"
#include "deliver/endpoints.h"
#include "deliver/webhooks.h"
#include "hv_parse.h"
#include "net/server.h"
#include "store/outbox.h"

#define REPLAY_MAX 100000


static hv_endpoints *eps(hv_conn *c)
{
    return c->loop->srv->endpoints;
}

void hv_api_webhook_create(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) == 0)
        HV_API_RUN_CHANGE(c, hv_endpoints_create(eps(c), r->body, r->body_len, &out_, reply_));
}

void hv_api_webhook_list(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) == 0)
        hv_api_respond(c, 200, hv_endpoints_list_json(eps(c)));
}

void hv_api_webhook_update(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) == 0)
        HV_API_RUN_CHANGE(c, hv_endpoints_update(eps(c), r->param[0], r->body, r->body_len, &out_, reply_));
}

void hv_api_webhook_delete(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) == 0)
        HV_API_RUN_CHANGE(c, hv_endpoints_delete(eps(c), r->param[0], &out_, reply_));
}

void hv_api_webhook_disable(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) == 0)
        HV_API_RUN_CHANGE(c, hv_endpoints_set_enabled(eps(c), r->param[0], 0, &out_, reply_));
}

void hv_api_webhook_enable(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) == 0)
        HV_API_RUN_CHANGE(c, hv_endpoints_set_enabled(eps(c), r->param[0], 1, &out_, reply_));
}

/* ---- reads and replays on the thread pool -------------------------------- */

typedef struct job {
    uv_work_t work;
    hv_conn *conn;
    hv_server *srv;
    char id[260];
    uint64_t before, since_id;
    int64_t since_ms;
    size_t limit;
    int status;
    char *out;
    char did[48]; /* a delivery id as given (retry) */
} job;

static void job_after(uv_work_t *w, int status)
{
    job *j = w->data;
    hv_api_respond(j->conn, status ? 500 : j->status, j->out);
    hv_conn_release(j->conn);
    free(j);
}

static void start_job(hv_conn *c, job *j, uv_work_cb fn)
{
    j->conn = c;
    j->srv = c->loop->srv;
    j->work.data = j;
    hv_conn_hold(c);
    if (uv_queue_work(&c->loop->uv, &j->work, fn, job_after) != 0) {
        hv_api_respond(c, 503, hv_xstrdup("server busy"));
        hv_conn_release(c);
        free(j);
    }
}

static void deliveries_work(uv_work_t *w)
{
    job *j = w->data;
    char *arr = hv_outbox_attempts_json(j->srv->store, j->id, j->before, j->limit);
    if (!arr) {
        j->status = 500;
        j->out = hv_xstrdup("could not read the deliveries");
        return;
    }
    size_t len = strlen(arr) + 32;
    j->out = hv_xmalloc(len);
    snprintf(j->out, len, "{\"deliveries\":%s}", arr);
    free(arr);
    j->status = 200;
}

void hv_api_webhook_deliveries(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    hv_endpoint *ep = hv_endpoints_get(eps(c), r->param[0]);
    if (!ep) {
        hv_http_error(c, 404, "Webhook %s does not exist", r->param[0]);
        return;
    }
    hv_endpoint_unref(ep);
    job *j = hv_xcalloc(1, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", r->param[0]);
    j->limit = 100;
    char v[32];
    uint64_t x;
    if (hv_http_query(r, "before", v, sizeof(v)) != 0 && hv_parse_u64(v, &j->before) != 0) {
        free(j);
        hv_http_error(c, 400, "before must be a delivery attempt id");
        return;
    }
    if (hv_http_query(r, "limit", v, sizeof(v)) != 0) {
        if (hv_parse_u64(v, &x) != 0 || x < 1 || x > 1000) {
            free(j);
            hv_http_error(c, 400, "limit must be an integer from 1 to 1000");
            return;
        }
        j->limit = (size_t)x;
    }
    start_job(c, j, deliveries_work);
}

/* The pending count is a store read (a Redis round trip with the redis
 * engine): on the pool, never on the loop (issue 13, defect 11). */
static void get_work(uv_work_t *w)
{
    job *j = w->data;
    j->status = hv_api_status_of(hv_endpoints_get_json(j->srv->endpoints, j->id, &j->out));
}

void hv_api_webhook_get(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    job *j = hv_xcalloc(1, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", r->param[0]);
    start_job(c, j, get_work);
}

typedef struct replay_job {
    job base;
    hv_endpoint *ep;
} replay_job;

/* Collects the stored events after the starting point that the endpoint
 * wants, then hands their ids to the engine. */
static void replay_work(uv_work_t *w)
{
    replay_job *rj = w->data;
    job *j = &rj->base;
    size_t cap = 1024, n = 0;
    uint64_t *ids = hv_xmalloc(cap * sizeof(*ids));
    hv_history_query q = {.after_id = j->since_id, .after_time_ms = j->since_ms, .limit = 10000};
    for (;;) {
        hv_event **evs;
        size_t got;
        if (hv_store_history(j->srv->store, &q, &evs, &got) != 0) {
            j->status = 500;
            j->out = hv_xstrdup("could not read history");
            free(ids);
            return;
        }
        for (size_t i = 0; i < got; i++) {
            hv_filter_subject subj;
            hv_filter_subject_init(&subj, evs[i]);
            int wanted = hv_endpoint_accepts(rj->ep, evs[i], &subj); /* its filter too */
            hv_filter_subject_done(&subj);
            if (n < REPLAY_MAX && wanted) {
                if (n == cap)
                    ids = hv_xrealloc(ids, (cap *= 2) * sizeof(*ids));
                ids[n++] = evs[i]->id;
            }
            q.after_id = evs[i]->id;
            hv_event_unref(evs[i]);
        }
        free(evs);
        if (got < q.limit || n >= REPLAY_MAX)
            break;
    }
    if (n && j->srv->webhooks)
        hv_webhooks_replay(j->srv->webhooks, j->id, ids, n);
    free(ids);
    char buf[64];
    snprintf(buf, sizeof(buf), "{\"replayed\":%zu}", n);
    j->out = hv_xstrdup(buf);
    j->status = 202;
}

static void replay_after(uv_work_t *w, int status)
{
    replay_job *rj = w->data;
    hv_endpoint_unref(rj->ep);
    job_after(w, status);
}

/* "since" as an ISO 8601 time ("2026-11-23T10:00:00Z", fraction allowed;
 * core/clock.h) or ms since the epoch. */
static int parse_time(json_t *v, int64_t *ms)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ms = json_integer_value(v);
        return 0;
    }
    double t;
    if (hv_time_parse_iso8601(json_string_value(v), &t) != 0)
        return -1;
    *ms = (int64_t)t; /* whole ms: a fraction of one is dropped */
    return 0;
}

void hv_api_webhook_replay(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    json_t *b = json_loadb(r->body, r->body_len, 0, NULL);
    json_t *sid = json_object_get(b, "since_id"), *st = json_object_get(b, "since");
    replay_job *rj = hv_xcalloc(1, sizeof(*rj));
    const char *sid_s = json_string_value(sid);
    int bad = !json_is_object(b) || (!sid && !st) ||
              (sid && !(json_is_integer(sid) && json_integer_value(sid) >= 0) && !(sid_s && hv_parse_u64(sid_s, &rj->base.since_id) == 0)) ||
              (st && parse_time(st, &rj->base.since_ms) != 0);
    if (json_is_integer(sid))
        rj->base.since_id = (uint64_t)json_integer_value(sid);
    json_decref(b);
    if (bad) {
        free(rj);
        hv_http_error(c, 400, "body must be {\"since_id\": <event id>} or {\"since\": \"<ISO 8601 time>\"}");
        return;
    }
    rj->ep = hv_endpoints_get(eps(c), r->param[0]);
    if (!rj->ep) {
        free(rj);
        hv_http_error(c, 404, "Webhook %s does not exist", r->param[0]);
        return;
    }
    if (rj->base.since_ms)
        rj->base.since_ms -= 1; /* history is "after": make "since" inclusive */
    snprintf(rj->base.id, sizeof(rj->base.id), "%s", r->param[0]);
    rj->base.conn = c;
    rj->base.srv = c->loop->srv;
    rj->base.work.data = rj;
    hv_conn_hold(c);
    if (uv_queue_work(&c->loop->uv, &rj->base.work, replay_work, replay_after) != 0) {
        hv_endpoint_unref(rj->ep);
        free(rj);
        hv_http_error(c, 503, "server busy");
        hv_conn_release(c);
    }
}

/* The delivery's row is looked up in the store (a Redis round trip with
 * the redis engine): on the pool, never on the loop; the retry itself
 * runs on the engine's thread. */
static void retry_work(uv_work_t *w)
{
    job *j = w->data;
    if (hv_outbox_row_state(j->srv->store, j->id, j->before) < 0) {
        size_t len = strlen(j->did) + 32;
        j->out = hv_xmalloc(len);
        snprintf(j->out, len, "Delivery %s does not exist", j->did);
        j->status = 404;
        return;
    }
    if (j->srv->webhooks)
        hv_webhooks_retry(j->srv->webhooks, j->id, j->before);
    json_t *ans = json_pack("{s:s,s:s}", "delivery_id", j->did, "status", "queued");
    j->out = json_dumps(ans, JSON_COMPACT);
    json_decref(ans);
    j->status = 202;
}

void hv_api_webhook_retry(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    uint64_t did;
    hv_endpoint *ep = hv_endpoints_get(eps(c), r->param[0]);
    if (!ep) {
        hv_http_error(c, 404, "Webhook %s does not exist", r->param[0]);
        return;
    }
    hv_endpoint_unref(ep);
    if (hv_parse_u64(r->param[1], &did) != 0 || strlen(r->param[1]) >= sizeof(((job *)0)->did)) {
        hv_http_error(c, 404, "Delivery %s does not exist", r->param[1]);
        return;
    }
    job *j = hv_xcalloc(1, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", r->param[0]);
    snprintf(j->did, sizeof(j->did), "%.47s", r->param[1]); /* fits: checked above */
    j->before = did; /* the delivery's row id */
    start_job(c, j, retry_work);
}
