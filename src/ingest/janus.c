/* SPDX-License-Identifier: MIT */
/* janus.c — Janus event-handler bodies to herald events; see janus.h.
 *
 * The body is parsed by jansson with integers kept as json_int_t (long
 * long), so ids below 2^53 and microsecond timestamps come out exactly as
 * they went in; string ids (the transport "id") stay strings. Each element
 * must be an object whose "type" is an integer: that is all herald needs to
 * know of a Janus event. Everything else is kept as it is: the element's
 * own text, with the whitespace between tokens removed, becomes the
 * event's data (every key, value and escape as Janus wrote it), and the
 * SHA-256 of that text is the event's digest. An array body is decoded one
 * element at a time (jansson reports how many bytes each took), which is
 * how each element's text is found without a second parser.
 *
 * Cost (bench/RESULTS.md, janus_ingest): the jansson parse is most of it
 * (keeping the text instead of dumping the tree again saved ~15 %). The SHA-256 implementation is fetched from OpenSSL
 * once (OpenSSL 3's one-shot SHA256() looks it up on every call, which was
 * ~40 % of the digest's time).
 */
#include "ingest/janus.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event_json.h"
#include "core/xalloc.h"

#define ROOM_MAX 256

static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha_md; /* NULL: fall back to SHA256() */

static void sha_init(void)
{
    sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void digest_of(const char *text, size_t len, uint8_t *digest)
{
    pthread_once(&sha_once, sha_init);
    unsigned int dlen = 0;
    if (!sha_md || !EVP_Digest(text, len, digest, &dlen, sha_md, NULL) || dlen != HV_JANUS_DIGEST_LEN)
        SHA256((const unsigned char *)text, len, digest);
}

const char *hv_janus_type_name(long long type)
{
    switch (type) {
    case 1: return "janus.session";
    case 2: return "janus.handle";
    case 4: return "janus.external";
    case 8: return "janus.jsep";
    case 16: return "janus.webrtc";
    case 32: return "janus.media";
    case 64: return "janus.plugin";
    case 128: return "janus.transport";
    case 256: return "janus.core";
    default: return "janus.unknown";
    }
}

int hv_janus_room_from_parse(const char *s)
{
    if (!strcmp(s, "none"))
        return HV_JANUS_ROOM_NONE;
    if (!strcmp(s, "opaque_id"))
        return HV_JANUS_ROOM_OPAQUE_ID;
    if (!strcmp(s, "session"))
        return HV_JANUS_ROOM_SESSION;
    return -1;
}

/* The room of one event into room (ROOM_MAX + 1 bytes); 0 when it has one. */
static int room_of(json_t *obj, const hv_janus_opts *o, char *room)
{
    const char *prefix = o->room_prefix ? o->room_prefix : "";
    char id[ROOM_MAX + 1];
    if (o->room_from == HV_JANUS_ROOM_OPAQUE_ID) {
        json_t *v = json_object_get(obj, "opaque_id");
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > ROOM_MAX ||
            strlen(json_string_value(v)) != json_string_length(v)) /* no NUL inside */
            return -1;
        memcpy(id, json_string_value(v), json_string_length(v) + 1);
    } else if (o->room_from == HV_JANUS_ROOM_SESSION) {
        json_t *v = json_object_get(obj, "session_id");
        if (!json_is_integer(v))
            return -1;
        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(v));
    } else {
        return -1;
    }
    size_t pl = strlen(prefix), il = strlen(id);
    if (pl + il > ROOM_MAX)
        return -1;
    memcpy(room, prefix, pl);
    memcpy(room + pl, id, il + 1);
    return 0;
}

/* Copies the JSON text raw[0..len) without the whitespace between its
 * tokens into out (len + 1 bytes); returns the length. raw has been
 * accepted by jansson, so the only state needed is "inside a string" and
 * "after a backslash": whitespace inside strings is kept, and JSON forbids
 * raw control characters there. */
