/* SPDX-License-Identifier: MIT */
/* janus_dedup.c — the bounded set of recent Janus event digests; see
 * janus_dedup.h.
 *
 * A ring of `capacity` slots holds the digests in arrival order; a map
 * (core/map.c) from the digest's hex text to its slot number + 1 answers
 * "seen?". Claiming a digest when the ring is full overwrites the oldest
 * slot and drops that slot's map entry, unless the entry now points to a
 * newer slot (the digest was forgotten and claimed again).
 */
#include "ingest/janus_dedup.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/map.h"
#include "core/xalloc.h"

#define KEY_LEN (HV_JANUS_DIGEST_LEN * 2 + 1)

struct hv_janus_dedup {
    uv_mutex_t mu;
    hv_map seen;           /* hex digest -> (void *)(slot + 1) */
    char (*ring)[KEY_LEN]; /* "" when the slot is free */
    size_t cap, next;
};

static void hex(const uint8_t *d, char out[KEY_LEN])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < HV_JANUS_DIGEST_LEN; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[KEY_LEN - 1] = 0;
}

hv_janus_dedup *hv_janus_dedup_new(size_t capacity)
{
    hv_janus_dedup *d = hv_xcalloc(1, sizeof(*d));
    d->cap = capacity ? capacity : 1;
    d->ring = hv_xcalloc(d->cap, KEY_LEN);
    if (uv_mutex_init(&d->mu) != 0)
        abort();
    hv_map_init(&d->seen);
    return d;
}

void hv_janus_dedup_free(hv_janus_dedup *d)
{
    if (!d)
        return;
    hv_map_free(&d->seen);
    uv_mutex_destroy(&d->mu);
    free(d->ring);
    free(d);
}

/* Remembers key in the next slot, evicting that slot's old digest. */
static void remember(hv_janus_dedup *d, const char *key)
{
    size_t slot = d->next;
    d->next = (d->next + 1) % d->cap;
    char *old = d->ring[slot];
    if (old[0] && hv_map_get(&d->seen, old) == (void *)(uintptr_t)(slot + 1))
        hv_map_del(&d->seen, old);
    memcpy(old, key, KEY_LEN);
    hv_map_put(&d->seen, key, (void *)(uintptr_t)(slot + 1));
}

size_t hv_janus_dedup_claim(hv_janus_dedup *d, const uint8_t (*digests)[HV_JANUS_DIGEST_LEN],
                            size_t n, uint8_t *keep)
{
    size_t fresh = 0;
    uv_mutex_lock(&d->mu);
    for (size_t i = 0; i < n; i++) {
        char key[KEY_LEN];
        hex(digests[i], key);
        keep[i] = hv_map_get(&d->seen, key) == NULL;
        if (keep[i]) {
            remember(d, key);
            fresh++;
        }
    }
    uv_mutex_unlock(&d->mu);
    return fresh;
}

void hv_janus_dedup_forget(hv_janus_dedup *d, const uint8_t (*digests)[HV_JANUS_DIGEST_LEN],
                           size_t n)
{
    uv_mutex_lock(&d->mu);
    for (size_t i = 0; i < n; i++) {
        char key[KEY_LEN];
        hex(digests[i], key);
        hv_map_del(&d->seen, key); /* its ring slot stays until overwritten */
    }
    uv_mutex_unlock(&d->mu);
}
