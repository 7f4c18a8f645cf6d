/* SPDX-License-Identifier: MIT */
/* endpoint_filter.c — a webhook endpoint's payload filter (issue 18 item
 * 5): the "filter" field of the API body, the view and the stored record,
 * and the test an event passes before a delivery row is made for it (at
 * commit, hv_endpoints_match; and in a replay). The language and its
 * bounds are event_filter.h's; this file only carries the filter with the
 * endpoint, kept apart from the other fields so that endpoint_json.c calls
 * it in one line at each place.
 */
#include "deliver/endpoint_filter.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

int hv_endpoint_filter_read(json_t *body, hv_endpoint_filter_change *ch, char *err, size_t errlen)
{
    ch->set = 0;
    ch->filter = NULL;
    json_t *v = json_object_get(body, "filter");
    if (!v)
        return 0;
    ch->set = 1;
    if (json_is_null(v)) /* null (or {}) removes the filter */
        return 0;
    ch->filter = hv_filter_compile(v, err, errlen);
    return ch->filter || !err[0] ? 0 : -1;
}

void hv_endpoint_filter_set(hv_endpoint *ep, hv_endpoint_filter_change *ch)
{
    if (!ch->set)
        return;
    hv_filter_unref(ep->filter);
    ep->filter = ch->filter;
    ch->filter = NULL;
}

void hv_endpoint_filter_discard(hv_endpoint_filter_change *ch)
{
    hv_filter_unref(ch->filter);
    ch->filter = NULL;
}

void hv_endpoint_filter_view(const hv_endpoint *ep, json_t *view)
{
    json_t *f = ep->filter ? json_loads(hv_filter_text(ep->filter), 0, NULL) : NULL;
    json_object_set_new(view, "filter", f ? f : json_null());
}

void hv_endpoint_filter_record(const hv_endpoint *ep, json_t *rec)
{
    if (ep->filter) /* absent = none: older records read the same */
        json_object_set_new(rec, "filter", json_string(hv_filter_text(ep->filter)));
}

void hv_endpoint_filter_load(hv_endpoint *ep, json_t *rec)
{
    const char *text = json_string_value(json_object_get(rec, "filter"));
    if (!text)
        return;
    char err[300];
    ep->filter = hv_filter_compile_text(text, strlen(text), err, sizeof(err));
    if (ep->filter || !err[0])
        return;
    /* Only a record of a later, laxer herald gets here. Delivering to the
     * endpoint everything its filter was meant to hold back would be
     * worse than delivering nothing: it is disabled, saying why. */
    hv_error("webhooks: endpoint %s: the stored %s; endpoint disabled", ep->id, err);
    ep->enabled = 0;
    free(ep->disabled_reason);
    ep->disabled_reason = hv_xstrdup("the stored filter is not valid");
}

int hv_endpoint_accepts(const hv_endpoint *ep, const hv_event *ev, hv_filter_subject *s)
{
    return hv_endpoint_wants(ep, ev) && hv_filter_match(ep->filter, s);
}
