/* SPDX-License-Identifier: MIT */
/* shared.c — the public API of store/shared.h, dispatched to the engine's
 * shared operations (shared_engine.h); an engine without them (sqlite) is
 * one node's alone, and each call then does nothing and says so.
 */
#include "store/shared_engine.h"

static const hv_shared_ops *ops_of(hv_store *st)
{
    return st->ops->shared;
}

int hv_store_shared(hv_store *st)
{
    return ops_of(st) != NULL;
}

void hv_store_kv_share(hv_store *st, const char *ns)
{
    if (ops_of(st))
        ops_of(st)->kv_share(st, ns);
}

uint64_t hv_store_feed_start(hv_store *st)
{
    return ops_of(st) ? ops_of(st)->feed_start(st) : 0;
}

int hv_store_feed_position(hv_store *st, uint64_t *pos)
{
    *pos = 0;
    return ops_of(st) ? ops_of(st)->feed_position(st, pos) : 0;
}

hv_store_feed *hv_store_feed_open(hv_store *st)
{
    return ops_of(st) ? ops_of(st)->feed_open(st) : NULL;
}

int hv_store_feed_read(hv_store_feed *f, uint64_t after, size_t limit, int wait_ms,
                       hv_feed_fn fn, void *arg, char *err, size_t errlen)
{
    return ops_of(f->st)->feed_read(f, after, limit, wait_ms, fn, arg, err, errlen);
}

void hv_store_feed_close(hv_store_feed *f)
{
    if (f)
        ops_of(f->st)->feed_close(f);
}

int hv_store_kv_snapshot(hv_store *st, const char *ns, hv_kv_fn fn, void *arg)
{
    return ops_of(st) ? ops_of(st)->kv_snapshot(st, ns, fn, arg) : hv_store_kv_load(st, ns, fn, arg);
}

int hv_store_presence_list(hv_store *st, const char *node, char ***peers, size_t *n)
{
    *peers = NULL;
    *n = 0;
    return ops_of(st) ? ops_of(st)->presence_list(st, node, peers, n) : 0;
}
