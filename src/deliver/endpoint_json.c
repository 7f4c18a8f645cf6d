/* SPDX-License-Identifier: MIT */
/* endpoint_json.c — endpoint bodies, views and records; see
 * endpoint_json.h. Formats: "json" (native envelope), "protobuf" (raw
 * Fishjam ServerMessage) and "jellyfish-json" ({"notification": …}). */
#include "deliver/endpoint_json.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xalloc.h"
#include "deliver/endpoint_filter.h"
#include "deliver/endpoint_delivery.h"
#include "deliver/endpoint_jsonbatch.h"
#include "deliver/endpoint_ratelimit.h"

static const char *const format_names[] = {"json", "protobuf", "jellyfish-json"};

const char *hv_endpoint_format_name(int format)
{
    return format >= 0 && format < 3 ? format_names[format] : "json";
}

hv_endpoint *hv_endpoint_alloc(void)
{
    hv_endpoint *ep = hv_xcalloc(1, sizeof(*ep));
    atomic_init(&ep->refs, 1);
    ep->enabled = 1;
    ep->breaker_threshold = -1;
    return ep;
}

static char **dup_list(char **l, size_t n)
{
    if (!n)
        return NULL;
    char **out = hv_xcalloc(n, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = hv_xstrdup(l[i]);
    return out;
}

static char *dup0(const char *s)
{
    return s ? hv_xstrdup(s) : NULL;
}

hv_endpoint *hv_endpoint_clone(const hv_endpoint *ep)
{
    hv_endpoint *c = hv_endpoint_alloc();
    memcpy(c->id, ep->id, sizeof(c->id));
    c->url = dup0(ep->url);
    c->format = ep->format;
    c->types = dup_list(ep->types, ep->ntypes);
    c->ntypes = ep->ntypes;
    c->rooms = dup_list(ep->rooms, ep->nrooms);
    c->nrooms = ep->nrooms;
    c->secret = dup0(ep->secret);
    c->prev_secret = dup0(ep->prev_secret);
    c->prev_until_ms = ep->prev_until_ms;
    c->description = dup0(ep->description);
    c->enabled = ep->enabled;
    c->disabled_reason = dup0(ep->disabled_reason);
    c->disabled_ms = ep->disabled_ms;
    c->room_webhook = ep->room_webhook;
    c->batch = ep->batch;
    c->retired = ep->retired;
    c->created_ms = ep->created_ms;
    c->filter = hv_filter_ref(ep->filter);
    hv_endpoint_delivery_clone(c, ep);
    hv_endpoint_jsonbatch_clone(c, ep);
    hv_endpoint_ratelimit_clone(c, ep);
    return c;
}

static int valid_url(const char *s)
{
    const char *rest = !strncmp(s, "http://", 7) ? s + 7 : !strncmp(s, "https://", 8) ? s + 8 : NULL;
    if (!rest || !*rest || *rest == '/' || *rest == ':' || strlen(s) > 2048)
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>' || *p == '\\' || *p == 0x7f)
            return 0;
    return 1;
}

static int valid_glob(const char *s)
{
    if (!*s || strlen(s) > 128)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-' ||
              *s == '*' || *s == '?'))
            return 0;
    return 1;
}

static int valid_secret(const char *s)
{
    if (strncmp(s, "whsec_", 6) != 0)
        return 0;
    size_t len = strlen(s + 6);
    unsigned char buf[128];
    if (len == 0 || len % 4 || len > 120)
        return 0;
    int n = EVP_DecodeBlock(buf, (const unsigned char *)s + 6, (int)len);
    if (n < 0)
        return 0;
    n -= (s[6 + len - 1] == '=') + (s[6 + len - 2] == '=');
    return n >= 24 && n <= 64;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* Reads an array of strings, each checked by ok; -1 with err. */
static int read_list(json_t *v, const char *name, int (*ok)(const char *), char ***out, size_t *n,
                     char *err, size_t errlen)
{
    if (!json_is_array(v) || json_array_size(v) > 100)
        return snprintf(err, errlen, "%s must be an array of at most 100 strings", name), -1;
    size_t k = json_array_size(v);
    char **l = k ? hv_xcalloc(k, sizeof(*l)) : NULL;
    for (size_t i = 0; i < k; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s || !ok(s)) {
            free_list(l, i);
            return snprintf(err, errlen, "%s[%zu] is not valid", name, i), -1;
        }
        l[i] = hv_xstrdup(s);
    }
    *out = l;
    *n = k;
    return 0;
}

static int any_string(const char *s)
{
    return *s && strlen(s) <= 256;
}

