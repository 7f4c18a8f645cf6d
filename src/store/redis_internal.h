/* SPDX-License-Identifier: MIT */
/* redis_internal.h — what the Redis engine's files share: the private
 * hv_redis struct (an hv_store, engine.h), its connections, the Lua scripts
 * and small reply helpers. Not for use outside src/store/ (the argument
 * list functions are package-private: hv__rargs_*).
 *
 * Files: redis.c (open/close, commits, kv, the event log's reads and
 * pruning), redis_conn.c (URL, connections, the reader pool, argument
 * lists, EVALSHA with a fallback to EVAL), redis_lua.c (the scripts),
 * redis_outbox.c (the webhook outbox), redis_tail.c (following the log),
 * redis_health.c (whether Redis answers: the probe, fail-fast),
 * redis_nodes.c (heartbeats and takeover of dead nodes), redis_shared.c
 * (the change feed and presence shared by the nodes), redis_created.c (the
 * seeds' replay by created_at).
 *
 * Keys, all under the prefix P (default "herald:"):
 *   P log              the event log: a Stream, entry id "<herald id>-0",
 *                      fields t (type), ms (time), d (data), r (room, when
 *                      set), u (user, when set), c (the seeds' created key,
 *                      when set: core/created_at.h)
 *   P acc:<user>       zset of a user's events that have a created key:
 *                      member the id zero-padded to 20 digits (so equal
 *                      keys order by id), score the key; the index of the
 *                      seeds' replay by created_at (redis_created.c); the
 *                      prune removes the members of the events it deletes
 *   P idem:<key>       string "<sha256 hex> <id>,<id>...": a publish's
 *                      idempotency key (store/idem.h), set by the commit
 *                      script with its events, expiring after the window
 *   P meta             hash: last_id, last_time_ms, horizon, outbox_seq,
 *                      attempt_seq, kv_seq
 *   P kv:<ns>          hash key -> value of one state namespace
 *   P kvo:<ns>         zset key -> first-insert sequence (load order)
 *   P ob:<id>          hash of an outbox row: ep, ev, st, n, at, c
 *   P ob:all           zset of every row id; P ob:pending, P ob:pending:<ep>
 *                      the pending ones (all, per endpoint)
 *   P ob:owed / ob:owedn  zset and hash of event ids a pending row needs
 *                      (with how many rows)
 *   P at:<id>          hash of an attempt: o, ep, ev, ms, sc, lat, err, resp, st
 *   P at:all, P at:ep:<ep>  zsets of attempt ids
 *   P ob:q             stream of pending rows (field r = row id; the row's
 *                      field q is its entry), read by the consumer group
 *                      "webhooks" whose consumers are the nodes
 *   P ob:own:<node>    zset of the row ids a node holds (its pending
 *                      entries in the group, by row id: what it loads)
 *   P nodes            zset node name -> time of its last heartbeat (ms)
 *   P reaped           zset node name -> when it was taken over (its
 *                      peers' sessions may still need ending)
 *   P kvlog            the change feed (store/shared.h, redis_shared.c): a
 *                      Stream, entry "<seq>-0" (seq: P meta kvlog_seq),
 *                      fields ns, k, v (absent: deleted), n (node), e
 *   P kv:presence      hash peer id -> session "<node>/<number>" (with
 *                      P kvo:presence, like any namespace)
 *   P presence:<node>  set of the peer ids whose session is on that node
 *   P lease:<name>     string: the node holding lease <name> (expires)
 * Keys are built inside the scripts from the prefix, so the engine needs
 * one Redis (or a primary with replicas), not a Redis Cluster.
 */
#ifndef HV_REDIS_INTERNAL_H
#define HV_REDIS_INTERNAL_H

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "store/engine.h"

#define HV_REDIS_READERS 4
#define HV_REDIS_TIMEOUT_MS 5000
#define HV_REDIS_SHARED_MAX 8 /* shared namespaces (hv_store_kv_share) */

