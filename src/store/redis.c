/* SPDX-License-Identifier: MIT */
/* redis.c — the Redis engine of the store (engine.h): the event log in a
 * Redis Stream that several herald nodes can share, state records in
 * hashes, the webhook outbox beside them (redis_outbox.c). Keys and their
 * layout: redis_internal.h; the scripts: redis_lua.c; connections:
 * redis_conn.c.
 *
 * Durability: herald acknowledges a publish once the store said the commit
 * is durable. With this engine that holds only when Redis runs with
 * `appendonly yes` and `appendfsync always` (Redis fsyncs the append-only
 * file before it answers); open checks CONFIG GET and refuses a weaker
 * Redis unless --sync-full 0 says the operator accepts losing the last
 * acknowledged events (then it warns).
 * Redis 6.2 or newer is required (XTRIM MINID, exclusive stream ranges).
 *
 * Writing: the hub's commit thread owns one connection. A commit (events,
 * kv changes, outbox rows) is one script (COMMIT): it takes the next ids
 * from the shared counter, the time from Redis's clock (never going back,
 * so times are the same on every node), XADDs the events, applies the kv
 * changes and writes the outbox rows — all or nothing. If the connection
 * fails while the script runs, herald cannot know whether it ran: the
 * commit returns HV_STORE_UNKNOWN (store.h), the publish fails, and the
 * events may still be in the log (as when SQLite's disk fails between
 * COMMIT and its answer). While redis_health.c knows Redis is down the
 * commit is not tried (and the hub refuses work before it gets here).
 * For tests, HERALD_TEST_REDIS_COMMIT_GATE holds commits in Redis on
 * demand (redis_internal.h, commit_gate): the unknown outcome on purpose.
 *
 * Reading: a small pool of connections (HV_REDIS_READERS), like SQLite's
 * readers. History and audience read the log with XRANGE, bounded by this
 * node's published last_id (history never runs ahead of an append that has
 * not returned), and filter room, user, type and time in C: fine for now,
 * but a filtered query over a long log reads every entry in its id range
 * (an index per room or user, as SQLite has, would fix that). last_id and
 * first_id are this node's view: loaded at open, moved up by its own
 * commits and by the log follower's reads of every node's appends
 * (redis_tail.c, hub/follower.c; both move them only up), first_id also
 * by this node's prunes. A commit that finds first_id still 0 asks Redis
 * for the oldest retained event: other nodes' events may precede its own
 * in the log before this node's follower has read them.
 *
 * Pruning keeps the newest keep_events events and those younger than
 * max_age_ms, never deleting one a pending outbox row needs (P ob:owed).
 * Like the SQLite engine it keeps a horizon (every id >= horizon is
 * retained) so history never shows holes; first_id is the oldest event at
 * or above it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/redis_internal.h"

#define SCAN_PAGE 1000      /* stream entries read per XRANGE when filtering */
#define PRUNE_SCAN HV_STORE_PRUNE_BATCH /* log entries one prune may look at (and delete) */
#define KV_PAGE 500

static const hv_store_engine redis_engine;

