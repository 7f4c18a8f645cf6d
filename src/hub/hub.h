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

#include "core/event.h"
#include "net/loop.h"
#include "store/store.h"

typedef struct hv_hub hv_hub;

/* Called on the publisher's loop once the group is committed (status 0,
 * the events carry their ids) or has failed (status -1). The hub drops its
 * references to evs after the call. */
typedef void (*hv_publish_done)(hv_loop *loop, void *arg, int status, hv_event **evs, size_t n);

/* Where a change made through the hub is answered: done(origin, arg, …)
 * once it is durable. */
typedef struct hv_reply {
    hv_loop *origin;
    hv_publish_done done;
    void *arg;
} hv_reply;

hv_hub *hv_hub_start(hv_server *srv);
/* Once the loops exist: starts the log follower when the store's log is
 * shared by several nodes (hub/follower.h); nothing otherwise. */
void hv_hub_follow(hv_hub *hub);
/* Commits whatever is queued, then ends the commit thread (and the log
 * follower). */
void hv_hub_stop(hv_hub *hub);
void hv_hub_free(hv_hub *hub);

/* Queues n events (the hub takes the references and the array). Returns 0,
 * or -1 when the hub is stopping (the events are released, done is not
 * called). */
int hv_hub_publish(hv_hub *hub, hv_event **evs, size_t n, hv_loop *origin,
                   hv_publish_done done, void *arg);

/* State changes committed with a group of events (see hv_kv_change). The
 * list owns copies of its strings. */
typedef struct hv_kvlist {
    hv_kv_change *items;
    size_t n, cap;
} hv_kvlist;

void hv_kvlist_put(hv_kvlist *l, const char *ns, const char *key, const char *value);
void hv_kvlist_clear(hv_kvlist *l);

/* Work to post to a loop after the commit's events were handed to every
 * loop (so it runs after their delivery there): e.g. closing a deleted
 * peer's socket after it got room.deleted. Posted even if the commit
 * fails. */
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
 * list is posted at once. */
int hv_hub_commit(hv_hub *hub, hv_event **evs, size_t n, hv_kvlist *kv, hv_after *after,
                  hv_loop *origin, hv_publish_done done, void *arg);

#endif
