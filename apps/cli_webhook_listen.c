/* SPDX-License-Identifier: MIT */
/* cli_webhook_listen.c — `herald-cli webhook-listen`: a small local
 * webhook receiver for development. It accepts POSTs on host:port
 * (libuv TCP, requests parsed by http-parser), checks each with
 * herald_webhook_verify against the secret, answers 204 when the
 * signature holds and 401 {"errors":"<why>"} when it does not, and
 * prints one JSON line per request on stdout:
 *
 *   {"webhook_id":"msg_…","webhook_timestamp":"…","verified":true,
 *    "status":204,"content_type":"application/json","body":{…}}
 *
 * with "error" (the reason) when not verified. JSON bodies are printed as
 * JSON (a Jellyfish {"notification": …} body also as "decoded"),
 * protobuf bodies decoded by herald_receive_binary (its JSON rendering),
 * anything else as "body_text" or "body_base64"; a gzip body (a batch)
 * is inflated first ("content_encoding":"gzip"). Other methods get 405,
 * requests that do not parse 400, bodies over 16 MiB 413. The bound
 * address goes to stderr ("listening on http://127.0.0.1:PORT"; --port 0
 * picks a free port). SIGINT/SIGTERM stop it with exit status 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <openssl/evp.h>
#include <uv.h>

#include "cli.h"

#define MAX_HEADERS 64
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_BODY (16u * 1024 * 1024)

typedef struct listener {
    uv_loop_t loop;
    uv_tcp_t server;
    uv_signal_t sigint, sigterm;
    const char *secret;
    herald_webhook_verify_options opts;
} listener;

typedef struct conn {
    uv_tcp_t tcp;
    listener *l;
    http_parser parser;
    char *name[MAX_HEADERS], *value[MAX_HEADERS];
    size_t nhdr, header_bytes;
    int in_value;       /* the last header callback was a value */
    char *body;
    size_t body_len;
    int reject;         /* HTTP status to answer instead (413, 431) */
    int closing;
} conn;

typedef struct out_req {
    uv_write_t req;
    char *data;
    int close_after;
} out_req;

/* ---- request state ---- */

static void clear_request(conn *c)
{
    for (size_t i = 0; i < c->nhdr; i++) {
        free(c->name[i]);
        free(c->value[i]);
    }
    c->nhdr = 0;
    c->header_bytes = 0;
    c->in_value = 0;
    free(c->body);
    c->body = NULL;
    c->body_len = 0;
    c->reject = 0;
}

/* Appends at..len to *s (a NUL-terminated malloc'd string). */
static int append(char **s, const char *at, size_t len)
{
    size_t old = *s ? strlen(*s) : 0;
    char *p = realloc(*s, old + len + 1);
    if (!p)
        return -1;
    memcpy(p + old, at, len);
    p[old + len] = '\0';
    *s = p;
    return 0;
}

static int on_message_begin(http_parser *p)
{
    clear_request(p->data);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    conn *c = p->data;
    if ((c->header_bytes += len) > MAX_HEADER_BYTES)
        c->reject = 431;
    if (c->reject)
        return 0;
    if (c->in_value || c->nhdr == 0) {
        if (c->nhdr == MAX_HEADERS) {
            c->reject = 431;
            return 0;
        }
        c->name[c->nhdr] = NULL;
        c->value[c->nhdr] = NULL;
        c->nhdr++;
        c->in_value = 0;
    }
    return append(&c->name[c->nhdr - 1], at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    conn *c = p->data;
    if ((c->header_bytes += len) > MAX_HEADER_BYTES)
        c->reject = 431;
    if (c->reject || c->nhdr == 0)
        return 0;
    c->in_value = 1;
    return append(&c->value[c->nhdr - 1], at, len);
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    conn *c = p->data;
    if (c->reject)
        return 0;
    if (c->body_len + len > MAX_BODY) {
        c->reject = 413;
        return 0;
    }
    char *b = realloc(c->body, c->body_len + len + 1);
    if (!b)
        return -1;
    memcpy(b + c->body_len, at, len);
    c->body = b;
    c->body_len += len;
    c->body[c->body_len] = '\0';
    return 0;
}

static const char *header(const conn *c, const char *name)
{
    for (size_t i = 0; i < c->nhdr; i++)
        if (c->name[i] && !strcasecmp(c->name[i], name))
            return c->value[i] ? c->value[i] : "";
    return NULL;
}

/* ---- answering ---- */

static void on_closed(uv_handle_t *h)
{
    conn *c = h->data;
    clear_request(c);
    free(c);
}

static void close_conn(conn *c)
{
    if (!c->closing) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
    }
}

