/* SPDX-License-Identifier: MIT */
/* endpoint_json.h — webhook endpoints as JSON: validating API bodies,
 * rendering the API view, and the stored record. No locking here. */
#ifndef HV_ENDPOINT_JSON_H
#define HV_ENDPOINT_JSON_H

#include <jansson.h>

#include "deliver/endpoints.h"

hv_endpoint *hv_endpoint_alloc(void);
hv_endpoint *hv_endpoint_clone(const hv_endpoint *ep);

/* Applies an API body (create: all fields; update: the fields present) to
 * ep. Returns 0, or -1 with a message in err. Unknown keys are refused. */
int hv_endpoint_apply(hv_endpoint *ep, json_t *body, int creating, char *err, size_t errlen);

/* The API view; with_secret adds "secret". */
json_t *hv_endpoint_view(const hv_endpoint *ep, int with_secret);

char *hv_endpoint_record(const hv_endpoint *ep);
hv_endpoint *hv_endpoint_from_record(const char *rec);

const char *hv_endpoint_format_name(int format);

#endif