static void rd_close(hv_store *base)
{
    hv_redis *r = hv_redis_of(base);
    if (!r)
        return;
    hv_redis_health_stop(r);
    hv_redis_disconnect(&r->writer);
    for (int i = 0; i < HV_REDIS_READERS; i++)
        hv_redis_disconnect(&r->readers[i]);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* A simple command on the writer connection, from a list of strings. */
static redisReply *writer_cmd(hv_redis *r, int argc, const char **argv)
{
    rargs a;
    hv__rargs_init(&a);
    for (int i = 0; i < argc; i++)
        hv__rargs_str(&a, argv[i]);
    redisReply *rep = hv_redis_cmd(r, &r->writer, &a, 1);
    hv__rargs_free(&a);
    return rep;
}

/* Redis 6.2 or newer, and an append-only file fsynced on every write:
 * what herald acknowledges must survive Redis's machine stopping. With
 * sync_full (--sync-full 1, the default) a weaker Redis is refused at
 * start; with --sync-full 0 the operator chose speed over power-loss
 * safety, and a weaker Redis is only warned about. A Redis that does not
 * say (CONFIG refused, as some managed services do) is warned about. */
static int check_server(hv_redis *r, int sync_full, char *err, size_t errlen)
{
    redisReply *rep = writer_cmd(r, 2, (const char *[]){"INFO", "server"});
    if (!rep || rep->type != REDIS_REPLY_STRING) {
        set_err(err, errlen, "Redis INFO failed: %s", rep && rep->str ? rep->str : "no answer");
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    const char *v = strstr(rep->str, "redis_version:");
    int major = 0, minor = 0;
    if (v)
        sscanf(v + 14, "%d.%d", &major, &minor);
    freeReplyObject(rep);
    if (major < 6 || (major == 6 && minor < 2)) {
        set_err(err, errlen, "Redis %d.%d is too old: the redis engine needs 6.2 or newer",
                major, minor);
        return -1;
    }
    const char *names[2] = {"appendonly", "appendfsync"}, *want[2] = {"yes", "always"};
    for (int i = 0; i < 2; i++) {
        rep = writer_cmd(r, 3, (const char *[]){"CONFIG", "GET", names[i]});
        const char *got = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
                                  rep->element[1]->type == REDIS_REPLY_STRING
                              ? rep->element[1]->str
                              : NULL;
        int weak = got && strcmp(got, want[i]) != 0;
        if (!got)
            hv_warn("store: cannot read Redis's %s setting (CONFIG GET refused?): "
                    "acknowledged events are durable only with appendonly yes and "
                    "appendfsync always", names[i]);
        else if (weak && sync_full)
            set_err(err, errlen, "Redis runs with %s %s: events herald acknowledged could be lost "
                    "if Redis or its machine stops; run Redis with appendonly yes and appendfsync "
                    "always, or start herald with --sync-full 0 to accept that", names[i], got);
        else if (weak)
            hv_warn("store: Redis runs with %s %s: acknowledged events may be lost if Redis "
                    "or its machine stops (--sync-full 0 accepts that)", names[i], got);
        if (rep)
            freeReplyObject(rep);
        if (weak && sync_full)
            return -1;
        if (weak)
            break;
    }
    return 0;
}

static int load_scripts(hv_redis *r, char *err, size_t errlen)
{
    for (int i = 0; i < LUA_COUNT; i++) {
        redisReply *rep = writer_cmd(r, 3, (const char *[]){"SCRIPT", "LOAD", hv_redis_lua[i]});
        int ok = rep && rep->type == REDIS_REPLY_STRING && rep->len == 40;
        if (ok)
            memcpy(r->sha[i], rep->str, 41);
        else
            set_err(err, errlen, "Redis SCRIPT LOAD failed: %s",
                    rep && rep->str ? rep->str : "no answer");
        if (rep)
            freeReplyObject(rep);
        if (!ok)
            return -1;
    }
    return 0;
}

/* last_id, horizon and the first event at or above it. */
static int load_state(hv_redis *r, char *err, size_t errlen)
{
    char meta[200], log[200];
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, "HMGET");
    hv__rargs_str(&a, hv_redis_key(r, meta, sizeof(meta), "meta"));
    hv__rargs_str(&a, "last_id");
    hv__rargs_str(&a, "horizon");
    hv__rargs_str(&a, "kvlog_seq"); /* before any snapshot is loaded: see shared.h */
    redisReply *rep = hv_redis_cmd(r, &r->writer, &a, 1);
    hv__rargs_free(&a);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
        set_err(err, errlen, "cannot read %s: %s", meta, rep && rep->str ? rep->str : "no answer");
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    uint64_t last = hv_redis_u64(rep->element[0]), horizon = hv_redis_u64(rep->element[1]);
    r->feed_start = hv_redis_u64(rep->element[2]);
    freeReplyObject(rep);
    char start[32];
    snprintf(start, sizeof(start), "%llu-0", (unsigned long long)horizon);
    rep = writer_cmd(r, 6, (const char *[]){"XRANGE", hv_redis_key(r, log, sizeof(log), "log"),
                                            start, "+", "COUNT", "1"});
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        set_err(err, errlen, "cannot read %s: %s", log, rep && rep->str ? rep->str : "no answer");
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    atomic_store(&r->last_id, last);
    atomic_store(&r->first_id, rep->elements ? hv_redis_entry_id(rep->element[0]) : 0);
    freeReplyObject(rep);
    return 0;
}

hv_store *hv_redis_open(const hv_store_options *opt, char *err, size_t errlen)
{
    hv_redis *r = hv_xcalloc(1, sizeof(*r));
    r->base.ops = &redis_engine;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    hv_redis_health_init(r);
    const char *prefix = opt->redis_prefix && *opt->redis_prefix ? opt->redis_prefix : "herald:";
    if (strlen(prefix) >= sizeof(r->prefix) - 32) {
        set_err(err, errlen, "Redis key prefix too long");
        goto fail;
    }
    strcpy(r->prefix, prefix);
    snprintf(r->node, sizeof(r->node), "%s", opt->node_id && *opt->node_id ? opt->node_id : "herald");
    r->node_timeout_ms = opt->node_timeout_ms > 0 ? opt->node_timeout_ms : 10000;
    const char *gate = getenv("HERALD_TEST_REDIS_COMMIT_GATE");
    if (gate && *gate) {
        snprintf(r->commit_gate, sizeof(r->commit_gate), "%s", gate);
        hv_warn("store: test hook HERALD_TEST_REDIS_COMMIT_GATE: every commit waits until the "
                "Redis list '%s' holds an element (never set this in production)", r->commit_gate);
    }
    if (hv_redis_parse_url(r, opt->redis_url, err, errlen) != 0 ||
        hv_redis_connect(r, &r->writer, err, errlen) != 0 || check_server(r, opt->sync_full, err, errlen) != 0 ||
        load_scripts(r, err, errlen) != 0 || load_state(r, err, errlen) != 0)
        goto fail;
    for (int i = 0; i < HV_REDIS_READERS; i++) {
        if (hv_redis_connect(r, &r->readers[i], err, errlen) != 0)
            goto fail;
        r->idle[r->nidle++] = &r->readers[i];
    }
    if (hv_redis_health_start(r, err, errlen) != 0)
        goto fail;
    hv_info("store: redis %s:%d db %d prefix '%s' (last id %llu)", r->host, r->port, r->db,
            r->prefix, (unsigned long long)atomic_load(&r->last_id));
    return &r->base;
fail:
    rd_close(&r->base);
    return NULL;
}

/* ---- commits (hub thread) ---- */

static void commit_failed(hv_commit *c)
{
    for (size_t i = 0; i < c->n; i++) {
        c->evs[i]->id = 0;
        c->evs[i]->time_ms = 0;
    }
    for (size_t i = 0; i < c->noutbox; i++)
        c->outbox[i].id = 0;
}

/* The oldest retained event (LUA_FIRST), or `fallback` when Redis does
 * not answer. Asked by a commit that finds this node's view of the log
 * empty (first_id 0): the log may hold other nodes' events this node's
 * follower has not read yet (it opened on an empty log, or is backing off
 * after an outage), and taking the commit's own first id as the oldest
 * would hide them from history and resume here until the follower caught
 * up, and make a resume skip them for good (channels.c drops live events
 * at or below what it replayed). */
static uint64_t oldest_retained(hv_redis *r, uint64_t fallback)
{
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, r->prefix);
    redisReply *rep = hv_redis_eval(r, &r->writer, LUA_FIRST, &a, 0);
    hv__rargs_free(&a);
    uint64_t first = fallback;
    if (hv_redis_ok(rep, REDIS_REPLY_INTEGER, "first id") && rep->integer > 0 &&
        (uint64_t)rep->integer < fallback)
        first = (uint64_t)rep->integer;
    if (rep)
        freeReplyObject(rep);
    return first;
}

