/* SPDX-License-Identifier: MIT */
/* agent_socket.c — /socket/agent/websocket, the socket of an agent peer
 * (Fishjam's agent socket, what the SDK's createAgent() opens).
 *
 * Protobuf in WebSocket binary frames (proto/agent.proto, upstream
 * fishjam/agent_notifications.proto): the agent sends
 * AgentRequest{auth_request{token}} with the token of a peer of type
 * "agent" and gets AgentResponse{authenticated}; the peer then counts as
 * connected (peer.connected, PEER_TYPE_AGENT) until the socket closes
 * (peer.disconnected, or peer.crashed when the connection is lost),
 * exactly as on the peer socket: the token is checked, looked up across
 * nodes and connected by the code both sockets share (peer_auth.h), so a
 * second socket replaces the first (4002), deleting the peer or its room
 * closes it (4004 / 4005), and a connect the store cannot take is
 * refused (1013). It must authenticate within --auth-timeout (4003
 * "authentication timeout").
 *
 * herald carries no media: add_track, remove_track, track_data,
 * interrupt_track and capture_image are refused by closing the socket
 * with 1003 and a reason naming the request (AgentResponse has no error
 * member, and silently dropping audio would leave the agent talking to
 * no one). docs/api.md lists every answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "api/backoff.h"
#include "api/handlers.h"
#include "api/peer_auth.h"
#include "codec/ws_frame.h"
#include "core/xalloc.h"
#include "deliver/channels.h"
#include "net/server.h"
#include "net/ws.h"
#include "rooms/registry.h"

#define CLOSE_UNSUPPORTED 1003 /* RFC 6455: a kind of data the endpoint cannot accept */
#define CLOSE_BAD_PAYLOAD 1007 /* RFC 6455: data inconsistent with the message's type */

typedef struct agent_sock {
    hv_peer_auth auth; /* first: peer_auth.h finds it there */
    hv_peer *peer;     /* NULL until authenticated */
    uint64_t gen;
    hv_sub *sub;       /* in its room's channel, sent nothing: how the registry finds it */
} agent_sock;

static const char *member_name(Fishjam__AgentRequest__ContentCase c)
{
    switch (c) {
    case FISHJAM__AGENT_REQUEST__CONTENT_ADD_TRACK: return "add_track";
    case FISHJAM__AGENT_REQUEST__CONTENT_REMOVE_TRACK: return "remove_track";
    case FISHJAM__AGENT_REQUEST__CONTENT_TRACK_DATA: return "track_data";
    case FISHJAM__AGENT_REQUEST__CONTENT_INTERRUPT_TRACK: return "interrupt_track";
    case FISHJAM__AGENT_REQUEST__CONTENT_CAPTURE_IMAGE: return "capture_image";
    default: return NULL;
    }
}

