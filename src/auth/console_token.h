/* SPDX-License-Identifier: MIT */
/* console_token.h — short-lived console tokens (issue 17 item 1).
 *
 * A person signing in to the web console may use a token that expires
 * instead of the server token: `POST /v1/console/token` (server token)
 * mints one. It is stateless, so it needs no storage and every node that
 * shares the server token accepts it:
 *
 *   hct_<expiry>_<mac>
 *
 * <expiry> is the Unix time (seconds, decimal, 1-12 digits, no leading
 * zero) from which it is refused; <mac> is 64 lowercase hex digits of
 * HMAC-SHA256(key, "hct_<expiry>") where key = HMAC-SHA256(server token,
 * "herald console token v1"). Changing --token therefore revokes every
 * console token. Checking reads at most HV_CONSOLE_TOKEN_MAX bytes and
 * compares the MAC in constant time.
 */
#ifndef HV_CONSOLE_TOKEN_H
#define HV_CONSOLE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define HV_CONSOLE_TOKEN_PREFIX "hct_"
/* "hct_" + 12 digits + "_" + 64 hex digits; anything longer is refused. */
#define HV_CONSOLE_TOKEN_MAX 81
#define HV_CONSOLE_TTL_DEFAULT_S 3600
#define HV_CONSOLE_TTL_MAX_S 86400

typedef enum {
    HV_CTOK_OK = 0,  /* well formed, correctly signed, not expired */
    HV_CTOK_BAD,     /* malformed or wrongly signed */
    HV_CTOK_EXPIRED, /* correctly signed, expiry reached */
} hv_ctok;

/* 1 when token (len bytes) begins with HV_CONSOLE_TOKEN_PREFIX. */
int hv_console_token_is(const char *token, size_t len);

/* Writes the console token expiring at exp_s (Unix seconds, 1 to
 * 999999999999) for server_token into out. */
void hv_console_token_mint(const char *server_token, int64_t exp_s, char out[HV_CONSOLE_TOKEN_MAX + 1]);

/* Checks token (len bytes, any bytes) against server_token at now_s
 * (Unix seconds): HV_CTOK_EXPIRED when now_s >= its expiry. *exp_s (may
 * be NULL) gets the expiry when the result is OK or EXPIRED, and is left
 * alone otherwise. */
hv_ctok hv_console_token_check(const char *server_token, const char *token, size_t len, int64_t now_s,
                               int64_t *exp_s);

#endif
