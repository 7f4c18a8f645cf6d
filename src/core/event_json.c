/* SPDX-License-Identifier: MIT */
/* event_json.c — validation of published events; see event_json.h.
 *
 * The body is parsed with jansson (duplicate keys refused), must be one
 * object or a non-empty array of at most HV_PUBLISH_MAX_BATCH objects, and
 * each object is checked key by key: unknown keys first (so a typo is named
 * as such), then type, room_id, user_id, data. A JSON null counts as an
 * absent optional field. data is re-serialized compactly into the event.
 *
 * Error messages name the offending place: "type is required" for a single
 * object, "events[2].type is required" / "events[2]: unknown field \"x\""
 * inside an array. The first error wins and no event is returned. Messages
 * are printable ASCII only (client bytes quoted in them are sanitized), so
 * callers can put them into JSON or logs as they are.
 */
#include "core/event_json.h"
#include "core/xalloc.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_MAX 128
#define ID_MAX 256

/* Where we are, for messages: index -1 means a single object body. */
typedef struct where {
    long index;
    char *err;
    size_t errlen;
    char **keys; /* NULL: idempotency_key is an unknown field */
} where;

static void fail(const where *w, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "<field> <msg>", "events[i].<field> <msg>", "events[i]: <msg>" or "<msg>". */
static void fail(const where *w, const char *field, const char *fmt, ...)
{
    if (!w->err || w->errlen == 0)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (w->index < 0 && field)
        snprintf(w->err, w->errlen, "%s %s", field, msg);
    else if (w->index < 0)
        snprintf(w->err, w->errlen, "%s", msg);
    else if (field)
        snprintf(w->err, w->errlen, "events[%ld].%s %s", w->index, field, msg);
    else
        snprintf(w->err, w->errlen, "events[%ld]: %s", w->index, msg);
}

/* Client text made safe to quote: printable ASCII (others become '?'), at
 * most max bytes, then "..." when cut; out holds max + 4 bytes. */
static void printable(const char *s, char *out, size_t max)
{
    size_t o = 0;
    for (; *s && o < max; s++)
        out[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    if (*s)
        out[o++] = '.', out[o++] = '.', out[o++] = '.';
    out[o] = 0;
}

static int segment_char(char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    return !first && (c == '_' || c == '-');
}

int hv_event_type_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > TYPE_MAX)
        return 0;
    int first = 1;
    for (const char *p = s; *p; p++) {
        if (*p == '.' && !first) {
            first = 1;
            continue;
        }
        if (!segment_char(*p, first))
            return 0;
        first = 0;
    }
    return !first; /* no trailing dot */
}

static int check_keys(json_t *obj, const where *w)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (strcmp(key, "type") && strcmp(key, "data") && strcmp(key, "room_id") &&
            strcmp(key, "user_id") && (!w->keys || strcmp(key, "idempotency_key"))) {
            char safe[68];
            printable(key, safe, 64);
            fail(w, NULL, "unknown field \"%s\"", safe);
            return -1;
        }
    }
    return 0;
}

static int check_type(json_t *v, const where *w)
{
    if (!v) {
        fail(w, "type", "is required");
        return -1;
    }
    if (!json_is_string(v)) {
        fail(w, "type", "must be a string");
        return -1;
    }
    if (json_string_length(v) > TYPE_MAX) {
        fail(w, "type", "must be at most %d bytes", TYPE_MAX);
        return -1;
    }
    if (!hv_event_type_valid(json_string_value(v))) {
        fail(w, "type", "must be a dotted lower-case name");
        return -1;
    }
    /* herald.* are herald's own alerts (herald.endpoint_disabled, ...): a
     * publisher cannot forge one. */
    if (!strncmp(json_string_value(v), HV_EVENT_OWN_PREFIX, strlen(HV_EVENT_OWN_PREFIX))) {
        fail(w, "type", "herald.* is reserved for herald's own events");
        return -1;
    }
    return 0;
}

