/* SPDX-License-Identifier: MIT */
/* peer_socket.c — /socket/peer/websocket, the app client socket (of a
 * peer, or of a user with a user token).
 *
 * A peer authenticates with its token: "Authorization: Bearer" or
 * "?token=" on the upgrade, or a first text frame {"type":"auth","token":…}
 * (within --auth-timeout, ws.c). It then receives, as native JSON envelopes,
 * the events of its room and those addressed to it (user_id =
 * "peer:<its peer id>", a namespace no user token reaches: auth/jwt.h),
 * and may send {"type":"update_metadata","metadata":…}.
 * A user token (JWT, see auth/identity.h) works too: the socket then gets
 * the user's events and those of the rooms the token names, and is closed
 * with 4003 "token expired" when the token's exp passes.
 * A peer's presence is announced by the registry: peer.connected on auth,
 * peer.disconnected on a clean close, peer.crashed when the connection is
 * lost or misses its heartbeats. A second socket with the same token
 * replaces the first (closed with 4002), so a client that reconnects
 * before herald noticed the old connection died is never locked out.
 * With several nodes on one Redis, a token this node does not know may be
 * another node's new peer: the socket is paused (under its --auth-timeout)
 * until a catch-up with the other nodes' changes has run off the loop
 * (hv_peers_lookup), then authenticates or is refused. What a peer token
 * does here the agent socket does too: both use peer_auth.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/backoff.h"
#include "api/handlers.h"
#include "api/peer_auth.h"
#include "api/reply.h"
#include "auth/identity.h"
#include "codec/ws_frame.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/channels.h"
#include "hv_parse.h"
#include "net/server.h"
#include "net/ws.h"
#include "rooms/registry.h"

typedef struct peer_sock {
    hv_peer_auth auth; /* first: peer_auth.h finds it there */
    hv_sub *sub;       /* NULL until authenticated */
    hv_peer *peer;     /* a peer token's peer; NULL for a user token */
    uint64_t gen;
    int64_t expires_ms; /* a user token's exp (wall clock); 0 = never */
    int user_slot;      /* holds a per-user connection slot */
    int resume_slot;    /* holds a resume slot not yet handed to its sub */
    char *up_token;     /* the upgrade's token, until on_open uses it */
    char up_since[32];
} peer_sock;

static void send_error(hv_conn *c, const char *msg)
{
    hv_api_ws_send_json(c, json_pack("{s:s,s:s}", "type", "error", "message", msg));
}

static void resumed(hv_sub *sub, int status, uint64_t first_id)
{
    if (status == 0)
        return;
    char first[24], msg[160];
    snprintf(first, sizeof(first), "%llu", (unsigned long long)first_id);
    snprintf(msg, sizeof(msg), status == 1 ? "history no longer holds the events after %llu; live from now"
                                           : "history could not be read after %llu; live from now",
             (unsigned long long)sub->last_id);
    hv_api_ws_send_json(sub->conn, json_pack("{s:s,s:s,s:s}", "type", "resume_failed", "message", msg, "first_id", first));
}

/* A user token (JWT): the user's channel and the rooms it names. */
static void authenticate_user(hv_conn *c, peer_sock *ps, const char *token, const char *since, uint64_t from)
{
    hv_client_id id;
    char err[160];
    if (!token || hv_client_id_resolve(c->loop->srv, token, &id, err, sizeof(err)) != 0) {
        if (token)
            hv_auth_failed(c);
        hv_ws_close(c, HV_CLOSE_INVALID_TOKEN, token ? err : "invalid auth request");
        return;
    }
    if (hv_limits_user_acquire(&c->loop->srv->limits, id.user_id) != 0) {
        hv_client_id_clear(&id);
        hv_ws_close(c, 1013, "too busy");
        return;
    }
    ps->user_slot = 1;
    ps->expires_ms = id.exp_ms;
    ps->sub = hv_sub_new(c, HV_SUB_WS, id.user_id, (const char *const *)id.rooms, id.nrooms);
    hv_sub_join(ps->sub);
    json_t *rooms = json_array();
    for (size_t i = 0; i < id.nrooms; i++)
        json_array_append_new(rooms, json_string(id.rooms[i]));
    hv_api_ws_send_json(c, json_pack("{s:s,s:s,s:o}", "type", "authenticated", "user_id", id.user_id, "rooms", rooms));
    hv_client_id_clear(&id);
    if (since && *since) {
        ps->resume_slot = 0; /* the resume's now */
        hv_sub_resume(ps->sub, from, resumed);
    }
}

