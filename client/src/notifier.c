/* notifier.c — herald_notifier: a client of the server notifier socket,
 * JSON variant.
 *
 * Protocol (on top of ws_client.c): once the WebSocket is open, send
 * {"type":"auth","token":…} and, without waiting, one
 * {"type":"subscribe","event_type":"server_notification"|"metrics"} per
 * wanted stream. The server answers {"type":"authenticated"} and one
 * {"type":"subscribe_response",…} per subscription; when all have come the
 * notifier is ready. Then every text frame is either an event envelope
 * {"id":"42","type":…,"timestamp":…,"room_id"?,"user_id"?,"data"?} or a
 * metrics report {"type":"metrics.report",…}. A refused token shows up as
 * the server's close (1000 "invalid token"), reported through on_close.
 *
 * Threads: everything but the few public calls documented as thread-safe
 * runs on the loop thread. herald_notifier_stop reaches the loop through a
 * uv_async_t; readiness and the end are published under a mutex with a
 * condition variable for herald_notifier_wait_ready. In thread mode the
 * notifier owns a uv_loop_t run by its own uv_thread.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client_internal.h"

#define DEFAULT_TIMEOUT_MS 10000
#define NOTIFIER_PATH "/socket/server/websocket"

struct herald_notifier {
    herald_notifier_options opts;
    herald_url url;
    char *token;

    uv_loop_t *loop;
    uv_loop_t own_loop;
    uv_thread_t thread;
    int threaded;

    herald_ws ws;
    uv_timer_t ready_timer;
    uv_async_t wake;
    int handles_open;      /* ready_timer and wake not yet closed */
    int ws_released;
    int dispose_on_release; /* loop mode: freed while still connected */
    int authenticated;
    int pending_subs;

    atomic_int freed;      /* no more callbacks */
    uv_mutex_t mu;         /* guards what follows */
    uv_cond_t cond;
    int started, ready, ended, stop_requested, wake_alive;
};

static void dispose(herald_notifier *n)
{
    herald__ws_dispose(&n->ws);
    herald__url_clear(&n->url);
    free(n->token);
    uv_cond_destroy(&n->cond);
    uv_mutex_destroy(&n->mu);
    free(n);
}