static int rd_commit(hv_store *base, hv_commit *c)
{
    hv_redis *r = hv_redis_of(base);
    if (c->n == 0 && c->nkv == 0 && c->noutbox == 0 && c->nidem == 0)
        return 0;
    for (size_t i = 0; i < c->noutbox; i++)
        if (c->outbox[i].event_index >= c->n || !c->outbox[i].endpoint_id) {
            hv_error("store: outbox row %zu names event %zu of a commit of %zu", i,
                     c->outbox[i].event_index, c->n);
            commit_failed(c);
            return -1;
        }
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, r->prefix);
    hv__rargs_u64(&a, c->n);
    hv__rargs_u64(&a, c->nkv);
    hv__rargs_u64(&a, c->noutbox);
    for (size_t i = 0; i < c->n; i++) {
        const hv_event *ev = c->evs[i];
        hv__rargs_str(&a, ev->type);
        hv__rargs_opt(&a, ev->room_id);
        hv__rargs_opt(&a, ev->user_id);
        if (ev->data)
            hv__rargs_add(&a, ev->data, ev->data_len);
        else
            hv__rargs_str(&a, "{}");
        char key[40] = "";
        if (ev->created_set == HV_CREATED_KEY && ev->user_id)
            snprintf(key, sizeof(key), "=%.17g", ev->created_key);
        hv__rargs_copy(&a, key);
    }
    for (size_t i = 0; i < c->nkv; i++) {
        hv__rargs_str(&a, c->kv[i].ns);
        hv__rargs_str(&a, c->kv[i].key);
        hv__rargs_opt(&a, c->kv[i].value);
    }
    for (size_t i = 0; i < c->noutbox; i++) {
        hv__rargs_str(&a, c->outbox[i].endpoint_id);
        hv__rargs_u64(&a, c->outbox[i].event_index);
        hv__rargs_i64(&a, c->outbox[i].next_at_ms);
    }
    hv__rargs_str(&a, r->node);
    if (hv_redis_shared_args(r, &a, c) != 0) {
        hv__rargs_free(&a);
        commit_failed(c);
        return -1;
    }
    hv__rargs_u64(&a, c->nidem);
    for (size_t i = 0; i < c->nidem; i++) {
        const hv_idem_put *p = &c->idem[i];
        hv__rargs_str(&a, p->key);
        hv__rargs_str(&a, p->hash);
        hv__rargs_u64(&a, p->first);
        hv__rargs_u64(&a, p->count);
        hv__rargs_i64(&a, p->ttl_ms > 0 ? p->ttl_ms : 1);
    }
    r->writer.gate = r->commit_gate[0] ? r->commit_gate : NULL;
    redisReply *rep = hv_redis_eval(r, &r->writer, LUA_COMMIT, &a, 0);
    r->writer.gate = NULL;
    hv__rargs_free(&a);
    if (!hv_redis_ok(rep, REDIS_REPLY_ARRAY, "commit") || rep->elements != 4 + c->noutbox) {
        hv_error("store: commit of %zu events failed", c->n);
        int unknown = !rep && r->writer.sent; /* sent, no answer: it may have run */
        if (rep)
            freeReplyObject(rep);
        commit_failed(c);
        return unknown ? HV_STORE_UNKNOWN : -1;
    }
    uint64_t first = (uint64_t)rep->element[0]->integer;
    int64_t now = rep->element[1]->integer;
    for (size_t i = 0; i < c->noutbox; i++)
        c->outbox[i].id = (uint64_t)rep->element[2 + i]->integer;
    /* A presence condition may have dropped events (redis_shared.c). */
    size_t kept = hv_redis_kept_ids(c, rep->element[2 + c->noutbox], first, now);
    const redisReply *im = rep->element[3 + c->noutbox];
    for (size_t i = 0; i < c->nidem; i++)
        c->idem[i].lost = im->type == REDIS_REPLY_STRING && i < im->len && im->str[i] == '0';
    freeReplyObject(rep);
    if (kept == 0)
        return 0;
    uint64_t from = first + 1;
    if (atomic_load(&r->first_id) == 0)
        from = oldest_retained(r, from);
    hv_redis_publish(r, from, first + kept);
    return 0;
}

