/* SPDX-License-Identifier: MIT */
/* webhook_queue.c — the delivery engine's bookkeeping: per-endpoint FIFO
 * queues, the retry heap and starting requests (an attempt's outcome and
 * its record in the outbox are webhook_outcome.c's). Engine thread only;
 * see webhooks.c for the overall design and webhook_internal.h for the
 * structures.
 *
 * Every pending row in memory is a wh_item of its endpoint's wh_ep. Ready
 * items wait on the endpoint's FIFO; items waiting for a retry sit in one
 * min-heap of due times watched by one uv_timer. Changes mark endpoints
 * dirty; hv__webhook_pump then starts, for each dirty endpoint, as many requests as
 * its in-flight limit allows, looking up the endpoint's snapshot for each
 * one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/event_frames.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/webhook_internal.h"
#include "net/server.h"
#include "store/store.h"

#define KEEP_EVENTS 256        /* queued items per endpoint that keep their event */
#define STORE_RETRY_MS 1000    /* the store could not give an event: try again */
#define LOAD_AHEAD 256         /* events read at once for a queue's items */

/* ---- small helpers ------------------------------------------------------ */

static void row_key(uint64_t id, char out[24])
{
    snprintf(out, 24, "%" PRIu64, id);
}

void hv__webhook_publish_stats(hv_webhooks *w, size_t nitems, size_t ninflight)
{
    atomic_store(&w->in_flight, (int_fast64_t)ninflight);
    atomic_store(&w->queued, (int_fast64_t)(nitems - ninflight));
}

/* ---- the retry heap (min due_ms, then row id) ---------------------------- */

static int heap_less(const wh_item *a, const wh_item *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->row_id < b->row_id);
}

static void heap_set(hv_webhooks *w, size_t i, wh_item *it)
{
    w->heap[i] = it;
    it->heap_idx = i;
}

static void heap_up(hv_webhooks *w, size_t i)
{
    wh_item *it = w->heap[i];
    while (i > 0 && heap_less(it, w->heap[(i - 1) / 2])) {
        heap_set(w, i, w->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(w, i, it);
}

static void heap_down(hv_webhooks *w, size_t i)
{
    wh_item *it = w->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->nheap)
            break;
        if (c + 1 < w->nheap && heap_less(w->heap[c + 1], w->heap[c]))
            c++;
        if (!heap_less(w->heap[c], it))
            break;
        heap_set(w, i, w->heap[c]);
        i = c;
    }
    heap_set(w, i, it);
}

static void heap_push(hv_webhooks *w, wh_item *it)
{
    if (w->nheap == w->capheap) {
        w->capheap = w->capheap ? w->capheap * 2 : 64;
        w->heap = hv_xrealloc(w->heap, w->capheap * sizeof(*w->heap));
    }
    heap_set(w, w->nheap++, it);
    heap_up(w, it->heap_idx);
}

static void heap_remove(hv_webhooks *w, wh_item *it)
{
    size_t i = it->heap_idx;
    it->heap_idx = WH_NO_HEAP;
    wh_item *last = w->heap[--w->nheap];
    if (i == w->nheap)
        return;
    heap_set(w, i, last);
    heap_up(w, i);
    heap_down(w, last->heap_idx);
}

static void on_retry_timer(uv_timer_t *t);

void hv__webhook_timer_at(uv_timer_t *t, uv_timer_cb cb, int64_t at_ms)
{
    if (at_ms == INT64_MAX) {
        uv_timer_stop(t);
        return;
    }
    int64_t wait = at_ms - hv_now_ms();
    uv_timer_start(t, cb, wait > 0 ? (uint64_t)wait : 0, 0);
}

static void rearm(hv_webhooks *w)
{
    if (!w->closing)
        hv__webhook_timer_at(&w->retry_timer, on_retry_timer, w->nheap ? w->heap[0]->due_ms : INT64_MAX);
}

/* ---- endpoints and items ------------------------------------------------- */

static wh_ep *ep_get(hv_webhooks *w, const char *id)
{
    wh_ep *ep = hv_map_get(&w->eps, id);
    if (ep)
        return ep;
    ep = hv_xcalloc(1, sizeof(*ep));
    snprintf(ep->id, sizeof(ep->id), "%s", id);
    hv_list_init(&ep->ready);
    hv_list_init(&ep->dirty_link);
    hv_list_init(&ep->refill_link);
    hv_map_put(&w->eps, ep->id, ep);
    return ep;
}

static void mark_dirty(hv_webhooks *w, wh_ep *ep)
{
    if (!hv_list_linked(&ep->dirty_link))
        hv_list_push(&w->dirty, &ep->dirty_link);
}

void hv__webhook_mark_dirty(hv_webhooks *w, wh_ep *ep)
{
    mark_dirty(w, ep);
}