/* since: "" / NULL for a fresh start, else the last event id the client
 * saw: 0 and *from set, or -1 when it is not an event id. */
static int parse_since(const char *since, uint64_t *from)
{
    *from = 0;
    if (!since || !*since)
        return 0;
    return hv_parse_u64(since, from);
}

/* The token is known here, or was looked for (since already checked). */
static void authenticate_now(hv_conn *c, const char *token, const char *since)
{
    peer_sock *ps = hv_ws_app(c);
    uint64_t from;
    parse_since(since, &from);
    /* A peer token: no per-user limit, a peer has one socket at a time
     * (a new one replaces the old). */
    int rc = token ? hv_peer_auth_connect(c, token, 0, &ps->peer, &ps->gen) : 1;
    if (rc < 0)
        return;
    if (rc > 0) {
        authenticate_user(c, ps, token, since, from);
        return;
    }
    const char *room = hv_peer_room_id(ps->peer);
    char channel[sizeof(HV_PEER_CHANNEL_PREFIX) + 64];
    snprintf(channel, sizeof(channel), HV_PEER_CHANNEL_PREFIX "%s", hv_peer_id(ps->peer));
    ps->sub = hv_sub_new(c, HV_SUB_WS, channel, &room, 1);
    ps->sub->owner = ps->peer;
    ps->sub->owner_gen = ps->gen;
    hv_sub_join(ps->sub);
    hv_api_ws_send_json(c, json_pack("{s:s,s:s,s:s}", "type", "authenticated", "peer_id", hv_peer_id(ps->peer),
                           "room_id", room));
    if (since && *since) {
        ps->resume_slot = 0; /* the resume's now */
        hv_sub_resume(ps->sub, from, resumed);
    }
}

/* A socket authenticates once (peer_auth.h). */
static void authenticate(hv_conn *c, peer_sock *ps, const char *token, const char *since)
{
    if (hv_peer_auth_begin(c, &ps->auth) != 0)
        return;
    uint64_t from;
    if (parse_since(since, &from) != 0) {
        hv_ws_close(c, HV_CLOSE_INVALID_TOKEN, "invalid auth request");
        return;
    }
    /* A resume reads history page by page on the thread pool: at most
     * --max-resumes-per-address at once from one client address. */
    if (since && *since) {
        if (hv_limits_resume_acquire(&c->loop->srv->limits, c->addr) != 0) {
            hv_ws_close(c, 1013, "too many resumes from this address, try again later");
            return;
        }
        ps->resume_slot = 1;
    }
    if (token && hv_peer_auth_lookup(c, &ps->auth, token, since))
        return;
    authenticate_now(c, token, since);
}

/* The peer's update is durable (or failed): the socket reads again. */
static void metadata_stored(hv_loop *l, void *arg, int status, hv_event **evs, size_t n)
{
    (void)l, (void)evs, (void)n;
    hv_conn *c = arg;
    if (!c->closing) {
        if (status != 0)
            send_error(c, "metadata not stored: the event store is unavailable, try again later");
        hv_ws_resume(c);
    }
    hv_conn_release(c);
}

/* Bounded in size (--max-metadata), and one at a time: the socket is
 * paused until the change is committed, so a peer cannot queue commits
 * (each an fsynced event sent to its whole room) faster than they are made. */
static void update_metadata(hv_conn *c, peer_sock *ps, json_t *metadata)
{
    hv_server *srv = c->loop->srv;
    char *md = json_dumps(metadata, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!md) {
        send_error(c, "metadata could not be encoded");
        return;
    }
    size_t len = strlen(md);
    if (len > srv->cfg.max_metadata) {
        char msg[160];
        snprintf(msg, sizeof(msg), "metadata too large: %zu bytes of JSON, at most %zu; nothing stored", len,
                 srv->cfg.max_metadata);
        send_error(c, msg);
        free(md);
        return;
    }
    hv_conn_hold(c);
    hv_rooms_reply reply = {c->loop, metadata_stored, c};
    if (hv_peers_update_metadata(srv->rooms, ps->peer, md, reply) == 0)
        hv_ws_pause(c);
    else
        hv_conn_release(c);
    free(md);
}

/* A "since" given as a JSON string or number. */
static const char *since_of(json_t *j, char *buf, size_t len)
{
    json_t *v = json_object_get(j, "since");
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return json_is_string(v) ? json_string_value(v) : v && !json_is_null(v) ? "x" : NULL;
}

