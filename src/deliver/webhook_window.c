/* SPDX-License-Identifier: MIT */
/* webhook_window.c — the delivery engine keeps at most a window of each
 * endpoint's pending rows in memory (--webhook-window, issue 13, defect
 * 8); the rest wait in the outbox and are read back as the window drains.
 *
 * Why: a failing endpoint (or one far behind) used to hold its whole
 * backlog in memory, one wh_item per row, however large. The outbox holds
 * every pending row anyway, so memory needs only what can be attempted
 * soon. Engine thread only; see webhook_internal.h.
 *
 * How: a row handed over by the hub, or met by a backlog load, while its
 * endpoint has w->window rows in memory is not kept: the endpoint is
 * "spilled", with a cursor below its first row left out. While spilled,
 * every newer row of it is left out as well, so rows enter memory in row
 * order (the order an endpoint's queue promises). Once the endpoint is
 * down to half its window, a refill on the next loop turn reads its next
 * rows after the cursor straight from its rows in the outbox
 * (hv_outbox_load_endpoint: a range read of that endpoint's rows), up to
 * the window; a short read means none are left in the outbox only, and
 * the endpoint is no longer spilled (rows committed after the read reach
 * the engine from the hub after it, in order).
 */
#include <stdlib.h>
#include <string.h>

#include "codec/event_frames.h"
#include "core/log.h"
#include "deliver/webhook_internal.h"

#define REFILL_RETRY_MS 1000 /* the outbox could not be read: try again */

static void on_refill_timer(uv_timer_t *t);

void hv__webhook_window_init(hv_webhooks *w)
{
    hv_list_init(&w->refill);
    uv_timer_init(&w->loop, &w->refill_timer);
    w->refill_timer.data = w;
}

void hv__webhook_window_close(hv_webhooks *w)
{
    hv_list_init(&w->refill);
    uv_close((uv_handle_t *)&w->refill_timer, NULL);
}

int hv__webhook_batch_may_read_back(const hv_webhooks *w, const char *endpoint_id, uint64_t after_id)
{
    for (size_t i = 0; i < w->nbatch; i++) {
        const hv_attempt *a = &w->batch[i].a;
        if (a->status != HV_OUTBOX_PENDING && a->outbox_id > after_id &&
            (!endpoint_id || !strcmp(a->endpoint_id, endpoint_id)))
            return 1;
    }
    return 0;
}

/* Asks for a refill of ep on a later loop turn (delay_ms). */
static void want_refill(hv_webhooks *w, wh_ep *ep, uint64_t delay_ms)
{
    if (w->closing)
        return;
    if (!hv_list_linked(&ep->refill_link))
        hv_list_push(&w->refill, &ep->refill_link);
    if (!uv_is_active((uv_handle_t *)&w->refill_timer) || delay_ms == 1)
        uv_timer_start(&w->refill_timer, on_refill_timer, delay_ms, 0);
}

int hv__webhook_window_spill(hv_webhooks *w, wh_ep *ep, uint64_t row_id)
{
    if (!ep->spilled && ep->nitems < w->window)
        return 0;
    if (!ep->spilled || row_id - 1 < ep->cursor)
        ep->cursor = row_id - 1; /* an older row (a retry, a backlog load) reads back from it */
    ep->spilled = 1;
    hv__webhook_window_drained(w, ep);
    return 1;
}

void hv__webhook_window_drained(hv_webhooks *w, wh_ep *ep)
{
    if (ep->spilled && ep->nitems <= w->window / 2)
        want_refill(w, ep, 1);
}

/* Reads ep's next rows after its cursor into memory, up to the window. */
static void refill(hv_webhooks *w, wh_ep *ep)
{
    if (!ep->spilled || ep->nitems >= w->window)
        return;
    size_t want = w->window - ep->nitems;
    if (hv__webhook_batch_may_read_back(w, ep->id, ep->cursor))
        hv__webhook_flush(w); /* a row finished but not recorded would come back as pending */
    hv_outbox_item *items = NULL;
    size_t n = 0;
    if (hv_outbox_load_endpoint(w->ob, ep->id, ep->cursor, want, &items, &n) != 0) {
        hv_error("webhooks: could not read the pending deliveries of %s", ep->id);
        want_refill(w, ep, REFILL_RETRY_MS);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        hv_outbox_item *o = &items[i];
        ep->cursor = o->id;
        if (o->event)
            hv_event_encode(o->event); /* loaded for us alone */
        hv__webhook_add_refilled(w, ep, o->id, o->event_id, o->event, o->attempts, o->next_at_ms);
    }
    free(items);
    if (n < want)
        ep->spilled = 0; /* all of them are in memory now */
    hv_debug("webhooks: %zu deliveries of %s read back (%zu in memory%s)", n, ep->id, ep->nitems,
             ep->spilled ? ", more in the outbox" : "");
}

static void on_refill_timer(uv_timer_t *t)
{
    hv_webhooks *w = t->data;
    if (w->closing)
        return;
    /* one refill per endpoint and turn; those asking again wait for the next */
    hv_list todo;
    hv_list_init(&todo);
    while (!hv_list_empty(&w->refill)) {
        hv_list *l = w->refill.next;
        hv_list_remove(l);
        hv_list_push(&todo, l);
    }
    while (!hv_list_empty(&todo)) {
        wh_ep *ep = hv_container_of(todo.next, wh_ep, refill_link);
        hv_list_remove(&ep->refill_link);
        refill(w, ep);
        if (!hv_list_linked(&ep->dirty_link)) /* pump starts its rows, or settles it */
            hv_list_push(&w->dirty, &ep->dirty_link);
    }
    hv__webhook_pump(w);
}
