/* SPDX-License-Identifier: MIT */
/* peer_client.c — herald_peer_client: an app client of the peer socket,
 * GET /socket/peer/websocket.
 *
 * Protocol (on top of ws_client.c): the peer token goes with the upgrade
 * ("Authorization: Bearer …" or "?token=…") or in a first text frame
 * {"type":"auth","token":…}. The server answers
 * {"type":"authenticated","peer_id":…,"room_id":…}: the client is ready.
 * Then every text frame is an event envelope
 * {"id":"42","type":…,"timestamp":…,"room_id"?,"user_id"?,"data"?} of the
 * peer's room or addressed to the peer, or {"type":"error","message":…}
 * answering a message the server refused. A refused token is the server's
 * close, 4003 "invalid token", reported through on_close.
 *
 * Outgoing messages (update_metadata) may be queued from any thread: they
 * wait in a list under the session's mutex and are sent by the loop
 * thread (woken by the session's uv_async_t) once authenticated.
 *
 * The connection's life cycle (caller's loop or own thread, readiness,
 * stop, abort, free) is session.c's; this file is the protocol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define PEER_PATH "/socket/peer/websocket"

typedef struct outgoing {
    struct outgoing *next;
    size_t len;
    char text[];
} outgoing;

struct herald_peer_client {
    herald_session s; /* first: the session's callbacks cast back */
    herald_peer_client_options opts;
    char *token;
    int authenticated;            /* loop thread */
    outgoing *queue, *queue_tail; /* under s.mu */
};

static void free_queue(outgoing *o)
{
    while (o) {
        outgoing *next = o->next;
        free(o);
        o = next;
    }
}

static void dispose(herald_session *s)
{
    herald_peer_client *pc = (herald_peer_client *)s;
    herald__session_destroy(s);
    free_queue(pc->queue);
    free(pc->token);
    free(pc);
}

/* ---- protocol ---- */

static int on_open(herald_session *s)
{
    herald_peer_client *pc = (herald_peer_client *)s;
    if (pc->opts.auth != HERALD_PEER_AUTH_FRAME)
        return 0;
    return herald__session_send_json(s, json_pack("{s:s,s:s}", "type", "auth", "token",
                                                  pc->token));
}

/* Sends the queued messages (loop thread, once authenticated). */
static void flush(herald_session *s)
{
    herald_peer_client *pc = (herald_peer_client *)s;
    if (!pc->authenticated)
        return;
    uv_mutex_lock(&s->mu);
    outgoing *o = pc->queue;
    pc->queue = pc->queue_tail = NULL;
    uv_mutex_unlock(&s->mu);
    for (outgoing *next; o; o = next) {
        next = o->next;
        herald__ws_send_text(&s->ws, o->text, o->len); /* copied; fails only once closing */
        free(o);
    }
}

static void on_event(const herald_event *ev, void *user)
{
    herald_peer_client *pc = user;
    if (pc->opts.on_event && !herald__session_freed(&pc->s))
        pc->opts.on_event(ev, pc->opts.user);
}

static const char *str_member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void on_message(herald_session *s, json_t *root, const char *raw, size_t len)
{
    herald_peer_client *pc = (herald_peer_client *)s;
    if (herald__event_deliver(root, raw, len, on_event, pc))
        return;
    const char *type = str_member(root, "type");
    if (!type)
        return;
    if (!strcmp(type, "authenticated")) {
        pc->authenticated = 1;
        const char *peer = str_member(root, "peer_id"), *room = str_member(root, "room_id");
        if (herald__session_set_ready(s) && pc->opts.on_ready && !herald__session_freed(s))
            pc->opts.on_ready(peer ? peer : "", room ? room : "", pc->opts.user);
        flush(s);
    } else if (!strcmp(type, "error")) {
        const char *msg = str_member(root, "message");
        if (pc->opts.on_error && !herald__session_freed(s))
            pc->opts.on_error(msg ? msg : raw, pc->opts.user);
    }
}

static void on_end(herald_session *s, int code, const char *reason)
{
    herald_peer_client *pc = (herald_peer_client *)s;
    uv_mutex_lock(&s->mu); /* nothing queued can go out any more */
    free_queue(pc->queue);
    pc->queue = pc->queue_tail = NULL;
    uv_mutex_unlock(&s->mu);
    if (pc->opts.on_close && !herald__session_freed(s))
        pc->opts.on_close(code, reason, pc->opts.user);
}

static const herald_session_ops peer_ops = {on_open, on_message, flush, on_end, dispose};

/* ---- public ---- */

