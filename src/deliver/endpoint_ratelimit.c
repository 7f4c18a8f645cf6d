/* SPDX-License-Identifier: MIT */
/* endpoint_ratelimit.c — an endpoint's rate_limit as JSON; see
 * endpoint_ratelimit.h. Bounds in webhook_rate.h. */
#include "deliver/endpoint_ratelimit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "deliver/webhook_rate.h"

static int bad(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s", what);
    return -1;
}

static int rate_ok(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return 0;
    double x = json_number_value(v);
    if (!isfinite(x) || x < HV_WH_RATE_MIN || x > HV_WH_RATE_MAX)
        return 0;
    *out = x;
    return 1;
}

#define RATE_MSG "rate_limit.per_second must be a number from 0.01 to 100000 (deliveries per second)"
#define BURST_MSG "rate_limit.burst must be an integer from 1 to 10000"

int hv_endpoint_ratelimit_parse(const json_t *body, hv_endpoint_rate_change *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    const json_t *v = json_object_get(body, "rate_limit");
    if (!v)
        return 0;
    c->changed = 1;
    if (json_is_null(v))
        return 0;
    if (json_is_number(v)) {
        if (!rate_ok(v, &c->per_second))
            return bad(err, errlen, "rate_limit must be a number from 0.01 to 100000 (deliveries per second), "
                                    "an object {\"per_second\", \"burst\"} or null");
        c->burst = hv_wh_rate_default_burst(c->per_second);
        return 0;
    }
    if (!json_is_object(v))
        return bad(err, errlen, "rate_limit must be a number of deliveries per second, an object "
                                "{\"per_second\", \"burst\"} or null");
    const char *key;
    const json_t *x;
    json_object_foreach((json_t *)v, key, x) {
        if (strcmp(key, "per_second") != 0 && strcmp(key, "burst") != 0)
            return snprintf(err, errlen, "rate_limit has an unknown field \"%.64s\"", key), -1;
    }
    if (!rate_ok(json_object_get(v, "per_second"), &c->per_second))
        return bad(err, errlen, RATE_MSG);
    const json_t *b = json_object_get(v, "burst");
    if (!b || json_is_null(b)) {
        c->burst = hv_wh_rate_default_burst(c->per_second);
    } else {
        if (!json_is_integer(b) || json_integer_value(b) < 1 || json_integer_value(b) > HV_WH_BURST_MAX)
            return bad(err, errlen, BURST_MSG);
        c->burst = (int)json_integer_value(b);
    }
    return 0;
}

void hv_endpoint_ratelimit_set(hv_endpoint *ep, const hv_endpoint_rate_change *c)
{
    if (!c->changed)
        return;
    ep->rate_per_second = c->per_second;
    ep->rate_burst = c->per_second > 0 ? c->burst : 0;
}

void hv_endpoint_ratelimit_clone(hv_endpoint *to, const hv_endpoint *from)
{
    to->rate_per_second = from->rate_per_second;
    to->rate_burst = from->rate_burst;
}

static json_t *rate_json(const hv_endpoint *ep)
{
    return json_pack("{s:f,s:i}", "per_second", ep->rate_per_second, "burst", ep->rate_burst);
}

void hv_endpoint_ratelimit_view(const hv_endpoint *ep, json_t *obj)
{
    json_object_set_new(obj, "rate_limit", ep->rate_per_second > 0 ? rate_json(ep) : json_null());
}

void hv_endpoint_ratelimit_record(const hv_endpoint *ep, json_t *obj)
{
    if (ep->rate_per_second > 0)
        json_object_set_new(obj, "rate_limit", rate_json(ep));
}

void hv_endpoint_ratelimit_from_record(hv_endpoint *ep, const json_t *obj)
{
    hv_endpoint_rate_change c;
    char err[8];
    json_t *wrap = json_object();
    const json_t *v = json_object_get(obj, "rate_limit");
    if (v)
        json_object_set(wrap, "rate_limit", (json_t *)v);
    if (hv_endpoint_ratelimit_parse(wrap, &c, err, sizeof(err)) == 0) /* a bad record: no limit */
        hv_endpoint_ratelimit_set(ep, &c);
    json_decref(wrap);
}
