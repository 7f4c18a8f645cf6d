/* SPDX-License-Identifier: MIT */
/* rooms.c — the Fishjam room REST API of the client library, and the
 * parsing of its answers.
 *
 *   herald_room_create         POST   /room                      → data {"room","fishjam_address"}
 *   herald_room_list           GET    /room                      → data [Room]
 *   herald_room_get            GET    /room/{id}                 → data Room
 *   herald_room_delete         DELETE /room/{id}                 204
 *   herald_peer_add            POST   /room/{id}/peer            → data {"peer","token","peer_websocket_url"}
 *   herald_peer_delete         DELETE /room/{id}/peer/{pid}      204
 *   herald_peer_refresh_token  POST   /room/{id}/peer/{pid}/refresh_token → data {"token"}
 *
 * Each is one synchronous request (http.c). Path ids are percent-encoded.
 * Request bodies given by the caller are checked to be JSON objects and
 * sent as they are; the answer's "data" member is handed back as compact
 * JSON text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define DEFAULT_PEER "{\"type\":\"webrtc\",\"options\":{}}"

/* Builds "/room[/<room>[/peer[/<peer>[<tail>]]]]" with the ids escaped. */
static char *room_path(const char *room_id, const char *peer_id, const char *tail)
{
    char *room = room_id ? herald__escape(room_id) : NULL;
    char *peer = peer_id ? herald__escape(peer_id) : NULL;
    char *path = NULL;
    if ((room_id && !room) || (peer_id && !peer))
        goto out;
    size_t len = 16 + (room ? strlen(room) : 0) + (peer ? strlen(peer) : 0) +
                 (tail ? strlen(tail) : 0);
    if (!(path = malloc(len)))
        goto out;
    if (!room)
        snprintf(path, len, "/room");
    else if (!peer_id)
        snprintf(path, len, "/room/%s%s", room, tail ? tail : "");
    else
        snprintf(path, len, "/room/%s/peer/%s%s", room, peer, tail ? tail : "");
out:
    free(room);
    free(peer);
    return path;
}

/* One call: method on path; body may be NULL. On success *data_json (if
 * data_json is not NULL) gets the answer's "data" member. */
static int call(const char *server, const char *token, const char *method, const char *path,
                const char *body, char **data_json, int *status, char *errbuf, size_t errlen)
{
    int rc, st = 0;
    char *answer = NULL;
    size_t answer_len = 0;
    if (data_json)
        *data_json = NULL;
    if (status)
        *status = 0;
    if (!path)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    char *url = herald__api_url(server, path, &rc, errbuf, errlen);
    if (!url)
        return rc;
    rc = herald__http(method, url, token, body, body ? strlen(body) : 0,
                      data_json ? &answer : NULL, &answer_len, &st, errbuf, errlen);
    free(url);
    if (status)
        *status = st;
    if (rc != 0 || !data_json)
        return rc;

    json_t *root = json_loadb(answer, answer_len, 0, NULL);
    json_t *data = json_object_get(root, "data");
    if (!data) {
        rc = herald__fail(HERALD_EPROTO, errbuf, errlen, "answer without \"data\": %.200s",
                          answer);
    } else if (!(*data_json = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY))) {
        rc = herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    }
    json_decref(root);
    free(answer);
    return rc;
}

/* Checks that text (if not NULL) is a JSON object. */
static int check_object(const char *text, const char *what, char *errbuf, size_t errlen)
{
    if (!text)
        return 0;
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    int ok = json_is_object(v);
    json_decref(v);
    if (ok)
        return 0;
    return v ? herald__fail(HERALD_EINVAL, errbuf, errlen, "%s must be a JSON object", what)
             : herald__fail(HERALD_EINVAL, errbuf, errlen, "%s is not valid JSON: %s", what,
                            jerr.text);
}

/* Checks that a required id is there. */
static int need_id(const char *id, const char *what, char *errbuf, size_t errlen)
{
    if (id && *id)
        return 0;
    return herald__fail(HERALD_EINVAL, errbuf, errlen, "a %s id is required", what);
}

/* Clears the outputs when an argument is refused before any request. */
static int refuse(int rc, char **data_json, int *status)
{
    if (data_json)
        *data_json = NULL;
    if (status)
        *status = 0;
    return rc;
}

int herald_room_create(const char *server, const char *token, const char *config_json,
                       char **data_json, int *status, char *errbuf, size_t errlen)
{
    int rc = check_object(config_json, "the room config", errbuf, errlen);
    if (rc != 0)
        return refuse(rc, data_json, status);
    char *path = room_path(NULL, NULL, NULL);
    rc = call(server, token, "POST", path, config_json ? config_json : "{}", data_json, status,
              errbuf, errlen);
    free(path);
    return rc;
}

