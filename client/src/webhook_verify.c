/* SPDX-License-Identifier: MIT */
/* webhook_verify.c — Standard Webhooks signatures on the receiving side:
 * herald_webhook_verify (headers as name/value pairs),
 * herald_webhook_verify_values (the three header values) and
 * herald_webhook_sign (the same signature, for tests and senders).
 *
 * A secret is "whsec_" + base64 (the prefix may be left out, as the
 * standardwebhooks libraries allow); the HMAC-SHA256 key is the decoded
 * bytes. The signed content is "<webhook-id>.<timestamp>.<raw body>"; the
 * decoding and the MAC are common/hv_webhook_mac.c, the code the server
 * signs with. webhook-signature is a space-separated list of "v1,<base64
 * MAC>" and any one match accepts (secret rotation). Signatures are
 * compared with CRYPTO_memcmp; the timestamp must lie within the tolerance
 * on either side of now.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "client_internal.h"
#include "hv_webhook_mac.h"

#define MAX_KEY HV_WEBHOOK_MAX_KEY  /* bytes of a decoded secret */
#define MAC_B64 HV_WEBHOOK_MAC_B64
#define DEFAULT_TOLERANCE_S 300
#define MAX_TIMESTAMP_DIGITS 15     /* far beyond any real time, no overflow */

/* Decodes secret, "whsec_" optional, into key; returns its length (> 0) or -1. */
static int decode_secret(const char *secret, uint8_t key[MAX_KEY])
{
    if (!secret)
        return -1;
    if (!strncmp(secret, HV_WEBHOOK_SECRET_PREFIX, strlen(HV_WEBHOOK_SECRET_PREFIX)))
        secret += strlen(HV_WEBHOOK_SECRET_PREFIX);
    return hv_webhook_key_decode(secret, key, MAX_KEY);
}

int herald_webhook_sign(const char *secret, const char *webhook_id, int64_t timestamp,
                        const void *body, size_t len, char *out, size_t outlen, char *errbuf,
                        size_t errlen)
{
    if (out && outlen)
        out[0] = '\0';
    if (!out || outlen < HERALD_WEBHOOK_SIGNATURE_SIZE)
        return herald__fail(HERALD_EINVAL, errbuf, errlen,
                            "the output buffer needs %d bytes", HERALD_WEBHOOK_SIGNATURE_SIZE);
    if (!webhook_id || !*webhook_id)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "a webhook id is required");
    if (timestamp < 0)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "the timestamp is negative");
    if (!body && len)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "body is NULL");
    uint8_t key[MAX_KEY];
    int klen = decode_secret(secret, key);
    if (klen < 0)
        return herald__fail(HERALD_EINVAL, errbuf, errlen,
                            "the secret is not \"whsec_\" + base64");
    char mac[MAC_B64 + 1];
    int rc = hv_webhook_mac(key, (size_t)klen, webhook_id, timestamp, body, len, mac);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc != 0)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "HMAC-SHA256 failed");
    snprintf(out, outlen, "v1,%s", mac);
    return 0;
}

/* Parses a webhook-timestamp value: decimal digits only. */
static int parse_timestamp(const char *s, int64_t *ts)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_TIMESTAMP_DIGITS)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *ts = v;
    return 0;
}

/* Does one entry of the signature list match? Entries of another version
 * (e.g. "v1a,…") never do. Constant time in the MAC. */
static int entry_matches(const char *entry, size_t len, const char expected[MAC_B64 + 1])
{
    if (len != 3 + MAC_B64 || memcmp(entry, "v1,", 3) != 0)
        return 0;
    return CRYPTO_memcmp(entry + 3, expected, MAC_B64) == 0;
}

