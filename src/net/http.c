/* SPDX-License-Identifier: MIT */
/* http.c — HTTP/1.1 requests on a connection; see http.h.
 *
 * The request head (URL, header names and values) is gathered into one
 * growing buffer as http-parser hands out pieces, so a head split across
 * reads costs no per-header allocation. When a message completes the
 * parser is paused, any bytes that followed it are kept aside (pipelining,
 * or WebSocket frames right after an upgrade), and the request handler
 * main.c installed (srv->net.request: the router) is called.
 * Reading resumes when the response has been queued, unless the replies
 * not yet taken by the client are past --outbound-pause (conn.c): then
 * the next pipelined request waits until they drain.
 */
#include "net/http.h"

#include <ctype.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "net/http_body.h"
#include "net/server.h"

enum { ST_IDLE, ST_READING, ST_HANDLING };

typedef struct hv_http {
    http_parser parser;
    hv_http_req req;
    char *head;                 /* URL \0 name \0 value \0 ... */
    size_t head_len, head_cap;
    uint32_t url_end;
    uint32_t name_off[HV_HTTP_MAX_HEADERS], value_off[HV_HTTP_MAX_HEADERS];
    int nheaders, in_value;
    char *body;
    size_t body_len, body_cap;
    char *pending;              /* bytes after the current request: [pending_off, pending_len) */
    size_t pending_len, pending_off;
    char *path;
    int state, error, in_dispatch, gzip;
    int eof; /* the client's end was read while a request was in hand */
} hv_http;

static void http_data(hv_conn *c, const char *data, size_t len);
static void http_eof(hv_conn *c, int status);
static void http_timeout(hv_conn *c, int64_t now);
static void http_close(hv_conn *c);
static void http_shutdown(hv_conn *c);
static void process_pending(hv_conn *c);

static const hv_conn_ops http_ops = {
    .on_data = http_data, .on_eof = http_eof, .on_timeout = http_timeout,
    .on_drained = process_pending, .on_close = http_close, .on_shutdown = http_shutdown};

static const hv_config *cfg_of(hv_conn *c)
{
    return &c->loop->srv->cfg;
}

static int64_t after_s(hv_conn *c, double s)
{
    return (int64_t)uv_now(&c->loop->uv) + (int64_t)(s * 1000);
}

/* ---- head buffer -------------------------------------------------------- */

static int head_append(hv_http *h, const char *p, size_t n, size_t limit)
{
    if (h->head_len + n + 1 > limit)
        return -1;
    if (h->head_len + n + 1 > h->head_cap) {
        size_t cap = h->head_cap ? h->head_cap : 512;
        while (cap < h->head_len + n + 1)
            cap *= 2;
        h->head = hv_xrealloc(h->head, cap);
        h->head_cap = cap;
    }
    memcpy(h->head + h->head_len, p, n);
    h->head_len += n;
    return 0;
}

static int head_terminate(hv_http *h, size_t limit)
{
    return head_append(h, "", 1, limit + 1);
}

/* ---- parser callbacks --------------------------------------------------- */

#define H(p) ((hv_http *)((hv_conn *)(p)->data)->proto)
#define C(p) ((hv_conn *)(p)->data)

static int cb_message_begin(http_parser *p)
{
    hv_http *h = H(p);
    h->state = ST_READING;
    C(p)->deadline = after_s(C(p), cfg_of(C(p))->header_timeout_s);
    return 0;
}

static int too_big_head(hv_http *h)
{
    h->error = 431;
    return 1;
}

static int cb_url(http_parser *p, const char *at, size_t n)
{
    hv_http *h = H(p);
    return head_append(h, at, n, cfg_of(C(p))->max_header) ? too_big_head(h) : 0;
}

