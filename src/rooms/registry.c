/* SPDX-License-Identifier: MIT */
/* registry.c — the rooms and peers registry; see registry.h.
 *
 * One mutex guards the maps (rooms by id, peers by id and by token hash)
 * and every room and peer field. An operation validates, changes memory,
 * and hands its events and state records to the hub before unlocking, so
 * the log order is the order of the changes; a change whose commit stores
 * nothing is undone (undo.c). A peer object is reference
 * counted: the registry holds one reference while the peer exists, its
 * socket one while connected, and each cross-loop close message one.
 * With a store several nodes share (r->shared), presence events carry
 * conditions the store decides on, and the changes other nodes make are
 * applied by nodes.c (see there).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/channels.h"
#include "deliver/endpoints.h"
#include "net/server.h"
#include "net/ws.h"
#include "rooms/model.h"
#include "rooms/registry.h"
#include "rooms/registry_internal.h"
#include "store/shared.h"

/* ---- loading ----------------------------------------------------------- */

static void load_room(void *arg, const char *key, const char *value)
{
    hv_rooms *r = arg;
    hv_room *room = hv_room_from_record(key, value);
    if (room)
        hv_map_put(&r->rooms, room->id, room);
}

static void load_peer(void *arg, const char *key, const char *value)
{
    hv_rooms *r = arg;
    hv_peer *p = hv_peer_from_record(key, value);
    hv_room *room = p ? hv_map_get(&r->rooms, p->room_id) : NULL;
    if (!room) {
        hv_peer_release(p);
        return;
    }
    hv_room_add_peer(room, p);
    hv_map_put(&r->tokens, p->token_hash, p);
    hv_map_put(&r->peers, p->id, p);
}

hv_rooms *hv_rooms_new(hv_server *srv)
{
    hv_rooms *r = hv_xcalloc(1, sizeof(*r));
    r->srv = srv;
    r->shared = hv_store_shared(srv->store);
    r->node = srv->cfg.node_id;
    /* Generations start from the clock: a session "<node>/<gen>" is then
     * never one the same node held before it restarted. */
    r->next_gen = (uint64_t)hv_now_ms() * 1000;
    uv_mutex_init(&r->mu);
    hv_map_init(&r->rooms);
    hv_map_init(&r->tokens);
    hv_map_init(&r->peers);
    if (hv_store_kv_load(srv->store, HV_NS_ROOM, load_room, r) != 0 ||
        hv_store_kv_load(srv->store, HV_NS_PEER, load_peer, r) != 0)
        hv_error("rooms: could not load rooms and peers from the store");
    if (r->shared)
        hv__rooms_load_sessions(r);
    hv_info("rooms: %zu rooms loaded", r->rooms.count);
    return r;
}

void hv_rooms_free(hv_rooms *r)
{
    if (!r)
        return;
    size_t it;
    for (hv_map_entry *e = hv_map_first(&r->rooms, &it); e; e = hv_map_next(&r->rooms, e, &it)) {
        hv_room *room = e->value;
        for (size_t i = 0; i < room->npeers; i++)
            hv_peer_release(room->peers[i]);
        hv_room_free(room);
    }
    hv_map_free(&r->rooms);
    hv_map_free(&r->tokens);
    hv_map_free(&r->peers);
    hv__rooms_free_refused(r);
    uv_mutex_destroy(&r->mu);
    free(r);
}

/* ---- helpers ------------------------------------------------------------- */

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static char *errmsg(const char *fmt, const char *a)
{
    char buf[512];
    snprintf(buf, sizeof(buf), fmt, a);
    return hv_xstrdup(buf);
}

static hv_event *room_event(const char *type, const hv_room *room)
{
    char *data = dump(json_pack("{s:s}", "room_id", room->id));
    hv_event *ev = hv_event_new(type, room->id, NULL, data, strlen(data));
    free(data);
    return ev;
}

