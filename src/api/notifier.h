/* notifier.h — the server notifier socket (/socket/server/websocket).
 *
 * Fishjam's protocol, to the byte: binary protobuf frames, auth then
 * subscribe (reference fishjam-protocol.md §2-3). A client whose first
 * frame is text speaks the JSON variant instead. Subscribers of each
 * format sit on per-loop lists that fan-out walks.
 */
#ifndef HV_NOTIFIER_H
#define HV_NOTIFIER_H

#include <stdint.h>

#include "core/event.h"
#include "net/loop.h"

/* Queues ev to this loop's notification subscribers; returns how many. */
uint64_t hv_notifier_deliver(hv_loop *l, hv_event *ev);
/* Queues a MetricsReport to this loop's metrics subscribers. */
void hv_notifier_deliver_metrics(hv_loop *l, const hv_frame *pb, const hv_frame *json);

#endif
