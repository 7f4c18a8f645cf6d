/* SPDX-License-Identifier: MIT */
/* http.c — the one HTTP request every REST call of the client library
 * makes (rest.c: publish and history; rooms.c: the room API).
 *
 * Each call is one synchronous libcurl easy transfer (its own handle, so
 * calls from several threads do not share state) with
 * "Authorization: Bearer <token>". An answer of 4xx/5xx becomes
 * HERALD_EHTTP with the server's {"errors": …} text in the caller's error
 * buffer, and the status is handed back so that callers can tell a 404
 * from a 400.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "client_internal.h"

#define MAX_RESPONSE (64u * 1024 * 1024)
#define CONNECT_TIMEOUT_MS 10000L
#define TOTAL_TIMEOUT_MS 120000L

typedef struct buffer {
    char *data;
    size_t len, cap;
    int too_big;
} buffer;

static uv_once_t curl_once = UV_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buffer *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n + 1 > MAX_RESPONSE) {
        b->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Puts the server's error message (or the body) in errbuf. */
static int http_error(long status, const buffer *b, char *errbuf, size_t errlen)
{
    json_t *root = b->data ? json_loadb(b->data, b->len, 0, NULL) : NULL;
    json_t *errors = json_object_get(root, "errors");
    if (json_is_string(errors)) {
        herald__fail(HERALD_EHTTP, errbuf, errlen, "%s (HTTP %ld)", json_string_value(errors),
                     status);
    } else if (errors) {
        char *text = json_dumps(errors, JSON_COMPACT | JSON_ENCODE_ANY);
        herald__fail(HERALD_EHTTP, errbuf, errlen, "%s (HTTP %ld)", text ? text : "error",
                     status);
        free(text);
    } else if (b->len > 0) {
        herald__fail(HERALD_EHTTP, errbuf, errlen, "HTTP %ld: %.200s", status, b->data);
    } else {
        herald__fail(HERALD_EHTTP, errbuf, errlen, "HTTP %ld", status);
    }
    json_decref(root);
    return HERALD_EHTTP;
}

int herald__http(const char *method, const char *url, const char *token, const char *body,
                 size_t body_len, char **out, size_t *out_len, int *status, char *errbuf,
                 size_t errlen)
{
    return herald__http_ex(method, url, token, body, body_len, NULL, NULL, out, out_len, status,
                           errbuf, errlen);
}

/* Sets *(int *)arg when the answer carries Idempotent-Replayed: true. */
static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    static const char name[] = "idempotent-replayed:";
    size_t len = size * n, k = sizeof(name) - 1;
    if (len > k && !strncasecmp(line, name, k)) {
        const char *v = line + k;
        while (v < line + len && (*v == ' ' || *v == '\t'))
            v++;
        if ((size_t)(line + len - v) >= 4 && !strncasecmp(v, "true", 4))
            *(int *)arg = 1;
    }
    return len;
}

int herald__http_ex(const char *method, const char *url, const char *token, const char *body,
                    size_t body_len, const char *extra_header, int *replayed, char **out,
                    size_t *out_len, int *status, char *errbuf, size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    buffer b = {0};
    int is_post = !strcmp(method, "POST");
    if (status)
        *status = 0;
    uv_once(&curl_once, curl_init_once);

    CURL *c = curl_easy_init();
    if (!c)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "cannot create a curl handle");
    size_t alen = strlen(token ? token : HERALD_DEFAULT_TOKEN) + 32;
    char *auth = malloc(alen);
    struct curl_slist *headers = NULL, *h;
    int rc = HERALD_ENOMEM;
    if (!auth)
        goto out;
    snprintf(auth, alen, "Authorization: Bearer %s", token ? token : HERALD_DEFAULT_TOKEN);
    const char *lines[] = {auth, "Accept: application/json",
                           body ? "Content-Type: application/json" : NULL, "Expect:", extra_header};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!lines[i])
            continue;
        if (!(h = curl_slist_append(headers, lines[i])))
            goto out;
        headers = h;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "herald-client/0.1");
    if (replayed) {
        *replayed = 0;
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, replayed);
    }
    if (is_post || body) { /* a PATCH sends its body the same way */
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
    }
    if (!is_post && strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        if (b.too_big)
            rc = herald__fail(HERALD_EPROTO, errbuf, errlen, "answer larger than %u bytes",
                              MAX_RESPONSE);
        else
            rc = herald__fail(HERALD_ENET, errbuf, errlen, "%s: %s", url,
                              curl_err[0] ? curl_err : curl_easy_strerror(cc));
        goto out;
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (status)
        *status = (int)code;
    if (code < 200 || code > 299) {
        rc = http_error(code, &b, errbuf, errlen);
        goto out;
    }
    if (!b.data && !(b.data = calloc(1, 1)))
        goto out;
    if (out) {
        *out = b.data;
        if (out_len)
            *out_len = b.len;
        b.data = NULL;
    }
    rc = 0;
out:
    if (rc == HERALD_ENOMEM)
        herald__fail(rc, errbuf, errlen, "out of memory");
    free(b.data);
    free(auth);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return rc;
}

char *herald__api_url(const char *server, const char *path, int *rc, char *errbuf,
                      size_t errlen)
{
    herald_url u;
    *rc = herald__url_parse(server, &u, errbuf, errlen);
    if (*rc != 0)
        return NULL;
    size_t len = strlen(u.base) + strlen(path) + 1;
    char *url = malloc(len);
    if (url)
        snprintf(url, len, "%s%s", u.base, path);
    else
        *rc = herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    herald__url_clear(&u);
    return url;
}

/* RFC 3986 unreserved characters stay, everything else becomes %XX, as
 * curl_easy_escape and encodeURIComponent (but for !'()*) do. */
char *herald__escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(s);
    char *out = malloc(len * 3 + 1), *p = out;
    if (!out)
        return NULL;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '.' || *c == '_' || *c == '~') {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return out;
}
