/* SPDX-License-Identifier: MIT */
/* deliver_internal.h — what deliver's files share and nothing outside
 * src/deliver/ reads or calls: the per-loop slot's fields, and the send
 * loops fan-out runs on each loop.
 */
#ifndef HV_DELIVER_INTERNAL_H
#define HV_DELIVER_INTERNAL_H

#include <stdint.h>

#include "core/event.h"
#include "core/list.h"
#include "core/map.h"
#include "net/loop.h"

typedef struct hv_reach hv_reach;

/* One loop's delivery state (loop_slot.h), touched only on that loop's
 * thread except reach, which the hub's threads read. */
struct hv_loop_slot {
    /* Server-notifier subscribers (notifiers.c), by wire format. */
    hv_list notif_pb, notif_json, metrics_pb, metrics_json;
    /* App-client channels (channels.c): id -> hv_list of hv_sub links. */
    hv_map room_subs, user_subs;
    /* Which channels and notifiers exist here, for the hub's threads
     * (reach.h): a loop with no recipient is not woken. */
    hv_reach *reach;
};

/* On loop l's thread: queues ev to l's server-notifier event subscribers
 * (notifiers.c); returns how many. */
uint64_t hv__notifiers_deliver(hv_loop *l, hv_event *ev);

/* On loop l's thread: queues a MetricsReport (either frame may be empty)
 * to l's metrics subscribers. */
void hv__notifiers_deliver_metrics(hv_loop *l, const hv_frame *pb, const hv_frame *json);

#endif
