/* SPDX-License-Identifier: MIT */
/* endpoint_filter.h — a webhook endpoint's payload filter ("filter" in
 * /v1/webhooks bodies and views; issue 18 item 5): reading it from an API
 * body, showing and storing it, and testing an event against it. The
 * language: event_filter.h and docs/webhooks.md. No locking here. */
#ifndef HV_ENDPOINT_FILTER_H
#define HV_ENDPOINT_FILTER_H

#include <jansson.h>

#include "core/xalloc.h"
#include "deliver/endpoints.h"
#include "deliver/event_filter.h"

/* A "filter" read from a body, not yet applied. */
typedef struct hv_endpoint_filter_change {
    int set;            /* the body has "filter" */
    hv_filter *filter;  /* the new one; NULL with set: remove it (null or {}) */
} hv_endpoint_filter_change;

/* Reads body's "filter"; -1 with err ("filter: …") when it does not compile. */
int hv_endpoint_filter_read(json_t *body, hv_endpoint_filter_change *ch, char *err, size_t errlen);
/* Applies a change read (takes its filter over). */
void hv_endpoint_filter_set(hv_endpoint *ep, hv_endpoint_filter_change *ch);
/* Drops a change not applied. */
void hv_endpoint_filter_discard(hv_endpoint_filter_change *ch);

/* "filter": the object, or null, into the API view. */
void hv_endpoint_filter_view(const hv_endpoint *ep, json_t *view);
/* "filter": the text, when there is one, into the stored record; and back. */
void hv_endpoint_filter_record(const hv_endpoint *ep, json_t *rec);
void hv_endpoint_filter_load(hv_endpoint *ep, json_t *rec);

/* 1 when ep wants ev (hv_endpoint_wants) and ev passes its filter; s is
 * ev's subject, shared by every endpoint tested against ev. */
int hv_endpoint_accepts(const hv_endpoint *ep, const hv_event *ev, hv_filter_subject *s);

#endif
