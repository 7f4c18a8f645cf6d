/* SPDX-License-Identifier: MIT */
/* session.c — what the notifier (notifier.c) and the peer client
 * (peer_client.c) share: a JSON-over-WebSocket session with a life cycle.
 *
 * A session connects (ws_client.c) on the caller's loop or on a loop of
 * its own run by a uv_thread, gives its owner each text message that
 * parses as a JSON object, and ends once, reporting the close code. The
 * owner says when the session is ready (authenticated); a timer ends the
 * attempt if that takes longer than timeout_ms.
 *
 * Threads: everything but the calls documented as thread-safe runs on the
 * loop thread. Other threads reach the loop through a uv_async_t (stop,
 * abort, the owner's wake-ups); readiness and the end are published under
 * a mutex with a condition variable for herald__session_wait_ready.
 *
 * Memory: the owner is released (ops->dispose) once the ws and both of
 * the session's handles are closed. In thread mode free joins the thread
 * and disposes; in caller's-loop mode free while connected closes the
 * connection and disposes from the last close callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define DEFAULT_TIMEOUT_MS 10000

int herald__session_init(herald_session *s, const herald_session_ops *ops, const char *server,
                         const char *path, int timeout_ms, const char *waiting_for,
                         char *errbuf, size_t errlen)
{
    s->ops = ops;
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
    s->waiting_for = waiting_for;
    int rc = herald__url_parse(server, &s->url, errbuf, errlen);
    if (rc != 0)
        return rc;
    if (s->url.secure) {
        herald__url_clear(&s->url);
        return herald__fail(HERALD_EINVAL, errbuf, errlen,
                            "WebSocket connections support plain http:// and ws:// servers "
                            "only");
    }
    size_t plen = strlen(s->url.prefix) + strlen(path) + 1;
    s->path = malloc(plen);
    if (s->path)
        snprintf(s->path, plen, "%s%s", s->url.prefix, path);
    if (!s->path || uv_mutex_init(&s->mu) != 0) {
        free(s->path);
        s->path = NULL;
        herald__url_clear(&s->url);
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    }
    if (uv_cond_init(&s->cond) != 0) {
        uv_mutex_destroy(&s->mu);
        free(s->path);
        s->path = NULL;
        herald__url_clear(&s->url);
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    }
    return 0;
}

void herald__session_destroy(herald_session *s)
{
    herald__ws_dispose(&s->ws);
    herald__url_clear(&s->url);
    free(s->path);
    free(s->headers);
    s->path = s->headers = NULL;
    uv_cond_destroy(&s->cond);
    uv_mutex_destroy(&s->mu);
}

int herald__session_freed(herald_session *s)
{
    return atomic_load(&s->freed);
}

/* ---- releasing ---- */

static void maybe_released(herald_session *s)
{
    if (!s->ws_released || s->handles_open > 0)
        return;
    if (s->dispose_on_release)
        s->ops->dispose(s);
    /* thread mode: uv_run returns now; herald__session_free joins */
}

static void on_own_handle_closed(uv_handle_t *h)
{
    herald_session *s = h->data;
    s->handles_open--;
    maybe_released(s);
}

static void on_ws_released(herald_ws *ws, void *user)
{
    (void)ws;
    herald_session *s = user;
    s->ws_released = 1;
    maybe_released(s);
}

/* ---- the connection ---- */

int herald__session_send_json(herald_session *s, json_t *msg)
{
    int rc = HERALD_ENOMEM;
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    if (text)
        rc = herald__ws_send_text(&s->ws, text, strlen(text));
    free(text);
    json_decref(msg);
    return rc;
}

static void on_ws_open(herald_ws *ws, void *user)
{
    herald_session *s = user;
    if (s->ops->on_open(s) != 0)
        herald__ws_abort(ws, 1006, "could not send the auth request");
}

static void on_ws_message(herald_ws *ws, int is_text, const uint8_t *msg, size_t len,
                          void *user)
{
    (void)ws;
    herald_session *s = user;
    if (!is_text)
        return; /* these protocols carry only text frames */
    json_t *root = json_loadb((const char *)msg, len, 0, NULL);
    char *raw = json_is_object(root) ? malloc(len + 1) : NULL;
    if (raw) {
        memcpy(raw, msg, len);
        raw[len] = '\0';
        s->ops->on_message(s, root, raw, len);
        free(raw);
    }
    json_decref(root);
}

