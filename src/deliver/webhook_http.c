/* SPDX-License-Identifier: MIT */
/* webhook_http.c — the delivery engine's HTTP side: one libcurl multi
 * handle driven by the engine's libuv loop, one POST per attempt.
 *
 * The standard curl + libuv integration: curl tells us which sockets to
 * watch (CURLMOPT_SOCKETFUNCTION -> one uv_poll per socket) and when to
 * wake it (CURLMOPT_TIMERFUNCTION -> one uv_timer); libuv events are fed
 * back with curl_multi_socket_action, and finished transfers are read
 * with curl_multi_info_read and reported to webhooks.c. Connections are
 * reused through the multi handle's connection cache (keep-alive, HTTP/2
 * multiplexing over TLS where offered); idle easy handles are pooled.
 * Every socket curl opens goes through CURLOPT_OPENSOCKETFUNCTION, where
 * the netguard judges the resolved address (a refusal fails the attempt).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/webhook_internal.h"

#ifndef HERALD_VERSION
#define HERALD_VERSION "0"
#endif

#define MAX_CONNECTS 256

typedef struct wh_req {
    hv_list link; /* in w->reqs */
    hv_webhooks *w;
    wh_item **items;      /* the rows this request carries: &one, or a batch's copy */
    size_t nitems;
    wh_item *one;
    CURL *easy;
    struct curl_slist *headers;
    char *body;           /* owned body (Jellyfish JSON, a batch), else NULL */
    char *resp;           /* response excerpt, response_cap + 1 bytes */
    size_t resp_len;
    int64_t started_ms;
    uint64_t t0_ns;
    char refused[200];    /* why the netguard refused the address, if it did */
    char *gz;             /* a batched JSON endpoint's gzip body, sent instead of body */
    size_t gzlen;
} wh_req;

typedef struct wh_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    hv_webhooks *w;
    hv_list link; /* in the engine's list of sockets (closed at shutdown) */
} wh_sock;

/* ---- curl <-> libuv -------------------------------------------------------- */

static void check_done(hv_webhooks *w);

static void free_sock(uv_handle_t *h)
{
    free(h->data);
}

static void close_sock(wh_sock *s)
{
    hv_list_remove(&s->link);
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, free_sock);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    wh_sock *s = p->data;
    hv_webhooks *w = s->w;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(w->multi, s->fd, flags, &running);
    check_done(w);
}

/* curl wants fd watched for what (or no longer watched): one uv_poll per
 * socket, remembered with curl_multi_assign and listed in w->socks so
 * that shutdown can close any curl forgot to report. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    hv_webhooks *w = userp;
    wh_sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            close_sock(s);
            if (!w->closing)
                curl_multi_assign(w->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = hv_xcalloc(1, sizeof(*s));
        if (uv_poll_init_socket(&w->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->w = w;
        s->poll.data = s;
        hv_list_push(&w->socks, &s->link);
        curl_multi_assign(w->multi, fd, s);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_curl_timer(uv_timer_t *t)
{
    hv_webhooks *w = t->data;
    int running;
    curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(w);
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    hv_webhooks *w = userp;
    if (w->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&w->curl_timer);
    else
        uv_timer_start(&w->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

int hv__webhook_http_init(hv_webhooks *w)
{
    hv_list_init(&w->reqs);
    hv_list_init(&w->socks);
    uv_timer_init(&w->loop, &w->curl_timer);
    w->curl_timer.data = w;
    w->multi = curl_multi_init();
    if (!w->multi)
        return -1;
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)MAX_CONNECTS);
    curl_multi_setopt(w->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    return 0;
}

/* ---- one request ----------------------------------------------------------- */

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    wh_req *r = userdata;
    size_t n = size * nmemb, cap = r->w->response_cap;
    if (r->resp && r->resp_len < cap) {
        size_t take = n < cap - r->resp_len ? n : cap - r->resp_len;
        memcpy(r->resp + r->resp_len, ptr, take);
        r->resp_len += take;
    }
    return n; /* the rest is read and dropped, the transfer goes on */
}

