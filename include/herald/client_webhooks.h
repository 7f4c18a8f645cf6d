/* SPDX-License-Identifier: MIT */
/* herald/client_webhooks.h — part 7 of the herald client library:
 * verifying a received webhook request and managing webhook endpoints.
 *
 * Included by herald/client.h (which defines HERALD_EXTERN and the error
 * codes this part uses); include that header, not this one.
 */
#ifndef HERALD_CLIENT_WEBHOOKS_H
#define HERALD_CLIENT_WEBHOOKS_H

#ifndef HERALD_CLIENT_H
#error "include <herald/client.h>, not <herald/client_webhooks.h>"
#endif

/* ------------------------------------------------------------------ */
/* 7. Webhooks: verifying requests, managing endpoints                  */
/* ------------------------------------------------------------------ */

/* herald signs every webhook request the Standard Webhooks way: headers
 * webhook-id, webhook-timestamp (seconds since the epoch) and
 * webhook-signature, a space-separated list of "v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<raw body>">" keyed with the endpoint's secret (two
 * entries while a secret is being rotated). A secret is "whsec_" + base64
 * of the key bytes; the prefix may be left out. The functions below make
 * no network call and are safe from any thread. */

/* One HTTP request header as a receiver got it. */
typedef struct herald_header {
    const char *name;     /* matched without regard to case */
    const char *value;
} herald_header;

typedef struct herald_webhook_verify_options {
    int64_t tolerance_s;  /* accepted distance of webhook-timestamp from now,
                           * in the past and in the future; 0: 300 (5 min) */
    int64_t now;          /* "now" in seconds since the epoch; 0: time(NULL) */
} herald_webhook_verify_options;

/* The size of the buffer herald_webhook_sign needs ("v1," + 44 + NUL). */
#define HERALD_WEBHOOK_SIGNATURE_SIZE 48

/* herald_webhook_verify — checks that a received webhook request comes
 * from the holder of secret and is recent. headers are the request's
 * nheaders headers (the first "webhook-id", "webhook-timestamp" and
 * "webhook-signature", in any case, are used; others are ignored); body is
 * the raw body exactly as received (len bytes, any content: JSON or
 * protobuf; a body with "Content-Encoding: gzip" among the headers, a
 * batch, is inflated first, as herald signs it before compressing).
 * opts may be NULL for the defaults. Returns 0 when one v1 signature of
 * webhook-signature matches (compared in constant time) and the timestamp
 * is within the tolerance; otherwise, with errbuf saying why (and
 * HERALD_EPROTO for a gzip body that does not inflate):
 *   HERALD_EINVAL              secret is not "whsec_" + base64 (or prefix-less
 *                              base64), or a bad argument
 *   HERALD_EWEBHOOK_HEADER     a webhook-* header is missing or empty
 *   HERALD_EWEBHOOK_TIMESTAMP  webhook-timestamp is not decimal seconds
 *   HERALD_EWEBHOOK_TOO_OLD    the timestamp is older than now - tolerance
 *   HERALD_EWEBHOOK_TOO_NEW    the timestamp is later than now + tolerance
 *   HERALD_EWEBHOOK_SIGNATURE  no signature matches (wrong secret, or the
 *                              id, timestamp or body was altered)
 * Deduplicate deliveries by webhook-id: retries and replays keep it. */
HERALD_EXTERN int herald_webhook_verify(const char *secret, const herald_header *headers,
                                        size_t nheaders, const void *body, size_t len,
                                        const herald_webhook_verify_options *opts,
                                        char *errbuf, size_t errlen);

/* herald_webhook_verify_values — the same with the three header values
 * given directly (NULL counts as missing), for servers that hand headers
 * over one by one. */
HERALD_EXTERN int herald_webhook_verify_values(const char *secret, const char *webhook_id,
                                               const char *webhook_timestamp,
                                               const char *webhook_signature, const void *body,
                                               size_t len,
                                               const herald_webhook_verify_options *opts,
                                               char *errbuf, size_t errlen);

/* herald_webhook_sign — writes the webhook-signature value herald would
 * send for this message, "v1,<base64>", into out (outlen at least
 * HERALD_WEBHOOK_SIGNATURE_SIZE). For tests and for senders of
 * compatible webhooks. Returns 0, or HERALD_EINVAL for a bad secret,
 * empty id, negative timestamp or short buffer. */
HERALD_EXTERN int herald_webhook_sign(const char *secret, const char *webhook_id,
                                      int64_t timestamp, const void *body, size_t len,
                                      char *out, size_t outlen, char *errbuf, size_t errlen);

