/* SPDX-License-Identifier: MIT */
/* access.c — the seeds' access-id notifier API, on herald's event log.
 *
 *   POST /push_events        [{"accessid","created_at","payload"}…]  server token
 *                            each becomes an event of type "access.event",
 *                            user_id = accessid, data {"payload","created_at"};
 *                            created_at (a number, or an ISO 8601 time) is
 *                            also kept as an order key (core/created_at.h);
 *                            without one, the commit stamps storage time (ms);
 *                            answers true once stored; an item may carry
 *                            idempotency_key, or the request an
 *                            Idempotency-Key header (issue 18 item 1)
 *   POST /drop_user          {"drop_access_id": …}  server token: closes that
 *                            user's connections at once (4006 "dropped");
 *                            answers true
 *   GET  /subscribe_to_events  WebSocket: first message
 *                            {"access_id", "timestamp", "token"}; replays that
 *                            user's events whose created_at is after timestamp
 *                            (0 or none: every one retained), in created_at
 *                            order, then live; or, with "since" (herald's
 *                            event id, also ?since=), herald's own resume
 *
 * Where herald differs from the seed: the subscriber must prove who it is
 * with a user token (JWT whose sub is the access id; in the first message,
 * or as Bearer / ?token= on the upgrade): the seed trusted any access id.
 * Events arrive as herald's native envelope, so the payload is in
 * data.payload. timestamp is compared with created_at as core/created_at.h
 * says (numbers as numbers, ISO 8601 as ms since the epoch).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/backoff.h"
#include "api/handlers.h"
#include "api/idempotency.h"
#include "api/reply.h"
#include "api/router.h"
#include "auth/identity.h"
#include "codec/ws_frame.h"
#include "core/clock.h"
#include "core/created_at.h"
#include "core/event_json.h"
#include "core/xalloc.h"
#include "deliver/channels.h"
#include "hub/hub.h"
#include "hv_parse.h"
#include "net/server.h"
#include "net/ws.h"

#define MAX_PUSH 1000

/* ---- POST /push_events ---------------------------------------------------- */

static void push_done(hv_loop *l, void *arg, int status, hv_event **evs, size_t n)
{
    (void)l, (void)evs, (void)n;
    hv_conn *c = arg;
    if (status != 0) {
        char msg[400];
        hv_api_store_failure(c->loop->srv, status, msg, sizeof(msg));
        hv_http_error(c, 503, "%s", msg);
    } else
        hv_http_respond(c, 200, "application/json", NULL, "true", 4);
    hv_conn_release(c);
}

/* The hub's answer to /push_events with idempotency_key on items (issue 18 item 1). */
static void push_idem_done(hv_loop *l, void *arg, int status, hv_event **evs, size_t n)
{
    hv_api_idem_call *p = arg;
    if (status != 0) {
        push_done(l, p->conn, status, evs, n);
    } else {
        if (!hv_api_idem_refused(p->conn, p->idem) &&
            (hv_api_idem_count_replays(p->conn->loop->srv, p->idem), 1))
            hv_http_respond(p->conn, 200, "application/json",
                            hv_api_idem_replayed(p->idem) ? "Idempotent-Replayed: true\r\n" : NULL,
                            "true", 4);
        hv_conn_release(p->conn);
    }
    hv_api_idem_free(p->idem);
    free(p);
}