/* peer.* events carry room_id, peer_id and peer_type, plus extra keys. */
hv_event *hv__rooms_peer_event(const char *type, const hv_peer *p, json_t *extra)
{
    json_t *d = json_pack("{s:s,s:s,s:s}", "room_id", p->room_id, "peer_id", p->id, "peer_type",
                          hv_peer_type_name(p->type));
    if (extra)
        json_object_update(d, extra);
    json_decref(extra);
    char *data = dump(d);
    hv_event *ev = hv_event_new(type, p->room_id, NULL, data, strlen(data));
    free(data);
    return ev;
}

/* Hands events and records to the hub (lock held). Takes the events.
 * -1 when the hub is stopping: then reply.done will not be called. */
int hv__rooms_commit(hv_rooms *r, hv_event **evs, size_t n, hv_kvlist *kv, hv_rooms_reply reply)
{
    hv_event **arr = hv_xmalloc((n ? n : 1) * sizeof(*arr));
    if (n)
        memcpy(arr, evs, n * sizeof(*arr));
    /* Sockets closed by this change are closed after its events reach
     * their loops, so a peer sees room.deleted before its 4005. */
    hv_after *closes = r->closes;
    r->closes = NULL;
    int rc = hv_hub_commit(r->srv->hub, arr, n, kv, closes, reply.origin, reply.done, reply.arg);
    hv_kvlist_clear(kv);
    if (rc != 0)
        hv_warn("rooms: change not committed, the server is stopping");
    return rc;
}

/* The answer of an operation whose commit was refused. */
static hv_result stopping(char **out)
{
    free(*out);
    *out = hv_xstrdup("server is shutting down");
    return HV_ERR_UNAVAILABLE;
}

static void put_peer_record(hv_kvlist *kv, const hv_peer *p)
{
    char *rec = hv_peer_record(p);
    hv_kvlist_put(kv, HV_NS_PEER, p->id, rec);
    free(rec);
}

/* ---- closing a peer's socket from any thread ----------------------------- */

typedef struct close_msg {
    hv_rooms *r;      /* set: close only if the peer is still deleted */
    hv_peer *peer;
    uint64_t gen;
    int code;
    char reason[64];
} close_msg;

/* Runs on the socket's own loop: the socket is found in that loop's room
 * channel by (peer, generation), so a socket that already went away is
 * simply not found. A deletion whose commit stored nothing was undone
 * (undo.c) before this runs: its peer's socket stays open. */
static void do_close(hv_loop *l, void *arg)
{
    close_msg *m = arg;
    int deleted = 1;
    if (m->r) {
        uv_mutex_lock(&m->r->mu);
        deleted = m->peer->deleted;
        uv_mutex_unlock(&m->r->mu);
    }
    hv_sub *s = deleted ? hv_channels_find(l, m->peer->room_id, m->peer, m->gen) : NULL;
    if (s)
        hv_ws_close(s->conn, m->code, m->reason);
    hv_peer_release(m->peer);
    free(m);
}

void hv__rooms_session(const hv_rooms *r, uint64_t gen, char out[160])
{
    snprintf(out, 160, "%.130s/%llu", r->node, (unsigned long long)gen);
}

/* Closes p's socket after the next commit (or at once with now). */
void hv__rooms_close_socket(hv_rooms *r, hv_peer *p, int code, const char *reason, int now)
{
    if (!p->conn)
        return;
    close_msg *m = hv_xcalloc(1, sizeof(*m));
    atomic_fetch_add(&p->refs, 1);
    m->peer = p;
    m->gen = p->conn_gen;
    m->code = code;
    snprintf(m->reason, sizeof(m->reason), "%s", reason);
    if (now) {
        hv_loop_post(p->loop, do_close, m);
        return;
    }
    m->r = p->deleted ? r : NULL;
    hv_after *a = hv_xmalloc(sizeof(*a));
    *a = (hv_after){r->closes, p->loop, do_close, m};
    r->closes = a;
}

/* ---- REST operations ---------------------------------------------------- */

