/* SPDX-License-Identifier: MIT */
/* publisher.c — herald_publisher: the persistent publishing connection,
 * GET /v1/events/websocket.
 *
 * Protocol (on top of ws_client.c): the server token goes with the
 * upgrade ("Authorization: Bearer …"); the server answers
 * {"type":"authenticated"} and the publisher is ready. Every text frame
 * sent after that is one publish, numbered 1, 2, 3 … by both sides, and
 * gets exactly one answer, in frame order: {"seq":N,"ids":[…]} after the
 * durable commit, or {"seq":N,"status":400|503,"errors":"…"}
 * (publish_frame.c decodes them). An answer out of order, or for a frame
 * not sent, means the two sides no longer agree on the numbering: the
 * connection is dropped rather than answers being handed to the wrong
 * frames.
 *
 * Threads: submit may be called from any thread: frames wait in a list
 * under the session's mutex and the loop thread (woken by the session's
 * uv_async_t) sends every waiting frame in one write once authenticated.
 * Answers either go to options.on_answer on the loop thread or wait in a
 * list for herald_publisher_next, which sleeps on the session's condition
 * variable (broadcast on every answer and at the end).
 *
 * Bound: `window` frames outstanding (submitted and not yet taken, or not
 * yet answered with on_answer); submit refuses the next with HERALD_EFULL.
 * Both lists are therefore at most window long.
 *
 * The connection's life cycle (caller's loop or own thread, readiness,
 * stop, free) is session.c's; this file is the protocol and the queues.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define PUBLISH_PATH "/v1/events/websocket"

typedef struct out_frame {
    struct out_frame *next;
    size_t len;
    char text[];
} out_frame;

typedef struct answer_node {
    struct answer_node *next;
    herald_publish_answer a;
} answer_node;

struct herald_publisher {
    herald_session s; /* first: the session's callbacks cast back */
    herald_publisher_options opts;
    unsigned window;
    size_t max_frame;
    /* loop thread */
    int authenticated;
    uint64_t sent, answered; /* seq of the last frame sent / answered */
    /* under s.mu */
    out_frame *out, *out_tail;
    answer_node *ans, *ans_tail;
    uint64_t submitted;      /* seq of the last frame submitted */
    unsigned outstanding;
};

static void free_frames(out_frame *f)
{
    while (f) {
        out_frame *next = f->next;
        free(f);
        f = next;
    }
}

static void free_answers(answer_node *n)
{
    while (n) {
        answer_node *next = n->next;
        herald_publish_answer_clear(&n->a);
        free(n);
        n = next;
    }
}

static void dispose(herald_session *s)
{
    herald_publisher *p = (herald_publisher *)s;
    herald__session_destroy(s);
    free_frames(p->out);
    free_answers(p->ans);
    free(p);
}

/* ---- protocol (loop thread) ---- */

static int on_open(herald_session *s)
{
    (void)s; /* the token went with the upgrade; wait for "authenticated" */
    return 0;
}

/* Sends every waiting frame: queued into wslay, then one write. */
static void flush(herald_session *s)
{
    herald_publisher *p = (herald_publisher *)s;
    if (!p->authenticated)
        return;
    uv_mutex_lock(&s->mu);
    out_frame *f = p->out;
    p->out = p->out_tail = NULL;
    uv_mutex_unlock(&s->mu);
    if (!f)
        return;
    for (out_frame *next; f; f = next) {
        next = f->next;
        if (herald__ws_queue_text(&s->ws, f->text, f->len) == 0)
            p->sent++;
        free(f); /* wslay copied it; a failure means the connection is ending */
    }
    herald__ws_flush(&s->ws);
}

static void protocol_error(herald_publisher *p, const char *what, const char *raw)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "unexpected answer from the server (%s): %.80s", what, raw);
    herald__ws_abort(&p->s.ws, 1006, msg);
}

static void take_answer(herald_publisher *p, const char *raw, size_t len)
{
    herald_session *s = &p->s;
    answer_node *n = calloc(1, sizeof(*n));
    if (!n) {
        herald__ws_abort(&s->ws, 1006, "out of memory");
        return;
    }
    int rc = herald__publish_answer_decode(raw, len, &n->a, NULL, 0);
    const char *bad = rc == HERALD_ENOMEM                  ? "out of memory"
                      : rc != 0                            ? "not a publish answer"
                      : n->a.seq != p->answered + 1        ? "out of order"
                      : n->a.seq > p->sent                 ? "for a frame not sent"
                                                           : NULL;
    if (bad) {
        herald_publish_answer_clear(&n->a);
        free(n);
        protocol_error(p, bad, raw);
        return;
    }
    p->answered = n->a.seq;
    if (p->opts.on_answer) {
        uv_mutex_lock(&s->mu);
        p->outstanding--; /* first: on_answer may submit the next frame */
        uv_mutex_unlock(&s->mu);
        if (!herald__session_freed(s))
            p->opts.on_answer(&n->a, p->opts.user);
        herald_publish_answer_clear(&n->a);
        free(n);
        return;
    }
    uv_mutex_lock(&s->mu);
    if (p->ans_tail)
        p->ans_tail->next = n;
    else
        p->ans = n;
    p->ans_tail = n;
    uv_cond_broadcast(&s->cond);
    uv_mutex_unlock(&s->mu);
}

