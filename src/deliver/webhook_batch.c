/* SPDX-License-Identifier: MIT */
/* webhook_batch.c — the requests of a room created with
 * batchWebhookNotifications: one POST carries ServerMessage{
 * notification_batch} of the notifications ready for that room's URL.
 * Engine thread only; see webhooks.c for the engine.
 *
 * A batch is whatever the endpoint has ready when its previous request
 * ends (a room webhook has one request in flight at a time): nothing waits
 * to fill a batch, so a lone notification leaves at once, in a batch of
 * one, and a burst arriving while a request is out goes in the next one.
 * It is bounded by HV_WH_BATCH_MAX notifications and HV_WH_BATCH_BYTES of
 * encoded notifications (webhook_policy.h); the rest wait for the next
 * request. A VAD notification (vad.notification) is never batched, as
 * upstream: it goes alone, as a bare ServerMessage, and ends the batch
 * before it. Rows stay rows: each notification keeps its own outbox row,
 * attempt count and attempt log; the rows of a request succeed or fail
 * together (webhook_outcome.c, hv__webhook_attempt_done), and rows that fail
 * together with the same attempt count get the same retry time, so they
 * come back as one batch. The rows of a batch go in row (commit) order
 * even when retried rows and newer ones meet in the ready queue.
 */
#include <stdio.h>
#include <string.h>

#include "deliver/webhook_internal.h"

int hv__webhook_batchable(const hv_event *ev)
{
    return strcmp(ev->type, "vad.notification") != 0;
}

/* Takes the first ready item of ep off its queue with its event loaded.
 * NULL when the queue is empty or the item could not be used (it was
 * scheduled again or failed for good; *again says whether to go on). */
static wh_item *take_ready(hv_webhooks *w, wh_ep *ep, int *again)
{
    *again = 0;
    if (hv_list_empty(&ep->ready))
        return NULL;
    char err[160] = "";
    wh_item *it = hv__webhook_take_ready(w, ep, err, sizeof(err));
    if (!it)
        return NULL; /* the store is failing: send what is in hand */
    if (!err[0] && !it->ev->pb.buf)
        snprintf(err, sizeof(err), "event type %s has no protobuf form", it->ev->type);
    if (err[0]) {
        hv__webhook_give_up(w, it, err);
        *again = 1;
        return NULL;
    }
    return it;
}

/* Insertion sort by row id: the items of one request, nearly always in
 * order already. */
void hv__webhook_sort_rows(wh_item **items, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        wh_item *x = items[i];
        size_t j = i;
        for (; j > 0 && items[j - 1]->row_id > x->row_id; j--)
            items[j] = items[j - 1];
        items[j] = x;
    }
}

void hv__webhook_start_batch(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap)
{
    wh_item *items[HV_WH_BATCH_MAX];
    size_t n = 0, bytes = 0;
    while (n < HV_WH_BATCH_MAX) {
        int again;
        wh_item *it = take_ready(w, ep, &again);
        if (!it) {
            if (again)
                continue;
            break;
        }
        int alone = !hv__webhook_batchable(it->ev);
        size_t len = hv_frame_payload_len(&it->ev->pb);
        if (n && (alone || bytes + len > HV_WH_BATCH_BYTES)) {
            hv_list_push(ep->ready.next, &it->link); /* back to the front: the next request's */
            break;
        }
        items[n++] = it;
        bytes += len;
        if (alone)
            break;
    }
    if (!n)
        return;
    hv__webhook_sort_rows(items, n);
    char err[160] = "";
    if (hv__webhook_http_start(w, items, n, snap, err, sizeof(err)) != 0) {
        for (size_t i = 0; i < n; i++)
            hv__webhook_give_up(w, items[i], err);
        return;
    }
    for (size_t i = 0; i < n; i++)
        items[i]->in_flight = 1;
    ep->in_flight++;
    w->ninflight += n;
}
