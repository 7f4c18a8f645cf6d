/* SPDX-License-Identifier: MIT */
/* fuzz_query.c — libFuzzer target for the URL helpers of the HTTP layer
 * that every client reaches before any authentication: query parameters
 * (hv_http_query, the source of ?token=, ?since=, ?limit=, ?room_id=…),
 * path normalisation (hv_http_normalize_path) and route matching with its
 * percent-decoded :segments (hv_router_find).
 *
 * Input: byte 0 picks the output buffer size (0–63 bytes, malloc'd to its
 * exact size so ASan sees a write past it), byte 1 the parameter name (one
 * of the names herald asks for, or the first bytes of the query itself),
 * the rest is the query string (also used as a path). Each answer is
 * checked against a plain reference decoder written here:
 *   - 1: out is the NUL-terminated decoded value of the FIRST parameter of
 *     that name ("+" is a space, %XX a byte, anything else literal);
 *   - 0: no parameter has that name;
 *   - -1: the value does not fit, and out is still a terminated string
 *     (empty), never a half-written one (issue 13: it once was not).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/router.h"
#include "net/http.h"

static const char *const names[] = {"token", "since", "limit", "room_id", "user_id", "type", "before", "x"};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static int hexv(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The reference: 1 and the decoded value in ref (*reflen bytes), or 0. */
static int reference(const char *q, const char *name, char *ref, size_t *reflen)
{
    size_t nlen = strlen(name);
    const char *p = q;
    while (*p) {
        const char *end = strchr(p, '&');
        if (!end)
            end = p + strlen(p);
        size_t plen = (size_t)(end - p);
        if (plen >= nlen && memcmp(p, name, nlen) == 0 && (plen == nlen || p[nlen] == '=')) {
            size_t o = 0;
            for (const char *v = p + nlen + (plen > nlen); v < end; v++) {
                unsigned char ch = (unsigned char)*v;
                if (ch == '+') {
                    ch = ' ';
                } else if (ch == '%' && end - v >= 3 && hexv((unsigned char)v[1]) >= 0 &&
                           hexv((unsigned char)v[2]) >= 0) {
                    ch = (unsigned char)(hexv((unsigned char)v[1]) * 16 + hexv((unsigned char)v[2]));
                    v += 2;
                }
                ref[o++] = (char)ch;
            }
            *reflen = o;
            return 1;
        }
        if (!*end)
            break;
        p = end + 1;
    }
    return 0;
}

static void check_query(const char *q, const char *name, size_t outlen)
{
    hv_http_req r;
    memset(&r, 0, sizeof(r));
    r.query = q;
    char *out = malloc(outlen); /* malloc(0): ASan flags any byte written */
    char *ref = malloc(strlen(q) + 1);
    if ((!out && outlen) || !ref)
        abort();
    memset(out, 0xAA, outlen);
    size_t reflen = 0;
    int want = reference(q, name, ref, &reflen);
    int got = hv_http_query(&r, name, out, outlen);
    if (want == 0 && got != 0)
        abort();
    if (want == 1) {
        if (reflen + 1 <= outlen) {
            if (got != 1 || memcmp(out, ref, reflen) != 0 || out[reflen] != 0)
                abort();
        } else if (got != -1) {
            abort();
        }
    }
    /* Whatever the answer, a buffer with room for a byte holds a string. */
    if (outlen && got != 0 && !memchr(out, 0, outlen))
        abort();
    if (got == -1 && outlen && out[0] != 0)
        abort(); /* an overflow leaves "", not a truncated value */
    free(out);
    free(ref);
}

/* Normalised paths have no "//", no trailing '/' (except "/" itself), and
 * route parameters are terminated, non-empty and within 256 bytes. */
static void check_path(const char *p, size_t len)
{
    char *norm = malloc(len + 2);
    if (!norm)
        abort();
    size_t n = hv_http_normalize_path(p, len, norm);
    if (n != strnlen(norm, len + 2) || n == 0 || n > len + 1 || strstr(norm, "//") ||
        (n > 1 && norm[n - 1] == '/'))
        abort();
    static const char *const methods[] = {"GET", "POST", "DELETE", "PATCH", "HEAD"};
    for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
        hv_route_handler h = NULL;
        char params[3][257];
        memset(params, 0x55, sizeof(params));
        int st = hv_router_find(methods[m], norm, &h, params);
        if (st != 200 && st != 404 && st != 405)
            abort();
        if (st == 200 && !h)
            abort();
    }
    free(norm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t outlen = data[0] % 64;
    size_t qlen = size - 2;
    char *q = malloc(qlen + 1);
    if (!q)
        abort();
    memcpy(q, data + 2, qlen);
    q[qlen] = 0; /* http.c hands the handlers a NUL-terminated query */
    char name[16];
    if (data[1] < 0x80) {
        strcpy(name, names[data[1] % NNAMES]);
    } else { /* a name taken from the query: it then often matches itself */
        size_t nl = (size_t)(data[1] & 0x0f);
        nl = nl < qlen ? nl : qlen;
        memcpy(name, q, nl);
        name[nl] = 0;
    }
    check_query(q, name, outlen);
    check_query(q, name, 512); /* the size herald's handlers use for tokens */
    check_path(q, strlen(q));
    free(q);
    return 0;
}
