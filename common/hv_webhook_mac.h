/* SPDX-License-Identifier: MIT */
/* hv_webhook_mac.h — the Standard Webhooks signature, computed in one
 * place for both sides: the server signs each delivery with it
 * (src/deliver/webhook_sign.c) and the client library checks and makes
 * signatures with it (client/src/webhook_verify.c), so the two can never
 * drift apart. Part of common/, the small folder compiled into both the
 * server and the client library (as Mosquitto builds lib/ into its broker);
 * it knows nothing of either.
 *
 * What each side keeps: the server requires the "whsec_" prefix and keys
 * of at most 128 bytes; the client lets the prefix be left out (as the
 * standardwebhooks libraries do) and takes keys up to 512 bytes. Each
 * strips the prefix and passes its own bound.
 */
#ifndef HV_WEBHOOK_MAC_H
#define HV_WEBHOOK_MAC_H

#include <stddef.h>
#include <stdint.h>

#define HV_WEBHOOK_SECRET_PREFIX "whsec_"
#define HV_WEBHOOK_MAX_KEY 512 /* the largest cap hv_webhook_key_decode takes */
#define HV_WEBHOOK_MAC_B64 44  /* base64 of an HMAC-SHA256 */

/* Decodes b64, the part of a secret after "whsec_", into key (cap bytes,
 * cap <= HV_WEBHOOK_MAX_KEY). Only the base64 alphabet and final padding
 * are accepted (no blanks, which OpenSSL's decoder would skip; missing
 * padding is restored). Returns the key's length, 1 to cap, or -1. */
int hv_webhook_key_decode(const char *b64, uint8_t *key, size_t cap);

/* out = base64 of HMAC-SHA256(key, id "." ts "." body), NUL-terminated.
 * The body is fed to OpenSSL in place, never copied. 0, or -1 when
 * OpenSSL fails. */
int hv_webhook_mac(const uint8_t *key, size_t klen, const char *id, int64_t ts, const void *body,
                   size_t len, char out[HV_WEBHOOK_MAC_B64 + 1]);

#endif
