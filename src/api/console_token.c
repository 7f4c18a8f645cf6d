/* SPDX-License-Identifier: MIT */
/* console_token.c — POST /v1/console/token: mints a short-lived console
 * token (issue 17 item 1; the format: auth/console_token.h).
 *
 * Only the server token mints one: a console token cannot mint another
 * and so outlive its own expiry. The body is optional, {"ttl_s": N} with
 * N from 1 to HV_CONSOLE_TTL_MAX_S (default HV_CONSOLE_TTL_DEFAULT_S);
 * the answer is 201 {"token": "hct_…", "expires_at": "<ISO 8601>"}.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/router.h"
#include "auth/console_token.h"
#include "core/clock.h"
#include "net/server.h"

/* The ttl of the body (empty: the default); -1 when it is not a JSON
 * object whose only key is an integer "ttl_s" within the bounds. */
static int64_t body_ttl(const hv_http_req *r)
{
    if (!r->body_len)
        return HV_CONSOLE_TTL_DEFAULT_S;
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    int64_t ttl = -1;
    json_t *t = json_is_object(j) ? json_object_get(j, "ttl_s") : NULL;
    if (json_is_object(j) && !t && json_object_size(j) == 0)
        ttl = HV_CONSOLE_TTL_DEFAULT_S;
    else if (json_is_integer(t) && json_object_size(j) == 1 && json_integer_value(t) >= 1 &&
             json_integer_value(t) <= HV_CONSOLE_TTL_MAX_S)
        ttl = json_integer_value(t);
    json_decref(j);
    return ttl;
}

void hv_api_console_token(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server_token(c, r) != 0)
        return;
    int64_t ttl = body_ttl(r);
    if (ttl < 0) {
        hv_http_error(c, 400, "ttl_s must be an integer number of seconds from 1 to %d (the body: {\"ttl_s\": N} "
                              "or nothing for %d)", HV_CONSOLE_TTL_MAX_S, HV_CONSOLE_TTL_DEFAULT_S);
        return;
    }
    int64_t exp = hv_now_ms() / 1000 + ttl;
    char token[HV_CONSOLE_TOKEN_MAX + 1], when[32];
    hv_console_token_mint(c->loop->srv->cfg.token, exp, token);
    hv_time_iso8601(exp * 1000, when);
    json_t *j = json_pack("{s:s,s:s}", "token", token, "expires_at", when);
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    /* a credential: no cache keeps it */
    hv_http_respond(c, 201, "application/json", "Cache-Control: no-store\r\n", body, strlen(body));
    free(body);
}