static void on_ws_end(herald_ws *ws, int code, const char *reason, void *user)
{
    (void)ws;
    herald_session *s = user;
    uv_timer_stop(&s->ready_timer);
    uv_mutex_lock(&s->mu);
    s->ready = 0;
    s->ended = 1;
    s->end_code = code;
    snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason ? reason : "");
    s->wake_alive = 0;
    uv_cond_broadcast(&s->cond);
    uv_mutex_unlock(&s->mu);
    uv_close((uv_handle_t *)&s->wake, on_own_handle_closed);
    uv_close((uv_handle_t *)&s->ready_timer, on_own_handle_closed);
    s->ops->on_end(s, code, reason);
}

static void on_ready_timeout(uv_timer_t *t)
{
    herald_session *s = t->data;
    char what[128];
    if (s->ws.state == HERALD_WS_OPEN)
        snprintf(what, sizeof(what), "timed out waiting for the server to %s", s->waiting_for);
    else
        snprintf(what, sizeof(what), "%s",
                 s->ws.state == HERALD_WS_HANDSHAKE ? "timed out waiting for the WebSocket "
                                                      "handshake"
                                                    : "timed out connecting to the server");
    herald__ws_abort(&s->ws, 1006, what);
}

static void on_wake(uv_async_t *a)
{
    herald_session *s = a->data;
    uv_mutex_lock(&s->mu);
    int stop = s->stop_requested, abort = s->abort_requested;
    uv_mutex_unlock(&s->mu);
    if (abort) {
        herald__ws_abort(&s->ws, 1006, "connection dropped by the client");
        return;
    }
    if (s->ops->on_wake) /* first, so that what was queued before a stop goes out */
        s->ops->on_wake(s);
    if (stop)
        herald__ws_close(&s->ws, 1000, NULL);
}

int herald__session_set_ready(herald_session *s)
{
    uv_timer_stop(&s->ready_timer);
    uv_mutex_lock(&s->mu);
    int was = s->ready;
    s->ready = 1;
    uv_cond_broadcast(&s->cond);
    uv_mutex_unlock(&s->mu);
    return !was;
}

/* ---- public calls ---- */

int herald__session_start(herald_session *s, uv_loop_t *loop)
{
    static const herald_ws_callbacks cbs = {on_ws_open, on_ws_message, on_ws_end,
                                            on_ws_released};
    if (!loop)
        return HERALD_EINVAL;
    uv_mutex_lock(&s->mu);
    int started = s->started;
    s->started = 1;
    uv_mutex_unlock(&s->mu);
    if (started)
        return HERALD_ESTATE;
    s->loop = loop;

    int rc = uv_async_init(loop, &s->wake, on_wake);
    if (rc == 0) {
        s->wake.data = s;
        s->handles_open++;
        rc = uv_timer_init(loop, &s->ready_timer);
        if (rc == 0) {
            s->ready_timer.data = s;
            s->handles_open++;
            rc = herald__ws_init(&s->ws, loop, &cbs, s);
        }
    }
    if (rc != 0) { /* could not even set up: close what was opened */
        s->ws_released = 1;
        uv_mutex_lock(&s->mu);
        s->ended = 1;
        uv_mutex_unlock(&s->mu);
        if (s->handles_open > 0)
            uv_close((uv_handle_t *)&s->wake, on_own_handle_closed);
        if (s->handles_open > 1)
            uv_close((uv_handle_t *)&s->ready_timer, on_own_handle_closed);
        return HERALD_ENET;
    }
    uv_mutex_lock(&s->mu);
    s->wake_alive = 1;
    uv_mutex_unlock(&s->mu);
    uv_timer_start(&s->ready_timer, on_ready_timeout, (uint64_t)s->timeout_ms, 0);
    rc = herald__ws_connect(&s->ws, s->url.host, s->url.port, s->path, s->headers);
    if (rc != 0) {
        /* the ws closes its own handles; close ours, no on_close */
        uv_mutex_lock(&s->mu);
        s->ended = 1;
        s->wake_alive = 0;
        uv_mutex_unlock(&s->mu);
        uv_close((uv_handle_t *)&s->wake, on_own_handle_closed);
        uv_close((uv_handle_t *)&s->ready_timer, on_own_handle_closed);
        return rc;
    }
    return 0;
}

static void thread_main(void *arg)
{
    herald_session *s = arg;
    uv_run(&s->own_loop, UV_RUN_DEFAULT);
}

