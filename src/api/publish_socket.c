/* SPDX-License-Identifier: MIT */
/* publish_socket.c — GET /v1/events/websocket, the persistent publishing
 * connection (issue 16 item 3; the protocol: docs/api.md, "Publishing
 * socket").
 *
 * For producers that publish at a high rate: every text frame after the
 * authentication is one POST /v1/events body, validated by the same code
 * (hv_event_parse_publish) and committed by the hub with the same
 * guarantee. The frames of a socket are numbered 1, 2, 3 ... and each gets
 * exactly one answer, in frame order: {"seq":N,"ids":[...]} after the
 * durable commit, or {"seq":N,"status":400|503,"errors":"..."}; a refused
 * frame waits behind the pending commit of an earlier one and disturbs
 * nothing around it.
 *
 * Why it is cheap per frame: the frames parsed from one read go to the hub
 * as ONE request (on_input_end), whose ids are split back per frame; the
 * answers ready together are laid out as frames in one shared buffer,
 * queued with one reference (no wslay context per answer).
 *
 * Idempotency keys (issue 18 item 1): a frame's events may carry
 * "idempotency_key" as a POST batch's do. A batch of frames with keys goes
 * to the hub alone (pump): the batches after it wait for its answer, so
 * their keys are screened once its keys are recorded and none of their
 * frames is committed before its frames; a frame repeating a key of the
 * batch being gathered starts a new batch. Each frame's answer is decided
 * by its own keys (publish_socket_keys.c): a replay's first ids with
 * "replayed":true, or a 409 for that frame alone.
 *
 * Bounds: a frame past --max-body (before authentication, past
 * --max-ws-message) closes 1009 (ws.c, from its header);
 * at most --publish-window unanswered frames and --max-body bytes of them:
 * past either, the socket is paused (hv_ws_pause: not read, TCP
 * back-pressure) until answers drain; nothing is dropped or refused for
 * it. A binary frame closes 1003 once the frames before it are answered;
 * on shutdown the frames read are committed and answered, then 1001.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/backoff.h"
#include "api/handlers.h"
#include "api/publish_socket_internal.h"
#include "api/reply.h"
#include "api/router.h"
#include "auth/server_token.h"
#include "codec/ws_frame.h"
#include "core/event_json.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "hub/hub.h"
#include "net/server.h"
#include "net/ws.h"

#define CLOSE_AUTH 4001 /* the spec's "invalid token" / "authenticate first" */

typedef hv__pub_slot slot; /* one frame's answer, waiting for its turn */
typedef hv__pub_batch batch;

typedef struct pub_sock {
    hv_conn *conn;
    uint8_t authed, paused, closed;
    uint16_t close_code;      /* close with it once everything is answered */
    const char *close_reason;
    uint64_t next_seq, head_seq; /* the next frame's seq; ring[head]'s */
    slot *ring;               /* unanswered frames, in order */
    size_t cap, head, len, bytes;
    int at_hub;               /* requests at the hub (each holds conn and this) */
    int keyed_at_hub;         /* one of them carries keys: the batches wait */
    batch *bhead, *btail;     /* frames gathered, not yet at the hub, in order */
    /* scratch for laying out answers */
    char *out;
    size_t outcap;
} pub_sock;

typedef struct hub_req {
    pub_sock *ps;
    batch *b; /* its frames and their claims (the events are the hub's) */
} hub_req;

/* ---- what a frame is (pure; fuzz/fuzz_publish_frame.c) ------------------ */

void hv_publish_frame_read(int opcode, const uint8_t *data, size_t len, int authed, hv_publish_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (!authed) {
        json_t *j = opcode == HV_WS_TEXT ? json_loadb((const char *)data, len, 0, NULL) : NULL;
        const char *type = json_string_value(json_object_get(j, "type"));
        const char *tok = json_string_value(json_object_get(j, "token"));
        if (type && !strcmp(type, "auth") && tok)
            v->token = hv_xstrdup(tok);
        else
            v->code = CLOSE_AUTH, snprintf(v->reason, sizeof(v->reason), "authenticate first");
        json_decref(j);
        return;
    }
    if (opcode != HV_WS_TEXT) {
        v->code = 1003;
        snprintf(v->reason, sizeof(v->reason), "publish frames are JSON text");
        return;
    }
    if (hv_event_parse_publish_keys((const char *)data, len, &v->evs, &v->n, &v->keys, v->err,
                                    sizeof(v->err)) != 0) {
        v->status = 400;
        return;
    }
    size_t i = 0;
    while (i < v->n && !v->keys[i])
        i++;
    if (i == v->n) { /* no key: no claims */
        free(v->keys);
        v->keys = NULL;
    }
}

/* ---- answers, in frame order ------------------------------------------- */