static curl_socket_t on_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    wh_req *r = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (!hv_netguard_check(r->w->guard, &a->addr, r->refused, sizeof(r->refused)))
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void release_easy(hv_webhooks *w, CURL *easy)
{
    if (w->npool < sizeof(w->pool) / sizeof(w->pool[0]) && !w->closing) {
        curl_easy_reset(easy);
        w->pool[w->npool++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

static void free_req(hv_webhooks *w, wh_req *r)
{
    hv_list_remove(&r->link);
    if (r->easy) {
        curl_multi_remove_handle(w->multi, r->easy);
        release_easy(w, r->easy);
    }
    curl_slist_free_all(r->headers);
    if (r->items != &r->one)
        free(r->items);
    free(r->body);
    free(r->gz);
    free(r->resp);
    free(r);
}

static int add_header(wh_req *r, const char *fmt, const char *a, const char *b)
{
    char line[512];
    snprintf(line, sizeof(line), fmt, a, b);
    struct curl_slist *l = curl_slist_append(r->headers, line);
    if (!l)
        return -1;
    r->headers = l;
    return 0;
}

/* A batched endpoint's body (owned by r): ServerMessage{notification_batch}
 * of the rows' encoded notifications; a lone VAD notification bare. */
static const void *batch_body(wh_req *r, size_t *blen)
{
    const hv_event *first = r->items[0]->ev;
    if (r->nitems == 1 && !hv__webhook_batchable(first)) {
        *blen = hv_frame_payload_len(&first->pb);
        return hv_frame_payload(&first->pb);
    }
    const uint8_t *pb[HV_WH_BATCH_MAX];
    size_t len[HV_WH_BATCH_MAX];
    for (size_t i = 0; i < r->nitems; i++) {
        pb[i] = hv_frame_payload(&r->items[i]->ev->pb);
        len[i] = hv_frame_payload_len(&r->items[i]->ev->pb);
    }
    r->body = (char *)hv_wh_batch_body(pb, len, r->nitems, blen);
    return r->body;
}

/* The Standard Webhooks id, the same on every retry: one row's event id,
 * or a batch's first and last event ids and its size. */
static void message_id(const wh_req *r, const hv_endpoint *ep, char *out, size_t len)
{
    const wh_item *a = r->items[0], *z = r->items[r->nitems - 1];
    if (r->nitems == 1)
        snprintf(out, len, "msg_%" PRIu64 "_%s", a->event_id, ep->id);
    else
        snprintf(out, len, "msg_%" PRIu64 "-%" PRIu64 "x%zu_%s", a->event_id, z->event_id, r->nitems, ep->id);
}

int hv__webhook_http_start(hv_webhooks *w, wh_item **items, size_t n, const hv_endpoint *ep, char *err,
                           size_t errlen)
{
    hv_event *ev = items[0]->ev;
    const void *body;
    size_t blen;
    const char *ctype;
    if (ep->format != HV_WH_JSON && !ev->pb.buf) {
        snprintf(err, errlen, "event type %s has no protobuf form", ev->type);
        return -1;
    }
    if (!ev->json.buf) {
        snprintf(err, errlen, "event %" PRIu64 " is not encoded", ev->id);
        return -1;
    }
    wh_req *r = hv_xcalloc(1, sizeof(*r));
    hv_list_init(&r->link);
    r->w = w;
    r->one = items[0];
    r->items = &r->one;
    r->nitems = n;
    if (n > 1) {
        r->items = hv_xmalloc(n * sizeof(*r->items));
        memcpy(r->items, items, n * sizeof(*r->items));
    }
    if (ep->batch) {
        body = batch_body(r, &blen);
        ctype = "application/x-protobuf";
    } else if (ep->jb_max_events) { /* a JSON array (webhook_jsonbatch.c) */
        r->body = hv__webhook_jsonbatch_body(r->items, n, &blen);
        body = r->body;
        ctype = "application/json";
    } else if (ep->format == HV_WH_PROTOBUF) {
        body = hv_frame_payload(&ev->pb);
        blen = hv_frame_payload_len(&ev->pb);
        ctype = "application/x-protobuf";
    } else if (ep->format == HV_WH_JELLYFISH_JSON) {
        r->body = hv_wh_jellyfish_body(hv_frame_payload(&ev->pb), hv_frame_payload_len(&ev->pb), &blen);
        body = r->body;
        ctype = "application/json";
    } else {
        body = hv_frame_payload(&ev->json);
        blen = hv_frame_payload_len(&ev->json);
        ctype = "application/json";
    }
    if (w->response_cap)
        r->resp = hv_xmalloc(w->response_cap + 1);
    char msg_id[64 + HV_ENDPOINT_ID_SIZE], ts[32], sig[256] = "", fj_sig[HV_FISHJAM_SIG_SIZE] = "";
    message_id(r, ep, msg_id, sizeof(msg_id));
    for (const char *p = msg_id; *p; p++)
        if (*p <= ' ' || *p > '~') { /* never let an id break the header block */
            snprintf(err, errlen, "endpoint id unfit for a header");
            free_req(w, r);
            return -1;
        }
    r->started_ms = hv_now_ms();
    r->t0_ns = uv_hrtime();
    snprintf(ts, sizeof(ts), "%" PRId64, r->started_ms / 1000);
    if (body)
        hv_webhook_sign(ep, msg_id, r->started_ms / 1000, body, blen, r->started_ms, sig);
    if (!body) { /* the Jellyfish body: jansson ran out of memory */
        snprintf(err, errlen, "out of memory");
        free_req(w, r);
        return -1;
    }
    if (!sig[0]) {
        snprintf(err, errlen, "the endpoint's secret is not a valid whsec_ secret");
        free_req(w, r);
        return -1;
    }
    /* Fishjam's own signature, on room webhooks only (their receivers use
     * the SDK's verifyWebhookSignature). */
    if (ep->room_webhook && w->room_secret &&
        (hv_webhook_fishjam_signature(w->room_secret, body, blen, fj_sig) != 0 ||
         add_header(r, "x-fishjam-signature-256: %s%s", fj_sig, ""))) {
        snprintf(err, errlen, "cannot sign the request (x-fishjam-signature-256)");
        free_req(w, r);
        return -1;
    }
    /* gzip after signing: the signature covers the JSON a receiver gets
     * once it has inflated the body (docs/webhooks.md) */
    if (ep->jb_max_events && ep->jb_gzip &&
        (hv__webhook_jsonbatch_gzip(body, blen, &r->gz, &r->gzlen) != 0 ||
         add_header(r, "Content-Encoding: gzip%s%s", "", ""))) {
        snprintf(err, errlen, "cannot compress the batch");
        free_req(w, r);
        return -1;
    }
    if (add_header(r, "Content-Type: %s%s", ctype, "") || add_header(r, "webhook-id: %s%s", msg_id, "") ||
        add_header(r, "webhook-timestamp: %s%s", ts, "") ||
        add_header(r, "webhook-signature: %s%s", sig, "") ||
        add_header(r, "Expect:%s%s", "", "")) { /* no 100-continue round trip */
        snprintf(err, errlen, "out of memory");
        free_req(w, r);
        return -1;
    }

    CURL *e = w->npool ? w->pool[--w->npool] : curl_easy_init();
    if (!e) {
        snprintf(err, errlen, "out of memory");
        free_req(w, r);
        return -1;
    }
    r->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, ep->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->gz ? r->gz : body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->gz ? r->gzlen : blen));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "herald/" HERALD_VERSION);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* the netguard must see the real destination */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, w->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    if (curl_multi_add_handle(w->multi, e) != CURLM_OK) {
        snprintf(err, errlen, "cannot start the request");
        free_req(w, r);
        return -1;
    }
    hv_list_push(&w->reqs, &r->link);
    return 0;
}

