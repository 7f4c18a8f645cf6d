/* SPDX-License-Identifier: MIT */
/* redis_shared.c — the Redis engine's part of store/shared.h: the change
 * feed and peers' presence.
 *
 * The feed is the Stream P kvlog. The COMMIT script (redis_lua.c) appends
 * one entry per change of a shared namespace, and one per session it
 * changed, after the commit's events: entry id "<seq>-0" where seq is the
 * counter P meta kvlog_seq (so positions have no gaps and a reader that
 * sees a jump knows entries were trimmed), fields ns, k (key), v (value,
 * absent when deleted), n (the committing node), e (the log's last id
 * after the commit). The stream is trimmed with MAXLEN ~ (10,000 entries):
 * a node away for longer reloads the snapshot (hub/replica.c).
 *
 * Which namespaces are shared is said by the node (hv_store_kv_share) and
 * sent with every commit, so the store knows no namespace by name; sink
 * positions, written after every sink batch, are not shared and do not
 * crowd the feed.
 *
 * Presence conditions travel with the commit after the node name (see
 * COMMIT in redis_lua.c); the script answers with a mask of the events it
 * kept, and kept events get consecutive ids, so a dropped event leaves no
 * gap in the log.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/redis_internal.h"
#include "store/shared_engine.h"

#define FEED_TRIM "10000" /* entries the feed keeps at least (MAXLEN ~) */

typedef struct redis_feed {
    hv_store_feed base;
    rconn conn;
} redis_feed;

static void rs_kv_share(hv_store *st, const char *ns)
{
    hv_redis *r = hv_redis_of(st);
    for (int i = 0; i < r->nshared; i++)
        if (!strcmp(r->shared_ns[i], ns))
            return;
    if (r->nshared == HV_REDIS_SHARED_MAX || strlen(ns) >= sizeof(r->shared_ns[0])) {
        hv_error("store: cannot share namespace %s with the other nodes", ns);
        return;
    }
    snprintf(r->shared_ns[r->nshared++], sizeof(r->shared_ns[0]), "%s", ns);
}

static uint64_t rs_feed_start(hv_store *st)
{
    return hv_redis_of(st)->feed_start;
}

/* A command on a reader of the pool. */
static int rs_feed_position(hv_store *st, uint64_t *pos)
{
    hv_redis *r = hv_redis_of(st);
    char key[200];
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, "HGET");
    hv__rargs_str(&a, hv_redis_key(r, key, sizeof(key), "meta"));
    hv__rargs_str(&a, "kvlog_seq");
    redisReply *rep = hv_redis_reader_run(r, &a, -1, 1);
    int ok = rep && (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_NIL);
    if (ok)
        *pos = hv_redis_u64(rep);
    if (rep)
        freeReplyObject(rep);
    return ok ? 0 : -1;
}

static hv_store_feed *rs_feed_open(hv_store *st)
{
    redis_feed *f = hv_xcalloc(1, sizeof(*f));
    f->base.st = st;
    return &f->base;
}

static void rs_feed_close(hv_store_feed *base)
{
    redis_feed *f = (redis_feed *)base;
    hv_redis_disconnect(&f->conn);
    free(f);
}

