/* SPDX-License-Identifier: MIT */
/* jwt.c — verifying user tokens (JWT, HS256) into an hv_identity.
 *
 * How it works, in order, failing at the first refusal:
 *   1. Size and shape: at most HV_JWT_MAX_TOKEN bytes, exactly three
 *      base64url segments "header.claims.signature" (no padding, no other
 *      characters). A JWE (five segments) or a detached payload is
 *      malformed here.
 *   2. The header, decoded (OpenSSL's base64) and parsed (jansson,
 *      duplicate keys refused) by us, before any cryptography: "alg" must
 *      be exactly "HS256" — so "none", HS384/512 and the public-key
 *      algorithms are refused by name, never handed to libjwt with our
 *      HMAC secret as a "public key" — "typ", if any, must be "JWT", and
 *      "crit" is refused (we understand no extension). The claims segment
 *      must decode to a JSON object, again without duplicate keys, so that
 *      a malformed token is not reported as a bad signature.
 *   3. The signature: libjwt's jwt_decode with the secret (HMAC-SHA256,
 *      constant-time compare in Debian's 1.10.2). Afterwards jwt_get_alg
 *      must still say HS256: belt and braces against a library that
 *      accepts "none" when a key is given.
 *   4. The claims, read from what libjwt verified (jwt_get_grants_json)
 *      with exact type checks: sub, exp, nbf, aud, rooms. The identity's
 *      rooms are copied into one block (pointer array, then the strings)
 *      so that hv_identity_clear is a single free.
 */
#include "auth/jwt.h"
#include "core/xalloc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>

#define HS256_SIG_CHARS 43 /* base64url of 32 bytes, unpadded */

static int fail(char *err, size_t errlen, const char *reason)
{
    if (err && errlen > 0)
        snprintf(err, errlen, "%s", reason);
    return -1;
}

static int is_b64url(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* Decodes len base64url characters (already checked to be of the
 * alphabet) into a malloc'd buffer with a NUL after the *outlen bytes.
 * Returns NULL for an impossible length. */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *outlen)
{
    if (len % 4 == 1 || len > HV_JWT_MAX_TOKEN)
        return NULL;
    size_t pad = (4 - len % 4) % 4;
    char *std = hv_xmalloc(len + pad + 1);
    unsigned char *out = hv_xmalloc((len + pad) / 4 * 3 + 1);
    for (size_t i = 0; i < len; i++)
        std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    memset(std + len, '=', pad);
    std[len + pad] = '\0';
    /* EVP_DecodeBlock counts the padding as zero bytes: take them off. */
    int n = len + pad > 0 ? EVP_DecodeBlock(out, (const unsigned char *)std, (int)(len + pad)) : 0;
    free(std);
    if (n < 0 || (size_t)n < pad) {
        free(out);
        return NULL;
    }
    *outlen = (size_t)n - pad;
    out[*outlen] = '\0';
    return out;
}

/* Decodes and parses one segment as a JSON object (duplicate keys
 * refused). NULL when it is anything else. */
static json_t *segment_object(const char *s, size_t len)
{
    size_t n;
    unsigned char *raw = b64url_decode(s, len, &n);
    if (!raw)
        return NULL;
    json_t *v = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (v && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* A string of 1..HV_JWT_MAX_ID bytes without an embedded NUL. */
static int good_id(const json_t *v)
{
    if (!json_is_string(v))
        return 0;
    size_t n = json_string_length(v);
    return n >= 1 && n <= HV_JWT_MAX_ID && strlen(json_string_value(v)) == n;
}

static int audience_ok(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0 &&
               json_string_length(aud) == strlen(want);
    if (json_is_array(aud)) {
        size_t i;
        json_t *a;
        json_array_foreach(aud, i, a) {
            if (json_is_string(a) && json_string_length(a) == strlen(want) &&
                strcmp(json_string_value(a), want) == 0)
                return 1;
        }
    }
    return 0;
}

/* Steps 1 and 2: shape, header, claims segment. Returns 0 or -1 with
 * err filled. */
static int check_shape(const char *token, char *err, size_t errlen)
{
    size_t len = strnlen(token, HV_JWT_MAX_TOKEN + 1);
    if (len == 0)
        return fail(err, errlen, "empty token");
    if (len > HV_JWT_MAX_TOKEN)
        return fail(err, errlen, "token too long");
    const char *dot1 = NULL, *dot2 = NULL;
    for (const char *p = token; *p; p++) {
        if (*p == '.') {
            if (dot2)
                return fail(err, errlen, "malformed token");
            if (dot1)
                dot2 = p;
            else
                dot1 = p;
        } else if (!is_b64url((unsigned char)*p)) {
            return fail(err, errlen, "malformed token");
        }
    }
    if (!dot2)
        return fail(err, errlen, "malformed token");

    json_t *head = segment_object(token, (size_t)(dot1 - token));
    if (!head)
        return fail(err, errlen, "malformed token");
    const json_t *alg = json_object_get(head, "alg");
    const json_t *typ = json_object_get(head, "typ");
    int rc = 0;
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0 ||
        json_string_length(alg) != 5)
        rc = fail(err, errlen, "alg must be HS256");
    else if (json_object_get(head, "crit"))
        rc = fail(err, errlen, "unsupported crit header");
    else if (typ && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0 ||
                     json_string_length(typ) != 3))
        rc = fail(err, errlen, "typ must be JWT");
    json_decref(head);
    if (rc != 0)
        return rc;

    json_t *claims = segment_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (!claims)
        return fail(err, errlen, "malformed token");
    json_decref(claims);
    if (strlen(dot2 + 1) != HS256_SIG_CHARS)
        return fail(err, errlen, "bad signature");
    return 0;
}