static void on_message(hv_conn *c, int opcode, const uint8_t *data, size_t len)
{
    peer_sock *ps = hv_ws_app(c);
    json_t *j = opcode == HV_WS_TEXT ? json_loadb((const char *)data, len, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(j, "type"));
    int is_auth = type && !strcmp(type, "auth");
    if (!ps->auth.tried || is_auth) { /* the first message, or another auth: refused */
        const char *token = is_auth ? json_string_value(json_object_get(j, "token")) : NULL;
        char buf[32];
        authenticate(c, ps, token, since_of(j, buf, sizeof(buf)));
    } else if (!j) {
        send_error(c, opcode == HV_WS_TEXT ? "message is not valid JSON" : "binary messages are not accepted");
    } else if (ps->peer && type && !strcmp(type, "update_metadata") && json_object_get(j, "metadata")) {
        update_metadata(c, ps, json_object_get(j, "metadata"));
    } else {
        send_error(c, "unknown message; expected {\"type\":\"update_metadata\",\"metadata\":…}");
    }
    json_decref(j);
}

static void on_close(hv_conn *c, int lost, const char *reason)
{
    peer_sock *ps = hv_ws_app(c);
    if (ps->user_slot)
        hv_limits_user_release(&c->loop->srv->limits, ps->sub->user_id);
    if (ps->resume_slot) /* refused before its resume began */
        hv_limits_resume_release(&c->loop->srv->limits, c->addr);
    hv_sub_release(ps->sub);
    if (ps->peer)
        hv_peers_disconnect(c->loop->srv->rooms, ps->peer, ps->gen, lost, reason);
    free(ps->up_token);
    hv_peer_auth_clear(&ps->auth);
    free(ps);
}

static void on_tick(hv_conn *c, int64_t now)
{
    peer_sock *ps = hv_ws_app(c);
    (void)now; /* the deadline to authenticate is ws.c's (--auth-timeout, 4003 below) */
    if (ps->expires_ms && hv_now_ms() >= ps->expires_ms) {
        ps->expires_ms = 0; /* a user token's time is up: it reconnects with a fresh one */
        hv_ws_close(c, HV_CLOSE_INVALID_TOKEN, "token expired");
    }
}

void hv_api_end_user_limits(hv_conn *c)
{
    const hv_config *cfg = &c->loop->srv->cfg;
    hv_ws_limits lim = {cfg->max_peer_message, cfg->peer_msg_rate, (double)cfg->peer_msg_burst};
    hv_ws_set_limits(c, &lim);
}

/* The upgrade's token authenticates before any frame that came with the
 * upgrade is handled: such a frame is then a second authentication. */
static void on_open(hv_conn *c)
{
    peer_sock *ps = hv_ws_app(c);
    hv_api_end_user_limits(c);
    char *token = ps->up_token;
    ps->up_token = NULL;
    if (token)
        authenticate(c, ps, token, ps->up_since);
    free(token);
}

/* The client took its output: a paused replay goes on. */
static void on_drained(hv_conn *c)
{
    peer_sock *ps = hv_ws_app(c);
    hv_sub_drained(ps->sub);
}

static const hv_ws_handler handler = {on_message, on_close, on_tick, on_open, HV_CLOSE_INVALID_TOKEN, on_drained, NULL, NULL};

/* The token of the upgrade request, if it carries one. */
static const char *upgrade_token(hv_http_req *r, char *buf, size_t len)
{
    const char *auth = hv_http_header_get(r, "authorization");
    if (auth && !strncasecmp(auth, "Bearer ", 7) && auth[7])
        return auth + 7;
    return hv_http_query(r, "token", buf, len) == 1 && buf[0] ? buf : NULL;
}

void hv_api_peer_socket(hv_conn *c, hv_http_req *r)
{
    char buf[512];
    peer_sock *ps = hv_xcalloc(1, sizeof(*ps));
    ps->auth.now = authenticate_now;
    const char *tok = upgrade_token(r, buf, sizeof(buf));
    ps->up_token = tok ? hv_xstrdup(tok) : NULL; /* the request is gone after the upgrade */
    if (hv_http_query(r, "since", ps->up_since, sizeof(ps->up_since)) < 0)
        strcpy(ps->up_since, "x"); /* too long: refused as a bad auth request */
    if (hv_ws_accept(c, &handler, ps, HV_CONN_KIND_WS_PEER) != 0) {
        free(ps->up_token);
        free(ps);
    } else {
        hv_loop_flush(c->loop);
    }
}
