/* SPDX-License-Identifier: MIT */
/* idem.h — idempotency keys of publishes (issue 18 item 1).
 *
 * A publisher may name a request (Idempotency-Key header) or an event
 * (idempotency_key) with a key; the store remembers, for each key, a hash
 * of what was published under it and the ids it got, in the SAME
 * transaction as the events (hv_commit.idem), so a key outlives a restart
 * or kill -9 exactly as long as its events. The hub (the single writer)
 * looks a key up before committing and answers a repeat with the stored
 * ids instead of storing anything (hub.c, idem_screen). Keys older than
 * the window are treated as absent and pruned with the retention pass.
 */
#ifndef HV_STORE_IDEM_H
#define HV_STORE_IDEM_H

#include <stddef.h>
#include <stdint.h>

typedef struct hv_store hv_store;

#define HV_IDEM_HASH_HEX 64 /* SHA-256 in hex, without terminator */

/* A key to record with a commit: it covers events first..first+count-1
 * of the commit (their ids are recorded once assigned). */
typedef struct hv_idem_put {
    const char *key;
    const char *hash; /* HV_IDEM_HASH_HEX hex digits */
    size_t first, count;
    int64_t ttl_ms;   /* how long the key is kept (the redis engine) */
    void *owner;      /* the caller's, untouched */
    int lost;         /* out: another node recorded the key first (the
                       * redis engine, decided in the commit script): the
                       * events were not stored (ids 0), look the key up */
} hv_idem_put;

/* What the store holds for a key recorded at or after since_ms: 1 with
 * hash (HV_IDEM_HASH_HEX + 1 bytes) and *ids (malloc'd, *n) filled; 0 when
 * there is none; -1 on a store error. Writer thread (the hub's). */
int hv_store_idem_get(hv_store *st, const char *key, int64_t since_ms, char *hash,
                      uint64_t **ids, size_t *n);

/* Deletes a bounded batch of keys recorded before before_ms; returns how
 * many, or -1. Writer thread. */
#define HV_IDEM_PRUNE_BATCH 10000
long hv_store_idem_prune(hv_store *st, int64_t before_ms);

#endif
