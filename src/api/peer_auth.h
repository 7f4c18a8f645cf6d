/* SPDX-License-Identifier: MIT */
/* peer_auth.h — authenticating a peer's token on a WebSocket: what the
 * peer socket (peer_socket.c) and the agent socket (agent_socket.c)
 * share, so both behave alike by construction.
 *
 * A socket authenticates once (a second attempt closes it, 4003 "already
 * authenticated"); an address past the auth back-off is refused unchecked
 * (1013, backoff.h); with several nodes on one store a token this node
 * does not know waits, paused, for a catch-up (hv_peers_lookup, under the
 * socket's --auth-timeout); a peer's connect is refused with 1013 while
 * the store cannot commit it; an accepted peer token makes the socket
 * its peer's (peer.connected; an older socket is replaced, 4002).
 *
 * The socket's state (hv_ws_app) must start with an hv_peer_auth: the
 * catch-up's answer finds it there.
 */
#ifndef HV_API_PEER_AUTH_H
#define HV_API_PEER_AUTH_H

#include <stdint.h>

#include "net/conn.h"
#include "rooms/registry.h"

/* Goes on with an authentication once the token is known here (or was
 * looked for): called with the token and since given to begin. */
typedef void (*hv_peer_auth_now)(hv_conn *c, const char *token, const char *since);

typedef struct hv_peer_auth {
    hv_peer_auth_now now; /* set by the socket before its first attempt */
    int tried;            /* an attempt began: it never runs twice */
    char *wait_token;     /* the token and since of an attempt waiting for a catch-up */
    char *wait_since;
} hv_peer_auth;

/* 0 when c may try now; else c was closed (a second attempt: 4003
 * "already authenticated"; the back-off: 1013) and -1. */
int hv_peer_auth_begin(hv_conn *c, hv_peer_auth *a);

/* After begin: 0 to authenticate at once (call a->now or go on); 1 when
 * the token waits for a catch-up (a->now is called later, unless the
 * socket closed meanwhile) or c was refused (1013). */
int hv_peer_auth_lookup(hv_conn *c, hv_peer_auth *a, const char *token, const char *since);

/* The peer of token (of that type; 0 = any) connects on c: 0 with *peer
 * and *gen set; 1 when token is no such peer's (nothing done); -1 when
 * the store cannot take the connect now (c closed, 1013). */
int hv_peer_auth_connect(hv_conn *c, const char *token, int type, hv_peer **peer, uint64_t *gen);

/* Frees what a waiting attempt kept (from the socket's on_close). */
void hv_peer_auth_clear(hv_peer_auth *a);

#endif
