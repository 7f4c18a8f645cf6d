/* SPDX-License-Identifier: MIT */
/* origin.c — the browser guard every request passes before its route
 * (issue 13, defect 10).
 *
 * A web page the user opens can make the browser send requests and open
 * WebSockets to any address, herald's included; WebSockets have no CORS,
 * so without this check any page could read a local herald that runs on
 * the well-known development token. Browsers always send Origin on those
 * requests and non-browser clients (SDKs, curl, Janus) do not, so:
 *
 *  - no Origin: served (a browser did not send it);
 *  - an Origin that is the request's own origin (same host and port as the
 *    Host header), listed in --allowed-origins, or anything when that
 *    list is "*": served;
 *  - with the development default (token 'development' on loopback) also
 *    an Origin on a loopback name (a local front end during development);
 *  - any other Origin (including "null"): 403 {"errors": "..."}, before an
 *    upgrade, so a WebSocket client sees the 403.
 *
 * With the development default the Host must also be a loopback name
 * (localhost, *.localhost, 127.0.0.0/8, [::1], any port): otherwise a page
 * on evil.example whose name is re-pointed at 127.0.0.1 (DNS rebinding)
 * would be same-origin with the herald it reaches. A request without a
 * Host (no browser sends one) is served.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/handlers.h"
#include "core/config.h"
#include "net/server.h"

typedef struct authority {
    const char *host; /* "[::1]" keeps its brackets */
    size_t host_len;
    long port;        /* -1: none given */
} authority;

/* Splits "host[:port]" (host may be a bracketed IPv6 literal). -1 when it
 * is not of that form. */
static int parse_authority(const char *s, size_t len, authority *a)
{
    const char *end = s + len, *colon = NULL;
    if (len == 0)
        return -1;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        colon = close + 1 < end ? close + 1 : NULL;
        if (colon && *colon != ':')
            return -1;
    } else {
        colon = memchr(s, ':', len);
    }
    a->host = s;
    a->host_len = colon ? (size_t)(colon - s) : len;
    a->port = -1;
    if (colon) {
        const char *p = colon + 1;
        if (p == end || end - p > 5)
            return -1;
        a->port = 0;
        for (; p < end; p++) {
            if (!isdigit((unsigned char)*p))
                return -1;
            a->port = a->port * 10 + (*p - '0');
        }
    }
    return a->host_len ? 0 : -1;
}

static int host_is_loopback(const authority *a)
{
    char h[64];
    if (a->host_len >= sizeof(h))
        return 0;
    memcpy(h, a->host, a->host_len);
    h[a->host_len] = '\0';
    size_t n = a->host_len;
    if (!strcasecmp(h, "localhost") || (n > 10 && !strcasecmp(h + n - 10, ".localhost")))
        return 1;
    struct in_addr v4;
    if (inet_pton(AF_INET, h, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    struct in6_addr v6;
    if (n > 2 && h[0] == '[' && h[n - 1] == ']') {
        h[n - 1] = '\0';
        return inet_pton(AF_INET6, h + 1, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
    }
    return 0;
}

/* An Origin "http(s)://authority" (what browsers send): its scheme's
 * default port filled in. -1 for anything else ("null", a path…). */
static int parse_origin(const char *origin, authority *a, int *https)
{
    const char *rest;
    if (!strncasecmp(origin, "http://", 7))
        *https = 0, rest = origin + 7;
    else if (!strncasecmp(origin, "https://", 8))
        *https = 1, rest = origin + 8;
    else
        return -1;
    if (strpbrk(rest, "/?#@ ") || parse_authority(rest, strlen(rest), a) != 0)
        return -1;
    if (a->port < 0)
        a->port = *https ? 443 : 80;
    return 0;
}

/* 1 when origin is the origin of a request to host (same name and port;
 * a Host without a port means the origin scheme's default port). */
static int same_origin(const authority *o, int https, const char *host)
{
    authority h;
    if (!host || parse_authority(host, strlen(host), &h) != 0)
        return 0;
    if (h.port < 0)
        h.port = https ? 443 : 80;
    return h.port == o->port && h.host_len == o->host_len && !strncasecmp(h.host, o->host, h.host_len);
}

/* 1 when origin is an entry of the comma-separated list (case-insensitive,
 * spaces around entries ignored), or the list has "*". */
static int listed(const char *list, const char *origin)
{
    size_t olen = strlen(origin);
    while (olen && origin[olen - 1] == '/') /* "https://a.example/" names the same origin */
        olen--;
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '/'))
            t--;
        size_t n = (size_t)(t - p);
        if ((n == 1 && *p == '*') || (n && n == olen && !strncasecmp(p, origin, n)))
            return 1;
        p = e;
    }
    return 0;
}

/* The header value as printable ASCII for a message (at most 200 bytes). */
static void shown(const char *v, char out[204])
{
    size_t o = 0;
    for (; *v && o < 200; v++)
        out[o++] = *v >= 0x20 && *v < 0x7f && *v != '"' ? *v : '?';
    if (*v)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
}

/* The 403: under /console with the console's security headers, like
 * every other answer there (api/console.c). */
static void refuse(hv_conn *c, const hv_http_req *r, const char *msg)
{
    if (hv_api_console_path(r->path))
        hv_api_console_refuse(c, 403, msg);
    else
        hv_http_error(c, 403, "%s", msg);
}

int hv_origin_guard(hv_conn *c, hv_http_req *r)
{
    const hv_config *cfg = &c->loop->srv->cfg;
    int dev = hv_config_is_development(cfg);
    const char *host = hv_http_header_get(r, "host");
    char text[204], msg[512];
    authority a;
    if (dev && host && (parse_authority(host, strlen(host), &a) != 0 || !host_is_loopback(&a))) {
        shown(host, text);
        snprintf(msg, sizeof(msg), "Host %s is not a loopback name: with the development token herald serves only "
                 "localhost, 127.0.0.1 and [::1] (DNS rebinding guard); set --token to serve others", text);
        refuse(c, r, msg);
        return -1;
    }
    const char *origin = hv_http_header_get(r, "origin");
    if (!origin || listed(cfg->allowed_origins, origin))
        return 0;
    int https;
    if (parse_origin(origin, &a, &https) == 0 && (same_origin(&a, https, host) || (dev && host_is_loopback(&a))))
        return 0;
    shown(origin, text);
    snprintf(msg, sizeof(msg), "origin %s is not allowed (see --allowed-origins)", text);
    refuse(c, r, msg);
    return -1;
}
