/* SPDX-License-Identifier: MIT */
/* server_token.h — the server token: who may manage herald.
 *
 * Backends (rooms, events, webhooks, sinks, the server-notifier socket,
 * Janus's event handler) present the one server token (--token). Whether a
 * token is it is decided here, in constant time; what a refusal looks like
 * on the wire (401, a close code, back-off) is the API's business
 * (api/router.c hv_auth_require_server, api/notifier.c, api/janus.c).
 */
#ifndef HV_SERVER_TOKEN_H
#define HV_SERVER_TOKEN_H

#include <stddef.h>

#include "net/http.h"
#include "net/server.h"

/* 1 when token (len bytes) equals the server token; neither the server
 * token's content nor its length leaks through timing. */
int hv_auth_token_ok(hv_server *srv, const char *token, size_t len);

/* The token of an Authorization value "Bearer <token>" ("Bearer" in any
 * case, spaces after it skipped; may be ""), or NULL when auth is NULL, is
 * not a Bearer credential or ends right after "Bearer ". */
const char *hv_auth_bearer(const char *auth);

/* 1 when r carries "Authorization: Bearer <server token>" (answers nothing). */
int hv_auth_is_server(hv_server *srv, const hv_http_req *r);

#endif
