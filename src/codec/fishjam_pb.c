/* SPDX-License-Identifier: MIT */
/* fishjam_pb.c — herald events to fishjam.ServerMessage and back.
 *
 * Encoding is table-driven. type_map names, for each event type that has a
 * protobuf form, its ServerMessage oneof member ("peer.added" ->
 * "peer_added"). The member's sub-message is then filled by walking its
 * protobuf-c descriptor field by field: each field's value is taken from
 * the event's data under the proto field name ("room_id") or its camelCase
 * ("roomId"); room_id falls back to the event's own room_id. Strings take a
 * JSON string as is and any other JSON value as its compact JSON text (so
 * metadata objects become JSON text); enums take a number or a name
 * ("webrtc", "audio", "PEER_TYPE_AGENT", a VAD status "speech" or
 * "silence"; a name that matches nothing leaves the field 0, UNSPECIFIED);
 * a message field (track) recurses
 * into the nested object; a oneof (endpoint_info) gets its first present
 * member. protobuf-c then packs with proto3 rules: default scalars are
 * omitted, the chosen content member always appears.
 *
 * Everything allocated while building one message lives in a small arena
 * freed after packing; plain strings point into the parsed jansson tree.
 *
 * Decoding a client's frame uses the generated unpacker, which skips
 * unknown fields; only auth_request and subscribe_request matter.
 */
#include "codec/fishjam_pb.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "fishjam.pb-c.h"

/* protobuf-c reads oneof cases through uint32_t; so do we (via memcpy). */
_Static_assert(sizeof(Fishjam__ServerMessage__ContentCase) == sizeof(uint32_t),
               "protobuf-c enums are int-sized");

static const struct {
    const char *type;   /* herald event type */
    const char *member; /* ServerMessage oneof content member */
} type_map[] = {
    {"room.created", "room_created"},
    {"room.deleted", "room_deleted"},
    {"room.crashed", "room_crashed"},
    {"peer.added", "peer_added"},
    {"peer.deleted", "peer_deleted"},
    {"peer.connected", "peer_connected"},
    {"peer.disconnected", "peer_disconnected"},
    {"peer.crashed", "peer_crashed"},
    {"peer.metadata_updated", "peer_metadata_updated"},
    {"track.added", "track_added"},
    {"track.removed", "track_removed"},
    {"track.metadata_updated", "track_metadata_updated"},
    {"component.crashed", "component_crashed"},
    {"viewer.connected", "viewer_connected"},
    {"viewer.disconnected", "viewer_disconnected"},
    {"stream.connected", "stream_connected"},
    {"stream.disconnected", "stream_disconnected"},
    {"streamer.connected", "streamer_connected"},
    {"streamer.disconnected", "streamer_disconnected"},
    {"channel.added", "channel_added"},
    {"channel.removed", "channel_removed"},
    /* Members 30-32, after SDK 0.25 (fishjam-protocol-current.md): held
     * back from protobuf consumers by --fishjam-compat 0.25. */
    {"track.forwarding", "track_forwarding"},
    {"track.forwarding_removed", "track_forwarding_removed"},
    {"vad.notification", "vad_notification"},
};

/* The newest ServerMessage member an event may be encoded as; set once at
 * start (hv_fishjam_set_newest_member), read by every encoding thread. */
static _Atomic int newest_member = HV_FJ_MEMBER_NEWEST;

/* ---- arena: the allocations of one message under construction ---- */

#define ARENA_MAX 32 /* the deepest message (track_*) needs about 8 */

typedef struct arena {
    void *p[ARENA_MAX];
    int n;
} arena;

/* Takes ownership of p; NULL when p is NULL or the arena is full. */
static void *arena_keep(arena *a, void *p)
{
    if (p && a->n == ARENA_MAX) {
        free(p);
        return NULL;
    }
    if (p)
        a->p[a->n++] = p;
    return p;
}

static void arena_free(arena *a)
{
    while (a->n > 0)
        free(a->p[--a->n]);
}

/* ---- reading values out of the event's data ---- */

/* "peer_type" -> "peerType". */
static void to_camel(const char *snake, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *s = snake; *s && o + 1 < cap; s++) {
        if (*s == '_' && s[1]) {
            s++;
            out[o++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
        } else {
            out[o++] = *s;
        }
    }
    out[o] = 0;
}

