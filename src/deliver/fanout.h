/* fanout.h — hands committed events to every I/O loop and, on each loop,
 * to that loop's subscribers.
 *
 * One immutable batch (the same event pointers, already encoded) goes to
 * every loop; each loop walks its own subscriber lists and queues the
 * shared frames by reference. Nothing is encoded or allocated per
 * subscriber.
 */
#ifndef HV_FANOUT_H
#define HV_FANOUT_H

#include <stddef.h>

#include "core/event.h"
#include "net/loop.h"

/* Posts events (new references are taken) to every loop of srv. */
void hv_fanout_post(hv_server *srv, hv_event **evs, size_t n);

/* The same in two steps: take the references now, post later. */
typedef struct hv_fanout_batch hv_fanout_batch;
hv_fanout_batch *hv_fanout_prepare(hv_server *srv, hv_event **evs, size_t n);
void hv_fanout_send(hv_server *srv, hv_fanout_batch *b);

/* Posts a MetricsReport, as a protobuf and a JSON frame (the references
 * are taken over), to every loop's metrics subscribers. */
void hv_fanout_metrics(hv_server *srv, hv_frame pb, hv_frame json);

#endif