hv_result hv_rooms_create(hv_rooms *r, const char *body, size_t len, const char *address,
                    char **out, hv_rooms_reply reply)
{
    char err[512];
    hv_room *room = hv_room_from_body(body, len, err, sizeof(err));
    if (!room) {
        *out = hv_xstrdup(err);
        return HV_ERR_INVALID;
    }
    uv_mutex_lock(&r->mu);
    if (hv_map_get(&r->rooms, room->id)) {
        uv_mutex_unlock(&r->mu);
        *out = errmsg("Cannot add room with id \"%s\" - room already exists", room->id);
        hv_room_free(room);
        return HV_ERR_EXISTS;
    }
    hv_map_put(&r->rooms, room->id, room);
    *out = dump(json_pack("{s:{s:o,s:s}}", "data", "room", hv_room_json(room), "fishjam_address", address));
    hv_kvlist kv = {0};
    hv__rooms_undo_create(r, room, &kv);
    char *rec = hv_room_record(room);
    hv_kvlist_put(&kv, HV_NS_ROOM, room->id, rec);
    free(rec);
    /* The room's webhook exists before room.created is committed, so
     * room.created itself is delivered to it (Fishjam semantics). */
    const char *hook = json_string_value(json_object_get(room->config, "webhookUrl"));
    if (hook && r->srv->endpoints)
        hv_endpoints_add_room(r->srv->endpoints, room->id, hook,
                              json_is_true(json_object_get(room->config, "batchWebhookNotifications")), &kv);
    hv_event *ev = room_event("room.created", room);
    int rc = hv__rooms_commit(r, &ev, 1, &kv, reply);
    uv_mutex_unlock(&r->mu);
    return rc ? stopping(out) : HV_CREATED;
}

hv_result hv_rooms_list(hv_rooms *r, char **out)
{
    json_t *arr = json_array();
    uv_mutex_lock(&r->mu);
    size_t it;
    for (hv_map_entry *e = hv_map_first(&r->rooms, &it); e; e = hv_map_next(&r->rooms, e, &it))
        json_array_append_new(arr, hv_room_json(e->value));
    uv_mutex_unlock(&r->mu);
    *out = dump(json_pack("{s:o}", "data", arr));
    return HV_OK;
}

hv_result hv_rooms_get(hv_rooms *r, const char *room_id, char **out)
{
    uv_mutex_lock(&r->mu);
    hv_room *room = hv_map_get(&r->rooms, room_id);
    *out = room ? dump(json_pack("{s:o}", "data", hv_room_json(room)))
                : errmsg("Room %s does not exist", room_id);
    uv_mutex_unlock(&r->mu);
    return room ? HV_OK : HV_ERR_NOT_FOUND;
}

hv_result hv_rooms_delete(hv_rooms *r, const char *room_id, char **out, hv_rooms_reply reply)
{
    uv_mutex_lock(&r->mu);
    hv_room *room = hv_map_get(&r->rooms, room_id);
    if (!room) {
        uv_mutex_unlock(&r->mu);
        *out = errmsg("Room %s does not exist", room_id);
        return HV_ERR_NOT_FOUND;
    }
    /* Like the reference: only room.deleted, no peer.* for its peers. */
    hv_kvlist kv = {0};
    hv_event *ev = room_event("room.deleted", room);
    hv__rooms_forget_room(r, room, &kv);
    int rc = hv__rooms_commit(r, &ev, 1, &kv, reply);
    uv_mutex_unlock(&r->mu);
    *out = NULL;
    return rc ? stopping(out) : HV_DELETED;
}

void hv__rooms_forget_room(hv_rooms *r, hv_room *room, hv_kvlist *kv)
{
    hv_map_del(&r->rooms, room->id);
    /* The room's record first: a node applying these changes closes the
     * peers' sockets as the room's (4005), not one by one as deleted. */
    if (kv)
        hv_kvlist_put(kv, HV_NS_ROOM, room->id, NULL);
    for (size_t i = 0; i < room->npeers; i++) {
        hv_peer *p = room->peers[i];
        p->deleted = 1;
        hv__rooms_close_socket(r, p, HV_CLOSE_ROOM_DELETED, "room deleted", 0);
        hv_map_del(&r->tokens, p->token_hash);
        hv_map_del(&r->peers, p->id);
        if (kv)
            hv_kvlist_put(kv, HV_NS_PEER, p->id, NULL);
        if (kv && r->shared) /* its session, wherever it is, ends with the room */
            hv_kvlist_presence(kv, HV_PRESENCE_DROP, p->id, NULL, HV_PRESENCE_NO_EVENT);
        if (!kv)
            hv_peer_release(p);
    }
    if (kv) /* kept until the commit answers: its undo puts it back or frees it */
        hv__rooms_undo_delete(r, room, kv);
    else
        hv_room_free(room);
}

