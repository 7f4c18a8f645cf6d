/* SPDX-License-Identifier: MIT */
/* reach.c — the per-loop counting filter of channels; see reach.h. */
#include "deliver/reach.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/xalloc.h"

/* 2^16 slots (256 KiB, touched only where channels hash): with 5,000
 * channels on a loop about 7 % of other keys collide. */
#define SLOT_BITS 16
#define SLOTS (1u << SLOT_BITS)

struct hv_reach {
    atomic_uint notifiers;
    atomic_uint slots[SLOTS];
};

hv_reach *hv_reach_new(void)
{
    return hv_xcalloc(1, sizeof(hv_reach));
}

void hv_reach_free(hv_reach *a)
{
    free(a);
}

/* FNV-1a over the kind byte and the key, folded to SLOT_BITS. */
static size_t slot_of(int kind, const char *key)
{
    uint64_t h = 1469598103934665603ull;
    h = (h ^ (uint8_t)kind) * 1099511628211ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)((h ^ (h >> 32) ^ (h >> SLOT_BITS)) & (SLOTS - 1));
}

void hv_reach_channel(hv_reach *a, int kind, const char *key, int delta)
{
    atomic_uint *s = &a->slots[slot_of(kind, key)];
    if (delta > 0)
        atomic_fetch_add(s, 1u);
    else
        atomic_fetch_sub(s, 1u);
}

void hv_reach_notifier(hv_reach *a, int delta)
{
    if (delta > 0)
        atomic_fetch_add(&a->notifiers, 1u);
    else
        atomic_fetch_sub(&a->notifiers, 1u);
}

int hv_reach_wants(const hv_reach *a, const hv_event *ev)
{
    if (atomic_load(&a->notifiers) > 0)
        return 1;
    if (ev->user_id)
        return atomic_load(&a->slots[slot_of(HV_REACH_USER, ev->user_id)]) > 0;
    if (ev->room_id)
        return atomic_load(&a->slots[slot_of(HV_REACH_ROOM, ev->room_id)]) > 0;
    return 0;
}