static size_t minify(const char *raw, size_t len, char *out)
{
    size_t n = 0;
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = raw[i];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (ch == '\\')
                escaped = 1;
            else if (ch == '"')
                in_string = 0;
        } else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
            continue;
        } else if (ch == '"') {
            in_string = 1;
        }
        out[n++] = ch;
    }
    out[n] = 0;
    return n;
}

/* 0 when obj is a Janus event (an object with an integer "type"); else -1
 * with err (when not NULL) saying which element is wrong and why. */
static int check_one(json_t *obj, long index, char *err, size_t errlen)
{
    char where[32] = "";
    if (index >= 0)
        snprintf(where, sizeof(where), "events[%ld]", index);
    if (!json_is_object(obj)) {
        if (err)
            snprintf(err, errlen, "%s must be a JSON object (a Janus event)", index >= 0 ? where : "body");
        return -1;
    }
    if (!json_is_integer(json_object_get(obj, "type"))) {
        if (err)
            snprintf(err, errlen, "%s%stype must be an integer (the Janus event type)", where,
                     index >= 0 ? "." : "");
        return -1;
    }
    return 0;
}

/* Maps one checked element, whose text in the body is raw[0..rlen). */
static hv_event *map_one(json_t *obj, const char *raw, size_t rlen, const hv_janus_opts *o, uint8_t *digest)
{
    /* The element's own text, compacted: every key, value and escape as
     * Janus wrote it (dumping the parsed tree again cost ~15 % of ingest). */
    char stack[4096];
    char *text = rlen < sizeof(stack) ? stack : hv_xmalloc(rlen + 1);
    size_t tlen = minify(raw, rlen, text);
    digest_of(text, tlen, digest);
    char room[ROOM_MAX + 1];
    int has_room = room_of(obj, o, room) == 0;
    hv_event *ev = hv_event_new(hv_janus_type_name(json_integer_value(json_object_get(obj, "type"))),
                                has_room ? room : NULL, NULL, text, tlen);
    if (text != stack)
        free(text);
    return ev;
}

static json_t *load(const char *body, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", body ? len : 0, JSON_DECODE_ANY, &jerr);
    if (!root) {
        char text[JSON_ERROR_TEXT_LENGTH];
        size_t i = 0;
        for (; jerr.text[i] && i < sizeof(text) - 1; i++) /* printable ASCII only */
            text[i] = jerr.text[i] >= 0x20 && jerr.text[i] < 0x7f ? jerr.text[i] : '?';
        text[i] = 0;
        snprintf(err, errlen, "body is not valid JSON: %s at line %d column %d", text, jerr.line,
                 jerr.column);
        return NULL;
    }
    size_t n = json_is_array(root) ? json_array_size(root) : 1;
    const char *why = !json_is_object(root) && !json_is_array(root)
                          ? "body must be a Janus event object or an array of them"
                      : n == 0 ? "no events" : NULL;
    if (!why && n > HV_PUBLISH_MAX_BATCH) {
        snprintf(err, errlen, "too many events: %zu (at most %d per request)", n, HV_PUBLISH_MAX_BATCH);
        json_decref(root);
        return NULL;
    }
    if (why) {
        snprintf(err, errlen, "%s", why);
        json_decref(root);
        return NULL;
    }
    return root;
}

void hv_janus_batch_free(hv_janus_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        hv_event_unref(b->evs[i]);
    free(b->evs);
    free(b->digests);
    memset(b, 0, sizeof(*b));
}

