/* SPDX-License-Identifier: MIT */
/* wiring.h — the hook tables of the composition root.
 *
 * net and the hub sit below the layers they must reach (api's routes,
 * deliver's subscribers and webhook engine, rooms' registry): instead of
 * calling them by name they call the functions of a table (net/server.h's
 * hv_net_hooks, hub/hooks.h's hv_hub_hooks), and these fill the tables
 * from the layers above. src/main.c uses them, and so does every program
 * that builds a whole server (the fuzz targets' fixture), so each runs
 * the same wiring. Like main.c this file stands above every layer.
 */
#ifndef HV_WIRING_H
#define HV_WIRING_H

#include "hub/hooks.h"
#include "net/server.h"

/* Installs net's hooks in srv: the request handler (api/router.c) and the
 * loop slot (deliver/loop_slot.c). Before hv_server_start. */
void hv_wiring_net(hv_server *srv);

/* Fills h for srv's modules made so far (rooms, endpoints, sinks: those
 * NULL get no hooks), for hv_hub_start and hv_heartbeat_start: undo
 * locks, webhook rows, fan-out, sinks, the replica's shared namespaces
 * (in snapshot order: a peer needs its room), the heartbeat's takeover. */
void hv_wiring_hub(hv_server *srv, hv_hub_hooks *h);

/* The webhook delivery engine is running (or NULL): committed rows go to
 * it from now on. Callable once the engine started, from the main thread
 * while the hub's thread may be committing. */
void hv_wiring_webhooks_started(hv_webhooks *w);

#endif
