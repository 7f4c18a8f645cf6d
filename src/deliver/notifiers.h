/* SPDX-License-Identifier: MIT */
/* notifiers.h — the server-notifier subscribers of each loop.
 *
 * api/notifier.c runs a server-notifier socket's handshake, auth and
 * subscribe; a socket that subscribed sits here, on its own loop's lists
 * (one per wire format, for events and for metrics reports), which
 * fan-out (fanout.c) walks beside the app-client channels (channels.c).
 * Everything here runs on the socket's loop thread, with no lock; the
 * api's per-socket struct embeds its hv_notifier_sub, so subscribing
 * allocates nothing.
 */
#ifndef HV_NOTIFIERS_H
#define HV_NOTIFIERS_H

#include "core/list.h"
#include "net/conn.h"

typedef struct hv_notifier_sub {
    hv_list events_node;  /* on the loop's event subscribers of its format */
    hv_list metrics_node; /* on the loop's metrics subscribers of its format */
    hv_conn *conn;
} hv_notifier_sub;

/* Before any other call: s belongs to the socket c. */
void hv_notifier_sub_init(hv_notifier_sub *s, hv_conn *c);

/* Subscribes s to every committed event (binary: the protobuf frames,
 * else the JSON ones); the hub then wakes this loop for every event.
 * Does nothing when s is already subscribed. */
void hv_notifier_sub_events(hv_notifier_sub *s, int binary);

/* Subscribes s to the metrics reports; nothing when already subscribed. */
void hv_notifier_sub_metrics(hv_notifier_sub *s, int binary);

/* Takes s off every list (its socket is closing). */
void hv_notifier_sub_leave(hv_notifier_sub *s);

#endif