/* One feed entry [id, [field, value, ...]] handed to fn; 0 if malformed. */
static int hand_entry(const redisReply *e, hv_feed_fn fn, void *arg)
{
    hv_kv_entry k = {.seq = hv_redis_entry_id(e)};
    if (!k.seq || e->elements < 2 || e->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *name = f->element[i], *v = f->element[i + 1];
        if (name->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (!strcmp(name->str, "ns"))
            k.ns = v->str;
        else if (!strcmp(name->str, "k"))
            k.key = v->str;
        else if (!strcmp(name->str, "v"))
            k.value = v->str;
        else if (!strcmp(name->str, "n"))
            k.node = v->str;
        else if (!strcmp(name->str, "e"))
            k.event_id = strtoull(v->str, NULL, 10);
    }
    if (!k.ns || !k.key || !k.node)
        return 0;
    fn(arg, &k);
    return 1;
}

static int rs_feed_read(hv_store_feed *base, uint64_t after, size_t limit, int wait_ms,
                        hv_feed_fn fn, void *arg, char *err, size_t errlen)
{
    redis_feed *f = (redis_feed *)base;
    hv_redis *r = hv_redis_of(base->st);
    const redisReply *ents = NULL;
    redisReply *rep = hv_redis_xread(r, &f->conn, "kvlog", after, limit, wait_ms,
                                     "reading the change feed", &ents, err, errlen);
    if (!rep)
        return -1;
    int handed = 0;
    for (size_t i = 0; ents && i < ents->elements; i++)
        handed += hand_entry(ents->element[i], fn, arg);
    freeReplyObject(rep);
    return handed;
}

static int rs_kv_snapshot(hv_store *st, const char *ns, hv_kv_fn fn, void *arg)
{
    hv_redis *r = hv_redis_of(st);
    rconn *c = hv_redis_reader_acquire(r);
    int rc = hv_redis_kv_load_on(r, c, ns, fn, arg);
    hv_redis_reader_release(r, c);
    return rc;
}

static int rs_presence_list(hv_store *st, const char *node, char ***peers, size_t *n)
{
    hv_redis *r = hv_redis_of(st);
    char suffix[200], key[400];
    snprintf(suffix, sizeof(suffix), "presence:%s", node);
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, "SMEMBERS");
    hv__rargs_str(&a, hv_redis_key(r, key, sizeof(key), suffix));
    redisReply *rep = hv_redis_reader_run(r, &a, -1, 1);
    if (!hv_redis_ok(rep, REDIS_REPLY_ARRAY, "presence list")) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    char **out = hv_xcalloc(rep->elements + 1, sizeof(*out));
    size_t len = 0;
    for (size_t i = 0; i < rep->elements; i++)
        if (rep->element[i]->type == REDIS_REPLY_STRING)
            out[len++] = hv_xstrdup(rep->element[i]->str);
    freeReplyObject(rep);
    *peers = out;
    *n = len;
    return 0;
}

const hv_shared_ops hv_redis_shared_ops = {
    .kv_share = rs_kv_share,
    .feed_start = rs_feed_start,
    .feed_position = rs_feed_position,
    .feed_open = rs_feed_open,
    .feed_read = rs_feed_read,
    .feed_close = rs_feed_close,
    .kv_snapshot = rs_kv_snapshot,
    .presence_list = rs_presence_list,
};

/* ---- the commit's part (rd_commit in redis.c) ---- */

static const char *const op_code[] = {
    [HV_PRESENCE_CONNECT] = "c",
    [HV_PRESENCE_LEAVE] = "l",
    [HV_PRESENCE_LEAVE_NODE] = "n",
    [HV_PRESENCE_DROP] = "d",
};

int hv_redis_shared_args(hv_redis *r, rargs *a, const hv_commit *c)
{
    hv__rargs_u64(a, (uint64_t)r->nshared);
    for (int i = 0; i < r->nshared; i++)
        hv__rargs_str(a, r->shared_ns[i]);
    hv__rargs_u64(a, c->npresence);
    for (size_t i = 0; i < c->npresence; i++) {
        const hv_presence_op *p = &c->presence[i];
        int known = p->op >= HV_PRESENCE_CONNECT && p->op <= HV_PRESENCE_DROP;
        if (!known || !p->peer_id || (p->op != HV_PRESENCE_DROP && !p->value) ||
            (p->event_index != HV_PRESENCE_NO_EVENT && p->event_index >= c->n)) {
            hv_error("store: presence condition %zu of a commit of %zu events is malformed", i, c->n);
            return -1;
        }
        hv__rargs_str(a, op_code[p->op]);
        hv__rargs_str(a, p->peer_id);
        hv__rargs_str(a, p->value ? p->value : "");
        if (p->event_index == HV_PRESENCE_NO_EVENT)
            hv__rargs_str(a, "");
        else
            hv__rargs_u64(a, p->event_index);
    }
    return 0;
}

size_t hv_redis_kept_ids(hv_commit *c, const redisReply *mask, uint64_t first, int64_t now)
{
    int ok = mask && mask->type == REDIS_REPLY_STRING && mask->len == c->n;
    if (!ok)
        hv_error("store: a commit's answer lacks its kept events; taking all as kept");
    size_t kept = 0;
    for (size_t i = 0; i < c->n; i++) {
        int keep = !ok || mask->str[i] == '1';
        c->evs[i]->id = keep ? first + ++kept : 0;
        c->evs[i]->time_ms = keep ? now : 0;
    }
    return kept;
}
