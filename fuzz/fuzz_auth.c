/* SPDX-License-Identifier: MIT */
/* fuzz_auth.c — libFuzzer target for the credentials an unauthenticated
 * client sends: the Authorization values of the Janus ingest (HTTP Basic
 * with the server token as password, or Bearer; api/janus.c, where "===="
 * once made herald read past its buffer), and the app-client tokens of the
 * peer socket, SSE and access socket (a peer token or a user JWT, from
 * "Authorization: Bearer" or ?token=; auth/identity.c).
 *
 * Byte 0 picks the mode, the rest is the mode's input:
 *   0 raw: the bytes are an Authorization value. If herald accepts it, it
 *     must really carry the server token: "Bearer" + spaces + the token,
 *     or "Basic" + base64 whose text after the first ':' is the token
 *     (checked with a decoder written here). Nothing else may pass.
 *   1 Basic: the bytes are "user:password" (split at the first NUL);
 *     encoded here, properly, with some spaces around; accepted exactly
 *     when the password (after the first ':') is the server token.
 *   2 Bearer: the bytes are a token; accepted exactly when it is the
 *     server token (after any spaces).
 *   3 app token: byte 1 says where it comes from (a ?token= query string
 *     decoded by hv_http_query, or an Authorization value after
 *     "Bearer "), and whether an audience is required; the token goes to
 *     hv_client_id_resolve. An accepted one must be a user token that
 *     hv_jwt_verify accepts too, with the same sub and rooms; a refusal
 *     must have a printable reason. No peer exists here (fuzz_conn.c
 *     drives real peer tokens).
 * The seeds in fuzz/corpus/fuzz_auth/ include good credentials and user
 * tokens signed with this file's secret (exp in 2100), so the fuzzer
 * starts past the checks.
 */
#include <ftw.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/handlers.h"
#include "auth/identity.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "fixture.h"
#include "net/server.h"
#include "rooms/registry.h"

#define TOKEN "fuzz-server-token"
#define JWT_SECRET "fuzz-secret"

static hv_server srv;
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    char *args[] = {(*argv)[0], NULL};
    hv_config_load(&srv.cfg, 1, args);
    hv_log_level = -1;
    snprintf(srv.cfg.token, sizeof(srv.cfg.token), "%s", TOKEN);
    snprintf(srv.cfg.jwt_secret, sizeof(srv.cfg.jwt_secret), "%s", JWT_SECRET);
    fuzz_fixture_store(&srv, "auth"); /* no rooms: every token is looked up, none is a peer's */
    return 0;
}

/* ---- reference decoding ------------------------------------------------- */

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decodes the base64 characters of s (anything else skipped, '=' ends it)
 * into out; returns the length. Lenient on purpose: it only has to show
 * that an accepted value holds the token. */
static size_t lenient_decode(const char *s, unsigned char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (; *s && *s != '='; s++) {
        int v = b64val((unsigned char)*s);
        if (v < 0)
            continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

/* 1 when "...:<token>" is what decoded holds. */
static int password_is_token(const unsigned char *d, size_t n)
{
    const unsigned char *colon = memchr(d, ':', n);
    if (!colon)
        return 0;
    size_t plen = n - (size_t)(colon + 1 - d);
    return plen == strlen(TOKEN) && memcmp(colon + 1, TOKEN, plen) == 0;
}

static int bearer_is_token(const char *v)
{
    if (strncasecmp(v, "Bearer ", 7) != 0)
        return 0;
    v += 7;
    while (*v == ' ')
        v++;
    return strcmp(v, TOKEN) == 0;
}

/* ---- modes --------------------------------------------------------------- */

static char *cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

static void raw_value(const uint8_t *data, size_t size)
{
    char *v = cstr(data, size);
    if (hv_janus_auth_ok(&srv, v)) {
        int ok = bearer_is_token(v);
        if (!ok && strncasecmp(v, "Basic ", 6) == 0) {
            unsigned char *d = malloc(strlen(v) + 1);
            ok = password_is_token(d, lenient_decode(v + 6, d));
            free(d);
        }
        if (!ok)
            abort(); /* accepted without the server token */
    }
    free(v);
}

static void basic_value(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    unsigned spaces = data[0];
    data++, size--;
    const uint8_t *nul = memchr(data, 0, size);
    size_t ulen = nul ? (size_t)(nul - data) : size / 2;
    size_t plen = nul ? size - ulen - 1 : size - ulen;
    const uint8_t *pass = data + size - plen;
    size_t clen = ulen + 1 + plen;
    unsigned char *cred = malloc(clen + 1);
    memcpy(cred, data, ulen);
    cred[ulen] = ':';
    memcpy(cred + ulen + 1, pass, plen);
    char *value = malloc(4 * (clen / 3 + 1) + 32);
    int n = sprintf(value, "%s%*s", (spaces & 0x10) ? "basic " : "Basic ", (int)(spaces & 3), "");
    int len = EVP_EncodeBlock((unsigned char *)value + n, cred, (int)clen);
    sprintf(value + n + len, "%*s", (int)((spaces >> 2) & 3), "");
    int want = len <= 4096 && password_is_token(cred, clen);
    if (hv_janus_auth_ok(&srv, value) != want)
        abort();
    free(value);
    free(cred);
}

static void bearer_value(const uint8_t *data, size_t size)
{
    char *tok = cstr(data, size);
    char *value = malloc(strlen(tok) + 16);
    sprintf(value, "Bearer %s", tok);
    const char *t = tok;
    while (*t == ' ') /* "Bearer   <token>" is taken too */
        t++;
    int want = strcmp(t, TOKEN) == 0;
    if (hv_janus_auth_ok(&srv, value) != want)
        abort();
    free(value);
    free(tok);
}

static void check_printable(const char *s)
{
    if (!*s)
        abort();
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            abort();
}

/* Like the peer socket, SSE and the access socket: the token of
 * "Authorization: Bearer <token>" or of ?token=. */
static void app_token(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    int from_query = data[0] & 1;
    snprintf(srv.cfg.jwt_audience, sizeof(srv.cfg.jwt_audience), "%s", (data[0] & 2) ? "herald" : "");
    char *in = cstr(data + 1, size - 1);
    char buf[512];
    const char *token = NULL;
    if (from_query) {
        hv_http_req r;
        memset(&r, 0, sizeof(r));
        r.query = in;
        token = hv_http_query(&r, "token", buf, sizeof(buf)) == 1 ? buf : NULL;
    } else if (!strncasecmp(in, "Bearer ", 7)) {
        token = in + 7;
    }
    if (token) {
        hv_client_id id;
        char err[160];
        if (hv_client_id_resolve(&srv, token, &id, err, sizeof(err)) == 0) {
            hv_identity who;
            if (id.kind != HV_ID_USER ||
                hv_jwt_verify(JWT_SECRET, srv.cfg.jwt_audience, token, hv_now_ms() / 1000, &who, NULL, 0) != 0)
                abort();
            if (strcmp(who.user_id, id.user_id) != 0 || who.nrooms != id.nrooms || !id.user_id[0])
                abort();
            for (size_t i = 0; i < id.nrooms; i++)
                if (strcmp(id.rooms[i], who.rooms[i]) != 0)
                    abort();
            hv_identity_clear(&who);
            hv_client_id_clear(&id);
        } else {
            check_printable(err);
            if (id.rooms || id.nrooms)
                abort();
        }
    }
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0: raw_value(data + 1, size - 1); break;
    case 1: basic_value(data + 1, size - 1); break;
    case 2: bearer_value(data + 1, size - 1); break;
    default: app_token(data + 1, size - 1); break;
    }
    return 0;
}
