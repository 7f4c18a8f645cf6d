/* SPDX-License-Identifier: MIT */
/* webhook_ratelimit.c — the delivery engine's side of an endpoint's rate
 * limit and of its receiver's back-pressure (issue 18 item 2). Engine
 * thread, except the published pauses (pub, under mu) and the counters.
 *
 * Every request (first attempt, retry, replay, manual retry; a batched
 * request counts once) passes hv__webhook_rl_gate where webhook_queue.c's
 * pump starts it. Refused, the endpoint's rows simply stay on its ready
 * queue in row order and the endpoint joins the waiting list; one engine
 * timer wakes it when a token is due (no busy loop, nothing dropped, no
 * attempt spent). The bucket is a GCRA (webhook_rate.h): in memory with
 * SQLite, in Redis when the store is shared so the limit holds for the
 * endpoint across every node (store/redis_rate.c).
 *
 * Back-pressure: a 429, or a 503 with Retry-After, is not a failure: the
 * attempt is recorded (the log shows it) but not counted, the breaker and
 * the five-day rule do not see it, and the endpoint pauses until
 * Retry-After (at most an hour) or for a backoff of 1 s doubling to 60 s
 * that a success resets. The pause is this node's (each node hears its own
 * answers). Ideas from Svix (a per-endpoint messages/second throttle) and
 * Convoy (a per-endpoint limit enforced in Redis); no code of theirs.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/webhook_internal.h"
#include "store/outbox.h"

#define STORE_WAIT_MS 1000  /* the shared bucket could not be read: ask again then */

struct wh_rl_engine {
    uv_timer_t timer;   /* the earliest wake_ms of the waiting list */
    hv_list waiting;    /* wh_rate.wait_link: endpoints refused by the gate */
    int shared;         /* the store keeps the buckets (Redis) */
    uv_mutex_t mu;      /* guards pub */
    hv_map pub;         /* endpoint id -> int64_t throttled until (ms), while paused */
    atomic_uint_fast64_t limited, throttled;
};

static void on_timer(uv_timer_t *t);

static void rearm(hv_webhooks *w)
{
    struct wh_rl_engine *rl = w->rl;
    if (w->closing)
        return;
    int64_t first = INT64_MAX;
    hv_list_each(l, &rl->waiting) {
        wh_ep *ep = hv_container_of(l, wh_ep, rl.wait_link);
        if (ep->rl.wake_ms < first)
            first = ep->rl.wake_ms;
    }
    hv__webhook_timer_at(&rl->timer, on_timer, first);
}

static void on_timer(uv_timer_t *t)
{
    hv_webhooks *w = t->data;
    int64_t now = hv_now_ms();
    hv_list_each(l, &w->rl->waiting) {
        wh_ep *ep = hv_container_of(l, wh_ep, rl.wait_link);
        if (ep->rl.wake_ms <= now) {
            hv_list_remove(&ep->rl.wait_link);
            hv__webhook_mark_dirty(w, ep);
        }
    }
    hv__webhook_pump(w);
    rearm(w);
}

static void publish(hv_webhooks *w, const wh_ep *ep)
{
    struct wh_rl_engine *rl = w->rl;
    uv_mutex_lock(&rl->mu);
    int64_t *p = hv_map_get(&rl->pub, ep->id);
    if (!ep->rl.thr.until_ms) {
        free(hv_map_del(&rl->pub, ep->id));
    } else {
        if (!p) {
            p = hv_xmalloc(sizeof(*p));
            hv_map_put(&rl->pub, ep->id, p);
        }
        *p = ep->rl.thr.until_ms;
    }
    uv_mutex_unlock(&rl->mu);
}

/* The milliseconds before the next request of ep may start (0: now, a
 * token taken). */
static int64_t take(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap, int64_t now)
{
    if (ep->rl.thr.until_ms > now)
        return ep->rl.thr.until_ms - now;
    if (ep->rl.thr.until_ms) { /* the pause is over */
        ep->rl.thr.until_ms = 0;
        publish(w, ep);
    }
    if (snap->rate_per_second <= 0)
        return 0;
    if (!w->rl->shared)
        return hv_wh_gcra_take(&ep->rl.tat_ms, snap->rate_per_second, snap->rate_burst, now);
    int64_t wait = 0;
    int rc = hv_outbox_rate_take(w->ob, ep->id, snap->rate_per_second, snap->rate_burst, &wait);
    if (rc < 0) {
        hv_warn("webhooks: could not read the rate limit of %s from the store; waiting", ep->id);
        return STORE_WAIT_MS;
    }
    return rc ? (wait > 0 ? wait : 1) : 0;
}