int herald__session_start_thread(herald_session *s)
{
    uv_mutex_lock(&s->mu);
    int started = s->started;
    uv_mutex_unlock(&s->mu);
    if (started)
        return HERALD_ESTATE;
    if (uv_loop_init(&s->own_loop) != 0)
        return HERALD_ENOMEM;
    int rc = herald__session_start(s, &s->own_loop);
    if (rc == 0 && uv_thread_create(&s->thread, thread_main, s) == 0) {
        s->threaded = 1;
        return 0;
    }
    if (rc == 0) { /* no thread: end the connection here */
        herald__ws_abort(&s->ws, 1006, "could not start the client thread");
        rc = HERALD_ENOMEM;
    }
    uv_run(&s->own_loop, UV_RUN_DEFAULT); /* lets the handles close */
    uv_loop_close(&s->own_loop);
    s->loop = NULL;
    return rc;
}

int herald__session_wait_ready(herald_session *s, int timeout_ms)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
    int rc = 0;
    uv_mutex_lock(&s->mu);
    if (!s->started)
        rc = HERALD_ESTATE;
    while (rc == 0 && !s->ready && !s->ended) {
        if (timeout_ms < 0) {
            uv_cond_wait(&s->cond, &s->mu);
            continue;
        }
        uint64_t now = uv_hrtime();
        if (now >= deadline || uv_cond_timedwait(&s->cond, &s->mu, deadline - now) != 0) {
            if (!s->ready && !s->ended && uv_hrtime() >= deadline)
                rc = HERALD_ETIMEDOUT;
        }
    }
    if (rc == 0 && !s->ready)
        rc = HERALD_ECLOSED;
    uv_mutex_unlock(&s->mu);
    return rc;
}

int herald__session_is_ready(herald_session *s)
{
    uv_mutex_lock(&s->mu);
    int r = s->ready && !s->ended;
    uv_mutex_unlock(&s->mu);
    return r;
}

int herald__session_wake(herald_session *s, int locked)
{
    if (!locked)
        uv_mutex_lock(&s->mu);
    int rc = s->ended ? HERALD_ECLOSED : 0;
    if (s->wake_alive)
        uv_async_send(&s->wake);
    if (!locked)
        uv_mutex_unlock(&s->mu);
    return rc;
}

void herald__session_stop(herald_session *s)
{
    uv_mutex_lock(&s->mu);
    s->stop_requested = 1;
    if (s->wake_alive)
        uv_async_send(&s->wake);
    uv_mutex_unlock(&s->mu);
}

void herald__session_abort(herald_session *s)
{
    uv_mutex_lock(&s->mu);
    s->abort_requested = 1;
    if (s->wake_alive)
        uv_async_send(&s->wake);
    uv_mutex_unlock(&s->mu);
}

void herald__session_free(herald_session *s)
{
    atomic_store(&s->freed, 1);
    if (s->threaded) {
        herald__session_stop(s);
        uv_thread_join(&s->thread);
        uv_loop_close(&s->own_loop);
        s->ops->dispose(s);
        return;
    }
    if (!s->loop || (s->ws_released && s->handles_open == 0)) {
        s->ops->dispose(s); /* never started, or fully closed */
        return;
    }
    s->dispose_on_release = 1;
    if (!s->ws_released)
        herald__ws_close(&s->ws, 1000, NULL);
}

/* ---- event envelopes ---- */

static const char *str_member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int herald__event_deliver(json_t *msg, const char *raw, size_t len,
                          void (*cb)(const herald_event *ev, void *user), void *user)
{
    char idbuf[24];
    herald_event ev;
    memset(&ev, 0, sizeof(ev));
    json_t *id = json_object_get(msg, "id");
    if (json_is_string(id)) {
        ev.id_str = json_string_value(id);
    } else if (json_is_integer(id)) {
        snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(id));
        ev.id_str = idbuf;
    } else {
        return 0; /* not an event */
    }
    if (!cb)
        return 1;
    ev.id = strtoull(ev.id_str, NULL, 10);
    ev.type = str_member(msg, "type");
    ev.room_id = str_member(msg, "room_id");
    ev.user_id = str_member(msg, "user_id");
    ev.timestamp = str_member(msg, "timestamp");
    json_t *data = json_object_get(msg, "data");
    char *data_text = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    ev.data = data_text ? data_text : "{}";
    ev.raw = raw;
    ev.raw_len = len;
    if (!ev.type)
        ev.type = "";
    cb(&ev, user);
    free(data_text);
    return 1;
}
