/* SPDX-License-Identifier: MIT */
/* webhook_sign.c — Standard Webhooks signatures and secrets (the signing
 * functions declared in endpoints.h).
 *
 * A secret is "whsec_" + base64 of random bytes; the HMAC-SHA256 key is
 * the decoded bytes. The signed content is "<webhook-id>.<timestamp>.<raw
 * body>" and the header value is "v1,<base64 MAC>"; the decoding and the
 * MAC are common/hv_webhook_mac.c, the code the client library verifies
 * with. During a secret rotation (prev_secret set, prev_until_ms not yet
 * reached) the old secret's signature follows, space-separated, so
 * receivers still holding the old secret keep verifying.
 *
 * Room webhooks also carry Fishjam's own header when --room-webhook-secret
 * is set: x-fishjam-signature-256 = "sha256=" + hex HMAC-SHA256 of the raw
 * body alone, keyed with the secret's bytes as given (no whsec_ decoding:
 * the SDK's verifyWebhookSignature keys createHmac with the string).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "deliver/endpoints.h"
#include "hv_webhook_mac.h"

#define SECRET_PREFIX HV_WEBHOOK_SECRET_PREFIX
#define MAX_KEY 128   /* bytes of a decoded secret we accept */
#define NEW_KEY 32    /* bytes of the secrets we make */

int hv_webhook_signature(const char *secret, const char *msg_id, int64_t ts, const void *body,
                         size_t len, char out[64])
{
    out[0] = '\0';
    size_t plen = strlen(SECRET_PREFIX);
    if (!secret || strncmp(secret, SECRET_PREFIX, plen) != 0)
        return -1; /* a receiver may drop the prefix; herald's secrets carry it */
    uint8_t key[MAX_KEY];
    int klen = hv_webhook_key_decode(secret + plen, key, sizeof(key));
    if (klen < 0)
        return -1;
    char mac[HV_WEBHOOK_MAC_B64 + 1];
    int rc = hv_webhook_mac(key, (size_t)klen, msg_id, ts, body, len, mac);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc == 0)
        snprintf(out, 64, "v1,%s", mac);
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

int hv_webhook_fishjam_signature(const char *secret, const void *body, size_t len,
                                 char out[HV_FISHJAM_SIG_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    out[0] = '\0';
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret), body, len, md, sizeof(md),
                   &mdlen) || mdlen != 32)
        return -1;
    memcpy(out, "sha256=", 7);
    for (size_t i = 0; i < mdlen; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[7 + 2 * mdlen] = '\0';
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
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
