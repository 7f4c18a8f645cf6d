/* SPDX-License-Identifier: MIT */
/* console_token.c — minting and checking console tokens; the format and
 * why it is stateless: console_token.h. */
#include "auth/console_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LABEL "herald console token v1"
#define MAC_LEN 32
#define MAX_DIGITS 12

static void hmac(const void *key, size_t klen, const void *data, size_t dlen, unsigned char out[MAC_LEN])
{
    size_t n = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, data, dlen, out, MAC_LEN, &n) ||
        n != MAC_LEN)
        abort(); /* OpenSSL without HMAC-SHA256: nothing could be checked */
}

/* The MAC of a token's signed part ("hct_<expiry>", len bytes). */
static void token_mac(const char *server_token, const char *signed_part, size_t len, unsigned char mac[MAC_LEN])
{
    unsigned char key[MAC_LEN];
    hmac(server_token, strlen(server_token), KEY_LABEL, strlen(KEY_LABEL), key);
    hmac(key, sizeof(key), signed_part, len, mac);
    OPENSSL_cleanse(key, sizeof(key));
}

int hv_console_token_is(const char *token, size_t len)
{
    size_t p = strlen(HV_CONSOLE_TOKEN_PREFIX);
    return len >= p && !memcmp(token, HV_CONSOLE_TOKEN_PREFIX, p);
}

void hv_console_token_mint(const char *server_token, int64_t exp_s, char out[HV_CONSOLE_TOKEN_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    int n = snprintf(out, HV_CONSOLE_TOKEN_MAX + 1, HV_CONSOLE_TOKEN_PREFIX "%lld", (long long)exp_s);
    unsigned char mac[MAC_LEN];
    token_mac(server_token, out, (size_t)n, mac);
    out[n++] = '_';
    for (size_t i = 0; i < MAC_LEN; i++) {
        out[n++] = hex[mac[i] >> 4];
        out[n++] = hex[mac[i] & 15];
    }
    out[n] = '\0';
}

/* Lowercase hex only: one spelling per token. */
static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

hv_ctok hv_console_token_check(const char *server_token, const char *token, size_t len, int64_t now_s,
                               int64_t *exp_s)
{
    size_t p = strlen(HV_CONSOLE_TOKEN_PREFIX);
    if (len > HV_CONSOLE_TOKEN_MAX || !hv_console_token_is(token, len))
        return HV_CTOK_BAD;
    /* <expiry>: 1-12 digits, no leading zero */
    size_t d = p;
    int64_t exp = 0;
    while (d < len && d - p < MAX_DIGITS && token[d] >= '0' && token[d] <= '9')
        exp = exp * 10 + (token[d++] - '0');
    if (d == p || token[p] == '0' || d >= len || token[d] != '_' || len - d - 1 != 2 * MAC_LEN)
        return HV_CTOK_BAD;
    unsigned char got[MAC_LEN], want[MAC_LEN];
    for (size_t i = 0; i < MAC_LEN; i++) {
        int hi = hexval(token[d + 1 + 2 * i]), lo = hexval(token[d + 2 + 2 * i]);
        if (hi < 0 || lo < 0)
            return HV_CTOK_BAD;
        got[i] = (unsigned char)(hi << 4 | lo);
    }
    token_mac(server_token, token, d, want);
    int same = CRYPTO_memcmp(got, want, MAC_LEN) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    if (!same)
        return HV_CTOK_BAD;
    if (exp_s)
        *exp_s = exp;
    return now_s >= exp ? HV_CTOK_EXPIRED : HV_CTOK_OK;
}
