/* SPDX-License-Identifier: MIT */
/* fanout.h — hands committed events to every I/O loop and, on each loop,
 * to that loop's subscribers.
 *
 * One immutable batch (the same event pointers, already encoded) goes to
 * every loop that may have a recipient for it (the hub posts it in the
 * same message as that loop's publish answers); each loop walks its own
 * subscriber lists and queues the shared frames by reference. Nothing is encoded or allocated per
 * subscriber.
 */
#ifndef HV_FANOUT_H
#define HV_FANOUT_H

#include <stddef.h>

#include "core/event.h"
#include "net/loop.h"

/* A committed batch, shared by the loops it is handed to. */
typedef struct hv_fanout_batch hv_fanout_batch;

/* Any thread: 1 when loop l may have a recipient for one of the events
 * (its reach summary); a loop for which this is 0 need not be woken. */
int hv_fanout_wanted(hv_loop *l, hv_event *const *evs, size_t n);

/* Takes a reference on each event; the batch is freed after `loops`
 * calls of hv_fanout_deliver. */
hv_fanout_batch *hv_fanout_prepare(hv_event *const *evs, size_t n, int loops);

/* On loop l's thread: queues the batch's frames on l's subscribers, then
 * drops that loop's reference. */
void hv_fanout_deliver(hv_loop *l, hv_fanout_batch *b);

/* Posts a MetricsReport, as a protobuf and a JSON frame (the references
 * are taken over), to every loop's metrics subscribers. */
void hv_fanout_metrics(hv_server *srv, hv_frame pb, hv_frame json);

#endif
