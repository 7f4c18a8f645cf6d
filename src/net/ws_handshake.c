/* SPDX-License-Identifier: MIT */
/* ws_handshake.c — the checks of a WebSocket upgrade request and its
 * Sec-WebSocket-Accept value (RFC 6455 4.2); see hv_ws_handshake_check in
 * ws.h. Apart from ws.c, which runs the connection once it is upgraded.
 * The accept value and the header token test are common/hv_ws_shared.c,
 * which the client library checks the server's answer with.
 */
#include "net/ws.h"

#include <openssl/evp.h>
#include <string.h>

#include "hv_ws_shared.h"
#include "net/http.h"

static int key_valid(const char *key)
{
    unsigned char out[32];
    size_t len = strlen(key);
    if (len != 24)
        return 0;
    return EVP_DecodeBlock(out, (const unsigned char *)key, (int)len) == 18; /* 16 + padding */
}

int hv_ws_handshake_check(hv_conn *c, hv_http_req *r, char accept[32])
{
    const char *up = hv_http_header_get(r, "upgrade");
    const char *conn = hv_http_header_get(r, "connection");
    const char *ver = hv_http_header_get(r, "sec-websocket-version");
    const char *key = hv_http_header_get(r, "sec-websocket-key");
    if (r->method != 1 /* HTTP_GET */) {
        hv_http_error(c, 400, "WebSocket upgrade needs GET");
        return -1;
    }
    if (!up || !hv_ws_header_has_token(up, "websocket") || !conn || !hv_ws_header_has_token(conn, "upgrade")) {
        static const char body[] = "{\"errors\":\"this endpoint speaks WebSocket only\"}";
        hv_http_respond(c, 426, "application/json", "Upgrade: websocket\r\n", body, sizeof(body) - 1);
        return -1;
    }
    if (!ver || strcmp(ver, "13") != 0) {
        static const char body[] = "{\"errors\":\"unsupported WebSocket version; use 13\"}";
        hv_http_respond(c, 426, "application/json", "Sec-WebSocket-Version: 13\r\n", body, sizeof(body) - 1);
        return -1;
    }
    if (!key || !key_valid(key)) {
        hv_http_error(c, 400, "missing or malformed Sec-WebSocket-Key");
        return -1;
    }
    hv_ws_accept_value(key, accept); /* a key of 24 characters: never refused */
    return 0;
}

