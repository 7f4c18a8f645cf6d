/* SPDX-License-Identifier: MIT */
/* console.c — GET/HEAD /console/ and /console/<asset>: the web console's
 * files, built into the binary (issue 17, docs/console.md).
 *
 * The files are the generated table of console_assets.h, each stored
 * gzip-compressed and as is: a client that accepts gzip gets the
 * compressed bytes with Content-Encoding: gzip, any other the original
 * ones, so nothing is compressed or inflated per request. Every answer
 * under /console (304, 404 and 405 included) carries the console's strict
 * Content-Security-Policy and its companions, so no page under this prefix
 * can load or send anything outside this origin. The pages need no token:
 * they hold no data; every figure they show comes from the API, which
 * checks the token the page sends (Bearer) as for any client.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/console_assets.h"
#include "api/handlers.h"
#include "net/server.h"

#define SECURITY_HEADERS                                                                                   \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "  \
    "data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"          \
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"

/* index.html is revalidated on every load (its ETag makes that a 304);
 * assets carry their content hash in their name and never change. */
#define CACHE_INDEX "Cache-Control: no-cache\r\n"
#define CACHE_ASSET "Cache-Control: public, max-age=31536000, immutable\r\n"

/* A JSON error with the console's headers (hv_http_error has none). */
static void console_error(hv_conn *c, int status, const char *extra, const char *msg, const char *path)
{
    char headers[512];
    snprintf(headers, sizeof(headers), SECURITY_HEADERS "Cache-Control: no-store\r\n%s", extra);
    json_t *j = json_pack("{s:s+}", "errors", msg, path);
    if (!j) /* a path that is not UTF-8: named without it */
        j = json_pack("{s:s}", "errors", msg);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        hv_http_respond(c, 500, "application/json", headers, "{\"errors\":\"internal error\"}", 27);
        return;
    }
    hv_http_respond(c, status, "application/json", headers, s, strlen(s));
    free(s);
}

int hv_api_console_path(const char *path)
{
    return !strncmp(path, "/console", 8) && (path[8] == '\0' || path[8] == '/');
}

void hv_api_console_refuse(hv_conn *c, int status, const char *msg)
{
    console_error(c, status, "", msg, "");
}

/* 1 when Accept-Encoding takes gzip: a "gzip", "x-gzip" or "*" coding
 * whose q is not 0 (RFC 9110 12.5.3). */
static int accepts_gzip(const char *ae)
{
    for (const char *p = ae; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ';' && *e != ' ' && *e != '\t')
            e++;
        size_t n = (size_t)(e - p);
        int named = (n == 4 && !strncasecmp(p, "gzip", 4)) || (n == 6 && !strncasecmp(p, "x-gzip", 6)) ||
                    (n == 1 && *p == '*');
        const char *end = strchr(e, ',');
        const char *q = strstr(e, "q=");
        int zero = 0;
        if (q && (!end || q < end)) { /* q=0, q=0.0, q=0.000 refuse */
            q += 2;
            zero = *q == '0';
            for (q++; zero && *q && *q != ',' && *q != ' ' && *q != ';'; q++)
                zero = *q == '.' || *q == '0';
        }
        if (named && !zero)
            return 1;
        p = end ? end + 1 : e + strlen(e);
    }
    return 0;
}

/* 1 when If-None-Match names etag (or is "*"); weak tags compare equal
 * (RFC 9110 13.1.2: If-None-Match uses the weak comparison). */
static int etag_matches(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);
    for (const char *p = inm; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (!strncmp(p, "W/", 2))
            p += 2;
        if (!strncmp(p, etag, elen) && (p[elen] == 0 || p[elen] == ',' || p[elen] == ' ' || p[elen] == '\t'))
            return 1;
        const char *end = strchr(p, ',');
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static const hv_console_asset *find_asset(const char *rel)
{
    if (!*rel)
        rel = "index.html";
    for (size_t i = 0; i < hv_console_nassets; i++)
        if (!strcmp(hv_console_assets[i].path, rel))
            return &hv_console_assets[i];
    return NULL;
}

void hv_api_console(hv_conn *c, hv_http_req *r)
{
    if (strcmp(r->method_name, "GET") && strcmp(r->method_name, "HEAD")) {
        console_error(c, 405, "Allow: GET, HEAD\r\n", "method not allowed on ", r->path);
        return;
    }
    /* The router matched "/console" or "/console/..." (a trailing slash
     * is already gone: "/console/" arrives as "/console"). */
    const char *rel = r->path + strlen("/console");
    if (*rel == '/')
        rel++;
    const hv_console_asset *a = find_asset(rel);
    if (!a) {
        console_error(c, 404, "", "no such console file: ", r->path);
        return;
    }
    int gz = accepts_gzip(hv_http_header_get(r, "accept-encoding"));
    size_t len = gz ? a->gz_len : a->raw_len;
    char headers[768];
    snprintf(headers, sizeof(headers), SECURITY_HEADERS "%sETag: %s\r\nVary: Accept-Encoding\r\n%s",
             a->immutable ? CACHE_ASSET : CACHE_INDEX, a->etag, gz ? "Content-Encoding: gzip\r\n" : "");
    const char *inm = hv_http_header_get(r, "if-none-match");
    if (inm && etag_matches(inm, a->etag)) {
        /* No body (hv_http_respond sends none with a 304); Content-Length
         * is the 200's, as RFC 9110 15.4.5 allows. */
        hv_http_respond(c, 304, NULL, headers, gz ? a->gz : a->raw, len);
        return;
    }
    hv_http_respond(c, 200, a->type, headers, gz ? a->gz : a->raw, len);
}