static hv_event *access_event(json_t *item, size_t i, char *err, size_t errlen)
{
    const char *id = json_string_value(json_object_get(item, "accessid"));
    json_t *payload = json_object_get(item, "payload");
    json_t *created = json_object_get(item, "created_at");
    if (!json_is_object(item) || !id || !*id || strlen(id) > 256 || !payload) {
        snprintf(err, errlen, "events[%zu] needs \"accessid\" (a string) and \"payload\"", i);
        return NULL;
    }
    double key = 0;
    int stamp = !created || json_is_null(created);
    if (!stamp && hv_created_key(created, &key) != 0) {
        snprintf(err, errlen, "events[%zu].created_at must be a number >= 0 or an ISO 8601 time "
                 "with a zone (e.g. \"2026-01-01T10:00:00Z\")", i);
        return NULL;
    }
    /* {"payload":…,"created_at":…} with the connector's value verbatim, or
     * the slot the commit stamps storage time into. */
    char *p = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
    char *c = stamp ? NULL : json_dumps(created, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = strlen(p) + (c ? strlen(c) : 0) + sizeof(HV_CREATED_SLOT) + 32;
    char *data = hv_xmalloc(len);
    int n = stamp ? snprintf(data, len, "{\"payload\":%s," HV_CREATED_SLOT, p)
                  : snprintf(data, len, "{\"payload\":%s,\"created_at\":%s}", p, c);
    hv_event *ev = hv_event_new("access.event", NULL, id, data, (size_t)n);
    ev->created_set = stamp ? HV_CREATED_STAMP : HV_CREATED_KEY;
    ev->created_key = key;
    free(p);
    free(c);
    free(data);
    return ev;
}

/* The Idempotency-Key header covers the whole request, as on POST
 * /v1/events; with it no item may carry its own key. 0, or -1 after
 * answering 400 (which frees evs and keys). */
static int push_header_key(hv_conn *c, const char *header, hv_event **evs, char **keys, size_t n)
{
    for (size_t i = 0; header && i < n; i++)
        if (keys[i]) {
            for (size_t k = 0; k < n; k++)
                hv_event_unref(evs[k]);
            free(evs);
            hv_idem_keys_free(keys, n);
            hv_http_error(c, 400, "events[%zu].idempotency_key: use the Idempotency-Key header or "
                                  "idempotency_key per event, not both", i);
            return -1;
        }
    return 0;
}

void hv_api_push_events(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    const char *header = hv_http_header_get(r, "idempotency-key");
    if (hv_api_idem_header(c, r, header) != 0)
        return;
    json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
    if (!json_is_array(body) || json_array_size(body) == 0 || json_array_size(body) > MAX_PUSH) {
        json_decref(body);
        hv_http_error(c, 400, "body must be a JSON array of 1 to %d {\"accessid\", \"created_at\", \"payload\"}", MAX_PUSH);
        return;
    }
    size_t n = json_array_size(body);
    hv_event **evs = hv_xcalloc(n, sizeof(*evs));
    char **keys = hv_xcalloc(n, sizeof(*keys));
    char err[160];
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(body, i);
        evs[i] = access_event(item, i, err, sizeof(err));
        if (!evs[i] || hv_api_idem_item_key(item, i, keys, err, sizeof(err)) != 0) {
            for (size_t k = 0; k <= i && k < n; k++)
                if (evs[k])
                    hv_event_unref(evs[k]);
            free(evs);
            hv_idem_keys_free(keys, n);
            json_decref(body);
            hv_http_error(c, 400, "%s", err);
            return;
        }
    }
    json_decref(body);
    if (push_header_key(c, header, evs, keys, n) != 0)
        return;
    hv_api_idem *m = hv_api_idem_new(header, r->body, r->body_len, evs, n, keys);
    hv_api_idem_call *p = m ? hv_xmalloc(sizeof(*p)) : NULL;
    if (p)
        *p = (hv_api_idem_call){c, m};
    hv_conn_hold(c);
    if ((m ? hv_hub_publish_idem(c->loop->srv->hub, evs, n, m->claims, m->n, c->loop,
                                 push_idem_done, p)
           : hv_hub_publish(c->loop->srv->hub, evs, n, c->loop, push_done, c)) != 0) {
        hv_http_error(c, 503, "server is shutting down");
        hv_conn_release(c);
        hv_api_idem_free(m);
        free(p);
    }
}

/* ---- POST /drop_user -------------------------------------------------------- */

