/* SPDX-License-Identifier: MIT */
/* endpoint_ratelimit.h — an endpoint's "rate_limit" (issue 18 item 2) in
 * API bodies, views and stored records: {"per_second": x, "burst": n}, or
 * a bare number (per_second, with hv_wh_rate_default_burst), or null
 * (none). Kept apart from endpoint_json.c, which calls these at its ends;
 * the delivery engine enforces it (webhook_ratelimit.c). */
#ifndef HV_ENDPOINT_RATELIMIT_H
#define HV_ENDPOINT_RATELIMIT_H

#include <jansson.h>
#include <stddef.h>

#include "deliver/endpoints.h"

/* The API body key read here (for endpoint_json.c's list of known keys). */
#define HV_ENDPOINT_RATELIMIT_KEYS "rate_limit"

/* Parsed, not yet applied. */
typedef struct hv_endpoint_rate_change {
    int changed;
    double per_second; /* 0: none */
    int burst;
} hv_endpoint_rate_change;

/* Validates body's "rate_limit": 0, or -1 with err naming the field. */
int hv_endpoint_ratelimit_parse(const json_t *body, hv_endpoint_rate_change *c, char *err, size_t errlen);
void hv_endpoint_ratelimit_set(hv_endpoint *ep, const hv_endpoint_rate_change *c);
void hv_endpoint_ratelimit_clone(hv_endpoint *to, const hv_endpoint *from);
/* "rate_limit": {"per_second", "burst"} or null. */
void hv_endpoint_ratelimit_view(const hv_endpoint *ep, json_t *obj);
/* The same in a stored record, only when set (older records read as none). */
void hv_endpoint_ratelimit_record(const hv_endpoint *ep, json_t *obj);
void hv_endpoint_ratelimit_from_record(hv_endpoint *ep, const json_t *obj);

#endif
