/* SPDX-License-Identifier: MIT */
/* decode.c — turns webhook bodies into herald_notification.
 *
 * Binary (Fishjam): protobuf-c unpacks the body as fishjam.ServerMessage
 * (generated from proto/fishjam.proto). Rather than one case per oneof
 * member, the code walks the generated descriptors: it finds the member
 * whose case is set, takes its proto name ("peer_added" → name
 * "peerAdded", type "peer.added"), then reads each field of the
 * sub-message by descriptor (offset, type, oneof case) into the struct by
 * field name and into a JSON rendering with the SDK's camelCase keys and
 * proto3 defaults. Members that are control messages of the notifier
 * socket (authenticated, auth/subscribe requests and responses, Jellyfish
 * metrics_report) are refused with HERALD_ENOTNOTIF.
 *
 * JSON: jansson parses the body. {"notification": "<string>"} is the
 * Jellyfish form: the string's UTF-8 bytes are the protobuf bytes (as the
 * Python SDK reads it); failing that, and when every code point is below
 * 256, the code points are the bytes (herald's form for protobuf bytes
 * that are not valid UTF-8). Anything with a "type"
 * string is herald's native envelope; its data fields are read with
 * snake_case or camelCase keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client_internal.h"
#include "fishjam.pb-c.h"

static const char *const CONTROL_MEMBERS[] = {
    "authenticated", "auth_request", "subscribe_request", "subscribe_response", "metrics_report",
};

void herald_notification_clear(herald_notification *n)
{
    if (!n)
        return;
    char **strs[] = {&n->name,           &n->type,     &n->room_id,     &n->peer_id,
                     &n->reason,         &n->metadata, &n->component_id, &n->track_id,
                     &n->track_metadata, &n->stream_id, &n->viewer_id,  &n->streamer_id,
                     &n->channel_id,     &n->id,       &n->user_id,     &n->timestamp,
                     &n->data,           &n->json};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(*strs[i]);
    memset(n, 0, sizeof(*n));
}

/* "peer_metadata_updated" or "peer.metadata_updated" → "peerMetadataUpdated" */
static char *camel_case(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    int up = 0;
    for (; *s; s++) {
        if (*s == '_' || *s == '.') {
            up = o != out;
            continue;
        }
        *o++ = (up && *s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s;
        up = 0;
    }
    *o = '\0';
    return out;
}

/* "peer_metadata_updated" → "peer.metadata_updated" */
static char *dotted_type(const char *s)
{
    char *out = strdup(s);
    char *u = out ? strchr(out, '_') : NULL;
    if (u)
        *u = '.';
    return out;
}

/* The struct member for a field name; nested is 1 inside "track". */
static char **string_slot(herald_notification *n, const char *name, int nested)
{
    if (nested) {
        if (!strcmp(name, "id")) return &n->track_id;
        if (!strcmp(name, "metadata")) return &n->track_metadata;
        return NULL;
    }
    static const struct { const char *name; size_t off; } map[] = {
        {"room_id", offsetof(herald_notification, room_id)},
        {"peer_id", offsetof(herald_notification, peer_id)},
        {"reason", offsetof(herald_notification, reason)},
        {"metadata", offsetof(herald_notification, metadata)},
        {"component_id", offsetof(herald_notification, component_id)},
        {"track_id", offsetof(herald_notification, track_id)}, /* vadNotification */
        {"stream_id", offsetof(herald_notification, stream_id)},
        {"viewer_id", offsetof(herald_notification, viewer_id)},
        {"streamer_id", offsetof(herald_notification, streamer_id)},
        {"channel_id", offsetof(herald_notification, channel_id)},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(name, map[i].name))
            return (char **)((char *)n + map[i].off);
    return NULL;
}

static int *int_slot(herald_notification *n, const char *name, int nested)
{
    if (nested)
        return !strcmp(name, "type") ? &n->track_type : NULL;
    return !strcmp(name, "peer_type") ? &n->peer_type : NULL;
}

/* Is field f of msg set (for fields with presence)? */
static int field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)msg;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset) != 0;
    return 1;
}