static int cb_header_field(http_parser *p, const char *at, size_t n)
{
    hv_http *h = H(p);
    size_t lim = cfg_of(C(p))->max_header;
    if (h->nheaders == 0 && !h->in_value && h->url_end == 0) {
        if (head_terminate(h, lim))
            return too_big_head(h);
        h->url_end = (uint32_t)h->head_len;
    }
    if (h->in_value || h->nheaders == 0) {
        if (h->nheaders > 0 && head_terminate(h, lim))
            return too_big_head(h);
        if (h->nheaders == HV_HTTP_MAX_HEADERS)
            return too_big_head(h);
        h->name_off[h->nheaders++] = (uint32_t)h->head_len;
        h->in_value = 0;
    }
    return head_append(h, at, n, lim) ? too_big_head(h) : 0;
}

static int cb_header_value(http_parser *p, const char *at, size_t n)
{
    hv_http *h = H(p);
    size_t lim = cfg_of(C(p))->max_header;
    if (!h->in_value) {
        if (head_terminate(h, lim))
            return too_big_head(h);
        h->value_off[h->nheaders - 1] = (uint32_t)h->head_len;
        h->in_value = 1;
    }
    return head_append(h, at, n, lim) ? too_big_head(h) : 0;
}

static void resolve_head(hv_http *h)
{
    hv_http_req *r = &h->req;
    if (h->url_end == 0) { /* no headers at all */
        head_terminate(h, (size_t)-2);
        h->url_end = (uint32_t)h->head_len;
    } else if (h->nheaders > 0) {
        head_terminate(h, (size_t)-2);
        if (!h->in_value) /* a name with no value */
            h->value_off[h->nheaders - 1] = (uint32_t)h->head_len - 1;
    }
    r->nheaders = h->nheaders;
    for (int i = 0; i < h->nheaders; i++) {
        char *name = h->head + h->name_off[i];
        for (char *q = name; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        r->headers[i].name = name;
        r->headers[i].value = h->head + h->value_off[i];
    }
}

size_t hv_http_normalize_path(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '/' && o > 0 && out[o - 1] == '/')
            continue; /* collapse "//" (the Fishjam SDK sends "//room") */
        out[o++] = in[i];
    }
    if (o > 1 && out[o - 1] == '/')
        o--;
    if (o == 0)
        out[o++] = '/';
    out[o] = 0;
    return o;
}

/* Splits the URL into a normalised path and a query string. */
static void split_url(hv_http *h)
{
    const char *url = h->head;
    const char *q = strchr(url, '?');
    size_t plen = q ? (size_t)(q - url) : strlen(url);
    free(h->path);
    h->path = hv_xmalloc(plen + 2);
    hv_http_normalize_path(url, plen, h->path);
    h->req.path = h->path;
    h->req.query = q ? q + 1 : "";
}

static int cb_headers_complete(http_parser *p)
{
    hv_http *h = H(p);
    hv_conn *c = C(p);
    const hv_config *cfg = cfg_of(c);
    resolve_head(h);
    split_url(h);
    h->req.method = p->method;
    h->req.method_name = http_method_str(p->method);
    h->req.keep_alive = http_should_keep_alive(p);
    h->req.upgrade = p->upgrade;
    const char *ce = hv_http_header_get(&h->req, "content-encoding");
    if (ce && strcasecmp(ce, "identity") != 0) {
        if (strcasecmp(ce, "gzip") != 0) {
            h->error = 415;
            return -1; /* any value but 0, 1, 2 stops http-parser with an error */
        }
        h->gzip = 1;
    }
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > cfg->max_body) {
        h->error = 413;
        return -1;
    }
    const char *expect = hv_http_header_get(&h->req, "expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && p->http_minor >= 1) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        hv_conn_send_copy(c, cont, sizeof(cont) - 1);
        hv_loop_flush(c->loop);
    }
    c->deadline = after_s(c, cfg->idle_timeout_s);
    return 0;
}

static int cb_body(http_parser *p, const char *at, size_t n)
{
    hv_http *h = H(p);
    size_t max = cfg_of(C(p))->max_body;
    if (h->body_len + n > max) {
        h->error = 413;
        return 1;
    }
    if (h->body_len + n + 1 > h->body_cap) {
        size_t cap = h->body_cap ? h->body_cap : 1024;
        while (cap < h->body_len + n + 1)
            cap *= 2;
        h->body = hv_xrealloc(h->body, cap);
        h->body_cap = cap;
    }
    memcpy(h->body + h->body_len, at, n);
    h->body_len += n;
    return 0;
}