/* The scripts (redis_lua.c). */
enum { LUA_COMMIT, LUA_PRUNE, LUA_LOAD_PENDING, LUA_RECORD, LUA_RETRY,
       LUA_INSERT, LUA_ATTEMPTS, LUA_BEAT, LUA_LEASE, LUA_FIRST, LUA_BY_CREATED, LUA_EVENTS,
       LUA_NODES, LUA_RATE, LUA_COUNT };
extern const char *const hv_redis_lua[LUA_COUNT];

typedef struct rconn {
    redisContext *c;  /* NULL: (re)connect on next use */
    int sent;         /* the last command was written (it may have run) */
    const char *gate; /* test hook: the list the next commands wait on (NULL: none) */
} rconn;

/* Whether Redis answers (redis_health.c): a probe thread's PINGs and the
 * commands' failures move it. */
typedef struct rhealth {
    atomic_int up;        /* 1: answering; read by any thread */
    pthread_t thread;     /* the probe */
    pthread_mutex_t mu;   /* guards the fields down to why */
    int running;          /* the probe's loop and wake handle exist */
    int stop, poke;
    int64_t down_since_ms;
    char why[256];        /* "Redis at host:port is not answering (...)" */
    /* the probe thread's own */
    uv_loop_t loop;
    uv_timer_t tick;
    uv_async_t wake;      /* poke, stop */
    struct redisAsyncContext *ac;
    int outstanding, poked;
    uint64_t sent_ms, last_ms;
    /* this node's heartbeat on the probe's loop (redis_nodes.c) */
    pthread_mutex_t cb_mu;  /* guards beat_fn, beat_arg, beat_every_ms */
    hv_node_deaths_fn beat_fn; /* NULL: not beating */
    void *beat_arg;
    int beat_every_ms;
    int beat_outstanding, beat_eval; /* beat_eval: EVAL, Redis lost the script */
    uint64_t beat_last_ms;
} rhealth;

typedef struct hv_redis {
    hv_store base; /* ops: the Redis engine */
    char host[256];
    int port;
    char user[128];
    char pass[256];
    int db;
    char prefix[128];
    char node[128];          /* this node's name (store options node_id) */
    int64_t node_timeout_ms; /* a node silent this long is dead */
    char sha[LUA_COUNT][41];
    uint64_t feed_start; /* P meta kvlog_seq when opened (redis_shared.c) */
    char shared_ns[HV_REDIS_SHARED_MAX][32]; /* namespaces sent to the feed */
    int nshared;
    /* Test-only fault hook, from HERALD_TEST_REDIS_COMMIT_GATE (read once at
     * open; "" when unset): each commit is written right behind a
     * BLMOVE of this list onto itself, so Redis runs it only while the list
     * holds an element. Deleting the list holds the next commit in Redis,
     * sent and unanswered, for as long as a test needs (the ambiguous
     * commit of a Redis that hangs), while Redis keeps answering the probe. */
    char commit_gate[200];
    rconn writer; /* the hub thread's */
    _Atomic uint64_t last_id;
    _Atomic uint64_t first_id;
    rconn readers[HV_REDIS_READERS];
    rconn *idle[HV_REDIS_READERS]; /* guarded by mu */
    size_t nidle;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rhealth health;
} hv_redis;

static inline hv_redis *hv_redis_of(hv_store *st)
{
    return (hv_redis *)st;
}

/* Publishes events [first, last] as readable on this node (the commit
 * thread and the log follower both call this): last_id only moves up;
 * first_id is set when the log was empty and moved down when the follower
 * reads older entries than a commit of this node that published first
 * (another node's commits landing just before it in an empty log). */
static inline void hv_redis_publish(hv_redis *r, uint64_t first, uint64_t last)
{
    uint64_t cur = atomic_load(&r->first_id);
    while ((cur == 0 || first < cur) && !atomic_compare_exchange_weak(&r->first_id, &cur, first))
        ;
    cur = atomic_load(&r->last_id);
    while (cur < last && !atomic_compare_exchange_weak(&r->last_id, &cur, last))
        ;
}

/* An argument list for one command. Numbers are formatted into owned
 * copies; strings are borrowed (must outlive the call). */
