/* SPDX-License-Identifier: MIT */
/* webhooks.c — the webhook endpoints REST API of the client library
 * (server token).
 *
 *   herald_webhook_create      POST   /v1/webhooks                     201 view + secret
 *   herald_webhook_list        GET    /v1/webhooks                     {"webhooks":[…]}
 *   herald_webhook_get         GET    /v1/webhooks/{id}                view + pending
 *   herald_webhook_update      PATCH  /v1/webhooks/{id}                view
 *   herald_webhook_delete      DELETE /v1/webhooks/{id}                204
 *   herald_webhook_disable     POST   /v1/webhooks/{id}/disable        view
 *   herald_webhook_enable      POST   /v1/webhooks/{id}/enable         view
 *   herald_webhook_deliveries  GET    /v1/webhooks/{id}/deliveries?limit=&before=
 *   herald_webhook_replay      POST   /v1/webhooks/{id}/replay         {"replayed":n}
 *   herald_webhook_retry       POST   /v1/webhooks/{id}/deliveries/{did}/retry
 *   herald_webhook_create_filtered  POST /v1/webhooks with "filter"  201 view + secret
 *   herald_webhook_create_ex  POST /v1/webhooks with further fields  201 view + secret
 *   herald_webhook_set_filter  PATCH  /v1/webhooks/{id} {"filter":…}  view
 *
 * Each is one synchronous request (http.c); the server's answer is handed
 * back whole, as its JSON text. Values are checked by the server, so a
 * bad format or URL comes back as its 400 message.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

/* "/v1/webhooks[/<id>[<tail>]][?<query>]" with id escaped. */
static char *wh_path(const char *id, const char *tail, const char *query)
{
    char *esc = id ? herald__escape(id) : NULL;
    if (id && !esc)
        return NULL;
    size_t len = 32 + (esc ? strlen(esc) : 0) + (tail ? strlen(tail) : 0) +
                 (query ? strlen(query) : 0);
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "/v1/webhooks%s%s%s%s%s", esc ? "/" : "", esc ? esc : "",
                 tail ? tail : "", query && *query ? "?" : "", query ? query : "");
    free(esc);
    return path;
}

/* One call: method on path (freed here); body may be NULL. */
static int call(const char *server, const char *token, const char *method, char *path,
                const char *body, char **json_out, int *status, char *errbuf, size_t errlen)
{
    int rc, st = 0;
    size_t len = 0;
    if (json_out)
        *json_out = NULL;
    if (status)
        *status = 0;
    if (!path)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    char *url = herald__api_url(server, path, &rc, errbuf, errlen);
    free(path);
    if (!url)
        return rc;
    rc = herald__http(method, url, token, body, body ? strlen(body) : 0, json_out, &len, &st,
                      errbuf, errlen);
    free(url);
    if (status)
        *status = st;
    return rc;
}

/* Refuses a missing endpoint id before any request. */
static int need_id(const char *id, char **json_out, int *status, char *errbuf, size_t errlen)
{
    if (json_out)
        *json_out = NULL;
    if (status)
        *status = 0;
    if (id && *id)
        return 0;
    return herald__fail(HERALD_EINVAL, errbuf, errlen, "a webhook id is required");
}

/* Adds key: [strings] when n > 0; -1 on a NULL or non-UTF-8 string. */
static int add_list(json_t *obj, const char *key, const char *const *l, size_t n)
{
    if (n == 0)
        return 0;
    if (!l)
        return -1;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *s = l[i] ? json_string(l[i]) : NULL;
        if (!s || json_array_append_new(arr, s) != 0) {
            json_decref(arr);
            return -1;
        }
    }
    return json_object_set_new(obj, key, arr);
}

static int add_str(json_t *obj, const char *key, const char *value)
{
    if (!value)
        return 0;
    json_t *s = json_string(value);
    return s ? json_object_set_new(obj, key, s) : -1;
}

/* Adds key: the JSON value of text (a payload filter, issue 18 item 5);
 * NULL text adds nothing; -1 when text is not JSON. */
static int add_json(json_t *obj, const char *key, const char *text)
{
    if (!text)
        return 0;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? json_object_set_new(obj, key, v) : -1;
}

/* Adds every member of extra_json, a JSON object of further endpoint
 * fields (issue 18: filter, retry_schedule, retry_schedules,
 * breaker_threshold); NULL adds nothing; -1 when it is not an object. */
