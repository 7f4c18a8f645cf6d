/* SPDX-License-Identifier: MIT */
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
 * The connection's life cycle (caller's loop or own thread, readiness,
 * stop, free) is session.c's; this file is the protocol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client_internal.h"

#define NOTIFIER_PATH "/socket/server/websocket"

struct herald_notifier {
    herald_session s; /* first: the session's callbacks cast back */
    herald_notifier_options opts;
    char *token;
    int authenticated;
    int pending_subs;
};

static void dispose(herald_session *s)
{
    herald_notifier *n = (herald_notifier *)s;
    herald__session_destroy(s);
    free(n->token);
    free(n);
}

/* ---- protocol ---- */

static int on_open(herald_session *s)
{
    herald_notifier *n = (herald_notifier *)s;
    int rc = herald__session_send_json(s, json_pack("{s:s,s:s}", "type", "auth", "token",
                                                    n->token));
    n->pending_subs = 0;
    if (rc == 0 && (n->opts.subscriptions & HERALD_SUBSCRIBE_SERVER_NOTIFICATIONS)) {
        rc = herald__session_send_json(s, json_pack("{s:s,s:s}", "type", "subscribe",
                                                    "event_type", "server_notification"));
        n->pending_subs++;
    }
    if (rc == 0 && (n->opts.subscriptions & HERALD_SUBSCRIBE_METRICS)) {
        rc = herald__session_send_json(s, json_pack("{s:s,s:s}", "type", "subscribe",
                                                    "event_type", "metrics"));
        n->pending_subs++;
    }
    return rc;
}

static void check_ready(herald_notifier *n)
{
    if (!n->authenticated || n->pending_subs > 0)
        return;
    if (herald__session_set_ready(&n->s) && n->opts.on_ready &&
        !herald__session_freed(&n->s))
        n->opts.on_ready(n->opts.user);
}

static void on_event(const herald_event *ev, void *user)
{
    herald_notifier *n = user;
    if (n->opts.on_server_notification && !herald__session_freed(&n->s))
        n->opts.on_server_notification(ev, n->opts.user);
}

static void on_message(herald_session *s, json_t *root, const char *raw, size_t len)
{
    herald_notifier *n = (herald_notifier *)s;
    json_t *t = json_object_get(root, "type");
    const char *type = json_is_string(t) ? json_string_value(t) : NULL;
    if (!type) {
        /* nothing to do with a message without a type */
    } else if (!strcmp(type, "authenticated")) {
        n->authenticated = 1;
        check_ready(n);
    } else if (!strcmp(type, "subscribe_response")) {
        if (n->pending_subs > 0)
            n->pending_subs--;
        check_ready(n);
    } else if (!strcmp(type, "metrics.report") && !json_object_get(root, "id")) {
        if (n->opts.on_metrics && !herald__session_freed(s))
            n->opts.on_metrics(raw, n->opts.user);
    } else {
        herald__event_deliver(root, raw, len, on_event, n);
    }
}

static void on_end(herald_session *s, int code, const char *reason)
{
    herald_notifier *n = (herald_notifier *)s;
    if (n->opts.on_close && !herald__session_freed(s))
        n->opts.on_close(code, reason, n->opts.user);
}

static const herald_session_ops notifier_ops = {on_open, on_message, NULL, on_end, dispose};

/* ---- public ---- */

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
    n->token = strdup(n->opts.token ? n->opts.token : HERALD_DEFAULT_TOKEN);
    if (!n->token) {
        free(n);
        herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    if (herald__session_init(&n->s, &notifier_ops, n->opts.server, NOTIFIER_PATH,
                             n->opts.timeout_ms, "authenticate and subscribe", errbuf,
                             errlen) != 0) {
        free(n->token);
        free(n);
        return NULL;
    }
    n->opts.server = NULL; /* not kept: the caller's strings */
    n->opts.token = NULL;
    return n;
}

int herald_notifier_start(herald_notifier *n, uv_loop_t *loop)
{
    return n ? herald__session_start(&n->s, loop) : HERALD_EINVAL;
}

int herald_notifier_start_thread(herald_notifier *n)
{
    return n ? herald__session_start_thread(&n->s) : HERALD_EINVAL;
}

int herald_notifier_wait_ready(herald_notifier *n, int timeout_ms)
{
    return n ? herald__session_wait_ready(&n->s, timeout_ms) : HERALD_EINVAL;
}

int herald_notifier_is_ready(herald_notifier *n)
{
    return n ? herald__session_is_ready(&n->s) : 0;
}

void herald_notifier_stop(herald_notifier *n)
{
    if (n)
        herald__session_stop(&n->s);
}

void herald_notifier_free(herald_notifier *n)
{
    if (n)
        herald__session_free(&n->s);
}
