/* SPDX-License-Identifier: MIT */
/* envelope.c — the native JSON envelope of an event; see envelope.h.
 *
 * Runs once per committed event, so it avoids a jansson tree: each string
 * field becomes a "quoted" piece, the total size is summed, and the envelope
 * is laid out with memcpy into one allocation. A string made only of
 * printable ASCII without '"' or '\' is quoted as is (the usual case: ids
 * and dotted types); any other string is escaped by jansson. The data is
 * already compact JSON text and is copied verbatim.
 */
#include "codec/envelope.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xalloc.h"

/* A JSON string literal: s[0..n), wrapped in quotes when quote is set. */
typedef struct piece {
    const char *s;
    size_t n;
    int quote;
    char *heap; /* jansson's output, when escaping was needed */
} piece;

static int needs_escape(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return 1;
    }
    return 0;
}

/* Invalid UTF-8 cannot be a JSON string: keep the ASCII, mark the rest. */
static json_t *lossy_string(const char *s, size_t n)
{
    char *copy = hv_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    json_t *j = json_stringn(copy, n);
    free(copy);
    return j;
}

static piece quoted(const char *s)
{
    size_t n = strlen(s);
    if (!needs_escape(s, n))
        return (piece){s, n, 1, NULL};
    json_t *j = json_stringn(s, n);
    if (!j)
        j = lossy_string(s, n);
    char *out = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!out)
        abort();
    return (piece){out, strlen(out), 0, out};
}

static size_t piece_len(const piece *p)
{
    return p->n + (p->quote ? 2 : 0);
}

static char *put(char *o, const void *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

static char *put_piece(char *o, const piece *p)
{
    if (p->quote)
        *o++ = '"';
    o = put(o, p->s, p->n);
    if (p->quote)
        *o++ = '"';
    return o;
}

/* An optional ,"key":value member; key is a literal with its quotes. */
static char *put_member(char *o, const char *key, size_t key_len, const piece *p)
{
    *o++ = ',';
    o = put(o, key, key_len);
    *o++ = ':';
    return put_piece(o, p);
}

char *hv_envelope_json(const hv_event *ev, size_t *len)
{
    static const char k_room[] = "\"room_id\"", k_user[] = "\"user_id\"";
    char id[24], ts[32];
    int id_len = snprintf(id, sizeof(id), "%" PRIu64, ev->id);
    hv_time_iso8601(ev->time_ms, ts);
    size_t ts_len = strlen(ts);
    const char *data = ev->data ? ev->data : "{}";
    size_t data_len = ev->data ? ev->data_len : 2;

    piece type = quoted(ev->type ? ev->type : "");
    piece room = ev->room_id ? quoted(ev->room_id) : (piece){0};
    piece user = ev->user_id ? quoted(ev->user_id) : (piece){0};

    size_t total = sizeof("{\"id\":\"\",\"type\":,\"timestamp\":\"\",\"data\":}") - 1 +
                   (size_t)id_len + piece_len(&type) + ts_len + data_len;
    if (ev->room_id)
        total += 2 + sizeof(k_room) - 1 + piece_len(&room);
    if (ev->user_id)
        total += 2 + sizeof(k_user) - 1 + piece_len(&user);

    char *buf = hv_xmalloc(total + 1);
    char *o = PUT_LIT(buf, "{\"id\":\"");
    o = put(o, id, (size_t)id_len);
    o = PUT_LIT(o, "\",\"type\":");
    o = put_piece(o, &type);
    o = PUT_LIT(o, ",\"timestamp\":\"");
    o = put(o, ts, ts_len);
    *o++ = '"';
    if (ev->room_id)
        o = put_member(o, k_room, sizeof(k_room) - 1, &room);
    if (ev->user_id)
        o = put_member(o, k_user, sizeof(k_user) - 1, &user);
    o = PUT_LIT(o, ",\"data\":");
    o = put(o, data, data_len);
    *o++ = '}';
    *o = 0;

    free(type.heap);
    free(room.heap);
    free(user.heap);
    if (len)
        *len = (size_t)(o - buf);
    return buf;
}
