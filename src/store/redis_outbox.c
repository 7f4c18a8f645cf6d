/* SPDX-License-Identifier: MIT */
/* redis_outbox.c — the durable webhook outbox (outbox.h) of the Redis
 * engine: rows and attempts in Redis hashes, indexed by sorted sets (keys
 * in redis_internal.h, scripts in redis_lua.c).
 *
 * Rows are written with their events by the COMMIT script (redis.c), so a
 * delivery owed for an acknowledged event is stored with it. The delivery
 * engine's connection (hv_outbox) is one Redis connection behind a mutex;
 * every change it makes is one script: RECORD (a batch of attempts and the
 * rows' new states), RETRY, INSERT (replay). The reader side (attempts
 * history, row state, pending counts) uses the store's reader pool. Row
 * and attempt ids come from counters in P meta, so they are never reused.
 *
 * Several nodes: each row has one owner. The script that creates a row
 * (COMMIT, INSERT, RETRY of a finished row) queues it on the stream
 * P ob:q and reads it at once through the consumer group `webhooks` as the
 * calling node, so it sits in that node's pending entries list (and in
 * P ob:own:<node>, which LOAD_PENDING reads) until RECORD finishes it and
 * acknowledges it. RECORD refuses an attempt from a node that no longer
 * holds the row (lost: it lets it go). A dead node's entries are moved to
 * the survivor that takes it over (BEAT, redis_nodes.c); a manual retry
 * moves a pending row to the node asked (XCLAIM).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/redis_internal.h"
#include "store/text_json.h"


typedef struct rd_outbox {
    hv_outbox base; /* ops: the Redis engine */
    hv_redis *r;
    rconn c;
    pthread_mutex_t mu; /* serializes every call on c */
} rd_outbox;

hv_outbox *hv_redis_outbox_open(hv_store *st, char *err, size_t errlen)
{
    rd_outbox *ob = hv_xcalloc(1, sizeof(*ob));
    ob->base.ops = st->ops;
    ob->r = hv_redis_of(st);
    pthread_mutex_init(&ob->mu, NULL);
    if (hv_redis_connect(ob->r, &ob->c, err, errlen) != 0) {
        hv_redis_outbox_close(&ob->base);
        return NULL;
    }
    return &ob->base;
}

void hv_redis_outbox_close(hv_outbox *base)
{
    rd_outbox *ob = (rd_outbox *)base;
    if (!ob)
        return;
    hv_redis_disconnect(&ob->c);
    pthread_mutex_destroy(&ob->mu);
    free(ob);
}

/* Runs script s on the engine's connection. */
static redisReply *ob_eval(rd_outbox *ob, int s, rargs *a, int retry)
{
    pthread_mutex_lock(&ob->mu);
    redisReply *rep = hv_redis_eval(ob->r, &ob->c, s, a, retry);
    pthread_mutex_unlock(&ob->mu);
    return rep;
}

redisReply *hv_redis_outbox_eval(hv_outbox *base, int s, rargs *a)
{
    return ob_eval((rd_outbox *)base, s, a, 0);
}

hv_redis *hv_redis_outbox_redis(hv_outbox *base)
{
    return ((rd_outbox *)base)->r;
}

static void free_items(hv_outbox_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].event)
            hv_event_unref(items[i].event);
    free(items);
}

int hv_redis_load_pending(hv_outbox *base, const char *endpoint_id, uint64_t after_id,
                          size_t limit, hv_outbox_item **out, size_t *n)
{
    rd_outbox *ob = (rd_outbox *)base;
    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, ob->r->prefix);
    hv__rargs_u64(&a, after_id);
    hv__rargs_u64(&a, limit);
    hv__rargs_str(&a, ob->r->node);
    hv__rargs_str(&a, endpoint_id ? endpoint_id : "");
    redisReply *rep = ob_eval(ob, LUA_LOAD_PENDING, &a, 1);
    hv__rargs_free(&a);
    if (!hv_redis_ok(rep, REDIS_REPLY_ARRAY, "outbox load")) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    hv_outbox_item *items = rep->elements ? hv_xcalloc(rep->elements, sizeof(*items)) : NULL;
    size_t len = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < rep->elements; i++) {
        const redisReply *row = rep->element[i];
        if (row->type != REDIS_REPLY_ARRAY || row->elements < 5 ||
            row->element[1]->type != REDIS_REPLY_STRING) {
            rc = -1;
            break;
        }
        hv_outbox_item *it = &items[len++];
        it->id = hv_redis_u64(row->element[0]);
        snprintf(it->endpoint_id, sizeof(it->endpoint_id), "%s", row->element[1]->str);
        it->event_id = hv_redis_u64(row->element[2]);
        it->attempts = (int)row->element[3]->integer;
        it->next_at_ms = row->element[4]->integer;
        it->event = row->elements > 5 ? hv_redis_entry_event(row->element[5]) : NULL;
    }
    freeReplyObject(rep);
    if (rc != 0) {
        hv_error("outbox: malformed pending rows from Redis");
        free_items(items, len);
        return -1;
    }
    *out = items;
    *n = len;
    return 0;
}