static int add_extra(json_t *obj, const char *extra_json)
{
    if (!extra_json)
        return 0;
    json_t *x = json_loads(extra_json, 0, NULL);
    int rc = json_is_object(x) ? json_object_update(obj, x) : -1;
    json_decref(x);
    return rc;
}

/* POST /v1/webhooks with cfg's fields, then extra_json's, then (if not
 * NULL) "filter". */
static int create(const char *server, const char *token, const herald_webhook_config *cfg,
                  const char *extra_json, const char *filter_json, char **json_out, int *status,
                  char *errbuf, size_t errlen)
{
    if (json_out)
        *json_out = NULL;
    if (status)
        *status = 0;
    if (!cfg || !cfg->url || !*cfg->url)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "a webhook needs a url");
    json_t *b = json_object();
    if (!b)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    int bad = add_str(b, "url", cfg->url) ||
              add_list(b, "event_types", cfg->event_types, cfg->n_event_types) ||
              add_list(b, "room_ids", cfg->room_ids, cfg->n_room_ids) ||
              add_str(b, "format", cfg->format) || add_str(b, "secret", cfg->secret) ||
              add_str(b, "description", cfg->description);
    if (!bad && (add_extra(b, extra_json) != 0 || add_json(b, "filter", filter_json) != 0)) {
        json_decref(b);
        return herald__fail(HERALD_EINVAL, errbuf, errlen,
                            extra_json ? "extra_json is not a JSON object" : "filter is not JSON");
    }
    char *body = bad ? NULL : json_dumps(b, JSON_COMPACT);
    json_decref(b);
    if (bad)
        return herald__fail(HERALD_EINVAL, errbuf, errlen,
                            "a webhook field is NULL or not valid UTF-8");
    if (!body)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    int rc = call(server, token, "POST", wh_path(NULL, NULL, NULL), body, json_out, status,
                  errbuf, errlen);
    free(body);
    return rc;
}

int herald_webhook_create(const char *server, const char *token,
                          const herald_webhook_config *cfg, char **json_out, int *status,
                          char *errbuf, size_t errlen)
{
    return create(server, token, cfg, NULL, NULL, json_out, status, errbuf, errlen);
}

int herald_webhook_create_ex(const char *server, const char *token, const herald_webhook_config *cfg,
                             const char *extra_json, char **json_out, int *status, char *errbuf,
                             size_t errlen)
{
    return create(server, token, cfg, extra_json, NULL, json_out, status, errbuf, errlen);
}

int herald_webhook_create_filtered(const char *server, const char *token,
                                   const herald_webhook_config *cfg, const char *filter_json,
                                   char **json_out, int *status, char *errbuf, size_t errlen)
{
    return create(server, token, cfg, NULL, filter_json, json_out, status, errbuf, errlen);
}

int herald_webhook_set_filter(const char *server, const char *token, const char *id,
                              const char *filter_json, char **json_out, int *status,
                              char *errbuf, size_t errlen)
{
    if (need_id(id, json_out, status, errbuf, errlen) != 0)
        return HERALD_EINVAL;
    json_t *b = json_object();
    if (!b)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    if (filter_json ? add_json(b, "filter", filter_json) != 0
                    : json_object_set_new(b, "filter", json_null()) != 0) {
        json_decref(b);
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "filter is not JSON");
    }
    return herald__webhook_patch(server, token, id, b, json_out, status, errbuf, errlen);
}

int herald__webhook_patch(const char *server, const char *token, const char *id, json_t *b, char **json_out,
                          int *status, char *errbuf, size_t errlen)
{
    char *patch = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!patch)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    int rc = herald_webhook_update(server, token, id, patch, json_out, status, errbuf, errlen);
    free(patch);
    return rc;
}

int herald_webhook_list(const char *server, const char *token, char **json_out, int *status,
                        char *errbuf, size_t errlen)
{
    return call(server, token, "GET", wh_path(NULL, NULL, NULL), NULL, json_out, status,
                errbuf, errlen);
}

int herald_webhook_get(const char *server, const char *token, const char *id, char **json_out,
                       int *status, char *errbuf, size_t errlen)
{
    int rc = need_id(id, json_out, status, errbuf, errlen);
    return rc ? rc
              : call(server, token, "GET", wh_path(id, NULL, NULL), NULL, json_out, status,
                     errbuf, errlen);
}

