/* webhook_sign.c — Standard Webhooks signatures and secrets (the signing
 * functions declared in endpoints.h).
 *
 * A secret is "whsec_" + base64 of random bytes; the HMAC-SHA256 key is
 * the decoded bytes. The signed content is "<webhook-id>.<timestamp>.<raw
 * body>", fed to an OpenSSL EVP_MAC in pieces (no concatenated copy of the
 * body), and the header value is "v1,<base64 MAC>". During a secret
 * rotation (prev_secret set, prev_until_ms not yet reached) the old
 * secret's signature follows, space-separated, so receivers still holding
 * the old secret keep verifying.
 */
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "deliver/endpoints.h"

#define SECRET_PREFIX "whsec_"
#define MAX_KEY 128   /* bytes of a decoded secret we accept */
#define NEW_KEY 32    /* bytes of the secrets we make */

/* Decodes the base64 part of a secret into key; returns its length, or -1. */
static int decode_secret(const char *secret, uint8_t key[MAX_KEY])
{
    size_t plen = strlen(SECRET_PREFIX);
    if (!secret || strncmp(secret, SECRET_PREFIX, plen) != 0)
        return -1;
    const char *b64 = secret + plen;
    size_t len = strlen(b64);
    if (len == 0 || len > (MAX_KEY / 3 + 1) * 4 || len % 4 == 1)
        return -1;
    /* EVP_DecodeBlock wants whole quads: restore missing padding. */
    char buf[(MAX_KEY / 3 + 2) * 4 + 1];
    memcpy(buf, b64, len);
    while (len % 4)
        buf[len++] = '=';
    buf[len] = '\0';
    size_t pad = 0;
    while (pad < 2 && buf[len - 1 - pad] == '=')
        pad++;
    /* '=' may only appear as the final padding. */
    if (memchr(buf, '=', len - pad))
        return -1;
    uint8_t out[sizeof(buf)];
    int n = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)len);
    if (n < 0 || (size_t)n < pad)
        return -1;
    n -= (int)pad; /* EVP_DecodeBlock counts the padding as zero bytes */
    if (n <= 0 || n > MAX_KEY)
        return -1;
    memcpy(key, out, (size_t)n);
    return n;
}

int hv_webhook_signature(const char *secret, const char *msg_id, int64_t ts, const void *body,
                         size_t len, char out[64])
{
    out[0] = '\0';
    uint8_t key[MAX_KEY];
    int klen = decode_secret(secret, key);
    if (klen < 0)
        return -1;
    char tsbuf[32];
    int tslen = snprintf(tsbuf, sizeof(tsbuf), ".%" PRId64 ".", ts);

    int rc = -1;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    if (ctx && EVP_MAC_init(ctx, key, (size_t)klen, params) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)msg_id, strlen(msg_id)) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)tsbuf, (size_t)tslen) == 1 &&
        (len == 0 || EVP_MAC_update(ctx, body, len) == 1) &&
        EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) == 1 && mdlen == 32) {
        memcpy(out, "v1,", 3);
        EVP_EncodeBlock((unsigned char *)out + 3, md, (int)mdlen); /* 44 chars + NUL */
        rc = 0;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

void hv_webhook_sign(const hv_endpoint *ep, const char *msg_id, int64_t ts, const void *body,
                     size_t len, int64_t now_ms, char out[256])
{
    char sig[64];
    out[0] = '\0';
    if (hv_webhook_signature(ep->secret, msg_id, ts, body, len, sig) == 0)
        snprintf(out, 256, "%s", sig);
    else
        hv_warn("webhooks: endpoint %s has an unusable secret", ep->id);
    if (ep->prev_secret && now_ms < ep->prev_until_ms &&
        hv_webhook_signature(ep->prev_secret, msg_id, ts, body, len, sig) == 0) {
        size_t used = strlen(out);
        snprintf(out + used, 256 - used, "%s%s", used ? " " : "", sig);
    }
}

void hv_webhook_secret_new(char out[64])
{
    uint8_t key[NEW_KEY];
    if (RAND_bytes(key, sizeof(key)) != 1) {
        hv_error("webhooks: no random bytes for a secret");
        abort();
    }
    memcpy(out, SECRET_PREFIX, strlen(SECRET_PREFIX));
    EVP_EncodeBlock((unsigned char *)out + strlen(SECRET_PREFIX), key, sizeof(key)); /* 44 + NUL */
    OPENSSL_cleanse(key, sizeof(key));
}
