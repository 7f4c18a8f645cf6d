/* SPDX-License-Identifier: MIT */
/* server_token.h — the server token: who may manage herald.
 *
 * Backends (rooms, events, webhooks, sinks, the server-notifier socket,
 * Janus's event handler) present the one server token (--token). Whether a
 * token is it is decided here, in constant time; what a refusal looks like
 * on the wire (401, a close code, back-off) is the API's business
 * (api/router.c hv_auth_require_server, api/notifier.c, api/janus.c).
 *
 * A short-lived console token (auth/console_token.h), signed with a key
 * derived from the server token, stands for it where the console needs it:
 * the HTTP API and the server notifier's socket (hv_auth_token_kind). The
 * machine channels (Janus's event handler, the publishing socket) take the
 * server token only (hv_auth_token_ok).
 */
#ifndef HV_SERVER_TOKEN_H
#define HV_SERVER_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "net/http.h"
#include "net/server.h"

/* 1 when token (len bytes) equals the server token; neither the server
 * token's content nor its length leaks through timing. */
int hv_auth_token_ok(hv_server *srv, const char *token, size_t len);

/* What a presented token is. */
typedef enum {
    HV_TOKEN_INVALID = 0,
    HV_TOKEN_SERVER,          /* the server token */
    HV_TOKEN_CONSOLE,         /* a console token, signed by it, unexpired */
    HV_TOKEN_CONSOLE_EXPIRED, /* a console token, signed by it, expired */
} hv_token_kind;

/* Classifies token (len bytes) at the current wall-clock time: the server
 * token (constant time, as hv_auth_token_ok), else a console token
 * (constant-time MAC check). *exp_s (may be NULL) gets a console token's
 * expiry (Unix seconds). */
hv_token_kind hv_auth_token_kind(hv_server *srv, const char *token, size_t len, int64_t *exp_s);

/* The token of an Authorization value "Bearer <token>" ("Bearer" in any
 * case, spaces after it skipped; may be ""), or NULL when auth is NULL, is
 * not a Bearer credential or ends right after "Bearer ". */
const char *hv_auth_bearer(const char *auth);

/* 1 when r carries "Authorization: Bearer <server token>" or an
 * unexpired console token (answers nothing). */
int hv_auth_is_server(hv_server *srv, const hv_http_req *r);

#endif
