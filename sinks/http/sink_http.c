/* SPDX-License-Identifier: MIT */
/* sink_http.c — the "http" sink module: each batch is one POST of a JSON
 * array to an HTTP(S) backend, the way a Janus event handler feeds its
 * backend (janus-events.md §4, §6).
 *
 * Config: {"url": "https://backend.example/events",       required, http or https
 *          "format": "envelopes",   "envelopes": array of native envelopes;
 *                                   "data": array of the events' data objects
 *          "gzip": false,           Content-Encoding: gzip body (zlib)
 *          "auth": {"basic": {"user": "u", "password": "p"}} or {"bearer": "token"},
 *          "headers": {"X-Foo": "bar"},   extra request headers
 *          "timeout_ms": 10000, "connect_timeout_ms": 5000}
 *
 * Every POST carries Content-Type: application/json and the headers
 * herald-batch-first-id, herald-batch-last-id (the event ids of the first
 * and last element), herald-batch-size and herald-delivery-attempt, so a
 * receiver can drop a batch (or the events of it) that it has already
 * taken: herald delivers at least once, and resends the same batch after
 * a failure or a crash.
 *
 * The batch is complete when the backend answers 2xx. Anything else — a
 * non-2xx status (3xx included: redirects are not followed), a timeout, a
 * refused connection — fails the batch with an error saying what happened
 * ("HTTP 503 from …", "POST …: Failed to connect …"), and herald retries it
 * with back-off until it goes through. The request is a synchronous
 * curl_easy_perform on the sink's own thread, with one easy handle kept for
 * the instance's life, so the connection is reused (keep-alive). The
 * response body is kept only up to RESP_KEEP bytes (for the error message)
 * and read up to RESP_CAP bytes; past that the transfer is cut and the
 * status code decides.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "herald/sink.h"

#define RESP_KEEP 256          /* response bytes quoted in an error */
#define RESP_CAP (64 * 1024)   /* response bytes read at most */
#define MAX_HEADERS 64

enum body_format { FORMAT_ENVELOPES, FORMAT_DATA };

typedef struct http_sink {
    const herald_sink_host *host;
    CURL *curl;
    char *url;
    char *shown_url;           /* url without user:password, for messages */
    enum body_format format;
    int gzip;
    char *basic_user, *basic_password;
    char **headers;            /* "Name: value" lines sent on every request */
    size_t nheaders;
    long timeout_ms, connect_timeout_ms;
    char curl_err[CURL_ERROR_SIZE];
} http_sink;

/* What the write callback keeps of a response. */
typedef struct response {
    char keep[RESP_KEEP + 1];
    size_t kept, total;
    int capped;
} response;

/* ---- settings ---------------------------------------------------------- */

static const char *const known_keys[] = {"url", "format", "gzip", "auth", "headers",
                                         "timeout_ms", "connect_timeout_ms", NULL};

static const char *unknown_key(json_t *c)
{
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v) {
        int found = 0;
        for (size_t i = 0; known_keys[i]; i++)
            found |= !strcmp(key, known_keys[i]);
        if (!found)
            return key;
    }
    return NULL;
}

/* Checks the URL with libcurl's parser: http or https, a host; keeps a copy
 * without credentials for messages. */
static int set_url(http_sink *h, const char *url, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *shown = NULL;
    int ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             (!strcasecmp(scheme, "http") || !strcasecmp(scheme, "https")) &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0];
    if (ok) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        ok = curl_url_get(u, CURLUPART_URL, &shown, 0) == CURLUE_OK;
    }
    if (ok) {
        h->url = strdup(url);
        h->shown_url = strdup(shown);
    } else
        snprintf(err, errlen, "\"url\" must be an http:// or https:// URL with a host, not \"%s\"", url);
    curl_free(scheme);
    curl_free(host);
    curl_free(shown);
    curl_url_cleanup(u);
    return ok ? 0 : -1;
}

static int header_name_ok(const char *name)
{
    if (!*name || strlen(name) > 128)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *p)))
            return 0;
    return 1;
}