static slot *slot_at(pub_sock *ps, uint64_t seq)
{
    return &ps->ring[(ps->head + (size_t)(seq - ps->head_seq)) % ps->cap];
}

static slot *slot_push(pub_sock *ps)
{
    if (ps->len == ps->cap) { /* grows with the window actually used */
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        slot *r = hv_xcalloc(cap, sizeof(*r));
        for (size_t i = 0; i < ps->len; i++)
            r[i] = ps->ring[(ps->head + i) % ps->cap];
        free(ps->ring);
        ps->ring = r;
        ps->cap = cap;
        ps->head = 0;
    }
    if (ps->len == 0)
        ps->head_seq = ps->next_seq;
    slot *s = &ps->ring[(ps->head + ps->len++) % ps->cap];
    memset(s, 0, sizeof(*s));
    ps->next_seq++;
    return s;
}

static void out_reserve(pub_sock *ps, size_t need)
{
    if (need <= ps->outcap)
        return;
    size_t cap = ps->outcap ? ps->outcap : 4096;
    while (cap < need)
        cap *= 2;
    ps->out = hv_xrealloc(ps->out, cap);
    ps->outcap = cap;
}

/* Appends frame seq's answer (header and payload) at ps->out + at. */
static size_t lay_out(pub_sock *ps, size_t at, uint64_t seq, const slot *s)
{
    char small[96], *p = small, *dumped = NULL;
    int n;
    const char *rp = s->replayed ? ",\"replayed\":true" : "";
    if (s->status == 200 && !s->text) {
        n = snprintf(small, sizeof(small), "{\"seq\":%llu,\"ids\":[\"%llu\"]%s}", (unsigned long long)seq,
                     (unsigned long long)s->id, rp);
    } else if (s->status == 200) {
        n = (int)strlen(s->text) + 60;
        p = dumped = hv_xmalloc((size_t)n);
        n = snprintf(p, (size_t)n, "{\"seq\":%llu,\"ids\":[%s]%s}", (unsigned long long)seq, s->text, rp);
    } else {
        json_t *j = json_pack("{s:I,s:i,s:s}", "seq", (json_int_t)seq, "status", s->status, "errors",
                              s->text ? s->text : "");
        p = dumped = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        n = (int)strlen(p);
    }
    out_reserve(ps, at + 10 + (size_t)n);
    size_t h = hv_ws_frame_header((uint8_t *)ps->out + at, HV_WS_TEXT, (size_t)n);
    memcpy(ps->out + at + h, p, (size_t)n);
    free(dumped);
    return h + (size_t)n;
}

static void maybe_resume(hv_conn *c, pub_sock *ps);

/* Sends every answer ready at the head of the line, in one buffer. */
static void send_ready(hv_conn *c, pub_sock *ps)
{
    size_t len = 0;
    while (ps->len && ps->ring[ps->head].status != 0) {
        slot *s = &ps->ring[ps->head];
        len += lay_out(ps, len, ps->head_seq, s);
        free(s->text);
        ps->bytes -= s->bytes;
        ps->head = (ps->head + 1) % ps->cap;
        ps->len--;
        ps->head_seq++;
    }
    if (len && !hv_ws_closing(c)) {
        hv_frame f = {hv_sbuf_dup(ps->out, len), 0};
        hv_ws_send_frame(c, &f);
        hv_sbuf_unref(f.buf);
    }
    if (ps->len == 0 && ps->close_code)
        hv_ws_close(c, ps->close_code, ps->close_reason);
    else
        maybe_resume(c, ps);
}

/* Sets the pending frames in [first, last] to status with message msg. */
static void fail_range(pub_sock *ps, uint64_t first, uint64_t last, int status, const char *msg)
{
    for (uint64_t seq = first; seq <= last; seq++) {
        slot *s = slot_at(ps, seq);
        if (s->status == 0) {
            s->status = status;
            s->text = hv_xstrdup(msg);
        }
    }
}

/* ---- the hub ----------------------------------------------------------- */

static void ps_free(pub_sock *ps)
{
    for (size_t i = 0; i < ps->len; i++)
        free(ps->ring[(ps->head + i) % ps->cap].text);
    while (ps->bhead) {
        batch *b = ps->bhead;
        ps->bhead = b->next;
        for (size_t i = 0; i < b->nev; i++)
            hv_event_unref(b->evs[i]);
        free(b->evs);
        hv__pub_batch_free(b);
    }
    free(ps->ring);
    free(ps->out);
    free(ps);
}

