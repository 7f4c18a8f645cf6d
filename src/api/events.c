/* SPDX-License-Identifier: MIT */
/* events.c — POST /v1/events (publish) and GET /v1/events (history).
 *
 * Publish validates the body, hands the events to the hub and answers
 * 201 {"ids":[…]} only when the hub reports the group commit durable.
 * History runs its store query on libuv's thread pool, so a large read
 * never stalls the I/O loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/idempotency.h"
#include "api/reply.h"
#include "api/router.h"
#include "codec/envelope.h"
#include "core/event_json.h"
#include "core/xalloc.h"
#include "hub/hub.h"
#include "hv_parse.h"
#include "net/server.h"

/* ---- publish ----------------------------------------------------------- */

static void publish_done(hv_loop *l, void *arg, int status, hv_event **evs, size_t n)
{
    (void)l;
    hv_conn *c = arg;
    if (status != 0) {
        atomic_fetch_add_explicit(&c->loop->srv->metrics.publish_errors, 1, memory_order_relaxed);
        char msg[400];
        hv_api_store_failure(c->loop->srv, status, msg, sizeof(msg));
        hv_http_error(c, 503, "%s", msg);
    } else {
        size_t cap = 16 + n * HV_API_ID_TEXT_MAX, len = 0;
        char *body = hv_xmalloc(cap);
        len += (size_t)snprintf(body, cap, "{\"ids\":[");
        len += hv_api_put_ids(body + len, evs, n);
        len += (size_t)snprintf(body + len, cap - len, "]}");
        hv_http_respond(c, 201, "application/json", NULL, body, len);
        free(body);
    }
    hv_conn_flush(c); /* the answer goes out before this loop's fan-out work */
    hv_conn_release(c);
}

/* The hub's answer to a publish with idempotency keys. */
static void publish_idem_done(hv_loop *l, void *arg, int status, hv_event **evs, size_t n)
{
    hv_api_idem_call *p = arg;
    if (status != 0) {
        publish_done(l, p->conn, status, evs, n);
    } else {
        hv_api_idem_answer(p->conn, p->idem, evs, n);
        hv_conn_flush(p->conn);
        hv_conn_release(p->conn);
    }
    hv_api_idem_free(p->idem);
    free(p);
}

/* Parses the body; with keys (header or per event) queues an idempotent
 * publish and returns 1; 0 with the events when there is no key; -1
 * after answering 400. */
static int parse_publish(hv_conn *c, hv_http_req *r, hv_event ***evs, size_t *n)
{
    char err[320], **keys;
    const char *header = hv_http_header_get(r, "idempotency-key");
    if (hv_api_idem_header(c, r, header) != 0)
        return -1;
    if (hv_event_parse_publish_keys(r->body, r->body_len, evs, n, &keys, err, sizeof(err)) != 0) {
        hv_http_error(c, 400, "%s", err);
        return -1;
    }
    for (size_t i = 0; header && i < *n; i++)
        if (keys[i]) {
            hv_idem_keys_free(keys, *n);
            for (size_t j = 0; j < *n; j++)
                hv_event_unref((*evs)[j]);
            free(*evs);
            hv_http_error(c, 400, "events[%zu].idempotency_key: use the Idempotency-Key header or "
                                  "idempotency_key per event, not both", i);
            return -1;
        }
    hv_api_idem *m = hv_api_idem_new(header, r->body, r->body_len, *evs, *n, keys);
    if (!m)
        return 0;
    hv_api_idem_call *p = hv_xmalloc(sizeof(*p));
    *p = (hv_api_idem_call){c, m};
    hv_conn_hold(c);
    if (hv_hub_publish_idem(c->loop->srv->hub, *evs, *n, m->claims, m->n, c->loop,
                            publish_idem_done, p) != 0) {
        hv_http_error(c, 503, "server is shutting down");
        hv_conn_release(c);
        hv_api_idem_free(m);
        free(p);
    }
    return 1;
}