int herald_webhook_update(const char *server, const char *token, const char *id,
                          const char *patch_json, char **json_out, int *status, char *errbuf,
                          size_t errlen)
{
    int rc = need_id(id, json_out, status, errbuf, errlen);
    if (rc)
        return rc;
    json_error_t jerr;
    json_t *v = patch_json ? json_loads(patch_json, 0, &jerr) : NULL;
    int ok = json_is_object(v);
    json_decref(v);
    if (!ok)
        return patch_json && v ? herald__fail(HERALD_EINVAL, errbuf, errlen,
                                              "the change must be a JSON object")
               : patch_json    ? herald__fail(HERALD_EINVAL, errbuf, errlen,
                                              "the change is not valid JSON: %s", jerr.text)
                               : herald__fail(HERALD_EINVAL, errbuf, errlen,
                                              "no change given");
    return call(server, token, "PATCH", wh_path(id, NULL, NULL), patch_json, json_out, status,
                errbuf, errlen);
}

int herald_webhook_delete(const char *server, const char *token, const char *id, int *status,
                          char *errbuf, size_t errlen)
{
    int rc = need_id(id, NULL, status, errbuf, errlen);
    return rc ? rc
              : call(server, token, "DELETE", wh_path(id, NULL, NULL), NULL, NULL, status,
                     errbuf, errlen);
}

int herald_webhook_disable(const char *server, const char *token, const char *id,
                           char **json_out, int *status, char *errbuf, size_t errlen)
{
    int rc = need_id(id, json_out, status, errbuf, errlen);
    return rc ? rc
              : call(server, token, "POST", wh_path(id, "/disable", NULL), NULL, json_out,
                     status, errbuf, errlen);
}

int herald_webhook_enable(const char *server, const char *token, const char *id,
                          char **json_out, int *status, char *errbuf, size_t errlen)
{
    int rc = need_id(id, json_out, status, errbuf, errlen);
    return rc ? rc
              : call(server, token, "POST", wh_path(id, "/enable", NULL), NULL, json_out,
                     status, errbuf, errlen);
}

int herald_webhook_deliveries(const char *server, const char *token, const char *id,
                              unsigned limit, uint64_t before, char **json_out, int *status,
                              char *errbuf, size_t errlen)
{
    int rc = need_id(id, json_out, status, errbuf, errlen);
    if (rc)
        return rc;
    char query[64] = "";
    size_t n = 0;
    if (limit)
        n += (size_t)snprintf(query + n, sizeof(query) - n, "limit=%u", limit);
    if (before)
        snprintf(query + n, sizeof(query) - n, "%sbefore=%" PRIu64, n ? "&" : "", before);
    return call(server, token, "GET", wh_path(id, "/deliveries", query), NULL, json_out, status,
                errbuf, errlen);
}

int herald_webhook_replay(const char *server, const char *token, const char *id,
                          uint64_t since_id, const char *since, char **json_out, int *status,
                          char *errbuf, size_t errlen)
{
    int rc = need_id(id, json_out, status, errbuf, errlen);
    if (rc)
        return rc;
    char num[24];
    snprintf(num, sizeof(num), "%" PRIu64, since_id); /* as text: no int64 limit */
    json_t *b = json_object();
    int bad = !b || add_str(b, since ? "since" : "since_id", since ? since : num) != 0;
    char *body = bad ? NULL : json_dumps(b, JSON_COMPACT);
    json_decref(b);
    if (!body)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "since is not valid UTF-8");
    rc = call(server, token, "POST", wh_path(id, "/replay", NULL), body, json_out, status,
              errbuf, errlen);
    free(body);
    return rc;
}

int herald_webhook_retry(const char *server, const char *token, const char *id,
                         uint64_t delivery_id, char **json_out, int *status, char *errbuf,
                         size_t errlen)
{
    int rc = need_id(id, json_out, status, errbuf, errlen);
    if (rc)
        return rc;
    char tail[48];
    snprintf(tail, sizeof(tail), "/deliveries/%" PRIu64 "/retry", delivery_id);
    return call(server, token, "POST", wh_path(id, tail, NULL), NULL, json_out, status, errbuf,
                errlen);
}
