/* SPDX-License-Identifier: MIT */
/* endpoint_delivery.c — an endpoint's retry schedules and breaker
 * threshold as JSON; see endpoint_delivery.h. */
#include "deliver/endpoint_delivery.h"

#include <stdio.h>
#include <stdlib.h>

#include "deliver/webhook_breaker.h"

int hv_endpoint_delivery_parse(const hv_endpoint *ep, const json_t *body, hv_endpoint_delivery *d, char *err,
                               size_t errlen)
{
    d->retry = NULL;
    d->threshold = ep->breaker_threshold;
    const json_t *t = json_object_get(body, "breaker_threshold");
    d->threshold_changed = t != NULL;
    if (t && json_is_null(t)) {
        d->threshold = -1;
    } else if (t) {
        if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > HV_BRK_THRESHOLD_MAX)
            return snprintf(err, errlen,
                            "breaker_threshold must be an integer from 0 (never pause) to %d, or null (the "
                            "server's --webhook-breaker-threshold)",
                            HV_BRK_THRESHOLD_MAX),
                   -1;
        d->threshold = (int)json_integer_value(t);
    }
    return hv_wh_schedules_from_body(body, ep->retry, &d->retry, &d->sched_changed, err, errlen);
}

void hv_endpoint_delivery_set(hv_endpoint *ep, hv_endpoint_delivery *d)
{
    if (d->sched_changed) {
        free(ep->retry);
        ep->retry = d->retry;
    } else {
        free(d->retry);
    }
    d->retry = NULL;
    if (d->threshold_changed)
        ep->breaker_threshold = d->threshold;
}

void hv_endpoint_delivery_clone(hv_endpoint *to, const hv_endpoint *from)
{
    to->retry = hv_wh_schedules_clone(from->retry);
    to->breaker_threshold = from->breaker_threshold;
}

void hv_endpoint_delivery_view(const hv_endpoint *ep, json_t *obj)
{
    hv_wh_schedules_view(ep->retry, obj);
    json_object_set_new(obj, "breaker_threshold",
                        ep->breaker_threshold >= 0 ? json_integer(ep->breaker_threshold) : json_null());
}

void hv_endpoint_delivery_record(const hv_endpoint *ep, json_t *obj)
{
    hv_wh_schedules_record(ep->retry, obj);
    if (ep->breaker_threshold >= 0) /* absent = the server's: older records read the same */
        json_object_set_new(obj, "breaker_threshold", json_integer(ep->breaker_threshold));
}

void hv_endpoint_delivery_from_record(hv_endpoint *ep, const json_t *obj)
{
    free(ep->retry);
    ep->retry = hv_wh_schedules_from_record(obj);
    const json_t *t = json_object_get(obj, "breaker_threshold");
    json_int_t v = json_integer_value(t);
    ep->breaker_threshold = json_is_integer(t) && v >= 0 && v <= HV_BRK_THRESHOLD_MAX ? (int)v : -1;
}