/* The token goes into a header line or a URL: no control characters. */
static int token_ok(const char *t)
{
    if (!t || !*t)
        return 0;
    for (; *t; t++)
        if ((unsigned char)*t < 0x20 || *t == 0x7f)
            return 0;
    return 1;
}

herald_peer_client *herald_peer_client_new(const herald_peer_client_options *opts,
                                           char *errbuf, size_t errlen)
{
    if (!opts || !token_ok(opts->token)) {
        herald__fail(HERALD_EINVAL, errbuf, errlen, "%s",
                     opts && opts->token && *opts->token
                         ? "the peer token contains control characters"
                         : "a peer token is required");
        return NULL;
    }
    if (opts->auth != HERALD_PEER_AUTH_HEADER && opts->auth != HERALD_PEER_AUTH_QUERY &&
        opts->auth != HERALD_PEER_AUTH_FRAME) {
        herald__fail(HERALD_EINVAL, errbuf, errlen, "unknown auth mode %d", (int)opts->auth);
        return NULL;
    }
    herald_peer_client *pc = calloc(1, sizeof(*pc));
    char *path = NULL, *headers = NULL, *esc = NULL;
    if (!pc)
        goto nomem;
    pc->opts = *opts;
    if (!(pc->token = strdup(opts->token)))
        goto nomem;
    if (opts->auth == HERALD_PEER_AUTH_QUERY) {
        size_t len;
        if (!(esc = herald__escape(opts->token)) ||
            !(path = malloc(len = sizeof(PEER_PATH "?token=") + strlen(esc))))
            goto nomem;
        snprintf(path, len, "%s?token=%s", PEER_PATH, esc);
    } else if (opts->auth == HERALD_PEER_AUTH_HEADER) {
        size_t len = strlen(opts->token) + 32;
        if (!(headers = malloc(len)))
            goto nomem;
        snprintf(headers, len, "Authorization: Bearer %s\r\n", opts->token);
    }
    if (herald__session_init(&pc->s, &peer_ops, opts->server, path ? path : PEER_PATH,
                             opts->timeout_ms, "authenticate the peer token", errbuf,
                             errlen) != 0)
        goto fail;
    pc->s.headers = headers;
    pc->opts.server = pc->opts.token = NULL; /* not kept: the caller's strings */
    free(path);
    free(esc);
    return pc;
nomem:
    herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
fail:
    free(path);
    free(headers);
    free(esc);
    if (pc)
        free(pc->token);
    free(pc);
    return NULL;
}

int herald_peer_client_start(herald_peer_client *pc, uv_loop_t *loop)
{
    return pc ? herald__session_start(&pc->s, loop) : HERALD_EINVAL;
}

int herald_peer_client_start_thread(herald_peer_client *pc)
{
    return pc ? herald__session_start_thread(&pc->s) : HERALD_EINVAL;
}

int herald_peer_client_wait_ready(herald_peer_client *pc, int timeout_ms)
{
    return pc ? herald__session_wait_ready(&pc->s, timeout_ms) : HERALD_EINVAL;
}

int herald_peer_client_is_ready(herald_peer_client *pc)
{
    return pc ? herald__session_is_ready(&pc->s) : 0;
}

int herald_peer_client_update_metadata(herald_peer_client *pc, const char *metadata_json)
{
    if (!pc || !metadata_json)
        return HERALD_EINVAL;
    json_t *md = json_loads(metadata_json, JSON_DECODE_ANY, NULL);
    if (!md)
        return HERALD_EINVAL;
    json_t *msg = json_pack("{s:s,s:o}", "type", "update_metadata", "metadata", md);
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    size_t len = text ? strlen(text) : 0;
    outgoing *o = text ? malloc(sizeof(*o) + len + 1) : NULL;
    if (!o) {
        free(text);
        return HERALD_ENOMEM;
    }
    o->next = NULL;
    o->len = len;
    memcpy(o->text, text, len + 1);
    free(text);

    uv_mutex_lock(&pc->s.mu);
    int rc = pc->s.ended ? HERALD_ECLOSED : 0;
    if (rc == 0) {
        if (pc->queue_tail)
            pc->queue_tail->next = o;
        else
            pc->queue = o;
        pc->queue_tail = o;
        herald__session_wake(&pc->s, 1);
    }
    uv_mutex_unlock(&pc->s.mu);
    if (rc != 0)
        free(o);
    return rc;
}

void herald_peer_client_stop(herald_peer_client *pc)
{
    if (pc)
        herald__session_stop(&pc->s);
}

void herald_peer_client_abort(herald_peer_client *pc)
{
    if (pc)
        herald__session_abort(&pc->s);
}

void herald_peer_client_free(herald_peer_client *pc)
{
    if (pc)
        herald__session_free(&pc->s);
}
