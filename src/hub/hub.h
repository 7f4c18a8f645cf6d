/* SPDX-License-Identifier: MIT */
/* hub.h — where every event is validated into the log and sent on.
 *
 * Ingest paths hand the hub a group of new events. The hub's commit thread
 * takes every group waiting at that moment, appends them all to the store
 * in one transaction (group commit: one fsync for many publishers), encodes
 * each event once per wire format, hands the same immutable batch to every
 * I/O loop for fan-out, and finally tells each publisher, on its own loop,
 * that its events are durable.
 */
#ifndef HV_HUB_H
#define HV_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "hub/catchup.h"
#include "hub/hooks.h"
#include "net/loop.h"
#include "store/idem.h"
#include "store/shared.h"
#include "store/store.h"

typedef struct hv_hub hv_hub;

/* Called on the publisher's loop once the group is committed (status 0,
 * the events carry their ids) or has failed: HV_PUBLISH_FAILED (nothing
 * stored), HV_PUBLISH_UNKNOWN (the store took the commit but did not
 * answer: the events may be stored), HV_PUBLISH_REFUSED (the store was
 * unavailable, hv_store_available: nothing was tried, nothing stored).
 * The hub drops its references to evs after the call. */
#define HV_PUBLISH_FAILED (-1)
#define HV_PUBLISH_UNKNOWN HV_STORE_UNKNOWN
#define HV_PUBLISH_REFUSED (-3)
typedef void (*hv_publish_done)(hv_loop *loop, void *arg, int status, hv_event **evs, size_t n);

/* Where a change made through the hub is answered: done(origin, arg, …)
 * once it is durable. */
typedef struct hv_reply {
    hv_loop *origin;
    hv_publish_done done;
    void *arg;
} hv_reply;

/* Starts the commit thread; hooks (copied; NULL: none) are what it calls
 * in the layers above it (hooks.h), installed by main.c. */
hv_hub *hv_hub_start(hv_server *srv, const hv_hub_hooks *hooks);
/* Once the loops exist: starts the log follower when the store's log is
 * shared by several nodes (hub/follower.h); nothing otherwise. */
void hv_hub_follow(hv_hub *hub);
/* Commits whatever is queued, then ends the commit thread (and the log
 * follower). */
void hv_hub_stop(hv_hub *hub);
void hv_hub_free(hv_hub *hub);

/* Requests (publishes and changes) waiting for the commit thread, not
 * counting the group it is committing (a gauge on /metrics). */
size_t hv_hub_queued(hv_hub *hub);

/* Queues n events (the hub takes the references and the array). Returns 0,
 * or -1 when the hub is stopping (the events are released, done is not
 * called). While the store is unavailable nothing is queued: done is
 * called (posted to origin) with HV_PUBLISH_REFUSED, so publishers get
 * their 503 at once instead of waiting on a store that does not answer. */
int hv_hub_publish(hv_hub *hub, hv_event **evs, size_t n, hv_loop *origin,
                   hv_publish_done done, void *arg);

/* An idempotency key of a publish (store/idem.h; issue 18 item 1): it
 * covers events first..first+count-1 of the request (all of them for an
 * Idempotency-Key header, one for a per-event idempotency_key). The
 * caller owns the claims and reads what the hub wrote into them in its
 * done callback: state, and for HV_IDEM_REPLAYED the ids the key got the
 * first time (ids, malloc'd: the caller frees them). Events of a replayed
 * claim are not stored (id 0); a conflict (same key, other hash) or a
 * failed lookup stores none of the request's events (or, with a scope,
 * none of the scope's). */
enum { HV_IDEM_NEW, HV_IDEM_REPLAYED, HV_IDEM_CONFLICT, HV_IDEM_ERROR };
typedef struct hv_idem_claim {
    const char *key;
    char hash[HV_IDEM_HASH_HEX + 1];
    size_t first, count;
    int state;
    uint64_t *ids;
    size_t nids;
    /* What a conflict or a failed lookup refuses: events scope_first..
     * scope_first+scope_count-1 of the request (the publishing socket: the
     * claim's frame, so the other frames of its request go on); 0: every
     * event of the request (HTTP). */
    size_t scope_first, scope_count;
} hv_idem_claim;

/* hv_hub_publish with idempotency keys (nclaims may be 0). A key already
 * recorded within --idempotency-window is looked up on the commit thread
 * before the commit; a request whose key an earlier request of the same
 * group claims waits for the next group, so it sees that key recorded. */
