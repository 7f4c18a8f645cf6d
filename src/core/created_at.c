/* SPDX-License-Identifier: MIT */
/* created_at.c — the seeds' created_at as an order key; see created_at.h.
 *
 * ISO 8601 strings are read by herald's one parser (core/clock.c).
 */
#include "core/created_at.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"

int hv_created_iso_key(const char *s, double *key)
{
    double ms;
    if (hv_time_parse_iso8601(s, &ms) != 0 || ms < 0)
        return -1; /* not a date and time, or before 1970: keys are >= 0 */
    *key = ms;
    return 0;
}

int hv_created_key(const json_t *v, double *key)
{
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0)
            return -1;
        *key = (double)x;
        return 0;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!(x >= 0))
            return -1;
        *key = x;
        return 0;
    }
    return json_is_string(v) ? hv_created_iso_key(json_string_value(v), key) : -1;
}

void hv_created_stamp(hv_event **evs, size_t n, int64_t now_ms, int64_t *last)
{
    static const size_t slot = sizeof(HV_CREATED_SLOT) - 1;
    static const size_t name = sizeof("\"created_at\":") - 1;
    for (size_t i = 0; i < n; i++) {
        hv_event *ev = evs[i];
        if (ev->created_set != HV_CREATED_STAMP)
            continue;
        if (ev->data_len < slot || memcmp(ev->data + ev->data_len - slot, HV_CREATED_SLOT, slot) != 0) {
            ev->created_set = HV_CREATED_NONE; /* not made by access.c: leave it alone */
            continue;
        }
        int64_t ms = now_ms > *last ? now_ms : *last + 1;
        *last = ms;
        char *at = ev->data + ev->data_len - slot + name;
        int len = snprintf(at, slot - name + 1, "%lld}", (long long)ms);
        ev->data_len = (size_t)(at - ev->data) + (size_t)len;
        ev->created_key = (double)ms;
        ev->created_set = HV_CREATED_KEY;
    }
}
