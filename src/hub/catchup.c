/* SPDX-License-Identifier: MIT */
/* catchup.c — catch-ups with the other nodes' changes, on request, on a
 * thread of their own (catchup.h; issue 13, defect 11).
 *
 * Why: a catch-up is a Redis round trip (XREAD of the change feed, under
 * the replica's mutex). It used to run on the I/O thread that met an
 * unknown 43-character token, so each such token, however random, stalled
 * that loop for a round trip, and for the whole command timeout (5 s,
 * twice per socket) while Redis hung; the replica's mutex made every loop
 * meeting one wait in turn. Now the loop only queues a request and parks
 * the socket; this thread runs the catch-ups and posts each answer to its
 * requester's loop.
 *
 * Coalescing: a catch-up takes every request queued when it begins, and
 * answers them all when it ends; a request made while one runs waits for
 * the next (the running one may have read the feed before the change that
 * request needs was committed). So a burst of N unknown tokens costs two
 * catch-ups, not N.
 * Rate: a catch-up begins at most once per --catch-up-interval (default
 * 0.1 s): a flood of random tokens costs at most that many Redis reads.
 * Bounds: at most --max-token-lookups requests wait (queued or being
 * served) at once; past that a request is refused at once (the caller
 * answers "too many"). A request still queued --auth-timeout after it was
 * made is answered HV_CATCH_UP_TIMEOUT (the catch-ups were held back, e.g.
 * by a long --catch-up-interval or a stuck one), so its slot is freed and
 * an HTTP request (SSE) gets its answer; one being served waits for its
 * catch-up, which the Redis command timeout bounds.
 * While the store is unavailable (hv_store_available: the health probe
 * says Redis is gone or hangs) a catch-up is not tried: its requests are
 * answered HV_CATCH_UP_FAILED at once.
 *
 * The mutex guards the queue only; it is never held across Redis.
 */
#include "hub/catchup.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <uv.h>

#include "core/log.h"
#include "core/xalloc.h"

typedef struct waiter {
    struct waiter *next;
    hv_loop *loop;
    hv_catch_up_done done;
    void *arg;
    uint64_t expires; /* monotonic ms */
    int status;
} waiter;

struct hv_catchup {
    hv_server *srv;
    hv_replica *rp;
    uv_thread_t thread;
    int started;
    uv_mutex_t mu; /* guards what follows */
    uv_cond_t cv;
    waiter *head, **tail; /* queued, by increasing expiry */
    size_t waiting;       /* queued + being served: what --max-token-lookups bounds */
    uint64_t last_start;  /* monotonic ms of the last catch-up (0: none yet) */
    int stop;
};

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000;
}

static void answer_on_loop(hv_loop *l, void *arg)
{
    waiter *w = arg;
    w->done(l, w->arg, w->status);
    free(w);
}

/* Posts each waiter of list its answer (mu not held). */
static void answer(hv_catchup *cu, waiter *list, int status)
{
    size_t n = 0;
    while (list) {
        waiter *next = list->next;
        list->status = status;
        hv_loop_post(list->loop, answer_on_loop, list);
        list = next;
        n++;
    }
    uv_mutex_lock(&cu->mu);
    cu->waiting -= n;
    atomic_store_explicit(&cu->srv->metrics.token_lookups_waiting, (int64_t)cu->waiting, memory_order_relaxed);
    uv_mutex_unlock(&cu->mu);
}

/* Unlinks the queued waiters whose time is up (mu held). */
static waiter *take_expired(hv_catchup *cu, uint64_t now)
{
    waiter *out = NULL, **ot = &out;
    while (cu->head && cu->head->expires <= now) {
        *ot = cu->head;
        ot = &cu->head->next;
        cu->head = cu->head->next;
    }
    *ot = NULL;
    if (!cu->head)
        cu->tail = &cu->head;
    return out;
}

/* One catch-up for the waiters of list (mu not held). */
static void serve(hv_catchup *cu, waiter *list)
{
    int status = HV_CATCH_UP_FAILED;
    if (hv_store_available(cu->srv->store, NULL, 0)) {
        atomic_fetch_add_explicit(&cu->srv->metrics.token_catchups, 1, memory_order_relaxed);
        if (hv_replica_catch_up(cu->rp) >= 0)
            status = HV_CATCH_UP_DONE;
    }
    answer(cu, list, status);
}

