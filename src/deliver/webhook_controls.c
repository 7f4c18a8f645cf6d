/* SPDX-License-Identifier: MIT */
/* webhook_controls.c — the delivery engine's side of an endpoint's own
 * delivery controls (issue 18): its retry schedules (item 4) and its
 * circuit breaker (item 3). Engine thread, except the published breaker
 * states (brk_pub, under brk_mu) that the API and /metrics read.
 *
 * The breaker (webhook_breaker.c decides): after the endpoint's
 * breaker_threshold (or --webhook-breaker-threshold) failed requests in a
 * row, its deliveries are held: every pending row of it waits on its ready
 * queue in row order (rows waiting for a retry are taken out of the retry
 * heap), none runs out of retries, and one request, the probe (the first
 * row), goes at growing intervals (--webhook-breaker-probe-min doubling up
 * to --webhook-breaker-probe-max; one engine timer for the earliest). The
 * first success closes it and the queue drains in order. Opening and
 * closing are herald's own events (herald.endpoint_paused,
 * herald.endpoint_resumed), committed like herald.endpoint_disabled. The
 * state is this node's (each node delivers its own rows).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/webhook_internal.h"
#include "deliver/webhook_schedules.h"
#include "net/server.h"

/* ---- retry schedules ----------------------------------------------------- */

int hv__webhook_retry_base(const hv_webhooks *w, const hv_endpoint *snap, const wh_item *it, int64_t *base_ms)
{
    const hv_wh_sched *s = snap ? hv_wh_schedules_pick(snap->retry, it->ev ? it->ev->type : NULL) : NULL;
    int n = s ? s->n : w->nsched;
    if (it->attempts < 1 || it->attempts > n)
        return 0;
    *base_ms = s ? s->ms[it->attempts - 1] : w->sched[it->attempts - 1];
    return 1;
}

/* ---- the breaker's published state -------------------------------------- */

static void publish(hv_webhooks *w, const wh_ep *ep)
{
    uv_mutex_lock(&w->brk_mu);
    hv_breaker *b = hv_map_get(&w->brk_pub, ep->id);
    if (ep->brk.state == HV_BRK_CLOSED && ep->brk.failures == 0) {
        free(hv_map_del(&w->brk_pub, ep->id));
    } else {
        if (!b) {
            b = hv_xmalloc(sizeof(*b));
            hv_map_put(&w->brk_pub, ep->id, b);
        }
        *b = ep->brk;
    }
    uv_mutex_unlock(&w->brk_mu);
}

void hv__webhook_breaker_forget(hv_webhooks *w, wh_ep *ep)
{
    hv_breaker_reset(&ep->brk);
    publish(w, ep);
    hv__webhook_rl_forget(w, ep); /* and its rate state (webhook_ratelimit.c) */
}

void hv_webhooks_breaker_view(hv_webhooks *w, const char *id, json_t *obj)
{
    hv_breaker b = {0};
    if (w) {
        uv_mutex_lock(&w->brk_mu);
        hv_breaker *p = hv_map_get(&w->brk_pub, id);
        if (p)
            b = *p;
        uv_mutex_unlock(&w->brk_mu);
    }
    char when[32];
    if (b.state != HV_BRK_CLOSED)
        hv_time_iso8601(b.next_probe_ms, when);
    json_object_set_new(obj, "breaker",
                        json_pack("{s:s,s:i,s:o}", "state", hv_breaker_state_name(b.state), "consecutive_failures",
                                  b.failures, "next_probe_at",
                                  b.state != HV_BRK_CLOSED ? json_string(when) : json_null()));
    hv__webhook_rl_view(w, id, obj); /* "throttled_until" (issue 18 item 2) */
}

uint64_t hv__webhooks_breakers_open(hv_webhooks *w)
{
    uint64_t n = 0;
    size_t it;
    uv_mutex_lock(&w->brk_mu);
    for (hv_map_entry *e = hv_map_first(&w->brk_pub, &it); e; e = hv_map_next(&w->brk_pub, e, &it))
        n += ((hv_breaker *)e->value)->state != HV_BRK_CLOSED;
    uv_mutex_unlock(&w->brk_mu);
    return n;
}

