/* SPDX-License-Identifier: MIT */
/* engine.h — the store as an interface: what every storage engine provides.
 *
 * hv_store and hv_outbox (store.h, outbox.h) are opaque to callers; inside
 * src/store/ each begins with the engine's operation table, and store.c
 * turns every public hv_store_* / hv_outbox_* call into one call through it.
 * An engine embeds `hv_store` (and `hv_outbox`) as the first member of its
 * own structs and casts back in its operations. Engines:
 *   sqlite  store/sqlite.c, sqlite_outbox.c, sqlite_audience.c  (embedded default)
 *   redis   store/redis*.c                         (shared by several nodes)
 * Each operation has exactly the contract of the public function it backs
 * (see store.h and outbox.h), except that store.c has already bounded the
 * arguments both engines share: a history query's limit is 1..
 * HV_STORE_HISTORY_MAX, an attempts page's limit 1..HV_OUTBOX_ATTEMPTS_MAX
 * and its endpoint id is not NULL.
 * Not for use outside src/store/.
 */
#ifndef HV_STORE_ENGINE_H
#define HV_STORE_ENGINE_H

#include <stdarg.h>
#include <stdio.h>

#include "store/idem.h"
#include "store/outbox.h"
#include "store/store.h"

#define HV_STORE_HISTORY_MAX 10000  /* events one history page may hold */
#define HV_OUTBOX_ATTEMPTS_MAX 1000 /* attempts one deliveries page may hold */

typedef struct hv_store_engine {
    const char *name;
    void (*close)(hv_store *st);
    int (*commit)(hv_store *st, hv_commit *c);
    int (*kv_load)(hv_store *st, const char *ns, hv_kv_fn fn, void *arg);
    int (*history)(hv_store *st, const hv_history_query *q, hv_event ***out, size_t *n);
    int (*audience)(hv_store *st, uint64_t after_id, size_t limit, const char *user_id,
                    const char *const *rooms, size_t nrooms, hv_event ***out, size_t *n);
    int (*by_created)(hv_store *st, const hv_created_query *q, hv_event ***out, size_t *n);
    long (*prune)(hv_store *st, uint64_t keep_events, int64_t max_age_ms, int64_t now_ms);
    uint64_t (*last_id)(hv_store *st);
    uint64_t (*first_id)(hv_store *st);
    int (*available)(hv_store *st, char *why, size_t len); /* NULL: always */
    /* following a shared log (NULL: the engine's log is this node's alone) */
    hv_store_tail *(*tail_open)(hv_store *st);
    int (*tail_read)(hv_store_tail *t, uint64_t *pos, size_t limit, int wait_ms,
                     hv_event ***out, size_t *n, char *err, size_t errlen);
    void (*tail_close)(hv_store_tail *t);
    /* nodes sharing the store (NULL: this node is alone) */
    int (*node_beat)(hv_store *st, int64_t now_ms, hv_node_death **dead, size_t *n);
    void (*node_leave)(hv_store *st);
    int (*node_watch)(hv_store *st, hv_node_deaths_fn fn, void *arg, int every_ms);
    int (*lease)(hv_store *st, const char *name, int64_t ttl_ms);
    int (*nodes)(hv_store *st, const char *const *leases, size_t nleases, size_t max,
                 hv_nodes_view *out);
    /* state shared with other nodes (store/shared_engine.h; NULL: none) */
    const struct hv_shared_ops *shared;
    /* the outbox, reader side (any thread) */
    char *(*attempts_json)(hv_store *st, const char *endpoint_id, uint64_t before_id,
                           size_t limit);
    int (*row_state)(hv_store *st, const char *endpoint_id, uint64_t outbox_id);
    long (*pending_count)(hv_store *st, const char *endpoint_id);
    /* the delivery engine's connection */
    hv_outbox *(*outbox_open)(hv_store *st, char *err, size_t errlen);
    void (*outbox_close)(hv_outbox *ob);
    int (*load_pending)(hv_outbox *ob, const char *endpoint_id, uint64_t after_id, size_t limit,
                        hv_outbox_item **out, size_t *n);
    int (*load_events)(hv_outbox *ob, const uint64_t *ids, size_t n, hv_event **out);
    int (*record)(hv_outbox *ob, hv_attempt *a, size_t n);
    int (*retry)(hv_outbox *ob, const char *endpoint_id, uint64_t outbox_id, int64_t now_ms);
    /* idempotency keys (store/idem.h; NULL: not kept) */
    int (*idem_get)(hv_store *st, const char *key, int64_t since_ms, char *hash, uint64_t **ids,
                    size_t *n);
    long (*idem_prune)(hv_store *st, int64_t before_ms);
    long (*insert)(hv_outbox *ob, const char *endpoint_id, const uint64_t *event_ids, size_t n,
                   int64_t now_ms, uint64_t *first_id);
    /* endpoints' rate limits shared by the nodes (outbox.h; NULL: kept in memory) */
    int (*rate_take)(hv_outbox *ob, const char *endpoint_id, double per_second, int burst, int64_t *wait_ms);
} hv_store_engine;

struct hv_store {
    const hv_store_engine *ops;
};

struct hv_outbox {
    const hv_store_engine *ops;
};

/* An engine's tail embeds this as its first member. */
struct hv_store_tail {
    hv_store *st;
};

/* The engines' constructors (hv_store_open picks one). */
hv_store *hv_sqlite_open(const hv_store_options *opt, char *err, size_t errlen);
hv_store *hv_redis_open(const hv_store_options *opt, char *err, size_t errlen);

static inline void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#endif