static void refuse(hv_agent_verdict *v, int code, const char *reason)
{
    v->code = code;
    snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

void hv_agent_request_read(int opcode, const uint8_t *data, size_t len, int authed, hv_agent_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (opcode != HV_WS_BINARY) {
        refuse(v, CLOSE_UNSUPPORTED, "the agent socket takes binary AgentRequest frames, not text");
        return;
    }
    Fishjam__AgentRequest *m = fishjam__agent_request__unpack(NULL, len, data);
    if (!m) {
        refuse(v, CLOSE_BAD_PAYLOAD, "malformed AgentRequest");
        return;
    }
    const char *media = member_name(m->content_case);
    if (m->content_case == FISHJAM__AGENT_REQUEST__CONTENT_AUTH_REQUEST) {
        const char *tok = m->auth_request->token;
        if (tok && *tok)
            v->token = hv_xstrdup(tok);
        else
            refuse(v, HV_CLOSE_INVALID_TOKEN, "invalid auth request"); /* as the peer socket says */
    } else if (!authed) {
        refuse(v, HV_CLOSE_INVALID_TOKEN, "invalid auth request");
    } else if (media) {
        char why[sizeof(v->reason)];
        snprintf(why, sizeof(why), "herald carries no media: %s is not supported", media);
        refuse(v, CLOSE_UNSUPPORTED, why);
    } else {
        refuse(v, CLOSE_UNSUPPORTED, "AgentRequest sets no member herald knows");
    }
    fishjam__agent_request__free_unpacked(m, NULL);
}

static void send_authenticated(hv_conn *c)
{
    Fishjam__AgentResponse__Authenticated ok = FISHJAM__AGENT_RESPONSE__AUTHENTICATED__INIT;
    Fishjam__AgentResponse r = FISHJAM__AGENT_RESPONSE__INIT;
    r.content_case = FISHJAM__AGENT_RESPONSE__CONTENT_AUTHENTICATED;
    r.authenticated = &ok;
    uint8_t buf[16];
    size_t n = fishjam__agent_response__pack(&r, buf); /* 2 bytes: 0x0a 0x00 */
    hv_ws_send(c, HV_WS_BINARY, buf, n);
}

/* The token is known here, or was looked for (peer_auth.h). */
static void authenticate_now(hv_conn *c, const char *token, const char *since)
{
    (void)since; /* an agent resumes nothing: it receives no events */
    agent_sock *as = hv_ws_app(c);
    int rc = hv_peer_auth_connect(c, token, HV_PEER_TYPE_AGENT, &as->peer, &as->gen);
    if (rc < 0)
        return;
    if (rc > 0) {
        char peer_id[64], room_id[160];
        int other = hv_peers_identify(c->loop->srv->rooms, token, peer_id, room_id) == 0;
        hv_auth_failed(c);
        hv_ws_close(c, HV_CLOSE_INVALID_TOKEN, other ? "invalid token: not an agent peer's token" : "invalid token");
        return;
    }
    /* The registry closes a peer's socket (replaced 4002, deleted 4004 /
     * 4005) by finding it in its room's channel: the agent joins it with a
     * subscription that is sent nothing (AgentResponse has no member for
     * herald's events). hv_sub_new marks c authenticated. */
    const char *room = hv_peer_room_id(as->peer);
    as->sub = hv_sub_new(c, HV_SUB_PRESENCE, NULL, &room, 1);
    as->sub->owner = as->peer;
    as->sub->owner_gen = as->gen;
    hv_sub_join(as->sub);
    send_authenticated(c);
}

static void authenticate(hv_conn *c, agent_sock *as, const char *token)
{
    if (hv_peer_auth_begin(c, &as->auth) != 0)
        return;
    if (hv_peer_auth_lookup(c, &as->auth, token, NULL))
        return;
    authenticate_now(c, token, NULL);
}

static void on_message(hv_conn *c, int opcode, const uint8_t *data, size_t len)
{
    agent_sock *as = hv_ws_app(c);
    hv_agent_verdict v;
    hv_agent_request_read(opcode, data, len, as->auth.tried, &v);
    if (v.token)
        authenticate(c, as, v.token);
    else
        hv_ws_close(c, v.code, v.reason);
    free(v.token);
}

static void on_close(hv_conn *c, int lost, const char *reason)
{
    agent_sock *as = hv_ws_app(c);
    hv_sub_release(as->sub);
    if (as->peer)
        hv_peers_disconnect(c->loop->srv->rooms, as->peer, as->gen, lost, reason);
    hv_peer_auth_clear(&as->auth);
    free(as);
}

/* What it may send before and after: the end-user bounds (size, rate). */
static void on_open(hv_conn *c)
{
    hv_api_end_user_limits(c);
}

static const hv_ws_handler handler = {on_message, on_close, NULL, on_open, HV_CLOSE_INVALID_TOKEN, NULL, NULL, NULL};

void hv_api_agent_socket(hv_conn *c, hv_http_req *r)
{
    (void)r; /* the token comes in the first frame, as the SDK sends it */
    agent_sock *as = hv_xcalloc(1, sizeof(*as));
    as->auth.now = authenticate_now;
    if (hv_ws_accept(c, &handler, as, HV_CONN_KIND_WS_PEER) != 0)
        free(as);
    else
        hv_loop_flush(c->loop);
}
