/* SPDX-License-Identifier: MIT */
/* cli_rooms.c — herald-cli's room and peer commands, over the room REST
 * calls of the client library (server token).
 *
 *   room create [--max-peers N] [--webhook-url URL] [--room-id ID]
 *               [--video-codec C] [--room-type T] [--public]
 *                                   prints the Room (--json: the whole
 *                                   answer {"room":…,"fishjam_address":…})
 *   room list                       one Room per line (--json: the array)
 *   room get ROOM                   prints the Room
 *   room delete ROOM                prints nothing
 *   peer add ROOM [--type webrtc|agent|vapi] [--metadata JSON]
 *                 [--subscribe-mode auto|manual]
 *                 [--vapi-api-key KEY --vapi-call-id ID]
 *                                   prints {"peer":…,"token":…,
 *                                   "peer_websocket_url":…}; --token-only:
 *                                   the token alone
 *   peer delete ROOM PEER           prints nothing
 *   peer refresh-token ROOM PEER    prints {"token":…}; --token-only: the
 *                                   token alone
 *   peer connect                    see cli_peer.c
 *
 * Every JSON printed is one compact line.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Prints data_json (or, with member, its member) as one line. */
static int print_data(const char *what, const char *data_json, const char *member)
{
    json_t *root = json_loads(data_json, 0, NULL);
    json_t *v = member ? json_object_get(root, member) : root;
    int rc = 0;
    if (v)
        cli_print_json(v);
    else
        rc = cli_fail(what, HERALD_EPROTO, "");
    json_decref(root);
    return rc;
}

static int room_create(const cli *c)
{
    char err[512] = "";
    json_t *cfg = json_object();
    if (c->has_max_peers)
        json_object_set_new(cfg, "maxPeers", json_integer((json_int_t)c->max_peers));
    if (c->webhook_url)
        json_object_set_new(cfg, "webhookUrl", json_string(c->webhook_url));
    if (c->room_id)
        json_object_set_new(cfg, "roomId", json_string(c->room_id));
    if (c->video_codec)
        json_object_set_new(cfg, "videoCodec", json_string(c->video_codec));
    if (c->room_type)
        json_object_set_new(cfg, "roomType", json_string(c->room_type));
    if (c->is_public)
        json_object_set_new(cfg, "public", json_true());
    char *body = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    if (!body)
        return cli_fail("room create", HERALD_EINVAL, "an option is not valid UTF-8");
    char *data = NULL;
    int rc = herald_room_create(c->server, c->token, body, &data, NULL, err, sizeof(err));
    free(body);
    if (rc != 0)
        return cli_fail("room create", rc, err);
    rc = print_data("room create", data, c->json ? NULL : "room");
    free(data);
    return rc;
}

static int room_list(const cli *c)
{
    char err[512] = "";
    char *data = NULL;
    int rc = herald_room_list(c->server, c->token, &data, NULL, err, sizeof(err));
    if (rc != 0)
        return cli_fail("room list", rc, err);
    json_t *rooms = json_loads(data, 0, NULL);
    if (!json_is_array(rooms)) {
        rc = cli_fail("room list", HERALD_EPROTO, "");
    } else if (c->json) {
        cli_print_json(rooms);
    } else {
        size_t i;
        json_t *room;
        json_array_foreach(rooms, i, room) cli_print_json(room);
    }
    json_decref(rooms);
    free(data);
    return rc;
}

static int room_get(const cli *c, const char *id)
{
    char err[512] = "";
    char *data = NULL;
    int rc = herald_room_get(c->server, c->token, id, &data, NULL, err, sizeof(err));
    if (rc != 0)
        return cli_fail("room get", rc, err);
    cli_print_json_text(data, strlen(data));
    free(data);
    return 0;
}

static int room_delete(const cli *c, const char *id)
{
    char err[512] = "";
    int rc = herald_room_delete(c->server, c->token, id, NULL, err, sizeof(err));
    return rc != 0 ? cli_fail("room delete", rc, err) : 0;
}

int cli_room(const cli *c, char **args, int nargs)
{
    const char *sub = nargs > 0 ? args[0] : NULL;
    int want = !sub                         ? -1
               : !strcmp(sub, "create")     ? 0
               : !strcmp(sub, "list")       ? 0
               : !strcmp(sub, "get")        ? 1
               : !strcmp(sub, "delete")     ? 1
                                            : -1;
    if (want < 0)
        return sub ? cli_usage_error("unknown room command '%s' (create, list, get, delete)", sub)
                   : cli_usage_error("%s", "room needs a command: create, list, get, delete");
    if (nargs - 1 < want)
        return cli_usage_error("room %s needs a ROOM id", sub);
    if (nargs - 1 > want)
        return cli_usage_error("unexpected argument '%s'", args[want + 1]);
    if (!strcmp(sub, "create"))
        return room_create(c);
    if (!strcmp(sub, "list"))
        return room_list(c);
    if (!strcmp(sub, "get"))
        return room_get(c, args[1]);
    return room_delete(c, args[1]);
}

