/* SPDX-License-Identifier: MIT */
/* idem.h — the commit thread's screening of idempotency keys (hub.c);
 * private to src/hub. */
#ifndef HV_HUB_IDEM_H
#define HV_HUB_IDEM_H

#include "core/map.h"
#include "hub/hub.h"

/* Screens one request's claims against the store (keys recorded at or
 * after since_ms) and the group's earlier requests (set: the keys they claimed, each the
 * claim's own string). Returns 1 when
 * an earlier request of the group claims one of its keys: it must wait
 * for the next group (nothing is changed). Otherwise returns 0 with each
 * claim's state set, skip[i] set for each of the n events not to store,
 * and the request's new keys added to set. */
int hv__idem_screen(hv_store *st, int64_t since_ms, hv_map *set, hv_idem_claim *claims,
                    size_t nclaims, unsigned char *skip, size_t n);

/* Screens the idempotency keys of a group's requests (keys recorded
 * within window_s seconds) and takes out of *list those that must wait
 * for the next group; returns them, in order (NULL: none). */
struct pub_req;
struct pub_req *hv__idem_screen_group(hv_store *st, double window_s, struct pub_req **list);

/* After a commit: each key the store found recorded by another node
 * meanwhile (put->lost; its events were not stored) is looked up again,
 * so its request answers the first ids (or 409). */
void hv__idem_lost(hv_store *st, hv_idem_put *puts, size_t n);

#endif
