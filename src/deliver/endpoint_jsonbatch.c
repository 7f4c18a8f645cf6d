/* SPDX-License-Identifier: MIT */
/* endpoint_jsonbatch.c — an endpoint's "batch" setting as JSON; see
 * endpoint_jsonbatch.h. Every value from a client is checked against its
 * documented bound, and a bad one is a 400 naming the field. */
#include "deliver/endpoint_jsonbatch.h"

#include <stdio.h>
#include <string.h>

/* Reads an integer member of batch within lo..hi (def when absent). */
static int read_int(const json_t *batch, const char *name, int lo, int hi, int def, int *out, char *err,
                    size_t errlen)
{
    const json_t *v = json_object_get(batch, name);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return snprintf(err, errlen, "batch.%s must be an integer from %d to %d", name, lo, hi), -1;
    *out = (int)json_integer_value(v);
    return 0;
}

int hv_endpoint_jsonbatch_parse(const hv_endpoint *ep, const json_t *body, int format, hv_endpoint_jsonbatch *b,
                                char *err, size_t errlen)
{
    *b = (hv_endpoint_jsonbatch){.max_events = ep->jb_max_events, .max_wait_ms = ep->jb_max_wait_ms,
                                 .gzip = ep->jb_gzip};
    const json_t *v = json_object_get(body, "batch");
    b->changed = v != NULL;
    if (v && json_is_null(v)) {
        b->max_events = b->max_wait_ms = b->gzip = 0;
        return 0;
    }
    if (v) {
        if (!json_is_object(v))
            return snprintf(err, errlen,
                            "batch must be null or an object {\"max_events\", \"max_wait_ms\", \"gzip\"}"),
                   -1;
        const char *key;
        json_t *m;
        json_object_foreach((json_t *)v, key, m) {
            if (strcmp(key, "max_events") && strcmp(key, "max_wait_ms") && strcmp(key, "gzip"))
                return snprintf(err, errlen, "batch has an unknown field \"%.64s\"", key), -1;
        }
        if (read_int(v, "max_events", 1, HV_JB_MAX_EVENTS, HV_JB_DEFAULT_EVENTS, &b->max_events, err, errlen) ||
            read_int(v, "max_wait_ms", 0, HV_JB_MAX_WAIT_MS, HV_JB_DEFAULT_WAIT_MS, &b->max_wait_ms, err,
                     errlen))
            return -1;
        const json_t *g = json_object_get(v, "gzip");
        if (g && !json_is_boolean(g))
            return snprintf(err, errlen, "batch.gzip must be true or false"), -1;
        b->gzip = json_is_true(g);
    }
    if (b->max_events && (format != HV_WH_JSON || ep->room_webhook))
        return snprintf(err, errlen, "batch needs an endpoint of format \"json\""), -1;
    return 0;
}

void hv_endpoint_jsonbatch_set(hv_endpoint *ep, const hv_endpoint_jsonbatch *b)
{
    if (!b->changed)
        return;
    ep->jb_max_events = b->max_events;
    ep->jb_max_wait_ms = b->max_wait_ms;
    ep->jb_gzip = b->gzip;
}

void hv_endpoint_jsonbatch_clone(hv_endpoint *to, const hv_endpoint *from)
{
    to->jb_max_events = from->jb_max_events;
    to->jb_max_wait_ms = from->jb_max_wait_ms;
    to->jb_gzip = from->jb_gzip;
}

static json_t *settings(const hv_endpoint *ep)
{
    return json_pack("{s:i,s:i,s:b}", "max_events", ep->jb_max_events, "max_wait_ms", ep->jb_max_wait_ms, "gzip",
                     ep->jb_gzip);
}

void hv_endpoint_jsonbatch_view(const hv_endpoint *ep, json_t *obj)
{
    json_object_set_new(obj, "batch", ep->jb_max_events ? settings(ep) : json_null());
}

void hv_endpoint_jsonbatch_record(const hv_endpoint *ep, json_t *obj)
{
    if (ep->jb_max_events)
        json_object_set_new(obj, "json_batch", settings(ep));
}

void hv_endpoint_jsonbatch_from_record(hv_endpoint *ep, const json_t *obj)
{
    const json_t *b = json_object_get(obj, "json_batch");
    json_int_t n = json_integer_value(json_object_get(b, "max_events"));
    json_int_t t = json_integer_value(json_object_get(b, "max_wait_ms"));
    if (!json_is_object(b) || n < 1 || n > HV_JB_MAX_EVENTS || t < 0 || t > HV_JB_MAX_WAIT_MS ||
        ep->format != HV_WH_JSON || ep->room_webhook) {
        ep->jb_max_events = ep->jb_max_wait_ms = ep->jb_gzip = 0;
        return;
    }
    ep->jb_max_events = (int)n;
    ep->jb_max_wait_ms = (int)t;
    ep->jb_gzip = json_is_true(json_object_get(b, "gzip"));
}
