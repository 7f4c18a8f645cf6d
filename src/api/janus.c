/* SPDX-License-Identifier: MIT */
/* janus.c — the Janus event-handler endpoints: POST <--janus-path> (the
 * HTTP sample handler, default /janus/events) and GET /janus/ws (the
 * WebSockets handler, whose every text frame is one body).
 *
 * Auth is the server token, as "Authorization: Bearer <token>" or as the
 * password of HTTP Basic with any user name (Janus's sample handler can
 * only send Basic, pre-emptively); the WebSocket upgrade also takes
 * ?token=<token>, as Janus's WebSockets handler has no auth option. A
 * refusal is logged and counted (Janus never looks at the answer).
 *
 * A body is parsed and mapped by ingest/janus.c, its events already taken
 * are dropped (ingest/janus_dedup.c), the rest go to the hub, and the
 * answer, 200 {"ids":[…],"duplicates":N}, goes out after the durable
 * commit; on a WebSocket it is a text frame. If the commit fails the
 * digests are forgotten again, so Janus's retry is taken.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/backoff.h"
#include "api/handlers.h"
#include "api/reply.h"
#include "api/router.h"
#include "auth/server_token.h"
#include "codec/ws_frame.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "hub/hub.h"
#include "ingest/janus.h"
#include "ingest/janus_dedup.h"
#include "net/server.h"
#include "net/ws.h"

#define COUNT(srv, field) atomic_fetch_add_explicit(&(srv)->metrics.field, 1, memory_order_relaxed)

/* ---- auth ----------------------------------------------------------------- */

/* 1 when a Basic credential ("user:password" in base64) has the server
 * token as its password. */
static int basic_ok(hv_server *srv, const char *b64)
{
    while (*b64 == ' ')
        b64++;
    size_t len = strlen(b64);
    while (len && b64[len - 1] == ' ')
        len--;
    if (len == 0 || len % 4 || len > 4096)
        return 0;
    unsigned char out[3 * 4096 / 4 + 1];
    int n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
    if (n < 0)
        return 0;
    /* EVP_DecodeBlock counts the padding as zero bytes. Valid base64 ends
     * in at most two '=' and has none before them: anything else (such as
     * "====", which once made n negative) is not credentials. */
    size_t pad = 0;
    while (pad < len && b64[len - 1 - pad] == '=')
        pad++;
    if (pad > 2 || memchr(b64, '=', len - pad) || (size_t)n < pad)
        return 0;
    n -= (int)pad;
    unsigned char *colon = memchr(out, ':', (size_t)n);
    if (!colon)
        return 0;
    size_t plen = (size_t)n - (size_t)(colon + 1 - out);
    return hv_auth_token_ok(srv, (const char *)colon + 1, plen);
}