/* P idem:<key> holds "<hash> <id>,<id>..." until the window passes
 * (written by the commit script, IDEM_RECORD in redis_lua.c). */
static int hv_redis_idem_get(hv_store *base, const char *key, int64_t since_ms, char *hash,
                      uint64_t **ids, size_t *n)
{
    (void)since_ms; /* the key expires in Redis after the window */
    hv_redis *r = hv_redis_of(base);
    char name[512], suffix[300];
    snprintf(suffix, sizeof(suffix), "idem:%s", key);
    hv_redis_key(r, name, sizeof(name), suffix);
    const char *argv[2] = {"GET", name};
    redisReply *rep = writer_cmd(r, 2, argv);
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    int found = rep->type == REDIS_REPLY_STRING;
    if (found) {
        const char *sp = memchr(rep->str, ' ', rep->len);
        size_t hl = sp ? (size_t)(sp - rep->str) : rep->len;
        snprintf(hash, HV_IDEM_HASH_HEX + 1, "%.*s", (int)(hl > HV_IDEM_HASH_HEX ? HV_IDEM_HASH_HEX : hl), rep->str);
        size_t cnt = 1;
        for (size_t i = 0; i < rep->len; i++)
            cnt += rep->str[i] == ',';
        *ids = hv_xmalloc(cnt * sizeof(**ids));
        const char *p = sp ? sp + 1 : rep->str + rep->len, *end = rep->str + rep->len;
        while (p < end && *n < cnt) {
            (*ids)[(*n)++] = strtoull(p, NULL, 10);
            const char *c = memchr(p, ',', (size_t)(end - p));
            p = c ? c + 1 : end;
        }
    }
    freeReplyObject(rep);
    return found;
}