void hv__webhook_unschedule(hv_webhooks *w, wh_item *it)
{
    heap_remove(w, it);
    rearm(w);
}

/* Puts a (not in flight) item where it belongs for its due time. */
void hv__webhook_schedule(hv_webhooks *w, wh_item *it, int64_t due_ms)
{
    it->due_ms = due_ms;
    if (hv__webhook_breaker_holds(it->ep)) {
        hv__webhook_breaker_park(w, it); /* waits for the breaker, in row order */
    } else if (due_ms <= hv_now_ms()) {
        hv_list_push(&it->ep->ready, &it->link);
        mark_dirty(w, it->ep);
    } else {
        heap_push(w, it);
        rearm(w);
    }
}

/* Removes an item from memory (from wherever it waits). remember: the row
 * is finished in the outbox, so a late hand-over from the hub must not
 * bring it back. */
void hv__webhook_forget_item(hv_webhooks *w, wh_item *it, int remember)
{
    char key[24];
    row_key(it->row_id, key);
    hv_map_del(&w->rows, key);
    if (it->heap_idx != WH_NO_HEAP)
        heap_remove(w, it);
    hv_list_remove(&it->link);
    if (remember && !it->from_hub && it->row_id > w->hub_high)
        hv_map_put(&w->done, key, (void *)1);
    it->ep->nitems--;
    mark_dirty(w, it->ep);
    hv__webhook_window_drained(w, it->ep);
    hv_event_unref(it->ev);
    free(it);
}

/* A row already in memory: a manual retry may have brought it forward.
 * Returns 1 when known (ev released). */
static int known_item(hv_webhooks *w, const char *key, hv_event *ev, int64_t due_ms)
{
    wh_item *known = hv_map_get(&w->rows, key);
    if (!known)
        return 0;
    if (known->heap_idx != WH_NO_HEAP && due_ms < known->due_ms) {
        heap_remove(w, known);
        hv__webhook_schedule(w, known, due_ms);
        rearm(w);
    }
    hv_event_unref(ev);
    return 1;
}

static void new_item(hv_webhooks *w, wh_ep *ep, const char *key, uint64_t row_id, uint64_t event_id,
                     hv_event *ev, int attempts, int64_t due_ms, int from_hub)
{
    wh_item *it = hv_xcalloc(1, sizeof(*it));
    hv_list_init(&it->link);
    it->row_id = row_id;
    it->event_id = event_id;
    it->attempts = attempts;
    it->heap_idx = WH_NO_HEAP;
    it->from_hub = from_hub;
    it->ep = ep;
    if (ev && ep->nitems >= KEEP_EVENTS) {
        hv_event_unref(ev); /* far back in the queue: load it when its turn comes */
        ev = NULL;
    }
    it->ev = ev;
    ep->nitems++;
    hv_map_put(&w->rows, key, it);
    hv__webhook_schedule(w, it, due_ms);
}

/* A row for the engine (takes the reference to ev, which may be NULL). */
void hv__webhook_add_item(hv_webhooks *w, uint64_t row_id, const char *endpoint_id, uint64_t event_id,
                          hv_event *ev, int attempts, int64_t due_ms, int from_hub)
{
    char key[24];
    row_key(row_id, key);
    if (known_item(w, key, ev, due_ms))
        return;
    if (from_hub && hv_map_del(&w->done, key)) {
        hv_event_unref(ev); /* loaded from the outbox and finished already */
        return;
    }
    wh_ep *ep = ep_get(w, endpoint_id);
    if (hv__webhook_window_spill(w, ep, row_id)) {
        hv_event_unref(ev); /* stays in the outbox, read back in its turn */
        return;
    }
    new_item(w, ep, key, row_id, event_id, ev, attempts, due_ms, from_hub);
}

void hv__webhook_add_refilled(hv_webhooks *w, wh_ep *ep, uint64_t row_id, uint64_t event_id, hv_event *ev,
                              int attempts, int64_t due_ms)
{
    char key[24];
    row_key(row_id, key);
    if (!known_item(w, key, ev, due_ms))
        new_item(w, ep, key, row_id, event_id, ev, attempts, due_ms, 0);
}

void hv__webhook_release_off(hv_webhooks *w)
{
    size_t it;
    for (hv_map_entry *e = hv_map_first(&w->eps, &it); e; e = hv_map_next(&w->eps, e, &it)) {
        wh_ep *ep = e->value;
        hv_endpoint *snap = hv_endpoints_get(w->srv->endpoints, ep->id);
        ep->off = !snap || !snap->enabled;
        hv_endpoint_unref(snap);
    }
    size_t n = 0;
    for (size_t i = 0; i < w->nheap; i++)
        n += w->heap[i]->ep->off;
    if (!n)
        return;
    wh_item **off = hv_xmalloc(n * sizeof(*off));
    n = 0;
    for (size_t i = 0; i < w->nheap; i++)
        if (w->heap[i]->ep->off)
            off[n++] = w->heap[i];
    for (size_t i = 0; i < n; i++) {
        heap_remove(w, off[i]);
        hv_list_push(&off[i]->ep->ready, &off[i]->link);
        mark_dirty(w, off[i]->ep);
    }
    free(off);
    rearm(w);
}