/* data[name] or data[camelCase(name)]; JSON null counts as absent. */
static json_t *data_get(json_t *data, const char *name)
{
    json_t *v = json_object_get(data, name);
    if (!v || json_is_null(v)) {
        char camel[64];
        to_camel(name, camel, sizeof(camel));
        v = json_object_get(data, camel);
    }
    return json_is_null(v) ? NULL : v;
}

/* A string field's text: a JSON string as is, anything else compact JSON. */
static char *text_of(json_t *v, arena *a)
{
    if (!v)
        return NULL;
    if (json_is_string(v))
        return (char *)json_string_value(v);
    return arena_keep(a, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
}

/* "webrtc" matches PEER_TYPE_WEBRTC: the whole name or its last words. */
static int enum_name_matches(const char *name, const char *s)
{
    size_t nl = strlen(name), sl = strlen(s);
    if (sl == 0 || sl > nl)
        return 0;
    if (sl < nl && name[nl - sl - 1] != '_')
        return 0;
    return strcasecmp(name + nl - sl, s) == 0;
}

static int enum_of(json_t *v, const ProtobufCEnumDescriptor *ed, int32_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < INT32_MIN || i > INT32_MAX)
            return -1;
        *out = (int32_t)i;
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    for (unsigned i = 0; i < ed->n_values; i++) {
        if (enum_name_matches(ed->values[i].name, json_string_value(v))) {
            *out = ed->values[i].value;
            return 0;
        }
    }
    return -1;
}

/* ---- filling a message from its descriptor ---- */

static ProtobufCMessage *build(const ProtobufCMessageDescriptor *d, json_t *data,
                               const char *room_fallback, arena *a);

/* Sets a string field; a oneof member only if none of its oneof is set. */
static void set_string(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, char *s)
{
    if (!s || !*s)
        return;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t which;
        memcpy(&which, (char *)m + f->quantifier_offset, sizeof(which));
        if (which != 0)
            return;
        which = f->id;
        memcpy((char *)m + f->quantifier_offset, &which, sizeof(which));
    }
    memcpy((char *)m + f->offset, &s, sizeof(s));
}

static void set_field(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, json_t *data,
                      const char *room_fallback, arena *a)
{
    json_t *v = data_get(data, f->name);
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *s = text_of(v, a);
        if (!s && room_fallback && strcmp(f->name, "room_id") == 0)
            s = (char *)room_fallback;
        set_string(m, f, s);
    } else if (f->type == PROTOBUF_C_TYPE_ENUM) {
        int32_t e;
        if (v && enum_of(v, f->descriptor, &e) == 0)
            memcpy((char *)m + f->offset, &e, sizeof(e));
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && json_is_object(v)) {
        ProtobufCMessage *sub = build(f->descriptor, v, NULL, a);
        if (sub)
            memcpy((char *)m + f->offset, &sub, sizeof(sub));
    }
}

static ProtobufCMessage *build(const ProtobufCMessageDescriptor *d, json_t *data,
                               const char *room_fallback, arena *a)
{
    ProtobufCMessage *m = arena_keep(a, hv_xmalloc(d->sizeof_message));
    if (!m) /* the arena is full */
        return NULL;
    protobuf_c_message_init(d, m);
    for (unsigned i = 0; i < d->n_fields; i++)
        set_field(m, &d->fields[i], data, room_fallback, a);
    return m;
}

/* ---- packing ---- */

static void pack(const Fishjam__ServerMessage *msg, uint8_t **out, size_t *len)
{
    size_t n = fishjam__server_message__get_packed_size(msg);
    uint8_t *buf = hv_xmalloc(n);
    *len = fishjam__server_message__pack(msg, buf);
    *out = buf;
}

/* Packs ServerMessage{<content member f>: sub}. */
static void pack_content(const ProtobufCFieldDescriptor *f, ProtobufCMessage *sub, uint8_t **out,
                         size_t *len)
{
    Fishjam__ServerMessage msg = FISHJAM__SERVER_MESSAGE__INIT;
    msg.content_case = (Fishjam__ServerMessage__ContentCase)f->id;
    memcpy((char *)&msg + f->offset, &sub, sizeof(sub));
    pack(&msg, out, len);
}

void hv_fishjam_set_newest_member(int member)
{
    atomic_store_explicit(&newest_member, member, memory_order_relaxed);
}

