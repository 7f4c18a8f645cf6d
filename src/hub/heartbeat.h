/* SPDX-License-Identifier: MIT */
/* heartbeat.h — this node's heartbeat among the nodes sharing one store
 * (the redis engine), and what happens when another node dies: its
 * webhook deliveries are reloaded here and its peers are ended.
 */
#ifndef HV_HEARTBEAT_H
#define HV_HEARTBEAT_H

#include "hub/hooks.h"
#include "net/server.h"

typedef struct hv_heartbeat hv_heartbeat;

/* Starts beating (the store beats on a thread of its own); NULL when the
 * store is this node's alone (sqlite). A takeover calls hooks->kick and
 * hooks->nodes_died (hooks.h; copied). */
hv_heartbeat *hv_heartbeat_start(hv_server *srv, const hv_hub_hooks *hooks);
/* Stops beating (and waits for a takeover being handled). On a clean
 * stop, call hv_store_node_leave once the delivery engine has stopped, so
 * the others take over at once. */
void hv_heartbeat_stop(hv_heartbeat *hb);

#endif
