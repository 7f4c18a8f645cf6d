/* SPDX-License-Identifier: MIT */
/* router.c — the route table of herald's one HTTP port.
 *
 * Each route names a method, a path and its handler. Paths are matched
 * after http.c has collapsed repeated slashes, so the Fishjam SDK's
 * "//room", "//socket/server/websocket" and "//socket/agent/websocket"
 * arrive as "/room", "/socket/server/websocket" and
 * "/socket/agent/websocket" (and SDK 0.28+'s "//validate" as "/validate").
 */
#include "api/router.h"

#include <string.h>

#include "api/backoff.h"
#include "api/handlers.h"
#include "auth/server_token.h"
#include "net/server.h"

typedef struct route {
    const char *method;
    const char *path;
    hv_route_handler handler;
} route;

/* ":x" matches one path segment, decoded into req->param[i] in order; a
 * last segment "*" matches the rest of the path (one segment or more);
 * method "*" matches every method. */
static const route routes[] = {
    {"GET", "/health", hv_api_health},
    {"GET", "/metrics", hv_api_metrics},
    /* the web console's files; its handler answers other methods 405
     * itself, with the console's security headers */
    {"*", "/console", hv_api_console},
    {"*", "/console/*", hv_api_console},
    {"POST", "/v1/events", hv_api_publish},
    {"GET", "/v1/events", hv_api_history},
    {"GET", "/v1/events/websocket", hv_api_publish_socket},
    {"GET", "/socket/server/websocket", hv_api_notifier},
    {"GET", "/socket/peer/websocket", hv_api_peer_socket},
    {"GET", "/socket/agent/websocket", hv_api_agent_socket},
    {"GET", "/v1/stream", hv_api_stream},
    {"POST", "/push_events", hv_api_push_events},
    {"POST", "/drop_user", hv_api_drop_user},
    {"GET", "/subscribe_to_events", hv_api_subscribe_to_events},
    {"GET", "/janus/ws", hv_api_janus_ws},
    {"POST", "/room", hv_api_room_create},
    {"GET", "/room", hv_api_room_list},
    {"GET", "/room/:id", hv_api_room_get},
    {"DELETE", "/room/:id", hv_api_room_delete},
    {"POST", "/room/:id/peer", hv_api_peer_create},
    {"DELETE", "/room/:id/peer/:pid", hv_api_peer_delete},
    {"POST", "/room/:id/peer/:pid/refresh_token", hv_api_peer_refresh_token},
    {"POST", "/room/:id/peer/:pid/subscribe_peer", hv_api_peer_subscribe},
    {"POST", "/room/:id/peer/:pid/subscribe_tracks", hv_api_peer_subscribe},
    {"POST", "/room/:id/viewer", hv_api_room_livestream_token},
    {"POST", "/room/:id/streamer", hv_api_room_livestream_token},
    /* SDK 0.28+: credentials check; media features herald has not (501) */
    {"GET", "/validate", hv_api_validate},
    {"POST", "/room/:id/track_forwardings", hv_api_track_forwardings},
    {"POST", "/moq/access", hv_api_moq_access},
    {"*", "/recordings", hv_api_recordings},
    {"*", "/recordings/*", hv_api_recordings},
    {"GET", "/v1/sinks", hv_api_sinks_list},
    {"GET", "/v1/nodes", hv_api_nodes},
    {"POST", "/v1/console/token", hv_api_console_token},
    {"POST", "/v1/webhooks", hv_api_webhook_create},
    {"GET", "/v1/webhooks", hv_api_webhook_list},
    {"GET", "/v1/webhooks/:id", hv_api_webhook_get},
    {"PATCH", "/v1/webhooks/:id", hv_api_webhook_update},
    {"DELETE", "/v1/webhooks/:id", hv_api_webhook_delete},
    {"POST", "/v1/webhooks/:id/disable", hv_api_webhook_disable},
    {"POST", "/v1/webhooks/:id/enable", hv_api_webhook_enable},
    {"GET", "/v1/webhooks/:id/deliveries", hv_api_webhook_deliveries},
    {"POST", "/v1/webhooks/:id/replay", hv_api_webhook_replay},
    {"POST", "/v1/webhooks/:id/deliveries/:did/retry", hv_api_webhook_retry},
};

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decodes seg[0..len) into out (257 bytes); -1 when it does not
 * fit, is empty, or decodes to a NUL. (An encoded slash is kept: such an
 * id simply does not exist, which the handler says.) */
