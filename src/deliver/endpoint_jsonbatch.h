/* SPDX-License-Identifier: MIT */
/* endpoint_jsonbatch.h — the "batch" setting of a JSON webhook endpoint
 * (issue 18 item 6) in API bodies, views and stored records: up to
 * max_events events per request, waiting at most max_wait_ms for them,
 * optionally gzip. Kept apart from endpoint_json.c, which calls these.
 * The delivery side is webhook_jsonbatch.c. */
#ifndef HV_ENDPOINT_JSONBATCH_H
#define HV_ENDPOINT_JSONBATCH_H

#include <jansson.h>

#include "deliver/endpoints.h"

/* The API body key read here (for endpoint_json.c's list of known keys). */
#define HV_ENDPOINT_JSONBATCH_KEYS "batch"

/* Bounds (docs/webhooks.md, docs/security.md). */
#define HV_JB_MAX_EVENTS 1000          /* max_events: 1..1000 */
#define HV_JB_DEFAULT_EVENTS 100
#define HV_JB_MAX_WAIT_MS 60000        /* max_wait_ms: 0..60000 */
#define HV_JB_DEFAULT_WAIT_MS 1000
#define HV_JB_MAX_BYTES (1024 * 1024)  /* one request's JSON body (a larger lone event goes alone) */

typedef struct hv_endpoint_jsonbatch {
    int changed;
    int max_events, max_wait_ms, gzip; /* max_events 0 = off */
} hv_endpoint_jsonbatch;

/* Validates body's "batch" (absent: unchanged; null: off; an object with
 * max_events, max_wait_ms, gzip, each defaulted when absent) for ep, whose
 * format after this change is format: 0, or -1 with err naming the field.
 * Batching needs format "json". */
int hv_endpoint_jsonbatch_parse(const hv_endpoint *ep, const json_t *body, int format, hv_endpoint_jsonbatch *b,
                                char *err, size_t errlen);
void hv_endpoint_jsonbatch_set(hv_endpoint *ep, const hv_endpoint_jsonbatch *b);
void hv_endpoint_jsonbatch_clone(hv_endpoint *to, const hv_endpoint *from);
/* "batch": null or {"max_events", "max_wait_ms", "gzip"}. */
void hv_endpoint_jsonbatch_view(const hv_endpoint *ep, json_t *obj);
/* "json_batch" in the stored record, absent when off (older records read
 * the same; "batch" there is the room batches' flag). */
void hv_endpoint_jsonbatch_record(const hv_endpoint *ep, json_t *obj);
void hv_endpoint_jsonbatch_from_record(hv_endpoint *ep, const json_t *obj);

#endif