/* Optional room_id / user_id; *out stays NULL when absent. */
static int check_id(json_t *obj, const char *field, const char **out, const where *w)
{
    json_t *v = json_object_get(obj, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        fail(w, field, "must be a non-empty string");
        return -1;
    }
    if (json_string_length(v) > ID_MAX) {
        fail(w, field, "must be at most %d bytes", ID_MAX);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int hv_idem_key_valid(const char *s, size_t len)
{
    if (len == 0 || len > HV_IDEM_KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* The optional per-event idempotency_key, copied to w->keys[index]. */
static int check_idem_key(json_t *obj, const where *w)
{
    json_t *v = json_object_get(obj, "idempotency_key");
    size_t i = w->index < 0 ? 0 : (size_t)w->index;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || !hv_idem_key_valid(json_string_value(v), json_string_length(v))) {
        fail(w, "idempotency_key", "must be 1 to %d printable ASCII characters (no spaces)",
             HV_IDEM_KEY_MAX);
        return -1;
    }
    for (size_t j = 0; j < i; j++)
        if (w->keys[j] && !strcmp(w->keys[j], json_string_value(v))) {
            fail(w, "idempotency_key", "repeats the key of events[%zu] in this request", j);
            return -1;
        }
    w->keys[i] = hv_xstrdup(json_string_value(v));
    return 0;
}

/* Validates one object and makes its event; NULL (and err set) if invalid. */
static hv_event *parse_one(json_t *obj, const where *w)
{
    if (!json_is_object(obj)) {
        if (w->err && w->errlen)
            snprintf(w->err, w->errlen, "events[%ld] must be an object", w->index);
        return NULL;
    }
    const char *room, *user;
    json_t *data = json_object_get(obj, "data");
    if (check_keys(obj, w) || check_type(json_object_get(obj, "type"), w) ||
        check_id(obj, "room_id", &room, w) || check_id(obj, "user_id", &user, w))
        return NULL;
    if (data && !json_is_null(data) && !json_is_object(data)) {
        fail(w, "data", "must be an object");
        return NULL;
    }
    if (w->keys && check_idem_key(obj, w) != 0)
        return NULL;
    char *text = json_is_object(data) ? json_dumps(data, JSON_COMPACT) : NULL;
    if (json_is_object(data) && !text)
        abort();
    const char *type = json_string_value(json_object_get(obj, "type"));
    hv_event *ev = hv_event_new(type, room, user, text, text ? strlen(text) : 0);
    free(text);
    return ev;
}

static void free_events(hv_event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hv_event_unref(evs[i]);
    free(evs);
}

/* Parses every element of a validated-size array; -1 on the first error. */
static int parse_array(json_t *arr, hv_event **evs, where *w)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        w->index = (long)i;
        evs[i] = parse_one(json_array_get(arr, i), w);
        if (!evs[i]) {
            free_events(evs, i);
            return -1;
        }
    }
    return 0;
}

static json_t *load_body(const char *body, size_t len, const where *w)
{
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", body ? len : 0,
                              JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char text[JSON_ERROR_TEXT_LENGTH + 4];
        printable(jerr.text, text, JSON_ERROR_TEXT_LENGTH - 1);
        fail(w, NULL, "body is not valid JSON: %s at line %d column %d", text, jerr.line,
             jerr.column);
        return NULL;
    }
    if (!json_is_object(root) && !json_is_array(root)) {
        fail(w, NULL, "body must be a JSON object or an array of objects");
        json_decref(root);
        return NULL;
    }
    return root;
}

static int check_batch_size(json_t *root, const where *w)
{
    size_t n = json_array_size(root);
    if (n == 0) {
        fail(w, NULL, "no events");
        return -1;
    }
    if (n > HV_PUBLISH_MAX_BATCH) {
        fail(w, NULL, "too many events: %zu (at most %d per request)", n, HV_PUBLISH_MAX_BATCH);
        return -1;
    }
    return 0;
}

int hv_event_parse_publish(const char *body, size_t len, hv_event ***out, size_t *n,
                           char *err, size_t errlen)
{
    return hv_event_parse_publish_keys(body, len, out, n, NULL, err, errlen);
}

int hv_event_parse_publish_keys(const char *body, size_t len, hv_event ***out, size_t *n,
                                char ***keys, char *err, size_t errlen)
{
    where w = {-1, err, errlen, NULL};
    *out = NULL;
    *n = 0;
    if (keys)
        *keys = NULL;
    if (err && errlen)
        err[0] = 0;
    json_t *root = load_body(body, len, &w);
    if (!root)
        return -1;
    int is_array = json_is_array(root);
    if (is_array && check_batch_size(root, &w)) {
        json_decref(root);
        return -1;
    }
    size_t count = is_array ? json_array_size(root) : 1;
    hv_event **evs = hv_xcalloc(count, sizeof(*evs));
    if (keys)
        w.keys = hv_xcalloc(count, sizeof(*w.keys));
    int rc = 0;
    if (is_array) {
        rc = parse_array(root, evs, &w);
    } else if (!(evs[0] = parse_one(root, &w))) {
        free(evs);
        rc = -1;
    }
    json_decref(root);
    if (rc == 0) {
        *out = evs;
        *n = count;
        if (keys)
            *keys = w.keys;
    } else if (keys) {
        hv_idem_keys_free(w.keys, count);
    }
    return rc;
}

void hv_idem_keys_free(char **keys, size_t n)
{
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i]);
    free(keys);
}