static int cb_message_complete(http_parser *p)
{
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = cb_message_begin,
    .on_url = cb_url,
    .on_header_field = cb_header_field,
    .on_header_value = cb_header_value,
    .on_headers_complete = cb_headers_complete,
    .on_body = cb_body,
    .on_message_complete = cb_message_complete,
};

/* ---- request cycle ------------------------------------------------------ */

static void reset_request(hv_http *h)
{
    h->head_len = 0;
    h->url_end = 0;
    h->nheaders = 0;
    h->in_value = 0;
    h->body_len = 0;
    h->gzip = 0;
    h->error = 0;
    if (h->body_cap > 64 * 1024) { /* do not keep big buffers on idle conns */
        free(h->body);
        h->body = NULL;
        h->body_cap = 0;
    }
    memset(&h->req, 0, sizeof(h->req));
}

static void drop_pending(hv_http *h)
{
    free(h->pending);
    h->pending = NULL;
    h->pending_len = h->pending_off = 0;
}

static void stash(hv_http *h, const char *data, size_t len)
{
    if (len == 0)
        return;
    if (h->pending_off > 0) { /* keep only the unparsed bytes */
        memmove(h->pending, h->pending + h->pending_off, h->pending_len - h->pending_off);
        h->pending_len -= h->pending_off;
        h->pending_off = 0;
    }
    char *n = hv_xrealloc(h->pending, h->pending_len + len);
    memcpy(n + h->pending_len, data, len);
    h->pending = n;
    h->pending_len += len;
}

static void dispatch(hv_conn *c)
{
    hv_http *h = c->proto;
    hv_http_req *r = &h->req;
    h->state = ST_HANDLING;
    c->deadline = 0;
    if (h->gzip) {
        char *out;
        size_t out_len;
        int e = hv_gunzip(h->body, h->body_len, cfg_of(c)->max_body, &out, &out_len);
        if (e) {
            hv_http_error(c, e, e == 413 ? "request body too large after decompression"
                                         : "request body is not valid gzip");
            return;
        }
        free(h->body);
        h->body = out;
        h->body_len = out_len;
        h->body_cap = out_len + 1;
    }
    if (!h->body) {
        h->body = hv_xmalloc(1);
        h->body_cap = 1;
    }
    h->body[h->body_len] = 0;
    r->body = h->body;
    r->body_len = h->body_len;
    atomic_fetch_add_explicit(&c->loop->srv->metrics.http_requests, 1, memory_order_relaxed);
    h->in_dispatch = 1;
    c->loop->srv->net.request(c, r); /* the router (api/), handed in by main.c */
    if (c->ops == &http_ops && !c->closing)
        h->in_dispatch = 0;
}

static void parse_error(hv_conn *c)
{
    hv_http *h = c->proto;
    int status = h->error ? h->error : 400;
    h->state = ST_HANDLING;
    h->req.keep_alive = 0;
    const char *msg = status == 413 ? "request body too large"
                    : status == 431 ? "request head too large"
                    : status == 415 ? "unsupported Content-Encoding (gzip and identity are accepted)"
                                    : "malformed HTTP request";
    if (status == 400)
        hv_debug("http parse error: %s", http_errno_description(HTTP_PARSER_ERRNO(&h->parser)));
    hv_http_error(c, status, "%s", msg);
}

/* Runs the parser over data (fresh bytes, or the unparsed pending ones,
 * which are then consumed in place: pipelined requests cost no copy each);
 * returns 1 when a request was dispatched. */
