/* SPDX-License-Identifier: MIT */
/* hv_webhook_mac.c — the Standard Webhooks key decoding and HMAC shared by
 * the server's signer and the client library's verifier; see
 * hv_webhook_mac.h.
 */
#include "hv_webhook_mac.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define MAX_B64 ((HV_WEBHOOK_MAX_KEY + 2) / 3 * 4)

static int is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

int hv_webhook_key_decode(const char *b64, uint8_t *key, size_t cap)
{
    if (!b64 || cap > HV_WEBHOOK_MAX_KEY)
        return -1;
    size_t len = strlen(b64);
    if (len == 0 || len > (cap + 2) / 3 * 4 || len % 4 == 1)
        return -1;
    char buf[MAX_B64 + 4];
    memcpy(buf, b64, len);
    while (len % 4) /* EVP_DecodeBlock wants whole quads: restore padding */
        buf[len++] = '=';
    buf[len] = '\0';
    size_t pad = 0;
    while (pad < 2 && buf[len - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (!is_b64(buf[i]))
            return -1; /* EVP_DecodeBlock would skip blanks; we do not */
    uint8_t out[MAX_B64];
    int n = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)len);
    if (n >= 0 && (size_t)n >= pad)
        n -= (int)pad; /* EVP_DecodeBlock counts the padding as zero bytes */
    else
        n = -1;
    if (n > 0 && (size_t)n <= cap)
        memcpy(key, out, (size_t)n);
    else
        n = -1;
    OPENSSL_cleanse(out, sizeof(out));
    return n;
}

int hv_webhook_mac(const uint8_t *key, size_t klen, const char *id, int64_t ts, const void *body,
                   size_t len, char out[HV_WEBHOOK_MAC_B64 + 1])
{
    char tsbuf[32];
    int tslen = snprintf(tsbuf, sizeof(tsbuf), ".%" PRId64 ".", ts);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    int rc = -1;
    if (ctx && EVP_MAC_init(ctx, key, klen, params) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)tsbuf, (size_t)tslen) == 1 &&
        (len == 0 || EVP_MAC_update(ctx, body, len) == 1) &&
        EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) == 1 && mdlen == 32) {
        EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen); /* 44 chars + NUL */
        rc = 0;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    OPENSSL_cleanse(md, sizeof(md));
    return rc;
}