/* The hub is past every id <= hub_high: forget remembered ids up to it. */
void hv__webhook_prune_done(hv_webhooks *w)
{
    if (!w->done.count || w->hub_high == w->done_pruned)
        return;
    w->done_pruned = w->hub_high;
    char(*dead)[24] = hv_xmalloc(w->done.count * sizeof(*dead));
    size_t n = 0, it;
    for (hv_map_entry *e = hv_map_first(&w->done, &it); e; e = hv_map_next(&w->done, e, &it))
        if (strtoull(e->key, NULL, 10) <= w->hub_high)
            snprintf(dead[n++], 24, "%s", e->key);
    for (size_t i = 0; i < n; i++)
        hv_map_del(&w->done, dead[i]);
    free(dead);
}

/* Loads the event of an item from the store: 1 loaded, 0 gone, -1 error.
 * One read of up to LOAD_AHEAD events also gives their events to the
 * items queued next on its endpoint (a backlog is read in batches, not
 * one store round trip per delivery: with Redis that trip is the
 * network's). Events are read by id through the outbox, not through the
 * history: pruning keeps the events pending rows owe, but the history
 * hides those below its horizon (issue 13, defect 7). */
int hv__webhook_load_event(hv_webhooks *w, wh_ep *ep, wh_item *it)
{
    wh_item *want[LOAD_AHEAD];
    uint64_t ids[LOAD_AHEAD];
    hv_event *evs[LOAD_AHEAD];
    size_t n = 0;
    want[n] = it;
    ids[n++] = it->event_id;
    for (hv_list *l = ep->ready.next; l != &ep->ready && n < LOAD_AHEAD; l = l->next) {
        wh_item *x = hv_container_of(l, wh_item, link);
        if (!x->ev) {
            want[n] = x;
            ids[n++] = x->event_id;
        }
    }
    if (hv_outbox_load_events(w->ob, ids, n, evs) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (evs[i])
            hv_event_encode(evs[i]); /* ours alone: nobody else sees it yet */
        if (!want[i]->ev)
            want[i]->ev = evs[i];
        else
            hv_event_unref(evs[i]);
    }
    return it->ev ? 1 : 0;
}

/* ---- starting requests ---------------------------------------------------- */

/* An endpoint with nothing in memory: drop a finished room endpoint, and
 * forget our state unless it still tracks a failure streak. */
wh_item *hv__webhook_take_ready(hv_webhooks *w, wh_ep *ep, char *err, size_t errlen)
{
    wh_item *it = hv_container_of(ep->ready.next, wh_item, link);
    hv_list_remove(&it->link);
    if (!it->ev) {
        int rc = hv__webhook_load_event(w, ep, it);
        if (rc < 0) {
            hv_warn("webhooks: could not load event %" PRIu64 " from the store", it->event_id);
            hv__webhook_schedule(w, it, hv_now_ms() + STORE_RETRY_MS);
            return NULL;
        }
        if (rc == 0)
            snprintf(err, errlen, "event %" PRIu64 " is no longer stored", it->event_id);
    }
    return it;
}

static void settle_ep(hv_webhooks *w, wh_ep *ep)
{
    if (ep->nitems || ep->spilled || hv_list_linked(&ep->refill_link) || w->closing)
        return;
    hv_endpoint *snap = hv_endpoints_get(w->srv->endpoints, ep->id);
    if (snap && snap->retired && ep->final_seen)
        hv_endpoints_drop_retired(w->srv->endpoints, ep->id);
    int keep = snap && !snap->retired &&
               (ep->failing_since_ms || hv__webhook_breaker_holds(ep) || hv__webhook_rl_hot(ep));
    hv_endpoint_unref(snap);
    if (keep)
        return;
    hv__webhook_breaker_forget(w, ep);
    hv_list_remove(&ep->dirty_link);
    hv_map_del(&w->eps, ep->id);
    free(ep);
}

