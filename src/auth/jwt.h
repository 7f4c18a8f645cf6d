/* SPDX-License-Identifier: MIT */
/* jwt.h — user tokens: verifying the JWTs that a user's own backend mints
 * for its users (DESIGN.md §2, issue 5 part 3).
 *
 * A user token is a compact JWS signed with HS256 under the secret from
 * herald's config. Its claims: "sub" (the user id, which addresses the
 * user's channel), "exp" (required), optional "nbf", optional "rooms" (an
 * array of the room ids the user may read) and, when herald is configured
 * with an audience, "aud". hv_jwt_verify turns a token into an hv_identity
 * or refuses it with a short reason suitable for a 401 body or a close
 * frame. Signature checking is libjwt's; every policy decision (the only
 * accepted algorithm, claim types, time window, limits) is made here and
 * does not rely on libjwt's defaults.
 */
#ifndef HV_AUTH_JWT_H
#define HV_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#define HV_JWT_MAX_TOKEN 8192 /* longest token accepted, in bytes */
#define HV_JWT_MAX_ID 256     /* longest sub / room id, in bytes */
#define HV_JWT_MAX_ROOMS 1000 /* most entries in the rooms claim */
#define HV_JWT_LEEWAY_S 30    /* clock skew allowed on exp and nbf (--jwt-leeway's default) */
#define HV_JWT_MAX_EXP 253402300799LL /* 9999-12-31T23:59:59Z: exp * 1000 never overflows */

/* The user channel of a peer token is "peer:<peer id>" (an event addressed
 * to a peer has user_id "peer:<peer id>"); a user token's is its sub. A
 * sub that begins with this prefix is refused, so the two namespaces never
 * meet: a JWT whose sub is some peer's id cannot read that peer's events,
 * and a peer cannot read those of a user named like it (issue 13). */
#define HV_PEER_CHANNEL_PREFIX "peer:"

typedef struct hv_identity {
    char user_id[HV_JWT_MAX_ID + 1]; /* sub */
    char **rooms;                    /* the rooms claim (array of strings), may be empty */
    size_t nrooms;
    int64_t exp;                     /* seconds since the epoch */
} hv_identity;

/* hv_jwt_verify — verifies an HS256 token with secret (and, when audience
 * is non-NULL and non-empty, an "aud" claim equal to it or an array
 * containing it) at time now_s (seconds since the epoch).
 *
 * Refuses: other algorithms (including "none" and RS*, ES*, HS384/512),
 * a "crit" header, a "typ" other than JWT, bad signatures, missing or
 * non-string sub (or sub empty, longer than 256 bytes, holding a NUL or
 * beginning with HV_PEER_CHANNEL_PREFIX),
 * missing or non-integer exp, exp in the past (now_s >= exp + 30) or
 * past HV_JWT_MAX_EXP (so callers may turn it into ms freely), a
 * non-integer nbf or nbf in the future (nbf > now_s + 30), rooms that is
 * not an array of strings (each 1–256 bytes without NUL, at most 1000),
 * duplicate keys in header or claims, tokens longer than 8 KiB, and
 * everything when secret is NULL or empty.
 *
 * Returns 0 and fills *out (release with hv_identity_clear), or -1 with a
 * short reason in err (err may be NULL; errlen 0): "token expired",
 * "bad signature", "alg must be HS256", "missing sub", "wrong audience",
 * "malformed token", "token too long", … On failure *out is left zeroed,
 * so hv_identity_clear on it is harmless. Thread-safe. */
int hv_jwt_verify(const char *secret, const char *audience, const char *token, int64_t now_s,
                  hv_identity *out, char *err, size_t errlen);
/* The same with leeway_s seconds of clock skew (>= 0) instead of
 * HV_JWT_LEEWAY_S on exp and nbf (--jwt-leeway). */
int hv_jwt_verify_leeway(const char *secret, const char *audience, const char *token, int64_t now_s,
                         int64_t leeway_s, hv_identity *out, char *err, size_t errlen);

/* hv_identity_clear — releases what hv_jwt_verify allocated (the rooms
 * array and its strings, one block) and zeroes *id. NULL is ignored. */
void hv_identity_clear(hv_identity *id);

/* hv_identity_has_room — 1 when id may read room_id (it is listed in the
 * rooms claim, compared byte for byte), else 0 (also for NULL
 * arguments). */
int hv_identity_has_room(const hv_identity *id, const char *room_id);

#endif
