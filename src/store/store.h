/* SPDX-License-Identifier: MIT */
/* store.h — the durable event log and its engines.
 *
 * The store keeps every event with its id. It is an interface with engines
 * (store/engine.h, dispatched by store/store.c): the embedded default is
 * SQLite in WAL mode (store/sqlite.c); the Redis engine (store/redis.c)
 * keeps the log in a Redis Stream that several herald nodes can share.
 * Appends come from one thread only (the hub's commit thread) and group
 * many events into one transaction; reads (history, resume) may come from
 * any thread.
 */
#ifndef HV_STORE_H
#define HV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

typedef struct hv_store hv_store;

typedef struct hv_store_options {
    const char *dir;     /* data directory, created if missing (sqlite) */
    int sync_full;       /* 1: fsync every commit (power-loss safe); 0: NORMAL (sqlite) */
    const char *engine;  /* "sqlite" (NULL or "": the default) or "redis" */
    const char *redis_url;    /* redis://[[user]:password@]host[:port][/db] */
    const char *redis_prefix; /* key prefix, NULL or "": "herald:" */
    const char *node_id;      /* this node's name among those sharing the store */
    int64_t node_timeout_ms;  /* a node silent this long is dead (redis) */
    int busy_timeout_ms;      /* how long a commit waits for SQLite's write lock; 0: 5000 (sqlite) */
} hv_store_options;

/* Opens (creating if needed) the store. On failure returns NULL and writes
 * a human-readable reason to err. */
hv_store *hv_store_open(const hv_store_options *opt, char *err, size_t errlen);
void hv_store_close(hv_store *st);

/* Appends n events in one transaction. Assigns each event its id (strictly
 * increasing, continuing after the last stored id) and time (now, ms), then
 * commits. Returns 0 once the commit is durable; -1 on failure, in which case
 * no event is stored and the ids are reset to 0; HV_STORE_UNKNOWN when the
 * store took the commit but did not answer (the redis engine: the reply
 * timed out or the connection broke): the events may or may not be stored,
 * and the ids are reset to 0 as for -1. Single caller thread. */
#define HV_STORE_UNKNOWN (-2)
int hv_store_append(hv_store *st, hv_event **evs, size_t n);

/* A change to a state record (a room, a peer, ...), stored in namespace ns
 * under key; value NULL deletes the record. */
typedef struct hv_kv_change {
    const char *ns;
    const char *key;
    const char *value;
} hv_kv_change;

/* hv_store_append, plus state changes applied in the same transaction (so
 * a room and its room.created event are stored together or not at all).
 * Events may be n == 0. */
int hv_store_append_kv(hv_store *st, hv_event **evs, size_t n, const hv_kv_change *kv, size_t nkv);

/* Calls fn for every record of namespace ns, oldest first. Writer thread
 * (or before the hub starts). Returns 0, or -1 on a store error. */
typedef void (*hv_kv_fn)(void *arg, const char *key, const char *value);
int hv_store_kv_load(hv_store *st, const char *ns, hv_kv_fn fn, void *arg);

typedef struct hv_history_query {
    uint64_t after_id;     /* only events with id > after_id */
    int64_t after_time_ms; /* only events with time > this (0: no filter) */
    size_t limit;          /* at most this many (1..10000) */
    const char *room_id;   /* NULL: any */
    const char *user_id;   /* NULL: any */
    const char *type;      /* NULL: any; exact match */
} hv_history_query;

/* Events matching q in id order. *out is a malloc'd array of n event
 * references (each to be unref'd, the array freed). Thread-safe.
 * Returns 0, or -1 on a store error. */
int hv_store_history(hv_store *st, const hv_history_query *q, hv_event ***out, size_t *n);

/* The events with id > after_id that an app client may read: those
 * addressed to user_id (if not NULL), and those of the given rooms that
 * are addressed to no user. Id order, at most limit. Thread-safe (a
 * reader). *out is malloc'd (free it and unref each event). 0 or -1. */
int hv_store_audience(hv_store *st, uint64_t after_id, size_t limit, const char *user_id,
                      const char *const *rooms, size_t nrooms, hv_event ***out, size_t *n);

/* The seeds' replay by created_at (api/access.c): the events of user_id
 * that have a created key (core/created_at.h) with (key, id) greater than
 * (after_key, after_id), retained (id >= the first id) and with
 * id <= max_id, in (key, id) order, at most limit (1..HV_STORE_HISTORY_MAX),
 * each read back with its created_key. after_key < 0 starts before every
 * event; after_id UINT64_MAX takes only keys > after_key. An index range
 * read in both engines. Thread-safe. *out as for hv_store_audience; 0 or -1. */
typedef struct hv_created_query {
    const char *user_id;
    double after_key;
    uint64_t after_id;
    uint64_t max_id;
    size_t limit;
} hv_created_query;
int hv_store_by_created(hv_store *st, const hv_created_query *q, hv_event ***out, size_t *n);

/* Deletes the oldest events beyond keep_events (0: no count limit) and
 * those older than max_age_ms (0: no age limit). Returns events deleted.
 * hv_store_prune_at judges age as at now_ms instead of the store's clock
 * (now_ms 0: the store's clock), so a test can say when "now" is. */
/* One prune deletes at most this many events: it holds the store's writer
 * (and, with Redis, Redis itself while its script runs), so a retention
 * change that frees millions of events must not stall commits for long.
 * A prune that comes back with this many is followed by another soon. */
#define HV_STORE_PRUNE_BATCH 10000
long hv_store_prune(hv_store *st, uint64_t keep_events, int64_t max_age_ms);
long hv_store_prune_at(hv_store *st, uint64_t keep_events, int64_t max_age_ms, int64_t now_ms);