static void run(void *arg)
{
    hv_catchup *cu = arg;
    uv_mutex_lock(&cu->mu);
    while (!cu->stop) {
        uint64_t now = mono_ms();
        waiter *late = take_expired(cu, now);
        if (late) {
            uv_mutex_unlock(&cu->mu);
            answer(cu, late, HV_CATCH_UP_TIMEOUT);
            uv_mutex_lock(&cu->mu);
            continue;
        }
        if (!cu->head) {
            uv_cond_wait(&cu->cv, &cu->mu);
            continue;
        }
        uint64_t interval = (uint64_t)(cu->srv->cfg.catch_up_interval_s * 1000);
        uint64_t at = cu->last_start ? cu->last_start + interval : 0;
        if (now < at) { /* the rate limit: sleep until then, or the first expiry */
            uint64_t until = cu->head->expires < at ? cu->head->expires : at;
            uv_cond_timedwait(&cu->cv, &cu->mu, (until - now) * 1000000);
            continue;
        }
        waiter *list = cu->head; /* every request made before it begins */
        cu->head = NULL;
        cu->tail = &cu->head;
        cu->last_start = now;
        uv_mutex_unlock(&cu->mu);
        serve(cu, list);
        uv_mutex_lock(&cu->mu);
    }
    uv_mutex_unlock(&cu->mu);
}

hv_catchup *hv_catchup_new(hv_server *srv, hv_replica *rp)
{
    if (!rp)
        return NULL;
    hv_catchup *cu = hv_xcalloc(1, sizeof(*cu));
    cu->srv = srv;
    cu->rp = rp;
    cu->tail = &cu->head;
    uv_mutex_init(&cu->mu);
    uv_cond_init(&cu->cv);
    if (uv_thread_create(&cu->thread, run, cu) != 0)
        hv_error("catch-up: cannot start its thread: tokens issued on other nodes are known here only "
                 "once the replica has applied them");
    else
        cu->started = 1;
    return cu;
}

int hv_catchup_request(hv_catchup *cu, hv_loop *loop, hv_catch_up_done done, void *arg)
{
    if (!cu || !cu->started)
        return HV_CATCH_UP_NONE;
    uv_mutex_lock(&cu->mu);
    int rc = HV_CATCH_UP_QUEUED;
    if (cu->stop) {
        rc = HV_CATCH_UP_NONE;
    } else if (cu->waiting >= cu->srv->cfg.max_token_lookups) {
        rc = HV_CATCH_UP_BUSY;
        atomic_fetch_add_explicit(&cu->srv->metrics.token_lookups_refused, 1, memory_order_relaxed);
    } else {
        waiter *w = hv_xcalloc(1, sizeof(*w));
        *w = (waiter){NULL, loop, done, arg, mono_ms() + (uint64_t)(cu->srv->cfg.auth_timeout_s * 1000), 0};
        *cu->tail = w;
        cu->tail = &w->next;
        cu->waiting++;
        atomic_store_explicit(&cu->srv->metrics.token_lookups_waiting, (int64_t)cu->waiting, memory_order_relaxed);
        uv_cond_signal(&cu->cv);
    }
    uv_mutex_unlock(&cu->mu);
    return rc;
}

void hv_catchup_stop(hv_catchup *cu)
{
    if (!cu)
        return;
    uv_mutex_lock(&cu->mu);
    cu->stop = 1;
    uv_cond_signal(&cu->cv);
    uv_mutex_unlock(&cu->mu);
    if (cu->started) /* not reset: the loops read it without the mutex */
        uv_thread_join(&cu->thread);
    uv_mutex_lock(&cu->mu);
    waiter *rest = cu->head;
    cu->head = NULL;
    cu->tail = &cu->head;
    uv_mutex_unlock(&cu->mu);
    answer(cu, rest, HV_CATCH_UP_FAILED);
}

void hv_catchup_free(hv_catchup *cu)
{
    if (!cu)
        return;
    uv_cond_destroy(&cu->cv);
    uv_mutex_destroy(&cu->mu);
    free(cu);
}