/* A transfer finished: build the result, give the handle back, report. */
static void finish(hv_webhooks *w, wh_req *r, CURLcode code)
{
    long status = 0;
    curl_off_t retry_after = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &retry_after);
    char error[256];
    wh_result res = {
        .transport_ok = code == CURLE_OK,
        .status = status,
        .time_ms = r->started_ms,
        .latency_ms = (int)((uv_hrtime() - r->t0_ns) / 1000000),
        .retry_after_ms = retry_after > 0 ? (int64_t)retry_after * 1000 : -1,
    };
    if (code != CURLE_OK) {
        if (r->refused[0])
            snprintf(error, sizeof(error), "destination address not allowed: %s", r->refused);
        else
            snprintf(error, sizeof(error), "%s", curl_easy_strerror(code));
        res.error = error;
    }
    if (r->resp && r->resp_len) {
        hv_wh_excerpt_clean(r->resp, r->resp_len);
        res.response = r->resp;
    }
    hv__webhook_attempt_done(w, r->items, r->nitems, &res);
    free_req(w, r);
}

static void check_done(hv_webhooks *w)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(w->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode code = m->data.result;
        char *priv = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        if (priv)
            finish(w, (wh_req *)priv, code);
    }
    hv__webhook_pump(w);
}

void hv__webhook_http_shutdown(hv_webhooks *w)
{
    w->closing = 1;
    while (!hv_list_empty(&w->reqs)) {
        wh_req *r = hv_container_of(w->reqs.next, wh_req, link);
        for (size_t i = 0; i < r->nitems; i++)
            r->items[i]->in_flight = 0;
        free_req(w, r);
    }
    for (size_t i = 0; i < w->npool; i++)
        curl_easy_cleanup(w->pool[i]);
    w->npool = 0;
    if (w->multi)
        curl_multi_cleanup(w->multi); /* may report sockets to remove */
    w->multi = NULL;
    while (!hv_list_empty(&w->socks))
        close_sock(hv_container_of(w->socks.next, wh_sock, link));
    uv_close((uv_handle_t *)&w->curl_timer, NULL);
}
