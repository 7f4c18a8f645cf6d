/* SPDX-License-Identifier: MIT */
/* sink_config.h — what one configured sink is: its module, filter,
 * batching and retry settings, read from the "sinks" array of herald's
 * config file (--config herald.json).
 *
 *   {"sinks": [{"name": "audit", "module": "file",
 *               "events": ["room.*", "peer.*"],      (or "sessions,core", or 257)
 *               "batch": {"max_events": 100, "max_delay_ms": 200},
 *               "retry": {"initial_ms": 500, "max_ms": 60000},
 *               "filter": {"data.amount": {"$gte": 100}},  (event_filter.h)
 *               "crash_after_s": 300, "start": "end",
 *               "config": {"path": "/var/log/herald.jsonl"}}]}
 *
 * Parsing is strict (unknown keys, bad values and duplicate names are
 * errors with a message naming the sink and the key), because a typo in a
 * sink's settings should stop herald at start rather than silently forward
 * the wrong events.
 */
#ifndef HV_SINK_CONFIG_H
#define HV_SINK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct hv_sink_spec {
    char *name;            /* unique, [A-Za-z0-9_.-]{1,64} */
    char *module;          /* a module name ("file") or a path to a .so */
    char **globs;          /* event-type globs; NULL/0: every event */
    size_t nglobs;
    int match_none;        /* "events": "none" or 0 */
    size_t max_events;     /* batch size cap (1..10000, default 100) */
    uint64_t max_delay_ms; /* longest an event waits for its batch to fill (default 0) */
    uint64_t retry_initial_ms;   /* first back-off (default 1000) */
    uint64_t retry_max_ms;       /* back-off cap (default 60000) */
    double crash_after_s;  /* failing this long marks it crashed (default 300) */
    int start_at_beginning; /* a new sink starts at the oldest retained event */
    char *config_json;     /* the module's own settings, compact JSON ("{}") */
    struct hv_filter *filter; /* "filter": a payload filter (event_filter.h), NULL: none */
} hv_sink_spec;

/* Parses the "sinks" value (a JSON array) of the config file, given as
 * JSON text. On success returns 0 and a malloc'd array in *out (free with
 * hv_sink_specs_free). On error returns -1 with a message in err. */
int hv_sink_specs_parse(const char *json_text, hv_sink_spec **out, size_t *n, char *err, size_t errlen);
void hv_sink_specs_free(hv_sink_spec *specs, size_t n);

/* 1 when the sink wants an event of this type. */
int hv_sink_spec_wants(const hv_sink_spec *s, const char *type);

/* Turns a Janus-style event mask ("sessions,handles,core", "all", "none",
 * or the number of type bits) into event-type globs such as
 * "janus.session". Returns the count written to out (at most 9), 0 for
 * "none", or -1 for an unknown label. */
int hv_sink_janus_mask_globs(const char *labels, long long bits, const char **out);

#endif
