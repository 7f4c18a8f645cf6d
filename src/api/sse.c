/* SPDX-License-Identifier: MIT */
/* sse.c — GET /v1/stream: an app client's events as Server-Sent Events.
 *
 * The same audience as the peer socket (a peer token: its room and its own
 * user; a user token: its user and the rooms it names), authenticated with
 * "Authorization: Bearer" or ?token= (EventSource cannot set headers). Resume with the Last-Event-ID header
 * (browsers send it when they reconnect) or ?since=. Each event is one
 * record "id: <id>\ndata: <envelope>\n\n", encoded once per event and
 * shared by every stream. A comment line every 15 s keeps proxies and
 * clients from timing out; headers tell proxies not to buffer. A stream
 * that falls too far behind is closed; the client reconnects and resumes.
 * With several nodes on one Redis, an unknown peer token waits for a
 * catch-up with the other nodes' changes (hv_peers_lookup) before the
 * request is answered.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/backoff.h"
#include "api/handlers.h"
#include "auth/identity.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/channels.h"
#include "hv_parse.h"
#include "net/server.h"
#include "rooms/registry.h"

#define HEARTBEAT_MS 15000
#define RETRY_MS 3000

typedef struct stream {
    hv_sub *sub;
    int64_t next_beat;
    int64_t expires_ms; /* a user token's exp: the stream ends then */
} stream;

static void sse_data(hv_conn *c, const char *data, size_t len)
{
    (void)c, (void)data, (void)len; /* a stream's client has nothing to say */
}

static void sse_eof(hv_conn *c, int status)
{
    (void)status;
    hv_conn_close(c);
}

static void sse_timeout(hv_conn *c, int64_t now)
{
    (void)now;
    hv_conn_close(c);
}

/* Every 15 s, or every ping interval when that is shorter. */
static int64_t heartbeat_ms(hv_conn *c)
{
    int64_t ping = (int64_t)(c->loop->srv->cfg.ping_interval_s * 1000);
    return ping < HEARTBEAT_MS ? ping : HEARTBEAT_MS;
}

static void sse_tick(hv_conn *c, int64_t now)
{
    stream *s = c->proto;
    if (s->expires_ms && hv_now_ms() >= s->expires_ms) {
        hv_conn_close_after_flush(c); /* the client reconnects with a fresh token */
        return;
    }
    if (now < s->next_beat)
        return;
    s->next_beat = now + heartbeat_ms(c);
    static const char beat[] = ": heartbeat\n\n";
    hv_conn_send_copy(c, beat, sizeof(beat) - 1);
}

static void sse_close(hv_conn *c)
{
    stream *s = c->proto;
    hv_limits_user_release(&c->loop->srv->limits, s->sub->user_id);
    hv_sub_release(s->sub);
    free(s);
    c->proto = NULL;
}

static void sse_shutdown(hv_conn *c)
{
    hv_conn_close_after_flush(c);
}

/* The client took its output: a paused replay goes on. */
static void sse_drained(hv_conn *c)
{
    stream *s = c->proto;
    hv_sub_drained(s->sub);
}

static const hv_conn_ops sse_ops = {
    .on_data = sse_data, .on_eof = sse_eof, .on_timeout = sse_timeout, .on_tick = sse_tick,
    .on_close = sse_close, .on_shutdown = sse_shutdown, .on_drained = sse_drained};

static void resumed(hv_sub *sub, int status, uint64_t first_id)
{
    if (status == 0)
        return;
    char rec[256];
    int n = snprintf(rec, sizeof(rec),
                     "event: resume_failed\ndata: {\"message\":\"history no longer holds the events after %llu; "
                     "live from now\",\"first_id\":\"%llu\"}\n\n",
                     (unsigned long long)sub->last_id, (unsigned long long)first_id);
    hv_conn_send_copy(sub->conn, rec, (size_t)n);
}

static const char *stream_token(hv_http_req *r, char *buf, size_t len)
{
    const char *auth = hv_http_header_get(r, "authorization");
    if (auth && !strncasecmp(auth, "Bearer ", 7) && auth[7])
        return auth + 7;
    return hv_http_query(r, "token", buf, len) == 1 && buf[0] ? buf : NULL;
}

