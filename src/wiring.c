/* SPDX-License-Identifier: MIT */
/* wiring.c — what the composition root hands the lower layers; see wiring.h.
 *
 * Thin wrappers: the hooks take void * user data, the modules their own
 * types. Nothing here decides anything; each wrapper calls the one
 * function of deliver or rooms the hook stands for (docs/architecture.md).
 */
#include "wiring.h"

#include <stdatomic.h>

#include "api/router.h"
#include "deliver/endpoints.h"
#include "deliver/fanout.h"
#include "deliver/loop_slot.h"
#include "deliver/sinks.h"
#include "deliver/webhooks.h"
#include "rooms/registry.h"

void hv_wiring_net(hv_server *srv)
{
    srv->net = (hv_net_hooks){.request = hv_router_dispatch, .slot_new = hv_deliver_slot_new,
                              .slot_free = hv_deliver_slot_free};
}

/* ---- the hub's hooks (hub/hooks.h) ------------------------------------ */

static void lock_rooms(void *ud)
{
    hv_rooms_lock(ud);
}

static void unlock_rooms(void *ud)
{
    hv_rooms_unlock(ud);
}

static void lock_endpoints(void *ud)
{
    hv_endpoints_lock(ud);
}

static void unlock_endpoints(void *ud)
{
    hv_endpoints_unlock(ud);
}

static void match_endpoints(void *ud, const hv_event *ev, hv_kvlist *kv,
                            void (*row)(void *arg, const char *endpoint_id), void *arg)
{
    hv_endpoints_match(ud, ev, kv, row, arg);
}

/* The delivery engine starts after the hub (it commits through it), on
 * the main thread, while the hub's thread may already commit (a restarted
 * node ends its old sessions): the hooks read the engine from here, an
 * atomic pointer main.c sets once it runs. Rows committed before that are
 * in the outbox, which the engine reads when it starts. */
static _Atomic(hv_webhooks *) engine;

void hv_wiring_webhooks_started(hv_webhooks *w)
{
    atomic_store_explicit(&engine, w, memory_order_release);
}

static void enqueue_webhooks(void *ud, const hv_outbox_new *rows, size_t n, hv_event **evs)
{
    (void)ud;
    hv_webhooks *w = atomic_load_explicit(&engine, memory_order_acquire);
    if (w)
        hv_webhooks_enqueue(w, rows, n, evs);
}

static void kick_webhooks(void *ud)
{
    (void)ud;
    hv_webhooks *w = atomic_load_explicit(&engine, memory_order_acquire);
    if (w)
        hv_webhooks_kick(w);
}

static void notify_sinks(void *ud, uint64_t last_id)
{
    hv_sinks_notify(ud, last_id);
}

static int fanout_wanted(void *ud, hv_loop *l, hv_event *const *evs, size_t n)
{
    (void)ud;
    return hv_fanout_wanted(l, evs, n);
}

static void *fanout_prepare(void *ud, hv_event *const *evs, size_t n, int loops)
{
    (void)ud;
    return hv_fanout_prepare(evs, n, loops);
}

static void fanout_deliver(hv_loop *l, void *batch)
{
    hv_fanout_deliver(l, batch);
}

static void rooms_apply(void *ud, const hv_kv_entry *e)
{
    hv_rooms_apply(ud, e);
}

static void endpoints_apply(void *ud, const hv_kv_entry *e)
{
    hv_endpoints_apply(ud, e);
}

static void rooms_retry(void *ud)
{
    hv_rooms_retry_refused(ud);
}

static void rooms_keys(void *ud, const char *ns, void (*each)(void *arg, const char *key),
                       void *arg)
{
    hv_rooms_keys(ud, ns, each, arg);
}

static void endpoints_keys(void *ud, const char *ns, void (*each)(void *arg, const char *key),
                           void *arg)
{
    hv_endpoints_keys(ud, ns, each, arg);
}

static void rooms_nodes_died(void *ud, const char *const *nodes, size_t n)
{
    hv_rooms_nodes_died(ud, nodes, n);
}

void hv_wiring_hub(hv_server *srv, hv_hub_hooks *h)
{
    *h = (hv_hub_hooks){.committed = enqueue_webhooks,
                        .wanted = fanout_wanted, .prepare = fanout_prepare,
                        .deliver = fanout_deliver, .fanout_ud = srv,
                        .kick = kick_webhooks};
    if (srv->sinks)
        h->stored = notify_sinks, h->stored_ud = srv->sinks;
    if (srv->rooms) {
        h->locks[h->nlocks++] = (hv_hub_lock){lock_rooms, unlock_rooms, srv->rooms};
        static const char *const ns[] = {HV_NS_ROOM, HV_NS_PEER, HV_NS_PRESENCE};
        for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
            h->shared[h->nshared++] = (hv_hub_shared){ns[i], rooms_apply, rooms_keys, srv->rooms};
        h->feed_ok = rooms_retry, h->feed_ok_ud = srv->rooms;
        h->nodes_died = rooms_nodes_died, h->nodes_died_ud = srv->rooms;
    }
    if (srv->endpoints) {
        h->locks[h->nlocks++] = (hv_hub_lock){lock_endpoints, unlock_endpoints, srv->endpoints};
        h->match = match_endpoints, h->match_ud = srv->endpoints;
        h->shared[h->nshared++] =
            (hv_hub_shared){HV_NS_WEBHOOK, endpoints_apply, endpoints_keys, srv->endpoints};
    }
}

