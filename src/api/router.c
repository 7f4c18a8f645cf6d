/* router.c — the route table of herald's one HTTP port.
 *
 * Each route names a method, a path and its handler. Paths are matched
 * after http.c has collapsed repeated slashes, so the Fishjam SDK's
 * "//room" and "//socket/server/websocket" arrive as "/room" and
 * "/socket/server/websocket".
 */
#include "api/router.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#include "api/handlers.h"
#include "net/server.h"

typedef struct route {
    const char *method;
    const char *path;
    hv_route_handler handler;
} route;

static const route routes[] = {
    {"GET", "/health", hv_api_health},
    {"GET", "/metrics", hv_api_metrics},
    {"POST", "/v1/events", hv_api_publish},
    {"GET", "/v1/events", hv_api_history},
    {"GET", "/socket/server/websocket", hv_api_notifier},
};

int hv_router_find(const char *method, const char *path, hv_route_handler *out)
{
    int path_found = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        path_found = 1;
        if (strcmp(routes[i].method, method) == 0 ||
            (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET"))) {
            *out = routes[i].handler;
            return 200;
        }
    }
    return path_found ? 405 : 404;
}

void hv_router_dispatch(hv_conn *c, hv_http_req *r)
{
    hv_route_handler h;
    int status = hv_router_find(r->method_name, r->path, &h);
    if (status == 200)
        h(c, r);
    else if (status == 405)
        hv_http_error(c, 405, "method %s not allowed on %s", r->method_name, r->path);
    else
        hv_http_error(c, 404, "no such endpoint: %s", r->path);
}

int hv_auth_token_ok(hv_server *srv, const char *token, size_t len)
{
    /* Compare digests, so neither the content nor the length of the
     * server token leaks through timing. */
    unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)srv->cfg.token, strlen(srv->cfg.token), want);
    SHA256((const unsigned char *)token, len, got);
    return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}

int hv_auth_require_server(hv_conn *c, hv_http_req *r)
{
    const char *auth = hv_http_header_get(r, "authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !auth[7]) {
        hv_http_error(c, 401, "Missing token");
        return -1;
    }
    const char *tok = auth + 7;
    while (*tok == ' ')
        tok++;
    if (!hv_auth_token_ok(c->loop->srv, tok, strlen(tok))) {
        hv_http_error(c, 401, "Invalid token");
        return -1;
    }
    return 0;
}
