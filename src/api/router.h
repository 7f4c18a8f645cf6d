/* SPDX-License-Identifier: MIT */
/* router.h — maps each HTTP request to its handler, and the HTTP answer to
 * a missing or wrong server token (the check itself: auth/server_token.h). */
#ifndef HV_ROUTER_H
#define HV_ROUTER_H

#include "net/conn.h"
#include "net/http.h"

typedef void (*hv_route_handler)(hv_conn *c, hv_http_req *r);

/* Looks up the handler of method + path (already normalised): 200 and
 * *out set (params gets the route's decoded :segments), 404 for an unknown
 * path, 405 for a known path and wrong method (HEAD matches GET routes). */
int hv_router_find(const char *method, const char *path, hv_route_handler *out, char params[3][257]);

/* Routes r (on c) to its handler; unknown paths get 404, wrong methods 405. */
void hv_router_dispatch(hv_conn *c, hv_http_req *r);

/* Checks "Authorization: Bearer <server token>" or an unexpired console
 * token (auth/console_token.h); on failure answers 401 ("Missing token" /
 * "Invalid token" / "Console token expired") and returns -1; 429 at once,
 * unchecked, while the client's address is backing off (api/backoff.h). */
int hv_auth_require_server(hv_conn *c, hv_http_req *r);

/* The same, for the server token only: a console token gets 401 "Console
 * tokens are not accepted here: use the server token". */
int hv_auth_require_server_token(hv_conn *c, hv_http_req *r);

#endif