int hv__webhook_rl_gate(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap)
{
    int64_t now = hv_now_ms();
    /* refused before and not due yet: no new question (with Redis, no
     * round trip for every row that arrives meanwhile), unless the limit
     * was just removed and nothing else holds it */
    int waiting = hv_list_linked(&ep->rl.wait_link) && ep->rl.wake_ms > now &&
                  (snap->rate_per_second > 0 || ep->rl.thr.until_ms > now);
    int64_t wait = waiting ? ep->rl.wake_ms - now : take(w, ep, snap, now);
    if (wait <= 0) {
        ep->rl.counted = 0;
        hv_list_remove(&ep->rl.wait_link);
        return 1;
    }
    if (ep->brk.state == HV_BRK_HALF_OPEN && ep->in_flight == 0)
        ep->brk.state = HV_BRK_OPEN; /* the probe just granted waits too; it is granted again when we wake */
    if (!ep->rl.counted && ep->rl.thr.until_ms <= now) {
        ep->rl.counted = 1;
        atomic_fetch_add(&w->rl->limited, 1);
    }
    ep->rl.wake_ms = now + wait;
    hv_list_remove(&ep->rl.wait_link);
    hv_list_push(&w->rl->waiting, &ep->rl.wait_link);
    rearm(w);
    return 0;
}

int hv__webhook_rl_answer(hv_webhooks *w, wh_ep *ep, const wh_result *r, int outcome, int64_t now)
{
    if (outcome == HV_WH_OK)
        hv_wh_throttle_ok(&ep->rl.thr);
    if (!hv_wh_is_backpressure(r->transport_ok, r->status, r->retry_after_ms))
        return 0;
    int64_t until = hv_wh_throttle_answer(&ep->rl.thr, r->retry_after_ms, now);
    atomic_fetch_add(&w->rl->throttled, 1);
    publish(w, ep);
    hv_info("webhooks: endpoint %s answered HTTP %ld: paused for %" PRId64 " ms", ep->id, r->status, until - now);
    return 1;
}

void hv__webhook_rl_requeue(hv_webhooks *w, wh_item **items, size_t n, const wh_result *r, const char *error)
{
    for (size_t i = 0; i < n; i++) {
        wh_item *it = items[i];
        it->in_flight = 0;
        w->ninflight--;
        /* it->attempts unchanged: the pause spends no retry */
        hv__webhook_record(w, it, r, error, HV_OUTBOX_PENDING, it->ep->rl.thr.until_ms);
        hv__webhook_park_event(w, it, it->ep->rl.thr.until_ms - hv_now_ms());
        hv__webhook_breaker_park(w, it);
    }
}

int hv__webhook_rl_hot(const wh_ep *ep)
{
    int64_t now = hv_now_ms();
    return ep->rl.tat_ms > (double)now || ep->rl.thr.until_ms > now || ep->rl.thr.backoff_ms > 0;
}

void hv__webhook_rl_forget(hv_webhooks *w, wh_ep *ep)
{
    hv_list_remove(&ep->rl.wait_link);
    if (ep->rl.thr.until_ms) {
        ep->rl.thr.until_ms = 0;
        publish(w, ep);
    }
    ep->rl.thr.backoff_ms = 0;
}

void hv__webhook_rl_view(hv_webhooks *w, const char *id, json_t *obj)
{
    int64_t until = 0;
    if (w && w->rl) {
        uv_mutex_lock(&w->rl->mu);
        int64_t *p = hv_map_get(&w->rl->pub, id);
        if (p)
            until = *p;
        uv_mutex_unlock(&w->rl->mu);
    }
    char when[32];
    int paused = until > hv_now_ms();
    if (paused)
        hv_time_iso8601(until, when);
    json_object_set_new(obj, "throttled_until", paused ? json_string(when) : json_null());
}

void hv__webhook_rl_stats(hv_webhooks *w, hv_webhook_stats *out)
{
    out->rate_limited = atomic_load(&w->rl->limited);
    out->throttled = atomic_load(&w->rl->throttled);
}

void hv__webhook_rl_init(hv_webhooks *w)
{
    struct wh_rl_engine *rl = hv_xcalloc(1, sizeof(*rl));
    w->rl = rl;
    hv_list_init(&rl->waiting);
    rl->shared = w->ob && hv_outbox_rate_shared(w->ob);
    uv_mutex_init(&rl->mu);
    hv_map_init(&rl->pub);
    uv_timer_init(&w->loop, &rl->timer);
    rl->timer.data = w;
}

void hv__webhook_rl_close(hv_webhooks *w)
{
    uv_close((uv_handle_t *)&w->rl->timer, NULL);
    hv_list_init(&w->rl->waiting); /* the endpoints are freed with the queue */
}

void hv__webhook_rl_free(hv_webhooks *w)
{
    struct wh_rl_engine *rl = w->rl;
    if (!rl)
        return;
    size_t it;
    for (hv_map_entry *e = hv_map_first(&rl->pub, &it); e; e = hv_map_next(&rl->pub, e, &it))
        free(e->value);
    hv_map_free(&rl->pub);
    uv_mutex_destroy(&rl->mu);
    free(rl);
    w->rl = NULL;
}