static void drop_on_loop(hv_loop *l, void *arg)
{
    char *user = arg;
    hv_channels_drop_user(l, user);
    free(user);
}

void hv_api_drop_user(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
    const char *user = json_string_value(json_object_get(body, "drop_access_id"));
    if (!user || !*user) {
        json_decref(body);
        hv_http_error(c, 400, "body must be {\"drop_access_id\": \"<access id>\"}");
        return;
    }
    hv_server *srv = c->loop->srv;
    for (int i = 0; i < srv->nloops; i++)
        hv_loop_post(srv->loops[i], drop_on_loop, hv_xstrdup(user));
    json_decref(body);
    hv_http_respond(c, 200, "application/json", NULL, "true", 4);
}

/* ---- GET /subscribe_to_events ---------------------------------------------------- */

typedef struct access_sock {
    hv_sub *sub;
    int started;        /* the first message came: it authenticates once */
    char *token;        /* from the upgrade, if any */
    char *since;        /* ?since= of the upgrade, if any */
    int64_t expires_ms;
    int resume_slot;    /* holds a resume slot not yet handed to its sub */
} access_sock;

/* How a resume ended (either kind); a note to the client unless it went
 * without a hitch. */
static void access_resumed(hv_sub *sub, int status, uint64_t first_id)
{
    if (status == 0)
        return;
    char msg[200], first[24];
    snprintf(msg, sizeof(msg), status == 1 ? "history no longer holds the events after %llu; live from now"
                                           : "history could not be read; live from now",
             (unsigned long long)sub->last_id);
    snprintf(first, sizeof(first), "%llu", (unsigned long long)first_id);
    json_t *j = json_pack("{s:s,s:s}", "type", "resume_failed", "message", msg);
    if (status == 1)
        json_object_set_new(j, "first_id", json_string(first));
    hv_api_ws_send_json(sub->conn, j);
}

/* herald's own resume, "since": an event id as a string or a number (from
 * the first message, else ?since= of the upgrade). 1 and *id when given,
 * 0 when not, -1 when not an id. */
static int since_of(json_t *j, const char *upgrade, uint64_t *id)
{
    json_t *v = json_object_get(j, "since");
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *id = (uint64_t)json_integer_value(v);
        return 1;
    }
    const char *s = json_is_string(v) ? json_string_value(v) : v && !json_is_null(v) ? "x" : upgrade;
    if (!s || !*s)
        return 0;
    return hv_parse_u64(s, id) == 0 ? 1 : -1;
}

static void access_start(hv_conn *c, access_sock *as, json_t *j)
{
    const char *access_id = json_string_value(json_object_get(j, "access_id"));
    const char *token = json_string_value(json_object_get(j, "token"));
    if (!token)
        token = as->token;
    json_t *ts = json_object_get(j, "timestamp");
    double after_key = 0;
    uint64_t since = 0;
    int by_id = since_of(j, as->since, &since);
    if (!access_id || !*access_id || by_id < 0) {
        hv_ws_close(c, 4003, "invalid auth request");
        return;
    }
    if (ts && !json_is_null(ts) && hv_created_key(ts, &after_key) != 0) {
        hv_ws_close(c, 4003, "invalid auth request: timestamp must be a number >= 0 or an ISO 8601 time");
        return;
    }
    /* Every start replays (by id or by created_at), page by page on the
     * thread pool: at most --max-resumes-per-address at once from one
     * client address. */
    if (hv_limits_resume_acquire(&c->loop->srv->limits, c->addr) != 0) {
        hv_ws_close(c, 1013, "too many resumes from this address, try again later");
        return;
    }
    as->resume_slot = 1;
    hv_client_id id;
    char err[160];
    if (hv_auth_backoff_ws(c) != 0)
        return;
    if (!token || hv_client_id_resolve(c->loop->srv, token, &id, err, sizeof(err)) != 0) {
        if (token)
            hv_auth_failed(c);
        hv_ws_close(c, 4003, token ? err : "a user token is required");
        return;
    }
    if (id.kind != HV_ID_USER || strcmp(id.user_id, access_id) != 0) {
        hv_auth_failed(c);
        hv_client_id_clear(&id);
        hv_ws_close(c, 4003, "the token is not for this access_id");
        return;
    }
    if (hv_limits_user_acquire(&c->loop->srv->limits, id.user_id) != 0) {
        hv_client_id_clear(&id);
        hv_ws_close(c, 1013, "too busy");
        return;
    }
    as->expires_ms = id.exp_ms;
    as->sub = hv_sub_new(c, HV_SUB_WS, id.user_id, (const char *const *)id.rooms, id.nrooms);
    hv_client_id_clear(&id);
    hv_sub_join(as->sub);
    as->resume_slot = 0; /* the resume's now */
    if (by_id)
        hv_sub_resume(as->sub, since, access_resumed);
    else
        hv_sub_resume_created(as->sub, after_key, access_resumed);
}

