/* SPDX-License-Identifier: MIT */
/* redis_tail.c — following the shared event log of the Redis engine
 * (store.h hv_store_tail_*): what lets each node see every node's appends.
 *
 * A tail owns one connection of its own (a blocking read must not hold a
 * reader of the pool) and reads with
 *   XREAD COUNT <limit> BLOCK <wait_ms> STREAMS <prefix>log <pos>-0
 * which answers at once when entries after pos exist, else when one is
 * added or after wait_ms (nil). Entries come in id order and, since every
 * commit's XADDs run inside one Lua script with the id counter, the log
 * never gains an entry below one already visible: reading from the last id
 * seen misses nothing. After a read the store's last_id is moved up to the
 * last entry (hv_redis_publish), so history and resume on this node serve
 * it before the caller hands it to any subscriber.
 *
 * Errors are returned, not logged (the caller logs once per outage); the
 * connection is dropped and made again on the next call.
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "store/redis_internal.h"

typedef struct redis_tail {
    hv_store_tail base; /* base.st: the store */
    rconn conn;
} redis_tail;

hv_store_tail *hv_redis_tail_open(hv_store *st)
{
    redis_tail *t = hv_xcalloc(1, sizeof(*t));
    t->base.st = st;
    return &t->base;
}

void hv_redis_tail_close(hv_store_tail *base)
{
    redis_tail *t = (redis_tail *)base;
    hv_redis_disconnect(&t->conn);
    free(t);
}

static void free_events(hv_event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hv_event_unref(evs[i]);
    free(evs);
}

int hv_redis_tail_read(hv_store_tail *base, uint64_t *pos, size_t limit, int wait_ms,
                       hv_event ***out, size_t *n, char *err, size_t errlen)
{
    redis_tail *t = (redis_tail *)base;
    hv_redis *r = hv_redis_of(base->st);
    *out = NULL;
    *n = 0;
    const redisReply *ents = NULL;
    redisReply *rep = hv_redis_xread(r, &t->conn, "log", *pos, limit, wait_ms > 0 ? wait_ms : 1,
                                     "reading the log", &ents, err, errlen);
    if (!rep)
        return -1;
    size_t got = ents ? ents->elements : 0;
    hv_event **evs = got ? hv_xmalloc(got * sizeof(*evs)) : NULL;
    size_t len = 0;
    uint64_t last = *pos, first = 0;
    for (size_t i = 0; i < got; i++) {
        uint64_t id = hv_redis_entry_id(ents->element[i]);
        if (id <= last)
            continue; /* not a herald entry id; never expected */
        last = id;
        if (!first)
            first = id;
        hv_event *ev = hv_redis_entry_event(ents->element[i]);
        if (ev)
            evs[len++] = ev; /* a malformed entry is skipped, as history does */
    }
    freeReplyObject(rep);
    if (got && !evs) {
        set_err(err, errlen, "reading the log: out of memory");
        return -1;
    }
    if (last > *pos) {
        hv_redis_publish(r, first, last);
        *pos = last;
    }
    if (len == 0) {
        free_events(evs, 0);
        evs = NULL;
    }
    *out = evs;
    *n = len;
    return 0;
}
