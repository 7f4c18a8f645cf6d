/* SPDX-License-Identifier: MIT */
/* webhook_outcome.c — what the delivery engine does when a request ends:
 * the endpoint's side (its failure streak, 410 Gone, disabling it after
 * --webhook-disable-after, the circuit breaker's verdict, a 429's
 * back-pressure), each row's side (delivered, failed for good, or its next
 * attempt), and the attempts recorded in the outbox. Engine thread only;
 * split from webhook_queue.c, whose queues and heap it uses through
 * webhook_internal.h.
 *
 * Attempts are recorded in batches (flushed after FLUSH_MS or BATCH_MAX
 * attempts, and always before the outbox is read back), so a burst of
 * outcomes costs one outbox transaction, not one each.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/webhook_internal.h"
#include "net/server.h"
#include "store/store.h"

#define BATCH_MAX 256          /* attempts per outbox transaction */
#define FLUSH_MS 20

static double rand01(hv_webhooks *w)
{
    uint64_t x = w->rng; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->rng = x;
    return (double)(x >> 11) / (double)(1ULL << 53);
}

/* Another node holds row_id now (it took this node over while it seemed
 * dead, or a manual retry there moved the row): forget it here. */
static void let_go(hv_webhooks *w, uint64_t row_id)
{
    char key[24];
    snprintf(key, sizeof(key), "%" PRIu64, row_id);
    wh_item *it = hv_map_get(&w->rows, key);
    if (!it || it->in_flight)
        return; /* finished already, or its attempt will be refused too */
    hv_warn("webhooks: delivery %" PRIu64 " is now another node's; let go here", row_id);
    hv__webhook_forget_item(w, it, 0);
}

void hv__webhook_flush(hv_webhooks *w)
{
    if (!w->nbatch)
        return;
    hv_attempt *a = hv_xmalloc(w->nbatch * sizeof(*a));
    for (size_t i = 0; i < w->nbatch; i++)
        a[i] = w->batch[i].a;
    if (hv_outbox_record(w->ob, a, w->nbatch) != 0)
        hv_error("webhooks: could not record %zu delivery attempts", w->nbatch);
    else
        for (size_t i = 0; i < w->nbatch; i++)
            if (a[i].lost)
                let_go(w, a[i].outbox_id);
    free(a);
    for (size_t i = 0; i < w->nbatch; i++) {
        free(w->batch[i].endpoint_id);
        free(w->batch[i].error);
        free(w->batch[i].response);
    }
    w->nbatch = 0;
    if (!w->closing)
        uv_timer_stop(&w->flush_timer);
}

static void on_flush_timer(uv_timer_t *t)
{
    hv__webhook_flush(t->data);
}

static void record(hv_webhooks *w, const wh_item *it, const wh_result *r, const char *error, int state,
                   int64_t next_at_ms)
{
    if (w->nbatch == w->capbatch) {
        w->capbatch = w->capbatch ? w->capbatch * 2 : 64;
        w->batch = hv_xrealloc(w->batch, w->capbatch * sizeof(*w->batch));
    }
    wh_rec *rec = &w->batch[w->nbatch++];
    rec->endpoint_id = hv_xstrdup(it->ep->id);
    rec->error = error ? hv_xstrdup(error) : NULL;
    rec->response = r && r->response ? hv_xstrdup(r->response) : NULL;
    rec->a = (hv_attempt){
        .outbox_id = it->row_id,
        .endpoint_id = rec->endpoint_id,
        .event_id = it->event_id,
        .time_ms = r ? r->time_ms : hv_now_ms(),
        .http_status = r ? (int)r->status : 0,
        .latency_ms = r ? r->latency_ms : 0,
        .error = rec->error,
        .response = rec->response,
        .status = state,
        .attempts = it->attempts,
        .next_at_ms = next_at_ms,
    };
    if (w->nbatch >= BATCH_MAX)
        hv__webhook_flush(w);
    else if (!uv_is_active((uv_handle_t *)&w->flush_timer))
        uv_timer_start(&w->flush_timer, on_flush_timer, FLUSH_MS, 0);
}

void hv__webhook_record(hv_webhooks *w, const wh_item *it, const wh_result *r, const char *error, int state,
                        int64_t next_at_ms)
{
    record(w, it, r, error, state, next_at_ms);
}

/* Fails a row for good without a request (it could not be built). */
void hv__webhook_give_up(hv_webhooks *w, wh_item *it, const char *why)
{
    it->attempts++;
    record(w, it, NULL, why, HV_OUTBOX_FAILED, 0);
    atomic_fetch_add(&w->gave_up, 1);
    hv_warn("webhooks: delivery %" PRIu64 " (event %" PRIu64 ") to %s failed for good: %s", it->row_id,
            it->event_id, it->ep->id, why);
    hv__webhook_forget_item(w, it, 1);
}

static int is_final_event(const hv_event *ev)
{
    return ev && (!strcmp(ev->type, "room.deleted") || !strcmp(ev->type, "room.crashed"));
}

