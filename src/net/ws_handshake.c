/* ws_handshake.c — the checks of a WebSocket upgrade request and its
 * Sec-WebSocket-Accept value (RFC 6455 4.2); see hv_ws_handshake_check in
 * ws.h. Apart from ws.c, which runs the connection once it is upgraded.
 */
#include "net/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/http.h"

static int has_token(const char *header, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

static int key_valid(const char *key)
{
    unsigned char out[32];
    size_t len = strlen(key);
    if (len != 24)
        return 0;
    return EVP_DecodeBlock(out, (const unsigned char *)key, (int)len) == 18; /* 16 + padding */
}

static void accept_value(const char *key, char out[32])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char sha[SHA_DIGEST_LENGTH];
    char buf[128];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "%s%s", key, guid);
    SHA1((const unsigned char *)buf, n, sha);
    EVP_EncodeBlock((unsigned char *)out, sha, SHA_DIGEST_LENGTH);
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
    if (!up || !has_token(up, "websocket") || !conn || !has_token(conn, "upgrade")) {
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
    accept_value(key, accept);
    return 0;
}

