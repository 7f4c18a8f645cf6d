/* SPDX-License-Identifier: MIT */
/* sinks_internal.h — the sink host's structures, shared by sinks.c (the
 * threads, batches and leases) and sink_status.c (what GET /v1/sinks and
 * /metrics show). Not for use outside src/deliver/.
 */
#ifndef HV_SINKS_INTERNAL_H
#define HV_SINKS_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "deliver/sink_config.h"
#include "deliver/sink_module.h"
#include "net/server.h"

typedef struct sink {
    hv_sinks *set;
    hv_sink_spec *spec;
    hv_sink_module mod;
    herald_sink_host host;
    void *inst;
    int loaded;                 /* module loaded; a thread runs */
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t delay, backoff;
    uv_mutex_t mu;              /* guards the fields down to "stop" */
    const char *state;          /* starting running standby retrying crashed failed stopped */
    char *last_error;
    int completed, complete_status;
    char *complete_error;
    int stop;
    atomic_uint_fast64_t committed;  /* newest committed event id */
    atomic_uint_fast64_t pos;        /* every event up to here is handled */
    atomic_uint_fast64_t batches, events, failures;
    atomic_uint attempt;
    /* Sink thread only. */
    hv_event **evs;             /* the batch in flight (references) */
    char **envs;
    herald_sink_event *sev;
    herald_sink_batch batch;
    uint64_t scanned_through;   /* the last event the batch's page covered */
    int in_flight, backing_off, delay_due, delay_armed;
    int64_t failing_since_ms;
    int crash_reported;
    int owner;                  /* holds the lease (always, with one node) */
    int64_t owner_until_ms;     /* ... until then at least */
    uv_timer_t lease;
} sink;

struct hv_sinks {
    hv_server *srv;
    hv_sink_spec *specs;
    sink *sinks;
    size_t n;
    uv_mutex_t mu;              /* guards started (notify vs stop) */
    int started;
    char dir[1024];
    int64_t lease_ms;           /* 0: this node is alone, no lease */
};

#endif