typedef struct rargs {
    const char **v;
    size_t *len;
    char **own;
    int n, cap, nown;
} rargs;

void hv__rargs_init(rargs *a);
void hv__rargs_free(rargs *a);
void hv__rargs_add(rargs *a, const char *s, size_t len); /* s NULL: "" */
void hv__rargs_str(rargs *a, const char *s);             /* NUL-terminated */
void hv__rargs_copy(rargs *a, const char *s);            /* a copy: s may go before the call */
void hv__rargs_u64(rargs *a, uint64_t v);
void hv__rargs_i64(rargs *a, int64_t v);
/* An optional text: "" for NULL, "=" + text otherwise (the scripts decode). */
void hv__rargs_opt(rargs *a, const char *s);

/* redis_conn.c */
int hv_redis_parse_url(hv_redis *r, const char *url, char *err, size_t errlen);
int hv_redis_connect(hv_redis *r, rconn *c, char *err, size_t errlen);
int hv_redis_connect_ms(hv_redis *r, rconn *c, int timeout_ms, char *err, size_t errlen);
int hv_redis_timed_out(const redisContext *ctx); /* the last error was a timeout */
/* Drops a connection that Redis closed while it was idle (no I/O wait). */
void hv_redis_check_idle(rconn *c);
void hv_redis_disconnect(rconn *c);
/* Runs a command; NULL on an I/O error (the connection is dropped and
 * made again on the next call). retry: once more after an I/O error (for
 * reads only: a write may have happened). The reply may be an error reply. */
redisReply *hv_redis_cmd(hv_redis *r, rconn *c, rargs *a, int retry);
/* EVALSHA of script s with args a (no KEYS), EVAL when Redis lost it. */
redisReply *hv_redis_eval(hv_redis *r, rconn *c, int s, rargs *a, int retry);
/* XREAD [COUNT limit] [BLOCK wait_ms] STREAMS <prefix><suffix> <after>-0
 * on c (connected if needed). Returns the reply (to free) with *ents its
 * entries (NULL: none came), or NULL with err "<what>: why" (the
 * connection is dropped after an I/O error, made again next time). */
redisReply *hv_redis_xread(hv_redis *r, rconn *c, const char *suffix, uint64_t after, size_t limit,
                           int wait_ms, const char *what, const redisReply **ents, char *err,
                           size_t errlen);
rconn *hv_redis_reader_acquire(hv_redis *r);
/* Script `script` (or, when negative, the command) a on a reader of the
 * pool, any thread; a is freed. retry as for hv_redis_cmd. */
redisReply *hv_redis_reader_run(hv_redis *r, rargs *a, int script, int retry);
void hv_redis_reader_release(hv_redis *r, rconn *c);
/* "<prefix><suffix>" into buf. */
const char *hv_redis_key(hv_redis *r, char *buf, size_t len, const char *suffix);

/* Reply helpers. */
int hv_redis_ok(const redisReply *rep, int type, const char *what); /* logs errors */
uint64_t hv_redis_u64(const redisReply *rep);                        /* integer or string */
/* An event from a stream entry [id, [field, value, ...]]; NULL if malformed. */
hv_event *hv_redis_entry_event(const redisReply *e);
uint64_t hv_redis_entry_id(const redisReply *e);

/* redis_created.c: the seeds' replay by created_at (engine.h by_created). */
int hv_redis_by_created(hv_store *st, const hv_created_query *q, hv_event ***out, size_t *n);

/* redis_outbox.c: the outbox operations. */
char *hv_redis_attempts_json(hv_store *st, const char *endpoint_id, uint64_t before_id,
                             size_t limit);
int hv_redis_row_state(hv_store *st, const char *endpoint_id, uint64_t outbox_id);
long hv_redis_pending_count(hv_store *st, const char *endpoint_id);
hv_outbox *hv_redis_outbox_open(hv_store *st, char *err, size_t errlen);
void hv_redis_outbox_close(hv_outbox *ob);
int hv_redis_load_pending(hv_outbox *ob, const char *endpoint_id, uint64_t after_id,
                          size_t limit, hv_outbox_item **out, size_t *n);
