/* SPDX-License-Identifier: MIT */
/* store.c — the public store and outbox API (store.h, outbox.h), dispatched
 * to the engine chosen at open (engine.h).
 *
 * hv_store_open reads opt->engine: NULL, "" or "sqlite" opens the embedded
 * SQLite engine (store/sqlite.c), "redis" the Redis engine (store/redis.c).
 * Every other function forwards to the engine's operation table; the
 * contracts are those of store.h and outbox.h, whatever the engine.
 */
#include <stdlib.h>
#include <string.h>

#include "store/engine.h"

hv_store *hv_store_open(const hv_store_options *opt, char *err, size_t errlen)
{
    if (!opt) {
        set_err(err, errlen, "no store options given");
        return NULL;
    }
    if (!opt->engine || !*opt->engine || !strcmp(opt->engine, "sqlite"))
        return hv_sqlite_open(opt, err, errlen);
    if (!strcmp(opt->engine, "redis"))
        return hv_redis_open(opt, err, errlen);
    set_err(err, errlen, "unknown store engine '%s' (sqlite or redis)", opt->engine);
    return NULL;
}

void hv_store_close(hv_store *st)
{
    if (st)
        st->ops->close(st);
}

int hv_store_append(hv_store *st, hv_event **evs, size_t n)
{
    return hv_store_append_kv(st, evs, n, NULL, 0);
}

int hv_store_append_kv(hv_store *st, hv_event **evs, size_t n, const hv_kv_change *kv, size_t nkv)
{
    hv_commit c = {.evs = evs, .n = n, .kv = kv, .nkv = nkv};
    return hv_store_commit(st, &c);
}

int hv_store_commit(hv_store *st, hv_commit *c)
{
    return st->ops->commit(st, c);
}

int hv_store_kv_load(hv_store *st, const char *ns, hv_kv_fn fn, void *arg)
{
    return st->ops->kv_load(st, ns, fn, arg);
}

int hv_store_history(hv_store *st, const hv_history_query *q, hv_event ***out, size_t *n)
{
    hv_history_query bounded = *q;
    bounded.limit = q->limit < 1 ? 1 : q->limit > HV_STORE_HISTORY_MAX ? HV_STORE_HISTORY_MAX : q->limit;
    return st->ops->history(st, &bounded, out, n);
}

int hv_store_audience(hv_store *st, uint64_t after_id, size_t limit, const char *user_id,
                      const char *const *rooms, size_t nrooms, hv_event ***out, size_t *n)
{
    return st->ops->audience(st, after_id, limit, user_id, rooms, nrooms, out, n);
}

int hv_store_by_created(hv_store *st, const hv_created_query *q, hv_event ***out, size_t *n)
{
    hv_created_query bounded = *q;
    bounded.limit = q->limit < 1 ? 1 : q->limit > HV_STORE_HISTORY_MAX ? HV_STORE_HISTORY_MAX : q->limit;
    *out = NULL;
    *n = 0;
    if (!q->user_id)
        return 0;
    if (!st->ops->by_created)
        return -1;
    return st->ops->by_created(st, &bounded, out, n);
}

long hv_store_prune(hv_store *st, uint64_t keep_events, int64_t max_age_ms)
{
    return st->ops->prune(st, keep_events, max_age_ms, 0);
}

long hv_store_prune_at(hv_store *st, uint64_t keep_events, int64_t max_age_ms, int64_t now_ms)
{
    return st->ops->prune(st, keep_events, max_age_ms, now_ms > 0 ? now_ms : 0);
}

int hv_store_idem_get(hv_store *st, const char *key, int64_t since_ms, char *hash,
                      uint64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    return st->ops->idem_get ? st->ops->idem_get(st, key, since_ms, hash, ids, n) : 0;
}

long hv_store_idem_prune(hv_store *st, int64_t before_ms)
{
    return st->ops->idem_prune ? st->ops->idem_prune(st, before_ms) : 0;
}

uint64_t hv_store_last_id(hv_store *st)
{
    return st->ops->last_id(st);
}

uint64_t hv_store_first_id(hv_store *st)
{
    return st->ops->first_id(st);
}

int hv_store_available(hv_store *st, char *why, size_t len)
{
    return st->ops->available ? st->ops->available(st, why, len) : 1;
}

hv_store_tail *hv_store_tail_open(hv_store *st)
{
    return st->ops->tail_open ? st->ops->tail_open(st) : NULL;
}

int hv_store_tail_read(hv_store_tail *t, uint64_t *pos, size_t limit, int wait_ms,
                       hv_event ***out, size_t *n, char *err, size_t errlen)
{
    return t->st->ops->tail_read(t, pos, limit, wait_ms, out, n, err, errlen);
}

