/* SPDX-License-Identifier: MIT */
/* webhook_schedules.c — an endpoint's own retry schedules, per endpoint and
 * per event type (issue 18 item 4); see webhook_schedules.h. Every bound
 * is checked here, before anything is kept, so a bad body changes nothing
 * and its 400 names the field ("retry_schedules[\"payment.*\"][2] ..."). */
#include "deliver/webhook_schedules.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/xalloc.h"
#include "deliver/webhook_policy.h"

static int step_ok(double s)
{
    return isfinite(s) && s >= 0 && s <= HV_WH_EP_MAX_STEP_S;
}

int hv_wh_sched_parse_json(const json_t *v, const char *name, hv_wh_sched *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (json_is_string(v)) {
        int64_t ms[HV_WH_EP_MAX_STEPS];
        int n = hv_wh_schedule_parse(json_string_value(v), ms, HV_WH_EP_MAX_STEPS);
        for (int i = 0; i < n; i++)
            if (!step_ok((double)ms[i] / 1000.0))
                n = -1;
        if (n < 0)
            return snprintf(err, errlen,
                            "%s must be at most %d comma-separated waits in seconds, each from 0 to %d", name,
                            HV_WH_EP_MAX_STEPS, HV_WH_EP_MAX_STEP_S),
                   -1;
        out->n = n;
        memcpy(out->ms, ms, (size_t)n * sizeof(ms[0]));
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > HV_WH_EP_MAX_STEPS)
        return snprintf(err, errlen, "%s must be an array of at most %d waits in seconds (or a string \"5,300\")",
                        name, HV_WH_EP_MAX_STEPS),
               -1;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_number(x) || !step_ok(json_number_value(x)))
            return snprintf(err, errlen, "%s[%zu] must be a number of seconds from 0 to %d", name, i,
                            HV_WH_EP_MAX_STEP_S),
                   -1;
        out->ms[i] = (int64_t)llround(json_number_value(x) * 1000.0);
    }
    out->n = (int)json_array_size(v);
    return 0;
}

static int glob_ok(const char *s)
{
    if (!*s || strlen(s) > HV_WH_EP_GLOB_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-' ||
              *s == '*' || *s == '?'))
            return 0;
    return 1;
}

/* "retry_schedules": {glob: schedule, ...} into s->rules (jansson keeps
 * the object's order, which is the order globs are tried in). */