/* Step 4 on the verified claims object. */
static int check_claims(const json_t *c, const char *audience, int64_t now_s, int64_t leeway_s, hv_identity *out,
                        char *err, size_t errlen)
{
    const json_t *sub = json_object_get(c, "sub");
    if (!sub || json_is_null(sub))
        return fail(err, errlen, "missing sub");
    if (!good_id(sub))
        return fail(err, errlen, "sub must be a string of 1-256 bytes");
    if (!strncmp(json_string_value(sub), HV_PEER_CHANNEL_PREFIX, strlen(HV_PEER_CHANNEL_PREFIX)))
        return fail(err, errlen, "sub must not begin with \"" HV_PEER_CHANNEL_PREFIX "\" (peers' channels)");

    const json_t *exp = json_object_get(c, "exp");
    if (!exp)
        return fail(err, errlen, "missing exp");
    if (!json_is_integer(exp))
        return fail(err, errlen, "exp must be an integer");
    int64_t e = (int64_t)json_integer_value(exp);
    int64_t oldest; /* a token is good while now_s < exp + leeway */
    if (__builtin_sub_overflow(now_s, leeway_s, &oldest))
        oldest = INT64_MIN;
    if (e <= oldest)
        return fail(err, errlen, "token expired");
    if (e > HV_JWT_MAX_EXP)
        return fail(err, errlen, "exp out of range");

    const json_t *nbf = json_object_get(c, "nbf");
    if (nbf) {
        if (!json_is_integer(nbf))
            return fail(err, errlen, "nbf must be an integer");
        int64_t latest;
        if (__builtin_add_overflow(now_s, leeway_s, &latest))
            latest = INT64_MAX;
        if ((int64_t)json_integer_value(nbf) > latest)
            return fail(err, errlen, "token not yet valid");
    }

    if (audience && *audience && !audience_ok(json_object_get(c, "aud"), audience))
        return fail(err, errlen, "wrong audience");

    const json_t *rooms = json_object_get(c, "rooms");
    size_t nrooms = 0, bytes = 0;
    if (rooms) {
        if (!json_is_array(rooms))
            return fail(err, errlen, "rooms must be an array of strings");
        nrooms = json_array_size(rooms);
        if (nrooms > HV_JWT_MAX_ROOMS)
            return fail(err, errlen, "too many rooms");
        for (size_t i = 0; i < nrooms; i++) {
            const json_t *r = json_array_get(rooms, i);
            if (!json_is_string(r))
                return fail(err, errlen, "rooms must be an array of strings");
            if (!good_id(r))
                return fail(err, errlen, "room ids must be 1-256 bytes");
            bytes += json_string_length(r) + 1;
        }
    }

    hv_identity id = {0};
    memcpy(id.user_id, json_string_value(sub), json_string_length(sub) + 1);
    id.exp = e;
    if (nrooms > 0) {
        char **block = hv_xmalloc(nrooms * sizeof(char *) + bytes);
        char *p = (char *)(block + nrooms);
        for (size_t i = 0; i < nrooms; i++) {
            const json_t *r = json_array_get(rooms, i);
            size_t n = json_string_length(r) + 1;
            memcpy(p, json_string_value(r), n);
            block[i] = p;
            p += n;
        }
        id.rooms = block;
        id.nrooms = nrooms;
    }
    *out = id;
    return 0;
}

int hv_jwt_verify(const char *secret, const char *audience, const char *token, int64_t now_s,
                  hv_identity *out, char *err, size_t errlen)
{
    return hv_jwt_verify_leeway(secret, audience, token, now_s, HV_JWT_LEEWAY_S, out, err, errlen);
}

int hv_jwt_verify_leeway(const char *secret, const char *audience, const char *token, int64_t now_s,
                         int64_t leeway_s, hv_identity *out, char *err, size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!out)
        return fail(err, errlen, "no identity to fill");
    memset(out, 0, sizeof(*out));
    if (!secret || !*secret || strlen(secret) > INT_MAX)
        return fail(err, errlen, "no token secret configured");
    if (!token)
        return fail(err, errlen, "empty token");
    if (check_shape(token, err, errlen) != 0)
        return -1;

    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret)) != 0 || !jwt) {
        jwt_free(jwt);
        return fail(err, errlen, "bad signature");
    }
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        jwt_free(jwt);
        return fail(err, errlen, "alg must be HS256");
    }
    char *text = jwt_get_grants_json(jwt, NULL);
    jwt_free(jwt);
    json_t *claims = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(text);
    if (!json_is_object(claims)) {
        json_decref(claims);
        return fail(err, errlen, "malformed token");
    }
    int rc = check_claims(claims, audience, now_s, leeway_s, out, err, errlen);
    json_decref(claims);
    return rc;
}

void hv_identity_clear(hv_identity *id)
{
    if (!id)
        return;
    free(id->rooms);
    memset(id, 0, sizeof(*id));
}

int hv_identity_has_room(const hv_identity *id, const char *room_id)
{
    if (!id || !room_id)
        return 0;
    for (size_t i = 0; i < id->nrooms; i++)
        if (strcmp(id->rooms[i], room_id) == 0)
            return 1;
    return 0;
}
