/* SPDX-License-Identifier: MIT */
/* text_json.c — stored texts (webhook response excerpts, errors) as JSON
 * strings for the deliveries API, whatever the engine: a text cut inside a
 * character, or not UTF-8 at all, gets U+FFFD for each invalid byte
 * instead of being refused by jansson.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/xalloc.h"
#include "store/text_json.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

/* A JSON string of a stored text (a response excerpt may be cut inside a
 * character or not be UTF-8 at all): invalid bytes become U+FFFD. */
json_t *hv_store_text_json(const char *text, size_t len)
{
    const unsigned char *t = (const unsigned char *)text;
    json_t *j = json_stringn(text, len);
    if (j || !t)
        return j;
    char *clean = hv_xmalloc(3 * len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(t + i, len - i);
        if (k == 0) {
            memcpy(clean + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(clean + o, t + i, k);
            o += k;
            i += k;
        }
    }
    j = json_stringn(clean, o);
    free(clean);
    return j;
}


static json_t *opt_text(const char *text, size_t len)
{
    return text ? hv_store_text_json(text, len) : json_null();
}

json_t *hv_store_attempt_json(const hv_attempt_row *a)
{
    static const char *const states[] = {"pending", "delivered", "failed"};
    char ts[32];
    hv_time_iso8601(a->time_ms, ts);
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = json_object_set_new(o, "id", json_string(a->id)) |
              json_object_set_new(o, "delivery_id", json_string(a->delivery_id)) |
              json_object_set_new(o, "event_id", json_string(a->event_id)) |
              json_object_set_new(o, "timestamp", json_string(ts)) |
              json_object_set_new(o, "status_code", a->has_status ? json_integer(a->status) : json_null()) |
              json_object_set_new(o, "latency_ms", json_integer((json_int_t)a->latency_ms)) |
              json_object_set_new(o, "error", opt_text(a->error, a->error_len)) |
              json_object_set_new(o, "response", opt_text(a->response, a->response_len)) |
              json_object_set_new(o, "state", json_string(a->state >= 0 && a->state <= 2 ? states[a->state]
                                                                                         : "failed"));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