static int parse_rules(const json_t *v, hv_wh_schedules *s, char *err, size_t errlen)
{
    if (!json_is_object(v) || json_object_size(v) > HV_WH_EP_MAX_RULES)
        return snprintf(err, errlen, "retry_schedules must be an object of at most %d event type globs",
                        HV_WH_EP_MAX_RULES),
               -1;
    const char *glob;
    json_t *x;
    s->nrules = 0;
    json_object_foreach((json_t *)v, glob, x) {
        if (!glob_ok(glob))
            return snprintf(err, errlen, "retry_schedules: \"%.64s\" is not an event type glob", glob), -1;
        char name[HV_WH_EP_GLOB_MAX + 32];
        snprintf(name, sizeof(name), "retry_schedules[\"%s\"]", glob);
        hv_wh_sched_rule *r = &s->rules[s->nrules++];
        snprintf(r->glob, sizeof(r->glob), "%s", glob);
        if (hv_wh_sched_parse_json(x, name, &r->s, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int hv_wh_schedules_from_body(const json_t *body, const hv_wh_schedules *cur, hv_wh_schedules **out,
                              int *changed, char *err, size_t errlen)
{
    const json_t *def = json_object_get(body, "retry_schedule");
    const json_t *rules = json_object_get(body, "retry_schedules");
    *changed = def || rules;
    *out = NULL;
    hv_wh_schedules s;
    memset(&s, 0, sizeof(s));
    if (cur)
        s = *cur;
    if (def && json_is_null(def)) {
        s.has_default = 0;
    } else if (def) {
        if (hv_wh_sched_parse_json(def, "retry_schedule", &s.def, err, errlen) != 0)
            return -1;
        s.has_default = 1;
    }
    if (rules && json_is_null(rules))
        s.nrules = 0;
    else if (rules && parse_rules(rules, &s, err, errlen) != 0)
        return -1;
    if (s.has_default || s.nrules) {
        *out = hv_xmalloc(sizeof(**out));
        **out = s;
    }
    return 0;
}

const hv_wh_sched *hv_wh_schedules_pick(const hv_wh_schedules *s, const char *type)
{
    if (!s)
        return NULL;
    for (size_t i = 0; type && i < s->nrules; i++)
        if (fnmatch(s->rules[i].glob, type, 0) == 0)
            return &s->rules[i].s;
    return s->has_default ? &s->def : NULL;
}

hv_wh_schedules *hv_wh_schedules_clone(const hv_wh_schedules *s)
{
    if (!s)
        return NULL;
    hv_wh_schedules *c = hv_xmalloc(sizeof(*c));
    *c = *s;
    return c;
}

/* seconds: whole numbers as integers, so [5, 300] reads back as written */
static json_t *sched_json(const hv_wh_sched *s, int seconds)
{
    json_t *a = json_array();
    for (int i = 0; i < s->n; i++)
        json_array_append_new(a, !seconds ? json_integer((json_int_t)s->ms[i])
                                 : s->ms[i] % 1000 ? json_real((double)s->ms[i] / 1000.0)
                                                   : json_integer((json_int_t)(s->ms[i] / 1000)));
    return a;
}

static json_t *rules_json(const hv_wh_schedules *s, int seconds)
{
    json_t *o = json_object();
    for (size_t i = 0; i < s->nrules; i++)
        json_object_set_new(o, s->rules[i].glob, sched_json(&s->rules[i].s, seconds));
    return o;
}

void hv_wh_schedules_view(const hv_wh_schedules *s, json_t *obj)
{
    json_object_set_new(obj, "retry_schedule", s && s->has_default ? sched_json(&s->def, 1) : json_null());
    json_object_set_new(obj, "retry_schedules", s && s->nrules ? rules_json(s, 1) : json_null());
}

void hv_wh_schedules_record(const hv_wh_schedules *s, json_t *obj)
{
    if (s && s->has_default)
        json_object_set_new(obj, "retry_schedule_ms", sched_json(&s->def, 0));
    if (s && s->nrules)
        json_object_set_new(obj, "retry_schedules_ms", rules_json(s, 0));
}

/* A stored schedule (ms): read back within the same bounds (a record is
 * only ever written from a validated body; a damaged one is cut short). */
static void sched_from_record(const json_t *a, hv_wh_sched *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < json_array_size(a) && out->n < HV_WH_EP_MAX_STEPS; i++) {
        json_int_t ms = json_integer_value(json_array_get(a, i));
        out->ms[out->n++] = ms < 0 ? 0 : ms > HV_WH_EP_MAX_STEP_S * 1000LL ? HV_WH_EP_MAX_STEP_S * 1000LL : ms;
    }
}

hv_wh_schedules *hv_wh_schedules_from_record(const json_t *obj)
{
    const json_t *def = json_object_get(obj, "retry_schedule_ms");
    const json_t *rules = json_object_get(obj, "retry_schedules_ms");
    if (!json_is_array(def) && !json_is_object(rules))
        return NULL;
    hv_wh_schedules *s = hv_xcalloc(1, sizeof(*s));
    if (json_is_array(def)) {
        s->has_default = 1;
        sched_from_record(def, &s->def);
    }
    const char *glob;
    json_t *x;
    json_object_foreach((json_t *)rules, glob, x) {
        if (s->nrules == HV_WH_EP_MAX_RULES || !glob_ok(glob))
            continue;
        hv_wh_sched_rule *r = &s->rules[s->nrules++];
        snprintf(r->glob, sizeof(r->glob), "%s", glob);
        sched_from_record(x, &r->s);
    }
    return s;
}
