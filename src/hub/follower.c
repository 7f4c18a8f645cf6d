/* SPDX-License-Identifier: MIT */
/* follower.c — the log follower (follower.h): cross-node fan-out for a
 * store whose event log several herald nodes share (the redis engine).
 *
 * How: one thread reads the shared log from the last id it has seen,
 * blocking in the store's tail read (XREAD BLOCK on a connection of its
 * own), gets every node's events in id order, moves the store's last_id up
 * to them (so history and resume here serve them before any subscriber is
 * sent one), encodes each once and posts the batch to every loop whose
 * reach summary may want it (the fan-out hooks wanted / prepare /
 * deliver, hooks.h, as the hub does with SQLite). The hub, in this mode,
 * commits, answers its publishers, enqueues webhooks and notifies sinks,
 * but fans out nothing itself: one ordered path, so each subscriber gets
 * each event once and in id order, its own node's events included, and a
 * loop's resume (channels.c: live events held while the replay reads,
 * sent after it with ids at or below what was replayed skipped) works as
 * with SQLite, since the store's last_id is published before the reach
 * check.
 * Work to run after a commit's events reached the loops (closing a
 * deleted peer's socket after its peer.deleted) waits here until the
 * follower has handed out that commit's last id.
 *
 * Why stream reads and not Pub/Sub: the log already is a Stream, so
 * reading it gives the events in id order from the same entries history
 * and resume read; after a Redis outage (or a slow node) the follower
 * simply reads on from its last id, missing nothing and needing no
 * second channel whose messages would be lost while disconnected (Pub/Sub
 * is at-most-once) and would then have to be reconciled with the log.
 * The cost is one blocked connection per node and a latency of one Redis
 * round trip after the commit, which Pub/Sub would cost too.
 *
 * Outages: a failed read is logged once, then retried with back-off
 * (FOLLOW_BACKOFF_MIN..MAX); the first good read logs the recovery and
 * continues from the last id seen. Events pruned while a node was away
 * are not replayed to its live subscribers (their resume reports the gap).
 */
#include "hub/follower.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <uv.h>

#include "codec/event_frames.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/server.h"

#define FOLLOW_PAGE 1000        /* entries per read */
#define FOLLOW_WAIT_MS 200      /* one blocking read; also the stop latency */
#define FOLLOW_BACKOFF_MIN 50   /* ms before the first retry */
#define FOLLOW_BACKOFF_MAX 2000 /* ms between retries at most */

typedef struct waiting {
    struct waiting *next;
    uint64_t id;
    hv_after *after;
} waiting;

struct hv_follower {
    hv_server *srv;
    const hv_hub_hooks *hooks; /* the hub's (it outlives the follower) */
    hv_store_tail *tail;
    uv_thread_t thread;
    atomic_int started;        /* the thread runs (set by start, read by the hub) */
    atomic_int stop;
    uint64_t pos;              /* the last id read (the thread's) */
    uv_mutex_t mu;             /* guards the fields below */
    uint64_t handed;           /* every id up to this reached the loops */
    waiting *head, **tail_of;  /* after-commit work by increasing id */
};

/* Hands evs to every loop that may have a recipient (after the store
 * published them: see deliver/reach.h). */
static void fan_out(hv_follower *f, hv_event **evs, size_t n)
{
    hv_server *srv = f->srv;
    const hv_hub_hooks *h = f->hooks;
    for (size_t i = 0; i < n; i++)
        hv_event_encode(evs[i]);
    if (!h->wanted || !h->prepare || !h->deliver)
        return;
    int nl = srv->nloops, wanted = 0;
    char *want = hv_xcalloc(nl > 0 ? (size_t)nl : 1, 1);
    for (int i = 0; i < nl; i++)
        if (h->wanted(h->fanout_ud, srv->loops[i], evs, n))
            want[i] = 1, wanted++;
    if (wanted) {
        void *b = h->prepare(h->fanout_ud, evs, n, wanted);
        for (int i = 0; i < nl; i++)
            if (want[i])
                hv_loop_post(srv->loops[i], h->deliver, b);
    }
    free(want);
}

/* Records that every id up to pos reached the loops and posts the
 * after-commit work that waited for it. */