int herald_webhook_verify_values(const char *secret, const char *webhook_id,
                                 const char *webhook_timestamp, const char *webhook_signature,
                                 const void *body, size_t len,
                                 const herald_webhook_verify_options *opts, char *errbuf,
                                 size_t errlen)
{
    int64_t tolerance = opts && opts->tolerance_s ? opts->tolerance_s : DEFAULT_TOLERANCE_S;
    if (tolerance < 0)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "the tolerance is negative");
    if (!body && len)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "body is NULL");
    uint8_t key[MAX_KEY];
    int klen = decode_secret(secret, key);
    if (klen < 0)
        return herald__fail(HERALD_EINVAL, errbuf, errlen,
                            "the secret is not \"whsec_\" + base64");
    int rc = 0;
    const char *missing = !webhook_id || !*webhook_id               ? "webhook-id"
                          : !webhook_timestamp || !*webhook_timestamp ? "webhook-timestamp"
                          : !webhook_signature || !*webhook_signature ? "webhook-signature"
                                                                      : NULL;
    int64_t ts = 0;
    int64_t now = opts && opts->now ? opts->now : (int64_t)time(NULL);
    if (missing) {
        rc = herald__fail(HERALD_EWEBHOOK_HEADER, errbuf, errlen, "missing %s header", missing);
    } else if (parse_timestamp(webhook_timestamp, &ts) != 0) {
        rc = herald__fail(HERALD_EWEBHOOK_TIMESTAMP, errbuf, errlen,
                          "webhook-timestamp is not a number of seconds: '%.40s'",
                          webhook_timestamp);
    } else if (now - ts > tolerance) {
        rc = herald__fail(HERALD_EWEBHOOK_TOO_OLD, errbuf, errlen,
                          "webhook-timestamp %" PRId64 " is %" PRId64
                          " s old (tolerance %" PRId64 " s)",
                          ts, now - ts, tolerance);
    } else if (ts - now > tolerance) {
        rc = herald__fail(HERALD_EWEBHOOK_TOO_NEW, errbuf, errlen,
                          "webhook-timestamp %" PRId64 " is %" PRId64
                          " s in the future (tolerance %" PRId64 " s)",
                          ts, ts - now, tolerance);
    }
    if (rc != 0) {
        OPENSSL_cleanse(key, sizeof(key));
        return rc;
    }
    char expected[MAC_B64 + 1];
    rc = hv_webhook_mac(key, (size_t)klen, webhook_id, ts, body, len, expected);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc != 0)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "HMAC-SHA256 failed");
    int found = 0;
    for (const char *p = webhook_signature; *p;) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        found |= n > 0 && entry_matches(p, n, expected);
        p += n;
    }
    OPENSSL_cleanse(expected, sizeof(expected));
    if (!found)
        return herald__fail(HERALD_EWEBHOOK_SIGNATURE, errbuf, errlen,
                            "no signature in webhook-signature matches (wrong secret, or "
                            "the id, timestamp or body was changed)");
    return 0;
}

/* The value of the first header named name (any case), or NULL. */
static const char *header(const herald_header *h, size_t n, const char *name)
{
    for (size_t i = 0; h && i < n; i++)
        if (h[i].name && !strcasecmp(h[i].name, name))
            return h[i].value;
    return NULL;
}

int herald_webhook_verify(const char *secret, const herald_header *headers, size_t nheaders,
                          const void *body, size_t len, const herald_webhook_verify_options *opts,
                          char *errbuf, size_t errlen)
{
    if (!headers && nheaders)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "headers is NULL");
    /* a gzip batch is signed before compression (webhook_batch.c) */
    void *plain = NULL;
    size_t plain_len = 0;
    int rc = herald_webhook_inflate(headers, nheaders, body, len, &plain, &plain_len, errbuf, errlen);
    if (rc != 0)
        return rc;
    rc = herald_webhook_verify_values(secret, header(headers, nheaders, "webhook-id"),
                                      header(headers, nheaders, "webhook-timestamp"),
                                      header(headers, nheaders, "webhook-signature"), plain ? plain : body,
                                      plain ? plain_len : len, opts, errbuf, errlen);
    free(plain);
    return rc;
}