int hv_redis_load_events(hv_outbox *base, const uint64_t *ids, size_t n, hv_event **out)
{
    rd_outbox *ob = (rd_outbox *)base;
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, ob->r->prefix);
    for (size_t i = 0; i < n; i++)
        hv__rargs_u64(&a, ids[i]);
    redisReply *rep = ob_eval(ob, LUA_EVENTS, &a, 1);
    hv__rargs_free(&a);
    int rc = hv_redis_ok(rep, REDIS_REPLY_ARRAY, "outbox events") && rep->elements == n ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (rep->element[i]->type == REDIS_REPLY_ARRAY)
            out[i] = hv_redis_entry_event(rep->element[i]);
    if (rep)
        freeReplyObject(rep);
    if (rc != 0)
        hv_error("outbox: loading %zu events by id failed", n);
    return rc;
}

/* The attempts on row id were not recorded: the row is another node's. */
static void mark_lost(hv_attempt *at, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (at[i].outbox_id == id)
            at[i].lost = 1;
}

int hv_redis_record(hv_outbox *base, hv_attempt *at, size_t n)
{
    rd_outbox *ob = (rd_outbox *)base;
    if (n == 0)
        return 0;
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, ob->r->prefix);
    hv__rargs_u64(&a, n);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const hv_attempt *x = &at[i];
        bad |= !x->endpoint_id;
        hv__rargs_u64(&a, x->outbox_id);
        hv__rargs_str(&a, x->endpoint_id);
        hv__rargs_u64(&a, x->event_id);
        hv__rargs_i64(&a, x->time_ms);
        hv__rargs_i64(&a, x->http_status > 0 ? x->http_status : 0);
        hv__rargs_i64(&a, x->latency_ms);
        hv__rargs_opt(&a, x->error);
        hv__rargs_opt(&a, x->response);
        hv__rargs_i64(&a, x->status);
        hv__rargs_i64(&a, x->attempts);
        hv__rargs_i64(&a, x->next_at_ms);
        at[i].lost = 0;
    }
    hv__rargs_str(&a, ob->r->node);
    int rc = -1;
    if (bad) {
        hv_error("outbox: recording %zu attempts failed: an attempt has no endpoint", n);
    } else {
        redisReply *rep = ob_eval(ob, LUA_RECORD, &a, 0);
        rc = hv_redis_ok(rep, REDIS_REPLY_ARRAY, "outbox record") ? 0 : -1;
        for (size_t i = 0; rc == 0 && i < rep->elements; i++)
            mark_lost(at, n, hv_redis_u64(rep->element[i]));
        if (rep)
            freeReplyObject(rep);
        if (rc != 0)
            hv_error("outbox: recording %zu attempts failed", n);
    }
    hv__rargs_free(&a);
    return rc;
}

int hv_redis_retry(hv_outbox *base, const char *endpoint_id, uint64_t outbox_id, int64_t now_ms)
{
    rd_outbox *ob = (rd_outbox *)base;
    if (!endpoint_id)
        return 0;
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, ob->r->prefix);
    hv__rargs_str(&a, endpoint_id);
    hv__rargs_u64(&a, outbox_id);
    hv__rargs_i64(&a, now_ms);
    hv__rargs_str(&a, ob->r->node);
    redisReply *rep = ob_eval(ob, LUA_RETRY, &a, 0);
    hv__rargs_free(&a);
    int rc = hv_redis_ok(rep, REDIS_REPLY_INTEGER, "outbox retry") ? (int)rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

long hv_redis_insert(hv_outbox *base, const char *endpoint_id, const uint64_t *event_ids,
                     size_t n, int64_t now_ms, uint64_t *first_id)
{
    rd_outbox *ob = (rd_outbox *)base;
    if (first_id)
        *first_id = 0;
    if (n == 0)
        return 0;
    if (!endpoint_id)
        return -1;
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, ob->r->prefix);
    hv__rargs_str(&a, endpoint_id);
    hv__rargs_i64(&a, now_ms);
    hv__rargs_str(&a, ob->r->node);
    for (size_t i = 0; i < n; i++)
        hv__rargs_u64(&a, event_ids[i]);
    redisReply *rep = ob_eval(ob, LUA_INSERT, &a, 0);
    hv__rargs_free(&a);
    long count = -1;
    if (hv_redis_ok(rep, REDIS_REPLY_ARRAY, "outbox replay") && rep->elements == 2) {
        count = (long)rep->element[0]->integer;
        if (first_id)
            *first_id = hv_redis_u64(rep->element[1]);
    } else {
        hv_error("outbox: replay of %zu events failed", n);
    }
    if (rep)
        freeReplyObject(rep);
    return count;
}