herald_notifier *herald_notifier_new(const herald_notifier_options *opts, char *errbuf,
                                     size_t errlen)
{
    herald_notifier *n = calloc(1, sizeof(*n));
    if (!n) {
        herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    if (opts)
        n->opts = *opts;
    if (!n->opts.subscriptions)
        n->opts.subscriptions = HERALD_SUBSCRIBE_SERVER_NOTIFICATIONS;
    if (n->opts.timeout_ms <= 0)
        n->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (herald__url_parse(n->opts.server, &n->url, errbuf, errlen) != 0) {
        free(n);
        return NULL;
    }
    n->opts.server = NULL; /* not kept: the caller's string */
    if (n->url.secure) {
        herald__url_clear(&n->url);
        free(n);
        herald__fail(HERALD_EINVAL, errbuf, errlen,
                     "the notifier supports plain http:// and ws:// servers only");
        return NULL;
    }
    n->token = strdup(n->opts.token ? n->opts.token : HERALD_DEFAULT_TOKEN);
    n->opts.token = NULL;
    if (!n->token || uv_mutex_init(&n->mu) != 0) {
        herald__url_clear(&n->url);
        free(n->token);
        free(n);
        herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    if (uv_cond_init(&n->cond) != 0) {
        uv_mutex_destroy(&n->mu);
        herald__url_clear(&n->url);
        free(n->token);
        free(n);
        herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    return n;
}

/* ---- releasing ---- */

static void maybe_released(herald_notifier *n)
{
    if (!n->ws_released || n->handles_open > 0)
        return;
    if (n->dispose_on_release)
        dispose(n);
    /* thread mode: uv_run returns now; herald_notifier_free joins */
}

static void on_own_handle_closed(uv_handle_t *h)
{
    herald_notifier *n = h->data;
    n->handles_open--;
    maybe_released(n);
}

static void on_ws_released(herald_ws *ws, void *user)
{
    (void)ws;
    herald_notifier *n = user;
    n->ws_released = 1;
    maybe_released(n);
}

/* ---- protocol ---- */

static int send_json(herald_notifier *n, json_t *msg)
{
    int rc = HERALD_ENOMEM;
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    if (text)
        rc = herald__ws_send_text(&n->ws, text, strlen(text));
    free(text);
    json_decref(msg);
    return rc;
}

static void on_ws_open(herald_ws *ws, void *user)
{
    herald_notifier *n = user;
    int rc = send_json(n, json_pack("{s:s,s:s}", "type", "auth", "token", n->token));
    n->pending_subs = 0;
    if (rc == 0 && (n->opts.subscriptions & HERALD_SUBSCRIBE_SERVER_NOTIFICATIONS)) {
        rc = send_json(n, json_pack("{s:s,s:s}", "type", "subscribe", "event_type",
                                    "server_notification"));
        n->pending_subs++;
    }
    if (rc == 0 && (n->opts.subscriptions & HERALD_SUBSCRIBE_METRICS)) {
        rc = send_json(n, json_pack("{s:s,s:s}", "type", "subscribe", "event_type", "metrics"));
        n->pending_subs++;
    }
    if (rc != 0)
        herald__ws_abort(ws, 1006, "could not send the auth request");
}

static void check_ready(herald_notifier *n)
{
    if (!n->authenticated || n->pending_subs > 0)
        return;
    uv_timer_stop(&n->ready_timer);
    uv_mutex_lock(&n->mu);
    int was = n->ready;
    n->ready = 1;
    uv_cond_broadcast(&n->cond);
    uv_mutex_unlock(&n->mu);
    if (!was && n->opts.on_ready && !atomic_load(&n->freed))
        n->opts.on_ready(n->opts.user);
}

static const char *str_member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void deliver_event(herald_notifier *n, json_t *msg, const char *raw, size_t raw_len)
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
        return; /* not an event */
    }
    ev.id = strtoull(ev.id_str, NULL, 10);
    ev.type = str_member(msg, "type");
    ev.room_id = str_member(msg, "room_id");
    ev.user_id = str_member(msg, "user_id");
    ev.timestamp = str_member(msg, "timestamp");
    json_t *data = json_object_get(msg, "data");
    char *data_text = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    ev.data = data_text ? data_text : "{}";
    ev.raw = raw;
    ev.raw_len = raw_len;
    if (!ev.type)
        ev.type = "";
    if (n->opts.on_server_notification && !atomic_load(&n->freed))
        n->opts.on_server_notification(&ev, n->opts.user);
    free(data_text);
}

static void on_ws_message(herald_ws *ws, int is_text, const uint8_t *msg, size_t len,
                          void *user)
{
    (void)ws;
    herald_notifier *n = user;
    if (!is_text)
        return; /* the JSON variant carries only text frames */
    json_t *root = json_loadb((const char *)msg, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return;
    }
    const char *type = str_member(root, "type");
    if (!type) {
        /* nothing to do with a message without a type */
    } else if (!strcmp(type, "authenticated")) {
        n->authenticated = 1;
        check_ready(n);
    } else if (!strcmp(type, "subscribe_response")) {
        if (n->pending_subs > 0)
            n->pending_subs--;
        check_ready(n);
    } else {
        char *raw = malloc(len + 1);
        if (raw) {
            memcpy(raw, msg, len);
            raw[len] = '\0';
            if (!strcmp(type, "metrics.report") && !json_object_get(root, "id")) {
                if (n->opts.on_metrics && !atomic_load(&n->freed))
                    n->opts.on_metrics(raw, n->opts.user);
            } else {
                deliver_event(n, root, raw, len);
            }
            free(raw);
        }
    }
    json_decref(root);
}

static void on_ws_end(herald_ws *ws, int code, const char *reason, void *user)
{
    (void)ws;
    herald_notifier *n = user;
    uv_timer_stop(&n->ready_timer);
    uv_mutex_lock(&n->mu);
    n->ready = 0;
    n->ended = 1;
    n->wake_alive = 0;
    uv_cond_broadcast(&n->cond);
    uv_mutex_unlock(&n->mu);
    uv_close((uv_handle_t *)&n->wake, on_own_handle_closed);
    uv_close((uv_handle_t *)&n->ready_timer, on_own_handle_closed);
    if (n->opts.on_close && !atomic_load(&n->freed))
        n->opts.on_close(code, reason, n->opts.user);
}

static void on_ready_timeout(uv_timer_t *t)
{
    herald_notifier *n = t->data;
    const char *what = n->ws.state == HERALD_WS_OPEN ? "timed out waiting for the server to "
                                                       "authenticate and subscribe"
                       : n->ws.state == HERALD_WS_HANDSHAKE
                           ? "timed out waiting for the WebSocket handshake"
                           : "timed out connecting to the server";
    herald__ws_abort(&n->ws, 1006, what);
}

static void on_wake(uv_async_t *a)
{
    herald_notifier *n = a->data;
    uv_mutex_lock(&n->mu);
    int stop = n->stop_requested;
    uv_mutex_unlock(&n->mu);
    if (stop)
        herald__ws_close(&n->ws, 1000, NULL);
}

/* ---- public ---- */

int herald_notifier_start(herald_notifier *n, uv_loop_t *loop)
{
    static const herald_ws_callbacks cbs = {on_ws_open, on_ws_message, on_ws_end,
                                            on_ws_released};
    if (!n || !loop)
        return HERALD_EINVAL;
    uv_mutex_lock(&n->mu);
    int started = n->started;
    n->started = 1;
    uv_mutex_unlock(&n->mu);
    if (started)
        return HERALD_ESTATE;

    size_t plen = strlen(n->url.prefix) + sizeof(NOTIFIER_PATH);
    char *path = malloc(plen);
    if (!path) {
        uv_mutex_lock(&n->mu);
        n->ended = 1;
        uv_mutex_unlock(&n->mu);
        return HERALD_ENOMEM; /* nothing is open: free() disposes at once */
    }
    snprintf(path, plen, "%s%s", n->url.prefix, NOTIFIER_PATH);
    n->loop = loop;

    int rc = uv_async_init(loop, &n->wake, on_wake);
    if (rc == 0) {
        n->wake.data = n;
        n->handles_open++;
        rc = uv_timer_init(loop, &n->ready_timer);
        if (rc == 0) {
            n->ready_timer.data = n;
            n->handles_open++;
            rc = herald__ws_init(&n->ws, loop, &cbs, n);
        }
    }
    if (rc != 0) { /* could not even set up: close what was opened */
        free(path);
        n->ws_released = 1;
        uv_mutex_lock(&n->mu);
        n->ended = 1;
        uv_mutex_unlock(&n->mu);
        if (n->handles_open > 0)
            uv_close((uv_handle_t *)&n->wake, on_own_handle_closed);
        if (n->handles_open > 1)
            uv_close((uv_handle_t *)&n->ready_timer, on_own_handle_closed);
        return HERALD_ENET;
    }
    uv_mutex_lock(&n->mu);
    n->wake_alive = 1;
    uv_mutex_unlock(&n->mu);
    uv_timer_start(&n->ready_timer, on_ready_timeout, (uint64_t)n->opts.timeout_ms, 0);
    rc = herald__ws_connect(&n->ws, n->url.host, n->url.port, path);
    free(path);
    if (rc != 0) {
        /* the ws closes its own handles; close ours, no on_close */
        uv_mutex_lock(&n->mu);
        n->ended = 1;
        n->wake_alive = 0;
        uv_mutex_unlock(&n->mu);
        uv_close((uv_handle_t *)&n->wake, on_own_handle_closed);
        uv_close((uv_handle_t *)&n->ready_timer, on_own_handle_closed);
        return rc;
    }
    return 0;
}

static void thread_main(void *arg)
{
    herald_notifier *n = arg;
    uv_run(&n->own_loop, UV_RUN_DEFAULT);
}

int herald_notifier_start_thread(herald_notifier *n)
{
    if (!n)
        return HERALD_EINVAL;
    if (n->started)
        return HERALD_ESTATE;
    if (uv_loop_init(&n->own_loop) != 0)
        return HERALD_ENOMEM;
    int rc = herald_notifier_start(n, &n->own_loop);
    if (rc == 0 && uv_thread_create(&n->thread, thread_main, n) == 0) {
        n->threaded = 1;
        return 0;
    }
    if (rc == 0) { /* no thread: end the connection here */
        herald__ws_abort(&n->ws, 1006, "could not start the notifier thread");
        rc = HERALD_ENOMEM;
    }
    uv_run(&n->own_loop, UV_RUN_DEFAULT); /* lets the handles close */
    uv_loop_close(&n->own_loop);
    n->loop = NULL;
    return rc;
}

int herald_notifier_wait_ready(herald_notifier *n, int timeout_ms)
{
    if (!n)
        return HERALD_EINVAL;
    uint64_t deadline = uv_hrtime() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
    int rc = 0;
    uv_mutex_lock(&n->mu);
    if (!n->started)
        rc = HERALD_ESTATE;
    while (rc == 0 && !n->ready && !n->ended) {
        if (timeout_ms < 0) {
            uv_cond_wait(&n->cond, &n->mu);
            continue;
        }
        uint64_t now = uv_hrtime();
        if (now >= deadline || uv_cond_timedwait(&n->cond, &n->mu, deadline - now) != 0) {
            if (!n->ready && !n->ended && uv_hrtime() >= deadline)
                rc = HERALD_ETIMEDOUT;
        }
    }
    if (rc == 0 && !n->ready)
        rc = HERALD_ECLOSED;
    uv_mutex_unlock(&n->mu);
    return rc;
}

int herald_notifier_is_ready(herald_notifier *n)
{
    if (!n)
        return 0;
    uv_mutex_lock(&n->mu);
    int r = n->ready && !n->ended;
    uv_mutex_unlock(&n->mu);
    return r;
}

void herald_notifier_stop(herald_notifier *n)
{
    if (!n)
        return;
    uv_mutex_lock(&n->mu);
    n->stop_requested = 1;
    if (n->wake_alive)
        uv_async_send(&n->wake);
    uv_mutex_unlock(&n->mu);
}

void herald_notifier_free(herald_notifier *n)
{
    if (!n)
        return;
    atomic_store(&n->freed, 1);
    if (n->threaded) {
        herald_notifier_stop(n);
        uv_thread_join(&n->thread);
        uv_loop_close(&n->own_loop);
        dispose(n);
        return;
    }
    if (!n->loop || (n->ws_released && n->handles_open == 0)) {
        dispose(n); /* never started, or fully closed */
        return;
    }
    n->dispose_on_release = 1;
    if (!n->ws_released)
        herald__ws_close(&n->ws, 1000, NULL);
}
