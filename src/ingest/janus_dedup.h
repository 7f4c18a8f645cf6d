/* SPDX-License-Identifier: MIT */
/* janus_dedup.h — recognises Janus events that were already taken.
 *
 * Janus has no event ids and resends the same batch after a transport
 * error (a dropped connection, an answer slower than 10 s). herald keeps
 * the digests of the last `capacity` Janus events it took, in memory: an
 * event whose digest is there is a duplicate and is skipped. The oldest
 * digest is forgotten first. Thread-safe (one mutex): HTTP handlers on
 * every I/O loop share one set.
 */
#ifndef HV_JANUS_DEDUP_H
#define HV_JANUS_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/janus.h"

typedef struct hv_janus_dedup hv_janus_dedup;

hv_janus_dedup *hv_janus_dedup_new(size_t capacity);
void hv_janus_dedup_free(hv_janus_dedup *d);

/* For each of the n digests: keep[i] = 1 when it is new (it is now
 * remembered), 0 when it was seen before (also earlier in the same call).
 * Returns how many are new. */
size_t hv_janus_dedup_claim(hv_janus_dedup *d, const uint8_t (*digests)[HV_JANUS_DIGEST_LEN],
                            size_t n, uint8_t *keep);

/* Forgets digests claimed by a request that then failed, so that Janus's
 * retry is taken. */
void hv_janus_dedup_forget(hv_janus_dedup *d, const uint8_t (*digests)[HV_JANUS_DIGEST_LEN],
                           size_t n);

#endif