/* ---- holding and probing ------------------------------------------------- */

int hv__webhook_breaker_holds(const wh_ep *ep)
{
    return ep->brk.state != HV_BRK_CLOSED;
}

void hv__webhook_breaker_park(hv_webhooks *w, wh_item *it)
{
    hv_list *at = &it->ep->ready; /* before the first item with a higher row id */
    for (hv_list *l = it->ep->ready.next; l != &it->ep->ready; l = l->next)
        if (hv_container_of(l, wh_item, link)->row_id > it->row_id) {
            at = l;
            break;
        }
    hv_list_push(at, &it->link); /* push before `at` */
    hv__webhook_mark_dirty(w, it->ep);
}

static void on_breaker_timer(uv_timer_t *t);

/* The timer at the earliest probe time of an open breaker. */
static void rearm(hv_webhooks *w)
{
    if (w->closing)
        return;
    int64_t first = INT64_MAX;
    size_t it;
    for (hv_map_entry *e = hv_map_first(&w->eps, &it); e; e = hv_map_next(&w->eps, e, &it)) {
        wh_ep *ep = e->value;
        if (ep->brk.state == HV_BRK_OPEN && ep->brk.next_probe_ms < first)
            first = ep->brk.next_probe_ms;
    }
    hv__webhook_timer_at(&w->breaker_timer, on_breaker_timer, first);
}

static void on_breaker_timer(uv_timer_t *t)
{
    hv_webhooks *w = t->data;
    int64_t now = hv_now_ms();
    size_t it;
    for (hv_map_entry *e = hv_map_first(&w->eps, &it); e; e = hv_map_next(&w->eps, e, &it)) {
        wh_ep *ep = e->value;
        if (ep->brk.state == HV_BRK_OPEN && ep->brk.next_probe_ms <= now)
            hv__webhook_mark_dirty(w, ep);
    }
    hv__webhook_pump(w);
    rearm(w);
}

static void alert(hv_webhooks *w, const wh_ep *ep, const hv_endpoint *snap, int paused, int failures);

int hv__webhook_breaker_gate(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap)
{
    int threshold = snap->breaker_threshold >= 0 ? snap->breaker_threshold : w->brk_cfg.threshold;
    if (ep->brk.state != HV_BRK_CLOSED && threshold == 0) {
        /* its breaker was switched off (PATCH breaker_threshold 0) while
         * it was paused: resume now rather than at the next good probe */
        int failures = ep->brk.failures;
        hv_breaker_reset(&ep->brk);
        publish(w, ep);
        hv_info("webhooks: endpoint %s resumed: its breaker was switched off", ep->id);
        alert(w, ep, snap, 0, failures);
        return 1;
    }
    int may = hv_breaker_may_send(&ep->brk, hv_now_ms(), ep->in_flight);
    if (may == 2) {
        hv_info("webhooks: endpoint %s: probe after %d failures in a row", ep->id, ep->brk.failures);
        publish(w, ep);
    }
    return may != 0;
}

void hv__webhook_breaker_settle(hv_webhooks *w, wh_ep *ep)
{
    if (ep->brk.state != HV_BRK_HALF_OPEN || ep->in_flight > 0)
        return;
    /* the probe never started (nothing ready, or it could not be sent):
     * open again, and probe after the same interval */
    ep->brk.state = HV_BRK_OPEN;
    ep->brk.next_probe_ms = hv_now_ms() + ep->brk.interval_ms;
    publish(w, ep);
    rearm(w);
}

/* Every row of ep waiting for a retry waits for the breaker instead. */
static void hold_all(hv_webhooks *w, wh_ep *ep)
{
    size_t n = 0;
    for (size_t i = 0; i < w->nheap; i++)
        n += w->heap[i]->ep == ep;
    if (!n)
        return;
    wh_item **held = hv_xmalloc(n * sizeof(*held));
    n = 0;
    for (size_t i = 0; i < w->nheap; i++)
        if (w->heap[i]->ep == ep)
            held[n++] = w->heap[i];
    for (size_t i = 0; i < n; i++) {
        hv__webhook_unschedule(w, held[i]);
        hv__webhook_breaker_park(w, held[i]);
    }
    free(held);
}

