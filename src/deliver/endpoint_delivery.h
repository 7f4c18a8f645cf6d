/* SPDX-License-Identifier: MIT */
/* endpoint_delivery.h — the delivery controls of a webhook endpoint (issue
 * 18 items 4 and 3): its own retry schedules ("retry_schedule",
 * "retry_schedules") and its circuit breaker threshold
 * ("breaker_threshold"), in API bodies, views and stored records. Kept
 * apart from endpoint_json.c, which calls these at its ends. */
#ifndef HV_ENDPOINT_DELIVERY_H
#define HV_ENDPOINT_DELIVERY_H

#include <jansson.h>

#include "deliver/endpoints.h"
#include "deliver/webhook_schedules.h"

/* The API body keys read here (for endpoint_json.c's list of known keys). */
#define HV_ENDPOINT_DELIVERY_KEYS "retry_schedule", "retry_schedules", "breaker_threshold"

/* Parsed, not yet applied. */
typedef struct hv_endpoint_delivery {
    int sched_changed;
    hv_wh_schedules *retry;   /* owned until set */
    int threshold_changed;
    int threshold;
} hv_endpoint_delivery;

/* Validates the keys of body against ep's current values: 0, or -1 with
 * err naming the field (nothing to free then). */
int hv_endpoint_delivery_parse(const hv_endpoint *ep, const json_t *body, hv_endpoint_delivery *d, char *err,
                               size_t errlen);
/* Applies (and takes) what parse read. */
void hv_endpoint_delivery_set(hv_endpoint *ep, hv_endpoint_delivery *d);
void hv_endpoint_delivery_clone(hv_endpoint *to, const hv_endpoint *from);
void hv_endpoint_delivery_view(const hv_endpoint *ep, json_t *obj);
void hv_endpoint_delivery_record(const hv_endpoint *ep, json_t *obj);
void hv_endpoint_delivery_from_record(hv_endpoint *ep, const json_t *obj);

#endif