static int decode_segment(const char *seg, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int ch = (unsigned char)seg[i];
        if (ch == '%' && i + 2 < len && hexval(seg[i + 1]) >= 0 &&
            hexval(seg[i + 2]) >= 0) {
            ch = hexval(seg[i + 1]) * 16 + hexval(seg[i + 2]);
            i += 2;
        }
        if (ch == 0 || o >= 256)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = 0;
    return o ? 0 : -1;
}

/* Matches path against a pattern; fills params. */
static int match(const char *pattern, const char *path, char params[3][257])
{
    int np = 0;
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return 0;
        pattern++, path++;
        const char *pe = strchr(pattern, '/'), *se = strchr(path, '/');
        size_t pl = pe ? (size_t)(pe - pattern) : strlen(pattern);
        size_t sl = se ? (size_t)(se - path) : strlen(path);
        if (pattern[0] == '*' && pattern[1] == 0)
            return sl > 0; /* the rest of the path */
        if (pattern[0] == ':') {
            if (np == 3 || decode_segment(path, sl, params[np++]) != 0)
                return 0;
        } else if (pl != sl || strncmp(pattern, path, pl) != 0) {
            return 0;
        }
        pattern += pl;
        path += sl;
    }
    return *pattern == 0 && *path == 0;
}

int hv_router_find(const char *method, const char *path, hv_route_handler *out, char params[3][257])
{
    int path_found = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!match(routes[i].path, path, params))
            continue;
        path_found = 1;
        if (strcmp(routes[i].method, method) == 0 || strcmp(routes[i].method, "*") == 0 ||
            (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET"))) {
            *out = routes[i].handler;
            return 200;
        }
    }
    return path_found ? 405 : 404;
}

/* 1 when path is the Janus HTTP handler's path (--janus-path, normalised
 * like request paths); it is checked before the table. */
static int is_janus_path(const hv_config *cfg, const char *path)
{
    char norm[sizeof(cfg->janus_path) + 2];
    if (!cfg->janus_path[0])
        return 0;
    hv_http_normalize_path(cfg->janus_path, strlen(cfg->janus_path), norm);
    return strcmp(norm, path) == 0;
}

void hv_router_dispatch(hv_conn *c, hv_http_req *r)
{
    if (hv_origin_guard(c, r) != 0) /* foreign browser origins, DNS rebinding */
        return;
    if (is_janus_path(&c->loop->srv->cfg, r->path)) {
        if (strcmp(r->method_name, "POST") == 0)
            hv_api_janus_events(c, r);
        else
            hv_http_error(c, 405, "method %s not allowed on %s", r->method_name, r->path);
        return;
    }
    hv_route_handler h;
    int status = hv_router_find(r->method_name, r->path, &h, r->param);
    if (status == 200)
        h(c, r);
    else if (status == 405)
        hv_http_error(c, 405, "method %s not allowed on %s", r->method_name, r->path);
    else
        hv_http_error(c, 404, "no such endpoint: %s", r->path);
}

static int require_token(hv_conn *c, hv_http_req *r, int console_ok)
{
    if (hv_auth_backoff_http(c) != 0)
        return -1;
    const char *tok = hv_auth_bearer(hv_http_header_get(r, "authorization"));
    if (!tok) {
        hv_http_error(c, 401, "Missing token");
        return -1;
    }
    hv_token_kind k = hv_auth_token_kind(c->loop->srv, tok, strlen(tok), NULL);
    /* A correctly signed console token is no guess: its refusals are not
     * counted toward the back-off. */
    if (k == HV_TOKEN_CONSOLE_EXPIRED && console_ok) {
        hv_http_error(c, 401, "Console token expired");
        return -1;
    }
    if (k != HV_TOKEN_SERVER && k != HV_TOKEN_INVALID && !console_ok) {
        hv_http_error(c, 401, "Console tokens are not accepted here: use the server token");
        return -1;
    }
    if (k == HV_TOKEN_INVALID) {
        hv_auth_failed(c);
        hv_http_error(c, 401, "Invalid token");
        return -1;
    }
    hv_conn_authenticated(c); /* off the unauthenticated caps (core/limits.h) */
    return 0;
}

int hv_auth_require_server(hv_conn *c, hv_http_req *r)
{
    return require_token(c, r, 1);
}

int hv_auth_require_server_token(hv_conn *c, hv_http_req *r)
{
    return require_token(c, r, 0);
}
