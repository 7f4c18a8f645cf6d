/* fanout.c — per-loop delivery of committed batches; see fanout.h. */
#include "deliver/fanout.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "api/notifier.h"
#include "deliver/channels.h"
#include "net/server.h"

typedef struct hv_fanout_batch {
    atomic_int refs; /* one per loop */
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

static void deliver_batch(hv_loop *l, void *arg)
{
    batch *b = arg;
    if (!l->stopping) {
        uint64_t delivered = 0;
        for (size_t i = 0; i < b->n; i++)
            delivered += hv_notifier_deliver(l, b->evs[i]) + hv_channels_deliver(l, b->evs[i]);
        atomic_fetch_add_explicit(&l->stats.deliveries, delivered, memory_order_relaxed);
    }
    batch_unref(b);
}

hv_fanout_batch *hv_fanout_prepare(hv_server *srv, hv_event **evs, size_t n)
{
    batch *b = malloc(sizeof(*b) + n * sizeof(hv_event *));
    if (!b)
        abort();
    atomic_init(&b->refs, srv->nloops);
    b->n = n;
    for (size_t i = 0; i < n; i++)
        b->evs[i] = hv_event_ref(evs[i]);
    return b;
}

void hv_fanout_send(hv_server *srv, hv_fanout_batch *b)
{
    for (int i = 0; i < srv->nloops; i++)
        hv_loop_post(srv->loops[i], deliver_batch, b);
}

void hv_fanout_post(hv_server *srv, hv_event **evs, size_t n)
{
    hv_fanout_send(srv, hv_fanout_prepare(srv, evs, n));
}

static void deliver_metrics(hv_loop *l, void *arg)
{
    metrics_msg *m = arg;
    if (!l->stopping)
        hv_notifier_deliver_metrics(l, &m->pb, &m->json);
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
        hv_sbuf_unref(m->pb.buf);
        hv_sbuf_unref(m->json.buf);
        free(m);
    }
}

void hv_fanout_metrics(hv_server *srv, hv_frame pb, hv_frame json)
{
    metrics_msg *m = malloc(sizeof(*m));
    if (!m)
        abort();
    atomic_init(&m->refs, srv->nloops);
    m->pb = pb;
    m->json = json;
    for (int i = 0; i < srv->nloops; i++)
        hv_loop_post(srv->loops[i], deliver_metrics, m);
}