/* Reads every field of msg into n and obj. Returns 0 or HERALD_E*. */
static int read_fields(const ProtobufCMessage *msg, herald_notification *n, json_t *obj,
                       int nested)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *p = (const char *)msg + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED || !field_present(msg, f))
            continue;
        char *key = camel_case(f->name);
        json_t *v = NULL;
        int rc = 0;
        if (!key)
            return HERALD_ENOMEM;
        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING: {
            const char *s = *(char *const *)p;
            if (!s)
                break;
            v = json_string(s);
            if (!v) {
                rc = HERALD_EDECODE; /* not UTF-8 */
                break;
            }
            char **slot = string_slot(n, f->name, nested);
            if (slot && *s && !*slot && !(*slot = strdup(s)))
                rc = HERALD_ENOMEM;
            break;
        }
        case PROTOBUF_C_TYPE_ENUM:
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32: {
            int32_t x = *(const int32_t *)p;
            int *slot = int_slot(n, f->name, nested);
            if (slot)
                *slot = x;
            v = json_integer(x);
            break;
        }
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
            v = json_integer(*(const uint32_t *)p);
            break;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            v = json_integer((json_int_t) * (const int64_t *)p);
            break;
        case PROTOBUF_C_TYPE_BOOL:
            v = json_boolean(*(const protobuf_c_boolean *)p);
            break;
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
            if (!sub)
                break;
            v = json_object();
            if (!v)
                rc = HERALD_ENOMEM;
            else
                rc = read_fields(sub, n, v, 1);
            break;
        }
        default:
            break; /* bytes, floats: not in the notification schema */
        }
        if (rc == 0 && v && json_object_set_new(obj, key, v) != 0)
            rc = HERALD_ENOMEM;
        else if (rc != 0)
            json_decref(v);
        free(key);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* {"name":…,"type":…,"data":data}, adding the envelope's members for a
 * native envelope. */
static int render_json(herald_notification *n, json_t *data, int native)
{
    json_t *root = json_pack("{s:s,s:s}", "name", n->name, "type", n->type);
    if (!root)
        return HERALD_ENOMEM;
    const char *extra_keys[] = {"id", "timestamp", "room_id", "user_id"};
    const char *extra_vals[] = {n->id, n->timestamp, n->room_id, n->user_id};
    for (size_t i = 0; native && i < 4; i++)
        if (extra_vals[i])
            json_object_set_new(root, extra_keys[i], json_string(extra_vals[i]));
    json_object_set(root, "data", data);
    n->json = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return n->json ? 0 : HERALD_ENOMEM;
}

int herald_receive_binary(const uint8_t *body, size_t len, herald_notification *out)
{
    if (!out)
        return HERALD_EINVAL;
    memset(out, 0, sizeof(*out));
    if (!body && len)
        return HERALD_EINVAL;
    static const uint8_t empty[1];
    ProtobufCMessage *m =
        protobuf_c_message_unpack(&fishjam__server_message__descriptor, NULL, len,
                                  body ? body : empty);
    if (!m)
        return HERALD_EDECODE;

    const ProtobufCMessageDescriptor *d = m->descriptor;
    const ProtobufCFieldDescriptor *member = NULL;
    for (unsigned i = 0; i < d->n_fields && !member; i++)
        if ((d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && field_present(m, &d->fields[i]))
            member = &d->fields[i];
    int rc = member && member->type == PROTOBUF_C_TYPE_MESSAGE ? 0 : HERALD_EDECODE;
    for (size_t i = 0; rc == 0 && i < sizeof(CONTROL_MEMBERS) / sizeof(CONTROL_MEMBERS[0]); i++)
        if (!strcmp(member->name, CONTROL_MEMBERS[i]))
            rc = HERALD_ENOTNOTIF;

    json_t *data = NULL;
    if (rc == 0) {
        out->name = camel_case(member->name);
        out->type = dotted_type(member->name);
        data = json_object();
        rc = out->name && out->type && data ? 0 : HERALD_ENOMEM;
    }
    const ProtobufCMessage *sub =
        rc == 0 ? *(ProtobufCMessage *const *)((const char *)m + member->offset) : NULL;
    if (rc == 0 && sub)
        rc = read_fields(sub, out, data, 0);
    if (rc == 0)
        rc = render_json(out, data, 0);
    json_decref(data);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc != 0)
        herald_notification_clear(out);
    return rc;
}

/* ---- JSON bodies ---- */

/* The Jellyfish {"notification": "<bytes as code points>"} form. */
static int receive_jellyfish(json_t *s, herald_notification *out)
{
    const unsigned char *u = (const unsigned char *)json_string_value(s);
    size_t len = json_string_length(s), n = 0;
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes)
        return HERALD_ENOMEM;
    int wide = 0;
    for (size_t i = 0; i < len && !wide;) { /* jansson's strings are valid UTF-8 */
        unsigned cp;
        if (u[i] < 0x80) {
            cp = u[i];
            i += 1;
        } else if ((u[i] & 0xE0) == 0xC0 && i + 1 < len) {
            cp = ((u[i] & 0x1Fu) << 6) | (u[i + 1] & 0x3Fu);
            i += 2;
        } else {
            cp = 0x100; /* three or four bytes: above 255 */
        }
        if (cp > 0xFF)
            wide = 1;
        else
            bytes[n++] = (uint8_t)cp;
    }
    /* The string's UTF-8 bytes first (what the Jellyfish server sent and
     * the Python SDK reads back); when they are not a notification and
     * every code point fits a byte, the one-byte-per-code-point form
     * herald uses for protobuf bytes that are not UTF-8. */
    int rc = herald_receive_binary(u, len, out);
    if (rc != 0 && !wide)
        rc = herald_receive_binary(bytes, n, out);
    free(bytes);
    return rc;
}