int herald_room_list(const char *server, const char *token, char **rooms_json, int *status,
                     char *errbuf, size_t errlen)
{
    char *path = room_path(NULL, NULL, NULL);
    int rc = call(server, token, "GET", path, NULL, rooms_json, status, errbuf, errlen);
    free(path);
    return rc;
}

int herald_room_get(const char *server, const char *token, const char *room_id,
                    char **room_json, int *status, char *errbuf, size_t errlen)
{
    int rc = need_id(room_id, "room", errbuf, errlen);
    if (rc != 0)
        return refuse(rc, room_json, status);
    char *path = room_path(room_id, NULL, NULL);
    rc = call(server, token, "GET", path, NULL, room_json, status, errbuf, errlen);
    free(path);
    return rc;
}

int herald_room_delete(const char *server, const char *token, const char *room_id, int *status,
                       char *errbuf, size_t errlen)
{
    int rc = need_id(room_id, "room", errbuf, errlen);
    if (rc != 0)
        return refuse(rc, NULL, status);
    char *path = room_path(room_id, NULL, NULL);
    rc = call(server, token, "DELETE", path, NULL, NULL, status, errbuf, errlen);
    free(path);
    return rc;
}

int herald_peer_add(const char *server, const char *token, const char *room_id,
                    const char *peer_json, char **data_json, int *status, char *errbuf,
                    size_t errlen)
{
    int rc = need_id(room_id, "room", errbuf, errlen);
    if (rc == 0)
        rc = check_object(peer_json, "the peer request", errbuf, errlen);
    if (rc != 0)
        return refuse(rc, data_json, status);
    char *path = room_path(room_id, NULL, "/peer");
    rc = call(server, token, "POST", path, peer_json ? peer_json : DEFAULT_PEER, data_json,
              status, errbuf, errlen);
    free(path);
    return rc;
}

int herald_peer_delete(const char *server, const char *token, const char *room_id,
                       const char *peer_id, int *status, char *errbuf, size_t errlen)
{
    int rc = need_id(room_id, "room", errbuf, errlen);
    if (rc == 0)
        rc = need_id(peer_id, "peer", errbuf, errlen);
    if (rc != 0)
        return refuse(rc, NULL, status);
    char *path = room_path(room_id, peer_id, NULL);
    rc = call(server, token, "DELETE", path, NULL, NULL, status, errbuf, errlen);
    free(path);
    return rc;
}

int herald_peer_refresh_token(const char *server, const char *token, const char *room_id,
                              const char *peer_id, char **data_json, int *status, char *errbuf,
                              size_t errlen)
{
    int rc = need_id(room_id, "room", errbuf, errlen);
    if (rc == 0)
        rc = need_id(peer_id, "peer", errbuf, errlen);
    if (rc != 0)
        return refuse(rc, data_json, status);
    char *path = room_path(room_id, peer_id, "/refresh_token");
    rc = call(server, token, "POST", path, NULL, data_json, status, errbuf, errlen);
    free(path);
    return rc;
}

/* ---- parsing answers ---- */

/* Parses json; unwraps {"data":{…}}. *root gets what to json_decref. */
static json_t *load_answer(const char *json, json_t **root)
{
    *root = json ? json_loads(json, 0, NULL) : NULL;
    json_t *v = *root;
    if (!json_is_object(v))
        return NULL;
    json_t *data = json_object_get(v, "data");
    return json_is_object(data) ? data : v;
}

/* The value of a non-empty string member, or NULL. */
static const char *str_member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

static int take(const char *src, char **dst)
{
    if (!dst)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : HERALD_ENOMEM;
}

int herald_peer_parse(const char *json, char **peer_id, char **peer_token)
{
    json_t *root;
    if (peer_id)
        *peer_id = NULL;
    if (peer_token)
        *peer_token = NULL;
    json_t *obj = load_answer(json, &root);
    int rc = HERALD_EINVAL;
    if (obj) {
        const char *id = str_member(json_object_get(obj, "peer"), "id");
        const char *tok = str_member(obj, "token");
        if ((peer_id && !id) || (peer_token && !tok))
            rc = HERALD_EPROTO;
        else if ((rc = take(id, peer_id)) == 0 && (rc = take(tok, peer_token)) != 0 && peer_id) {
            free(*peer_id);
            *peer_id = NULL;
        }
    }
    json_decref(root);
    return rc;
}

int herald_room_parse_id(const char *json, char **room_id)
{
    json_t *root;
    if (room_id)
        *room_id = NULL;
    json_t *obj = load_answer(json, &root);
    int rc = HERALD_EINVAL;
    if (obj) {
        json_t *room = json_object_get(obj, "room");
        const char *id = str_member(json_is_object(room) ? room : obj, "id");
        rc = id ? take(id, room_id) : HERALD_EPROTO;
    }
    json_decref(root);
    return rc;
}
