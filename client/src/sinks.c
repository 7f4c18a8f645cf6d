/* SPDX-License-Identifier: MIT */
/* sinks.c — the status calls of the client library (server token):
 * herald_sinks_list, GET /v1/sinks, and herald_nodes_list, GET /v1/nodes,
 * each answered as the server's JSON text. */
#include <stdlib.h>

#include "client_internal.h"

static int get_json(const char *server, const char *path, const char *token, char **json_out,
                    int *status, char *errbuf, size_t errlen)
{
    int rc, st = 0;
    size_t len = 0;
    if (json_out)
        *json_out = NULL;
    if (status)
        *status = 0;
    char *url = herald__api_url(server, path, &rc, errbuf, errlen);
    if (!url)
        return rc;
    rc = herald__http("GET", url, token, NULL, 0, json_out, &len, &st, errbuf, errlen);
    free(url);
    if (status)
        *status = st;
    return rc;
}

int herald_sinks_list(const char *server, const char *token, char **json_out, int *status,
                      char *errbuf, size_t errlen)
{
    return get_json(server, "/v1/sinks", token, json_out, status, errbuf, errlen);
}

int herald_nodes_list(const char *server, const char *token, char **json_out, int *status,
                      char *errbuf, size_t errlen)
{
    return get_json(server, "/v1/nodes", token, json_out, status, errbuf, errlen);
}
