/* SPDX-License-Identifier: MIT */
/* model.c — room and peer records; see model.h.
 *
 * Error messages follow the reference server (fishjam-protocol.md §5):
 * "Expected webhookUrl to be valid URL, got: …", "Invalid peer type", ...
 */
#include "core/xalloc.h"
#include "rooms/model.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"

static const char *const room_types[] = {"full_feature", "audio_only", "broadcaster", "livestream",
                                         "conference", "audio_only_livestream", NULL};

void hv_token_hash(const char *token, char hash_hex[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hash_hex + 2 * i, 3, "%02x", d[i]);
}

void hv_token_new(char token[44], char hash_hex[65])
{
    unsigned char raw[32], b64[48];
    RAND_bytes(raw, sizeof(raw));
    EVP_EncodeBlock(b64, raw, sizeof(raw)); /* 44 chars with one '=' */
    for (int i = 0; i < 43; i++)
        token[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    token[43] = 0;
    hv_token_hash(token, hash_hex);
}

static int valid_url(const char *s)
{
    const char *rest = !strncmp(s, "http://", 7) ? s + 7 : !strncmp(s, "https://", 8) ? s + 8 : NULL;
    if (!rest || !*rest || *rest == '/' || *rest == ':')
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
            return 0;
    return 1;
}

static int valid_room_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static const char *got(json_t *v, char *buf, size_t len)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(buf, len, "%s", s ? s : "?");
    free(s);
    return buf;
}

static int check_config(json_t *cfg, char *err, size_t errlen)
{
    char g[128];
    json_t *v = json_object_get(cfg, "maxPeers");
    if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) >= 0))
        return snprintf(err, errlen, "Expected maxPeers to be a non-negative integer, got: %s", got(v, g, sizeof(g))), -1;
    v = json_object_get(cfg, "webhookUrl");
    if (v && !json_is_null(v) && !(json_is_string(v) && valid_url(json_string_value(v))))
        return snprintf(err, errlen, "Expected webhookUrl to be valid URL, got: %s", got(v, g, sizeof(g))), -1;
    v = json_object_get(cfg, "videoCodec");
    if (v && !json_is_null(v) &&
        !(json_is_string(v) && (!strcmp(json_string_value(v), "h264") || !strcmp(json_string_value(v), "vp8"))))
        return snprintf(err, errlen, "Expected videoCodec to be 'h264' or 'vp8', got: %s", got(v, g, sizeof(g))), -1;
    v = json_object_get(cfg, "roomType");
    if (v && !json_is_null(v)) {
        int ok = 0;
        for (int i = 0; json_is_string(v) && room_types[i]; i++)
            ok |= !strcmp(json_string_value(v), room_types[i]);
        if (!ok)
            return snprintf(err, errlen, "Expected roomType to be one of full_feature, audio_only, broadcaster, "
                                         "livestream, conference, audio_only_livestream, got: %s", got(v, g, sizeof(g))), -1;
    }
    v = json_object_get(cfg, "public");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        return snprintf(err, errlen, "Expected public to be a boolean, got: %s", got(v, g, sizeof(g))), -1;
    v = json_object_get(cfg, "batchWebhookNotifications");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        return snprintf(err, errlen, "Expected batchWebhookNotifications to be a boolean, got: %s",
                        got(v, g, sizeof(g))), -1;
    v = json_object_get(cfg, "roomId");
    if (v && !json_is_null(v) && !(json_is_string(v) && valid_room_id(json_string_value(v))))
        return snprintf(err, errlen, "Expected roomId to be 1-128 letters, digits, '-', '_' or '.', got: %s",
                        got(v, g, sizeof(g))), -1;
    return 0;
}

/* The config as echoed: every known key, defaults filled in. */
static json_t *echo_config(json_t *in)
{
    static const char *const keys[] = {"maxPeers", "webhookUrl", "roomType", "videoCodec", "public",
                                       "peerlessPurgeTimeout", "peerDisconnectedTimeout",
                                       "batchWebhookNotifications", NULL};
    json_t *out = json_object();
    for (int i = 0; keys[i]; i++) {
        json_t *v = json_object_get(in, keys[i]);
        json_object_set(out, keys[i], v ? v : json_null());
    }
    if (json_is_null(json_object_get(out, "roomType")))
        json_object_set_new(out, "roomType", json_string("conference"));
    if (json_is_null(json_object_get(out, "public")))
        json_object_set_new(out, "public", json_false());
    if (json_is_null(json_object_get(out, "batchWebhookNotifications")))
        json_object_set_new(out, "batchWebhookNotifications", json_false());
    return out;
}

