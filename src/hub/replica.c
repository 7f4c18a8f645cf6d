/* SPDX-License-Identifier: MIT */
/* replica.c — applying the changes other nodes commit (replica.h).
 *
 * How: a thread of its own blocks on the store's change feed (XREAD BLOCK
 * on P kvlog, on its own connection), copies what it read, then, under the
 * replica's mutex, applies each entry it has not applied yet, in feed
 * order, through the apply hook registered for its namespace (hooks.h,
 * hv_hub_shared: main.c registers rooms' and the webhook endpoints'). The
 * hooks take their own locks and commit nothing.
 * An entry this node committed itself is skipped (its memory changed when
 * the change was made), except a session: the registry needs to see its
 * own sessions in the feed's order (rooms/nodes.c).
 *
 * Why a thread of its own and not the log follower's: the follower's read
 * is on the hot path of every event's fan-out, and state changes are rare;
 * the two streams are independent except for one ordering, which the
 * hooks get from the entry (its commit's last event id): a socket closed
 * because its room or peer was deleted on another node waits, through
 * hv_hub_after, until the follower has handed out that commit's events.
 * A second, short path applies entries on request (catch-up, e.g. when a
 * peer token is unknown: it may have been issued on another node a moment
 * ago); it runs on the catch-up thread (catchup.c), never on an I/O loop,
 * since it holds the mutex across Redis round trips. The mutex and the
 * position make both paths apply each entry once and in order.
 *
 * Start: the position is the feed's when the store was opened, before the
 * registries loaded their snapshot, so changes made meanwhile are applied
 * again (harmless: applying is idempotent). Gaps: feed positions have no
 * holes, so an entry beyond position + 1 means the feed was trimmed past
 * what this node had read (it was away, or could not reach Redis, for
 * longer than the feed keeps): the node takes the feed's position, then
 * reloads the snapshot of every shared namespace and reconciles its
 * memory with it (records it holds that the snapshot lacks are applied as
 * deleted), and follows on from that position.
 */
#include "hub/replica.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/log.h"
#include "core/map.h"
#include "core/xalloc.h"
#include "store/shared.h"

#define FEED_PAGE 500         /* entries per read */
#define FEED_WAIT_MS 200      /* one blocking read; also the stop latency */
#define FEED_BACKOFF_MAX 2000 /* ms between retries at most */

struct hv_replica {
    hv_server *srv;
    const hv_hub_hooks *hooks; /* the hub's: hooks->shared, in snapshot order */
    hv_store_feed *feed;  /* the thread's (blocking reads) */
    hv_store_feed *quick; /* catch-ups (under mu) */
    uv_thread_t thread;
    atomic_int stop, started;
    uv_mutex_t mu; /* guards pos and serialises applying */
    uint64_t pos;  /* the last entry applied */
};

/* Entries copied out of a read. */
typedef struct batch {
    hv_kv_entry *v;
    size_t n, cap;
} batch;

static char *dup_or_null(const char *s)
{
    return s ? hv_xstrdup(s) : NULL;
}

static void collect(void *arg, const hv_kv_entry *e)
{
    batch *b = arg;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 32;
        b->v = hv_xrealloc(b->v, b->cap * sizeof(*b->v));
    }
    b->v[b->n++] = (hv_kv_entry){e->seq, hv_xstrdup(e->ns), hv_xstrdup(e->key), dup_or_null(e->value),
                                 hv_xstrdup(e->node), e->event_id};
}

static void batch_clear(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free((char *)b->v[i].ns);
        free((char *)b->v[i].key);
        free((char *)b->v[i].value);
        free((char *)b->v[i].node);
    }
    free(b->v);
    memset(b, 0, sizeof(*b));
}

/* The registration of namespace ns, or NULL (a namespace no one
 * registered is not applied). */
static const hv_hub_shared *shared_of(const hv_replica *rp, const char *ns)
{
    for (size_t i = 0; i < rp->hooks->nshared; i++)
        if (!strcmp(rp->hooks->shared[i].ns, ns))
            return &rp->hooks->shared[i];
    return NULL;
}

static void apply_one(hv_replica *rp, const hv_kv_entry *e)
{
    if (!strcmp(e->node, rp->srv->cfg.node_id) && strcmp(e->ns, HV_NS_PRESENCE) != 0)
        return;
    const hv_hub_shared *sh = shared_of(rp, e->ns);
    if (sh && sh->apply)
        sh->apply(sh->ud, e);
}

/* ---- reloading the snapshot after a gap ---------------------------------- */

typedef struct snapshot {
    batch records;   /* in load order */
    hv_map keys;     /* key -> 1 */
    batch gone;      /* keys this node holds that the snapshot lacks */
    const char *ns;
} snapshot;

static void snap_record(void *arg, const char *key, const char *value)
{
    snapshot *s = arg;
    collect(&s->records, &(hv_kv_entry){0, s->ns, key, value, "", 0});
    hv_map_put(&s->keys, key, s);
}

static void snap_held(void *arg, const char *key)
{
    snapshot *s = arg;
    if (!hv_map_get(&s->keys, key))
        collect(&s->gone, &(hv_kv_entry){0, s->ns, key, NULL, "", 0});
}

