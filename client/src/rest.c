/* rest.c — the REST calls of the client library: publish and history.
 *
 * Each call is one synchronous libcurl easy transfer (its own handle, so
 * calls from several threads do not share state) with
 * "Authorization: Bearer <token>". Bodies are built and answers read with
 * jansson. An answer of 4xx/5xx becomes HERALD_EHTTP with the server's
 * {"errors": …} text in the caller's error buffer.
 *
 *   herald_publish       POST /v1/events  {"type","room_id"?,"user_id"?,"data"?}
 *   herald_publish_json  POST /v1/events  caller's body (object or array)
 *   herald_history       GET  /v1/events?since=&limit=&room_id=&user_id=&type=
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

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

/* One request. body NULL means GET. On 2xx returns 0 with the answer in
 * *out (malloc'd, NUL-terminated, never NULL). */
static int request(const char *url, const char *token, const char *body, size_t body_len,
                   char **out, size_t *out_len, char *errbuf, size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    buffer b = {0};
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
                           body ? "Content-Type: application/json" : NULL, "Expect:"};
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
    if (body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
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
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        rc = http_error(status, &b, errbuf, errlen);
        goto out;
    }
    if (!b.data && !(b.data = calloc(1, 1)))
        goto out;
    *out = b.data;
    *out_len = b.len;
    b.data = NULL;
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

/* "<base>/v1/events" */
static char *events_url(const char *server, char *errbuf, size_t errlen, int *rc)
{
    herald_url u;
    *rc = herald__url_parse(server, &u, errbuf, errlen);
    if (*rc != 0)
        return NULL;
    size_t len = strlen(u.base) + 16;
    char *url = malloc(len);
    if (url)
        snprintf(url, len, "%s/v1/events", u.base);
    else
        *rc = herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    herald__url_clear(&u);
    return url;
}

static int parse_id(json_t *v, uint64_t *id)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *id = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || *s == '-')
        return -1;
    *id = (uint64_t)x;
    return 0;
}

void herald_publish_result_clear(herald_publish_result *r)
{
    if (!r)
        return;
    free(r->ids);
    free(r->response);
    memset(r, 0, sizeof(*r));
}

int herald_publish_json(const char *server, const char *token, const char *body, size_t len,
                        herald_publish_result *out, char *errbuf, size_t errlen)
{
    int rc;
    char *answer = NULL;
    size_t answer_len = 0;
    if (out)
        memset(out, 0, sizeof(*out));
    if (!body)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "no body to publish");
    char *url = events_url(server, errbuf, errlen, &rc);
    if (!url)
        return rc;
    rc = request(url, token, body, len, &answer, &answer_len, errbuf, errlen);
    free(url);
    if (rc != 0)
        return rc;

    json_t *root = json_loadb(answer, answer_len, 0, NULL);
    json_t *ids = json_object_get(root, "ids");
    uint64_t *list = NULL;
    size_t n = json_array_size(ids);
    if (!json_is_array(ids)) {
        rc = herald__fail(HERALD_EPROTO, errbuf, errlen, "answer without \"ids\": %.200s",
                          answer);
        goto done;
    }
    list = calloc(n ? n : 1, sizeof(*list));
    if (!list) {
        rc = herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (parse_id(json_array_get(ids, i), &list[i]) != 0) {
            rc = herald__fail(HERALD_EPROTO, errbuf, errlen, "bad id in answer: %.200s", answer);
            goto done;
        }
    }
    if (out) {
        out->ids = list;
        out->count = n;
        out->response = answer;
        list = NULL;
        answer = NULL;
    }
done:
    json_decref(root);
    free(list);
    free(answer);
    return rc;
}

int herald_publish(const char *server, const char *token, const char *type, const char *room_id,
                   const char *user_id, const char *data_json, uint64_t *id, char *errbuf,
                   size_t errlen)
{
    if (!type || !*type)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "an event needs a type");
    json_t *ev = json_pack("{s:s}", "type", type);
    if (!ev)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "type is not valid UTF-8");
    int rc = 0;
    if (data_json) {
        json_error_t jerr;
        json_t *data = json_loads(data_json, 0, &jerr);
        if (!json_is_object(data)) {
            rc = data ? herald__fail(HERALD_EINVAL, errbuf, errlen, "data must be a JSON object")
                      : herald__fail(HERALD_EINVAL, errbuf, errlen, "data is not valid JSON: %s",
                                     jerr.text);
            json_decref(data);
            json_decref(ev);
            return rc;
        }
        json_object_set_new(ev, "data", data);
    }
    if ((room_id && json_object_set_new(ev, "room_id", json_string(room_id)) != 0) ||
        (user_id && json_object_set_new(ev, "user_id", json_string(user_id)) != 0)) {
        json_decref(ev);
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "room or user id is not valid UTF-8");
    }
    char *body = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (!body)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    herald_publish_result res;
    rc = herald_publish_json(server, token, body, strlen(body), &res, errbuf, errlen);
    free(body);
    if (rc == 0) {
        if (res.count != 1)
            rc = herald__fail(HERALD_EPROTO, errbuf, errlen, "expected one id, got %zu",
                              res.count);
        else if (id)
            *id = res.ids[0];
    }
    herald_publish_result_clear(&res);
    return rc;
}

/* Appends "&key=<escaped value>" to url (the first one with '?'). */
static int add_param(CURL *c, char **url, size_t *len, const char *key, const char *value)
{
    char *esc = curl_easy_escape(c, value, 0);
    if (!esc)
        return -1;
    size_t need = *len + strlen(key) + strlen(esc) + 3;
    char *p = realloc(*url, need);
    if (!p) {
        curl_free(esc);
        return -1;
    }
    *url = p;
    *len += (size_t)snprintf(p + *len, need - *len, "%c%s=%s", strchr(p, '?') ? '&' : '?', key,
                             esc);
    curl_free(esc);
    return 0;
}

int herald_history(const char *server, const char *token, const herald_history_query *q,
                   char **json_out, char *errbuf, size_t errlen)
{
    int rc;
    if (!json_out)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "json_out is NULL");
    *json_out = NULL;
    char *url = events_url(server, errbuf, errlen, &rc);
    if (!url)
        return rc;
    size_t len = strlen(url);
    if (q) {
        uv_once(&curl_once, curl_init_once);
        CURL *c = curl_easy_init();
        char num[24];
        int bad = !c;
        if (!bad && q->since) {
            snprintf(num, sizeof(num), "%" PRIu64, q->since);
            bad = add_param(c, &url, &len, "since", num);
        }
        if (!bad && q->limit) {
            snprintf(num, sizeof(num), "%u", q->limit);
            bad = add_param(c, &url, &len, "limit", num);
        }
        if (!bad && q->room_id)
            bad = add_param(c, &url, &len, "room_id", q->room_id);
        if (!bad && q->user_id)
            bad = add_param(c, &url, &len, "user_id", q->user_id);
        if (!bad && q->type)
            bad = add_param(c, &url, &len, "type", q->type);
        curl_easy_cleanup(c);
        if (bad) {
            free(url);
            return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
        }
    }
    size_t answer_len;
    rc = request(url, token, NULL, 0, json_out, &answer_len, errbuf, errlen);
    free(url);
    return rc;
}
