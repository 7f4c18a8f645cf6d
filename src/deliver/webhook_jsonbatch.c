/* SPDX-License-Identifier: MIT */
/* webhook_jsonbatch.c — batched delivery for JSON endpoints that opt in
 * ("batch": {"max_events", "max_wait_ms", "gzip"}, issue 18 item 6).
 * Engine thread only; see webhooks.c for the engine.
 *
 * It reuses the room batches' machinery (webhook_batch.c): a request
 * carries several outbox rows, each keeps its own row, attempt count and
 * attempt log, and the rows of a request succeed or fail together
 * (hv__webhook_attempt_done), with one jitter draw, so a failed batch comes
 * back as one batch. What differs: the body is a JSON array of the events'
 * own JSON (the object a single delivery sends), in row order; a batched
 * endpoint has one request in flight at a time, so batches arrive in
 * order; and a request may WAIT to fill up: it leaves when max_events rows
 * are ready, or max_wait_ms after the endpoint first had one ready (the
 * wait starts even while the previous batch is in flight, unless
 * --webhook-max-in-flight is 1: then it starts when that batch ends), or
 * at once when max_wait_ms is 0, when one of the rows is a retry (it has
 * waited already), or when it is a circuit breaker's probe. The wait is
 * one uv timer for the engine, at the earliest endpoint's deadline (no
 * polling). A batch is also
 * cut at HV_JB_MAX_BYTES of JSON (a larger lone event goes alone).
 * The signature covers the JSON array before gzip (what a receiver's
 * framework hands its verifier after inflating); see webhook_http.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/clock.h"
#include "core/xalloc.h"
#include "deliver/endpoint_jsonbatch.h"
#include "deliver/webhook_internal.h"

/* ---- the wait ------------------------------------------------------------- */

static void arm(hv_webhooks *w, int64_t due_ms);

static void on_timer(uv_timer_t *t)
{
    hv_webhooks *w = t->data;
    w->jb_armed_ms = 0;
    if (w->closing)
        return;
    int64_t now = hv_now_ms(), next = 0;
    size_t it;
    for (hv_map_entry *e = hv_map_first(&w->eps, &it); e; e = hv_map_next(&w->eps, e, &it)) {
        wh_ep *ep = e->value;
        if (!ep->jb_due_ms)
            continue;
        if (ep->jb_due_ms <= now)
            hv__webhook_mark_dirty(w, ep); /* its pump sees the wait over */
        else if (!next || ep->jb_due_ms < next)
            next = ep->jb_due_ms;
    }
    if (next)
        arm(w, next);
    hv__webhook_pump(w);
}

static void arm(hv_webhooks *w, int64_t due_ms)
{
    if (w->closing || (w->jb_armed_ms && w->jb_armed_ms <= due_ms))
        return;
    w->jb_armed_ms = due_ms;
    hv__webhook_timer_at(&w->jb_timer, on_timer, due_ms);
}

void hv__webhook_jsonbatch_init(hv_webhooks *w)
{
    uv_timer_init(&w->loop, &w->jb_timer);
    w->jb_timer.data = w;
    w->jb_armed_ms = 0;
}

void hv__webhook_jsonbatch_close(hv_webhooks *w)
{
    uv_close((uv_handle_t *)&w->jb_timer, NULL);
}

/* ---- starting a batch ------------------------------------------------------ */

/* Whether ep's ready rows should leave now rather than wait for more:
 * max_events of them are ready, the wait is over (or 0), one of the next
 * batch's rows is a retry (it has waited already), or it is a probe. */
static int ready_to_go(const wh_ep *ep, const hv_endpoint *snap, int64_t now)
{
    if (snap->jb_max_wait_ms == 0 || hv__webhook_breaker_holds(ep) || (ep->jb_due_ms && ep->jb_due_ms <= now))
        return 1;
    int n = 0;
    for (const hv_list *l = ep->ready.next; l != &ep->ready && n < snap->jb_max_events; l = l->next, n++)
        if (hv_container_of(l, wh_item, link)->attempts > 0)
            return 1;
    return n >= snap->jb_max_events;
}

/* Takes up to max rows (and HV_JB_MAX_BYTES of JSON) off ep->ready into
 * items; rows that cannot go are failed as in a single delivery. */
static size_t take_rows(hv_webhooks *w, wh_ep *ep, int max, wh_item **items)
{
    size_t n = 0, bytes = 2;
    while ((int)n < max && !hv_list_empty(&ep->ready)) {
        char err[160] = "";
        wh_item *it = hv__webhook_take_ready(w, ep, err, sizeof(err));
        if (!it)
            break; /* the store is failing: send what is in hand */
        if (!err[0] && !it->ev->json.buf)
            snprintf(err, sizeof(err), "event %llu is not encoded", (unsigned long long)it->event_id);
        if (err[0]) {
            hv__webhook_give_up(w, it, err);
            continue;
        }
        size_t len = hv_frame_payload_len(&it->ev->json) + 1;
        if (n && bytes + len > HV_JB_MAX_BYTES) {
            hv_list_push(ep->ready.next, &it->link); /* back to the front: the next request's */
            break;
        }
        items[n++] = it;
        bytes += len;
    }
    return n;
}

int hv__webhook_jsonbatch_waits(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap)
{
    int64_t now = hv_now_ms();
    if (!ep->in_flight && ready_to_go(ep, snap, now))
        return 0;
    if (!ep->jb_due_ms) { /* the wait starts with the first ready row */
        ep->jb_due_ms = now + snap->jb_max_wait_ms;
        arm(w, ep->jb_due_ms);
    }
    return 1;
}

void hv__webhook_jsonbatch_start(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap)
{
    ep->jb_due_ms = 0;
    wh_item **items = hv_xmalloc((size_t)snap->jb_max_events * sizeof(*items));
    size_t n = take_rows(w, ep, snap->jb_max_events, items);
    if (n) {
        hv__webhook_sort_rows(items, n);
        char err[160] = "";
        if (hv__webhook_http_start(w, items, n, snap, err, sizeof(err)) != 0) {
            for (size_t i = 0; i < n; i++)
                hv__webhook_give_up(w, items[i], err);
        } else {
            for (size_t i = 0; i < n; i++)
                items[i]->in_flight = 1;
            ep->in_flight++;
            w->ninflight += n;
        }
    }
    free(items);
}

/* ---- the body --------------------------------------------------------------- */

char *hv__webhook_jsonbatch_body(wh_item *const *items, size_t n, size_t *len)
{
    size_t total = 2;
    for (size_t i = 0; i < n; i++)
        total += hv_frame_payload_len(&items[i]->ev->json) + 1;
    char *b = hv_xmalloc(total + 1), *p = b;
    *p++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        size_t l = hv_frame_payload_len(&items[i]->ev->json);
        memcpy(p, hv_frame_payload(&items[i]->ev->json), l);
        p += l;
    }
    *p++ = ']';
    *p = 0;
    *len = (size_t)(p - b);
    return b;
}

int hv__webhook_jsonbatch_gzip(const void *in, size_t len, char **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1; /* 15 + 16: a gzip wrapper, as Content-Encoding: gzip means */
    uLong cap = deflateBound(&z, (uLong)len);
    char *buf = hv_xmalloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}
