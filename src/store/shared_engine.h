/* SPDX-License-Identifier: MIT */
/* shared_engine.h — what an engine whose store several nodes share
 * provides for store/shared.h: a second operation table, pointed to by
 * hv_store_engine.shared (NULL for an engine that is one node's alone,
 * and then every shared.h call is a no-op). store/shared.c dispatches.
 * Not for use outside src/store/.
 */
#ifndef HV_STORE_SHARED_ENGINE_H
#define HV_STORE_SHARED_ENGINE_H

#include "store/engine.h"
#include "store/shared.h"

typedef struct hv_shared_ops {
    void (*kv_share)(hv_store *st, const char *ns);
    uint64_t (*feed_start)(hv_store *st);
    int (*feed_position)(hv_store *st, uint64_t *pos);
    hv_store_feed *(*feed_open)(hv_store *st);
    int (*feed_read)(hv_store_feed *f, uint64_t after, size_t limit, int wait_ms, hv_feed_fn fn,
                     void *arg, char *err, size_t errlen);
    void (*feed_close)(hv_store_feed *f);
    int (*kv_snapshot)(hv_store *st, const char *ns, hv_kv_fn fn, void *arg);
    int (*presence_list)(hv_store *st, const char *node, char ***peers, size_t *n);
} hv_shared_ops;

/* An engine's feed reader embeds this as its first member. */
struct hv_store_feed {
    hv_store *st;
};

#endif