static void pump_ep(hv_webhooks *w, wh_ep *ep)
{
    while (!hv_list_empty(&ep->ready) && ep->in_flight < w->max_in_flight && !w->closing) {
        hv_endpoint *snap = hv_endpoints_get(w->srv->endpoints, ep->id);
        if (!snap || !snap->enabled) {
            /* deleted or disabled: its rows are closed (failed, not
             * attempted), so they do not pin their events against
             * retention; a replay or a retry sends them again (issue 13,
             * defect 8). The rest of a spilled endpoint's rows follow as
             * its window is refilled. */
            while (!hv_list_empty(&ep->ready)) {
                wh_item *it = hv_container_of(ep->ready.next, wh_item, link);
                hv__webhook_record(w, it, NULL, snap ? "endpoint disabled" : "endpoint deleted", HV_OUTBOX_FAILED,
                       0);
                hv__webhook_forget_item(w, it, 1);
            }
            hv_endpoint_unref(snap);
            break;
        }
        /* A room webhook gets one request at a time, so a healthy receiver
         * sees its room's notifications in order, as from Fishjam. */
        if ((snap->room_webhook && ep->in_flight >= 1) || !hv__webhook_breaker_gate(w, ep, snap) ||
            (snap->jb_max_events && hv__webhook_jsonbatch_waits(w, ep, snap)) || /* a batch filling */
            !hv__webhook_rl_gate(w, ep, snap)) { /* its rate_limit or its receiver's 429 (webhook_ratelimit.c) */
            hv_endpoint_unref(snap); /* a paused endpoint sends only its probe (webhook_controls.c) */
            break;
        }
        if (snap->batch) { /* a room with batchWebhookNotifications (webhook_batch.c) */
            hv__webhook_start_batch(w, ep, snap);
            hv_endpoint_unref(snap);
            continue;
        }
        if (snap->jb_max_events) { /* a JSON endpoint with "batch" (webhook_jsonbatch.c) */
            hv__webhook_jsonbatch_start(w, ep, snap);
            hv_endpoint_unref(snap);
            continue;
        }
        char err[160] = "";
        wh_item *it = hv__webhook_take_ready(w, ep, err, sizeof(err));
        if (!it) {
            hv_endpoint_unref(snap);
            continue;
        }
        if (!err[0] && hv__webhook_http_start(w, &it, 1, snap, err, sizeof(err)) == 0) {
            it->in_flight = 1;
            ep->in_flight++;
            w->ninflight++;
        } else {
            hv__webhook_give_up(w, it, err);
        }
        hv_endpoint_unref(snap);
    }
    hv_list_remove(&ep->dirty_link); /* hv__webhook_give_up may have marked it */
    hv__webhook_breaker_settle(w, ep);
    settle_ep(w, ep);
}

void hv__webhook_pump(hv_webhooks *w)
{
    if (w->closing)
        return;
    while (!hv_list_empty(&w->dirty)) {
        wh_ep *ep = hv_container_of(w->dirty.next, wh_ep, dirty_link);
        hv_list_remove(&ep->dirty_link);
        pump_ep(w, ep);
    }
    hv__webhook_publish_stats(w, w->rows.count, w->ninflight);
}

static void on_retry_timer(uv_timer_t *t)
{
    hv_webhooks *w = t->data;
    int64_t now = hv_now_ms();
    while (w->nheap && w->heap[0]->due_ms <= now) {
        wh_item *it = w->heap[0];
        heap_remove(w, it);
        hv__webhook_schedule(w, it, it->due_ms); /* ready (or held in row order by a breaker) */
    }
    rearm(w);
    hv__webhook_pump(w);
}

void hv__webhook_queue_init(hv_webhooks *w)
{
    hv_map_init(&w->eps);
    hv_map_init(&w->rows);
    hv_map_init(&w->done);
    hv_list_init(&w->dirty);
    uv_timer_init(&w->loop, &w->retry_timer);
    w->retry_timer.data = w;
    uv_timer_init(&w->loop, &w->flush_timer);
    w->flush_timer.data = w;
    hv__webhook_window_init(w);
    w->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)w ^ 0x9E3779B97F4A7C15ULL;
    if (!w->rng)
        w->rng = 1;
}

void hv__webhook_queue_free(hv_webhooks *w)
{
    size_t it;
    for (hv_map_entry *e = hv_map_first(&w->rows, &it); e; e = hv_map_next(&w->rows, e, &it)) {
        wh_item *item = e->value;
        hv_event_unref(item->ev);
        free(item);
    }
    hv_map_free(&w->rows);
    for (hv_map_entry *e = hv_map_first(&w->eps, &it); e; e = hv_map_next(&w->eps, e, &it))
        free(e->value);
    hv_map_free(&w->eps);
    hv_list_init(&w->refill);
    hv_map_free(&w->done);
    free(w->heap);
    w->heap = NULL;
    w->nheap = 0;
    free(w->batch);
    w->batch = NULL;
    hv__webhook_publish_stats(w, 0, 0);
    uv_close((uv_handle_t *)&w->retry_timer, NULL);
    uv_close((uv_handle_t *)&w->flush_timer, NULL);
    hv__webhook_window_close(w);
}