/* The endpoint's side of an outcome: its failure streak, 410 Gone, and
 * disabling it after --webhook-disable-after of failures. Once per
 * request, however many rows it carried. */
static void judge_endpoint(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap, const wh_result *r, int outcome,
                           int64_t now)
{
    if (outcome == HV_WH_OK) {
        ep->failing_since_ms = 0;
        hv__webhook_breaker_judge(w, ep, snap, 1, 0, now);
        return;
    }
    int disabled = outcome == HV_WH_GONE;
    if (!ep->failing_since_ms)
        ep->failing_since_ms = r->time_ms;
    if (outcome == HV_WH_GONE) {
        hv_endpoints_disable(w->srv->endpoints, ep->id, "410 Gone");
        ep->failing_since_ms = 0;
    }
    if (ep->failing_since_ms && w->disable_after_ms > 0 && now - ep->failing_since_ms >= w->disable_after_ms) {
        char iso[32], reason[64];
        hv_time_iso8601(ep->failing_since_ms, iso);
        snprintf(reason, sizeof(reason), "failing since %s", iso);
        hv_endpoints_disable(w->srv->endpoints, ep->id, reason);
        ep->failing_since_ms = 0;
        disabled = 1;
    }
    hv__webhook_breaker_judge(w, ep, snap, 0, disabled, now);
}

/* One row's side of an outcome: delivered, failed for good, or scheduled
 * for its next attempt. jitter: the one draw of the request, so the rows of
 * a batch with the same attempt count stay together for the retry. */
static void row_done(hv_webhooks *w, const hv_endpoint *snap, wh_item *it, const wh_result *r, int outcome,
                     const char *error, double jitter, int64_t now)
{
    wh_ep *ep = it->ep;
    it->in_flight = 0;
    w->ninflight--;
    it->attempts++;
    int state = HV_OUTBOX_PENDING;
    int64_t next_at = 0;
    if (outcome == HV_WH_OK) {
        state = HV_OUTBOX_DELIVERED;
        atomic_fetch_add(&w->delivered, 1);
    } else {
        atomic_fetch_add(&w->failed_attempts, 1);
        int64_t base = 0;
        if (outcome == HV_WH_GONE)
            state = HV_OUTBOX_FAILED;
        else if (hv__webhook_breaker_holds(ep)) /* paused: waits for the breaker, never runs out */
            next_at = ep->brk.next_probe_ms > now ? ep->brk.next_probe_ms : now;
        else if (!hv__webhook_retry_base(w, snap, it, &base)) /* its schedule (item 4) ran out */
            state = HV_OUTBOX_FAILED;
        else
            next_at = now + hv_wh_retry_delay(base, r->retry_after_ms, jitter);
        if (state == HV_OUTBOX_FAILED) {
            atomic_fetch_add(&w->gave_up, 1);
            hv_warn("webhooks: delivery %" PRIu64 " (event %" PRIu64 ") to %s failed for good after %d "
                    "attempts: %s", it->row_id, it->event_id, ep->id, it->attempts, error);
        } else {
            hv_debug("webhooks: attempt %d of delivery %" PRIu64 " to %s failed (%s), next in %" PRId64
                     " ms", it->attempts, it->row_id, ep->id, error, next_at - now);
        }
    }
    record(w, it, r, outcome == HV_WH_OK ? NULL : error, state, next_at);
    hv__webhook_mark_dirty(w, ep);
    if (state == HV_OUTBOX_PENDING) {
        hv__webhook_park_event(w, it, next_at - now);
        hv__webhook_schedule(w, it, next_at);
        return;
    }
    if (is_final_event(it->ev))
        ep->final_seen = 1;
    hv__webhook_forget_item(w, it, 1);
}

void hv__webhook_park_event(hv_webhooks *w, wh_item *it, int64_t wait_ms)
{
    if (wait_ms > w->park_after_ms) {
        hv_event_unref(it->ev);
        it->ev = NULL;
    }
}

void hv__webhook_attempt_done(hv_webhooks *w, wh_item **items, size_t n, const wh_result *r)
{
    wh_ep *ep = items[0]->ep;
    ep->in_flight--;
    int64_t now = hv_now_ms();
    int outcome = hv_wh_classify(r->transport_ok, r->status);
    char httperr[32];
    const char *error = r->error;
    if (!error && outcome != HV_WH_OK) {
        snprintf(httperr, sizeof(httperr), "HTTP %ld", r->status);
        error = httperr;
    }
    if (hv__webhook_rl_answer(w, ep, r, outcome, now)) { /* 429: back-pressure, no failure (webhook_ratelimit.c) */
        hv__webhook_rl_requeue(w, items, n, r, error);
        return;
    }
    hv_endpoint *snap = hv_endpoints_get(w->srv->endpoints, ep->id);
    judge_endpoint(w, ep, snap, r, outcome, now);
    double jitter = outcome == HV_WH_OK ? 0.5 : rand01(w);
    for (size_t i = 0; i < n; i++)
        row_done(w, snap, items[i], r, outcome, error, jitter, now);
    hv_endpoint_unref(snap);
}