int hv_hub_publish_idem(hv_hub *hub, hv_event **evs, size_t n, hv_idem_claim *claims,
                        size_t nclaims, hv_loop *origin, hv_publish_done done, void *arg);

/* How to take back an in-memory change made ahead of its commit. The
 * registries (rooms, webhook endpoints) change memory, then commit; when
 * the commit stores nothing (HV_PUBLISH_FAILED or HV_PUBLISH_REFUSED) the
 * hub calls fn(arg, 1) on its thread, newest change first, holding the
 * registries' locks (the hooks' locks, hooks.h), so a change that
 * was answered 503 leaves nothing behind (issue 13, defect 12). Otherwise
 * (stored, or HV_PUBLISH_UNKNOWN: it may be stored) fn(arg, 0) only frees
 * what was kept for the undo, with no lock held. */
typedef void (*hv_undo_fn)(void *arg, int failed);
typedef struct hv_undo {
    struct hv_undo *next; /* the change made before this one */
    hv_undo_fn fn;
    void *arg;
} hv_undo;

/* Runs every undo of the list (newest first) with failed, and frees it. */
void hv_undo_run(hv_undo *list, int failed);

/* State changes committed with a group of events (see hv_kv_change),
 * conditions on peers' sessions (store/shared.h: only a store that several
 * nodes share checks them), and the undos of the in-memory changes they
 * record. The list owns copies of its strings. */
typedef struct hv_kvlist {
    hv_kv_change *items;
    size_t n, cap;
    hv_presence_op *presence; /* event_index: among this commit's events */
    size_t npresence, cap_presence;
    hv_undo *undo;            /* newest first */
} hv_kvlist;

void hv_kvlist_put(hv_kvlist *l, const char *ns, const char *key, const char *value);
void hv_kvlist_presence(hv_kvlist *l, int op, const char *peer_id, const char *value,
                        size_t event_index);
/* Adds the undo of a change just made in memory (see hv_undo). */
void hv_kvlist_undo(hv_kvlist *l, hv_undo_fn fn, void *arg);
/* Frees the list; undos still in it are run with failed 0 (kept). */
void hv_kvlist_clear(hv_kvlist *l);

/* Work to post to a loop after the commit's events were handed to every
 * loop (so it runs after their delivery there): e.g. closing a deleted
 * peer's socket after it got room.deleted. Posted even if the commit
 * fails (after its undo: a deleted peer's close checks it still is). */
typedef struct hv_after {
    struct hv_after *next;
    hv_loop *loop;
    hv_loop_fn fn;
    void *arg;
} hv_after;

/* Posts each work item of the list to its loop and frees the list. */
void hv_after_post(hv_after *list);

/* hv_hub_publish, plus state changes stored in the same transaction and
 * work to post after the fan-out (a malloc'd list, taken over). The hub
 * takes over kv's contents (kv is left empty). done may be NULL (no
 * completion wanted; origin is then unused). On -1 (stopping) the after
 * list is posted at once and kv's undos are kept (nothing more is stored:
 * the process is ending). A change with undos is never refused here, on
 * the caller's thread: it is queued, and a commit that stores nothing
 * undoes it and fails every change (request with undos) queued behind it,
 * each made on top of it, so memory is what the store holds. */
int hv_hub_commit(hv_hub *hub, hv_event **evs, size_t n, hv_kvlist *kv, hv_after *after,
                  hv_loop *origin, hv_publish_done done, void *arg);

/* Posts `after` once every event up to id has been handed to the loops
 * (the log follower's pace with a shared log; at once otherwise): how a
 * change replicated from another node closes sockets after the events
 * that announced it. */
void hv_hub_after(hv_hub *hub, uint64_t id, hv_after *after);
/* With a store shared by several nodes: asks for the changes other nodes
 * committed that this node has not applied yet to be applied, off the
 * I/O loops (hub/catchup.h: coalesced, rate-limited, bounded); e.g. before
 * refusing a token another node may have just issued. Returns
 * HV_CATCH_UP_QUEUED (done(loop, arg, status) is posted to loop once a
 * catch-up that began after this call ended, or the request timed out),
 * HV_CATCH_UP_BUSY (too many wait: --max-token-lookups) or
 * HV_CATCH_UP_NONE (nothing to wait for). */
int hv_hub_catch_up(hv_hub *hub, hv_loop *loop, hv_catch_up_done done, void *arg);

#endif
