/* SPDX-License-Identifier: MIT */
/* hooks.h — what the hub calls in the layers above it, handed in by main.c.
 *
 * The hub sits below deliver (webhook endpoints, the delivery engine,
 * sinks, fan-out to subscribers) and rooms, yet its commit thread, its
 * log follower, its replica and the heartbeat must reach them: match an
 * event to webhook rows, hand a committed batch to the loops, apply a
 * change another node made. Rather than calling them by name (an upward
 * call), the hub calls the functions of this table, which the composition
 * root (src/main.c) fills from deliver's and rooms' functions, as nginx's
 * listening sockets call ls->handler. Every hook has the user-data
 * pointer it is called with; a NULL hook means there is nothing to do
 * (a unit test installs only what it needs). The hub copies the table at
 * hv_hub_start.
 */
#ifndef HV_HUB_HOOKS_H
#define HV_HUB_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "net/loop.h"
#include "store/outbox.h"
#include "store/shared.h"

typedef struct hv_kvlist hv_kvlist; /* hub.h */

#define HV_HUB_MAX_LOCKS 4  /* registries whose lock the undo holds */
#define HV_HUB_MAX_SHARED 8 /* shared namespaces the replica applies */

/* A registry that changes memory ahead of its commit (hub.h, hv_undo):
 * the hub holds every registry's lock, taken in table order and released
 * in reverse, while it undoes a commit that stored nothing. */
typedef struct hv_hub_lock {
    void (*lock)(void *ud);
    void (*unlock)(void *ud);
    void *ud;
} hv_hub_lock;

/* One namespace of state shared by the nodes of one store (hub/replica.c),
 * in the order a reloaded snapshot is applied (a peer needs its room).
 * apply: a change another node committed, read from the change feed
 * (commits nothing); keys: each(arg, key) for every record of ns this
 * node holds (to find what a reloaded snapshot no longer has). The
 * replica asks the store to share every namespace but HV_NS_PRESENCE,
 * which the store sends to the feed by itself. */
typedef struct hv_hub_shared {
    const char *ns;
    void (*apply)(void *ud, const hv_kv_entry *e);
    void (*keys)(void *ud, const char *ns, void (*each)(void *arg, const char *key), void *arg);
    void *ud;
} hv_hub_shared;

typedef struct hv_hub_hooks {
    hv_hub_lock locks[HV_HUB_MAX_LOCKS];
    size_t nlocks;

    /* Commit thread, preparing a commit: row(arg, endpoint id) for every
     * webhook delivery ev is owed; records the matching changed go to kv
     * (committed in the same transaction, with their undos). */
    void (*match)(void *ud, const hv_event *ev, hv_kvlist *kv,
                  void (*row)(void *arg, const char *endpoint_id), void *arg);
    void *match_ud;
    /* Commit thread, after a commit stored rows (n > 0): the delivery
     * engine takes them (evs: the commit's events, row.id indexes them). */
    void (*committed)(void *ud, const hv_outbox_new *rows, size_t n, hv_event **evs);
    void *committed_ud;
    /* Every event up to last_id is stored (the commit thread, or the log
     * follower for every node's events): the sinks are told. */
    void (*stored)(void *ud, uint64_t last_id);
    void *stored_ud;

    /* Fan-out, one message per loop per commit: wanted (any thread) says
     * whether loop l may have a recipient for one of the events (a loop
     * for which it is 0 is not woken); prepare makes the one immutable
     * batch shared by the `loops` loops that want it; deliver runs on
     * each of those loops' threads with it (the batch is its user data).
     * All three or none (none: nothing is fanned out). */
    int (*wanted)(void *ud, hv_loop *l, hv_event *const *evs, size_t n);
    void *(*prepare)(void *ud, hv_event *const *evs, size_t n, int loops);
    void *fanout_ud;
    void (*deliver)(hv_loop *l, void *batch);

    /* The replica's shared namespaces, and what it calls after every good
     * read of the change feed (the store answers again): e.g. commit
     * again what the store refused while it was unreachable. */
    hv_hub_shared shared[HV_HUB_MAX_SHARED];
    size_t nshared;
    void (*feed_ok)(void *ud);
    void *feed_ok_ud;

    /* The heartbeat's takeover (hub/heartbeat.c): kick, when the dead
     * nodes' webhook deliveries were taken over (the engine reloads);
     * nodes_died, with their names (their peers end). */
    void (*kick)(void *ud);
    void *kick_ud;
    void (*nodes_died)(void *ud, const char *const *nodes, size_t n);
    void *nodes_died_ud;
} hv_hub_hooks;

#endif