static void on_message(herald_session *s, json_t *root, const char *raw, size_t len)
{
    herald_publisher *p = (herald_publisher *)s;
    json_t *t = json_object_get(root, "type");
    if (json_is_string(t)) { /* a notice, not an answer */
        if (!p->authenticated && !strcmp(json_string_value(t), "authenticated")) {
            p->authenticated = 1;
            if (herald__session_set_ready(s) && p->opts.on_ready && !herald__session_freed(s))
                p->opts.on_ready(p->opts.user);
            flush(s);
        }
        return;
    }
    if (!p->authenticated) {
        protocol_error(p, "before authentication", raw);
        return;
    }
    take_answer(p, raw, len);
}

static void on_end(herald_session *s, int code, const char *reason)
{
    herald_publisher *p = (herald_publisher *)s;
    uv_mutex_lock(&s->mu); /* nothing waiting can go out any more */
    free_frames(p->out);
    p->out = p->out_tail = NULL;
    uint64_t unanswered = p->submitted - p->answered;
    uv_cond_broadcast(&s->cond);
    uv_mutex_unlock(&s->mu);
    if (p->opts.on_close && !herald__session_freed(s))
        p->opts.on_close(code, reason, unanswered, p->opts.user);
}

static const herald_session_ops publisher_ops = {on_open, on_message, flush, on_end, dispose};

/* ---- public ---- */

static int token_ok(const char *t)
{
    for (; *t; t++)
        if ((unsigned char)*t < 0x20 || *t == 0x7f)
            return 0;
    return 1;
}

