/* SPDX-License-Identifier: MIT */
/* subscriber.c — herald_subscriber: an app client of the peer socket
 * (GET /socket/peer/websocket, peer token or user token) that reconnects
 * by itself and resumes where it stopped.
 *
 * Each connection attempt is one session (session.c) on the subscriber's
 * loop: it sends {"type":"auth","token":…,"since":"<last id>"} once open
 * (since left out while nothing was delivered and options.since is 0),
 * becomes ready on {"type":"authenticated",…}, hands event envelopes on
 * (skipping any id not above the last one delivered), reports
 * {"type":"resume_failed",…}. When a session ends, the subscriber either
 * arms its retry timer (exponential back-off with jitter) and starts a
 * fresh session from it, or gives up: on_close, then its own handles
 * close.
 *
 * Threads: all of the above runs on the loop thread. herald_subscriber_stop
 * (any thread) reaches it through a uv_async_t; last_id is atomic.
 *
 * Memory: a session's memory goes when its handles have closed
 * (herald__session_free in loop mode, dispose below); the subscriber's once
 * its two handles have closed and no session is left (free_on_release),
 * or in herald_subscriber_free after joining the thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define PEER_PATH "/socket/peer/websocket"
#define DEFAULT_BACKOFF_MIN_MS 250u
#define DEFAULT_BACKOFF_MAX_MS 10000u

typedef struct sub_conn {
    herald_session s; /* first: the session's callbacks cast back */
    herald_subscriber *sub;
    uint64_t since;   /* sent with the auth frame; 0: none */
} sub_conn;

struct herald_subscriber {
    herald_subscriber_options opts;
    char *server, *token;
    uv_loop_t *loop;
    uv_loop_t own_loop;
    uv_thread_t thread;
    int threaded;
    uv_timer_t retry_timer;
    uv_async_t wake;
    int handles_open;     /* retry_timer and wake not yet closed */
    sub_conn *conn;       /* the current connection, NULL between attempts */
    int nconns;           /* sessions not yet disposed */
    unsigned attempt;     /* retries since the last authentication */
    unsigned seed;        /* jitter */
    int stopping, done, free_on_release; /* loop thread */
    _Atomic uint64_t last_id;
    atomic_int freed;     /* no more user callbacks */
    uv_mutex_t mu;        /* guards what follows */
    int started, stop_requested, wake_alive;
};

static int user_ok(herald_subscriber *sub)
{
    return !atomic_load(&sub->freed);
}

/* ---- releasing ---- */

static void destroy(herald_subscriber *sub)
{
    uv_mutex_destroy(&sub->mu);
    free(sub->server);
    free(sub->token);
    free(sub);
}

static void maybe_released(herald_subscriber *sub)
{
    if (sub->handles_open == 0 && sub->nconns == 0 && sub->free_on_release)
        destroy(sub);
}

static void on_handle_closed(uv_handle_t *h)
{
    herald_subscriber *sub = h->data;
    sub->handles_open--;
    maybe_released(sub);
}

static void close_handles(herald_subscriber *sub)
{
    uv_mutex_lock(&sub->mu);
    sub->wake_alive = 0;
    uv_mutex_unlock(&sub->mu);
    uv_close((uv_handle_t *)&sub->retry_timer, on_handle_closed);
    uv_close((uv_handle_t *)&sub->wake, on_handle_closed);
}

static void conn_dispose(herald_session *s)
{
    sub_conn *c = (sub_conn *)s;
    herald_subscriber *sub = c->sub;
    herald__session_destroy(s);
    free(c);
    sub->nconns--;
    maybe_released(sub);
}

static void on_retry_timer(uv_timer_t *t);

/* ---- the decision after an end ---- */

static void give_up(herald_subscriber *sub, int code, const char *reason)
{
    if (sub->done)
        return;
    sub->done = 1;
    uv_timer_stop(&sub->retry_timer);
    if (sub->opts.on_close && user_ok(sub))
        sub->opts.on_close(code, reason, sub->opts.user);
    close_handles(sub);
}

/* Ends worth another attempt: the network, the server going away or
 * being busy, this client falling behind. */
static int retryable(int code)
{
    switch (code) {
    case 1001: case 1005: case 1006: case 1011: case 1012: case 1013: case 1014: case 4001:
        return 1;
    default:
        return 0;
    }
}

static unsigned backoff_ms(herald_subscriber *sub, unsigned attempt)
{
    uint64_t d = sub->opts.backoff_min_ms;
    for (unsigned i = 1; i < attempt && d < sub->opts.backoff_max_ms; i++)
        d *= 2;
    if (d > sub->opts.backoff_max_ms)
        d = sub->opts.backoff_max_ms;
    uint64_t half = d / 2;
    return (unsigned)(half + (half < d ? (uint64_t)rand_r(&sub->seed) % (d - half + 1) : 0));
}