static int feed_once(hv_conn *c, const char *data, size_t len, int from_pending)
{
    hv_http *h = c->proto;
    size_t n = http_parser_execute(&h->parser, &settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
    if (from_pending)
        h->pending_off += n;
    if (e == HPE_PAUSED) {
        http_parser_pause(&h->parser, 0);
        if (!from_pending)
            stash(h, data + n, len - n);
        dispatch(c);
        return 1;
    }
    if (e != HPE_OK) {
        parse_error(c);
        return 1;
    }
    return 0;
}

/* Serves the pipelined requests already read, one at a time, no faster
 * than their replies drain: past --outbound-pause the rest waits (and the
 * socket is not read) until the connection calls on_drained. */
static void process_pending(hv_conn *c)
{
    if (c->ops != &http_ops) /* upgraded to another protocol */
        return;
    hv_http *h = c->proto;
    /* (a response that closes the connection ends the requests: the rest
     * is never parsed, nor a parser error answered again and again) */
    while (c->ops == &http_ops && !c->closing && !c->close_when_drained && h->state != ST_HANDLING &&
           h->pending_len > h->pending_off && !hv_conn_backlogged(c)) {
        feed_once(c, h->pending + h->pending_off, h->pending_len - h->pending_off, 1);
        if (c->ops == &http_ops && !c->closing && h->pending_off == h->pending_len)
            drop_pending(h);
    }
    if (c->ops == &http_ops && !c->closing && !c->close_when_drained && h->state != ST_HANDLING) {
        if (h->eof && h->pending_len <= h->pending_off) { /* every request read is answered */
            hv_conn_close_after_flush(c);
            return;
        }
        hv_conn_resume(c);
    }
}

static void http_data(hv_conn *c, const char *data, size_t len)
{
    hv_http *h = c->proto;
    if (c->close_when_drained)
        return; /* the last response is going out, then the connection closes */
    if (h->state == ST_HANDLING) {
        /* A pipelined request while one is being served: keep it, stop
         * reading until the current response is out. */
        stash(h, data, len);
        hv_conn_pause(c);
        return;
    }
    if (h->pending_len > h->pending_off) { /* older bytes first (not expected: reading waits for them) */
        stash(h, data, len);
        process_pending(c);
        return;
    }
    if (feed_once(c, data, len, 0))
        process_pending(c);
}

static void http_eof(hv_conn *c, int status)
{
    (void)status;
    hv_http *h = c->proto;
    if (h->state == ST_HANDLING) { /* answer the request in hand, then close */
        h->eof = 1;
        hv_debug("http: the client closed its end while its request is in hand: "
                 "answering it, then closing");
        return;
    }
    hv_conn_close(c);
}

static void http_timeout(hv_conn *c, int64_t now)
{
    (void)now;
    hv_http *h = c->proto;
    if (h->state == ST_READING) {
        h->state = ST_HANDLING;
        h->req.keep_alive = 0;
        hv_http_error(c, 408, "request not received in time");
    } else if (h->state == ST_IDLE) {
        hv_conn_close(c);
    }
}

static void http_free(hv_http *h)
{
    free(h->head);
    free(h->body);
    free(h->pending);
    free(h->path);
    free(h);
}

static void http_close(hv_conn *c)
{
    http_free(c->proto);
    c->proto = NULL;
}

static void http_shutdown(hv_conn *c)
{
    hv_http *h = c->proto;
    if (!h)
        return;
    if (h->state == ST_HANDLING)
        h->req.keep_alive = 0; /* close once the response is out */
    else
        hv_conn_close(c);
}

void hv_http_attach(hv_conn *c)
{
    hv_http *h = hv_xcalloc(1, sizeof(*h));
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = c;
    c->proto = h;
    c->ops = &http_ops;
    c->deadline = after_s(c, cfg_of(c)->header_timeout_s);
}

hv_http_req *hv_http_request(hv_conn *c)
{
    return &((hv_http *)c->proto)->req;
}

char *hv_http_detach(hv_conn *c, size_t *len)
{
    hv_http *h = c->proto;
    char *rest = NULL;
    *len = h->pending_len - h->pending_off;
    if (*len > 0) {
        memmove(h->pending, h->pending + h->pending_off, *len);
        rest = h->pending;
        h->pending = NULL;
    }
    http_free(h);
    c->proto = NULL;
    c->ops = NULL;
    c->deadline = 0;
    return rest;
}

/* ---- responses ------------------------------------------------------------ */

void hv_http_respond(hv_conn *c, int status, const char *content_type,
                     const char *extra_headers, const void *body, size_t len)
{
    hv_http *h = c->proto;
    if (!h || h->state != ST_HANDLING) /* e.g. the conn closed meanwhile */
        return;
    if (status >= 400)
        atomic_fetch_add_explicit(&c->loop->srv->metrics.http_errors, 1, memory_order_relaxed);
    if (hv_conn_over_limit(c)) { /* cannot happen while back-pressure holds; never queue past it */
        atomic_fetch_add_explicit(&c->loop->srv->metrics.slow_consumers, 1, memory_order_relaxed);
        hv_warn("http: closing a client with %zu unsent bytes (--max-outbound)", c->qbytes);
        hv_conn_drop_queued(c);
        hv_conn_close(c);
        return;
    }
    int keep = h->req.keep_alive && !c->loop->stopping;
    /* A HEAD reply has the GET's headers (its Content-Length included)
     * and no body: a body here would be read as the next response. So has
     * a 304 (RFC 9110 15.4.5: its Content-Length, if any, is the 200's). */
    size_t body_len = h->req.method == HTTP_HEAD || status == 304 ? 0 : len;
    char head[1024]; /* the console's answers carry a long CSP (api/console.c) */
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s%s%s%s%s",
                     status, hv_http_status_text(status), len,
                     content_type ? "Content-Type: " : "", content_type ? content_type : "",
                     content_type ? "\r\n" : "", keep ? "" : "Connection: close\r\n",
                     extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof(head)) { /* only constant headers come here: never a cut head */
        static const char e500[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                                   "Connection: close\r\n";
        n = (int)sizeof(e500) - 1;
        memcpy(head, e500, sizeof(e500));
        body_len = 0;
        keep = 0;
    }
    hv_sbuf *b = hv_sbuf_new((size_t)n + 2 + body_len);
    memcpy(b->data, head, (size_t)n);
    memcpy(b->data + n, "\r\n", 2);
    if (body_len)
        memcpy(b->data + n + 2, body, body_len);
    hv_conn_send_ref(c, b, 0, b->len);
    hv_sbuf_unref(b);
    reset_request(h);
    h->state = ST_IDLE;
    c->deadline = after_s(c, cfg_of(c)->idle_timeout_s);
    if (!keep) {
        hv_conn_close_after_flush(c);
        return;
    }
    if (!h->in_dispatch)
        process_pending(c);
}

void hv_http_respond_json(hv_conn *c, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s) {
        hv_http_respond(c, 500, "application/json", NULL, "{\"errors\":\"internal error\"}", 27);
        return;
    }
    hv_http_respond(c, status, "application/json", NULL, s, strlen(s));
    free(s);
}