void hv_api_publish(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    hv_event **evs;
    size_t n;
    if (parse_publish(c, r, &evs, &n) != 0)
        return;
    /* The connection is not paused: net/http.c keeps whatever the client
     * sends meanwhile and stops reading only then, so the common case (one
     * request at a time) costs no epoll_ctl pair per publish. */
    hv_conn_hold(c);
    if (hv_hub_publish(c->loop->srv->hub, evs, n, c->loop, publish_done, c) != 0) {
        hv_http_error(c, 503, "server is shutting down");
        hv_conn_release(c);
    }
}

/* ---- history ----------------------------------------------------------- */

typedef struct history_job {
    uv_work_t work;
    hv_conn *conn;
    hv_server *srv;
    hv_history_query q;
    char room[257], user[257], type[129];
    hv_event **evs;
    size_t n;
    int status;
} history_job;

static void history_work(uv_work_t *w)
{
    history_job *j = w->data;
    j->status = hv_store_history(j->srv->store, &j->q, &j->evs, &j->n);
}

static void history_after(uv_work_t *w, int status)
{
    history_job *j = w->data;
    hv_conn *c = j->conn;
    if (status != 0 || j->status != 0) {
        hv_http_error(c, 500, "history query failed");
    } else {
        size_t cap = 64, len = 0;
        char *body = hv_xmalloc(cap);
        len += (size_t)snprintf(body, cap, "{\"events\":[");
        for (size_t i = 0; i < j->n; i++) {
            size_t el;
            char *env = hv_envelope_json(j->evs[i], &el);
            if (len + el + 8 > cap) {
                while (len + el + 8 > cap)
                    cap *= 2;
                body = hv_xrealloc(body, cap);
            }
            if (i)
                body[len++] = ',';
            memcpy(body + len, env, el);
            len += el;
            free(env);
        }
        memcpy(body + len, "]}", 2);
        len += 2;
        hv_http_respond(c, 200, "application/json", NULL, body, len);
        free(body);
    }
    for (size_t i = 0; i < j->n; i++)
        hv_event_unref(j->evs[i]);
    free(j->evs);
    free(j);
    hv_conn_release(c);
}

/* Reads an optional string parameter; -1 (after answering 400) when too long. */
static int string_param(hv_conn *c, hv_http_req *r, const char *name, char *out, size_t cap, const char **dst)
{
    int got = hv_http_query(r, name, out, cap);
    if (got < 0) {
        hv_http_error(c, 400, "%s is too long", name);
        return -1;
    }
    *dst = got == 1 && out[0] ? out : NULL;
    return 0;
}

static int history_params(hv_conn *c, hv_http_req *r, history_job *j)
{
    char num[32];
    uint64_t v;
    j->q.limit = 100;
    if (hv_http_query(r, "since", num, sizeof(num)) != 0) {
        if (hv_parse_u64(num, &v) != 0) {
            hv_http_error(c, 400, "since must be an event id (a non-negative integer)");
            return -1;
        }
        j->q.after_id = v;
    }
    if (hv_http_query(r, "limit", num, sizeof(num)) != 0) {
        if (hv_parse_u64(num, &v) != 0 || v < 1 || v > 10000) {
            hv_http_error(c, 400, "limit must be an integer from 1 to 10000");
            return -1;
        }
        j->q.limit = (size_t)v;
    }
    if (string_param(c, r, "room_id", j->room, sizeof(j->room), &j->q.room_id) ||
        string_param(c, r, "user_id", j->user, sizeof(j->user), &j->q.user_id) ||
        string_param(c, r, "type", j->type, sizeof(j->type), &j->q.type))
        return -1;
    return 0;
}

void hv_api_history(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    history_job *j = hv_xcalloc(1, sizeof(*j));
    if (history_params(c, r, j) != 0) {
        free(j);
        return;
    }
    j->conn = c;
    j->srv = c->loop->srv;
    j->work.data = j;
    hv_conn_hold(c);
    if (uv_queue_work(&c->loop->uv, &j->work, history_work, history_after) != 0) {
        free(j);
        hv_http_error(c, 503, "server busy");
        hv_conn_release(c);
    }
}
