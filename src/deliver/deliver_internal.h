/* deliver_internal.h — what deliver's files share and nothing outside
 * src/deliver/ calls: the send loops fan-out runs on each loop.
 */
#ifndef HV_DELIVER_INTERNAL_H
#define HV_DELIVER_INTERNAL_H

#include <stdint.h>

#include "core/event.h"
#include "net/loop.h"

/* On loop l's thread: queues ev to l's server-notifier event subscribers
 * (notifiers.c); returns how many. */
uint64_t hv__notifiers_deliver(hv_loop *l, hv_event *ev);

/* On loop l's thread: queues a MetricsReport (either frame may be empty)
 * to l's metrics subscribers. */
void hv__notifiers_deliver_metrics(hv_loop *l, const hv_frame *pb, const hv_frame *json);

#endif
