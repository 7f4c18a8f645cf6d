/* SPDX-License-Identifier: MIT */
/* sinks.c — GET /v1/sinks: every configured sink module with its state
 * and position in the event log (what `herald-cli sinks` prints). */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/router.h"
#include "deliver/sinks.h"
#include "net/server.h"

void hv_api_sinks_list(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    char *body = hv_sinks_status_json(c->loop->srv->sinks);
    hv_http_respond(c, 200, "application/json", NULL, body, strlen(body));
    free(body);
}
