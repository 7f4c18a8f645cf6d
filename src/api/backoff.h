/* SPDX-License-Identifier: MIT */
/* backoff.h — back-off on failed authentications, for every auth path of
 * the API (server token over HTTP and the notifier socket, peer and user
 * tokens on the app sockets and SSE, Janus credentials).
 *
 * Each path asks first whether the client's address may try at all (the
 * table is core/authfail.h, keyed like the unauthenticated caps by
 * net/conn.c's address); if not, it refuses at once without checking the
 * credentials: HTTP 429 with Retry-After and a JSON body, or WebSocket
 * close 1013 (Try Again Later) with the reason. A path that refuses
 * credentials the client presented reports it. A missing credential is not
 * a failure (it guesses nothing), and a connection that already
 * authenticated (HTTP keep-alive) is never refused by the back-off.
 */
#ifndef HV_API_BACKOFF_H
#define HV_API_BACKOFF_H

#include "net/conn.h"

/* 0 when c may try to authenticate; else answers 429 and returns -1. */
int hv_auth_backoff_http(hv_conn *c);
/* 0 when c may try to authenticate; else closes the WebSocket 1013, -1. */
int hv_auth_backoff_ws(hv_conn *c);
/* c presented credentials that were refused. */
void hv_auth_failed(hv_conn *c);

#endif