/* The resume point: Last-Event-ID wins over ?since=. -1 when malformed. */
static int stream_since(hv_http_req *r, uint64_t *since, int *given)
{
    char buf[32];
    const char *v = hv_http_header_get(r, "last-event-id");
    if (!v || !*v)
        v = hv_http_query(r, "since", buf, sizeof(buf)) == 1 ? buf : NULL;
    *given = v && *v;
    if (!*given)
        return 0;
    return hv_parse_u64(v, since);
}

/* Opens the stream of token's client (known here, or looked for). */
static void stream_open(hv_conn *c, hv_http_req *r, const char *token)
{
    char err[160];
    hv_limits *lim = &c->loop->srv->limits;
    hv_client_id id;
    if (hv_client_id_resolve(c->loop->srv, token, &id, err, sizeof(err)) != 0) {
        hv_auth_failed(c);
        hv_http_error(c, 401, "%s", !strcmp(err, "invalid token") ? "Invalid token" : err);
        return;
    }
    uint64_t since = 0;
    int resume;
    if (stream_since(r, &since, &resume) != 0) {
        hv_client_id_clear(&id);
        hv_http_error(c, 400, "Last-Event-ID / since must be an event id");
        return;
    }
    if (hv_limits_user_acquire(lim, id.user_id) != 0) {
        hv_client_id_clear(&id);
        hv_http_error(c, 503, "too busy");
        return;
    }
    /* A resume reads history page by page on the thread pool: at most
     * --max-resumes-per-address at once from one client address. */
    if (resume && hv_limits_resume_acquire(lim, c->addr) != 0) {
        hv_limits_user_release(lim, id.user_id);
        hv_client_id_clear(&id);
        hv_http_error(c, 429, "too many resumes from this address, try again later");
        return;
    }
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache, no-transform\r\n"
                     "X-Accel-Buffering: no\r\nConnection: keep-alive\r\n\r\nretry: %d\n\n", RETRY_MS);
    hv_conn_send_copy(c, head, (size_t)n);
    size_t rest_len;
    free(hv_http_detach(c, &rest_len)); /* anything after the request is ignored */
    stream *s = hv_xcalloc(1, sizeof(*s));
    s->next_beat = (int64_t)uv_now(&c->loop->uv) + heartbeat_ms(c);
    s->expires_ms = id.exp_ms;
    s->sub = hv_sub_new(c, HV_SUB_SSE, id.user_id, (const char *const *)id.rooms, id.nrooms);
    hv_client_id_clear(&id);
    c->proto = s;
    c->ops = &sse_ops;
    hv_conn_set_kind(c, HV_CONN_KIND_SSE);
    hv_conn_resume(c);
    hv_sub_join(s->sub);
    if (resume)
        hv_sub_resume(s->sub, since, resumed);
    hv_loop_flush(c->loop);
}

/* The catch-up the token waited for has run (status: hv_peers_lookup's):
 * the request, kept meanwhile, is answered now. */
static void looked_up(hv_loop *l, void *arg, int status)
{
    (void)l;
    hv_conn *c = arg;
    if (!c->closing) {
        char buf[512];
        hv_http_req *r = hv_http_request(c);
        if (status == HV_CATCH_UP_DONE)
            stream_open(c, r, stream_token(r, buf, sizeof(buf)));
        else if (status == HV_CATCH_UP_TIMEOUT)
            hv_http_error(c, 503, "the token could not be checked in time, try again later");
        else
            hv_http_error(c, 503, "event store unavailable, try again later");
    }
    hv_conn_release(c);
}

void hv_api_stream(hv_conn *c, hv_http_req *r)
{
    char buf[512];
    if (hv_auth_backoff_http(c) != 0)
        return;
    const char *token = stream_token(r, buf, sizeof(buf));
    if (!token) {
        hv_http_error(c, 401, "Missing token");
        return;
    }
    /* With several nodes, a token this node does not know may be another
     * node's new peer: the request waits for a catch-up that runs off
     * this loop (issue 13, defect 11); the connection reads nothing more
     * meanwhile. */
    hv_conn_hold(c);
    int rc = hv_peers_lookup(c->loop->srv->rooms, token, c->loop, looked_up, c);
    if (rc == HV_CATCH_UP_QUEUED)
        return;
    hv_conn_release(c);
    if (rc == HV_CATCH_UP_BUSY)
        hv_http_error(c, 503, "too many unknown tokens are being looked up, try again later");
    else if (rc == HV_CATCH_UP_FAILED)
        hv_http_error(c, 503, "event store unavailable, try again later");
    else
        stream_open(c, r, token);
}