/* Splits the ids of the request's events back to its frames. */
static void give_ids(pub_sock *ps, const batch *b, hv_event **evs, size_t n)
{
    size_t k = 0, ci = 0;
    for (uint64_t seq = b->first; seq <= b->last; seq++) {
        slot *s = slot_at(ps, seq);
        if (s->status != 0)
            continue;
        if (b->nclaims) { /* each frame's answer by its keys */
            hv__pub_keyed_answer(ps->conn->loop->srv, b, &ci, s, evs, k);
            k += s->nev;
            continue;
        }
        s->status = 200;
        if (s->nev == 1) {
            s->id = evs[k++]->id;
            continue;
        }
        size_t take = s->nev < n - k ? s->nev : n - k;
        s->text = hv_xmalloc((size_t)s->nev * HV_API_ID_TEXT_MAX + 1);
        hv_api_put_ids(s->text, evs + k, take);
        k += take;
    }
}

static void pump(hv_conn *c, pub_sock *ps);

static void hub_done(hv_loop *l, void *arg, int status, hv_event **evs, size_t n)
{
    (void)l;
    hub_req *q = arg;
    pub_sock *ps = q->ps;
    hv_conn *c = ps->conn;
    ps->at_hub--;
    if (q->b->nclaims)
        ps->keyed_at_hub = 0;
    if (ps->closed) {
        if (!ps->at_hub)
            ps_free(ps);
    } else if (status != 0) {
        atomic_fetch_add_explicit(&c->loop->srv->metrics.publish_errors, 1, memory_order_relaxed);
        char msg[400];
        hv_api_store_failure(c->loop->srv, status, msg, sizeof(msg));
        fail_range(ps, q->b->first, q->b->last, 503, msg);
        pump(c, ps);
        send_ready(c, ps);
    } else {
        give_ids(ps, q->b, evs, n);
        pump(c, ps);
        send_ready(c, ps);
        hv_conn_flush(c); /* the answers go out before this loop's fan-out work */
    }
    hv__pub_batch_free(q->b);
    free(q);
    hv_conn_release(c);
}

/* Hands the gathered batches to the hub, in order. A batch with keys goes
 * alone: the batches after it wait for its answer, so that their keys are
 * screened once its keys are recorded and none of their frames is
 * committed before its frames (the hub may hold a keyed request back for
 * a group). Without keys, every batch goes at once. */
static void pump(hv_conn *c, pub_sock *ps)
{
    while (ps->bhead && !ps->keyed_at_hub) {
        batch *b = ps->bhead;
        if (!(ps->bhead = b->next))
            ps->btail = NULL;
        b->next = NULL;
        hub_req *q = hv_xmalloc(sizeof(*q));
        *q = (hub_req){ps, b};
        hv_hub *hub = c->loop->srv->hub;
        hv_conn_hold(c);
        ps->at_hub++;
        ps->keyed_at_hub = b->nclaims > 0;
        int rc = b->nclaims ? hv_hub_publish_idem(hub, b->evs, b->nev, b->claims, b->nclaims, c->loop,
                                                  hub_done, q)
                            : hv_hub_publish(hub, b->evs, b->nev, c->loop, hub_done, q);
        if (rc != 0) {
            ps->at_hub--;
            ps->keyed_at_hub = 0;
            fail_range(ps, b->first, b->last, 503, "server is shutting down");
            hv__pub_batch_free(b);
            free(q);
            hv_conn_release(c);
        }
    }
}

/* The frames of the last read go to the hub (ws.c's on_input_end): one
 * request for all of them, unless keys split them (publish). */
static void on_input_end(hv_conn *c)
{
    pub_sock *ps = hv_ws_app(c);
    if (!ps || !ps->bhead)
        return;
    pump(c, ps);
    send_ready(c, ps);
}

/* ---- frames ------------------------------------------------------------ */

static int over_window(hv_conn *c, const pub_sock *ps)
{
    const hv_config *cfg = &c->loop->srv->cfg;
    return ps->len >= cfg->publish_window || ps->bytes >= cfg->max_body;
}

static void maybe_resume(hv_conn *c, pub_sock *ps)
{
    if (ps->paused && !ps->close_code && !over_window(c, ps)) {
        ps->paused = 0;
        hv_ws_resume(c);
    }
}

/* Stops reading; closes with code once the frames read are answered. */
static void close_after_answers(hv_conn *c, pub_sock *ps, uint16_t code, const char *reason)
{
    if (ps->close_code)
        return;
    ps->close_code = code;
    ps->close_reason = reason;
    hv_ws_pause(c);
    if (ps->len == 0)
        hv_ws_close(c, code, reason);
}

/* Frames are POST bodies (--max-body) once authenticated; before, an auth
 * frame is all it may send: the server sockets' --max-ws-message bound. */
static void set_limits(hv_conn *c, int authed)
{
    const hv_config *cfg = &c->loop->srv->cfg;
    size_t max = authed || cfg->max_body < cfg->max_ws_message ? cfg->max_body : cfg->max_ws_message;
    hv_ws_limits lim = {max, 0, 0};
    hv_ws_set_limits(c, &lim);
}

