/* SPDX-License-Identifier: MIT */
/* common.c — small pieces every part of the client library uses: the
 * HERALD_E* descriptions, filling an error buffer, and parsing the server
 * URL.
 *
 * The URL is split by http-parser's http_parser_parse_url. herald needs
 * the scheme (plain or TLS), host, port (default 80/443) and an optional
 * path prefix: "http://host:5002/herald/" puts the REST API at
 * /herald/v1/… and the notifier at /herald/socket/server/websocket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_internal.h"

const char *herald_strerror(int code)
{
    switch (code) {
    case HERALD_OK: return "success";
    case HERALD_EINVAL: return "invalid argument";
    case HERALD_ENOMEM: return "out of memory";
    case HERALD_ENET: return "network error";
    case HERALD_EHTTP: return "the server answered with an error";
    case HERALD_EPROTO: return "unexpected answer from the server";
    case HERALD_ETIMEDOUT: return "timed out";
    case HERALD_ECLOSED: return "connection closed";
    case HERALD_EDECODE: return "undecodable body";
    case HERALD_ENOTNOTIF: return "not a notification";
    case HERALD_ESTATE: return "not valid in this state";
    case HERALD_EWEBHOOK_HEADER: return "missing webhook header";
    case HERALD_EWEBHOOK_TIMESTAMP: return "invalid webhook timestamp";
    case HERALD_EWEBHOOK_TOO_OLD: return "webhook timestamp too old";
    case HERALD_EWEBHOOK_TOO_NEW: return "webhook timestamp too new";
    case HERALD_EWEBHOOK_SIGNATURE: return "no matching webhook signature";
    case HERALD_EFULL: return "the publish window is full";
    default: return "unknown error";
    }
}

int herald__fail(int code, char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static char *dup_range(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void herald__url_clear(herald_url *u)
{
    free(u->host);
    free(u->prefix);
    free(u->base);
    memset(u, 0, sizeof(*u));
}

int herald__url_parse(const char *url, herald_url *u, char *errbuf, size_t errlen)
{
    struct http_parser_url pu;
    memset(u, 0, sizeof(*u));
    if (!url || !*url)
        url = HERALD_DEFAULT_SERVER;
    http_parser_url_init(&pu);
    if (http_parser_parse_url(url, strlen(url), 0, &pu) != 0 ||
        !(pu.field_set & (1 << UF_SCHEMA)) || !(pu.field_set & (1 << UF_HOST)))
        return herald__fail(HERALD_EINVAL, errbuf, errlen,
                            "invalid server URL '%s' (expected e.g. %s)", url,
                            HERALD_DEFAULT_SERVER);

    const char *scheme = url + pu.field_data[UF_SCHEMA].off;
    size_t scheme_len = pu.field_data[UF_SCHEMA].len;
    if ((scheme_len == 4 && !strncasecmp(scheme, "http", 4)) ||
        (scheme_len == 2 && !strncasecmp(scheme, "ws", 2)))
        u->secure = 0;
    else if ((scheme_len == 5 && !strncasecmp(scheme, "https", 5)) ||
             (scheme_len == 3 && !strncasecmp(scheme, "wss", 3)))
        u->secure = 1;
    else
        return herald__fail(HERALD_EINVAL, errbuf, errlen,
                            "unsupported scheme in server URL '%s'", url);

    u->port = (pu.field_set & (1 << UF_PORT)) ? pu.port : (u->secure ? 443 : 80);
    u->host = dup_range(url + pu.field_data[UF_HOST].off, pu.field_data[UF_HOST].len);
    if (pu.field_set & (1 << UF_PATH))
        u->prefix = dup_range(url + pu.field_data[UF_PATH].off, pu.field_data[UF_PATH].len);
    else
        u->prefix = dup_range("", 0);
    if (!u->host || !u->prefix) {
        herald__url_clear(u);
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    }
    size_t plen = strlen(u->prefix);
    while (plen > 0 && u->prefix[plen - 1] == '/')
        u->prefix[--plen] = '\0';

    int v6 = strchr(u->host, ':') != NULL;
    size_t blen = strlen(u->host) + plen + 32;
    u->base = malloc(blen);
    if (!u->base) {
        herald__url_clear(u);
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    }
    snprintf(u->base, blen, "%s://%s%s%s:%u%s", u->secure ? "https" : "http", v6 ? "[" : "",
             u->host, v6 ? "]" : "", (unsigned)u->port, u->prefix);
    return 0;
}
