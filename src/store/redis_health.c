/* SPDX-License-Identifier: MIT */
/* redis_health.c — whether Redis is answering, for the redis engine
 * (redis_internal.h rhealth; store.h hv_store_available).
 *
 * Why: while Redis is stopped or hangs, a commit would wait out its
 * connect or command timeout (HV_REDIS_TIMEOUT_MS, 5 s) before failing,
 * and so would every publisher queued behind it. With a health state the
 * hub refuses new work at once (503) instead of queueing it, and the
 * engine's other commands fail at once instead of each waiting 5 s.
 *
 * Down: the first command that cannot connect or fails with an I/O error
 * other than a plain close (redis_conn.c: hv_redis_health_fail) marks
 * Redis down, as does a failed probe. A close (EOF) only wakes the probe:
 * Redis closes idle clients when its `timeout` is set, and such a close
 * must not refuse publishes; if Redis really went away the probe, woken at
 * once, cannot connect and marks it down.
 * Up: only the probe marks Redis up again, after a PONG.
 *
 * The probe is a thread of its own running a libuv loop, with a
 * connection of its own driven by hiredis's asynchronous API through its
 * libuv adapter: PING every HV_PROBE_EVERY_MS, and a timer that judges
 * each PING (and a connect) unanswered after HV_PROBE_TIMEOUT_MS. It has
 * to be separate from the connections that carry work: when Redis hangs
 * (SIGSTOP, a long script, a full disk) the hub's commit is stuck in its
 * 5 s timeout, and only an independent connection can notice the hang
 * within a few seconds (here: at most HV_PROBE_EVERY_MS +
 * HV_PROBE_TIMEOUT_MS after it begins) and let the loops refuse new
 * publishes meanwhile. Asynchronous, so that the waiting is a timer and
 * not a blocked read: a hang, a dropped SYN and a refused connection are
 * all told by the same deadline, and a poke (a command failed elsewhere)
 * wakes the loop at once through a uv_async. A thread of its own, not the
 * I/O loops', so that the probe never shares their latency. A PING is the cheapest command Redis
 * answers only when it can serve: it is refused while Redis loads its
 * append-only file after a restart (LOADING), which counts as down too.
 *
 * Every transition is logged once, with the reason (down) or the outage's
 * length (up). The flag is an atomic read by any thread; the reason is
 * guarded by the mutex.
 */
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "store/redis_internal.h"

#define HV_PROBE_EVERY_MS 250
/* Long enough that a busy machine (Redis or herald starved of CPU for a
 * moment) is not taken for a Redis that hangs, which would refuse every
 * publish (503) until the next PONG; short beside a command's own 5 s. */
#define HV_PROBE_TIMEOUT_MS 2000

void hv_redis_health_init(hv_redis *r)
{
    rhealth *h = &r->health;
    atomic_init(&h->up, 1);
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->cb_mu, NULL);
}

int hv_redis_health_up(hv_redis *r)
{
    return atomic_load_explicit(&r->health.up, memory_order_acquire);
}

/* Marks Redis down (mutex held), logging the first failure only. */
static void mark_down(hv_redis *r, const char *why)
{
    rhealth *h = &r->health;
    if (!atomic_load(&h->up))
        return;
    const char *cc = "cannot connect to Redis at "; /* hv_redis_connect's text */
    const char *rest = strncmp(why, cc, strlen(cc)) ? NULL : strstr(why + strlen(cc), ": ");
    char shorter[160];
    if (rest) { /* the host and port are said once */
        snprintf(shorter, sizeof(shorter), "connect: %s", rest + 2);
        why = shorter;
    }
    snprintf(h->why, sizeof(h->why), "Redis at %.100s:%d is not answering (%.120s)", r->host, r->port,
             why);
    h->down_since_ms = hv_now_ms();
    atomic_store_explicit(&h->up, 0, memory_order_release);
    hv_warn("store: %s: publishes are refused (503) until it answers again", h->why);
}

void hv_redis_probe_poke(hv_redis *r)
{
    rhealth *h = &r->health;
    pthread_mutex_lock(&h->mu);
    if (h->running)
        uv_async_send(&h->wake);
    pthread_mutex_unlock(&h->mu);
}