int hv_endpoint_apply(hv_endpoint *ep, json_t *body, int creating, char *err, size_t errlen)
{
    static const char *const keys[] = {"url", "event_types", "room_ids", "format", "secret", "description", "filter",
                                       HV_ENDPOINT_DELIVERY_KEYS, HV_ENDPOINT_JSONBATCH_KEYS,
                                       HV_ENDPOINT_RATELIMIT_KEYS, NULL};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        int known = 0;
        for (int i = 0; keys[i]; i++)
            known |= !strcmp(key, keys[i]);
        if (!known)
            return snprintf(err, errlen, "unknown field \"%.64s\"", key), -1;
    }
    const char *url = json_string_value(json_object_get(body, "url"));
    if (creating && !json_object_get(body, "url"))
        return snprintf(err, errlen, "url is required"), -1;
    if (json_object_get(body, "url") && (!url || !valid_url(url)))
        return snprintf(err, errlen, "url must be an http:// or https:// URL"), -1;
    const char *fmt = json_string_value(json_object_get(body, "format"));
    int format = -1;
    for (int i = 0; fmt && i < 3; i++)
        if (!strcmp(fmt, format_names[i]))
            format = i;
    if (json_object_get(body, "format") && format < 0)
        return snprintf(err, errlen, "format must be \"json\", \"protobuf\" or \"jellyfish-json\""), -1;
    const char *secret = json_string_value(json_object_get(body, "secret"));
    if (json_object_get(body, "secret") && (!secret || !valid_secret(secret)))
        return snprintf(err, errlen, "secret must be \"whsec_\" + base64 of 24 to 64 bytes"), -1;
    const char *desc = json_string_value(json_object_get(body, "description"));
    if (json_object_get(body, "description") && (!desc || strlen(desc) > 512))
        return snprintf(err, errlen, "description must be a string of at most 512 bytes"), -1;
    hv_endpoint_rate_change rate;
    if (hv_endpoint_ratelimit_parse(body, &rate, err, errlen) != 0)
        return -1;
    char **types = NULL, **rooms = NULL;
    size_t nt = 0, nr = 0;
    if ((v = json_object_get(body, "event_types")) &&
        read_list(v, "event_types", valid_glob, &types, &nt, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(body, "room_ids")) && read_list(v, "room_ids", any_string, &rooms, &nr, err, errlen) != 0) {
        free_list(types, nt);
        return -1;
    }
    hv_endpoint_filter_change filter;
    if (hv_endpoint_filter_read(body, &filter, err, errlen) != 0) {
        free_list(types, nt);
        free_list(rooms, nr);
        return -1;
    }
    hv_endpoint_delivery d;
    hv_endpoint_jsonbatch jb;
    if (hv_endpoint_delivery_parse(ep, body, &d, err, errlen) != 0 ||
        hv_endpoint_jsonbatch_parse(ep, body, format >= 0 ? format : ep->format, &jb, err, errlen) != 0) {
        free(d.retry); /* NULL unless delivery_parse succeeded */
        hv_endpoint_filter_discard(&filter);
        free_list(types, nt);
        free_list(rooms, nr);
        return -1;
    }
    /* Everything is valid: apply. */
    hv_endpoint_filter_set(ep, &filter);
    hv_endpoint_delivery_set(ep, &d);
    hv_endpoint_jsonbatch_set(ep, &jb);
    hv_endpoint_ratelimit_set(ep, &rate);
    if (url) {
        free(ep->url);
        ep->url = hv_xstrdup(url);
    }
    if (format >= 0)
        ep->format = format;
    if (desc) {
        free(ep->description);
        ep->description = hv_xstrdup(desc);
    }
    if (json_object_get(body, "event_types")) {
        free_list(ep->types, ep->ntypes);
        ep->types = types, ep->ntypes = nt;
    }
    if (json_object_get(body, "room_ids")) {
        free_list(ep->rooms, ep->nrooms);
        ep->rooms = rooms, ep->nrooms = nr;
    }
    if (secret) {
        free(ep->secret);
        ep->secret = hv_xstrdup(secret);
    }
    return 0;
}

static json_t *list_json(char **l, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(l[i]));
    return a;
}

