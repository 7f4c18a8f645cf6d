/* SPDX-License-Identifier: MIT */
/* redis_nodes.c — the nodes sharing one Redis: heartbeats, and the
 * takeover of a node that stopped beating (store.h, hv_store_node_beat).
 *
 * Each node beats into the zset P nodes (score: the time of its last beat,
 * Redis's clock, so nodes' clocks do not matter). The BEAT script
 * (redis_lua.c) also removes every node whose beat is older than the node
 * timeout and, in the same script, moves that node's pending entries in
 * the webhook consumer group to the beating node (XCLAIM) and deletes its
 * consumer: since the removal and the claim happen in one script, exactly
 * one survivor takes a dead node over, whichever beats first.
 *
 * Beats are sent from the redis engine's probe loop (redis_health.c), on
 * its asynchronous connection, once the hub's heartbeat module asked for
 * them (hv_store_node_watch): the node is alive exactly as long as that
 * loop can reach Redis, and a beat never waits behind the node's own
 * work. hv_redis_node_beat is the same beat, synchronous, for tests.
 *
 * A node that restarts under the same name before the timeout simply
 * finds its own pending entries again (they are still its). A node that
 * stops cleanly sets its score to 0 (LEAVE), so the next beat of any
 * other node takes its unfinished deliveries at once.
 *
 * Leases (hv_store_lease) give work that must run on one node at a time,
 * in order (a sink), to one node: a key P lease:<name> holding the node's
 * name with an expiry, taken when free and renewed by its holder; when
 * the holder dies the key expires and the next node to ask takes it.
 */
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/redis_internal.h"

/* The BEAT script's answer {{node, rows}…} as a malloc'd array. */
static hv_node_death *parse_deaths(const redisReply *rep, size_t *n)
{
    hv_node_death *out = rep->elements ? hv_xcalloc(rep->elements, sizeof(*out)) : NULL;
    size_t len = 0;
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *d = rep->element[i];
        if (d->type != REDIS_REPLY_ARRAY || d->elements != 2 ||
            d->element[0]->type != REDIS_REPLY_STRING)
            continue;
        snprintf(out[len].node, sizeof(out[len].node), "%s", d->element[0]->str);
        const redisReply *rows = d->element[1]; /* -1: taken over before, peers left over */
        out[len++].rows = rows->type == REDIS_REPLY_INTEGER ? (long)rows->integer
                                                            : (long)hv_redis_u64(rows);
    }
    *n = len;
    return out;
}

int hv_redis_node_beat(hv_store *st, int64_t now_ms, hv_node_death **dead, size_t *n)
{
    hv_redis *r = hv_redis_of(st);
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, r->prefix);
    hv__rargs_str(&a, r->node);
    hv__rargs_i64(&a, r->node_timeout_ms);
    hv__rargs_i64(&a, now_ms); /* 0: Redis's clock */
    redisReply *rep = hv_redis_reader_run(r, &a, LUA_BEAT, 0);
    if (!hv_redis_ok(rep, REDIS_REPLY_ARRAY, "node heartbeat")) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    *dead = parse_deaths(rep, n);
    freeReplyObject(rep);
    return 0;
}

/* ---- the same beat on the probe's loop (redis_health.c) ---- */

int hv_redis_node_watch(hv_store *st, hv_node_deaths_fn fn, void *arg, int every_ms)
{
    hv_redis *r = hv_redis_of(st);
    rhealth *h = &r->health;
    pthread_mutex_lock(&h->cb_mu); /* waits for a callback running now */
    h->beat_fn = fn;
    h->beat_arg = arg;
    h->beat_every_ms = every_ms > 0 ? every_ms : 1000;
    pthread_mutex_unlock(&h->cb_mu);
    if (fn)
        hv_redis_probe_poke(r); /* the first beat at once */
    return fn != NULL;
}

static void on_beat(redisAsyncContext *ac, void *reply, void *arg)
{
    hv_redis *r = arg;
    rhealth *h = &r->health;
    (void)ac;
    h->beat_outstanding = 0; /* one at a time: this was it (NULL: the connection ended) */
    redisReply *rep = reply;
    if (!rep)
        return;
    if (rep->type == REDIS_REPLY_ERROR) {
        if (!strncmp(rep->str, "NOSCRIPT", 8))
            h->beat_eval = 1; /* Redis restarted without it: send the text */
        else
            hv_warn("nodes: heartbeat refused by Redis: %s", rep->str);
        return;
    }
    if (rep->type != REDIS_REPLY_ARRAY || !rep->elements)
        return;
    size_t n = 0;
    hv_node_death *dead = parse_deaths(rep, &n);
    pthread_mutex_lock(&h->cb_mu);
    if (h->beat_fn && n)
        h->beat_fn(h->beat_arg, dead, n);
    pthread_mutex_unlock(&h->cb_mu);
    free(dead);
}

