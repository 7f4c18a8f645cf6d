/* SPDX-License-Identifier: MIT */
/* rest.c — the event REST calls of the client library: publish and
 * history. Each is one synchronous request (http.c); bodies are built and
 * answers read with jansson.
 *
 *   herald_publish       POST /v1/events  {"type","room_id"?,"user_id"?,"data"?}
 *   herald_publish_json  POST /v1/events  caller's body (object or array)
 *   herald_publish_json_idem  the same with an Idempotency-Key header
 *   herald_history       GET  /v1/events?since=&limit=&room_id=&user_id=&type=
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "hv_parse.h"

static int parse_id(json_t *v, uint64_t *id)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *id = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    return hv_parse_u64(json_string_value(v), id);
}

int herald__ids_take(json_t *ids, uint64_t **list, size_t *count)
{
    *list = NULL;
    *count = 0;
    if (!json_is_array(ids))
        return HERALD_EPROTO;
    size_t n = json_array_size(ids);
    uint64_t *l = calloc(n ? n : 1, sizeof(*l));
    if (!l)
        return HERALD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (parse_id(json_array_get(ids, i), &l[i]) != 0) {
            free(l);
            return HERALD_EPROTO;
        }
    }
    *list = l;
    *count = n;
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
    return herald_publish_json_idem(server, token, body, len, NULL, out, NULL, errbuf, errlen);
}

/* The server's rule (1 to 255 printable ASCII characters, no spaces),
 * checked here too so a key cannot smuggle a header line in. */
static int key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return 0;
    for (const char *p = k; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return 0;
    return 1;
}

int herald_publish_json_idem(const char *server, const char *token, const char *body, size_t len,
                             const char *idempotency_key, herald_publish_result *out,
                             int *replayed, char *errbuf, size_t errlen)
{
    int rc;
    char header[300] = "";
    if (replayed)
        *replayed = 0;
    if (idempotency_key) {
        if (!key_ok(idempotency_key)) {
            if (out)
                memset(out, 0, sizeof(*out));
            return herald__fail(HERALD_EINVAL, errbuf, errlen, "an idempotency key is 1 to 255 "
                                "printable ASCII characters without spaces");
        }
        snprintf(header, sizeof(header), "Idempotency-Key: %s", idempotency_key);
    }
    char *answer = NULL;
    size_t answer_len = 0;
    if (out)
        memset(out, 0, sizeof(*out));
    if (!body)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "no body to publish");
    char *url = herald__api_url(server, "/v1/events", &rc, errbuf, errlen);
    if (!url)
        return rc;
    rc = herald__http_ex("POST", url, token, body, len, header[0] ? header : NULL, replayed,
                         &answer, &answer_len, NULL, errbuf, errlen);
    free(url);
    if (rc != 0)
        return rc;

    json_t *root = json_loadb(answer, answer_len, 0, NULL);
    json_t *ids = json_object_get(root, "ids");
    uint64_t *list = NULL;
    size_t n = 0;
    if (!json_is_array(ids)) {
        rc = herald__fail(HERALD_EPROTO, errbuf, errlen, "answer without \"ids\": %.200s",
                          answer);
        goto done;
    }
    rc = herald__ids_take(ids, &list, &n);
    if (rc != 0) {
        rc = rc == HERALD_ENOMEM ? herald__fail(rc, errbuf, errlen, "out of memory")
                                 : herald__fail(rc, errbuf, errlen, "bad id in answer: %.200s", answer);
        goto done;
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
static int add_param(char **url, size_t *len, const char *key, const char *value)
{
    char *esc = herald__escape(value);
    if (!esc)
        return -1;
    size_t need = *len + strlen(key) + strlen(esc) + 3;
    char *p = realloc(*url, need);
    if (!p) {
        free(esc);
        return -1;
    }
    *url = p;
    *len += (size_t)snprintf(p + *len, need - *len, "%c%s=%s", strchr(p, '?') ? '&' : '?', key,
                             esc);
    free(esc);
    return 0;
}

int herald_history(const char *server, const char *token, const herald_history_query *q,
                   char **json_out, char *errbuf, size_t errlen)
{
    int rc;
    if (!json_out)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "json_out is NULL");
    *json_out = NULL;
    char *url = herald__api_url(server, "/v1/events", &rc, errbuf, errlen);
    if (!url)
        return rc;
    size_t len = strlen(url);
    if (q) {
        char num[24];
        int bad = 0;
        if (q->since) {
            snprintf(num, sizeof(num), "%" PRIu64, q->since);
            bad = add_param(&url, &len, "since", num);
        }
        if (!bad && q->limit) {
            snprintf(num, sizeof(num), "%u", q->limit);
            bad = add_param(&url, &len, "limit", num);
        }
        if (!bad && q->room_id)
            bad = add_param(&url, &len, "room_id", q->room_id);
        if (!bad && q->user_id)
            bad = add_param(&url, &len, "user_id", q->user_id);
        if (!bad && q->type)
            bad = add_param(&url, &len, "type", q->type);
        if (bad) {
            free(url);
            return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
        }
    }
    size_t answer_len;
    rc = herald__http("GET", url, token, NULL, 0, json_out, &answer_len, NULL, errbuf, errlen);
    free(url);
    return rc;
}
