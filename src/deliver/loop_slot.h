/* SPDX-License-Identifier: MIT */
/* loop_slot.h — deliver's per-loop state: the hv_loop_slot each I/O loop
 * carries for it (net/loop.h).
 *
 * A slot holds one loop's server-notifier lists (notifiers.c), its
 * app-client channel maps (channels.c) and its reach summary for the hub
 * (reach.h). net knows only the pointer: main.c hands it these two
 * functions (hv_server.net.slot_new / slot_free), and net calls them when
 * it makes and frees a loop. Delivery then costs one pointer hop from the
 * loop, with no lock and no allocation per event.
 */
#ifndef HV_LOOP_SLOT_H
#define HV_LOOP_SLOT_H

#include "net/loop.h"

/* At hv_loop_new (any thread, before the loop runs). Aborts on no memory. */
hv_loop_slot *hv_deliver_slot_new(hv_loop *l);

/* At hv_loop_free, once every subscriber of the loop has left. */
void hv_deliver_slot_free(hv_loop *l, hv_loop_slot *s);

#endif