static hv_room *room_new(const char *id, json_t *config)
{
    hv_room *room = hv_xcalloc(1, sizeof(*room));
    room->id = hv_xstrdup(id);
    room->config = config;
    json_t *mp = json_object_get(config, "maxPeers");
    room->max_peers = json_is_integer(mp) ? (int)json_integer_value(mp) : 0;
    return room;
}

hv_room *hv_room_from_body(const char *body, size_t len, char *err, size_t errlen)
{
    json_t *in = len ? json_loadb(body, len, 0, NULL) : json_object();
    if (!json_is_object(in)) {
        json_decref(in);
        snprintf(err, errlen, "Invalid request body structure");
        return NULL;
    }
    if (check_config(in, err, errlen) != 0) {
        json_decref(in);
        return NULL;
    }
    char id[37];
    const char *given = json_string_value(json_object_get(in, "roomId"));
    if (!given)
        hv_uuid4(id);
    hv_room *room = room_new(given ? given : id, echo_config(in));
    json_decref(in);
    return room;
}

/* A vapi peer's options: apiKey and callId, non-empty strings (SDK 0.26+
 * PeerOptionsVapi). herald joins no VAPI call, so it keeps neither: the
 * API key is a credential it has no use for. 0, or -1 with err. */
static int check_vapi(json_t *opts, char *err, size_t errlen)
{
    static const char *const keys[] = {"apiKey", "callId"};
    char g[128];
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(opts, keys[i]);
        if (!v || json_is_null(v))
            return snprintf(err, errlen, "Missing %s in vapi peer options", keys[i]), -1;
        if (!json_is_string(v) || !json_string_length(v))
            return snprintf(err, errlen, "Expected %s to be a non-empty string, got: %s", keys[i],
                            got(v, g, sizeof(g))), -1;
    }
    return 0;
}

static int type_of(const char *type)
{
    return !strcmp(type, "webrtc") ? 1 : !strcmp(type, "agent") ? 2 : !strcmp(type, "vapi") ? 3 : 0;
}

int hv_peer_from_body(hv_peer *p, const char *body, size_t len, char *err, size_t errlen)
{
    json_t *in = json_loadb(body, len, 0, NULL);
    const char *type = json_string_value(json_object_get(in, "type"));
    json_t *opts = json_object_get(in, "options");
    int rc = -1;
    if (!json_is_object(in) || !type || (opts && !json_is_object(opts) && !json_is_null(opts)))
        snprintf(err, errlen, "Invalid request body structure");
    else if (!type_of(type))
        snprintf(err, errlen, "Invalid peer type");
    else if (type_of(type) == 3 && check_vapi(opts, err, errlen) != 0) {
        /* err says which option */
    } else {
        const char *mode = json_string_value(json_object_get(opts, "subscribeMode"));
        json_t *md = json_object_get(opts, "metadata");
        if (json_object_get(opts, "subscribeMode") && !json_is_null(json_object_get(opts, "subscribeMode")) &&
            (!mode || (strcmp(mode, "auto") != 0 && strcmp(mode, "manual") != 0))) {
            snprintf(err, errlen, "Expected subscribeMode to be 'auto' or 'manual'");
        } else {
            p->type = type_of(type);
            snprintf(p->subscribe_mode, sizeof(p->subscribe_mode), "%s", mode ? mode : "auto");
            free(p->metadata);
            p->metadata = json_dumps(md ? md : json_null(), JSON_ENCODE_ANY | JSON_COMPACT);
            rc = 0;
        }
    }
    json_decref(in);
    return rc;
}

const char *hv_peer_type_name(int type)
{
    return type == 2 ? "agent" : type == 3 ? "vapi" : "webrtc";
}