/* Webhook endpoints (/v1/webhooks…, server token). Like part 4, each call
 * is synchronous, percent-encodes the ids in the path, and on a 4xx/5xx
 * returns HERALD_EHTTP with the server's message in errbuf (e.g. "Webhook
 * ep_x does not exist (HTTP 404)", "format must be \"json\", … (HTTP
 * 400)"); status (may be NULL) gets the HTTP status, 0 when none came. On
 * success *json_out (where there is one; it may be NULL to drop the
 * answer) gets the server's whole answer as malloc'd JSON text (free()
 * it); it is set to NULL on failure. An endpoint view is {"id":"ep_…",
 * "url","format","event_types":[…],"room_ids":[…],"description",
 * "enabled","disabled_reason","room_webhook","created_at"}. */

/* What herald_webhook_create sends; NULL / zero members are left out. */
typedef struct herald_webhook_config {
    const char *url;                 /* required: http:// or https:// */
    const char *const *event_types;  /* type globs, e.g. "peer.*" (all: none) */
    size_t n_event_types;
    const char *const *room_ids;     /* only these rooms (all: none) */
    size_t n_room_ids;
    const char *format;              /* "json" (default), "protobuf",
                                      * "jellyfish-json"; checked by the server */
    const char *secret;              /* "whsec_…" of 24–64 bytes; NULL: generated */
    const char *description;
} herald_webhook_config;

/* herald_webhook_create — POST /v1/webhooks (201). *json_out gets the
 * endpoint view plus "secret", the only answer that shows it. */
HERALD_EXTERN int herald_webhook_create(const char *server, const char *token,
                                        const herald_webhook_config *cfg, char **json_out,
                                        int *status, char *errbuf, size_t errlen);

/* herald_webhook_list — GET /v1/webhooks: {"webhooks":[view,…]}. */
HERALD_EXTERN int herald_webhook_list(const char *server, const char *token, char **json_out,
                                      int *status, char *errbuf, size_t errlen);

/* herald_webhook_get — GET /v1/webhooks/{id}: the view plus "pending"
 * (deliveries not yet done). */
HERALD_EXTERN int herald_webhook_get(const char *server, const char *token, const char *id,
                                     char **json_out, int *status, char *errbuf, size_t errlen);

/* herald_webhook_update — PATCH /v1/webhooks/{id} with patch_json, an
 * object of the fields to change (those of herald_webhook_config, lists
 * as JSON arrays; "retry_schedule", "retry_schedules" and
 * "breaker_threshold" as in docs/webhooks.md, null for the server's) or
 * {"rotate_secret":true}. *json_out gets the new view,
 * with "secret" when it changed. */
HERALD_EXTERN int herald_webhook_update(const char *server, const char *token, const char *id,
                                        const char *patch_json, char **json_out, int *status,
                                        char *errbuf, size_t errlen);

/* herald_webhook_delete — DELETE /v1/webhooks/{id} (204). */
HERALD_EXTERN int herald_webhook_delete(const char *server, const char *token, const char *id,
                                        int *status, char *errbuf, size_t errlen);

/* herald_webhook_disable / herald_webhook_enable — POST
 * /v1/webhooks/{id}/disable|enable. Deliveries wait while an endpoint is
 * disabled and resume when it is enabled. *json_out gets the new view. */
HERALD_EXTERN int herald_webhook_disable(const char *server, const char *token, const char *id,
                                         char **json_out, int *status, char *errbuf,
                                         size_t errlen);
HERALD_EXTERN int herald_webhook_enable(const char *server, const char *token, const char *id,
                                        char **json_out, int *status, char *errbuf,
                                        size_t errlen);

/* herald_webhook_deliveries — GET /v1/webhooks/{id}/deliveries: every
 * delivery attempt, newest first, {"deliveries":[{"id" (attempt),
 * "delivery_id","event_id","timestamp","status_code","latency_ms",
 * "error","response","state"},…]}. limit 0: the server's default (100;
 * at most 1000); before 0: from the newest, else attempts with a smaller
 * id. */
HERALD_EXTERN int herald_webhook_deliveries(const char *server, const char *token,
                                            const char *id, unsigned limit, uint64_t before,
                                            char **json_out, int *status, char *errbuf,
                                            size_t errlen);

/* herald_webhook_replay — POST /v1/webhooks/{id}/replay: delivers again
 * the stored events the endpoint wants, those with an id above since_id,
 * or, when since is not NULL, those stored at or after since (ISO 8601
 * UTC, e.g. "2026-11-23T10:00:00Z"; since_id is then ignored). *json_out
 * gets {"replayed":n} (202). */
HERALD_EXTERN int herald_webhook_replay(const char *server, const char *token, const char *id,
                                        uint64_t since_id, const char *since, char **json_out,
                                        int *status, char *errbuf, size_t errlen);

/* herald_webhook_retry — POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry:
 * attempts that delivery (a "delivery_id" of herald_webhook_deliveries)
 * again now. *json_out gets {"delivery_id":"…","status":"queued"} (202). */
HERALD_EXTERN int herald_webhook_retry(const char *server, const char *token, const char *id,
                                       uint64_t delivery_id, char **json_out, int *status,
                                       char *errbuf, size_t errlen);