int hv_janus_auth_ok(hv_server *srv, const char *auth)
{
    if (!auth)
        return 0;
    if (!strncasecmp(auth, "Basic ", 6))
        return basic_ok(srv, auth + 6);
    if (strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    const char *tok = auth + 7;
    while (*tok == ' ')
        tok++;
    return *tok && hv_auth_token_ok(srv, tok, strlen(tok));
}

/* Checks the credentials; on failure answers 401, logs, counts, -1 (429
 * unchecked while the address backs off, api/backoff.h). */
static int require_auth(hv_conn *c, hv_http_req *r, int allow_query)
{
    hv_server *srv = c->loop->srv;
    if (hv_auth_backoff_http(c) != 0)
        return -1;
    const char *auth = hv_http_header_get(r, "authorization");
    char tok[512];
    int query = allow_query && !auth && hv_http_query(r, "token", tok, sizeof(tok)) == 1;
    if (hv_janus_auth_ok(srv, auth) || (query && hv_auth_token_ok(srv, tok, strlen(tok)))) {
        hv_conn_authenticated(c);
        return 0;
    }
    if (auth || query)
        hv_auth_failed(c);
    COUNT(srv, janus_auth_failures);
    hv_warn("janus: %s %s refused: %s credentials", r->method_name, r->path, auth ? "wrong" : "no");
    static const char body[] = "{\"errors\":\"Invalid credentials: use the server token as Bearer "
                               "or as the HTTP Basic password\"}";
    hv_http_respond(c, 401, "application/json", "WWW-Authenticate: Basic realm=\"herald\"\r\n", body,
                    sizeof(body) - 1);
    return -1;
}

/* ---- ingest ---------------------------------------------------------------- */

typedef struct janus_job {
    hv_conn *conn;
    int ws;
    size_t n, dups;
    uint8_t (*digests)[HV_JANUS_DIGEST_LEN]; /* of the n events sent to the hub */
} janus_job;

/* Sends the answer (HTTP response or WebSocket text frame). */
static void answer(hv_conn *c, int ws, int status, const char *body, size_t len)
{
    if (ws) {
        hv_ws_send(c, HV_WS_TEXT, body, len);
    } else {
        hv_http_respond(c, status, "application/json", NULL, body, len);
        hv_conn_flush(c);
    }
}

static void answer_error(hv_conn *c, int ws, int status, const char *msg)
{
    json_t *j = json_pack("{s:s}", "errors", msg);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    answer(c, ws, status, s, strlen(s));
    free(s);
}

static void answer_ids(hv_conn *c, int ws, hv_event **evs, size_t n, size_t dups)
{
    size_t cap = 48 + n * HV_API_ID_TEXT_MAX, len = 0;
    char *body = hv_xmalloc(cap);
    len += (size_t)snprintf(body, cap, "{\"ids\":[");
    len += hv_api_put_ids(body + len, evs, n);
    len += (size_t)snprintf(body + len, cap - len, "],\"duplicates\":%zu}", dups);
    answer(c, ws, 200, body, len);
    free(body);
}

static void job_free(janus_job *j)
{
    free(j->digests);
    free(j);
}

static void janus_done(hv_loop *l, void *arg, int status, hv_event **evs, size_t n)
{
    janus_job *j = arg;
    hv_server *srv = l->srv;
    if (status != 0) {
        if (srv->janus_dedup)
            hv_janus_dedup_forget(srv->janus_dedup, j->digests, j->n);
        COUNT(srv, publish_errors);
        char msg[400];
        hv_api_store_failure(srv, status, msg, sizeof(msg));
        answer_error(j->conn, j->ws, 503, msg);
    } else {
        atomic_fetch_add_explicit(&srv->metrics.janus_events, n, memory_order_relaxed);
        answer_ids(j->conn, j->ws, evs, n, j->dups);
    }
    if (j->ws)
        hv_ws_resume(j->conn);
    hv_conn_release(j->conn);
    job_free(j);
}

/* Keeps the events not seen before (the job gets their digests); returns
 * them as a new array (the rest are released) and empties b. */
static hv_event **take_new(hv_server *srv, hv_janus_batch *b, janus_job *j)
{
    uint8_t *keep = hv_xmalloc(b->n);
    size_t fresh = b->n;
    if (srv->janus_dedup)
        fresh = hv_janus_dedup_claim(srv->janus_dedup, (const uint8_t(*)[HV_JANUS_DIGEST_LEN])b->digests,
                                     b->n, keep);
    else
        memset(keep, 1, b->n);
    hv_event **evs = hv_xcalloc(fresh ? fresh : 1, sizeof(*evs));
    j->digests = hv_xcalloc(fresh ? fresh : 1, sizeof(*j->digests));
    for (size_t i = 0; i < b->n; i++) {
        if (keep[i]) {
            memcpy(j->digests[j->n], b->digests[i], HV_JANUS_DIGEST_LEN);
            evs[j->n++] = b->evs[i];
        } else {
            hv_event_unref(b->evs[i]);
        }
    }
    j->dups = b->n - fresh;
    b->n = 0;
    hv_janus_batch_free(b);
    free(keep);
    return evs;
}

static void ingest(hv_conn *c, const char *body, size_t len, int ws)
{
    hv_server *srv = c->loop->srv;
    hv_janus_opts o = {(hv_janus_room_from)hv_janus_room_from_parse(srv->cfg.janus_room_from),
                       srv->cfg.janus_room_prefix};
    hv_janus_batch b;
    char err[256];
    if (hv_janus_parse(body, len, &o, &b, err, sizeof(err)) != 0) {
        COUNT(srv, janus_invalid);
        hv_warn("janus: invalid body refused (%zu bytes): %s", len, err);
        answer_error(c, ws, 400, err);
        return;
    }
    janus_job *j = hv_xcalloc(1, sizeof(*j));
    j->conn = c;
    j->ws = ws;
    hv_event **evs = take_new(srv, &b, j);
    atomic_fetch_add_explicit(&srv->metrics.janus_duplicates, j->dups, memory_order_relaxed);
    if (j->n == 0) { /* a resent batch: all of it is stored already */
        answer_ids(c, ws, evs, 0, j->dups);
        free(evs);
        job_free(j);
        return;
    }
    /* One publish at a time per connection: nothing more is parsed from
     * it until this one is stored and answered, so Janus (or anyone holding
     * its credentials) cannot queue commits in the hub without bound. Over
     * HTTP, net/http.c already holds the next request (and stops reading
     * once one arrives) while this one is in hand. */
    hv_conn_hold(c);
    if (ws)
        hv_ws_pause(c);
    if (hv_hub_publish(srv->hub, evs, j->n, c->loop, janus_done, j) != 0) {
        if (srv->janus_dedup)
            hv_janus_dedup_forget(srv->janus_dedup, j->digests, j->n);
        answer_error(c, ws, 503, "server is shutting down");
        if (ws)
            hv_ws_resume(c);
        hv_conn_release(c);
        job_free(j);
    }
}

/* ---- endpoints -------------------------------------------------------------- */

void hv_api_janus_events(hv_conn *c, hv_http_req *r)
{
    if (require_auth(c, r, 0) != 0)
        return;
    ingest(c, r->body, r->body_len, 0);
}

static void ws_message(hv_conn *c, int opcode, const uint8_t *data, size_t len)
{
    (void)opcode; /* text as sent by Janus; binary frames are taken alike */
    ingest(c, (const char *)data, len, 1);
}

static void ws_close(hv_conn *c, int lost, const char *reason)
{
    (void)c;
    if (lost)
        hv_info("janus: event handler WebSocket lost (%s)", reason ? reason : "");
}

/* Authenticated before the upgrade (require_auth): --auth-timeout never fires. */
static const hv_ws_handler ws_handler = {ws_message, ws_close, NULL, NULL, 1008, NULL, NULL, NULL};

void hv_api_janus_ws(hv_conn *c, hv_http_req *r)
{
    if (require_auth(c, r, 1) != 0)
        return;
    hv_info("janus: new event handler WebSocket connection, accepting");
    hv_ws_accept(c, &ws_handler, NULL, HV_CONN_KIND_WS_SERVER);
}
