/* SPDX-License-Identifier: MIT */
/* sink_config.c — parses and checks the "sinks" array of the config file;
 * see sink_config.h.
 *
 * Each sink object is read key by key against a fixed list, so an unknown
 * or misspelt key is an error. The "events" filter is compiled to a list of
 * fnmatch() globs once, here: a Janus-style mask ("sessions,core" or its
 * number) becomes the matching janus.* types.
 */
#include "deliver/sink_config.h"

#include <fnmatch.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "deliver/event_filter.h"

/* Janus event-handler mask labels, their type bits and herald's types. */
static const struct {
    const char *label;
    unsigned bit;
    const char *type;
} janus_types[] = {
    {"sessions", 1, "janus.session"},     {"handles", 2, "janus.handle"},
    {"external", 4, "janus.external"},    {"jsep", 8, "janus.jsep"},
    {"webrtc", 16, "janus.webrtc"},       {"media", 32, "janus.media"},
    {"plugins", 64, "janus.plugin"},      {"transports", 128, "janus.transport"},
    {"core", 256, "janus.core"},
};
#define N_JANUS (sizeof(janus_types) / sizeof(janus_types[0]))

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int add_label(const char *label, size_t len, const char **out, int *n)
{
    if (len == 3 && !strncasecmp(label, "all", 3)) {
        for (size_t i = 0; i < N_JANUS; i++)
            out[i] = janus_types[i].type;
        *n = (int)N_JANUS;
        return 0;
    }
    for (size_t i = 0; i < N_JANUS; i++) {
        if (strlen(janus_types[i].label) != len || strncasecmp(janus_types[i].label, label, len))
            continue;
        for (int k = 0; k < *n; k++)
            if (out[k] == janus_types[i].type)
                return 0;
        out[(*n)++] = janus_types[i].type;
        return 0;
    }
    return -1;
}

int hv_sink_janus_mask_globs(const char *labels, long long bits, const char **out)
{
    int n = 0;
    if (!labels) {
        if (bits < 0)
            return -1;
        for (size_t i = 0; i < N_JANUS; i++)
            if ((unsigned long long)bits & janus_types[i].bit)
                out[n++] = janus_types[i].type;
        return n;
    }
    if (!strcasecmp(labels, "none"))
        return 0;
    for (const char *p = labels; *p;) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, " ,");
        if (len && add_label(p, len, out, &n) != 0)
            return -1;
        p += len;
    }
    return n;
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (; *s; s++)
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
            *s != '_' && *s != '.' && *s != '-')
            return 0;
    return 1;
}

static void set_globs(hv_sink_spec *s, const char **globs, size_t n)
{
    s->globs = hv_xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        s->globs[i] = hv_xstrdup(globs[i]);
    s->nglobs = n;
    s->match_none = n == 0;
}

/* "events": an array of globs, a Janus label list, or a Janus bit mask. */
static int parse_events(hv_sink_spec *s, json_t *v, char *err, size_t errlen)
{
    const char *globs[N_JANUS];
    if (json_is_string(v) || json_is_integer(v)) {
        int n = json_is_string(v) ? hv_sink_janus_mask_globs(json_string_value(v), 0, globs)
                                  : hv_sink_janus_mask_globs(NULL, json_integer_value(v), globs);
        if (n < 0)
            return fail(err, errlen, "sink '%s': \"events\" is not a Janus mask (labels: sessions, "
                        "handles, external, jsep, webrtc, media, plugins, transports, core, all, none)", s->name);
        set_globs(s, globs, (size_t)n);
        return 0;
    }
    if (!json_is_array(v))
        return fail(err, errlen, "sink '%s': \"events\" must be an array of globs, a Janus mask string or number", s->name);
    size_t n = json_array_size(v);
    s->globs = hv_xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        json_t *g = json_array_get(v, i);
        if (!json_is_string(g) || !json_string_length(g) || json_string_length(g) > 128)
            return fail(err, errlen, "sink '%s': \"events\" items must be non-empty strings (globs such as \"peer.*\")", s->name);
        s->globs[s->nglobs++] = hv_xstrdup(json_string_value(g));
    }
    s->match_none = n == 0;
    return 0;
}

static int get_uint(json_t *v, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    uint64_t x = (uint64_t)json_integer_value(v);
    if (x < min || x > max)
        return -1;
    *out = x;
    return 0;
}

static int parse_batch(hv_sink_spec *s, json_t *v, char *err, size_t errlen)
{
    const char *k;
    json_t *x;
    if (!json_is_object(v))
        return fail(err, errlen, "sink '%s': \"batch\" must be an object", s->name);
    json_object_foreach(v, k, x) {
        uint64_t u;
        if (!strcmp(k, "max_events") && get_uint(x, 1, 10000, &u) == 0)
            s->max_events = (size_t)u;
        else if (!strcmp(k, "max_delay_ms") && get_uint(x, 0, 3600000, &u) == 0)
            s->max_delay_ms = u;
        else
            return fail(err, errlen, "sink '%s': bad \"batch\" key or value \"%s\" (max_events 1-10000, "
                        "max_delay_ms 0-3600000)", s->name, k);
    }
    return 0;
}