static void connection_ended(herald_subscriber *sub, int code, const char *reason)
{
    if (sub->done)
        return;
    if (sub->stopping || !sub->opts.reconnect || !retryable(code) ||
        (sub->opts.max_attempts && sub->attempt >= sub->opts.max_attempts)) {
        give_up(sub, code, reason);
        return;
    }
    sub->attempt++;
    if (sub->opts.on_reconnect && user_ok(sub))
        sub->opts.on_reconnect(sub->attempt, code, reason, sub->opts.user);
    /* on_reconnect may have asked for a stop: the timer sees it */
    if (!sub->done && !sub->stopping)
        uv_timer_start(&sub->retry_timer, on_retry_timer, backoff_ms(sub, sub->attempt), 0);
}

/* ---- one connection ---- */

static int conn_on_open(herald_session *s)
{
    sub_conn *c = (sub_conn *)s;
    json_t *msg = json_pack("{s:s,s:s}", "type", "auth", "token", c->sub->token);
    if (msg && c->since) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)c->since);
        json_object_set_new(msg, "since", json_string(buf));
    }
    return herald__session_send_json(s, msg);
}

static void deliver(const herald_event *ev, void *user)
{
    herald_subscriber *sub = user;
    if (ev->id <= atomic_load(&sub->last_id))
        return; /* already delivered */
    atomic_store(&sub->last_id, ev->id);
    if (sub->opts.on_event && user_ok(sub))
        sub->opts.on_event(ev, sub->opts.user);
}

static const char *str_member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void conn_on_message(herald_session *s, json_t *root, const char *raw, size_t len)
{
    sub_conn *c = (sub_conn *)s;
    herald_subscriber *sub = c->sub;
    if (herald__event_deliver(root, raw, len, deliver, sub))
        return;
    const char *type = str_member(root, "type");
    if (!type)
        return;
    if (!strcmp(type, "authenticated")) {
        sub->attempt = 0;
        if (herald__session_set_ready(s) && sub->opts.on_ready && user_ok(sub))
            sub->opts.on_ready(c->since, sub->opts.user);
    } else if (!strcmp(type, "resume_failed")) {
        const char *msg = str_member(root, "message");
        json_t *fid = json_object_get(root, "first_id");
        uint64_t first = json_is_string(fid) ? strtoull(json_string_value(fid), NULL, 10)
                         : json_is_integer(fid) ? (uint64_t)json_integer_value(fid)
                                                : 0;
        if (sub->opts.on_resume_failed && user_ok(sub))
            sub->opts.on_resume_failed(msg ? msg : "resume failed", first, sub->opts.user);
    }
}

static void conn_on_end(herald_session *s, int code, const char *reason)
{
    sub_conn *c = (sub_conn *)s;
    herald_subscriber *sub = c->sub;
    if (sub->conn == c)
        sub->conn = NULL;
    herald__session_free(s); /* disposed once its handles have closed */
    connection_ended(sub, code, reason);
}

static const herald_session_ops conn_ops = {conn_on_open, conn_on_message, NULL, conn_on_end,
                                            conn_dispose};

static void connect_now(herald_subscriber *sub)
{
    char err[160] = "";
    sub_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        connection_ended(sub, 1006, "out of memory");
        return;
    }
    c->sub = sub;
    c->since = atomic_load(&sub->last_id);
    if (herald__session_init(&c->s, &conn_ops, sub->server, PEER_PATH, sub->opts.timeout_ms,
                             "authenticate the token", err, sizeof(err)) != 0) {
        free(c);
        connection_ended(sub, 1006, err[0] ? err : "out of memory");
        return;
    }
    sub->nconns++;
    sub->conn = c;
    int rc = herald__session_start(&c->s, sub->loop);
    if (rc != 0) { /* no on_end for a synchronous failure */
        sub->conn = NULL;
        herald__session_free(&c->s);
        connection_ended(sub, 1006, herald_strerror(rc));
    }
}

/* Loop thread: a stop request, wherever it came from. */
static void do_stop(herald_subscriber *sub)
{
    if (sub->done || sub->stopping)
        return;
    sub->stopping = 1;
    if (sub->conn)
        herald__ws_close(&sub->conn->s.ws, 1000, NULL); /* conn_on_end follows */
    else
        give_up(sub, 1000, "stopped by the client");
}

static int stop_requested(herald_subscriber *sub)
{
    uv_mutex_lock(&sub->mu);
    int stop = sub->stop_requested;
    uv_mutex_unlock(&sub->mu);
    return stop;
}

static void on_retry_timer(uv_timer_t *t)
{
    herald_subscriber *sub = t->data;
    if (stop_requested(sub))
        do_stop(sub);
    else if (!sub->done && !sub->stopping)
        connect_now(sub);
}

static void on_wake(uv_async_t *a)
{
    herald_subscriber *sub = a->data;
    if (stop_requested(sub))
        do_stop(sub);
}

/* ---- public ---- */

static int token_ok(const char *t)
{
    if (!t || !*t)
        return 0;
    for (; *t; t++)
        if ((unsigned char)*t < 0x20 || *t == 0x7f)
            return 0;
    return 1;
}