static void handed(hv_follower *f, uint64_t pos)
{
    uv_mutex_lock(&f->mu);
    f->handed = pos;
    waiting *ready = NULL, **rt = &ready;
    while (f->head && f->head->id <= pos) {
        *rt = f->head;
        rt = &f->head->next;
        f->head = f->head->next;
    }
    *rt = NULL;
    if (!f->head)
        f->tail_of = &f->head;
    uv_mutex_unlock(&f->mu);
    while (ready) {
        waiting *next = ready->next;
        hv_after_post(ready->after);
        free(ready);
        ready = next;
    }
}

/* Sleeps ms, waking early when asked to stop. */
static void nap(hv_follower *f, int ms)
{
    for (int slept = 0; slept < ms && !atomic_load(&f->stop); slept += 50)
        uv_sleep(50);
}

static void run(void *arg)
{
    hv_follower *f = arg;
    int down = 0, backoff = FOLLOW_BACKOFF_MIN;
    while (!atomic_load(&f->stop)) {
        hv_event **evs = NULL;
        size_t n = 0;
        char err[256] = "";
        if (hv_store_tail_read(f->tail, &f->pos, FOLLOW_PAGE, FOLLOW_WAIT_MS, &evs, &n, err,
                               sizeof(err)) != 0) {
            if (!down)
                hv_warn("follower: cannot read the shared event log (%s); retrying from id %llu",
                        err, (unsigned long long)f->pos);
            down = 1;
            nap(f, backoff);
            backoff = backoff * 2 > FOLLOW_BACKOFF_MAX ? FOLLOW_BACKOFF_MAX : backoff * 2;
            continue;
        }
        if (down)
            hv_info("follower: reading the shared event log again after id %llu",
                    (unsigned long long)f->pos);
        down = 0;
        backoff = FOLLOW_BACKOFF_MIN;
        if (n)
            fan_out(f, evs, n);
        for (size_t i = 0; i < n; i++)
            hv_event_unref(evs[i]);
        free(evs);
        handed(f, f->pos);
        /* Sinks follow every node's events, not only this node's commits. */
        if (n && f->hooks->stored)
            f->hooks->stored(f->hooks->stored_ud, f->pos);
    }
}

hv_follower *hv_follower_new(hv_server *srv, const hv_hub_hooks *hooks)
{
    hv_store_tail *tail = hv_store_tail_open(srv->store);
    if (!tail)
        return NULL;
    hv_follower *f = hv_xcalloc(1, sizeof(*f));
    f->srv = srv;
    f->hooks = hooks;
    f->tail = tail;
    f->pos = f->handed = hv_store_last_id(srv->store);
    f->tail_of = &f->head;
    atomic_init(&f->stop, 0);
    atomic_init(&f->started, 0);
    uv_mutex_init(&f->mu);
    return f;
}

void hv_follower_start(hv_follower *f)
{
    if (!f || atomic_load(&f->started))
        return;
    if (uv_thread_create(&f->thread, run, f) != 0) {
        hv_error("follower: cannot start its thread: events from the shared log will not be "
                 "delivered");
        return;
    }
    atomic_store(&f->started, 1);
}

void hv_follower_after(hv_follower *f, uint64_t id, hv_after *after)
{
    if (!after)
        return;
    uv_mutex_lock(&f->mu);
    int now = f->handed >= id || !atomic_load(&f->started) || atomic_load(&f->stop);
    if (!now) {
        waiting *w = hv_xmalloc(sizeof(*w));
        *w = (waiting){NULL, id, after};
        *f->tail_of = w;
        f->tail_of = &w->next;
    }
    uv_mutex_unlock(&f->mu);
    if (now)
        hv_after_post(after);
}

void hv_follower_stop(hv_follower *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, 1);
    if (atomic_load(&f->started))
        uv_thread_join(&f->thread);
    atomic_store(&f->started, 0);
    handed(f, UINT64_MAX); /* what still waits runs now (the loops are stopping) */
}

void hv_follower_free(hv_follower *f)
{
    if (!f)
        return;
    hv_store_tail_close(f->tail);
    uv_mutex_destroy(&f->mu);
    free(f);
}