static int header_value_ok(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 && *p != '\t')
            return 0;
    return strlen(v) <= 8192;
}

/* Headers herald sets itself: a config may not replace them. */
static int header_reserved(const char *name, int has_auth)
{
    static const char *const own[] = {"content-type", "content-length", "content-encoding",
                                      "transfer-encoding", "host", "expect", NULL};
    for (size_t i = 0; own[i]; i++)
        if (!strcasecmp(name, own[i]))
            return 1;
    return !strncasecmp(name, "herald-", 7) || (has_auth && !strcasecmp(name, "authorization"));
}

static void add_header(http_sink *h, const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 3;
    char *line = malloc(len);
    snprintf(line, len, "%s: %s", name, value);
    h->headers[h->nheaders++] = line;
}

static int set_headers(http_sink *h, json_t *hs, int has_auth, char *err, size_t errlen)
{
    if (hs && (!json_is_object(hs) || json_object_size(hs) > MAX_HEADERS - 4)) {
        snprintf(err, errlen, "\"headers\" must be an object of at most %d \"Name\": \"value\" pairs",
                 MAX_HEADERS - 4);
        return -1;
    }
    const char *name;
    json_t *v;
    json_object_foreach(hs, name, v) {
        const char *value = json_string_value(v);
        if (!header_name_ok(name) || !value || !header_value_ok(value)) {
            snprintf(err, errlen, "\"headers\": bad header \"%.64s\" (a token name and a one-line string value)",
                     name);
            return -1;
        }
        if (header_reserved(name, has_auth)) {
            snprintf(err, errlen, "\"headers\": \"%.64s\" is set by the sink itself", name);
            return -1;
        }
        add_header(h, name, value);
    }
    return 0;
}

/* "auth": {"basic": {"user", "password"}} or {"bearer": "token"}. */
static int set_auth(http_sink *h, json_t *a, char *err, size_t errlen)
{
    if (!a)
        return 0;
    json_t *basic = json_object_get(a, "basic"), *bearer = json_object_get(a, "bearer");
    const char *user = json_string_value(json_object_get(basic, "user"));
    const char *pass = json_string_value(json_object_get(basic, "password"));
    const char *token = json_string_value(bearer);
    if (json_is_object(a) && json_object_size(a) == 1 && basic && json_is_object(basic) &&
        json_object_size(basic) == 2 && user && pass && !strchr(user, ':')) {
        h->basic_user = strdup(user);
        h->basic_password = strdup(pass);
        return 0;
    }
    if (json_is_object(a) && json_object_size(a) == 1 && token && *token && header_value_ok(token)) {
        size_t len = strlen(token) + 8;
        char *v = malloc(len);
        snprintf(v, len, "Bearer %s", token);
        add_header(h, "Authorization", v);
        free(v);
        return 0;
    }
    snprintf(err, errlen, "\"auth\" must be {\"basic\": {\"user\": …, \"password\": …}} (no ':' in the user) "
                          "or {\"bearer\": \"token\"}");
    return -1;
}

static int get_ms(json_t *c, const char *key, long dflt, long *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(c, key);
    *out = dflt;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3600000) {
        snprintf(err, errlen, "\"%s\" must be a number of milliseconds (1-3600000)", key);
        return -1;
    }
    *out = (long)json_integer_value(v);
    return 0;
}

static int set_options(http_sink *h, json_t *c, char *err, size_t errlen)
{
    json_t *gz = json_object_get(c, "gzip");
    const char *format = json_string_value(json_object_get(c, "format"));
    if (json_object_get(c, "format") && (!format || (strcmp(format, "envelopes") && strcmp(format, "data")))) {
        snprintf(err, errlen, "\"format\" must be \"envelopes\" or \"data\"");
        return -1;
    }
    if (gz && !json_is_boolean(gz)) {
        snprintf(err, errlen, "\"gzip\" must be true or false");
        return -1;
    }
    h->format = format && !strcmp(format, "data") ? FORMAT_DATA : FORMAT_ENVELOPES;
    h->gzip = json_is_true(gz);
    if (get_ms(c, "timeout_ms", 10000, &h->timeout_ms, err, errlen) != 0 ||
        get_ms(c, "connect_timeout_ms", 5000, &h->connect_timeout_ms, err, errlen) != 0)
        return -1;
    return 0;
}