void hv__rooms_forget_peer(hv_rooms *r, hv_room *room, hv_peer *p)
{
    p->deleted = 1;
    hv__rooms_close_socket(r, p, HV_CLOSE_PEER_DELETED, "peer deleted", 0);
    if (room)
        hv_room_remove_peer(room, p);
    hv_map_del(&r->tokens, p->token_hash);
    hv_map_del(&r->peers, p->id);
}

static hv_peer *find_peer(hv_room *room, const char *peer_id)
{
    for (size_t i = 0; room && i < room->npeers; i++)
        if (!strcmp(room->peers[i]->id, peer_id))
            return room->peers[i];
    return NULL;
}

hv_result hv_peers_create(hv_rooms *r, const char *room_id, const char *body, size_t len,
                    const char *address, char **out, hv_rooms_reply reply)
{
    char err[256], token[44];
    hv_peer *p = hv_peer_alloc(room_id);
    if (hv_peer_from_body(p, body, len, err, sizeof(err)) != 0) {
        hv_peer_release(p);
        *out = hv_xstrdup(err);
        return HV_ERR_INVALID;
    }
    hv_uuid4(p->id);
    hv_token_new(token, p->token_hash);
    uv_mutex_lock(&r->mu);
    hv_room *room = hv_map_get(&r->rooms, room_id);
    hv_result res = !room ? HV_ERR_NOT_FOUND
                    : (room->max_peers && room->npeers >= (size_t)room->max_peers) ? HV_ERR_LIMIT
                    : HV_CREATED;
    if (res != HV_CREATED) {
        uv_mutex_unlock(&r->mu);
        *out = errmsg(res == HV_ERR_NOT_FOUND ? "Room %s does not exist" : "Reached peer limit in room %s",
                      room_id);
        hv_peer_release(p);
        return res;
    }
    hv_room_add_peer(room, p);
    hv_map_put(&r->tokens, p->token_hash, p);
    hv_map_put(&r->peers, p->id, p);
    char url[300];
    snprintf(url, sizeof(url), "%s/socket/peer/websocket", address);
    *out = dump(json_pack("{s:{s:o,s:s,s:s}}", "data", "peer", hv_peer_json(p), "token", token,
                          "peer_websocket_url", url));
    hv_kvlist kv = {0};
    hv__rooms_undo_peer_create(r, p, &kv);
    put_peer_record(&kv, p);
    hv_event *ev = hv__rooms_peer_event("peer.added", p, NULL);
    int rc = hv__rooms_commit(r, &ev, 1, &kv, reply);
    uv_mutex_unlock(&r->mu);
    return rc ? stopping(out) : HV_CREATED;
}

hv_result hv_peers_delete(hv_rooms *r, const char *room_id, const char *peer_id, char **out,
                    hv_rooms_reply reply)
{
    uv_mutex_lock(&r->mu);
    hv_room *room = hv_map_get(&r->rooms, room_id);
    hv_peer *p = find_peer(room, peer_id);
    if (!p) {
        uv_mutex_unlock(&r->mu);
        *out = room ? errmsg("Peer %s does not exist", peer_id) : errmsg("Room %s does not exist", room_id);
        return HV_ERR_NOT_FOUND;
    }
    hv_event *evs[2];
    size_t n = 0;
    hv_kvlist kv = {0};
    /* A connected peer: disconnected first, then deleted. Its socket may
     * be on another node: with a shared store, the store says whether it
     * was connected (and ends its session). */
    if (r->shared)
        hv_kvlist_presence(&kv, HV_PRESENCE_DROP, p->id, NULL, n);
    if (p->conn || r->shared)
        evs[n++] = hv__rooms_peer_event("peer.disconnected", p, NULL);
    evs[n++] = hv__rooms_peer_event("peer.deleted", p, NULL);
    /* The registry's reference goes with the undo: released once stored. */
    hv__rooms_undo_peer_delete(r, room, p, &kv);
    hv__rooms_forget_peer(r, room, p);
    hv_kvlist_put(&kv, HV_NS_PEER, p->id, NULL);
    int rc = hv__rooms_commit(r, evs, n, &kv, reply);
    uv_mutex_unlock(&r->mu);
    *out = NULL;
    return rc ? stopping(out) : HV_DELETED;
}

