/* SPDX-License-Identifier: MIT */
/* sink_example.c — the smallest sink module: one log line per event.
 *
 * A template to copy (sinks/README.md says how to build and load it): the
 * table a module exports, an instance made from the sink's "config", each
 * batch reported once with host->complete(). Each event becomes a line in
 * herald's log, with the event's own time:
 *
 *   sink demo: #3 peer.connected room r1 at 2026-12-07T08:00:00.123Z (3 seen)
 */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <herald/sink.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct example {
    const herald_sink_host *host; /* herald's side; outlives the instance */
    unsigned long long seen;      /* events handled so far */
} example;

static void *example_create(const herald_sink_host *host, const char *config_json, char *err, size_t errlen)
{
    if (strcmp(config_json, "{}") != 0) { /* a real module parses its settings here */
        snprintf(err, errlen, "the example module takes no settings");
        return NULL;
    }
    example *x = calloc(1, sizeof(*x));
    if (!x)
        snprintf(err, errlen, "out of memory");
    else
        x->host = host;
    return x;
}

static void example_deliver(void *instance, const herald_sink_batch *batch)
{
    example *x = instance;
    for (size_t i = 0; i < batch->n; i++) {
        const herald_sink_event *e = &batch->events[i];
        time_t s = (time_t)(e->time_ms / 1000);
        struct tm tm;
        char when[32] = "?";
        if (gmtime_r(&s, &tm))
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        x->host->log(x->host, HERALD_SINK_LOG_INFO, "#%llu %s room %s at %s.%03dZ (%llu seen)",
                     (unsigned long long)e->id, e->type, e->room_id ? e->room_id : "-", when,
                     (int)(e->time_ms % 1000), ++x->seen);
    }
    x->host->complete(x->host, batch, 0, NULL); /* all handled: herald moves the position past them */
}

static void example_destroy(void *instance) { free(instance); }

static const herald_sink_module example_module = {
    .struct_size = sizeof(herald_sink_module), /* the fields this module's header has */
    .abi_version = HERALD_SINK_ABI_VERSION,
    .name = "example",
    .description = "one log line per event (a template for new modules)",
    .create = example_create,
    .deliver = example_deliver,
    .destroy = example_destroy,
};

HERALD_SINK_EXPORT const herald_sink_module *herald_sink_entry(void) { return &example_module; }
