/* SPDX-License-Identifier: MIT */
/* peer_auth.c — a peer's token on a WebSocket (peer and agent sockets);
 * see peer_auth.h. Moved out of peer_socket.c when the agent socket came
 * (issue 15), so that the two cannot drift apart.
 */
#include "api/peer_auth.h"

#include <stdlib.h>

#include "api/backoff.h"
#include "core/xalloc.h"
#include "net/server.h"
#include "net/ws.h"
#include "store/store.h"

int hv_peer_auth_begin(hv_conn *c, hv_peer_auth *a)
{
    /* A second attempt (an auth frame after a token on the upgrade, or a
     * second auth frame) is refused, so no second subscription or peer
     * connection is ever made for a socket (issue 13: the first one
     * outlived the connection). */
    if (a->tried) {
        hv_ws_close(c, HV_CLOSE_INVALID_TOKEN, "already authenticated");
        return -1;
    }
    a->tried = 1;
    return hv_auth_backoff_ws(c) != 0 ? -1 : 0; /* too many failures from this address: unchecked */
}

/* The catch-up a token waited for has run (status: hv_peers_lookup's):
 * the socket reads again and authenticates, or is refused. */
static void lookup_done(hv_loop *l, void *arg, int status)
{
    (void)l;
    hv_conn *c = arg;
    if (!c->closing) /* also lets a close begun meanwhile (its deadline) finish */
        hv_ws_resume(c);
    if (!hv_ws_closing(c)) {
        hv_peer_auth *a = hv_ws_app(c); /* the first member of the socket's state */
        char *token = a->wait_token, *since = a->wait_since;
        a->wait_token = a->wait_since = NULL;
        if (status == HV_CATCH_UP_DONE)
            a->now(c, token, since);
        else if (status == HV_CATCH_UP_TIMEOUT)
            hv_ws_close(c, HV_CLOSE_INVALID_TOKEN, "authentication timeout");
        else
            hv_ws_close(c, 1013, "event store unavailable, try again later");
        free(token);
        free(since);
    }
    hv_conn_release(c);
}

/* With several nodes, a token this node does not know may be another
 * node's new peer: the socket waits (paused, under its --auth-timeout)
 * for a catch-up that runs off this loop (issue 13, defect 11). */
int hv_peer_auth_lookup(hv_conn *c, hv_peer_auth *a, const char *token, const char *since)
{
    hv_conn_hold(c);
    int rc = hv_peers_lookup(c->loop->srv->rooms, token, c->loop, lookup_done, c);
    if (rc == HV_CATCH_UP_QUEUED) {
        a->wait_token = hv_xstrdup(token);
        a->wait_since = since ? hv_xstrdup(since) : NULL;
        hv_ws_pause(c);
        return 1;
    }
    hv_conn_release(c);
    if (rc == HV_CATCH_UP_BUSY)
        hv_ws_close(c, 1013, "too many unknown tokens are being looked up, try again later");
    else if (rc == HV_CATCH_UP_FAILED)
        hv_ws_close(c, 1013, "event store unavailable, try again later");
    return rc != HV_CATCH_UP_NONE;
}

int hv_peer_auth_connect(hv_conn *c, const char *token, int type, hv_peer **peer, uint64_t *gen)
{
    hv_rooms *rooms = c->loop->srv->rooms;
    /* A peer's connect is a change to commit (peer.connected, its session
     * with several nodes): while the store cannot take it, the peer is
     * told to come back (1013) rather than connected without a trace. */
    char peer_id[64], room_id[160];
    if (!hv_store_available(c->loop->srv->store, NULL, 0) &&
        hv_peers_identify(rooms, token, peer_id, room_id) == 0) {
        hv_ws_close(c, 1013, "event store unavailable, try again later");
        return -1;
    }
    *peer = hv_peers_connect_as(rooms, token, type, c, gen);
    return *peer ? 0 : 1;
}

void hv_peer_auth_clear(hv_peer_auth *a)
{
    free(a->wait_token);
    free(a->wait_since);
    a->wait_token = a->wait_since = NULL;
}
