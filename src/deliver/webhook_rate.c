/* SPDX-License-Identifier: MIT */
/* webhook_rate.c — the GCRA of an endpoint's rate limit and the
 * back-pressure pause; see webhook_rate.h. No clock of its own. */
#include "deliver/webhook_rate.h"

#include <math.h>

int hv_wh_rate_default_burst(double per_second)
{
    double b = ceil(per_second);
    return b < 1 ? 1 : b > HV_WH_BURST_MAX ? HV_WH_BURST_MAX : (int)b;
}

int64_t hv_wh_gcra_take(double *tat_ms, double per_second, int burst, int64_t now_ms)
{
    double t = 1000.0 / per_second;        /* the emission interval */
    double tau = (double)(burst - 1) * t;  /* how far ahead tat may run */
    double now = (double)now_ms;
    double tat = *tat_ms > now ? *tat_ms : now;
    if (tat - now > tau + 1e-6) {
        double wait = ceil(tat - tau - now);
        return wait < 1 ? 1 : (int64_t)wait;
    }
    *tat_ms = tat + t;
    return 0;
}

int hv_wh_is_backpressure(int transport_ok, long status, int64_t retry_after_ms)
{
    return transport_ok && (status == 429 || (status == 503 && retry_after_ms >= 0));
}

int64_t hv_wh_throttle_answer(hv_wh_throttle *t, int64_t retry_after_ms, int64_t now_ms)
{
    int64_t pause;
    if (retry_after_ms >= 0) {
        pause = retry_after_ms > HV_WH_THROTTLE_MAX_MS ? HV_WH_THROTTLE_MAX_MS : retry_after_ms;
    } else {
        pause = t->backoff_ms ? t->backoff_ms * 2 : HV_WH_BACKOFF_MIN_MS;
        if (pause > HV_WH_BACKOFF_MAX_MS)
            pause = HV_WH_BACKOFF_MAX_MS;
        t->backoff_ms = pause;
    }
    if (now_ms + pause > t->until_ms)
        t->until_ms = now_ms + pause;
    return t->until_ms;
}

void hv_wh_throttle_ok(hv_wh_throttle *t)
{
    t->backoff_ms = 0;
}