void hv_redis_health_fail(hv_redis *r, int certain, const char *why)
{
    rhealth *h = &r->health;
    pthread_mutex_lock(&h->mu);
    if (certain)
        mark_down(r, why);
    h->poke = 1; /* probe now: after a close, to learn whether Redis is gone */
    if (h->running) /* the handle exists and stays while we hold the lock */
        uv_async_send(&h->wake);
    pthread_mutex_unlock(&h->mu);
}

static void health_recovered(hv_redis *r)
{
    rhealth *h = &r->health;
    pthread_mutex_lock(&h->mu);
    if (!atomic_load(&h->up)) {
        atomic_store_explicit(&h->up, 1, memory_order_release);
        hv_info("store: Redis at %s:%d answers again (down for %.1f s): publishes are accepted",
                r->host, r->port, (double)(hv_now_ms() - h->down_since_ms) / 1000);
    }
    pthread_mutex_unlock(&h->mu);
}

int hv_redis_available(hv_store *st, char *why, size_t len)
{
    hv_redis *r = hv_redis_of(st);
    if (hv_redis_health_up(r))
        return 1;
    if (why && len) {
        pthread_mutex_lock(&r->health.mu);
        snprintf(why, len, "%s", r->health.why);
        pthread_mutex_unlock(&r->health.mu);
    }
    return 0;
}

/* ---- the probe: its own thread and libuv loop, hiredis's async API ----
 *
 * State (probe thread only): h->ac the connection (NULL: make one at the
 * next PING), h->outstanding with h->sent_ms while a PING waits for its
 * answer. A tick every HV_PROBE_TICK_MS sends the next PING when one is
 * due (or asked for: h->poked) and judges the one outstanding: no answer
 * within HV_PROBE_TIMEOUT_MS (a hang, a dropped SYN, a stopped process)
 * marks Redis down and drops the connection. hiredis calls back with the
 * answer; its connect and disconnect callbacks tell of the connection's
 * end, after which hiredis frees the context itself. */

#define HV_PROBE_TICK_MS 25

static void probe_drop(hv_redis *r)
{
    rhealth *h = &r->health;
    redisAsyncContext *ac = h->ac;
    h->ac = NULL; /* first: the callbacks redisAsyncFree runs see it gone */
    h->outstanding = 0;
    if (ac)
        redisAsyncFree(ac);
}

static void down_because(hv_redis *r, const char *fmt, const char *what)
{
    char why[200];
    snprintf(why, sizeof(why), fmt, what);
    pthread_mutex_lock(&r->health.mu);
    mark_down(r, why);
    pthread_mutex_unlock(&r->health.mu);
}

static void on_pong(redisAsyncContext *ac, void *reply, void *arg)
{
    hv_redis *r = arg;
    rhealth *h = &r->health;
    if (ac != h->ac)
        return; /* a connection already let go of */
    h->outstanding = 0;
    redisReply *rep = reply;
    if (!rep) /* the connection ended; on_disconnect says why */
        return;
    if (rep->type == REDIS_REPLY_STATUS && !strcmp(rep->str, "PONG"))
        health_recovered(r);
    else
        down_because(r, "PING answered %.120s",
                     rep->type == REDIS_REPLY_ERROR ? rep->str : "something else than PONG");
}

/* The answer to AUTH or SELECT, sent before anything else. */
static void on_auth(redisAsyncContext *ac, void *reply, void *arg)
{
    hv_redis *r = arg;
    redisReply *rep = reply;
    if (ac == r->health.ac && rep && rep->type == REDIS_REPLY_ERROR)
        down_because(r, "AUTH or SELECT: %.120s", rep->str);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    hv_redis *r = ac->data;
    if (status == REDIS_OK || ac != r->health.ac)
        return;
    r->health.ac = NULL; /* hiredis frees it after this call */
    r->health.outstanding = 0;
    down_because(r, "connect: %s", ac->errstr);
}

/* A connection that ended: made again at the next PING, which goes at
 * once (Redis may have closed it and be gone: the PING tells). */
static void on_disconnect(const redisAsyncContext *ac, int status)
{
    hv_redis *r = ac->data;
    (void)status;
    if (ac != r->health.ac)
        return;
    r->health.ac = NULL;
    r->health.outstanding = 0;
    r->health.poked = 1;
}