static int parse_config(http_sink *h, const char *config_json, char *err, size_t errlen)
{
    json_error_t je;
    json_t *c = json_loads(config_json, 0, &je);
    const char *url = json_string_value(json_object_get(c, "url"));
    const char *unknown = json_is_object(c) ? unknown_key(c) : NULL;
    int rc = -1;
    json_t *auth = json_object_get(c, "auth");
    if (!json_is_object(c))
        snprintf(err, errlen, "config must be a JSON object");
    else if (unknown)
        snprintf(err, errlen, "unknown setting \"%.64s\"", unknown);
    else if (!url)
        snprintf(err, errlen, "\"url\" (the backend to POST to) is required");
    else if (set_url(h, url, err, errlen) == 0 && set_options(h, c, err, errlen) == 0 &&
             set_auth(h, auth, err, errlen) == 0 &&
             set_headers(h, json_object_get(c, "headers"), auth != NULL, err, errlen) == 0)
        rc = 0;
    json_decref(c);
    return rc;
}

/* ---- one request ------------------------------------------------------- */

/* "[a,b,c]" of the envelopes or the data objects. */
static char *batch_body(const http_sink *h, const herald_sink_batch *b, size_t *len)
{
    size_t n = 2;
    for (size_t i = 0; i < b->n; i++)
        n += (h->format == FORMAT_DATA ? b->events[i].data_len : b->events[i].envelope_len) + 1;
    char *buf = malloc(n), *p = buf;
    *p++ = '[';
    for (size_t i = 0; i < b->n; i++) {
        const herald_sink_event *e = &b->events[i];
        const char *s = h->format == FORMAT_DATA ? e->data : e->envelope;
        size_t sl = h->format == FORMAT_DATA ? e->data_len : e->envelope_len;
        if (i)
            *p++ = ',';
        memcpy(p, s, sl);
        p += sl;
    }
    *p++ = ']';
    *len = (size_t)(p - buf);
    return buf;
}

/* A gzip stream (RFC 1952) of in: zlib's deflate with a gzip wrapper. */
static char *gzip_body(const char *in, size_t inlen, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inlen > 0x7fffffffu || deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong cap = deflateBound(&z, (uLong)inlen) + 32;
    char *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)inlen;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    response *r = userp;
    size_t n = size * nmemb;
    if (r->kept < RESP_KEEP) {
        size_t take = n < RESP_KEEP - r->kept ? n : RESP_KEEP - r->kept;
        memcpy(r->keep + r->kept, data, take);
        r->kept += take;
        r->keep[r->kept] = '\0';
    }
    r->total += n;
    if (r->total > RESP_CAP) {
        r->capped = 1;
        return 0; /* cut the transfer: the status line is what counts */
    }
    return n;
}

static struct curl_slist *request_headers(const http_sink *h, const herald_sink_batch *b)
{
    char line[96];
    struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
    l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip on big batches */
    if (h->gzip)
        l = curl_slist_append(l, "Content-Encoding: gzip");
    snprintf(line, sizeof(line), "herald-batch-first-id: %llu", (unsigned long long)b->events[0].id);
    l = curl_slist_append(l, line);
    snprintf(line, sizeof(line), "herald-batch-last-id: %llu", (unsigned long long)b->events[b->n - 1].id);
    l = curl_slist_append(l, line);
    snprintf(line, sizeof(line), "herald-batch-size: %zu", b->n);
    l = curl_slist_append(l, line);
    snprintf(line, sizeof(line), "herald-delivery-attempt: %u", b->attempt);
    l = curl_slist_append(l, line);
    for (size_t i = 0; i < h->nheaders; i++)
        l = curl_slist_append(l, h->headers[i]);
    return l;
}