void hv_store_tail_close(hv_store_tail *t)
{
    if (t)
        t->st->ops->tail_close(t);
}

/* ---- the outbox ---- */

hv_outbox *hv_outbox_open(hv_store *st, char *err, size_t errlen)
{
    return st->ops->outbox_open(st, err, errlen);
}

void hv_outbox_close(hv_outbox *ob)
{
    if (ob)
        ob->ops->outbox_close(ob);
}

int hv_outbox_load_pending(hv_outbox *ob, uint64_t after_id, size_t limit, hv_outbox_item **out,
                           size_t *n)
{
    return ob->ops->load_pending(ob, NULL, after_id, limit, out, n);
}

int hv_outbox_load_endpoint(hv_outbox *ob, const char *endpoint_id, uint64_t after_id, size_t limit,
                            hv_outbox_item **out, size_t *n)
{
    if (!endpoint_id) {
        *out = NULL;
        *n = 0;
        return -1;
    }
    return ob->ops->load_pending(ob, endpoint_id, after_id, limit, out, n);
}

int hv_outbox_load_events(hv_outbox *ob, const uint64_t *ids, size_t n, hv_event **out)
{
    return n ? ob->ops->load_events(ob, ids, n, out) : 0;
}

int hv_outbox_record(hv_outbox *ob, hv_attempt *a, size_t n)
{
    return ob->ops->record(ob, a, n);
}

int hv_outbox_retry(hv_outbox *ob, const char *endpoint_id, uint64_t outbox_id, int64_t now_ms)
{
    return ob->ops->retry(ob, endpoint_id, outbox_id, now_ms);
}

long hv_outbox_insert(hv_outbox *ob, const char *endpoint_id, const uint64_t *event_ids, size_t n,
                      int64_t now_ms, uint64_t *first_id)
{
    return ob->ops->insert(ob, endpoint_id, event_ids, n, now_ms, first_id);
}

int hv_outbox_rate_shared(hv_outbox *ob)
{
    return ob->ops->rate_take != NULL;
}

int hv_outbox_rate_take(hv_outbox *ob, const char *endpoint_id, double per_second, int burst, int64_t *wait_ms)
{
    *wait_ms = 0;
    return ob->ops->rate_take ? ob->ops->rate_take(ob, endpoint_id, per_second, burst, wait_ms) : 0;
}

char *hv_outbox_attempts_json(hv_store *st, const char *endpoint_id, uint64_t before_id,
                              size_t limit)
{
    if (!endpoint_id)
        return NULL;
    limit = limit < 1 ? 1 : limit > HV_OUTBOX_ATTEMPTS_MAX ? HV_OUTBOX_ATTEMPTS_MAX : limit;
    return st->ops->attempts_json(st, endpoint_id, before_id, limit);
}

int hv_outbox_row_state(hv_store *st, const char *endpoint_id, uint64_t outbox_id)
{
    return st->ops->row_state(st, endpoint_id, outbox_id);
}

long hv_outbox_pending_count(hv_store *st, const char *endpoint_id)
{
    return st->ops->pending_count(st, endpoint_id);
}

int hv_store_node_beat(hv_store *st, hv_node_death **dead, size_t *n)
{
    return hv_store_node_beat_at(st, 0, dead, n);
}

int hv_store_node_beat_at(hv_store *st, int64_t now_ms, hv_node_death **dead, size_t *n)
{
    *dead = NULL;
    *n = 0;
    return st->ops->node_beat ? st->ops->node_beat(st, now_ms > 0 ? now_ms : 0, dead, n) : 0;
}

int hv_store_node_watch(hv_store *st, hv_node_deaths_fn fn, void *arg, int every_ms)
{
    return st->ops->node_watch ? st->ops->node_watch(st, fn, arg, every_ms) : 0;
}

void hv_store_node_leave(hv_store *st)
{
    if (st->ops->node_leave)
        st->ops->node_leave(st);
}

int hv_store_nodes(hv_store *st, const char *const *leases, size_t nleases, size_t max,
                   hv_nodes_view *out)
{
    memset(out, 0, sizeof(*out));
    if (!st->ops->nodes)
        return 1;
    return st->ops->nodes(st, leases, nleases, max < 1 || max > HV_NODES_LIST_MAX ? HV_NODES_LIST_MAX : max, out);
}

void hv_nodes_view_free(hv_nodes_view *v)
{
    free(v->nodes);
    free(v->leases);
    memset(v, 0, sizeof(*v));
}

int hv_store_lease(hv_store *st, const char *name, int64_t ttl_ms)
{
    if (!st->ops->lease)
        return ttl_ms > 0 ? 1 : 0;
    return st->ops->lease(st, name, ttl_ms);
}