static void on_written(uv_write_t *req, int status)
{
    out_req *o = (out_req *)req;
    conn *c = req->handle->data;
    if (status < 0 || o->close_after)
        close_conn(c);
    free(o->data);
    free(o);
}

static void respond(conn *c, int status, const char *reason, const char *json, int close_after)
{
    if (c->closing)
        return;
    size_t blen = json ? strlen(json) : 0;
    size_t cap = blen + 256;
    out_req *o = calloc(1, sizeof(*o));
    char *buf = o ? malloc(cap) : NULL;
    if (!buf) {
        free(o);
        close_conn(c);
        return;
    }
    int n = snprintf(buf, cap, "HTTP/1.1 %d %s\r\n%s%s%s", status, reason,
                     json ? "Content-Type: application/json\r\n" : "",
                     close_after ? "Connection: close\r\n" : "", "Content-Length: ");
    n += snprintf(buf + n, cap - (size_t)n, "%zu\r\n\r\n", blen);
    if (blen)
        memcpy(buf + n, json, blen);
    o->data = buf;
    o->close_after = close_after;
    uv_buf_t b = uv_buf_init(buf, (unsigned)((size_t)n + blen));
    if (uv_write(&o->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(buf);
        free(o);
        close_conn(c);
    }
}

static json_t *base64_of(const char *data, size_t len)
{
    char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    if (!b64)
        return NULL;
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)data, (int)len);
    json_t *s = json_string(b64);
    free(b64);
    return s;
}

/* Adds the body to line in its most readable form. */
static void add_body(json_t *line, const char *ctype, const char *body, size_t len)
{
    herald_notification n = {0};
    if (ctype && strstr(ctype, "protobuf")) {
        int rc = herald_receive_binary((const uint8_t *)body, len, &n);
        if (rc == 0) {
            json_object_set_new(line, "body", json_loads(n.json, 0, NULL));
        } else {
            json_object_set_new(line, "decode_error", json_string(herald_strerror(rc)));
            json_object_set_new(line, "body_base64", base64_of(body, len));
        }
        herald_notification_clear(&n);
        return;
    }
    json_t *v = len ? json_loadb(body, len, JSON_DECODE_ANY, NULL) : NULL;
    if (v) {
        json_object_set_new(line, "body", v);
        if (json_is_string(json_object_get(v, "notification")) &&
            herald_receive_json(body, len, &n) == 0)
            json_object_set_new(line, "decoded", json_loads(n.json, 0, NULL));
        herald_notification_clear(&n);
        return;
    }
    json_t *text = json_stringn(body ? body : "", len); /* NULL unless UTF-8 */
    json_object_set_new(line, text ? "body_text" : "body_base64",
                        text ? text : base64_of(body, len));
}

static int on_message_complete(http_parser *p)
{
    conn *c = p->data;
    int keep = http_should_keep_alive(p);
    if (c->reject) {
        respond(c, c->reject, c->reject == 413 ? "Payload Too Large"
                                               : "Request Header Fields Too Large",
                NULL, 1);
        return 0;
    }
    if (p->method != HTTP_POST) {
        respond(c, 405, "Method Not Allowed", "{\"errors\":\"only POST is accepted\"}", !keep);
        return 0;
    }
    herald_header h[MAX_HEADERS];
    for (size_t i = 0; i < c->nhdr; i++) {
        h[i].name = c->name[i] ? c->name[i] : "";
        h[i].value = c->value[i] ? c->value[i] : "";
    }
    char err[256] = "";
    int rc = herald_webhook_verify(c->l->secret, h, c->nhdr, c->body, c->body_len, &c->l->opts,
                                   err, sizeof(err));
    const char *ctype = header(c, "content-type");
    json_t *line = json_object();
    json_object_set_new(line, "webhook_id", header(c, "webhook-id")
                                                ? json_string(header(c, "webhook-id"))
                                                : json_null());
    json_object_set_new(line, "webhook_timestamp",
                        header(c, "webhook-timestamp") ? json_string(header(c, "webhook-timestamp"))
                                                       : json_null());
    json_object_set_new(line, "verified", json_boolean(rc == 0));
    if (rc != 0)
        json_object_set_new(line, "error", json_string(err));
    json_object_set_new(line, "status", json_integer(rc == 0 ? 204 : 401));
    json_object_set_new(line, "content_type", ctype ? json_string(ctype) : json_null());
    /* a gzip batch is shown (and was verified) as herald signed it, inflated */
    void *plain = NULL;
    size_t plain_len = 0;
    if (herald_webhook_inflate(h, c->nhdr, c->body, c->body_len, &plain, &plain_len, NULL, 0) == 0 && plain)
        json_object_set_new(line, "content_encoding", json_string("gzip"));
    add_body(line, ctype, plain ? plain : c->body, plain ? plain_len : c->body_len);
    free(plain);
    cli_print_json(line);
    json_decref(line);
    if (rc == 0) {
        respond(c, 204, "No Content", NULL, !keep);
    } else {
        json_t *e = json_pack("{s:s}", "errors", err);
        char *text = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        respond(c, 401, "Unauthorized", text ? text : "{}", !keep);
        free(text);
    }
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- the connection ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = s->data;
    if (nread < 0) {
        close_conn(c);
    } else if (nread > 0 && !c->closing) {
        size_t done = http_parser_execute(&c->parser, &settings, buf->base, (size_t)nread);
        if (c->parser.http_errno != HPE_OK || c->parser.upgrade || done != (size_t)nread) {
            uv_read_stop(s);
            respond(c, 400, "Bad Request", "{\"errors\":\"malformed HTTP request\"}", 1);
        }
    }
    free(buf->base);
}

