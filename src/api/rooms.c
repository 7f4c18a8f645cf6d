/* SPDX-License-Identifier: MIT */
/* rooms.c — the Fishjam-compatible room and peer REST API.
 *
 * Each handler checks the server token, calls the registry, and answers.
 * A change (create, delete, refresh) is answered only once its record and
 * event are durable: the registry hands them to the hub, whose completion
 * lands in room_done on this loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/reply.h"
#include "api/router.h"
#include "net/server.h"
#include "rooms/model.h"
#include "rooms/registry.h"

/* "host:port" clients should use: the Host header, else the listen address. */
static void address(hv_conn *c, hv_http_req *r, char *out, size_t len)
{
    const char *host = hv_http_header_get(r, "host");
    if (host && *host && strlen(host) < 200 && !strpbrk(host, "\"\\ /"))
        snprintf(out, len, "%s", host);
    else
        snprintf(out, len, "%.200s:%d", c->loop->srv->cfg.listen_host, c->loop->srv->port);
}

static hv_rooms *rooms_of(hv_conn *c)
{
    return c->loop->srv->rooms;
}

void hv_api_room_create(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    char addr[256];
    address(c, r, addr, sizeof(addr));
    HV_API_RUN_CHANGE(c, hv_rooms_create(rooms_of(c), r->body, r->body_len, addr, &out_, reply_));
}

void hv_api_room_list(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    char *out;
    hv_result res = hv_rooms_list(rooms_of(c), &out);
    hv_api_respond(c, hv_api_status_of(res), out);
}

void hv_api_room_get(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    char *out;
    hv_result res = hv_rooms_get(rooms_of(c), r->param[0], &out);
    hv_api_respond(c, hv_api_status_of(res), out);
}

void hv_api_room_delete(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    HV_API_RUN_CHANGE(c, hv_rooms_delete(rooms_of(c), r->param[0], &out_, reply_));
}

void hv_api_peer_create(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    char host[256], addr[272];
    address(c, r, host, sizeof(host));
    /* peer_websocket_url: host:port as Fishjam gives it, or with the
     * --peer-url-scheme clients must use (SDK 0.29 reads none as wss). */
    const char *scheme = c->loop->srv->cfg.peer_url_scheme;
    snprintf(addr, sizeof(addr), "%s%s%s", scheme, *scheme ? "://" : "", host);
    HV_API_RUN_CHANGE(c, hv_peers_create(rooms_of(c), r->param[0], r->body, r->body_len, addr, &out_, reply_));
}

void hv_api_peer_delete(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    HV_API_RUN_CHANGE(c, hv_peers_delete(rooms_of(c), r->param[0], r->param[1], &out_, reply_));
}

void hv_api_peer_refresh_token(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    HV_API_RUN_CHANGE(c, hv_peers_refresh_token(rooms_of(c), r->param[0], r->param[1], &out_, reply_));
}

/* subscribe_peer / subscribe_tracks: herald relays no media, so there is
 * nothing to subscribe to; like the reference, a known peer gets 201. */
void hv_api_peer_subscribe(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    char *out;
    hv_result res = hv_peers_check(rooms_of(c), r->param[0], r->param[1], &out);
    hv_api_respond(c, res == HV_OK ? 201 : hv_api_status_of(res), out);
}

/* viewer / streamer tokens (livestream rooms). herald carries no media,
 * but the SDK's calls succeed as against the reference: a livestream room
 * gets a fresh token ({"token": …}, not wrapped in data); any other room
 * a 400 the SDK maps to BadRequestException. */
void hv_api_room_livestream_token(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    char *out;
    hv_result res = hv_rooms_get(rooms_of(c), r->param[0], &out);
    if (res != HV_OK) {
        hv_api_respond(c, hv_api_status_of(res), out);
        return;
    }
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    const char *type = json_string_value(json_object_get(json_object_get(json_object_get(j, "data"), "config"), "roomType"));
    int live = type && strstr(type, "livestream");
    json_decref(j);
    if (!live) {
        hv_http_error(c, 400, "Room %s is not a livestream room", r->param[0]);
        return;
    }
    char token[44], hash[65];
    hv_token_new(token, hash);
    hv_http_respond_json(c, 201, json_pack("{s:s}", "token", token));
}

/* GET /validate: SDK 0.28+'s FishjamClient.create() checks its management
 * token here first. The room API's own check answers: 200 {} for the
 * server token, 401 "Missing token" / "Invalid token" (the SDK's
 * UnauthorizedException) otherwise, 429 while the address backs off. */
void hv_api_validate(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    hv_http_respond_json(c, 200, json_object());
}