/* herald.endpoint_paused / herald.endpoint_resumed. */
static void alert(hv_webhooks *w, const wh_ep *ep, const hv_endpoint *snap, int paused, int failures)
{
    json_t *d = json_pack("{s:s,s:i}", "endpoint_id", ep->id, "failures", failures);
    if (paused) {
        char when[32];
        hv_time_iso8601(ep->brk.next_probe_ms, when);
        json_object_set_new(d, "next_probe_at", json_string(when));
        json_object_set_new(d, "probe_interval_s", json_real((double)ep->brk.interval_ms / 1000.0));
    }
    if (snap && snap->room_webhook && snap->nrooms)
        json_object_set_new(d, "room_id", json_string(snap->rooms[0]));
    char *data = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    hv_endpoints_alert(w->srv->endpoints, paused ? "herald.endpoint_paused" : "herald.endpoint_resumed", data);
    free(data);
}

void hv__webhook_breaker_judge(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap, int ok, int disabled,
                               int64_t now)
{
    if (disabled) { /* its rows are closed now: nothing to hold */
        hv__webhook_breaker_forget(w, ep);
        return;
    }
    hv_breaker_cfg c = w->brk_cfg;
    if (snap && snap->breaker_threshold >= 0)
        c.threshold = snap->breaker_threshold;
    int failures = ep->brk.failures;
    int change = hv_breaker_result(&ep->brk, &c, ok, now);
    publish(w, ep);
    if (change == HV_BRK_OPENED) {
        hv_warn("webhooks: endpoint %s paused after %d failures in a row; probing every %" PRId64 " ms and up",
                ep->id, ep->brk.failures, ep->brk.interval_ms);
        hold_all(w, ep);
        alert(w, ep, snap, 1, ep->brk.failures);
    } else if (change == HV_BRK_CLOSED_AGAIN) {
        hv_info("webhooks: endpoint %s resumed: a probe succeeded after %d failures", ep->id, failures);
        hv__webhook_mark_dirty(w, ep);
        alert(w, ep, snap, 0, failures);
    }
    rearm(w);
}

/* ---- life ---------------------------------------------------------------- */

void hv__webhook_controls_init(hv_webhooks *w)
{
    const hv_config *cfg = &w->srv->cfg;
    w->brk_cfg.threshold = cfg->webhook_breaker_threshold;
    w->brk_cfg.probe_min_ms = (int64_t)(cfg->webhook_breaker_probe_min_s * 1000);
    w->brk_cfg.probe_max_ms = (int64_t)(cfg->webhook_breaker_probe_max_s * 1000);
    if (w->brk_cfg.probe_min_ms < 1)
        w->brk_cfg.probe_min_ms = 30000;
    if (w->brk_cfg.probe_max_ms < w->brk_cfg.probe_min_ms)
        w->brk_cfg.probe_max_ms = w->brk_cfg.probe_min_ms;
    uv_mutex_init(&w->brk_mu);
    hv_map_init(&w->brk_pub);
    uv_timer_init(&w->loop, &w->breaker_timer);
    w->breaker_timer.data = w;
    hv__webhook_rl_init(w);
}

void hv__webhook_controls_close(hv_webhooks *w)
{
    uv_close((uv_handle_t *)&w->breaker_timer, NULL);
    hv__webhook_rl_close(w);
}

void hv__webhook_controls_free(hv_webhooks *w)
{
    size_t it;
    for (hv_map_entry *e = hv_map_first(&w->brk_pub, &it); e; e = hv_map_next(&w->brk_pub, e, &it))
        free(e->value);
    hv_map_free(&w->brk_pub);
    uv_mutex_destroy(&w->brk_mu);
    hv__webhook_rl_free(w);
}