/* data[snake] or data[camel] */
static json_t *get2(json_t *obj, const char *snake, const char *camel)
{
    json_t *v = json_object_get(obj, snake);
    return v ? v : json_object_get(obj, camel);
}

static int dup_string(char **slot, json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0) {
        *slot = strdup(json_string_value(v));
        return *slot ? 0 : HERALD_ENOMEM;
    }
    if (json_is_object(v) || json_is_array(v)) { /* metadata given as JSON */
        *slot = json_dumps(v, JSON_COMPACT);
        return *slot ? 0 : HERALD_ENOMEM;
    }
    return 0;
}

static int enum_value(json_t *v, const char *const *names, size_t count)
{
    if (json_is_integer(v))
        return (int)json_integer_value(v);
    for (size_t i = 0; json_is_string(v) && i < count; i++)
        if (names[i] && !strcmp(json_string_value(v), names[i]))
            return (int)i;
    return 0;
}

static int receive_native(json_t *root, herald_notification *out)
{
    static const char *const peer_types[] = {NULL, "webrtc", "agent", "vapi"};
    static const char *const track_types[] = {NULL, "video", "audio"};
    const char *type = json_string_value(json_object_get(root, "type"));
    if (!*type)
        return HERALD_EDECODE;
    if (!strcmp(type, "metrics.report") || !strcmp(type, "authenticated") ||
        !strcmp(type, "subscribe_response"))
        return HERALD_ENOTNOTIF;
    json_t *data = json_object_get(root, "data");
    if (data && !json_is_object(data))
        return HERALD_EDECODE;

    int rc = 0;
    out->type = strdup(type);
    out->name = camel_case(type);
    if (!out->type || !out->name)
        return HERALD_ENOMEM;
    json_t *id = json_object_get(root, "id");
    if (json_is_integer(id)) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(id));
        rc = (out->id = strdup(buf)) ? 0 : HERALD_ENOMEM;
    } else if (rc == 0) {
        rc = dup_string(&out->id, id);
    }
    if (rc == 0) rc = dup_string(&out->timestamp, json_object_get(root, "timestamp"));
    if (rc == 0) rc = dup_string(&out->room_id, json_object_get(root, "room_id"));
    if (rc == 0) rc = dup_string(&out->user_id, json_object_get(root, "user_id"));
    if (rc == 0 && !out->room_id) rc = dup_string(&out->room_id, get2(data, "room_id", "roomId"));

    static const struct { const char *snake, *camel; size_t off; } fields[] = {
        {"peer_id", "peerId", offsetof(herald_notification, peer_id)},
        {"reason", "reason", offsetof(herald_notification, reason)},
        {"metadata", "metadata", offsetof(herald_notification, metadata)},
        {"component_id", "componentId", offsetof(herald_notification, component_id)},
        {"stream_id", "streamId", offsetof(herald_notification, stream_id)},
        {"viewer_id", "viewerId", offsetof(herald_notification, viewer_id)},
        {"streamer_id", "streamerId", offsetof(herald_notification, streamer_id)},
        {"channel_id", "channelId", offsetof(herald_notification, channel_id)},
        {"track_id", "trackId", offsetof(herald_notification, track_id)},
    };
    for (size_t i = 0; rc == 0 && i < sizeof(fields) / sizeof(fields[0]); i++)
        rc = dup_string((char **)((char *)out + fields[i].off),
                        get2(data, fields[i].snake, fields[i].camel));
    out->peer_type = enum_value(get2(data, "peer_type", "peerType"), peer_types, 4);
    json_t *track = json_object_get(data, "track");
    if (rc == 0 && json_is_object(track)) {
        if (!out->track_id)
            rc = dup_string(&out->track_id, json_object_get(track, "id"));
        if (rc == 0)
            rc = dup_string(&out->track_metadata, json_object_get(track, "metadata"));
        out->track_type = enum_value(json_object_get(track, "type"), track_types, 3);
    }
    json_t *empty = data ? NULL : json_object();
    if (rc == 0)
        rc = (out->data = json_dumps(data ? data : empty, JSON_COMPACT)) ? 0 : HERALD_ENOMEM;
    if (rc == 0)
        rc = render_json(out, data ? data : empty, 1);
    json_decref(empty);
    return rc;
}

int herald_receive_json(const char *body, size_t len, herald_notification *out)
{
    if (!out)
        return HERALD_EINVAL;
    memset(out, 0, sizeof(*out));
    if (!body)
        return HERALD_EINVAL;
    json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
    int rc;
    json_t *notif = json_object_get(root, "notification");
    if (json_is_string(notif))
        rc = receive_jellyfish(notif, out);
    else if (json_is_string(json_object_get(root, "type")))
        rc = receive_native(root, out);
    else
        rc = HERALD_EDECODE;
    json_decref(root);
    if (rc != 0)
        herald_notification_clear(out);
    return rc;
}
