/* SPDX-License-Identifier: MIT */
/* reach.h — each loop's summary of who it could deliver to, readable by
 * the hub without touching the loop's single-thread maps.
 *
 * The hub reads it after a commit to skip waking a loop that has no
 * subscriber for any event of the batch (at moderate publish rates a
 * wake-up of an idle loop costs more than the delivery itself). It is a
 * counting filter: one counter per hash slot of "room channel R" or "user
 * channel U", plus the number of server-notifier event subscribers (which
 * take every event). Counters only say "maybe": a collision makes a
 * needless wake-up, never a missed one.
 *
 * Ordering: a loop counts a channel (seq_cst) before a new subscriber's
 * history read starts; the hub (or, with the redis engine, the log
 * follower, hub/follower.c) checks (seq_cst) after the store has
 * published the batch's last id. So a subscriber the hub did not see reads
 * the batch from the store in its resume, and one that does not resume
 * only asked for events from its subscription on.
 */
#ifndef HV_REACH_H
#define HV_REACH_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/event.h"

typedef struct hv_reach hv_reach;

enum { HV_REACH_ROOM = 'r', HV_REACH_USER = 'u' };

hv_reach *hv_reach_new(void);
void hv_reach_free(hv_reach *a);

/* On the loop's thread: a channel of that kind and key appeared (+1) or
 * went away (-1); a server notifier subscribed to events (+1) or left. */
void hv_reach_channel(hv_reach *a, int kind, const char *key, int delta);
void hv_reach_notifier(hv_reach *a, int delta);

/* Any thread: 1 when the loop may have a recipient for ev. Mirrors the
 * routing of deliver/notifiers.c and hv_channels_deliver. */
int hv_reach_wants(const hv_reach *a, const hv_event *ev);

#endif