json_t *hv_peer_json(const hv_peer *p)
{
    json_t *md = json_loads(p->metadata ? p->metadata : "null", JSON_DECODE_ANY, NULL);
    return json_pack("{s:s,s:s,s:s,s:o,s:[],s:s,s:{s:[],s:[]}}", "id", p->id, "type", hv_peer_type_name(p->type),
                     "status", p->conn || p->session ? "connected" : "disconnected", "metadata", md ? md : json_null(),
                     "tracks", "subscribeMode", p->subscribe_mode, "subscriptions", "peers", "tracks");
}

json_t *hv_room_json(const hv_room *room)
{
    json_t *peers = json_array();
    for (size_t i = 0; i < room->npeers; i++)
        json_array_append_new(peers, hv_peer_json(room->peers[i]));
    return json_pack("{s:s,s:O,s:o,s:[]}", "id", room->id, "config", room->config, "peers", peers, "components");
}

char *hv_room_record(const hv_room *room)
{
    json_t *j = json_pack("{s:s,s:O}", "id", room->id, "config", room->config);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

hv_room *hv_room_from_record(const char *id, const char *rec)
{
    json_t *j = json_loads(rec, 0, NULL);
    json_t *cfg = json_object_get(j, "config");
    hv_room *room = json_is_object(cfg) ? room_new(id, json_incref(cfg)) : NULL;
    json_decref(j);
    return room;
}

char *hv_peer_record(const hv_peer *p)
{
    json_t *md = json_loads(p->metadata ? p->metadata : "null", JSON_DECODE_ANY, NULL);
    json_t *j = json_pack("{s:s,s:s,s:i,s:o,s:s,s:s}", "id", p->id, "room_id", p->room_id, "type", p->type,
                          "metadata", md ? md : json_null(), "subscribeMode", p->subscribe_mode,
                          "token_sha256", p->token_hash);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

hv_peer *hv_peer_from_record(const char *id, const char *rec)
{
    json_t *j = json_loads(rec, 0, NULL);
    const char *room_id = json_string_value(json_object_get(j, "room_id"));
    const char *hash = json_string_value(json_object_get(j, "token_sha256"));
    const char *mode = json_string_value(json_object_get(j, "subscribeMode"));
    hv_peer *p = NULL;
    if (room_id && hash && strlen(hash) == 64 && strlen(id) < sizeof(p->id)) {
        p = hv_peer_alloc(room_id);
        snprintf(p->id, sizeof(p->id), "%s", id);
        json_int_t type = json_integer_value(json_object_get(j, "type"));
        p->type = type == 2 || type == 3 ? (int)type : 1;
        p->metadata = json_dumps(json_object_get(j, "metadata") ? json_object_get(j, "metadata") : json_null(),
                                 JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(p->subscribe_mode, sizeof(p->subscribe_mode), "%s", mode ? mode : "auto");
        memcpy(p->token_hash, hash, 65);
    }
    json_decref(j);
    return p;
}

hv_peer *hv_peer_alloc(const char *room_id)
{
    hv_peer *p = hv_xcalloc(1, sizeof(*p));
    atomic_init(&p->refs, 1);
    p->room_id = hv_xstrdup(room_id);
    return p;
}

void hv_peer_release(hv_peer *p)
{
    if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(p->room_id);
    free(p->metadata);
    free(p->session);
    free(p);
}

void hv_room_free(hv_room *room)
{
    if (!room)
        return;
    free(room->id);
    json_decref(room->config);
    free(room->peers);
    free(room);
}

void hv_room_add_peer(hv_room *room, hv_peer *p)
{
    if (room->npeers == room->cap) {
        room->cap = room->cap ? room->cap * 2 : 4;
        room->peers = hv_xrealloc(room->peers, room->cap * sizeof(*room->peers));
    }
    room->peers[room->npeers++] = p;
}

void hv_room_remove_peer(hv_room *room, hv_peer *p)
{
    for (size_t i = 0; i < room->npeers; i++)
        if (room->peers[i] == p) {
            memmove(&room->peers[i], &room->peers[i + 1], (room->npeers - i - 1) * sizeof(*room->peers));
            room->npeers--;
            return;
        }
}