herald_subscriber *herald_subscriber_new(const herald_subscriber_options *opts, char *errbuf,
                                         size_t errlen)
{
    if (!opts || !token_ok(opts->token)) {
        herald__fail(HERALD_EINVAL, errbuf, errlen, "%s",
                     opts && opts->token && *opts->token
                         ? "the token contains control characters"
                         : "a token is required");
        return NULL;
    }
    unsigned lo = opts->backoff_min_ms ? opts->backoff_min_ms : DEFAULT_BACKOFF_MIN_MS;
    unsigned hi = opts->backoff_max_ms ? opts->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
    if (lo > hi) {
        herald__fail(HERALD_EINVAL, errbuf, errlen, "backoff_min_ms (%u) exceeds "
                     "backoff_max_ms (%u)", lo, hi);
        return NULL;
    }
    herald_url u;
    memset(&u, 0, sizeof(u));
    if (herald__url_parse(opts->server, &u, errbuf, errlen) != 0)
        return NULL;
    int secure = u.secure;
    herald__url_clear(&u);
    if (secure) {
        herald__fail(HERALD_EINVAL, errbuf, errlen,
                     "WebSocket connections support plain http:// and ws:// servers only");
        return NULL;
    }
    herald_subscriber *sub = calloc(1, sizeof(*sub));
    if (!sub || uv_mutex_init(&sub->mu) != 0) {
        free(sub);
        herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    sub->opts = *opts;
    sub->opts.backoff_min_ms = lo;
    sub->opts.backoff_max_ms = hi;
    sub->token = strdup(opts->token);
    sub->server = opts->server ? strdup(opts->server) : NULL;
    if (!sub->token || (opts->server && !sub->server)) {
        destroy(sub);
        herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    sub->opts.server = sub->opts.token = NULL; /* the caller's strings */
    atomic_store(&sub->last_id, opts->since);
    sub->seed = (unsigned)(uv_hrtime() ^ (uint64_t)(uintptr_t)sub);
    return sub;
}

int herald_subscriber_start(herald_subscriber *sub, uv_loop_t *loop)
{
    if (!sub || !loop)
        return HERALD_EINVAL;
    uv_mutex_lock(&sub->mu);
    int started = sub->started;
    sub->started = 1;
    uv_mutex_unlock(&sub->mu);
    if (started)
        return HERALD_ESTATE;
    sub->loop = loop;
    if (uv_async_init(loop, &sub->wake, on_wake) != 0) {
        sub->done = 1;
        return HERALD_ENET;
    }
    sub->wake.data = sub;
    sub->handles_open = 1;
    if (uv_timer_init(loop, &sub->retry_timer) != 0) {
        sub->done = 1;
        uv_close((uv_handle_t *)&sub->wake, on_handle_closed);
        return HERALD_ENET;
    }
    sub->retry_timer.data = sub;
    sub->handles_open = 2;
    uv_mutex_lock(&sub->mu);
    sub->wake_alive = 1;
    uv_mutex_unlock(&sub->mu);
    uv_timer_start(&sub->retry_timer, on_retry_timer, 0, 0); /* connects from the loop */
    return 0;
}

static void thread_main(void *arg)
{
    herald_subscriber *sub = arg;
    uv_run(&sub->own_loop, UV_RUN_DEFAULT);
}

int herald_subscriber_start_thread(herald_subscriber *sub)
{
    if (!sub)
        return HERALD_EINVAL;
    uv_mutex_lock(&sub->mu);
    int started = sub->started;
    uv_mutex_unlock(&sub->mu);
    if (started)
        return HERALD_ESTATE;
    if (uv_loop_init(&sub->own_loop) != 0)
        return HERALD_ENOMEM;
    int rc = herald_subscriber_start(sub, &sub->own_loop);
    if (rc == 0 && uv_thread_create(&sub->thread, thread_main, sub) == 0) {
        sub->threaded = 1;
        return 0;
    }
    if (rc == 0) { /* no thread: undo, no callback */
        sub->done = 1;
        close_handles(sub);
        rc = HERALD_ENOMEM;
    }
    uv_run(&sub->own_loop, UV_RUN_DEFAULT); /* lets the handles close */
    uv_loop_close(&sub->own_loop);
    sub->loop = NULL;
    return rc;
}

uint64_t herald_subscriber_last_id(herald_subscriber *sub)
{
    return sub ? atomic_load(&sub->last_id) : 0;
}

void herald_subscriber_stop(herald_subscriber *sub)
{
    if (!sub)
        return;
    uv_mutex_lock(&sub->mu);
    sub->stop_requested = 1;
    if (sub->wake_alive)
        uv_async_send(&sub->wake);
    uv_mutex_unlock(&sub->mu);
}

void herald_subscriber_free(herald_subscriber *sub)
{
    if (!sub)
        return;
    atomic_store(&sub->freed, 1);
    if (sub->threaded) {
        herald_subscriber_stop(sub);
        uv_thread_join(&sub->thread);
        uv_loop_close(&sub->own_loop);
        destroy(sub);
        return;
    }
    if (!sub->loop || (sub->handles_open == 0 && sub->nconns == 0)) {
        destroy(sub); /* never started, or fully closed */
        return;
    }
    sub->free_on_release = 1;
    do_stop(sub);
}