static size_t skip_ws(const char *b, size_t len, size_t i)
{
    while (i < len && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t'))
        i++;
    return i;
}

/* Adds one event to the batch, growing it. */
static void batch_add(hv_janus_batch *out, size_t *cap, json_t *obj, const char *raw, size_t rlen,
                      const hv_janus_opts *o)
{
    if (out->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        out->evs = hv_xrealloc(out->evs, *cap * sizeof(*out->evs));
        out->digests = hv_xrealloc(out->digests, *cap * sizeof(*out->digests));
    }
    out->evs[out->n] = map_one(obj, raw, rlen, o, out->digests[out->n]);
    out->n++;
}

/* The usual body, an array of Janus events: each element is decoded on
 * its own (jansson stops after it and says how many bytes it read), so
 * its text is known and kept. 0 when the whole body was taken; -1 when
 * anything is unusual (bad JSON, a bad element, too many): the caller then
 * decodes the whole body, which words the error. */
static int parse_elements(const char *body, size_t len, const hv_janus_opts *o, hv_janus_batch *out)
{
    size_t i = skip_ws(body, len, 0), cap = 0;
    if (i >= len || body[i] != '[')
        return -1;
    for (i = skip_ws(body, len, i + 1); i < len && body[i] != ']';) {
        json_error_t jerr;
        json_t *obj = json_loadb(body + i, len - i, JSON_DISABLE_EOF_CHECK, &jerr);
        if (!obj || out->n == HV_PUBLISH_MAX_BATCH || check_one(obj, 0, NULL, 0) != 0) {
            json_decref(obj);
            return -1;
        }
        size_t start = skip_ws(body, len, i), end = i + (size_t)jerr.position;
        batch_add(out, &cap, obj, body + start, end - start, o);
        json_decref(obj);
        i = skip_ws(body, len, end);
        if (i < len && body[i] == ',') {
            i = skip_ws(body, len, i + 1);
            if (i >= len || body[i] == ']') /* [a,] is not JSON */
                return -1;
        } else if (i >= len || body[i] != ']') {
            return -1;
        }
    }
    return out->n > 0 && i < len && skip_ws(body, len, i + 1) == len ? 0 : -1;
}

/* Any other body: decoded whole. A single object is the event and its
 * text is the body; an array here has a bad element, reported. */
static int parse_whole(const char *body, size_t len, const hv_janus_opts *o, hv_janus_batch *out,
                       char *err, size_t errlen)
{
    json_t *root = load(body, len, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    if (json_is_array(root)) {
        for (size_t i = 0; i < json_array_size(root) && rc == -1; i++)
            if (check_one(json_array_get(root, i), (long)i, err, errlen) != 0)
                rc = -2;
        if (rc == -1) /* parse_elements refuses nothing this accepts */
            snprintf(err, errlen, "body is not a JSON array of Janus events");
    } else if (check_one(root, -1, err, errlen) == 0) {
        size_t start = skip_ws(body, len, 0), end = len;
        while (end > start && (body[end - 1] == ' ' || body[end - 1] == '\n' || body[end - 1] == '\r' ||
                               body[end - 1] == '\t'))
            end--;
        size_t cap = 0;
        batch_add(out, &cap, root, body + start, end - start, o);
        rc = 0;
    }
    json_decref(root);
    return rc == 0 ? 0 : -1;
}

int hv_janus_parse(const char *body, size_t len, const hv_janus_opts *o, hv_janus_batch *out,
                   char *err, size_t errlen)
{
    char scratch[8];
    if (!err || errlen == 0)
        err = scratch, errlen = sizeof(scratch);
    err[0] = 0;
    memset(out, 0, sizeof(*out));
    /* JSON text never holds a raw NUL, but jansson stops reading at one as
     * if the text ended there; refuse it rather than keep half an event. */
    const char *nul = body ? memchr(body, 0, len) : NULL;
    if (nul) {
        snprintf(err, errlen, "body is not valid JSON: a NUL byte at offset %zu", (size_t)(nul - body));
        return -1;
    }
    if (body && parse_elements(body, len, o, out) == 0)
        return 0;
    hv_janus_batch_free(out);
    if (parse_whole(body, len, o, out, err, errlen) == 0)
        return 0;
    hv_janus_batch_free(out);
    return -1;
}
