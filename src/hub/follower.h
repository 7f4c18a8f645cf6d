/* SPDX-License-Identifier: MIT */
/* follower.h — the log follower: with a store whose log several herald
 * nodes share (the redis engine), the one path by which committed events
 * reach this node's subscribers, whichever node committed them.
 *
 * The hub creates it when hv_store_tail_open gives a tail (never with
 * SQLite, where the hub fans out its own commits directly) and then hands
 * it no events: it answers its publishers after the commit and leaves the
 * fan-out to the follower, which reads every new log entry in id order and
 * posts it to the loops like the hub's hand-off (the fan-out hooks,
 * hooks.h: the reach check). See follower.c for why stream reads and not Pub/Sub.
 */
#ifndef HV_FOLLOWER_H
#define HV_FOLLOWER_H

#include <stdint.h>

#include "hub/hub.h"

typedef struct hv_follower hv_follower;

/* NULL when the store's log is this node's alone. Follows from the
 * store's last_id at this moment (call before any subscriber exists). */
hv_follower *hv_follower_new(hv_server *srv, const hv_hub_hooks *hooks);
/* Starts reading (the loops must exist). */
void hv_follower_start(hv_follower *f);
/* Posts the after-commit work `after` once every event up to `id` has
 * been handed to the loops (at once if it already has). */
void hv_follower_after(hv_follower *f, uint64_t id, hv_after *after);
/* Ends the thread and posts every after-commit work still waiting. */
void hv_follower_stop(hv_follower *f);
void hv_follower_free(hv_follower *f);

#endif
