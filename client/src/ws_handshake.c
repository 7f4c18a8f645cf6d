/* SPDX-License-Identifier: MIT */
/* ws_handshake.c — the client side of the RFC 6455 opening handshake.
 *
 * herald__ws_handshake_begin draws a random 16-byte Sec-WebSocket-Key
 * (OpenSSL RAND_bytes, base64 by EVP_EncodeBlock), precomputes the
 * expected Sec-WebSocket-Accept, base64(SHA-1(key + RFC GUID)) by
 * common/hv_ws_shared.c (the code the server answers with), and writes
 * the GET request as plain text. herald__ws_handshake_feed runs the
 * server's bytes through http-parser (HTTP_RESPONSE) and checks, as
 * RFC 6455 §4.1 asks: status 101, "Upgrade: websocket", "Connection"
 * holding the "upgrade" token, the right accept value, and no extension
 * or subprotocol we did not offer. http-parser stops right after the
 * headers of an upgrade, so the bytes that follow are WebSocket frames.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "client_internal.h"
#include "hv_ws_shared.h"

static void set_error(herald_ws_handshake *h, const char *fmt, const char *arg)
{
    if (h->error[0])
        return; /* keep the first reason */
    snprintf(h->error, sizeof(h->error), fmt, arg);
}

/* Trims spaces and tabs on both ends, in place; returns the start. */
static char *trim(char *s, size_t *len)
{
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        s[--*len] = '\0';
    while (*len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        --*len;
    }
    return s;
}

/* One complete header: field (lower case) and value. */
static void header_done(herald_ws_handshake *h)
{
    size_t vlen = h->value_len;
    char *v = trim(h->value, &vlen);
    const char *f = h->field;
    if (!strcmp(f, "upgrade")) {
        if (!strcasecmp(v, "websocket"))
            h->has_upgrade = 1;
    } else if (!strcmp(f, "connection")) {
        if (hv_ws_header_has_token(v, "upgrade"))
            h->has_connection = 1;
    } else if (!strcmp(f, "sec-websocket-accept")) {
        h->accept_ok = !strcmp(v, h->expect_accept);
        if (!h->accept_ok)
            set_error(h, "wrong Sec-WebSocket-Accept '%.60s'", v);
    } else if (!strcmp(f, "sec-websocket-extensions")) {
        if (vlen > 0) {
            h->bad_header = 1;
            set_error(h, "server chose an extension we did not offer: %.60s", v);
        }
    } else if (!strcmp(f, "sec-websocket-protocol")) {
        if (vlen > 0) {
            h->bad_header = 1;
            set_error(h, "server chose a subprotocol we did not offer: %.60s", v);
        }
    }
    h->field_len = h->value_len = 0;
    h->field[0] = h->value[0] = '\0';
    h->in_value = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    herald_ws_handshake *h = p->data;
    if (h->in_value)
        header_done(h);
    h->header_bytes += len;
    if (h->header_bytes > HERALD_WS_MAX_HEADER_BYTES)
        return 1;
    for (size_t i = 0; i < len && h->field_len + 1 < sizeof(h->field); i++)
        h->field[h->field_len++] = (char)tolower((unsigned char)at[i]);
    h->field[h->field_len] = '\0';
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    herald_ws_handshake *h = p->data;
    h->in_value = 1;
    h->header_bytes += len;
    if (h->header_bytes > HERALD_WS_MAX_HEADER_BYTES)
        return 1;
    size_t n = len;
    if (n > sizeof(h->value) - 1 - h->value_len)
        n = sizeof(h->value) - 1 - h->value_len;
    memcpy(h->value + h->value_len, at, n);
    h->value_len += n;
    h->value[h->value_len] = '\0';
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    herald_ws_handshake *h = p->data;
    if (h->in_value)
        header_done(h);
    h->done = 1;
    return 1; /* no body expected */
}

int herald__ws_handshake_begin(herald_ws_handshake *h, const char *host, uint16_t port,
                               const char *path, const char *headers, char **req,
                               size_t *req_len)
{
    unsigned char raw[16];

    memset(h, 0, sizeof(*h));
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return HERALD_EPROTO;
    EVP_EncodeBlock((unsigned char *)h->key, raw, sizeof(raw));
    hv_ws_accept_value(h->key, h->expect_accept); /* 24 characters: never refused */

    http_parser_init(&h->parser, HTTP_RESPONSE);
    h->parser.data = h;
    http_parser_settings_init(&h->settings);
    h->settings.on_header_field = on_header_field;
    h->settings.on_header_value = on_header_value;
    h->settings.on_headers_complete = on_headers_complete;

    int v6 = strchr(host, ':') != NULL;
    char hostport[300];
    if (port == 80)
        snprintf(hostport, sizeof(hostport), "%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "");
    else
        snprintf(hostport, sizeof(hostport), "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
                 (unsigned)port);

    static const char fmt[] = "GET %s HTTP/1.1\r\n"
                              "Host: %s\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Key: %s\r\n"
                              "Sec-WebSocket-Version: 13\r\n"
                              "User-Agent: herald-client/0.1\r\n"
                              "%s"
                              "\r\n";
    if (!headers)
        headers = "";
    int n = snprintf(NULL, 0, fmt, path, hostport, h->key, headers);
    if (n < 0)
        return HERALD_EPROTO;
    *req = malloc((size_t)n + 1);
    if (!*req)
        return HERALD_ENOMEM;
    snprintf(*req, (size_t)n + 1, fmt, path, hostport, h->key, headers);
    *req_len = (size_t)n;
    return 0;
}

int herald__ws_handshake_feed(herald_ws_handshake *h, const char *data, size_t len,
                              size_t *consumed)
{
    size_t n = http_parser_execute(&h->parser, &h->settings, data, len);
    *consumed = n;
    if (h->header_bytes > HERALD_WS_MAX_HEADER_BYTES) {
        set_error(h, "handshake response headers too large%s", "");
        return -1;
    }
    if (!h->done) {
        if (HTTP_PARSER_ERRNO(&h->parser) != HPE_OK) {
            set_error(h, "bad handshake response: %s",
                      http_errno_description(HTTP_PARSER_ERRNO(&h->parser)));
            return -1;
        }
        return 0;
    }
    if (h->parser.status_code != 101) {
        char status[16];
        snprintf(status, sizeof(status), "%u", h->parser.status_code);
        set_error(h, "server refused the WebSocket upgrade: HTTP %s", status);
        return -1;
    }
    if (!h->has_upgrade || !h->has_connection || !h->parser.upgrade) {
        set_error(h, "handshake response lacks %s",
                  !h->has_upgrade ? "Upgrade: websocket" : "Connection: Upgrade");
        return -1;
    }
    if (!h->accept_ok) {
        set_error(h, "handshake response lacks a valid Sec-WebSocket-Accept%s", "");
        return -1;
    }
    if (h->bad_header)
        return -1;
    return 1;
}
