/* access.c — the seeds' access-id notifier API, on herald's event log.
 *
 *   POST /push_events        [{"accessid","created_at","payload"}…]  server token
 *                            each becomes an event of type "access.event",
 *                            user_id = accessid, data {"payload","created_at"};
 *                            answers true once stored
 *   POST /drop_user          {"drop_access_id": …}  server token: closes that
 *                            user's connections at once (4006 "dropped");
 *                            answers true
 *   GET  /subscribe_to_events  WebSocket: first message
 *                            {"access_id", "timestamp", "token"}; replays that
 *                            user's events stored after timestamp, then live
 *
 * Where herald differs from the seed: the subscriber must prove who it is
 * with a user token (JWT whose sub is the access id; in the first message,
 * or as Bearer / ?token= on the upgrade): the seed trusted any access id.
 * Events arrive as herald's native envelope, so the payload is in
 * data.payload. timestamp may be ms or s since the epoch, or ISO 8601.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "api/router.h"
#include "auth/identity.h"
#include "deliver/channels.h"
#include "hub/hub.h"
#include "net/server.h"
#include "net/ws.h"
#include "net/ws_frame.h"

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

static hv_event *access_event(json_t *item, size_t i, char *err, size_t errlen)
{
    const char *id = json_string_value(json_object_get(item, "accessid"));
    json_t *payload = json_object_get(item, "payload");
    json_t *created = json_object_get(item, "created_at");
    if (!json_is_object(item) || !id || !*id || strlen(id) > 256 || !payload) {
        snprintf(err, errlen, "events[%zu] needs \"accessid\" (a string) and \"payload\"", i);
        return NULL;
    }
    json_t *d = json_pack("{s:O,s:O}", "payload", payload, "created_at", created ? created : json_null());
    char *data = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    hv_event *ev = hv_event_new("access.event", NULL, id, data, strlen(data));
    free(data);
    return ev;
}

void hv_api_push_events(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
    if (!json_is_array(body) || json_array_size(body) == 0 || json_array_size(body) > MAX_PUSH) {
        json_decref(body);
        hv_http_error(c, 400, "body must be a JSON array of 1 to %d {\"accessid\", \"created_at\", \"payload\"}", MAX_PUSH);
        return;
    }
    size_t n = json_array_size(body);
    hv_event **evs = calloc(n, sizeof(*evs));
    char err[160];
    for (size_t i = 0; i < n; i++) {
        evs[i] = access_event(json_array_get(body, i), i, err, sizeof(err));
        if (!evs[i]) {
            for (size_t k = 0; k < i; k++)
                hv_event_unref(evs[k]);
            free(evs);
            json_decref(body);
            hv_http_error(c, 400, "%s", err);
            return;
        }
    }
    json_decref(body);
    hv_conn_hold(c);
    if (hv_hub_publish(c->loop->srv->hub, evs, n, c->loop, push_done, c) != 0) {
        hv_http_error(c, 503, "server is shutting down");
        hv_conn_release(c);
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
        hv_loop_post(srv->loops[i], drop_on_loop, strdup(user));
    json_decref(body);
    hv_http_respond(c, 200, "application/json", NULL, "true", 4);
}

/* ---- GET /subscribe_to_events ---------------------------------------------------- */

typedef struct access_sock {
    hv_sub *sub;
    int started;        /* the first message came: it authenticates once */
    char *token;        /* from the upgrade, if any */
    int64_t auth_deadline;
    int64_t expires_ms;
} access_sock;

/* ms since the epoch from a number (s or ms) or an ISO 8601 UTC string. */
static int parse_timestamp(json_t *v, int64_t *ms)
{
    if (!v || json_is_null(v)) {
        *ms = 0;
        return 0;
    }
    if (json_is_number(v)) {
        double x = json_number_value(v);
        /* Past year 9999 (in ms) is no time herald stores, and converting
         * a larger double to int64_t is undefined behaviour. */
        if (x < 0 || x >= 253402300800000.0)
            return -1;
        *ms = x < 1e12 ? (int64_t)(x * 1000) : (int64_t)x;
        return 0;
    }
    const char *s = json_string_value(v);
    struct tm tm = {0};
    const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return -1;
    int frac = 0, digits = 0;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            if (digits++ < 3)
                frac = frac * 10 + (*rest - '0');
    while (digits > 0 && digits < 3)
        frac *= 10, digits++;
    if (*rest != 'Z' || rest[1])
        return -1;
    *ms = (int64_t)timegm(&tm) * 1000 + frac;
    return 0;
}

static void access_resumed(hv_sub *sub, int status, uint64_t first_id)
{
    (void)first_id;
    if (status == 0)
        return;
    static const char msg[] = "{\"type\":\"resume_failed\",\"message\":\"history no longer holds every event "
                              "after that timestamp; live from now\"}";
    hv_ws_send(sub->conn, HV_WS_TEXT, msg, sizeof(msg) - 1);
}

static void access_start(hv_conn *c, access_sock *as, json_t *j)
{
    const char *access_id = json_string_value(json_object_get(j, "access_id"));
    const char *token = json_string_value(json_object_get(j, "token"));
    if (!token)
        token = as->token;
    int64_t since_ms;
    if (!access_id || !*access_id || parse_timestamp(json_object_get(j, "timestamp"), &since_ms) != 0) {
        hv_ws_close(c, 4003, "invalid auth request");
        return;
    }
    hv_client_id id;
    char err[160];
    if (!token || hv_client_id_resolve(c->loop->srv, token, &id, err, sizeof(err)) != 0) {
        hv_ws_close(c, 4003, token ? err : "a user token is required");
        return;
    }
    if (id.kind != HV_ID_USER || strcmp(id.user_id, access_id) != 0) {
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
    if (since_ms > 0)
        hv_sub_resume_time(as->sub, since_ms, access_resumed);
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
    hv_sub_release(as->sub);
    free(as->token);
    free(as);
}

static void access_tick(hv_conn *c, int64_t now)
{
    access_sock *as = hv_ws_app(c);
    if (!as->sub && now >= as->auth_deadline) {
        as->auth_deadline = INT64_MAX;
        hv_ws_close(c, 4003, "authentication timeout");
    } else if (as->expires_ms && hv_now_ms() >= as->expires_ms) {
        as->expires_ms = 0;
        hv_ws_close(c, 4003, "token expired");
    }
}

static const hv_ws_handler access_handler = {access_message, access_close, access_tick, hv_api_end_user_limits,
                                             4003};

void hv_api_subscribe_to_events(hv_conn *c, hv_http_req *r)
{
    char buf[512];
    const char *auth = hv_http_header_get(r, "authorization");
    const char *token = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7
                        : hv_http_query(r, "token", buf, sizeof(buf)) == 1 ? buf : NULL;
    access_sock *as = calloc(1, sizeof(*as));
    as->token = token ? strdup(token) : NULL;
    as->auth_deadline = (int64_t)uv_now(&c->loop->uv) + (int64_t)(c->loop->srv->cfg.auth_timeout_s * 1000);
    if (hv_ws_accept(c, &access_handler, as, HV_CONN_KIND_WS_PEER) != 0) {
        free(as->token);
        free(as);
    }
}