herald_publisher *herald_publisher_new(const herald_publisher_options *opts, char *errbuf,
                                       size_t errlen)
{
    herald_publisher_options o = {0};
    if (opts)
        o = *opts;
    const char *token = o.token ? o.token : HERALD_DEFAULT_TOKEN;
    if (!*token || !token_ok(token)) {
        herald__fail(HERALD_EINVAL, errbuf, errlen, "the token is empty or contains control "
                                                    "characters");
        return NULL;
    }
    if (o.window > HERALD_PUBLISHER_MAX_WINDOW) {
        herald__fail(HERALD_EINVAL, errbuf, errlen, "window %u is above the limit %u",
                     o.window, (unsigned)HERALD_PUBLISHER_MAX_WINDOW);
        return NULL;
    }
    herald_publisher *p = calloc(1, sizeof(*p));
    size_t hlen = strlen(token) + 32;
    char *headers = malloc(hlen);
    if (!p || !headers) {
        free(p);
        free(headers);
        herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    snprintf(headers, hlen, "Authorization: Bearer %s\r\n", token);
    p->opts = o;
    p->window = o.window ? o.window : HERALD_PUBLISHER_WINDOW;
    p->max_frame = o.max_frame ? o.max_frame : HERALD_PUBLISHER_MAX_FRAME;
    if (herald__session_init(&p->s, &publisher_ops, o.server, PUBLISH_PATH, o.timeout_ms,
                             "authenticate the server token", errbuf, errlen) != 0) {
        free(headers);
        free(p);
        return NULL;
    }
    p->s.headers = headers;
    p->opts.server = p->opts.token = NULL; /* not kept: the caller's strings */
    return p;
}

int herald_publisher_start(herald_publisher *p, uv_loop_t *loop)
{
    return p ? herald__session_start(&p->s, loop) : HERALD_EINVAL;
}

int herald_publisher_start_thread(herald_publisher *p)
{
    return p ? herald__session_start_thread(&p->s) : HERALD_EINVAL;
}

int herald_publisher_wait_ready(herald_publisher *p, int timeout_ms)
{
    return p ? herald__session_wait_ready(&p->s, timeout_ms) : HERALD_EINVAL;
}

int herald_publisher_submit(herald_publisher *p, const char *body, size_t len, uint64_t *seq)
{
    if (!p || herald__publish_body_check(body, len, p->max_frame, NULL, 0) != 0)
        return HERALD_EINVAL;
    out_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return HERALD_ENOMEM;
    f->next = NULL;
    f->len = len;
    memcpy(f->text, body, len);
    uv_mutex_lock(&p->s.mu);
    int rc = !p->s.started                ? HERALD_ESTATE
             : p->s.ended                 ? HERALD_ECLOSED
             : p->outstanding >= p->window ? HERALD_EFULL
                                          : 0;
    if (rc == 0) {
        if (p->out_tail)
            p->out_tail->next = f;
        else
            p->out = f;
        p->out_tail = f;
        p->outstanding++;
        if (seq)
            *seq = ++p->submitted;
        else
            ++p->submitted;
        herald__session_wake(&p->s, 1);
    }
    uv_mutex_unlock(&p->s.mu);
    if (rc != 0)
        free(f);
    return rc;
}

/* The next answer's wait, under s.mu. Returns 0 with the node taken off,
 * or a HERALD_E* code. */
static int wait_answer(herald_publisher *p, int timeout_ms, answer_node **node)
{
    herald_session *s = &p->s;
    uint64_t deadline = uv_hrtime() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
    for (;;) {
        if (p->ans) {
            *node = p->ans;
            if (!(p->ans = p->ans->next))
                p->ans_tail = NULL;
            p->outstanding--;
            return 0;
        }
        if (p->outstanding == 0)
            return HERALD_ESTATE;
        if (s->ended)
            return HERALD_ECLOSED;
        if (timeout_ms < 0) {
            uv_cond_wait(&s->cond, &s->mu);
            continue;
        }
        uint64_t now = uv_hrtime();
        if (now >= deadline)
            return HERALD_ETIMEDOUT;
        uv_cond_timedwait(&s->cond, &s->mu, deadline - now);
    }
}

int herald_publisher_next(herald_publisher *p, int timeout_ms, herald_publish_answer *out,
                          char *errbuf, size_t errlen)
{
    if (!p || !out)
        return HERALD_EINVAL;
    memset(out, 0, sizeof(*out));
    if (p->opts.on_answer)
        return herald__fail(HERALD_ESTATE, errbuf, errlen, "answers go to on_answer");
    answer_node *n = NULL;
    uv_mutex_lock(&p->s.mu);
    int rc = wait_answer(p, timeout_ms, &n);
    if (rc == HERALD_ECLOSED) {
        /* every answer that came is taken: the rest never will */
        herald__fail(rc, errbuf, errlen, "connection closed (%d %s); %u frame(s) unanswered",
                     p->s.end_code, p->s.end_reason, p->outstanding);
    }
    uv_mutex_unlock(&p->s.mu);
    if (rc == HERALD_ESTATE)
        return herald__fail(rc, errbuf, errlen, "no frame awaits an answer");
    if (rc == HERALD_ETIMEDOUT)
        return herald__fail(rc, errbuf, errlen, "timed out waiting for an answer");
    if (rc != 0)
        return rc;
    *out = n->a;
    free(n);
    return 0;
}

int herald_publisher_closed(herald_publisher *p, int *code, char *reason, size_t len)
{
    if (!p)
        return 0;
    uv_mutex_lock(&p->s.mu);
    int ended = p->s.ended;
    if (ended && code)
        *code = p->s.end_code;
    if (ended && reason && len)
        snprintf(reason, len, "%s", p->s.end_code ? p->s.end_reason : "could not connect");
    uv_mutex_unlock(&p->s.mu);
    return ended;
}

unsigned herald_publisher_outstanding(herald_publisher *p)
{
    if (!p)
        return 0;
    uv_mutex_lock(&p->s.mu);
    unsigned n = p->outstanding;
    uv_mutex_unlock(&p->s.mu);
    return n;
}

int herald_publisher_publish(herald_publisher *p, const char *body, size_t len, int timeout_ms,
                             herald_publish_result *out, char *errbuf, size_t errlen)
{
    if (out)
        memset(out, 0, sizeof(*out));
    if (!p)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "no publisher");
    if (p->opts.on_answer || herald_publisher_outstanding(p) != 0)
        return herald__fail(HERALD_ESTATE, errbuf, errlen,
                            "other frames are outstanding (or answers go to on_answer)");
    int rc = herald__publish_body_check(body, len, p->max_frame, errbuf, errlen);
    if (rc == 0 && (rc = herald_publisher_submit(p, body, len, NULL)) != 0)
        return herald__fail(rc, errbuf, errlen, "%s", herald_strerror(rc));
    if (rc != 0)
        return rc;
    herald_publish_answer a;
    if ((rc = herald_publisher_next(p, timeout_ms, &a, errbuf, errlen)) != 0)
        return rc;
    if (a.status != 0) {
        rc = herald__fail(HERALD_EHTTP, errbuf, errlen, "%s (HTTP %d)", a.errors, a.status);
    } else if (out) {
        out->ids = a.ids;
        out->count = a.count;
        out->response = a.response;
        a.ids = NULL;
        a.response = NULL;
    }
    herald_publish_answer_clear(&a);
    return rc;
}

void herald_publisher_stop(herald_publisher *p)
{
    if (p)
        herald__session_stop(&p->s);
}

void herald_publisher_free(herald_publisher *p)
{
    if (p)
        herald__session_free(&p->s);
}
