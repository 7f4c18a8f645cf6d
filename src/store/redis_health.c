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
 * The probe is a thread of its own with a connection of its own: PING
 * every HV_PROBE_EVERY_MS with a connect and reply timeout of
 * HV_PROBE_TIMEOUT_MS. It has to be separate from the connections that
 * carry work: when Redis hangs (SIGSTOP, a long script, a full disk) the
 * hub's commit is stuck in its 5 s timeout, and only an independent
 * connection can notice the hang within about a second (here: at most
 * HV_PROBE_EVERY_MS + HV_PROBE_TIMEOUT_MS after it begins) and let the
 * loops refuse new publishes meanwhile. A thread, not the loops' timers,
 * because the probe's synchronous connect and read may block for its whole
 * timeout, which no I/O loop may do. A PING is the cheapest command Redis
 * answers only when it can serve: it is refused while Redis loads its
 * append-only file after a restart (LOADING), which counts as down too.
 *
 * Every transition is logged once, with the reason (down) or the outage's
 * length (up). The flag is an atomic read by any thread; the reason is
 * guarded by the mutex.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/event.h"
#include "core/log.h"
#include "store/redis_internal.h"

#define HV_PROBE_EVERY_MS 250
#define HV_PROBE_TIMEOUT_MS 500

void hv_redis_health_init(hv_redis *r)
{
    rhealth *h = &r->health;
    atomic_init(&h->up, 1);
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca; /* waits on the monotonic clock: no jumps */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
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

void hv_redis_health_fail(hv_redis *r, int certain, const char *why)
{
    rhealth *h = &r->health;
    pthread_mutex_lock(&h->mu);
    if (certain)
        mark_down(r, why);
    h->poke = 1; /* probe now: after a close, to learn whether Redis is gone */
    pthread_cond_signal(&h->cv);
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

/* One PING on the probe's connection: 0 on PONG, else -1 with why. */
static int probe_once(hv_redis *r, rconn *c, char *why, size_t len)
{
    hv_redis_check_idle(c);
    if (!c->c && hv_redis_connect_ms(r, c, HV_PROBE_TIMEOUT_MS, why, len) != 0)
        return -1;
    redisReply *rep = redisCommand(c->c, "PING");
    if (!rep) {
        if (hv_redis_timed_out(c->c))
            snprintf(why, len, "no answer to PING within %d ms", HV_PROBE_TIMEOUT_MS);
        else
            snprintf(why, len, "PING: %s", c->c->errstr);
        hv_redis_disconnect(c);
        return -1;
    }
    int ok = rep->type == REDIS_REPLY_STATUS && !strcmp(rep->str, "PONG");
    if (!ok)
        snprintf(why, len, "PING answered %.120s",
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "something else than PONG");
    freeReplyObject(rep);
    return ok ? 0 : -1;
}

/* Waits until the next probe is due, poked or stopping; 1 when stopping. */
static int probe_wait(rhealth *h)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += HV_PROBE_EVERY_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&h->mu);
    while (!h->stop && !h->poke)
        if (pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
            break;
    h->poke = 0;
    int stop = h->stop;
    pthread_mutex_unlock(&h->mu);
    return stop;
}

static void *probe_run(void *arg)
{
    hv_redis *r = arg;
    rconn c = {0};
    while (!probe_wait(&r->health)) {
        char why[160];
        if (probe_once(r, &c, why, sizeof(why)) == 0) {
            health_recovered(r);
        } else { /* no poke: the next probe waits its period */
            pthread_mutex_lock(&r->health.mu);
            mark_down(r, why);
            pthread_mutex_unlock(&r->health.mu);
        }
    }
    hv_redis_disconnect(&c);
    return NULL;
}

int hv_redis_health_start(hv_redis *r, char *err, size_t errlen)
{
    if (pthread_create(&r->health.thread, NULL, probe_run, r) != 0) {
        set_err(err, errlen, "cannot start the Redis probe thread");
        return -1;
    }
    r->health.running = 1;
    return 0;
}

void hv_redis_health_stop(hv_redis *r)
{
    rhealth *h = &r->health;
    if (h->running) {
        pthread_mutex_lock(&h->mu);
        h->stop = 1;
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
        h->running = 0;
    }
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
}