json_t *hv_endpoint_view(const hv_endpoint *ep, int with_secret)
{
    char created[32];
    hv_time_iso8601(ep->created_ms, created);
    json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:o,s:s?,s:b,s:s?,s:b,s:s}", "id", ep->id, "url", ep->url, "format",
                          hv_endpoint_format_name(ep->format), "event_types", list_json(ep->types, ep->ntypes),
                          "room_ids", list_json(ep->rooms, ep->nrooms), "description", ep->description,
                          "enabled", ep->enabled, "disabled_reason", ep->disabled_reason, "room_webhook",
                          ep->room_webhook, "created_at", created);
    /* when it was disabled: null while enabled, and for a record written before this was kept */
    char when[32];
    if (!ep->enabled && ep->disabled_ms > 0)
        hv_time_iso8601(ep->disabled_ms, when);
    json_object_set_new(j, "disabled_at", !ep->enabled && ep->disabled_ms > 0 ? json_string(when) : json_null());
    hv_endpoint_filter_view(ep, j);
    if (with_secret)
        json_object_set_new(j, "secret", json_string(ep->secret));
    hv_endpoint_delivery_view(ep, j);
    hv_endpoint_jsonbatch_view(ep, j);
    hv_endpoint_ratelimit_view(ep, j);
    return j;
}

char *hv_endpoint_record(const hv_endpoint *ep)
{
    json_t *j = json_pack("{s:s,s:s,s:i,s:o,s:o,s:s,s:s?,s:I,s:s?,s:b,s:s?,s:b,s:b,s:I}", "id", ep->id, "url",
                          ep->url, "format", ep->format, "event_types", list_json(ep->types, ep->ntypes),
                          "room_ids", list_json(ep->rooms, ep->nrooms), "secret", ep->secret, "prev_secret",
                          ep->prev_secret, "prev_until_ms", (json_int_t)ep->prev_until_ms, "description",
                          ep->description, "enabled", ep->enabled, "disabled_reason", ep->disabled_reason,
                          "room_webhook", ep->room_webhook, "retired", ep->retired, "created_ms",
                          (json_int_t)ep->created_ms);
    if (ep->batch) /* absent = unbatched: older records read the same */
        json_object_set_new(j, "batch", json_true());
    if (ep->disabled_ms) /* absent = not known (enabled, or disabled before it was recorded) */
        json_object_set_new(j, "disabled_ms", json_integer((json_int_t)ep->disabled_ms));
    hv_endpoint_filter_record(ep, j);
    hv_endpoint_delivery_record(ep, j);
    hv_endpoint_jsonbatch_record(ep, j);
    hv_endpoint_ratelimit_record(ep, j);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static char **strings_of(json_t *a, size_t *n)
{
    *n = json_array_size(a);
    char **l = *n ? hv_xcalloc(*n, sizeof(*l)) : NULL;
    for (size_t i = 0; i < *n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        l[i] = hv_xstrdup(s ? s : "");
    }
    return l;
}

hv_endpoint *hv_endpoint_from_record(const char *rec)
{
    json_t *j = json_loads(rec, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *url = json_string_value(json_object_get(j, "url"));
    const char *secret = json_string_value(json_object_get(j, "secret"));
    if (!id || !url || !secret || strlen(id) >= sizeof(((hv_endpoint *)0)->id)) {
        json_decref(j);
        return NULL;
    }
    hv_endpoint *ep = hv_endpoint_alloc();
    snprintf(ep->id, sizeof(ep->id), "%s", id);
    ep->url = hv_xstrdup(url);
    ep->format = (int)json_integer_value(json_object_get(j, "format"));
    ep->types = strings_of(json_object_get(j, "event_types"), &ep->ntypes);
    ep->rooms = strings_of(json_object_get(j, "room_ids"), &ep->nrooms);
    ep->secret = hv_xstrdup(secret);
    ep->prev_secret = dup0(json_string_value(json_object_get(j, "prev_secret")));
    ep->prev_until_ms = json_integer_value(json_object_get(j, "prev_until_ms"));
    ep->description = dup0(json_string_value(json_object_get(j, "description")));
    ep->enabled = json_is_true(json_object_get(j, "enabled"));
    ep->disabled_reason = dup0(json_string_value(json_object_get(j, "disabled_reason")));
    ep->disabled_ms = json_integer_value(json_object_get(j, "disabled_ms"));
    ep->room_webhook = json_is_true(json_object_get(j, "room_webhook"));
    ep->retired = json_is_true(json_object_get(j, "retired"));
    ep->batch = ep->room_webhook && json_is_true(json_object_get(j, "batch"));
    ep->created_ms = json_integer_value(json_object_get(j, "created_ms"));
    hv_endpoint_filter_load(ep, j);
    hv_endpoint_delivery_from_record(ep, j);
    hv_endpoint_jsonbatch_from_record(ep, j);
    hv_endpoint_ratelimit_from_record(ep, j);
    json_decref(j);
    return ep;
}