/* ---- peers ---- */

/* Prints the token of data_json alone (--token-only) or data_json. */
static int print_token_or_data(const cli *c, const char *what, const char *data)
{
    if (!c->token_only) {
        cli_print_json_text(data, strlen(data));
        return 0;
    }
    char *tok = NULL;
    int rc = herald_peer_parse(data, NULL, &tok);
    if (rc != 0)
        return cli_fail(what, rc, "the answer has no token");
    cli_print_line(tok, strlen(tok));
    free(tok);
    return 0;
}

static int peer_add(const cli *c, const char *room)
{
    char err[512] = "";
    if ((c->vapi_api_key || c->vapi_call_id) && !(c->type && !strcmp(c->type, "vapi")))
        return cli_usage_error("%s", "--vapi-api-key and --vapi-call-id go with --type vapi");
    json_t *opts = json_object();
    if (c->metadata) {
        json_error_t jerr;
        json_t *md = json_loads(c->metadata, JSON_DECODE_ANY, &jerr);
        if (!md) {
            json_decref(opts);
            return cli_usage_error("--metadata is not valid JSON: %s", jerr.text);
        }
        json_object_set_new(opts, "metadata", md);
    }
    if (c->subscribe_mode)
        json_object_set_new(opts, "subscribeMode", json_string(c->subscribe_mode));
    /* a vapi peer's options; the server says when one is missing */
    if (c->vapi_api_key)
        json_object_set_new(opts, "apiKey", json_string(c->vapi_api_key));
    if (c->vapi_call_id)
        json_object_set_new(opts, "callId", json_string(c->vapi_call_id));
    json_t *req = json_pack("{s:s?,s:o}", "type", c->type ? c->type : "webrtc", "options", opts);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return cli_fail("peer add", HERALD_EINVAL, "an option is not valid UTF-8");
    char *data = NULL;
    int rc = herald_peer_add(c->server, c->token, room, body, &data, NULL, err, sizeof(err));
    free(body);
    if (rc != 0)
        return cli_fail("peer add", rc, err);
    rc = print_token_or_data(c, "peer add", data);
    free(data);
    return rc;
}

static int peer_delete(const cli *c, const char *room, const char *peer)
{
    char err[512] = "";
    int rc = herald_peer_delete(c->server, c->token, room, peer, NULL, err, sizeof(err));
    return rc != 0 ? cli_fail("peer delete", rc, err) : 0;
}

static int peer_refresh(const cli *c, const char *room, const char *peer)
{
    char err[512] = "";
    char *data = NULL;
    int rc = herald_peer_refresh_token(c->server, c->token, room, peer, &data, NULL, err,
                                       sizeof(err));
    if (rc != 0)
        return cli_fail("peer refresh-token", rc, err);
    rc = print_token_or_data(c, "peer refresh-token", data);
    free(data);
    return rc;
}

int cli_peer(const cli *c, char **args, int nargs)
{
    const char *sub = nargs > 0 ? args[0] : NULL;
    int want = !sub                             ? -1
               : !strcmp(sub, "add")            ? 1
               : !strcmp(sub, "delete")         ? 2
               : !strcmp(sub, "refresh-token")  ? 2
               : !strcmp(sub, "connect")        ? 0
                                                : -1;
    if (want < 0)
        return sub ? cli_usage_error("unknown peer command '%s' (add, delete, refresh-token, "
                                     "connect)", sub)
                   : cli_usage_error("%s", "peer needs a command: add, delete, refresh-token, "
                                           "connect");
    if (nargs - 1 < want)
        return cli_usage_error(want == 1 ? "peer %s needs a ROOM id" : "peer %s needs ROOM and PEER ids",
                               sub);
    if (nargs - 1 > want)
        return cli_usage_error("unexpected argument '%s'", args[want + 1]);
    if (!strcmp(sub, "add"))
        return peer_add(c, args[1]);
    if (!strcmp(sub, "delete"))
        return peer_delete(c, args[1], args[2]);
    if (!strcmp(sub, "refresh-token"))
        return peer_refresh(c, args[1], args[2]);
    return cli_peer_connect(c);
}
