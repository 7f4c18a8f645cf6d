/* SPDX-License-Identifier: MIT */
/* console.c — the web console's call of the client library (server
 * token): herald_console_token_create, POST /v1/console/token, which
 * mints a short-lived console token (docs/console.md#signing-in). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

int herald_console_token_create(const char *server, const char *token, long ttl_s, char **json_out,
                                int *status, char *errbuf, size_t errlen)
{
    int rc, st = 0;
    size_t len = 0;
    if (json_out)
        *json_out = NULL;
    if (status)
        *status = 0;
    char body[64] = "";
    if (ttl_s > 0) /* otherwise the server's default */
        snprintf(body, sizeof(body), "{\"ttl_s\":%ld}", ttl_s);
    char *url = herald__api_url(server, "/v1/console/token", &rc, errbuf, errlen);
    if (!url)
        return rc;
    rc = herald__http("POST", url, token, body[0] ? body : NULL, strlen(body), json_out, &len, &st, errbuf,
                      errlen);
    free(url);
    if (status)
        *status = st;
    return rc;
}
