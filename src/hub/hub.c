/* SPDX-License-Identifier: MIT */
/* hub.c — group commit and hand-off to the loops; see hub.h.
 *
 * Publishers on any loop queue requests under a mutex; the commit thread
 * sleeps on a condition variable, wakes, takes the whole queue and commits
 * it as one transaction. The same thread prunes history to the retention
 * limits about once a second.
 *
 * While the store says it is unavailable (hv_store_available: the redis
 * engine's probe finds Redis gone or hung) the hub takes no work: a new
 * request is answered HV_PUBLISH_REFUSED at once on its loop, and a group
 * already queued (behind a commit that was stuck when Redis hung) is
 * answered the same instead of being tried; pruning waits too. Only the
 * store knows what "available" means, so the hub does not know Redis.
 * (A change that carries undos is queued even then: see below.)
 *
 * The rooms and endpoint registries change memory before the commit
 * (so the next request sees the change); a commit that stores nothing
 * takes those changes back (undo_failed, hv_undo in hub.h), together with
 * the changes queued behind it, which were made on top of them: an answer
 * of 503 means nothing changed, in the store or in memory.
 *
 * With a log shared by several nodes (the redis engine) the hub hands the
 * loops only its publishers' answers: the log follower (follower.c) fans
 * out every node's events, this node's included, in id order, and runs
 * the after-commit work once the commit's events have gone out; and the
 * replica (replica.c) applies the rooms, peers and webhook endpoints the
 * other nodes change. Commits may carry conditions on peers' sessions
 * (store/shared.h): an event the store dropped has id 0 and gets no
 * webhook row and no fan-out.
 *
 * Idempotency keys of publishes (issue 18 item 1) are screened before a
 * group is gathered (hub/idem.c): a replayed or refused request's events
 * are left out of the commit, and a request whose key an earlier request
 * of the group claims goes back to the head of the queue for the next
 * group. The new keys are recorded by the commit itself (hv_commit.idem).
 */
#include "hub/hub.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "codec/event_frames.h"
#include "core/clock.h"
#include "core/created_at.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "hub/catchup.h"
#include "hub/follower.h"
#include "hub/hub_internal.h"
#include "hub/idem.h"
#include "hub/replica.h"
#include "net/server.h"
#include "store/outbox.h"

#define PRUNE_EVERY_MS 1000


struct hv_hub {
    hv_server *srv;
    hv_hub_hooks hooks;    /* what it calls above it (hooks.h) */
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cv;
    pub_req *head, *tail;
    size_t queued; /* requests in head..tail (for /metrics) */
    int stop;
    uint64_t next_prune;
    hv_follower *follower; /* NULL: this node's log (SQLite), direct fan-out */
    hv_replica *replica;   /* NULL: this node's state alone (SQLite) */
    hv_catchup *catchup;   /* catch-ups on request (NULL without a replica) */
    int64_t last_stamp;    /* the newest created_at stamped (core/created_at.h) */
};

static int hub_queue(hv_hub *hub, hv_event **evs, size_t n, hv_kvlist *kv, hv_after *after,
                     hv_idem_claim *claims, size_t nclaims, hv_loop *origin,
                     hv_publish_done done, void *arg);

void hv_kvlist_put(hv_kvlist *l, const char *ns, const char *key, const char *value)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->items = hv_xrealloc(l->items, l->cap * sizeof(*l->items));
    }
    l->items[l->n++] = (hv_kv_change){hv_xstrdup(ns), hv_xstrdup(key), value ? hv_xstrdup(value) : NULL};
}

void hv_kvlist_presence(hv_kvlist *l, int op, const char *peer_id, const char *value,
                        size_t event_index)
{
    if (l->npresence == l->cap_presence) {
        l->cap_presence = l->cap_presence ? l->cap_presence * 2 : 4;
        l->presence = hv_xrealloc(l->presence, l->cap_presence * sizeof(*l->presence));
    }
    l->presence[l->npresence++] =
        (hv_presence_op){op, hv_xstrdup(peer_id), value ? hv_xstrdup(value) : NULL, event_index};
}

void hv_undo_run(hv_undo *list, int failed)
{
    while (list) {
        hv_undo *next = list->next;
        list->fn(list->arg, failed);
        free(list);
        list = next;
    }
}