void hv_redis_beat_tick(hv_redis *r, uint64_t now_ms)
{
    rhealth *h = &r->health;
    pthread_mutex_lock(&h->cb_mu);
    int watching = h->beat_fn != NULL, every = h->beat_every_ms;
    pthread_mutex_unlock(&h->cb_mu);
    if (!watching || h->beat_outstanding || (h->beat_last_ms && now_ms - h->beat_last_ms < (uint64_t)every))
        return;
    redisAsyncContext *ac = hv_redis_probe_context(r);
    if (!ac)
        return;
    char timeout[24];
    snprintf(timeout, sizeof(timeout), "%lld", (long long)r->node_timeout_ms);
    const char *argv[8] = {h->beat_eval ? "EVAL" : "EVALSHA",
                           h->beat_eval ? hv_redis_lua[LUA_BEAT] : r->sha[LUA_BEAT], "0",
                           r->prefix, r->node, timeout, "0" /* now: Redis's clock */, NULL};
    if (redisAsyncCommandArgv(ac, on_beat, r, 7, argv, NULL) == REDIS_OK) {
        h->beat_outstanding = 1;
        h->beat_last_ms = now_ms;
        h->beat_eval = 0;
    }
}

void hv_redis_node_leave(hv_store *st)
{
    hv_redis *r = hv_redis_of(st);
    char key[200];
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, "ZADD");
    hv__rargs_str(&a, hv_redis_key(r, key, sizeof(key), "nodes"));
    hv__rargs_str(&a, "XX");
    hv__rargs_str(&a, "0");
    hv__rargs_str(&a, r->node);
    redisReply *rep = hv_redis_reader_run(r, &a, -1, 0);
    if (hv_redis_ok(rep, REDIS_REPLY_INTEGER, "node leave"))
        hv_info("store: node %s left; the other nodes take over its unfinished deliveries",
                r->node);
    if (rep)
        freeReplyObject(rep);
}

int hv_redis_lease(hv_store *st, const char *name, int64_t ttl_ms)
{
    hv_redis *r = hv_redis_of(st);
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, r->prefix);
    hv__rargs_str(&a, name);
    hv__rargs_str(&a, r->node);
    hv__rargs_i64(&a, ttl_ms > 0 ? ttl_ms : 0);
    redisReply *rep = hv_redis_reader_run(r, &a, LUA_LEASE, 0);
    int held = hv_redis_ok(rep, REDIS_REPLY_INTEGER, "lease") ? (int)rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    return held;
}

/* ---- what Redis records about the nodes (GET /v1/nodes) ---- */

static int64_t int_of(const redisReply *x)
{
    return x->type == REDIS_REPLY_INTEGER ? (int64_t)x->integer : (int64_t)hv_redis_u64(x);
}

static void parse_node(const redisReply *d, hv_node_info *o)
{
    snprintf(o->node, sizeof(o->node), "%s", d->element[0]->str);
    o->beat_ms = int_of(d->element[1]);
    o->reaped_ms = int_of(d->element[2]);
    o->sessions = (long)int_of(d->element[3]);
    o->webhook_rows = (long)int_of(d->element[4]);
}

int hv_redis_nodes(hv_store *st, const char *const *leases, size_t nleases, size_t max,
                   hv_nodes_view *out)
{
    hv_redis *r = hv_redis_of(st);
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, r->prefix);
    hv__rargs_u64(&a, max);
    for (size_t i = 0; i < nleases; i++)
        hv__rargs_str(&a, leases[i]);
    redisReply *rep = hv_redis_reader_run(r, &a, LUA_NODES, 1 /* read only */);
    if (!hv_redis_ok(rep, REDIS_REPLY_ARRAY, "nodes") || rep->elements != 4 ||
        rep->element[2]->type != REDIS_REPLY_ARRAY || rep->element[3]->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    const redisReply *ns = rep->element[2], *ls = rep->element[3];
    out->now_ms = int_of(rep->element[0]);
    out->truncated = int_of(rep->element[1]) != 0;
    out->timeout_ms = r->node_timeout_ms;
    out->nodes = ns->elements ? hv_xcalloc(ns->elements, sizeof(*out->nodes)) : NULL;
    for (size_t i = 0; i < ns->elements && out->n < max; i++) {
        const redisReply *d = ns->element[i];
        if (d->type == REDIS_REPLY_ARRAY && d->elements == 5 && d->element[0]->type == REDIS_REPLY_STRING)
            parse_node(d, &out->nodes[out->n++]);
    }
    out->leases = nleases ? hv_xcalloc(nleases, sizeof(*out->leases)) : NULL;
    out->nleases = nleases;
    for (size_t i = 0; i < nleases; i++) {
        snprintf(out->leases[i].name, sizeof(out->leases[i].name), "%s", leases[i]);
        if (i < ls->elements && ls->element[i]->type == REDIS_REPLY_STRING)
            snprintf(out->leases[i].holder, sizeof(out->leases[i].holder), "%s", ls->element[i]->str);
    }
    freeReplyObject(rep);
    return 0;
}
