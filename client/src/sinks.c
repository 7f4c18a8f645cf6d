/* SPDX-License-Identifier: MIT */
/* sinks.c — the sinks status call of the client library (server token):
 * herald_sinks_list, GET /v1/sinks, answered as the server's JSON text. */
#include <stdlib.h>

#include "client_internal.h"

int herald_sinks_list(const char *server, const char *token, char **json_out, int *status,
                      char *errbuf, size_t errlen)
{
    int rc, st = 0;
    size_t len = 0;
    if (json_out)
        *json_out = NULL;
    if (status)
        *status = 0;
    char *url = herald__api_url(server, "/v1/sinks", &rc, errbuf, errlen);
    if (!url)
        return rc;
    rc = herald__http("GET", url, token, NULL, 0, json_out, &len, &st, errbuf, errlen);
    free(url);
    if (status)
        *status = st;
    return rc;
}