/* The type's content member, unless it is newer than the listeners take. */
static const ProtobufCFieldDescriptor *member_for_type(const char *type)
{
    for (size_t i = 0; i < sizeof(type_map) / sizeof(type_map[0]); i++) {
        if (strcmp(type_map[i].type, type) != 0)
            continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
            &fishjam__server_message__descriptor, type_map[i].member);
        if (f && (int)f->id > atomic_load_explicit(&newest_member, memory_order_relaxed))
            return NULL;
        return f;
    }
    return NULL;
}

int hv_fishjam_has_form(const char *type)
{
    return member_for_type(type) != NULL;
}

int hv_fishjam_encode_event(const hv_event *ev, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    const ProtobufCFieldDescriptor *f = ev->type ? member_for_type(ev->type) : NULL;
    if (!f)
        return -1;
    json_t *data = ev->data ? json_loadb(ev->data, ev->data_len, 0, NULL) : NULL;
    arena a = {.n = 0};
    ProtobufCMessage *sub = build(f->descriptor, json_is_object(data) ? data : NULL, ev->room_id, &a);
    if (sub)
        pack_content(f, sub, out, len);
    arena_free(&a);
    json_decref(data);
    return sub ? 0 : -1;
}

/* ---- server replies ---- */

void hv_fishjam_encode_authenticated(uint8_t **out, size_t *len)
{
    Fishjam__ServerMessage__Authenticated auth = FISHJAM__SERVER_MESSAGE__AUTHENTICATED__INIT;
    Fishjam__ServerMessage msg = FISHJAM__SERVER_MESSAGE__INIT;
    msg.content_case = FISHJAM__SERVER_MESSAGE__CONTENT_AUTHENTICATED;
    msg.authenticated = &auth;
    pack(&msg, out, len);
}

void hv_fishjam_encode_subscribe_response(int event_type, uint8_t **out, size_t *len)
{
    Fishjam__ServerMessage__SubscribeResponse resp =
        FISHJAM__SERVER_MESSAGE__SUBSCRIBE_RESPONSE__INIT;
    resp.event_type = (Fishjam__ServerMessage__EventType)event_type;
    Fishjam__ServerMessage msg = FISHJAM__SERVER_MESSAGE__INIT;
    msg.content_case = FISHJAM__SERVER_MESSAGE__CONTENT_SUBSCRIBE_RESPONSE;
    msg.subscribe_response = &resp;
    pack(&msg, out, len);
}

void hv_fishjam_encode_metrics_report(const char *json, uint8_t **out, size_t *len)
{
    Fishjam__ServerMessage__MetricsReport report = FISHJAM__SERVER_MESSAGE__METRICS_REPORT__INIT;
    if (json)
        report.metrics = (char *)json;
    Fishjam__ServerMessage msg = FISHJAM__SERVER_MESSAGE__INIT;
    msg.content_case = FISHJAM__SERVER_MESSAGE__CONTENT_METRICS_REPORT;
    msg.metrics_report = &report;
    pack(&msg, out, len);
}

/* ---- client requests ---- */

void hv_fishjam_decode_request(const uint8_t *buf, size_t len, hv_fj_request *req)
{
    static const uint8_t empty[1];
    memset(req, 0, sizeof(*req));
    req->kind = HV_FJ_REQ_INVALID;
    if (!buf)
        buf = empty, len = 0;
    Fishjam__ServerMessage *m = fishjam__server_message__unpack(NULL, len, buf);
    if (!m)
        return;
    req->kind = HV_FJ_REQ_OTHER;
    if (m->content_case == FISHJAM__SERVER_MESSAGE__CONTENT_AUTH_REQUEST) {
        const char *token = m->auth_request->token ? m->auth_request->token : "";
        req->token = hv_xstrdup(token);
        req->kind = HV_FJ_REQ_AUTH;
    } else if (m->content_case == FISHJAM__SERVER_MESSAGE__CONTENT_SUBSCRIBE_REQUEST) {
        req->kind = HV_FJ_REQ_SUBSCRIBE;
        req->event_type = (int)m->subscribe_request->event_type;
    }
    fishjam__server_message__free_unpacked(m, NULL);
}

void hv_fishjam_request_clear(hv_fj_request *req)
{
    free(req->token);
    memset(req, 0, sizeof(*req));
}
