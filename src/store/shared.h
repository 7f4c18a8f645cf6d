/* SPDX-License-Identifier: MIT */
/* shared.h — state that several herald nodes share through one store (the
 * redis engine): the change feed that carries state records (rooms, peers,
 * webhook endpoints) to every node, and peers' presence (which node holds
 * a peer's socket), decided inside the commits.
 *
 * The change feed: every committed change of a shared namespace (see
 * hv_store_kv_share) is also appended, in commit order, to a feed that
 * each node reads (hub/replica.c) and applies to its own registries. An
 * entry has a position (1, 2, 3, ... without gaps), so a reader that finds
 * a jump knows the feed was trimmed past what it had read: it then reloads
 * the snapshot (hv_store_kv_snapshot) after taking the feed's position.
 * Engines whose store is one node's (sqlite) have no feed: every function
 * below is then a no-op that says so.
 *
 * Presence: a commit may carry conditions on peers' sessions
 * (hv_presence_op). The store checks and applies them in the same atomic
 * step as the events: an event tied to a condition that does not hold is
 * dropped (no id, not in the log, no webhook row), so two nodes racing on
 * one peer never both announce it. A session is a text "<node>/<number>"
 * naming the node that holds the socket; sessions are kept as records of
 * the namespace "presence" (peer id -> session; loaded with
 * hv_store_kv_load and carried by the feed like any shared change), and
 * per node (hv_store_presence_list) so that the peers of a dead node can
 * be found.
 */
#ifndef HV_STORE_SHARED_H
#define HV_STORE_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define HV_NS_PRESENCE "presence"

/* 1 when other herald nodes may share this store (and the feed exists). */
int hv_store_shared(hv_store *st);

/* Marks namespace ns as shared: its changes also go to the feed. Call
 * before the hub commits anything (the commit thread reads the list). */
void hv_store_kv_share(hv_store *st, const char *ns);

/* One change read from the feed. */
typedef struct hv_kv_entry {
    uint64_t seq;         /* its position in the feed */
    const char *ns;
    const char *key;
    const char *value;    /* NULL: the record was deleted */
    const char *node;     /* the node whose commit made the change */
    uint64_t event_id;    /* the log's last id after that commit (its events are at or below) */
} hv_kv_entry;
typedef void (*hv_feed_fn)(void *arg, const hv_kv_entry *e);

/* The feed's position when the store was opened: read before any
 * snapshot was loaded, so following from it misses nothing. */
uint64_t hv_store_feed_start(hv_store *st);
/* The feed's position now (the last entry appended). Any thread. 0 or -1. */
int hv_store_feed_position(hv_store *st, uint64_t *pos);

/* A reader of the feed with a connection of its own (one thread at a
 * time). NULL when the store is not shared. */
typedef struct hv_store_feed hv_store_feed;
hv_store_feed *hv_store_feed_open(hv_store *st);
/* Calls fn for up to limit entries after position `after`, in order,
 * waiting up to wait_ms for one to come (0: no wait). Returns the number
 * of entries handed, or -1 when the feed could not be read (err says why;
 * the connection is made again on the next call). */
int hv_store_feed_read(hv_store_feed *f, uint64_t after, size_t limit, int wait_ms,
                       hv_feed_fn fn, void *arg, char *err, size_t errlen);
void hv_store_feed_close(hv_store_feed *f);

/* hv_store_kv_load from any thread (a reader connection). */
int hv_store_kv_snapshot(hv_store *st, const char *ns, hv_kv_fn fn, void *arg);

/* Conditions on sessions, checked in order within a commit. */
enum {
    HV_PRESENCE_CONNECT = 1, /* session := value; the event is kept only if there was none */
    HV_PRESENCE_LEAVE,       /* if the session is value: end it, keep the event */
    HV_PRESENCE_LEAVE_NODE,  /* if the session is on node `value`: end it, keep the event */
    HV_PRESENCE_DROP,        /* end any session; keep the event only if there was one */
};
#define HV_PRESENCE_NO_EVENT ((size_t)-1)

typedef struct hv_presence_op {
    int op;               /* HV_PRESENCE_* */
    const char *peer_id;
    const char *value;    /* a session, or a node name (LEAVE_NODE); NULL for DROP */
    size_t event_index;   /* the commit's event it decides, or HV_PRESENCE_NO_EVENT */
} hv_presence_op;

/* The peers whose session is on node (malloc'd array of malloc'd ids).
 * Any thread. 0, or -1 on a store error. */
int hv_store_presence_list(hv_store *st, const char *node, char ***peers, size_t *n);

#endif
