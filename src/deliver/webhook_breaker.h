/* SPDX-License-Identifier: MIT */
/* webhook_breaker.h — the circuit breaker of a webhook endpoint (issue 18
 * item 3), as a pure state machine with an explicit clock.
 *
 * closed: deliveries go as usual; each failed request adds to a streak,
 * each success ends it. At `threshold` failures in a row it opens: nothing
 * is sent; at next_probe_ms one request (a probe) may go, which makes it
 * half_open. A probe that succeeds closes it; one that fails opens it
 * again with the probe interval doubled (from probe_min_ms up to
 * probe_max_ms). Deliveries are never dropped by it: they wait. The engine
 * (webhook_breaker_engine.c) keeps one per endpoint.
 */
#ifndef HV_WEBHOOK_BREAKER_H
#define HV_WEBHOOK_BREAKER_H

#include <stdint.h>

enum { HV_BRK_CLOSED = 0, HV_BRK_OPEN = 1, HV_BRK_HALF_OPEN = 2 };

#define HV_BRK_THRESHOLD_MAX 10000 /* breaker_threshold of an endpoint */

typedef struct hv_breaker_cfg {
    int threshold;          /* failures in a row that open it; 0 = never */
    int64_t probe_min_ms;   /* first wait before a probe */
    int64_t probe_max_ms;   /* the doubling stops here */
} hv_breaker_cfg;

typedef struct hv_breaker {
    int state;              /* HV_BRK_* */
    int failures;           /* failed requests in a row */
    int64_t interval_ms;    /* the current wait between probes */
    int64_t next_probe_ms;  /* when open: the earliest probe */
    int64_t opened_ms;      /* when it last opened */
} hv_breaker;

/* What a result did to the breaker. */
enum { HV_BRK_SAME = 0, HV_BRK_OPENED = 1, HV_BRK_REOPENED = 2, HV_BRK_CLOSED_AGAIN = 3 };

/* A request ended (ok: delivered) at now. Returns HV_BRK_OPENED when it
 * just opened (from closed), HV_BRK_REOPENED after a failed probe,
 * HV_BRK_CLOSED_AGAIN when a success closed it, else HV_BRK_SAME. */
int hv_breaker_result(hv_breaker *b, const hv_breaker_cfg *c, int ok, int64_t now);

/* Whether a request may start at now with in_flight requests of the
 * endpoint under way: closed: 1; open, the probe time reached and nothing
 * in flight: 2 (it is the probe; the breaker is half_open now); else 0. */
int hv_breaker_may_send(hv_breaker *b, int64_t now, int in_flight);

/* Forgets everything (the endpoint was disabled). */
void hv_breaker_reset(hv_breaker *b);

const char *hv_breaker_state_name(int state);

#endif
