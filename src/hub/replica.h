/* SPDX-License-Identifier: MIT */
/* replica.h — keeping this node's rooms, peers, peer tokens and webhook
 * endpoints in step with the other nodes sharing its store (the redis
 * engine): the changes every node commits are read from the store's
 * change feed (store/shared.h) and applied here, in commit order.
 */
#ifndef HV_REPLICA_H
#define HV_REPLICA_H

#include "hub/hooks.h"
#include "net/server.h"

typedef struct hv_replica hv_replica;

/* NULL when the store is this node's alone (sqlite). Marks the shared
 * namespaces, hooks->shared (before the hub commits anything), and
 * follows the feed from where it was when the store was opened, i.e.
 * before the registries loaded their snapshot. hooks (the hub's) must
 * outlive the replica. */
hv_replica *hv_replica_new(hv_server *srv, const hv_hub_hooks *hooks);
/* Starts the reading thread (the loops must exist: closes go to them). */
void hv_replica_start(hv_replica *rp);
/* Applies what the feed holds beyond what was applied, now, on the
 * caller's thread (a thread without the registries' locks that may block
 * on Redis: the catch-up thread, hub/catchup.h; never an I/O loop).
 * Returns 1 when it applied something, 0 when there was nothing new, -1
 * when the feed could not be read. */
int hv_replica_catch_up(hv_replica *rp);
void hv_replica_stop(hv_replica *rp);
void hv_replica_free(hv_replica *rp);

#endif