int hv_redis_load_events(hv_outbox *ob, const uint64_t *ids, size_t n, hv_event **out);
int hv_redis_record(hv_outbox *ob, hv_attempt *a, size_t n);
int hv_redis_retry(hv_outbox *ob, const char *endpoint_id, uint64_t outbox_id, int64_t now_ms);
long hv_redis_insert(hv_outbox *ob, const char *endpoint_id, const uint64_t *event_ids,
                     size_t n, int64_t now_ms, uint64_t *first_id);
/* Runs script s on the delivery engine's connection (redis_outbox.c). */
redisReply *hv_redis_outbox_eval(hv_outbox *ob, int s, rargs *a);
hv_redis *hv_redis_outbox_redis(hv_outbox *ob);
/* Endpoints' shared rate limits (redis_rate.c, outbox.h hv_outbox_rate_take). */
extern const char hv_redis_rate_lua[];
int hv_redis_rate_take(hv_outbox *ob, const char *endpoint_id, double per_second, int burst, int64_t *wait_ms);

/* redis_nodes.c: heartbeats and takeover of dead nodes. */
int hv_redis_node_beat(hv_store *st, int64_t now_ms, hv_node_death **dead, size_t *n);
int hv_redis_node_watch(hv_store *st, hv_node_deaths_fn fn, void *arg, int every_ms);
/* On the probe's loop, at each tick: sends the next beat when one is due. */
void hv_redis_beat_tick(hv_redis *r, uint64_t now_ms);
/* redis_health.c: the probe's connection, made if needed (NULL: none now). */
struct redisAsyncContext *hv_redis_probe_context(hv_redis *r);
/* redis_health.c: wakes the probe's loop to act at once. */
void hv_redis_probe_poke(hv_redis *r);
void hv_redis_node_leave(hv_store *st);
int hv_redis_lease(hv_store *st, const char *name, int64_t ttl_ms);
int hv_redis_nodes(hv_store *st, const char *const *leases, size_t nleases, size_t max,
                   hv_nodes_view *out);

/* redis_health.c: whether Redis answers. init before anything can fail
 * (close stops and destroys it), start once open succeeded. fail: a
 * command's failure (certain: connect or I/O error, marks Redis down;
 * else a close, which only wakes the probe). */
void hv_redis_health_init(hv_redis *r);
int hv_redis_health_start(hv_redis *r, char *err, size_t errlen);
void hv_redis_health_stop(hv_redis *r);
int hv_redis_health_up(hv_redis *r);
void hv_redis_health_fail(hv_redis *r, int certain, const char *why);
int hv_redis_available(hv_store *st, char *why, size_t len); /* store.h */

/* redis_shared.c: the change feed and presence (store/shared.h). */
extern const struct hv_shared_ops hv_redis_shared_ops;
/* Appends the commit's shared namespaces and presence conditions to the
 * COMMIT arguments (after the node name); -1 if a condition is malformed. */
int hv_redis_shared_args(hv_redis *r, rargs *a, const hv_commit *c);
/* Gives the events COMMIT kept (mask: "1"/"0" per event) consecutive
 * ids from first + 1 and time now, the dropped ones id 0; returns how
 * many were kept. */
size_t hv_redis_kept_ids(hv_commit *c, const redisReply *mask, uint64_t first, int64_t now);
/* redis.c: the records of namespace ns on connection c, in load order. */
int hv_redis_kv_load_on(hv_redis *r, rconn *c, const char *ns, hv_kv_fn fn, void *arg);

/* redis_tail.c: following the log (store.h, hv_store_tail_*). */
hv_store_tail *hv_redis_tail_open(hv_store *st);
int hv_redis_tail_read(hv_store_tail *t, uint64_t *pos, size_t limit, int wait_ms,
                       hv_event ***out, size_t *n, char *err, size_t errlen);
void hv_redis_tail_close(hv_store_tail *t);

#endif
