/* janus.c — Janus event-handler bodies to herald events; see janus.h.
 *
 * The body is parsed by jansson with integers kept as json_int_t (long
 * long), so ids below 2^53 and microsecond timestamps come out exactly as
 * they went in; string ids (the transport "id") stay strings. Each element
 * must be an object whose "type" is an integer: that is all herald needs to
 * know of a Janus event. Everything else is kept as it is: the object is
 * dumped compactly (jansson keeps the keys in their order) into the event's
 * data, and the SHA-256 of that text is the event's digest.
 *
 * Cost (bench/RESULTS.md, janus_ingest): the jansson parse and the compact
 * dump are most of it. The SHA-256 implementation is fetched from OpenSSL
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

/* Maps one element; NULL with err set when it is not a Janus event. */
static hv_event *map_one(json_t *obj, long index, const hv_janus_opts *o, uint8_t *digest,
                         char *err, size_t errlen)
{
    char where[32] = "";
    if (index >= 0)
        snprintf(where, sizeof(where), "events[%ld]", index);
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "%s must be a JSON object (a Janus event)", index >= 0 ? where : "body");
        return NULL;
    }
    json_t *type = json_object_get(obj, "type");
    if (!json_is_integer(type)) {
        snprintf(err, errlen, "%s%stype must be an integer (the Janus event type)", where,
                 index >= 0 ? "." : "");
        return NULL;
    }
    char *text = json_dumps(obj, JSON_COMPACT);
    if (!text)
        abort();
    size_t tlen = strlen(text);
    digest_of(text, tlen, digest);
    char room[ROOM_MAX + 1];
    int has_room = room_of(obj, o, room) == 0;
    hv_event *ev = hv_event_new(hv_janus_type_name(json_integer_value(type)), has_room ? room : NULL,
                                NULL, text, tlen);
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

int hv_janus_parse(const char *body, size_t len, const hv_janus_opts *o, hv_janus_batch *out,
                   char *err, size_t errlen)
{
    char scratch[8];
    if (!err || errlen == 0)
        err = scratch, errlen = sizeof(scratch);
    err[0] = 0;
    memset(out, 0, sizeof(*out));
    json_t *root = load(body, len, err, errlen);
    if (!root)
        return -1;
    int is_array = json_is_array(root);
    size_t count = is_array ? json_array_size(root) : 1;
    out->evs = calloc(count, sizeof(*out->evs));
    out->digests = calloc(count, sizeof(*out->digests));
    if (!out->evs || !out->digests)
        abort();
    for (size_t i = 0; i < count; i++) {
        json_t *obj = is_array ? json_array_get(root, i) : root;
        hv_event *ev = map_one(obj, is_array ? (long)i : -1, o, out->digests[i], err, errlen);
        if (!ev) {
            hv_janus_batch_free(out);
            json_decref(root);
            return -1;
        }
        out->evs[out->n++] = ev;
    }
    json_decref(root);
    return 0;
}