static void on_connection(uv_stream_t *server, int status)
{
    listener *l = server->data;
    if (status < 0)
        return;
    conn *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->l = l;
    uv_tcp_init(&l->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        close_conn(c);
        return;
    }
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- the listener ---- */

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    if (h->type == UV_TCP && h->data && h->data != arg)
        close_conn(h->data);
    else
        uv_close(h, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    listener *l = s->data;
    uv_walk(&l->loop, close_any, l);
}

int cli_webhook_listen(const char *secret, const char *host, const char *port,
                       const char *tolerance)
{
    if (!secret)
        secret = getenv("HERALD_WEBHOOK_SECRET");
    if (!secret || !*secret)
        return cli_usage_error("%s", "webhook-listen needs --secret S (or HERALD_WEBHOOK_SECRET)");
    char sig[HERALD_WEBHOOK_SIGNATURE_SIZE], err[256] = "";
    if (herald_webhook_sign(secret, "check", 0, "", 0, sig, sizeof(sig), err, sizeof(err)) != 0)
        return cli_usage_error("--secret: %s", err);
    listener l = {0};
    l.secret = secret;
    char *end;
    if (tolerance) {
        errno = 0;
        long long t = strtoll(tolerance, &end, 10);
        if (!*tolerance || *end || errno || t <= 0)
            return cli_usage_error("--tolerance needs a positive number of seconds, got '%s'",
                                   tolerance);
        l.opts.tolerance_s = t;
    }
    long p = 0;
    if (port) {
        errno = 0;
        p = strtol(port, &end, 10);
        if (!*port || *end || errno || p < 0 || p > 65535)
            return cli_usage_error("--port needs a port number, got '%s'", port);
    }
    host = host ? host : "127.0.0.1";
    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, (int)p, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)&addr) != 0)
        return cli_usage_error("--host needs an IP address, got '%s'", host);

    uv_loop_init(&l.loop);
    uv_tcp_init(&l.loop, &l.server);
    l.server.data = &l;
    int rc = uv_tcp_bind(&l.server, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l.server, 128, on_connection);
    int status = 0;
    if (rc != 0) {
        fprintf(stderr, "herald-cli: webhook-listen: cannot listen on %s:%ld: %s\n", host, p,
                uv_strerror(rc));
        status = 1;
        uv_close((uv_handle_t *)&l.server, NULL);
    } else {
        struct sockaddr_storage bound;
        int blen = sizeof(bound);
        char ip[64] = "";
        uv_tcp_getsockname(&l.server, (struct sockaddr *)&bound, &blen);
        int is6 = bound.ss_family == AF_INET6;
        int bport = is6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                        : ntohs(((struct sockaddr_in *)&bound)->sin_port);
        if (is6)
            uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof(ip));
        else
            uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof(ip));
        fprintf(stderr, "listening on http://%s%s%s:%d\n", is6 ? "[" : "", ip, is6 ? "]" : "",
                bport);
        fflush(stderr);
        uv_signal_init(&l.loop, &l.sigint);
        uv_signal_init(&l.loop, &l.sigterm);
        l.sigint.data = l.sigterm.data = &l;
        uv_signal_start(&l.sigint, on_signal, SIGINT);
        uv_signal_start(&l.sigterm, on_signal, SIGTERM);
    }
    uv_run(&l.loop, UV_RUN_DEFAULT);
    uv_loop_close(&l.loop);
    return status;
}