static int parse_retry(hv_sink_spec *s, json_t *v, char *err, size_t errlen)
{
    const char *k;
    json_t *x;
    if (!json_is_object(v))
        return fail(err, errlen, "sink '%s': \"retry\" must be an object", s->name);
    json_object_foreach(v, k, x) {
        uint64_t u;
        if (!strcmp(k, "initial_ms") && get_uint(x, 1, 86400000, &u) == 0)
            s->retry_initial_ms = u;
        else if (!strcmp(k, "max_ms") && get_uint(x, 1, 86400000, &u) == 0)
            s->retry_max_ms = u;
        else
            return fail(err, errlen, "sink '%s': bad \"retry\" key or value \"%s\" (initial_ms, max_ms: "
                        "1-86400000)", s->name, k);
    }
    if (s->retry_max_ms < s->retry_initial_ms)
        s->retry_max_ms = s->retry_initial_ms;
    return 0;
}

static int parse_key(hv_sink_spec *s, const char *k, json_t *v, char *err, size_t errlen)
{
    if (!strcmp(k, "name") || !strcmp(k, "module"))
        return 0; /* read first, by parse_one */
    if (!strcmp(k, "events"))
        return parse_events(s, v, err, errlen);
    if (!strcmp(k, "batch"))
        return parse_batch(s, v, err, errlen);
    if (!strcmp(k, "retry"))
        return parse_retry(s, v, err, errlen);
    if (!strcmp(k, "crash_after_s")) {
        if (!json_is_number(v) || json_number_value(v) <= 0)
            return fail(err, errlen, "sink '%s': \"crash_after_s\" must be a positive number", s->name);
        s->crash_after_s = json_number_value(v);
        return 0;
    }
    if (!strcmp(k, "start")) {
        const char *w = json_string_value(v);
        if (!w || (strcmp(w, "end") && strcmp(w, "beginning")))
            return fail(err, errlen, "sink '%s': \"start\" must be \"end\" or \"beginning\"", s->name);
        s->start_at_beginning = !strcmp(w, "beginning");
        return 0;
    }
    if (!strcmp(k, "filter")) {
        char ferr[300];
        hv_filter_unref(s->filter);
        s->filter = hv_filter_compile(v, ferr, sizeof(ferr));
        if (!s->filter && ferr[0])
            return fail(err, errlen, "sink '%s': %s", s->name, ferr);
        return 0;
    }
    if (!strcmp(k, "config")) {
        if (!json_is_object(v))
            return fail(err, errlen, "sink '%s': \"config\" must be an object", s->name);
        free(s->config_json);
        s->config_json = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        return 0;
    }
    return fail(err, errlen, "sink '%s': unknown key \"%s\"", s->name, k);
}

static int parse_one(hv_sink_spec *s, json_t *o, size_t index, char *err, size_t errlen)
{
    if (!json_is_object(o))
        return fail(err, errlen, "sinks[%zu] must be an object", index);
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *module = json_string_value(json_object_get(o, "module"));
    if (!name || !valid_name(name))
        return fail(err, errlen, "sinks[%zu]: \"name\" must be 1-64 characters of [A-Za-z0-9_.-]", index);
    s->name = hv_xstrdup(name);
    if (!module || !*module || strlen(module) > 1000)
        return fail(err, errlen, "sink '%s': \"module\" (a module name or a path to a .so) is required", name);
    s->module = hv_xstrdup(module);
    s->max_events = 100;
    s->retry_initial_ms = 1000;
    s->retry_max_ms = 60000;
    s->crash_after_s = 300;
    s->config_json = hv_xstrdup("{}");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (parse_key(s, k, v, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int hv_sink_specs_parse(const char *json_text, hv_sink_spec **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    json_error_t je;
    json_t *arr = json_loads(json_text, JSON_REJECT_DUPLICATES, &je);
    if (!arr)
        return fail(err, errlen, "sinks: %s", je.text);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return fail(err, errlen, "\"sinks\" must be an array of sink objects");
    }
    size_t count = json_array_size(arr);
    hv_sink_spec *specs = hv_xcalloc(count, sizeof(*specs));
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        rc = parse_one(&specs[i], json_array_get(arr, i), i, err, errlen);
        for (size_t j = 0; j < i && rc == 0; j++)
            if (!strcmp(specs[j].name, specs[i].name))
                rc = fail(err, errlen, "two sinks are named '%s'", specs[i].name);
    }
    json_decref(arr);
    if (rc != 0) {
        hv_sink_specs_free(specs, count);
        return -1;
    }
    *out = specs;
    *n = count;
    return 0;
}

void hv_sink_specs_free(hv_sink_spec *specs, size_t n)
{
    if (!specs)
        return;
    for (size_t i = 0; i < n; i++) {
        hv_sink_spec *s = &specs[i];
        free(s->name);
        free(s->module);
        for (size_t g = 0; g < s->nglobs; g++)
            free(s->globs[g]);
        free(s->globs);
        free(s->config_json);
        hv_filter_unref(s->filter);
    }
    free(specs);
}

int hv_sink_spec_wants(const hv_sink_spec *s, const char *type)
{
    if (s->match_none)
        return 0;
    if (!s->nglobs)
        return 1;
    for (size_t i = 0; i < s->nglobs; i++)
        if (fnmatch(s->globs[i], type, 0) == 0)
            return 1;
    return 0;
}
