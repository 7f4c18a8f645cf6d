/* SPDX-License-Identifier: MIT */
/* webhook_rate.h — an endpoint's rate limit and the receiver's
 * back-pressure (issue 18 item 2), as pure rules with an explicit clock so
 * the unit test drives them with whatever time it wants.
 *
 * The limit is a GCRA (the "generic cell rate algorithm", a token bucket
 * kept as one number): each request moves a theoretical arrival time (tat)
 * on by 1/per_second; a request may start while tat is at most
 * (burst - 1)/per_second ahead of now. Over any window of t seconds at
 * most burst + per_second * t requests start. The same formula runs in
 * Redis (store/redis_rate.c) when several nodes share the endpoint.
 *
 * Back-pressure: a 429 (or a 503 with Retry-After) pauses the endpoint
 * until Retry-After (clamped to HV_WH_THROTTLE_MAX_MS) or, without one, for
 * an endpoint backoff of 1 s doubling up to 60 s that a success resets.
 */
#ifndef HV_WEBHOOK_RATE_H
#define HV_WEBHOOK_RATE_H

#include <stdint.h>

#define HV_WH_RATE_MIN 0.01           /* rate_limit.per_second bounds */
#define HV_WH_RATE_MAX 100000.0
#define HV_WH_BURST_MAX 10000         /* rate_limit.burst: 1 to this */
#define HV_WH_THROTTLE_MAX_MS 3600000 /* the longest pause a Retry-After gets */
#define HV_WH_BACKOFF_MIN_MS 1000     /* a 429 without Retry-After: first pause */
#define HV_WH_BACKOFF_MAX_MS 60000    /* ... doubling up to this */

/* The burst of a rate_limit given as a bare number: one second's worth
 * (per_second rounded up), at least 1, at most HV_WH_BURST_MAX. */
int hv_wh_rate_default_burst(double per_second);

/* Takes one request from the bucket (*tat_ms: its state, 0 = fresh) at
 * now: 0 when it may start (tat moves on), else the milliseconds to wait
 * (>= 1; tat unchanged). */
int64_t hv_wh_gcra_take(double *tat_ms, double per_second, int burst, int64_t now_ms);

/* An endpoint's back-pressure state. */
typedef struct hv_wh_throttle {
    int64_t until_ms;   /* paused until then (0: not paused) */
    int64_t backoff_ms; /* the last pause without Retry-After (0: none since the last success) */
} hv_wh_throttle;

/* Whether an answer is back-pressure: 429, or 503 with a Retry-After
 * (retry_after_ms >= 0; -1: none). Other statuses keep their old meaning. */
int hv_wh_is_backpressure(int transport_ok, long status, int64_t retry_after_ms);
/* A back-pressure answer at now: pauses t and returns until when. */
int64_t hv_wh_throttle_answer(hv_wh_throttle *t, int64_t retry_after_ms, int64_t now_ms);
/* A delivered request: the backoff starts again from its minimum. */
void hv_wh_throttle_ok(hv_wh_throttle *t);

#endif