void hv_http_error(hv_conn *c, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hv_http_respond_json(c, status, json_pack("{s:s}", "errors", msg));
}

/* ---- request helpers ----------------------------------------------------- */

const char *hv_http_header_get(const hv_http_req *r, const char *lname)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, lname) == 0)
            return r->headers[i].value;
    return NULL;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int hv_http_query(const hv_http_req *r, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = r->query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) >= nlen && !strncmp(p, name, nlen) && (p[nlen] == '=' || p + nlen == end)) {
            const char *v = p + nlen + (p[nlen] == '=');
            size_t o = 0;
            for (; v < end; v++) {
                int ch = (unsigned char)*v;
                if (ch == '+')
                    ch = ' ';
                else if (ch == '%' && end - v >= 3 && hexval((unsigned char)v[1]) >= 0 &&
                         hexval((unsigned char)v[2]) >= 0) {
                    ch = hexval((unsigned char)v[1]) * 16 + hexval((unsigned char)v[2]);
                    v += 2;
                }
                if (o + 1 >= outlen) {
                    /* Too long: out is "", never a truncated value that a
                     * caller ignoring -1 would take for the real one. */
                    if (outlen)
                        out[0] = 0;
                    return -1;
                }
                out[o++] = (char)ch;
            }
            if (outlen == 0)
                return -1;
            out[o] = 0;
            return 1;
        }
        p = amp ? amp + 1 : NULL;
    }
    return 0;
}

const char *hv_http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}