/* ---- reader pool (any thread) ---- */

/* One attempt [id, row, event, time, code, latency, error, response, state]
 * as the API's object (the same shape as the SQLite engine's). */
static json_t *attempt_json(const redisReply *x)
{
    if (x->type != REDIS_REPLY_ARRAY || x->elements != 9)
        return NULL;
    for (int i = 0; i < 4; i++)
        if (x->element[i]->type != REDIS_REPLY_STRING)
            return NULL;
    const redisReply *code = x->element[4], *error = x->element[6], *response = x->element[7];
    hv_attempt_row a = {.id = x->element[0]->str, .delivery_id = x->element[1]->str,
                        .event_id = x->element[2]->str,
                        .time_ms = strtoll(x->element[3]->str, NULL, 10),
                        .has_status = code->type == REDIS_REPLY_STRING,
                        .status = code->type == REDIS_REPLY_STRING ? strtoll(code->str, NULL, 10) : 0,
                        .latency_ms = (int64_t)hv_redis_u64(x->element[5]),
                        .error = error->type == REDIS_REPLY_STRING ? error->str : NULL,
                        .error_len = error->type == REDIS_REPLY_STRING ? error->len : 0,
                        .response = response->type == REDIS_REPLY_STRING ? response->str : NULL,
                        .response_len = response->type == REDIS_REPLY_STRING ? response->len : 0,
                        .state = (int)hv_redis_u64(x->element[8])};
    return hv_store_attempt_json(&a);
}

char *hv_redis_attempts_json(hv_store *st, const char *endpoint_id, uint64_t before_id,
                             size_t limit)
{
    hv_redis *r = hv_redis_of(st);
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, r->prefix);
    hv__rargs_str(&a, endpoint_id);
    if (before_id)
        hv__rargs_u64(&a, before_id);
    else
        hv__rargs_str(&a, "+inf");
    hv__rargs_u64(&a, limit);
    redisReply *rep = hv_redis_reader_run(r, &a, LUA_ATTEMPTS, 1);
    if (!hv_redis_ok(rep, REDIS_REPLY_ARRAY, "attempts")) {
        if (rep)
            freeReplyObject(rep);
        return NULL;
    }
    json_t *arr = json_array();
    int ok = arr != NULL;
    for (size_t i = 0; ok && i < rep->elements; i++)
        ok = json_array_append_new(arr, attempt_json(rep->element[i])) == 0;
    freeReplyObject(rep);
    char *out = ok ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return out;
}

long hv_redis_pending_count(hv_store *st, const char *endpoint_id)
{
    hv_redis *r = hv_redis_of(st);
    char key[512], suffix[400];
    snprintf(suffix, sizeof(suffix), endpoint_id ? "ob:pending:%s" : "ob:pending",
             endpoint_id ? endpoint_id : "");
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, "ZCARD");
    hv__rargs_str(&a, hv_redis_key(r, key, sizeof(key), suffix));
    redisReply *rep = hv_redis_reader_run(r, &a, -1, 1);
    long n = hv_redis_ok(rep, REDIS_REPLY_INTEGER, "pending count") ? (long)rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    return n;
}

int hv_redis_row_state(hv_store *st, const char *endpoint_id, uint64_t outbox_id)
{
    hv_redis *r = hv_redis_of(st);
    char key[200], suffix[40];
    snprintf(suffix, sizeof(suffix), "ob:%llu", (unsigned long long)outbox_id);
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, "HMGET");
    hv__rargs_str(&a, hv_redis_key(r, key, sizeof(key), suffix));
    hv__rargs_str(&a, "ep");
    hv__rargs_str(&a, "st");
    redisReply *rep = hv_redis_reader_run(r, &a, -1, 1);
    int state = -1;
    if (hv_redis_ok(rep, REDIS_REPLY_ARRAY, "row state") && rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_STRING && rep->element[1]->type == REDIS_REPLY_STRING &&
        endpoint_id && !strcmp(rep->element[0]->str, endpoint_id))
        state = (int)hv_redis_u64(rep->element[1]);
    if (rep)
        freeReplyObject(rep);
    return state;
}