static int rd_kv_load(hv_store *base, const char *ns, hv_kv_fn fn, void *arg)
{
    hv_redis *r = hv_redis_of(base);
    return hv_redis_kv_load_on(r, &r->writer, ns, fn, arg);
}

int hv_redis_kv_load_on(hv_redis *r, rconn *c, const char *ns, hv_kv_fn fn, void *arg)
{
    char order[512], hash[512], suffix[400];
    snprintf(suffix, sizeof(suffix), "kvo:%s", ns);
    hv_redis_key(r, order, sizeof(order), suffix);
    snprintf(suffix, sizeof(suffix), "kv:%s", ns);
    hv_redis_key(r, hash, sizeof(hash), suffix);
    for (long start = 0;; start += KV_PAGE) {
        rargs a;
        hv__rargs_init(&a);
        hv__rargs_str(&a, "ZRANGE");
        hv__rargs_str(&a, order);
        hv__rargs_i64(&a, start);
        hv__rargs_i64(&a, start + KV_PAGE - 1);
        redisReply *keys = hv_redis_cmd(r, c, &a, 1);
        hv__rargs_free(&a);
        if (!hv_redis_ok(keys, REDIS_REPLY_ARRAY, "kv load")) {
            if (keys)
                freeReplyObject(keys);
            return -1;
        }
        size_t nk = keys->elements;
        redisReply *vals = NULL;
        if (nk > 0) {
            hv__rargs_init(&a);
            hv__rargs_str(&a, "HMGET");
            hv__rargs_str(&a, hash);
            for (size_t i = 0; i < nk; i++)
                hv__rargs_add(&a, keys->element[i]->str, keys->element[i]->len);
            vals = hv_redis_cmd(r, c, &a, 1);
            hv__rargs_free(&a);
            if (!hv_redis_ok(vals, REDIS_REPLY_ARRAY, "kv load") || vals->elements != nk) {
                freeReplyObject(keys);
                if (vals)
                    freeReplyObject(vals);
                return -1;
            }
            for (size_t i = 0; i < nk; i++)
                if (vals->element[i]->type == REDIS_REPLY_STRING)
                    fn(arg, keys->element[i]->str, vals->element[i]->str);
            freeReplyObject(vals);
        }
        freeReplyObject(keys);
        if (nk < KV_PAGE)
            return 0;
    }
}

