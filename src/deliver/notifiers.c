/* SPDX-License-Identifier: MIT */
/* notifiers.c — each loop's server-notifier subscribers, and the send
 * loops that queue shared frames to them; see notifiers.h.
 *
 * A subscriber's frames are the event's own (encoded once, when it was
 * committed), queued by reference: nothing is encoded or allocated per
 * subscriber.
 */
#include "deliver/notifiers.h"

#include "deliver/deliver_internal.h"
#include "deliver/reach.h"
#include "net/server.h"
#include "net/ws.h"

void hv_notifier_sub_init(hv_notifier_sub *s, hv_conn *c)
{
    hv_list_init(&s->events_node);
    hv_list_init(&s->metrics_node);
    s->conn = c;
}

void hv_notifier_sub_events(hv_notifier_sub *s, int binary)
{
    hv_loop_slot *sl = s->conn->loop->slot;
    if (hv_list_linked(&s->events_node))
        return;
    hv_list_push(binary ? &sl->notif_pb : &sl->notif_json, &s->events_node);
    hv_reach_notifier(sl->reach, +1); /* the hub wakes this loop for every event */
}

void hv_notifier_sub_metrics(hv_notifier_sub *s, int binary)
{
    hv_loop_slot *sl = s->conn->loop->slot;
    if (!hv_list_linked(&s->metrics_node))
        hv_list_push(binary ? &sl->metrics_pb : &sl->metrics_json, &s->metrics_node);
}

void hv_notifier_sub_leave(hv_notifier_sub *s)
{
    if (hv_list_linked(&s->events_node))
        hv_reach_notifier(s->conn->loop->slot->reach, -1);
    hv_list_remove(&s->events_node);
    hv_list_remove(&s->metrics_node);
}

static uint64_t send_events(hv_list *head, const hv_frame *f)
{
    uint64_t count = 0;
    hv_list_each(it, head) {
        hv_ws_send_frame(hv_container_of(it, hv_notifier_sub, events_node)->conn, f);
        count++;
    }
    return count;
}

uint64_t hv__notifiers_deliver(hv_loop *l, hv_event *ev)
{
    uint64_t count = send_events(&l->slot->notif_json, &ev->json);
    if (ev->pb.buf) /* types with no protobuf form go to JSON subscribers only */
        count += send_events(&l->slot->notif_pb, &ev->pb);
    return count;
}

static void send_metrics(hv_list *head, const hv_frame *f)
{
    if (!f->buf)
        return;
    hv_list_each(it, head)
        hv_ws_send_frame(hv_container_of(it, hv_notifier_sub, metrics_node)->conn, f);
}

void hv__notifiers_deliver_metrics(hv_loop *l, const hv_frame *pb, const hv_frame *json)
{
    send_metrics(&l->slot->metrics_pb, pb);
    send_metrics(&l->slot->metrics_json, json);
}
