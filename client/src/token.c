/* SPDX-License-Identifier: MIT */
/* token.c — minting user tokens (JWT, HS256), the counterpart of the
 * server's src/auth/jwt.c.
 *
 * A user's own backend gives each user a token signed with the secret it
 * shares with herald; herald-cli's `token` command does the same for
 * development. The token is a compact JWS made by libjwt: header
 * {"alg":"HS256","typ":"JWT"}, claims "sub" (the user id), "iat" (now),
 * "exp" (now + ttl) and, when rooms are given, "rooms" (an array of room
 * ids). The arguments are checked against the limits the server enforces
 * (ids of 1–256 bytes, at most 1000 rooms), so that a minted token is one
 * the server accepts until it expires.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <jwt.h>

#include "client_internal.h"

#define TOKEN_MAX_ID 256
#define TOKEN_MAX_ROOMS 1000
#define TOKEN_MAX_EXP 253402300799LL /* 9999-12-31T23:59:59Z, the server's limit */

static int good_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= TOKEN_MAX_ID;
}

/* Adds "rooms": [...] to the claims. Returns 0 or a HERALD_E* code. */
static int add_rooms(jwt_t *jwt, const char *const *rooms, size_t nrooms)
{
    json_t *obj = json_object();
    json_t *arr = json_array();
    int rc = HERALD_ENOMEM;
    if (!obj || !arr || json_object_set(obj, "rooms", arr) != 0)
        goto out;
    for (size_t i = 0; i < nrooms; i++)
        if (json_array_append_new(arr, json_string(rooms[i])) != 0)
            goto out;
    char *text = json_dumps(obj, JSON_COMPACT);
    if (!text)
        goto out;
    rc = jwt_add_grants_json(jwt, text) == 0 ? HERALD_OK : HERALD_ENOMEM;
    free(text);
out:
    json_decref(arr);
    json_decref(obj);
    return rc;
}

int herald_token_mint(const char *secret, const char *user_id, const char *const *rooms,
                      size_t nrooms, int64_t ttl_s, char **token_out, char *errbuf,
                      size_t errlen)
{
    if (token_out)
        *token_out = NULL;
    if (!token_out)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "no place for the token");
    if (!secret || !*secret || strlen(secret) > INT_MAX)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "a secret is needed");
    if (!good_id(user_id))
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "the user id must be 1-%d bytes",
                            TOKEN_MAX_ID);
    /* herald refuses such a token: "peer:<id>" is a peer's own channel. */
    if (strncmp(user_id, "peer:", 5) == 0)
        return herald__fail(HERALD_EINVAL, errbuf, errlen,
                            "a user id must not begin with \"peer:\" (peers' channels)");
    if (nrooms > TOKEN_MAX_ROOMS)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "at most %d rooms", TOKEN_MAX_ROOMS);
    if (nrooms > 0 && !rooms)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "rooms missing");
    for (size_t i = 0; i < nrooms; i++)
        if (!good_id(rooms[i]))
            return herald__fail(HERALD_EINVAL, errbuf, errlen, "room ids must be 1-%d bytes",
                                TOKEN_MAX_ID);
    if (ttl_s <= 0)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "the lifetime must be positive");
    int64_t now = (int64_t)time(NULL), exp;
    if (__builtin_add_overflow(now, ttl_s, &exp) || exp > TOKEN_MAX_EXP || exp > LONG_MAX)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "the lifetime is too long");

    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    int rc = HERALD_ENOMEM;
    if (jwt_add_grant(jwt, "sub", user_id) != 0 || jwt_add_grant_int(jwt, "iat", (long)now) != 0 ||
        jwt_add_grant_int(jwt, "exp", (long)exp) != 0)
        goto out;
    if (nrooms > 0 && (rc = add_rooms(jwt, rooms, nrooms)) != HERALD_OK)
        goto out;
    rc = HERALD_ENOMEM;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret)) != 0)
        goto out;
    *token_out = jwt_encode_str(jwt); /* malloc'd by libjwt: free() */
    if (*token_out)
        rc = HERALD_OK;
out:
    jwt_free(jwt);
    if (rc != HERALD_OK)
        return herald__fail(rc, errbuf, errlen, "cannot mint the token: %s", herald_strerror(rc));
    return HERALD_OK;
}
