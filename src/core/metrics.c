/* SPDX-License-Identifier: MIT */
/* metrics.c — commit latency histogram; see metrics.h. */
#include "core/metrics.h"

const double hv_commit_bucket_bounds_ms[HV_COMMIT_BUCKETS] = {
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000};

void hv_metrics_commit(hv_metrics *m, uint64_t us, uint64_t nevents)
{
    atomic_fetch_add_explicit(&m->commits, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->commit_latency_us_sum, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->events_appended, nevents, memory_order_relaxed);
    int b = 0;
    while (b < HV_COMMIT_BUCKETS && (double)us / 1000.0 > hv_commit_bucket_bounds_ms[b])
        b++;
    atomic_fetch_add_explicit(&m->commit_buckets[b], 1, memory_order_relaxed);
}