hv_result hv_peers_refresh_token(hv_rooms *r, const char *room_id, const char *peer_id, char **out,
                           hv_rooms_reply reply)
{
    char token[44], hash[65];
    hv_token_new(token, hash);
    uv_mutex_lock(&r->mu);
    hv_room *room = hv_map_get(&r->rooms, room_id);
    hv_peer *p = find_peer(room, peer_id);
    if (!p) {
        uv_mutex_unlock(&r->mu);
        *out = room ? errmsg("Peer %s does not exist", peer_id) : errmsg("Room %s does not exist", room_id);
        return HV_ERR_NOT_FOUND;
    }
    /* The old token stops working at once (back if the commit stores
     * nothing); a socket already open stays. */
    hv_kvlist kv = {0};
    hv__rooms_undo_refresh(r, p, hash, &kv);
    hv_map_del(&r->tokens, p->token_hash);
    memcpy(p->token_hash, hash, sizeof(hash));
    hv_map_put(&r->tokens, p->token_hash, p);
    put_peer_record(&kv, p);
    int rc = hv__rooms_commit(r, NULL, 0, &kv, reply);
    uv_mutex_unlock(&r->mu);
    *out = dump(json_pack("{s:{s:s}}", "data", "token", token));
    return rc ? stopping(out) : HV_CREATED;
}

hv_result hv_peers_check(hv_rooms *r, const char *room_id, const char *peer_id, char **out)
{
    uv_mutex_lock(&r->mu);
    hv_room *room = hv_map_get(&r->rooms, room_id);
    hv_peer *p = find_peer(room, peer_id);
    uv_mutex_unlock(&r->mu);
    if (!p) {
        *out = room ? errmsg("Peer %s does not exist", peer_id) : errmsg("Room %s does not exist", room_id);
        return HV_ERR_NOT_FOUND;
    }
    *out = NULL;
    return HV_OK;
}

/* ---- peer sockets ----------------------------------------------------------- */

static const hv_rooms_reply no_reply = {NULL, NULL, NULL};

/* The live peer of a token, with the lock taken (NULL: unknown, lock
 * released). Memory only: a token another node has just issued is looked
 * for first with hv_peers_lookup. */
static hv_peer *peer_of_token(hv_rooms *r, const char *token)
{
    char hash[65];
    hv_token_hash(token, hash);
    uv_mutex_lock(&r->mu);
    hv_peer *p = hv_map_get(&r->tokens, hash);
    if (p && !p->deleted)
        return p;
    uv_mutex_unlock(&r->mu);
    return NULL;
}

/* A token this node does not know may have been issued on another node a
 * moment ago, before the replica applied it here: with a shared store,
 * the caller waits for a catch-up before refusing it. The catch-up runs
 * off the loop (hub/catchup.c): an I/O loop never waits on Redis for a
 * token, however many random ones arrive (issue 13, defect 11). */
int hv_peers_lookup(hv_rooms *r, const char *token, hv_loop *loop, hv_catch_up_done done, void *arg)
{
    /* Peer tokens are 43 base64url characters; a user's JWT is not worth
     * a look at the store. */
    if (!r->shared || strlen(token) != 43 || strchr(token, '.'))
        return HV_CATCH_UP_NONE;
    if (peer_of_token(r, token)) {
        uv_mutex_unlock(&r->mu);
        return HV_CATCH_UP_NONE;
    }
    if (!hv_store_available(r->srv->store, NULL, 0))
        return HV_CATCH_UP_FAILED;
    return hv_hub_catch_up(r->srv->hub, loop, done, arg);
}

