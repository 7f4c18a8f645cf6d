/* SPDX-License-Identifier: MIT */
/* webhook_breaker.c — the endpoint circuit breaker's state machine; see
 * webhook_breaker.h. No clock of its own: the engine passes now, the unit
 * test passes whatever it wants. */
#include "deliver/webhook_breaker.h"

#include <string.h>

static void open_at(hv_breaker *b, const hv_breaker_cfg *c, int64_t interval, int64_t now)
{
    if (interval < c->probe_min_ms)
        interval = c->probe_min_ms;
    if (interval > c->probe_max_ms)
        interval = c->probe_max_ms;
    b->state = HV_BRK_OPEN;
    b->interval_ms = interval;
    b->next_probe_ms = now + interval;
}

int hv_breaker_result(hv_breaker *b, const hv_breaker_cfg *c, int ok, int64_t now)
{
    if (ok) {
        int was = b->state;
        b->state = HV_BRK_CLOSED;
        b->failures = 0;
        b->interval_ms = 0;
        b->next_probe_ms = 0;
        return was == HV_BRK_CLOSED ? HV_BRK_SAME : HV_BRK_CLOSED_AGAIN;
    }
    if (b->failures < 1000000000)
        b->failures++;
    if (b->state == HV_BRK_HALF_OPEN) { /* the probe failed: wait twice as long */
        open_at(b, c, b->interval_ms * 2, now);
        return HV_BRK_REOPENED;
    }
    if (b->state == HV_BRK_CLOSED && c->threshold > 0 && b->failures >= c->threshold) {
        open_at(b, c, c->probe_min_ms, now);
        b->opened_ms = now;
        return HV_BRK_OPENED;
    }
    return HV_BRK_SAME; /* closed below the threshold, or a request from before it opened */
}

int hv_breaker_may_send(hv_breaker *b, int64_t now, int in_flight)
{
    if (b->state == HV_BRK_CLOSED)
        return 1;
    if (b->state == HV_BRK_OPEN && now >= b->next_probe_ms && in_flight == 0) {
        b->state = HV_BRK_HALF_OPEN;
        return 2;
    }
    return 0;
}

void hv_breaker_reset(hv_breaker *b)
{
    memset(b, 0, sizeof(*b));
}

const char *hv_breaker_state_name(int state)
{
    return state == HV_BRK_OPEN ? "open" : state == HV_BRK_HALF_OPEN ? "half_open" : "closed";
}