void hv_kvlist_undo(hv_kvlist *l, hv_undo_fn fn, void *arg)
{
    hv_undo *u = hv_xmalloc(sizeof(*u));
    *u = (hv_undo){l->undo, fn, arg};
    l->undo = u;
}

void hv_kvlist_clear(hv_kvlist *l)
{
    hv_undo_run(l->undo, 0);
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->items[i].ns);
        free((char *)l->items[i].key);
        free((char *)l->items[i].value);
    }
    free(l->items);
    for (size_t i = 0; i < l->npresence; i++) {
        free((char *)l->presence[i].peer_id);
        free((char *)l->presence[i].value);
    }
    free(l->presence);
    memset(l, 0, sizeof(*l));
}

void hv_after_post(hv_after *a)
{
    while (a) {
        hv_after *next = a->next;
        hv_loop_post(a->loop, a->fn, a->arg);
        free(a);
        a = next;
    }
}

static void free_req(pub_req *r)
{
    for (size_t i = 0; i < r->n; i++)
        hv_event_unref(r->evs[i]);
    free(r->evs);
    free(r->skip);
    hv_kvlist_clear(&r->kv);
    free(r);
}

/* What one commit hands one loop, in one message (one wake-up): the
 * answers to that loop's publishers, then the batch for its subscribers
 * (NULL when the loop has no recipient for it). */
typedef struct loop_work {
    pub_req *answers, **tail;
    void *batch;
    void (*deliver)(hv_loop *l, void *batch);
    int wants; /* the loop's reach summary matched the batch */
} loop_work;

static void on_work(hv_loop *l, void *arg)
{
    loop_work *w = arg;
    pub_req *r = w->answers;
    while (r) {
        pub_req *next = r->next;
        r->done(l, r->arg, r->status, r->evs, r->n);
        free_req(r);
        r = next;
    }
    if (w->batch)
        w->deliver(l, w->batch);
    free(w);
}

static loop_work *work_of(loop_work **work, int i)
{
    if (!work[i]) {
        work[i] = hv_xcalloc(1, sizeof(*work[i]));
        work[i]->tail = &work[i]->answers;
    }
    return work[i];
}

/* Everything one transaction writes, gathered from the waiting requests. */
typedef struct group {
    hv_event **evs;
    size_t n;
    hv_kv_change *kv;
    size_t nkv;
    hv_kvlist kv_extra;     /* endpoint records changed by matching */
    hv_presence_op *pres;   /* the requests' session conditions, indexes rebased */
    size_t npres;
    hv_outbox_new *rows;    /* webhook deliveries owed */
    size_t nrows, cap;
    size_t cur;             /* the event being matched */
    int64_t now;
    hv_idem_put *idem;      /* the new keys, event indexes in the group */
    size_t nidem;
    int64_t idem_ttl;       /* --idempotency-window in ms */
} group;

/* How many of the request's events before index i are stored. */
static size_t kept_before(const pub_req *r, size_t i)
{
    size_t n = 0;
    for (size_t j = 0; j < i; j++)
        n += !r->skip[j];
    return n;
}

static void gather(group *g, pub_req *list)
{
    size_t nkv = 0, npres = 0, nidem = 0;
    for (pub_req *r = list; r; r = r->next) {
        g->n += r->n;
        nkv += r->kv.n;
        npres += r->kv.npresence;
        nidem += r->nidem;
    }
    g->evs = hv_xmalloc((g->n + 1) * sizeof(*g->evs));
    g->idem = hv_xmalloc((nidem + 1) * sizeof(*g->idem));
    g->kv = hv_xmalloc((nkv + 1) * sizeof(*g->kv));
    g->pres = hv_xmalloc((npres + 1) * sizeof(*g->pres));
    size_t k = 0;
    for (pub_req *r = list; r; r = r->next) {
        for (size_t i = 0; i < r->kv.npresence; i++) {
            hv_presence_op op = r->kv.presence[i];
            if (op.event_index != HV_PRESENCE_NO_EVENT)
                op.event_index += k; /* the request's events start at k */
            g->pres[g->npres++] = op;
        }
        for (size_t i = 0; i < r->nidem; i++)
            if (r->idem[i].state == HV_IDEM_NEW && !r->skip[r->idem[i].first])
                g->idem[g->nidem++] = (hv_idem_put){r->idem[i].key, r->idem[i].hash,
                                                    k + kept_before(r, r->idem[i].first),
                                                    r->idem[i].count, g->idem_ttl, &r->idem[i], 0};
        for (size_t i = 0; i < r->n; i++)
            if (!r->skip || !r->skip[i])
                g->evs[k++] = r->evs[i];
        for (size_t i = 0; i < r->kv.n; i++)
            g->kv[g->nkv++] = r->kv.items[i];
    }
    g->n = k; /* events of replayed or refused keys left out */
}