static int resync_ns(hv_replica *rp, const hv_hub_shared *sh)
{
    snapshot s = {.ns = sh->ns};
    hv_map_init(&s.keys);
    int rc = hv_store_kv_snapshot(rp->srv->store, sh->ns, snap_record, &s);
    if (rc == 0) {
        if (sh->keys)
            sh->keys(sh->ud, sh->ns, snap_held, &s);
        for (size_t i = 0; i < s.gone.n; i++)
            apply_one(rp, &s.gone.v[i]);
        for (size_t i = 0; i < s.records.n; i++)
            apply_one(rp, &s.records.v[i]);
    }
    batch_clear(&s.records);
    batch_clear(&s.gone);
    hv_map_free(&s.keys);
    return rc;
}

/* mu held. */
static int resync(hv_replica *rp)
{
    uint64_t pos;
    if (hv_store_feed_position(rp->srv->store, &pos) != 0)
        return -1;
    for (size_t i = 0; i < rp->hooks->nshared; i++)
        if (resync_ns(rp, &rp->hooks->shared[i]) != 0)
            return -1;
    hv_info("replica: changes made by other nodes were trimmed from the feed before this node "
            "read them; reloaded rooms, peers and webhook endpoints from the store (feed "
            "position %llu -> %llu)", (unsigned long long)rp->pos, (unsigned long long)pos);
    rp->pos = pos;
    return 0;
}

/* Applies the entries of b not applied yet (mu held). -1 when a reload
 * after a gap failed (the caller retries). */
static int apply_batch(hv_replica *rp, const batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const hv_kv_entry *e = &b->v[i];
        if (e->seq <= rp->pos)
            continue;
        if (e->seq > rp->pos + 1)
            return resync(rp); /* what follows is read again from the new position */
        apply_one(rp, e);
        rp->pos = e->seq;
    }
    return 0;
}

/* ---- the thread -------------------------------------------------------- */

static void nap(hv_replica *rp, int ms)
{
    for (int slept = 0; slept < ms && !atomic_load(&rp->stop); slept += 50)
        uv_sleep(50);
}

static void run(void *arg)
{
    hv_replica *rp = arg;
    int down = 0, backoff = 50;
    while (!atomic_load(&rp->stop)) {
        uv_mutex_lock(&rp->mu);
        uint64_t from = rp->pos;
        uv_mutex_unlock(&rp->mu);
        batch b = {0};
        char err[256] = "";
        int got = hv_store_feed_read(rp->feed, from, FEED_PAGE, FEED_WAIT_MS, collect, &b, err,
                                     sizeof(err));
        int rc = got;
        if (got > 0) {
            uv_mutex_lock(&rp->mu);
            rc = apply_batch(rp, &b);
            uv_mutex_unlock(&rp->mu);
            if (rc != 0)
                snprintf(err, sizeof(err), "reloading the snapshot failed");
        }
        batch_clear(&b);
        if (rc < 0) {
            if (!down)
                hv_warn("replica: cannot follow the other nodes' changes (%s); retrying", err);
            down = 1;
            nap(rp, backoff);
            backoff = backoff * 2 > FEED_BACKOFF_MAX ? FEED_BACKOFF_MAX : backoff * 2;
            continue;
        }
        if (down)
            hv_info("replica: following the other nodes' changes again");
        down = 0;
        backoff = 50;
        if (rp->hooks->feed_ok) /* the store answers: e.g. what it refused, again */
            rp->hooks->feed_ok(rp->hooks->feed_ok_ud);
    }
}

hv_replica *hv_replica_new(hv_server *srv, const hv_hub_hooks *hooks)
{
    hv_store_feed *feed = hv_store_feed_open(srv->store);
    if (!feed)
        return NULL;
    hv_replica *rp = hv_xcalloc(1, sizeof(*rp));
    rp->srv = srv;
    rp->hooks = hooks;
    rp->feed = feed;
    rp->quick = hv_store_feed_open(srv->store);
    rp->pos = hv_store_feed_start(srv->store);
    atomic_init(&rp->stop, 0);
    atomic_init(&rp->started, 0);
    uv_mutex_init(&rp->mu);
    for (size_t i = 0; i < hooks->nshared; i++)
        if (strcmp(hooks->shared[i].ns, HV_NS_PRESENCE) != 0) /* the store's own */
            hv_store_kv_share(srv->store, hooks->shared[i].ns);
    return rp;
}

void hv_replica_start(hv_replica *rp)
{
    if (!rp || atomic_load(&rp->started))
        return;
    if (uv_thread_create(&rp->thread, run, rp) != 0) {
        hv_error("replica: cannot start its thread: changes made on other nodes will not be seen");
        return;
    }
    atomic_store(&rp->started, 1);
}

int hv_replica_catch_up(hv_replica *rp)
{
    if (!rp || !rp->quick)
        return 0;
    uv_mutex_lock(&rp->mu);
    uint64_t before = rp->pos;
    int got;
    do {
        batch b = {0};
        char err[256];
        got = hv_store_feed_read(rp->quick, rp->pos, FEED_PAGE, 0, collect, &b, err, sizeof(err));
        if (got > 0 && apply_batch(rp, &b) != 0)
            got = -1;
        batch_clear(&b);
    } while (got == FEED_PAGE);
    int moved = rp->pos != before;
    uv_mutex_unlock(&rp->mu);
    return got < 0 ? -1 : moved;
}

void hv_replica_stop(hv_replica *rp)
{
    if (!rp)
        return;
    atomic_store(&rp->stop, 1);
    if (atomic_load(&rp->started))
        uv_thread_join(&rp->thread);
    atomic_store(&rp->started, 0);
}

void hv_replica_free(hv_replica *rp)
{
    if (!rp)
        return;
    hv_store_feed_close(rp->feed);
    hv_store_feed_close(rp->quick);
    uv_mutex_destroy(&rp->mu);
    free(rp);
}