/* Printable excerpt of a response body for an error message. */
static void excerpt(const response *r, char *out, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < r->kept && j + 1 < len; i++) {
        unsigned char ch = (unsigned char)r->keep[i];
        out[j++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
    }
    out[j] = '\0';
    while (j > 0 && out[j - 1] == ' ')
        out[--j] = '\0';
}

/* POSTs body; 0 on a 2xx answer, else -1 with the reason in why. */
static int post(http_sink *h, const herald_sink_batch *b, const char *body, size_t len, char *why, size_t wl)
{
    response r;
    memset(&r, 0, sizeof(r));
    struct curl_slist *hdrs = request_headers(h, b);
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    h->curl_err[0] = '\0';
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && r.capped && status > 0)) {
        snprintf(why, wl, "POST %s: %s", h->shown_url, h->curl_err[0] ? h->curl_err : curl_easy_strerror(rc));
        return -1;
    }
    if (status >= 200 && status < 300)
        return 0;
    char text[RESP_KEEP + 1];
    excerpt(&r, text, sizeof(text));
    snprintf(why, wl, "HTTP %ld from %s%s%s%s", status, h->shown_url,
             status >= 300 && status < 400 ? " (redirects are not followed)" : "", text[0] ? ": " : "", text);
    return -1;
}

/* ---- the module -------------------------------------------------------- */

static void setup_curl(http_sink *h)
{
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "herald-sink-http/1");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
    if (h->basic_user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC); /* sent up front, no 401 round trip */
        curl_easy_setopt(c, CURLOPT_USERNAME, h->basic_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, h->basic_password);
    }
}

static void http_destroy(void *instance)
{
    http_sink *h = instance;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    for (size_t i = 0; i < h->nheaders; i++)
        free(h->headers[i]);
    free(h->headers);
    free(h->url);
    free(h->shown_url);
    free(h->basic_user);
    free(h->basic_password);
    free(h);
}

static void *http_create(const herald_sink_host *host, const char *config_json, char *err, size_t errlen)
{
    http_sink *h = calloc(1, sizeof(*h));
    h->host = host;
    h->headers = calloc(MAX_HEADERS, sizeof(char *));
    if (parse_config(h, config_json, err, errlen) != 0) {
        http_destroy(h);
        return NULL;
    }
    h->curl = curl_easy_init();
    if (!h->curl) {
        snprintf(err, errlen, "libcurl could not make a handle");
        http_destroy(h);
        return NULL;
    }
    setup_curl(h);
    host->log(host, HERALD_SINK_LOG_INFO, "POSTing batches of %s to %s%s", h->format == FORMAT_DATA ? "data" : "envelopes",
              h->shown_url, h->gzip ? " (gzip)" : "");
    return h;
}

static void http_deliver(void *instance, const herald_sink_batch *batch)
{
    http_sink *h = instance;
    char why[512] = "";
    size_t len = 0, zlen = 0;
    char *body = batch_body(h, batch, &len), *zbody = NULL;
    if (h->gzip && !(zbody = gzip_body(body, len, &zlen)))
        snprintf(why, sizeof(why), "gzip of a %zu-byte batch failed", len);
    else
        post(h, batch, zbody ? zbody : body, zbody ? zlen : len, why, sizeof(why));
    free(body);
    free(zbody);
    h->host->complete(h->host, batch, why[0] ? -1 : 0, why[0] ? why : NULL);
}

static const herald_sink_module http_module = {
    .struct_size = sizeof(herald_sink_module),
    .abi_version = HERALD_SINK_ABI_VERSION,
    .name = "http",
    .description = "batches POSTed as JSON arrays to an HTTP backend (Janus event-handler style)",
    .create = http_create,
    .deliver = http_deliver,
    .destroy = http_destroy,
};

HERALD_SINK_EXPORT const herald_sink_module *herald_sink_entry(void)
{
    return &http_module;
}