static void add_row(void *arg, const char *endpoint_id)
{
    group *g = arg;
    if (g->nrows == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->rows = hv_xrealloc(g->rows, g->cap * sizeof(*g->rows));
    }
    g->rows[g->nrows++] = (hv_outbox_new){hv_xstrdup(endpoint_id), g->cur, g->now, 0};
}

/* Outbox rows for every (event, endpoint) pair, written in the same
 * transaction as the events: an acknowledged event's webhooks are owed. */
static void match_endpoints(const hv_hub_hooks *h, group *g)
{
    if (!h->match)
        return;
    g->now = hv_now_ms();
    for (g->cur = 0; g->cur < g->n; g->cur++)
        h->match(h->match_ud, g->evs[g->cur], &g->kv_extra, add_row, g);
    if (g->kv_extra.n) {
        g->kv = hv_xrealloc(g->kv, (g->nkv + g->kv_extra.n) * sizeof(*g->kv));
        for (size_t i = 0; i < g->kv_extra.n; i++)
            g->kv[g->nkv++] = g->kv_extra.items[i];
    }
}

static void group_free(group *g)
{
    for (size_t i = 0; i < g->nrows; i++)
        free((char *)g->rows[i].endpoint_id);
    free(g->rows);
    free(g->kv);
    free(g->pres);
    free(g->idem);
    hv_kvlist_clear(&g->kv_extra);
    free(g->evs);
}

/* Sets each request's status and queues its answer on its origin loop's
 * work (requests without an answer are freed). Returns their
 * after-commit messages, to post once the loops have their work. */
static hv_after *queue_answers(loop_work **work, pub_req *list, int status)
{
    hv_after *after = NULL, **atail = &after;
    while (list) {
        pub_req *next = list->next;
        *atail = list->after;
        while (*atail)
            atail = &(*atail)->next;
        list->after = NULL;
        list->status = status;
        list->next = NULL;
        if (list->done) {
            loop_work *w = work_of(work, list->origin->index);
            *w->tail = list;
            w->tail = &list->next;
        } else {
            free_req(list);
        }
        list = next;
    }
    return after;
}

/* Answers every request and hands the batch (evs NULL: none) to the loops
 * that may have a recipient for it: one message per loop that has
 * anything; a loop with neither answers nor recipients is not woken. */
static hv_after *hand_off(hv_hub *hub, pub_req *list, int status, hv_event **evs, size_t n)
{
    hv_server *srv = hub->srv;
    const hv_hub_hooks *h = &hub->hooks;
    int nl = srv->nloops, wanted = 0;
    loop_work **work = hv_xcalloc(nl > 0 ? (size_t)nl : 1, sizeof(*work));
    /* After the commit: see reach.h for why a loop skipped here misses
     * nothing it owes. */
    int fans_out = h->wanted && h->prepare && h->deliver;
    for (int i = 0; evs && n > 0 && fans_out && i < nl; i++)
        if (h->wanted(h->fanout_ud, srv->loops[i], evs, n))
            work_of(work, i)->wants = 1, wanted++;
    void *batch = wanted ? h->prepare(h->fanout_ud, evs, n, wanted) : NULL;
    hv_after *after = queue_answers(work, list, status);
    for (int i = 0; i < nl; i++) {
        if (!work[i])
            continue;
        if (work[i]->wants)
            work[i]->batch = batch, work[i]->deliver = h->deliver;
        hv_loop_post(srv->loops[i], on_work, work[i]);
    }
    free(work);
    return after;
}

/* Moves the outbox rows of events a presence condition dropped (id 0)
 * behind the others, keeping their order; returns how many are kept. */
static size_t kept_rows(group *g)
{
    size_t kept = 0;
    for (size_t i = 0; i < g->nrows; i++)
        if (g->rows[i].id) {
            hv_outbox_new row = g->rows[i];
            memmove(&g->rows[kept + 1], &g->rows[kept], (i - kept) * sizeof(row));
            g->rows[kept++] = row;
        }
    return kept;
}

