/* SPDX-License-Identifier: MIT */
/* webhook_policy.h — the pure rules of webhook retries.
 *
 * Kept apart from the engine so they can be unit-tested without a loop or
 * a network: parsing the retry schedule, what an answer means, and how
 * long to wait before the next attempt (jitter, Retry-After), plus the
 * two byte-level helpers of request and response bodies.
 */
#ifndef HV_WEBHOOK_POLICY_H
#define HV_WEBHOOK_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define HV_WH_MAX_RETRIES 64

/* Parses a schedule such as "5,300,1800" or "0.2,0.5" (seconds, decimals
 * allowed, spaces ignored): out_ms[k] is the wait before retry k+1.
 * An empty schedule means no retries. Returns the number of entries, or -1
 * for a bad entry (negative, not a number, over a year) or more than max. */
int hv_wh_schedule_parse(const char *s, int64_t *out_ms, int max);

/* What one attempt's outcome means. */
enum { HV_WH_OK = 0, HV_WH_GONE = 1, HV_WH_RETRY = 2 };
/* transport_ok: the transfer completed (curl said CURLE_OK); status: the
 * HTTP status (0 if none). 2xx is OK, 410 is GONE, anything else RETRY. */
int hv_wh_classify(int transport_ok, long status);

/* The wait after a failed attempt whose scheduled delay is base_ms.
 * Without Retry-After (retry_after_ms < 0) the delay gets ±20 % jitter:
 * r in [0,1) picks the point (0.5 = exactly base_ms). With Retry-After the
 * server's wish is honoured, clamped to [base_ms, 2 × base_ms]. */
int64_t hv_wh_retry_delay(int64_t base_ms, int64_t retry_after_ms, double r);

/* The Jellyfish-era JSON body {"notification":"<protobuf bytes>"}. When
 * the encoded ServerMessage is valid UTF-8 (the usual case) the string is
 * that text, so receivers get the bytes back with bytes(notification,
 * "utf-8") as the Python SDK does; otherwise each byte becomes one code
 * point (0-255). Returns malloc'd text (length in *out_len), or NULL. */
char *hv_wh_jellyfish_body(const uint8_t *pb, size_t len, size_t *out_len);

/* Batches of a room created with batchWebhookNotifications (webhooks.c):
 * one request carries at most this many notifications, and adds no more
 * once their encoded size reaches HV_WH_BATCH_BYTES (a single larger one
 * still goes, alone). */
#define HV_WH_BATCH_MAX 100
#define HV_WH_BATCH_BYTES (256 * 1024)

/* The body ServerMessage{notification_batch = 33: NotificationBatch{
 * repeated ServerMessage notifications = 1}} of n encoded ServerMessages
 * pb[i] (len[i] bytes each), in that order: each is copied as it is
 * (concatenated length-delimited members are a valid repeated field).
 * Returns malloc'd bytes (length in *out_len). */
uint8_t *hv_wh_batch_body(const uint8_t *const *pb, const size_t *len, size_t n, size_t *out_len);

/* Makes a response excerpt presentable as JSON text, in place: a
 * multi-byte character cut by the size cap is dropped, and if the rest is
 * still not UTF-8, bytes >= 0x80 become '?'; NUL bytes become '?' too.
 * Returns the new length (buf[len] is set to NUL; buf holds len+1). */
size_t hv_wh_excerpt_clean(char *buf, size_t len);

#endif
