/* SPDX-License-Identifier: MIT */
/* metrics.h — server-wide counters for /metrics and MetricsReport.
 *
 * Counters written by one thread only are relaxed atomics (no contention,
 * but safe to read from the metrics thread). Per-loop figures live in each
 * loop and are summed when read.
 */
#ifndef HV_METRICS_H
#define HV_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

enum { HV_CONN_KIND_HTTP, HV_CONN_KIND_WS_SERVER, HV_CONN_KIND_WS_PEER, HV_CONN_KIND_SSE, HV_CONN_KINDS };

#define HV_COMMIT_BUCKETS 12 /* commit latency histogram, upper bounds in metrics.c */

typedef struct hv_metrics {
    atomic_uint_fast64_t events_appended;
    atomic_uint_fast64_t publish_requests;
    atomic_uint_fast64_t publish_errors;
    atomic_uint_fast64_t commits;
    atomic_uint_fast64_t commit_latency_us_sum;
    atomic_uint_fast64_t commit_buckets[HV_COMMIT_BUCKETS + 1];
    atomic_uint_fast64_t http_requests;
    atomic_uint_fast64_t http_errors;
    atomic_uint_fast64_t slow_consumers;
    atomic_uint_fast64_t refused[4];          /* new connections refused, by HV_ADMIT_* (limits.h) */
    atomic_uint_fast64_t auth_timeouts;       /* WebSockets closed by --auth-timeout */
    atomic_uint_fast64_t read_pauses;         /* reading stopped for unsent output (--outbound-pause) */
    atomic_uint_fast64_t send_timeouts;       /* closed: paused with no write progress (--send-timeout) */
    atomic_uint_fast64_t events_pruned;
    atomic_uint_fast64_t janus_events;        /* Janus events taken */
    atomic_uint_fast64_t janus_duplicates;    /* resent Janus events dropped */
    atomic_uint_fast64_t janus_invalid;       /* Janus bodies refused with 400 */
    atomic_uint_fast64_t janus_auth_failures; /* Janus requests refused with 401 */
    atomic_uint_fast64_t auth_failures;       /* credentials refused, every path (core/authfail.h) */
    atomic_uint_fast64_t auth_backoff;        /* attempts refused unchecked: too many failures (429 / 1013) */
    /* Unknown peer tokens with a shared store (hub/catchup.c): */
    atomic_uint_fast64_t token_catchups;        /* catch-ups run for them */
    atomic_uint_fast64_t token_lookups_refused; /* refused past --max-token-lookups */
    atomic_int_fast64_t token_lookups_waiting;  /* gauge: waiting for a catch-up now */
    /* Idempotent publish (issue 18 item 1), every path (HTTP, the publishing socket): */
    atomic_uint_fast64_t idem_replays;   /* keys answered as replays (nothing stored) */
    atomic_uint_fast64_t idem_conflicts; /* publishes refused 409: a key used for other content */
} hv_metrics;

extern const double hv_commit_bucket_bounds_ms[HV_COMMIT_BUCKETS];

/* Records one group commit that took us microseconds. */
void hv_metrics_commit(hv_metrics *m, uint64_t us, uint64_t nevents);

#endif