/* The id of the commit's last stored event (0: none). */
static uint64_t last_kept(const group *g)
{
    for (size_t i = g->n; i > 0; i--)
        if (g->evs[i - 1]->id)
            return g->evs[i - 1]->id;
    return 0;
}

/* How many of the commit's events were stored (a dropped one has id 0). */
static size_t stored(const group *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++)
        n += g->evs[i]->id != 0;
    return n;
}

/* Undoes the requests' in-memory changes, newest first (see hv_undo). */
static void undo_reqs(pub_req *list)
{
    size_t n = 0;
    for (pub_req *r = list; r; r = r->next)
        n += r->kv.undo != NULL;
    pub_req **arr = hv_xmalloc((n ? n : 1) * sizeof(*arr));
    n = 0;
    for (pub_req *r = list; r; r = r->next)
        if (r->kv.undo)
            arr[n++] = r;
    while (n-- > 0) {
        hv_undo_run(arr[n]->kv.undo, 1);
        arr[n]->kv.undo = NULL;
    }
    free(arr);
}

/* Takes the queued requests that carry undos out of the queue (lock
 * held), in order; the others stay queued. */
static pub_req *take_undoable(hv_hub *hub)
{
    pub_req *taken = NULL, **ttail = &taken, **p = &hub->head;
    hub->tail = NULL;
    while (*p) {
        pub_req *r = *p;
        if (r->kv.undo) {
            *p = r->next;
            r->next = NULL;
            *ttail = r;
            ttail = &r->next;
            hub->queued--;
        } else {
            hub->tail = r;
            p = &r->next;
        }
    }
    return taken;
}

/* A commit that stored nothing: its changes are taken back from memory,
 * newest first, under the registries' locks, so no change can be made on
 * top of them meanwhile. Every change already queued behind it was made
 * on top of them (the registries commit under their locks, in order): it
 * fails too, untried, and is undone first. (Requests without undos, such
 * as publishes, stay queued: nothing of theirs rests on those changes.)
 * matched: the undos of the endpoint records the commit changed itself
 * (the match hook). Returns list with the failed requests appended. */
static pub_req *undo_failed(hv_hub *hub, pub_req *list, hv_kvlist *matched)
{
    const hv_hub_hooks *h = &hub->hooks;
    for (size_t i = 0; i < h->nlocks; i++)
        h->locks[i].lock(h->locks[i].ud);
    uv_mutex_lock(&hub->mu);
    pub_req *rest = take_undoable(hub);
    uv_mutex_unlock(&hub->mu);
    undo_reqs(rest);
    hv_undo_run(matched->undo, 1);
    matched->undo = NULL;
    undo_reqs(list);
    for (size_t i = h->nlocks; i > 0; i--)
        h->locks[i - 1].unlock(h->locks[i - 1].ud);
    pub_req **tail = &list;
    while (*tail)
        tail = &(*tail)->next;
    *tail = rest;
    return list;
}

/* Puts requests back at the head of the queue, for the next group. */
static void requeue(hv_hub *hub, pub_req *waiting)
{
    if (!waiting)
        return;
    pub_req *last = waiting;
    size_t n = 1;
    while (last->next)
        last = last->next, n++;
    uv_mutex_lock(&hub->mu);
    last->next = hub->head;
    hub->head = waiting;
    if (!hub->tail)
        hub->tail = last;
    hub->queued += n;
    uv_mutex_unlock(&hub->mu);
}