/* Payload filters (issue 18 item 5; the language: docs/webhooks.md,
 * "Payload filters"). A filter is JSON text such as
 * {"data.amount":{"$gte":100},"$or":[{"data.kind":{"$prefix":"invoice."}}]};
 * only events it matches get deliveries. The server checks it and answers
 * a bad one with 400 "filter: <what>, at <where>" (HERALD_EHTTP). New
 * functions, so herald_webhook_config keeps its size (ABI). The view of
 * an endpoint has "filter": the object, or null. */

/* herald_webhook_create_filtered — herald_webhook_create with a filter
 * (filter_json NULL: none). HERALD_EINVAL when filter_json is not JSON. */
HERALD_EXTERN int herald_webhook_create_filtered(const char *server, const char *token,
                                                 const herald_webhook_config *cfg,
                                                 const char *filter_json, char **json_out,
                                                 int *status, char *errbuf, size_t errlen);

/* herald_webhook_create_ex — herald_webhook_create with further endpoint
 * fields: extra_json is a JSON object sent with cfg's fields, e.g.
 * {"retry_schedule":[5,300,1800],"retry_schedules":{"payment.*":[1,5,30]},
 * "breaker_threshold":5,"filter":{…}} (docs/webhooks.md; the server checks
 * them and answers a bad one with 400 naming the field, HERALD_EHTTP).
 * Fields later versions of herald add go here too, so
 * herald_webhook_config keeps its size (ABI). extra_json NULL: none;
 * HERALD_EINVAL when it is not a JSON object. */
HERALD_EXTERN int herald_webhook_create_ex(const char *server, const char *token,
                                           const herald_webhook_config *cfg, const char *extra_json,
                                           char **json_out, int *status, char *errbuf,
                                           size_t errlen);

/* herald_webhook_set_filter — PATCH /v1/webhooks/{id} {"filter": …}:
 * sets or replaces the filter; filter_json NULL (or "null", or "{}")
 * removes it. *json_out gets the new view. */
HERALD_EXTERN int herald_webhook_set_filter(const char *server, const char *token,
                                            const char *id, const char *filter_json,
                                            char **json_out, int *status, char *errbuf,
                                            size_t errlen);

/* ---- batched delivery (docs/webhooks.md, "Batched delivery") ----------
 * An endpoint with "batch" gets up to max_events events per request (1 to
 * 1000), waiting at most max_wait_ms (0 to 60000) for them; the body is a
 * JSON array of the event objects, gzip-compressed when gzip is set. */

/* herald_webhook_create_batched — herald_webhook_create with "batch"
 * (max_events > 0). Other extra fields: herald_webhook_create_ex with
 * {"batch":{"max_events":…,"max_wait_ms":…,"gzip":…}}. */
HERALD_EXTERN int herald_webhook_create_batched(const char *server, const char *token,
                                                const herald_webhook_config *cfg, int max_events,
                                                int max_wait_ms, int gzip, char **json_out,
                                                int *status, char *errbuf, size_t errlen);

/* herald_webhook_set_batch — PATCH /v1/webhooks/{id} {"batch": …}:
 * max_events 0 turns batching off ("batch": null). */
HERALD_EXTERN int herald_webhook_set_batch(const char *server, const char *token, const char *id,
                                           int max_events, int max_wait_ms, int gzip,
                                           char **json_out, int *status, char *errbuf,
                                           size_t errlen);

/* The most herald_webhook_inflate gives back (16 MiB). */
#define HERALD_WEBHOOK_INFLATE_MAX (16u * 1024 * 1024)

/* herald_webhook_inflate — the body herald signed: when the headers say
 * "Content-Encoding: gzip", *out gets the inflated body (malloc'd, NUL
 * after outlen bytes; free it); otherwise *out is NULL and the body is
 * used as received. HERALD_EPROTO when it is not a whole gzip stream or
 * inflates past HERALD_WEBHOOK_INFLATE_MAX. herald_webhook_verify does
 * this itself, so it accepts gzip batches as received. */
HERALD_EXTERN int herald_webhook_inflate(const herald_header *headers, size_t nheaders,
                                         const void *body, size_t len, void **out,
                                         size_t *outlen, char *errbuf, size_t errlen);

/* herald_webhook_set_rate_limit — PATCH /v1/webhooks/{id} {"rate_limit": …}
 * (issue 18 item 2): at most per_second requests a second to the endpoint
 * (0.01 to 100000), with bursts of up to burst (1 to 10000; 0: the
 * server's default, one second's worth); per_second <= 0 removes the
 * limit. Deliveries over it wait, none is dropped (docs/webhooks.md).
 * *json_out gets the new view. */
HERALD_EXTERN int herald_webhook_set_rate_limit(const char *server, const char *token, const char *id,
                                                double per_second, int burst, char **json_out, int *status,
                                                char *errbuf, size_t errlen);

#endif /* HERALD_CLIENT_WEBHOOKS_H */