uint64_t hv_store_last_id(hv_store *st);  /* 0 when empty */
uint64_t hv_store_first_id(hv_store *st); /* oldest retained id, 0 when empty */

/* Whether the store can take a commit now; no I/O, any thread. 1, or 0
 * with why (if not NULL) set to the cause, e.g. "Redis at host:port is
 * not answering (Connection refused)". The sqlite engine is always
 * available; the redis engine is not while its probe finds Redis gone or
 * hung (store/redis_health.c). The hub refuses work while it is 0. */
int hv_store_available(hv_store *st, char *why, size_t len);

/* Nodes sharing one store (the redis engine; a no-op for sqlite).
 * hv_store_node_beat says this node is alive; it is called by one thread
 * (hub/follower.c) every few seconds, well within the node timeout. Each
 * other node whose last beat is older than the timeout is taken over by
 * this beat, exactly once across the deployment: its claimed webhook
 * deliveries become this node's (reload them: hv_webhooks_kick) and it is
 * returned in *dead (malloc'd, *n entries) so its peers can be ended.
 * Returns 0, or -1 when the store could not be reached. */
typedef struct hv_node_death {
    char node[128];
    long rows; /* webhook deliveries taken over; -1: a node taken over
                * earlier whose peers' sessions were never ended (end them) */
} hv_node_death;
int hv_store_node_beat(hv_store *st, hv_node_death **dead, size_t *n);
/* The same beat as at now_ms on the store's clock (ms; 0: now), so a test
 * can play out beats over time without waiting for it. */
int hv_store_node_beat_at(hv_store *st, int64_t now_ms, hv_node_death **dead, size_t *n);
/* The same beat, run by the store itself every every_ms (on a thread of
 * its own, the redis engine's probe loop) until called with fn NULL:
 * fn(arg, dead, n) runs on that thread after a beat that took nodes over
 * (dead is the store's; copy what is kept). Returns 1 when beating, 0 for
 * a store of one node (sqlite) or when stopped. */
typedef void (*hv_node_deaths_fn)(void *arg, const hv_node_death *dead, size_t n);
int hv_store_node_watch(hv_store *st, hv_node_deaths_fn fn, void *arg, int every_ms);
/* This node stops cleanly: the others take its work over at their next
 * beat instead of after the timeout. */
void hv_store_node_leave(hv_store *st);

/* A lease among the nodes sharing the store (one sink runs on one node at
 * a time): 1 when this node holds lease `name` (taken now, or renewed for
 * another ttl_ms), 0 when another node holds it, -1 when the store cannot
 * be reached. ttl_ms 0 gives the lease up if this node holds it (returns
 * 0). Always 1 for a store of one node (sqlite). */
int hv_store_lease(hv_store *st, const char *name, int64_t ttl_ms);

/* What Redis records about the nodes sharing the store (GET /v1/nodes),
 * read in one step, on the calling thread (a blocking round trip: never on
 * an I/O loop). Nodes are those of P nodes (beating, silent or left) then
 * those of P reaped not in it (taken over; listed until their sessions are
 * ended and a timeout has passed), at most `max` in all, in name order
 * within each. Each lease of `leases` (e.g. "retention", "sink:<name>")
 * is reported with its holder as Redis has it. */
#define HV_NODES_LIST_MAX 1000 /* nodes one answer lists (GET /v1/nodes) */
typedef struct hv_node_info {
    char node[128];
    int64_t beat_ms;    /* last beat (Redis's clock); 0: left (stopped cleanly);
                         * -1: no beat recorded (taken over) */
    int64_t reaped_ms;  /* when it was taken over, or 0 */
    long sessions;      /* peers' sessions recorded on it (P presence:<node>) */
    long webhook_rows;  /* webhook deliveries it holds (P ob:own:<node>) */
} hv_node_info;
typedef struct hv_node_lease {
    char name[160];
    char holder[128];   /* "" : nobody holds it now */
} hv_node_lease;
typedef struct hv_nodes_view {
    int64_t now_ms;       /* Redis's clock when read */
    int64_t timeout_ms;   /* this node's --node-timeout */
    hv_node_info *nodes;  /* malloc'd */
    size_t n;             /* listed */
    int truncated;        /* 1: Redis records more nodes than listed */
    hv_node_lease *leases; /* malloc'd, one per name asked, same order */
    size_t nleases;
} hv_nodes_view;
/* 0 with *out filled (free with hv_nodes_view_free), 1 for a store of one
 * node (sqlite: nothing is recorded; the caller describes itself), -1 when
 * the store could not be reached. */
int hv_store_nodes(hv_store *st, const char *const *leases, size_t nleases, size_t max,
                   hv_nodes_view *out);
void hv_nodes_view_free(hv_nodes_view *v);

/* Following a log that other herald nodes append to (the redis engine;
 * hub/follower.c is the one user). hv_store_tail_open returns NULL when
 * the engine's log is this node's alone (sqlite). One tail has its own
 * connection and is used by one thread. */
typedef struct hv_store_tail hv_store_tail;
hv_store_tail *hv_store_tail_open(hv_store *st);
/* Waits up to wait_ms for log entries after *pos and reads at most limit
 * of them, in id order, as events (*out malloc'd, each to unref; *n may
 * be 0). *pos moves to the last entry read. Before returning, the store's
 * last_id (and first_id when it was empty) is moved up to *pos, so
 * history and resume on this node see those events. Returns 0, or -1
 * when the log could not be read (err says why; the tail reconnects on
 * the next call). */
int hv_store_tail_read(hv_store_tail *t, uint64_t *pos, size_t limit, int wait_ms,
                       hv_event ***out, size_t *n, char *err, size_t errlen);
void hv_store_tail_close(hv_store_tail *t);

#endif