static void commit_group(hv_hub *hub, pub_req *list)
{
    hv_server *srv = hub->srv;
    const hv_hub_hooks *h = &hub->hooks;
    pub_req *waiting = hv_store_available(srv->store, NULL, 0) ? hv__idem_screen_group(srv->store, srv->cfg.idempotency_window_s, &list) : NULL;
    if (!list) {
        requeue(hub, waiting);
        return;
    }
    group g = {0};
    g.idem_ttl = (int64_t)(srv->cfg.idempotency_window_s * 1000);
    gather(&g, list);
    match_endpoints(h, &g);

    /* Here, in commit order, so stamps increase with the ids. */
    hv_created_stamp(g.evs, g.n, hv_now_ms(), &hub->last_stamp);
    uint64_t t0 = uv_hrtime();
    hv_commit c = {g.evs, g.n, g.kv, g.nkv, g.rows, g.nrows, g.pres, g.npres, g.idem, g.nidem};
    int status = HV_PUBLISH_REFUSED;
    if (hv_store_available(srv->store, NULL, 0)) {
        status = hv_store_commit(srv->store, &c);
        hv_metrics_commit(&srv->metrics, (uv_hrtime() - t0) / 1000, status == 0 ? stored(&g) : 0);
    }
    if (status == 0) {
        hv__idem_lost(srv->store, g.idem, g.nidem);
        for (size_t i = 0; i < g.n; i++)
            hv_event_encode(g.evs[i]);
        size_t rows = kept_rows(&g);
        if (rows && h->committed)
            h->committed(h->committed_ud, g.rows, rows, g.evs);
    } else if (status != HV_PUBLISH_REFUSED) {
        hv_error("store: append of %zu events failed", g.n);
    }
    if (status != 0 && status != HV_PUBLISH_UNKNOWN) /* nothing stored */
        list = undo_failed(hub, list, &g.kv_extra);
    /* Read before the hand-off: answering may drop the last references. */
    uint64_t last = status == 0 ? last_kept(&g) : 0;
    if (last && h->stored)
        h->stored(h->stored_ud, last);
    int direct = status == 0 && !hub->follower;
    hv_after *after = hand_off(hub, list, status, direct ? g.evs : NULL, g.n);
    group_free(&g);
    if (hub->follower && last)
        hv_follower_after(hub->follower, last, after);
    else
        hv_after_post(after);
    requeue(hub, waiting);
}

static void maybe_prune(hv_hub *hub)
{
    uint64_t now = uv_hrtime() / 1000000;
    if (now < hub->next_prune)
        return;
    hub->next_prune = now + PRUNE_EVERY_MS; /* also the hub's longest idle wait */
    if (!hv_store_available(hub->srv->store, NULL, 0))
        return;
    /* With several nodes on one store, one of them prunes (the holder of
     * this lease, renewed at each pass); the others would redo its work. */
    if (hv_store_lease(hub->srv->store, "retention", 3 * PRUNE_EVERY_MS) != 1)
        return;
    const hv_config *cfg = &hub->srv->cfg;
    long n = hv_store_prune(hub->srv->store, cfg->retention_events,
                            (int64_t)(cfg->retention_age_s * 1000));
    if (n > 0)
        atomic_fetch_add_explicit(&hub->srv->metrics.events_pruned, (uint64_t)n, memory_order_relaxed);
    if (n >= HV_STORE_PRUNE_BATCH) /* more to delete: again after the commits waiting now */
        hub->next_prune = now;
    /* Idempotency keys past their window (a lookup already ignores them). */
    if (hv_store_idem_prune(hub->srv->store, hv_now_ms() - (int64_t)(cfg->idempotency_window_s * 1000)) >=
        HV_IDEM_PRUNE_BATCH)
        hub->next_prune = now;
}

static void run(void *arg)
{
    hv_hub *hub = arg;
    for (;;) {
        uv_mutex_lock(&hub->mu);
        uint64_t now = uv_hrtime() / 1000000;
        if (!hub->head && !hub->stop && hub->next_prune > now)
            uv_cond_timedwait(&hub->cv, &hub->mu, (hub->next_prune - now) * 1000000);
        pub_req *list = hub->head;
        hub->head = hub->tail = NULL;
        hub->queued = 0;
        int stop = hub->stop;
        uv_mutex_unlock(&hub->mu);
        if (list)
            commit_group(hub, list);
        else if (stop)
            break;
        maybe_prune(hub);
    }
}

hv_hub *hv_hub_start(hv_server *srv, const hv_hub_hooks *hooks)
{
    hv_hub *hub = hv_xcalloc(1, sizeof(*hub));
    hub->srv = srv;
    if (hooks)
        hub->hooks = *hooks;
    hub->follower = hv_follower_new(srv, &hub->hooks);
    hub->replica = hv_replica_new(srv, &hub->hooks); /* before the first commit: it marks what is shared */
    hub->catchup = hv_catchup_new(srv, hub->replica);
    uv_mutex_init(&hub->mu);
    uv_cond_init(&hub->cv);
    if (uv_thread_create(&hub->thread, run, hub) != 0) {
        hv_catchup_stop(hub->catchup);
        hv_catchup_free(hub->catchup);
        hv_follower_free(hub->follower);
        hv_replica_free(hub->replica);
        free(hub);
        return NULL;
    }
    return hub;
}