/* ---- reading the log (any thread) ---- */

typedef int (*match_fn)(const hv_event *ev, const void *arg);

/* Events with ids in [from, to] that match, in id order, at most limit. */
static int scan_log(hv_redis *r, uint64_t from, uint64_t to, size_t limit, match_fn match,
                    const void *arg, hv_event ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (from > to || limit == 0)
        return 0;
    size_t cap = limit < 64 ? limit : 64, len = 0;
    hv_event **evs = hv_xmalloc(cap * sizeof(*evs));
    char key[200], start[32], end[32];
    hv_redis_key(r, key, sizeof(key), "log");
    snprintf(end, sizeof(end), "%llu-0", (unsigned long long)to);
    size_t page = match ? SCAN_PAGE : (limit < SCAN_PAGE ? limit : SCAN_PAGE);
    int rc = 0;
    rconn *c = hv_redis_reader_acquire(r);
    while (len < limit && from <= to) {
        snprintf(start, sizeof(start), "%llu-0", (unsigned long long)from);
        rargs a;
        hv__rargs_init(&a);
        hv__rargs_str(&a, "XRANGE");
        hv__rargs_str(&a, key);
        hv__rargs_str(&a, start);
        hv__rargs_str(&a, end);
        hv__rargs_str(&a, "COUNT");
        hv__rargs_u64(&a, page);
        redisReply *rep = hv_redis_cmd(r, c, &a, 1);
        hv__rargs_free(&a);
        if (!hv_redis_ok(rep, REDIS_REPLY_ARRAY, "XRANGE")) {
            if (rep)
                freeReplyObject(rep);
            rc = -1;
            break;
        }
        for (size_t i = 0; i < rep->elements && len < limit; i++) {
            hv_event *ev = hv_redis_entry_event(rep->element[i]);
            if (!ev)
                continue;
            if (match && !match(ev, arg)) {
                hv_event_unref(ev);
                continue;
            }
            if (len == cap)
                evs = hv_xrealloc(evs, (cap *= 2) * sizeof(*evs));
            evs[len++] = ev;
        }
        size_t got = rep->elements;
        from = got ? hv_redis_entry_id(rep->element[got - 1]) + 1 : to + 1;
        freeReplyObject(rep);
        if (rc != 0 || got < page)
            break;
    }
    hv_redis_reader_release(r, c);
    if (rc != 0) {
        for (size_t i = 0; i < len; i++)
            hv_event_unref(evs[i]);
        free(evs);
        return -1;
    }
    *out = evs;
    *n = len;
    return 0;
}

static int same(const char *want, const char *have)
{
    return !want || (have && !strcmp(want, have));
}

static int history_match(const hv_event *ev, const void *arg)
{
    const hv_history_query *q = arg;
    return same(q->room_id, ev->room_id) && same(q->user_id, ev->user_id) &&
           same(q->type, ev->type) && (!q->after_time_ms || ev->time_ms > q->after_time_ms);
}

static int rd_history(hv_store *base, const hv_history_query *q, hv_event ***out, size_t *n)
{
    hv_redis *r = hv_redis_of(base);
    *out = NULL;
    *n = 0;
    size_t limit = q->limit;
    uint64_t high = atomic_load(&r->last_id);
    if (q->after_id >= high)
        return 0;
    uint64_t first = atomic_load(&r->first_id);
    if (first == 0)
        return 0;
    uint64_t after = q->after_id >= first ? q->after_id : first - 1;
    int filtered = q->room_id || q->user_id || q->type || q->after_time_ms;
    return scan_log(r, after + 1, high, limit, filtered ? history_match : NULL, q, out, n);
}

