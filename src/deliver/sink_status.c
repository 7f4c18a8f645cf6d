/* SPDX-License-Identifier: MIT */
/* sink_status.c — what the sink host shows: the status list of GET
 * /v1/sinks and the herald_sink_* lines of /metrics (sinks.h). Read from
 * any thread: counters are atomics, the state and last error are read
 * under each sink's mutex.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "deliver/sinks.h"
#include "deliver/sinks_internal.h"

static json_t *sink_status(sink *k)
{
    uint64_t pos = atomic_load(&k->pos), committed = atomic_load(&k->committed);
    json_t *globs = json_array();
    for (size_t g = 0; g < k->spec->nglobs; g++)
        json_array_append_new(globs, json_string(k->spec->globs[g]));
    if (!k->spec->nglobs && !k->spec->match_none)
        json_array_append_new(globs, json_string("*"));
    uv_mutex_lock(&k->mu);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:s?}",
        "name", k->spec->name, "module", k->spec->module,
        "description", k->mod.table && k->mod.table->description ? k->mod.table->description : "",
        "state", k->state, "position", (json_int_t)pos, "last_event_id", (json_int_t)committed,
        "lag", (json_int_t)(committed > pos ? committed - pos : 0),
        "batches", (json_int_t)atomic_load(&k->batches), "events", (json_int_t)atomic_load(&k->events),
        "failures", (json_int_t)atomic_load(&k->failures), "attempt", (json_int_t)atomic_load(&k->attempt),
        "events_filter", globs, "last_error", k->last_error);
    uv_mutex_unlock(&k->mu);
    return o;
}

char *hv_sinks_status_json(hv_sinks *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; s && i < s->n; i++)
        json_array_append_new(arr, sink_status(&s->sinks[i]));
    json_t *root = json_pack("{s:o}", "sinks", arr);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static void append(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    *buf = hv_xrealloc(*buf, *len + (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(*buf + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
}

char *hv_sinks_metrics_text(hv_sinks *s)
{
    char *b = hv_xstrdup("");
    size_t len = 0;
    if (!s || !s->n)
        return b;
    static const char *const gauges[][2] = {
        {"herald_sink_lag_events", "Events committed that the sink has not handled yet."},
        {"herald_sink_events_total", "Events the sink's module reported handled."},
        {"herald_sink_failures_total", "Batches the sink's module reported failed."},
        {"herald_sink_up", "1 while the sink is delivering, 0 when retrying, crashed or failed."},
    };
    for (size_t g = 0; g < 4; g++) {
        append(&b, &len, "# HELP %s %s\n# TYPE %s %s\n", gauges[g][0], gauges[g][1], gauges[g][0],
               g == 1 || g == 2 ? "counter" : "gauge");
        for (size_t i = 0; i < s->n; i++) {
            sink *k = &s->sinks[i];
            uint64_t pos = atomic_load(&k->pos), committed = atomic_load(&k->committed);
            uv_mutex_lock(&k->mu);
            int up = !strcmp(k->state, "running");
            uv_mutex_unlock(&k->mu);
            unsigned long long v = g == 0 ? (committed > pos ? committed - pos : 0)
                                 : g == 1 ? atomic_load(&k->events)
                                 : g == 2 ? atomic_load(&k->failures) : (unsigned long long)up;
            append(&b, &len, "%s{sink=\"%s\"} %llu\n", gauges[g][0], k->spec->name, v);
        }
    }
    return b;
}