void hv_hub_stop(hv_hub *hub)
{
    uv_mutex_lock(&hub->mu);
    hub->stop = 1;
    uv_cond_signal(&hub->cv);
    uv_mutex_unlock(&hub->mu);
    uv_thread_join(&hub->thread);
    hv_catchup_stop(hub->catchup); /* before the replica: it catches up through it */
    hv_replica_stop(hub->replica); /* its socket closes may wait on the follower */
    hv_follower_stop(hub->follower);
}

void hv_hub_follow(hv_hub *hub)
{
    hv_follower_start(hub->follower);
    hv_replica_start(hub->replica);
}

void hv_hub_after(hv_hub *hub, uint64_t id, hv_after *after)
{
    if (hub->follower && id)
        hv_follower_after(hub->follower, id, after);
    else
        hv_after_post(after);
}

int hv_hub_catch_up(hv_hub *hub, hv_loop *loop, hv_catch_up_done done, void *arg)
{
    return hv_catchup_request(hub->catchup, loop, done, arg);
}

void hv_hub_free(hv_hub *hub)
{
    if (!hub)
        return;
    hv_catchup_free(hub->catchup);
    hv_follower_free(hub->follower);
    hv_replica_free(hub->replica);
    uv_cond_destroy(&hub->cv);
    uv_mutex_destroy(&hub->mu);
    free(hub);
}

size_t hv_hub_queued(hv_hub *hub)
{
    uv_mutex_lock(&hub->mu);
    size_t n = hub->queued;
    uv_mutex_unlock(&hub->mu);
    return n;
}

int hv_hub_publish(hv_hub *hub, hv_event **evs, size_t n, hv_loop *origin,
                   hv_publish_done done, void *arg)
{
    return hv_hub_commit(hub, evs, n, NULL, NULL, origin, done, arg);
}

int hv_hub_publish_idem(hv_hub *hub, hv_event **evs, size_t n, hv_idem_claim *claims,
                        size_t nclaims, hv_loop *origin, hv_publish_done done, void *arg)
{
    return hub_queue(hub, evs, n, NULL, NULL, claims, nclaims, origin, done, arg);
}

int hv_hub_commit(hv_hub *hub, hv_event **evs, size_t n, hv_kvlist *kv, hv_after *after,
                  hv_loop *origin, hv_publish_done done, void *arg)
{
    return hub_queue(hub, evs, n, kv, after, NULL, 0, origin, done, arg);
}

static int hub_queue(hv_hub *hub, hv_event **evs, size_t n, hv_kvlist *kv, hv_after *after,
                     hv_idem_claim *claims, size_t nclaims, hv_loop *origin,
                     hv_publish_done done, void *arg)
{
    pub_req *r = hv_xcalloc(1, sizeof(*r));
    if (nclaims) {
        r->idem = claims;
        r->nidem = nclaims;
        r->skip = hv_xcalloc(n ? n : 1, 1);
    }
    r->evs = evs;
    r->n = n;
    r->after = after;
    if (kv) {
        r->kv = *kv;
        memset(kv, 0, sizeof(*kv));
    }
    r->origin = origin;
    r->done = done;
    r->arg = arg;
    uv_mutex_lock(&hub->mu);
    if (hub->stop) {
        uv_mutex_unlock(&hub->mu);
        hv_after_post(r->after);
        r->after = NULL;
        free_req(r);
        return -1;
    }
    /* A change with undos is refused by the commit thread instead, which
     * undoes it under the registries' locks (the caller holds one). */
    if (!r->kv.undo && !hv_store_available(hub->srv->store, NULL, 0)) {
        uv_mutex_unlock(&hub->mu);
        /* Refused, not queued: answered on its loop like a failed commit. */
        hv_after_post(hand_off(hub, r, HV_PUBLISH_REFUSED, NULL, 0));
        return 0;
    }
    if (hub->tail)
        hub->tail->next = r;
    else
        hub->head = r;
    hub->tail = r;
    hub->queued++;
    uv_cond_signal(&hub->cv);
    uv_mutex_unlock(&hub->mu);
    atomic_fetch_add_explicit(&hub->srv->metrics.publish_requests, 1, memory_order_relaxed);
    return 0;
}