typedef struct audience_arg {
    const char *user_id;
    const char *const *rooms;
    size_t nrooms;
} audience_arg;

static int audience_match(const hv_event *ev, const void *arg)
{
    const audience_arg *a = arg;
    if (ev->user_id)
        return a->user_id && !strcmp(a->user_id, ev->user_id);
    if (!ev->room_id)
        return 0;
    for (size_t i = 0; i < a->nrooms; i++)
        if (!strcmp(a->rooms[i], ev->room_id))
            return 1;
    return 0;
}

static int rd_audience(hv_store *base, uint64_t after_id, size_t limit, const char *user_id,
                       const char *const *rooms, size_t nrooms, hv_event ***out, size_t *n)
{
    hv_redis *r = hv_redis_of(base);
    audience_arg a = {user_id, rooms, nrooms};
    return scan_log(r, after_id + 1, atomic_load(&r->last_id), limit, audience_match, &a, out, n);
}

static long rd_prune(hv_store *base, uint64_t keep_events, int64_t max_age_ms, int64_t now_ms)
{
    hv_redis *r = hv_redis_of(base);
    if (keep_events == 0 && max_age_ms <= 0)
        return 0;
    if (keep_events > ((uint64_t)1 << 53))
        keep_events = 0; /* beyond any log: no count limit */
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, r->prefix);
    hv__rargs_u64(&a, keep_events);
    hv__rargs_i64(&a, max_age_ms > 0 ? max_age_ms : 0);
    hv__rargs_i64(&a, PRUNE_SCAN);
    hv__rargs_i64(&a, now_ms); /* 0: Redis's clock */
    redisReply *rep = hv_redis_eval(r, &r->writer, LUA_PRUNE, &a, 0);
    hv__rargs_free(&a);
    long deleted = -1;
    if (hv_redis_ok(rep, REDIS_REPLY_ARRAY, "prune") && rep->elements == 3) {
        deleted = (long)rep->element[0]->integer;
        atomic_store(&r->first_id, hv_redis_u64(rep->element[2]));
    } else {
        hv_error("store: prune failed");
    }
    if (rep)
        freeReplyObject(rep);
    return deleted;
}

static uint64_t rd_last_id(hv_store *base)
{
    return atomic_load(&hv_redis_of(base)->last_id);
}

static uint64_t rd_first_id(hv_store *base)
{
    return atomic_load(&hv_redis_of(base)->first_id);
}

static const hv_store_engine redis_engine = {
    .name = "redis",
    .close = rd_close,
    .commit = rd_commit,
    .idem_get = hv_redis_idem_get,
    .kv_load = rd_kv_load,
    .history = rd_history,
    .audience = rd_audience,
    .by_created = hv_redis_by_created,
    .prune = rd_prune,
    .last_id = rd_last_id,
    .first_id = rd_first_id,
    .tail_open = hv_redis_tail_open,
    .tail_read = hv_redis_tail_read,
    .tail_close = hv_redis_tail_close,
    .available = hv_redis_available,
    .node_beat = hv_redis_node_beat,
    .node_leave = hv_redis_node_leave,
    .node_watch = hv_redis_node_watch,
    .shared = &hv_redis_shared_ops,
    .lease = hv_redis_lease,
    .nodes = hv_redis_nodes,
    .attempts_json = hv_redis_attempts_json,
    .row_state = hv_redis_row_state,
    .pending_count = hv_redis_pending_count,
    .outbox_open = hv_redis_outbox_open,
    .outbox_close = hv_redis_outbox_close,
    .load_pending = hv_redis_load_pending,
    .load_events = hv_redis_load_events,
    .record = hv_redis_record,
    .retry = hv_redis_retry,
    .insert = hv_redis_insert,
    .rate_take = hv_redis_rate_take,
};
