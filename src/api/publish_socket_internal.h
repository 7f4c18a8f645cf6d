/* SPDX-License-Identifier: MIT */
/* publish_socket_internal.h — what publish_socket.c shares with
 * publish_socket_keys.c (the idempotency keys of its frames, issue 18
 * item 1). Private to src/api. */
#ifndef HV_API_PUBLISH_SOCKET_INTERNAL_H
#define HV_API_PUBLISH_SOCKET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/map.h"
#include "hub/hub.h"
#include "net/server.h"

/* One frame's answer, waiting for its turn. */
typedef struct hv__pub_slot {
    int status;       /* 0 pending at the hub, 200 committed, else 400 / 409 / 503 */
    uint32_t nev;     /* events of the frame */
    size_t bytes;     /* the frame's size, counted against --max-body */
    uint64_t id;      /* 200 with one event */
    char *text;       /* 200 with several: the ids list; an error: its message */
    uint8_t replayed; /* 200: a key of the frame was replayed ("replayed":true) */
} hv__pub_slot;

/* Frames gathered for one hub request: consecutive frames (seq first..last;
 * those refused at once have their answer already) and their events. A
 * batch whose frames carry keys also holds their claims, one per key, each
 * scoped to its frame (a conflict refuses that frame alone). */
typedef struct hv__pub_batch {
    struct hv__pub_batch *next;
    hv_event **evs;
    size_t nev, evcap;
    uint64_t first, last;
    hv_idem_claim *claims;
    size_t nclaims, ccap;
    char **keys;       /* the claims' keys (owned) */
    hv_map keyset;     /* the same keys, to find a repeat (zeroed = empty) */
} hv__pub_batch;

/* 1 when one of the n keys (NULL: none) is claimed by a frame of b. */
int hv__pub_batch_has_key(const hv__pub_batch *b, char *const *keys, size_t n);

/* Adds the claims of a frame whose n events start at b->evs[off]: keys[i]
 * (NULL: none) covers event off+i; the keys and the array are taken. */
void hv__pub_batch_add_keys(hv__pub_batch *b, char **keys, hv_event **evs, size_t n, size_t off);

/* Frees what b holds but its events (the hub took those). */
void hv__pub_batch_free(hv__pub_batch *b);

/* Sets a pending frame's answer after its keyed batch committed: its nev
 * events are evs[off..] of the batch; *ci is the cursor over b->claims (in
 * frame order). 409 naming the first key used with another event, 503
 * when a key could not be read, else 200 with the first ids of replayed
 * keys and the new ids of the others. */
void hv__pub_keyed_answer(hv_server *srv, const hv__pub_batch *b, size_t *ci, hv__pub_slot *s,
                          hv_event **evs, size_t off);

#endif
