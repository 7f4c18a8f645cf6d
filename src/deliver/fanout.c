/* SPDX-License-Identifier: MIT */
/* fanout.c — per-loop delivery of committed batches; see fanout.h. */
#include "deliver/fanout.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "core/xalloc.h"
#include "deliver/channels.h"
#include "deliver/deliver_internal.h"
#include "deliver/reach.h"
#include "net/server.h"

typedef struct hv_fanout_batch {
    atomic_int refs; /* one per loop it is handed to */
    size_t n;
    hv_event *evs[];
} batch;

typedef struct metrics_msg {
    atomic_int refs;
    hv_frame pb, json;
} metrics_msg;

static void batch_unref(batch *b)
{
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < b->n; i++)
        hv_event_unref(b->evs[i]);
    free(b);
}

int hv_fanout_wanted(hv_loop *l, hv_event *const *evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hv_reach_wants(l->slot->reach, evs[i]))
            return 1;
    return 0;
}

hv_fanout_batch *hv_fanout_prepare(hv_event *const *evs, size_t n, int loops)
{
    batch *b = hv_xmalloc(sizeof(*b) + n * sizeof(hv_event *));
    atomic_init(&b->refs, loops);
    b->n = n;
    for (size_t i = 0; i < n; i++)
        b->evs[i] = hv_event_ref(evs[i]);
    return b;
}

void hv_fanout_deliver(hv_loop *l, hv_fanout_batch *b)
{
    if (!l->stopping) {
        uint64_t delivered = 0;
        for (size_t i = 0; i < b->n; i++)
            delivered += hv__notifiers_deliver(l, b->evs[i]) + hv_channels_deliver(l, b->evs[i]);
        atomic_fetch_add_explicit(&l->stats.deliveries, delivered, memory_order_relaxed);
    }
    batch_unref(b);
}

static void deliver_metrics(hv_loop *l, void *arg)
{
    metrics_msg *m = arg;
    if (!l->stopping)
        hv__notifiers_deliver_metrics(l, &m->pb, &m->json);
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
        hv_sbuf_unref(m->pb.buf);
        hv_sbuf_unref(m->json.buf);
        free(m);
    }
}

void hv_fanout_metrics(hv_server *srv, hv_frame pb, hv_frame json)
{
    metrics_msg *m = hv_xmalloc(sizeof(*m));
    atomic_init(&m->refs, srv->nloops);
    m->pb = pb;
    m->json = json;
    for (int i = 0; i < srv->nloops; i++)
        hv_loop_post(srv->loops[i], deliver_metrics, m);
}
