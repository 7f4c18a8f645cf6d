/* SPDX-License-Identifier: MIT */
/* redis_created.c — the seeds' replay by created_at on the Redis engine
 * (engine.h by_created; the contract is hv_store_by_created's).
 *
 * The index is one zset per user, P acc:<user> (redis_internal.h), written
 * by the commit script with the event and pruned with it. A page is one
 * read-only script (LUA_BY_CREATED) on a reader connection: it finds the
 * cursor's rank in O(log n) and reads the page's entries by id, so the
 * cost does not grow with the user's events before the cursor or with the
 * log, as the SQLite engine's index range does not.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/redis_internal.h"

int hv_redis_by_created(hv_store *base, const hv_created_query *q, hv_event ***out, size_t *n)
{
    hv_redis *r = hv_redis_of(base);
    uint64_t first = atomic_load(&r->first_id), high = atomic_load(&r->last_id);
    if (q->max_id < high)
        high = q->max_id;
    if (first == 0 || high < first)
        return 0;
    char key[40], aid[24] = "";
    snprintf(key, sizeof(key), "%.17g", q->after_key);
    if (q->after_id != UINT64_MAX)
        snprintf(aid, sizeof(aid), "%llu", (unsigned long long)q->after_id);
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, r->prefix);
    hv__rargs_str(&a, q->user_id);
    hv__rargs_str(&a, key);
    hv__rargs_str(&a, aid);
    hv__rargs_u64(&a, first);
    hv__rargs_u64(&a, high);
    hv__rargs_u64(&a, q->limit);
    redisReply *rep = hv_redis_reader_run(r, &a, LUA_BY_CREATED, 1);
    if (!hv_redis_ok(rep, REDIS_REPLY_ARRAY, "replay by created_at")) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    hv_event **evs = hv_xcalloc(rep->elements ? rep->elements : 1, sizeof(*evs));
    size_t len = 0;
    for (size_t i = 0; i < rep->elements; i++) {
        hv_event *ev = hv_redis_entry_event(rep->element[i]);
        if (ev && ev->created_set == HV_CREATED_KEY)
            evs[len++] = ev;
        else
            hv_event_unref(ev);
    }
    freeReplyObject(rep);
    *out = evs;
    *n = len;
    return 0;
}