static int probe_connect(hv_redis *r)
{
    rhealth *h = &r->health;
    redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err) {
        down_because(r, "connect: %s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        return -1;
    }
    ac->data = r;
    if (redisLibuvAttach(ac, &h->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        down_because(r, "connect: %s", "cannot watch the socket");
        return -1;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    h->ac = ac;
    if (r->pass[0]) { /* sent before the PING, answered before it */
        const char *argv[3] = {"AUTH", r->user, r->pass};
        int argc = r->user[0] ? 3 : 2;
        if (argc == 2)
            argv[1] = r->pass;
        redisAsyncCommandArgv(ac, on_auth, r, argc, argv, NULL);
    }
    if (r->db) { /* the heartbeat's keys live in the store's database */
        char db[16];
        snprintf(db, sizeof(db), "%d", r->db);
        const char *argv[2] = {"SELECT", db};
        redisAsyncCommandArgv(ac, on_auth, r, 2, argv, NULL);
    }
    return 0;
}

struct redisAsyncContext *hv_redis_probe_context(hv_redis *r)
{
    if (!r->health.ac)
        probe_connect(r);
    return r->health.ac;
}

static void probe_ping(hv_redis *r)
{
    rhealth *h = &r->health;
    h->last_ms = uv_now(&h->loop);
    if (!h->ac && probe_connect(r) != 0)
        return;
    if (redisAsyncCommand(h->ac, on_pong, r, "PING") != REDIS_OK) {
        probe_drop(r);
        return;
    }
    h->outstanding = 1;
    h->sent_ms = h->last_ms;
}

static void on_tick(uv_timer_t *t)
{
    hv_redis *r = t->data;
    rhealth *h = &r->health;
    uint64_t now = uv_now(&h->loop);
    hv_redis_beat_tick(r, now);
    if (h->outstanding) {
        if (now - h->sent_ms >= HV_PROBE_TIMEOUT_MS) {
            char ms[16];
            snprintf(ms, sizeof(ms), "%d", HV_PROBE_TIMEOUT_MS);
            down_because(r, "no answer to PING within %s ms", ms);
            probe_drop(r);
        }
        return;
    }
    if (h->poked || now - h->last_ms >= HV_PROBE_EVERY_MS) {
        h->poked = 0;
        probe_ping(r);
    }
}

static void close_handle(uv_handle_t *hd, void *arg)
{
    (void)arg;
    if (!uv_is_closing(hd))
        uv_close(hd, NULL);
}

static void on_wake(uv_async_t *a)
{
    hv_redis *r = a->data;
    rhealth *h = &r->health;
    pthread_mutex_lock(&h->mu);
    int stop = h->stop, poke = h->poke;
    h->poke = 0;
    pthread_mutex_unlock(&h->mu);
    if (stop) {
        probe_drop(r);
        uv_walk(&h->loop, close_handle, NULL);
        return;
    }
    if (poke) { /* a ping (unless one is out) and a beat if due, now */
        h->poked = !h->outstanding;
        on_tick(&h->tick);
    }
}

static void *probe_run(void *arg)
{
    hv_redis *r = arg;
    uv_run(&r->health.loop, UV_RUN_DEFAULT);
    return NULL;
}

int hv_redis_health_start(hv_redis *r, char *err, size_t errlen)
{
    rhealth *h = &r->health;
    if (uv_loop_init(&h->loop) != 0) {
        set_err(err, errlen, "cannot start the Redis probe loop");
        return -1;
    }
    uv_timer_init(&h->loop, &h->tick);
    uv_async_init(&h->loop, &h->wake, on_wake);
    h->tick.data = h->wake.data = r;
    h->poked = 1; /* the first PING at once */
    uv_timer_start(&h->tick, on_tick, 0, HV_PROBE_TICK_MS);
    if (pthread_create(&h->thread, NULL, probe_run, r) != 0) {
        uv_walk(&h->loop, close_handle, NULL);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        uv_loop_close(&h->loop);
        set_err(err, errlen, "cannot start the Redis probe thread");
        return -1;
    }
    pthread_mutex_lock(&h->mu);
    h->running = 1;
    pthread_mutex_unlock(&h->mu);
    return 0;
}

void hv_redis_health_stop(hv_redis *r)
{
    rhealth *h = &r->health;
    pthread_mutex_lock(&h->mu);
    int running = h->running;
    h->running = 0;
    h->stop = 1;
    if (running)
        uv_async_send(&h->wake);
    pthread_mutex_unlock(&h->mu);
    if (running) {
        pthread_join(h->thread, NULL);
        uv_loop_close(&h->loop);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->cb_mu);
}