hv_peer *hv_peers_connect(hv_rooms *r, const char *token, hv_conn *c, uint64_t *gen)
{
    return hv_peers_connect_as(r, token, 0, c, gen);
}

hv_peer *hv_peers_connect_as(hv_rooms *r, const char *token, int type, hv_conn *c, uint64_t *gen)
{
    hv_peer *p = peer_of_token(r, token);
    if (!p)
        return NULL;
    if (type && p->type != type) { /* checked first: another kind's socket is left alone */
        uv_mutex_unlock(&r->mu);
        return NULL;
    }
    int replacing = p->conn != NULL;
    if (replacing)
        hv__rooms_close_socket(r, p, HV_CLOSE_REPLACED, "replaced by a new connection", 1);
    p->conn = c;
    p->loop = c->loop;
    p->conn_gen = *gen = ++r->next_gen;
    p->confirmed = 0;
    atomic_fetch_add(&p->refs, 1);
    /* With a shared store the socket the peer had may be on another node:
     * the store takes the session over and keeps peer.connected only if
     * the peer had none (rooms/nodes.c closes the other node's socket). */
    if (!replacing || r->shared) {
        hv_event *ev = hv__rooms_peer_event("peer.connected", p, NULL);
        hv_kvlist kv = {0};
        if (r->shared) {
            char sess[160];
            hv__rooms_session(r, p->conn_gen, sess);
            hv_kvlist_presence(&kv, HV_PRESENCE_CONNECT, p->id, sess, 0);
        }
        hv__rooms_commit(r, &ev, 1, &kv, no_reply);
    }
    uv_mutex_unlock(&r->mu);
    return p;
}

void hv_peers_disconnect(hv_rooms *r, hv_peer *p, uint64_t gen, int lost, const char *reason)
{
    uv_mutex_lock(&r->mu);
    if (p->conn_gen == gen && p->conn) {
        hv_loop *loop = p->loop;
        p->conn = NULL;
        p->loop = NULL;
        if (!p->deleted) {
            hv_event *ev = lost ? hv__rooms_peer_event("peer.crashed", p, json_pack("{s:s}", "reason", reason))
                                : hv__rooms_peer_event("peer.disconnected", p, NULL);
            if (r->shared) { /* announced only if this socket still held the session */
                char sess[160];
                hv__rooms_session(r, gen, sess);
                hv__rooms_commit_leave(r, ev, p->id, sess, loop);
            } else {
                hv_kvlist kv = {0};
                hv__rooms_commit(r, &ev, 1, &kv, no_reply);
            }
        }
    }
    uv_mutex_unlock(&r->mu);
    hv_peer_release(p);
}

int hv_peers_update_metadata(hv_rooms *r, hv_peer *p, const char *metadata_json, hv_rooms_reply reply)
{
    int rc = -1;
    uv_mutex_lock(&r->mu);
    if (!p->deleted) {
        hv_kvlist kv = {0};
        char *old = p->metadata;
        p->metadata = hv_xstrdup(metadata_json);
        hv__rooms_undo_metadata(r, p, old, &kv);
        put_peer_record(&kv, p);
        hv_event *ev = hv__rooms_peer_event("peer.metadata_updated", p,
                                  json_pack("{s:o}", "metadata", json_loads(metadata_json, JSON_DECODE_ANY, NULL)));
        rc = hv__rooms_commit(r, &ev, 1, &kv, reply);
    }
    uv_mutex_unlock(&r->mu);
    return rc;
}

int hv_peers_identify(hv_rooms *r, const char *token, char peer_id[64], char room_id[160])
{
    hv_peer *p = peer_of_token(r, token);
    if (!p)
        return -1;
    snprintf(peer_id, 64, "%s", p->id);
    snprintf(room_id, 160, "%s", p->room_id);
    uv_mutex_unlock(&r->mu);
    return 0;
}

const char *hv_peer_id(const hv_peer *p)
{
    return p->id;
}

const char *hv_peer_room_id(const hv_peer *p)
{
    return p->room_id;
}