static void authenticate(hv_conn *c, pub_sock *ps, const char *token)
{
    if (hv_auth_backoff_ws(c) != 0)
        return;
    if (!hv_auth_token_ok(c->loop->srv, token, strlen(token))) {
        hv_info("publishing socket: invalid token");
        hv_auth_failed(c);
        hv_ws_close(c, CLOSE_AUTH, "invalid token");
        return;
    }
    ps->authed = 1;
    hv_conn_authenticated(c);
    set_limits(c, 1);
    hv_api_ws_send_json(c, json_pack("{s:s}", "type", "authenticated"));
}

/* Adds a frame's events (and keys) to the last batch not yet at the hub,
 * or to a new one: when there is none, or when the frame repeats a key of
 * that batch (a key is claimed once per request; the repeat is screened
 * after the first is recorded, as a replay or a conflict). */
static void gather(pub_sock *ps, hv_publish_verdict *v)
{
    batch *b = ps->btail;
    if (!b || hv__pub_batch_has_key(b, v->keys, v->n)) {
        b = hv_xcalloc(1, sizeof(*b));
        b->first = ps->next_seq - 1;
        if (ps->btail)
            ps->btail->next = b;
        else
            ps->bhead = b;
        ps->btail = b;
    }
    b->last = ps->next_seq - 1;
    if (b->nev + v->n > b->evcap) {
        b->evcap = (b->nev + v->n) * 2;
        b->evs = hv_xrealloc(b->evs, b->evcap * sizeof(*b->evs));
    }
    memcpy(b->evs + b->nev, v->evs, v->n * sizeof(*v->evs));
    if (v->keys)
        hv__pub_batch_add_keys(b, v->keys, v->evs, v->n, b->nev);
    v->keys = NULL;
    b->nev += v->n;
}

static void publish(hv_conn *c, pub_sock *ps, hv_publish_verdict *v, size_t len)
{
    slot *s = slot_push(ps);
    s->bytes = len;
    ps->bytes += len;
    if (v->status) {
        s->status = v->status;
        s->text = hv_xstrdup(v->err);
        send_ready(c, ps); /* at once, unless an earlier frame waits for its commit */
    } else {
        gather(ps, v);
        s->nev = (uint32_t)v->n;
    }
    if (!ps->paused && !ps->close_code && over_window(c, ps)) {
        hv_debug("publishing socket: %zu frames (%zu bytes) unanswered, not reading", ps->len, ps->bytes);
        ps->paused = 1; /* the rest of this read is held by ws.c */
        hv_ws_pause(c);
    }
}

static void on_message(hv_conn *c, int opcode, const uint8_t *data, size_t len)
{
    pub_sock *ps = hv_ws_app(c);
    if (ps->close_code)
        return;
    hv_publish_verdict v;
    hv_publish_frame_read(opcode, data, len, ps->authed, &v);
    if (v.token)
        authenticate(c, ps, v.token);
    else if (v.code == 1003)
        close_after_answers(c, ps, 1003, "publish frames are JSON text");
    else if (v.code)
        hv_ws_close(c, v.code, v.reason);
    else
        publish(c, ps, &v, len);
    free(v.token);
    free(v.evs); /* the references moved to a batch */
    hv_idem_keys_free(v.keys, v.n); /* NULL unless refused before publish */
}

/* ---- the socket -------------------------------------------------------- */

static void on_close(hv_conn *c, int lost, const char *reason)
{
    (void)lost, (void)reason;
    pub_sock *ps = hv_ws_app(c);
    ps->closed = 1;
    if (!ps->at_hub)
        ps_free(ps); /* else the last hub_done frees it */
}

static void on_open(hv_conn *c)
{
    pub_sock *ps = hv_ws_app(c);
    set_limits(c, c->authed);
    if (c->authed) { /* by the Authorization header */
        ps->authed = 1;
        hv_api_ws_send_json(c, json_pack("{s:s}", "type", "authenticated"));
    }
}

/* The frames read are committed and answered first. */
static void on_shutdown(hv_conn *c)
{
    close_after_answers(c, hv_ws_app(c), 1001, "server shutting down");
}

static const hv_ws_handler handler = {
    .on_message = on_message, .on_close = on_close, .on_open = on_open, .auth_timeout_code = 1008,
    .on_input_end = on_input_end, .on_shutdown = on_shutdown};

void hv_api_publish_socket(hv_conn *c, hv_http_req *r)
{
    /* A token in the header is checked before the upgrade: a wrong one
     * gets POST /v1/events's 401. Without it the first frame authenticates. */
    if (hv_http_header_get(r, "authorization") && hv_auth_require_server_token(c, r) != 0)
        return;
    pub_sock *ps = hv_xcalloc(1, sizeof(*ps));
    ps->conn = c;
    ps->next_seq = 1;
    if (hv_ws_accept(c, &handler, ps, HV_CONN_KIND_WS_SERVER) != 0)
        free(ps);
}