/* A message that asks to authenticate (names a token or an access id). */
static int is_auth_request(json_t *j)
{
    return json_object_get(j, "token") || json_object_get(j, "access_id");
}

static void access_message(hv_conn *c, int opcode, const uint8_t *data, size_t len)
{
    access_sock *as = hv_ws_app(c);
    json_t *j = opcode == HV_WS_TEXT ? json_loadb((const char *)data, len, 0, NULL) : NULL;
    if (!as->started) {
        as->started = 1;
        access_start(c, as, j);
    } else if (is_auth_request(j)) {
        /* After the first message the client only listens; a second
         * authentication is refused, never run over the first. */
        hv_ws_close(c, 4003, "already authenticated");
    }
    json_decref(j);
}

static void access_close(hv_conn *c, int lost, const char *reason)
{
    (void)lost, (void)reason;
    access_sock *as = hv_ws_app(c);
    if (as->sub)
        hv_limits_user_release(&c->loop->srv->limits, as->sub->user_id);
    if (as->resume_slot) /* refused before its resume began */
        hv_limits_resume_release(&c->loop->srv->limits, c->addr);
    hv_sub_release(as->sub);
    free(as->token);
    free(as->since);
    free(as);
}

static void access_tick(hv_conn *c, int64_t now)
{
    access_sock *as = hv_ws_app(c);
    (void)now; /* the deadline to authenticate is ws.c's (--auth-timeout, 4003 below) */
    if (as->expires_ms && hv_now_ms() >= as->expires_ms) {
        as->expires_ms = 0;
        hv_ws_close(c, 4003, "token expired");
    }
}

/* The client took its output: a paused replay goes on. */
static void access_drained(hv_conn *c)
{
    access_sock *as = hv_ws_app(c);
    hv_sub_drained(as->sub);
}

static const hv_ws_handler access_handler = {access_message, access_close, access_tick,
                                             hv_api_end_user_limits, 4003, access_drained, NULL, NULL};

void hv_api_subscribe_to_events(hv_conn *c, hv_http_req *r)
{
    char buf[512];
    const char *auth = hv_http_header_get(r, "authorization");
    const char *token = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7
                        : hv_http_query(r, "token", buf, sizeof(buf)) == 1 ? buf : NULL;
    char since[32];
    int has_since = hv_http_query(r, "since", since, sizeof(since));
    access_sock *as = hv_xcalloc(1, sizeof(*as));
    as->token = token ? hv_xstrdup(token) : NULL;
    as->since = has_since == 1 ? hv_xstrdup(since) : has_since < 0 ? hv_xstrdup("x") : NULL;
    if (hv_ws_accept(c, &access_handler, as, HV_CONN_KIND_WS_PEER) != 0) {
        free(as->token);
        free(as->since);
        free(as);
    }
}
