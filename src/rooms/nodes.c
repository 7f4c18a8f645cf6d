/* SPDX-License-Identifier: MIT */
/* nodes.c — rooms and peers across herald nodes sharing one store (the
 * redis engine); see registry.h and store/shared.h.
 *
 * Changes made on other nodes: each node commits its own changes and
 * applies them to its memory at once; the others learn them from the
 * store's change feed (hub/replica.c calls hv_rooms_apply). Applying
 * mirrors the local operation without committing anything: a new room or
 * peer is added, a peer record replaces the fields that can change (token,
 * metadata), a deletion removes and closes sockets. Applying the same
 * change twice changes nothing more (the feed is replayed from before the
 * snapshot at start).
 *
 * Presence: a peer's session ("<node>/<generation>") lives in the store.
 * This node connects a socket by committing peer.connected with a
 * CONNECT condition (kept only if the peer had no session), and ends it
 * with peer.disconnected / peer.crashed and a LEAVE condition (kept only
 * if this socket still held the session), so the store, which sees every
 * node's commits in one order, decides what is announced. The feed then
 * tells every node the new session, this node's own commits included:
 * once the feed has shown a local socket's session (p->confirmed), a later
 * entry naming another session means the socket lost it — to another
 * node's socket (closed with 4002, as a local replacement is) or to a
 * survivor that took this node for dead (closed with 1012 so the client
 * reconnects). An entry read before the socket's own one is older than
 * the socket and changes nothing. The socket's close then commits
 * nothing (its session is gone), so B's close after a move to C announces
 * no peer.disconnected.
 *
 * A socket that closes while the store is unreachable cannot end its
 * session then (the commit is refused): its peer.disconnected or
 * peer.crashed is kept and committed again, with the same condition, each
 * time the replica thread finds the store available (about every 200 ms),
 * until the store takes it. If the peer has reconnected meanwhile (its
 * session moved), the condition fails and nothing is announced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "net/server.h"
#include "rooms/registry_internal.h"

#define HV_CLOSE_SESSION_LOST 1012 /* WebSocket "service restart": reconnect */

static const hv_reply no_reply = {NULL, NULL, NULL};

/* ---- changes from the feed --------------------------------------------- */

static void apply_room(hv_rooms *r, const char *id, const char *value)
{
    hv_room *room = hv_map_get(&r->rooms, id);
    if (value && !room) {
        room = hv_room_from_record(id, value);
        if (room)
            hv_map_put(&r->rooms, room->id, room);
    } else if (!value && room) {
        hv__rooms_forget_room(r, room, NULL);
    }
}

/* Fields of a peer record that change over its life: token, metadata. */
static void update_peer(hv_rooms *r, hv_peer *p, hv_peer *rec)
{
    if (strcmp(p->token_hash, rec->token_hash) != 0) {
        hv_map_del(&r->tokens, p->token_hash);
        memcpy(p->token_hash, rec->token_hash, sizeof(p->token_hash));
        hv_map_put(&r->tokens, p->token_hash, p);
    }
    char *md = p->metadata;
    p->metadata = rec->metadata;
    rec->metadata = md;
    memcpy(p->subscribe_mode, rec->subscribe_mode, sizeof(p->subscribe_mode));
}

static void apply_peer(hv_rooms *r, const char *id, const char *value)
{
    hv_peer *p = hv_map_get(&r->peers, id);
    if (!value) {
        if (p) {
            hv__rooms_forget_peer(r, hv_map_get(&r->rooms, p->room_id), p);
            hv_peer_release(p);
        }
        return;
    }
    hv_peer *rec = hv_peer_from_record(id, value);
    hv_room *room = rec ? hv_map_get(&r->rooms, rec->room_id) : NULL;
    if (p && rec) {
        update_peer(r, p, rec);
    } else if (!p && room) {
        hv_room_add_peer(room, rec);
        hv_map_put(&r->tokens, rec->token_hash, rec);
        hv_map_put(&r->peers, rec->id, rec);
        return; /* the registry holds rec's reference */
    }
    hv_peer_release(rec);
}

static void apply_presence(hv_rooms *r, const char *peer_id, const char *session)
{
    hv_peer *p = hv_map_get(&r->peers, peer_id);
    if (!p)
        return;
    free(p->session);
    p->session = session ? hv_xstrdup(session) : NULL;
    if (!p->conn)
        return;
    char own[160];
    hv__rooms_session(r, p->conn_gen, own);
    if (session && !strcmp(session, own)) {
        p->confirmed = 1;
        return;
    }
    if (!p->confirmed)
        return; /* older than this socket's own session */
    if (session)
        hv__rooms_close_socket(r, p, HV_CLOSE_REPLACED, "replaced by a new connection", 1);
    else
        hv__rooms_close_socket(r, p, HV_CLOSE_SESSION_LOST, "session ended by another node", 1);
    /* Its close announces nothing: the session is not its own any more. */
    p->conn = NULL;
    p->loop = NULL;
}

void hv_rooms_apply(hv_rooms *r, const hv_kv_entry *e)
{
    uv_mutex_lock(&r->mu);
    if (!strcmp(e->ns, HV_NS_ROOM))
        apply_room(r, e->key, e->value);
    else if (!strcmp(e->ns, HV_NS_PEER))
        apply_peer(r, e->key, e->value);
    else if (!strcmp(e->ns, HV_NS_PRESENCE))
        apply_presence(r, e->key, e->value);
    hv_after *closes = r->closes;
    r->closes = NULL;
    uv_mutex_unlock(&r->mu);
    /* A deleted room's or peer's sockets close after the events that
     * announced it (room.deleted, peer.deleted) have reached the loops. */
    if (closes)
        hv_hub_after(r->srv->hub, e->event_id, closes);
}

void hv_rooms_keys(hv_rooms *r, const char *ns, void (*each)(void *arg, const char *key),
                   void *arg)
{
    int rooms = !strcmp(ns, HV_NS_ROOM), sessions = !strcmp(ns, HV_NS_PRESENCE);
    if (!rooms && !sessions && strcmp(ns, HV_NS_PEER) != 0)
        return;
    uv_mutex_lock(&r->mu);
    const hv_map *m = rooms ? &r->rooms : &r->peers;
    size_t it;
    for (hv_map_entry *e = hv_map_first(m, &it); e; e = hv_map_next(m, e, &it))
        if (!sessions || ((hv_peer *)e->value)->session)
            each(arg, e->key);
    uv_mutex_unlock(&r->mu);
}

static void load_session(void *arg, const char *key, const char *value)
{
    hv_rooms *r = arg;
    hv_peer *p = hv_map_get(&r->peers, key);
    if (p) {
        free(p->session);
        p->session = hv_xstrdup(value);
    }
}

void hv__rooms_load_sessions(hv_rooms *r)
{
    if (hv_store_kv_load(r->srv->store, HV_NS_PRESENCE, load_session, r) != 0)
        hv_error("rooms: could not load the peers' sessions from the store");
}

/* ---- the peers of nodes that are gone ------------------------------------ */

/* peer.crashed for each listed peer still on node (lock held): the store
 * keeps the event only if the session is still that node's. */
static void end_sessions(hv_rooms *r, const char *node, char **ids, size_t n, const char *why)
{
    hv_event **evs = hv_xcalloc(n + 1, sizeof(*evs));
    size_t k = 0;
    hv_kvlist kv = {0};
    for (size_t i = 0; i < n; i++) {
        hv_peer *p = hv_map_get(&r->peers, ids[i]);
        size_t idx = HV_PRESENCE_NO_EVENT; /* a peer unknown here: its session ends silently */
        if (p && !p->deleted) {
            idx = k;
            evs[k++] = hv__rooms_peer_event("peer.crashed", p, json_pack("{s:s}", "reason", why));
        }
        hv_kvlist_presence(&kv, HV_PRESENCE_LEAVE_NODE, ids[i], node, idx);
    }
    if (n)
        hv__rooms_commit(r, evs, k, &kv, no_reply);
    free(evs);
}

static void sessions_of_node_end(hv_rooms *r, const char *node, const char *fmt)
{
    char **ids = NULL;
    size_t n = 0;
    if (hv_store_presence_list(r->srv->store, node, &ids, &n) != 0) {
        hv_error("rooms: cannot read which peers were connected on node %s", node);
        return;
    }
    char why[200];
    snprintf(why, sizeof(why), fmt, node);
    if (n)
        hv_info("rooms: %zu peers were connected on node %s: %s", n, node, why);
    uv_mutex_lock(&r->mu);
    end_sessions(r, node, ids, n, why);
    uv_mutex_unlock(&r->mu);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

void hv_rooms_nodes_died(hv_rooms *r, const char *const *nodes, size_t n)
{
    if (!r->shared)
        return;
    for (size_t i = 0; i < n; i++)
        sessions_of_node_end(r, nodes[i], "node %.150s stopped answering");
}

void hv_rooms_restarted(hv_rooms *r)
{
    if (r->shared)
        sessions_of_node_end(r, r->node, "node %.150s restarted");
}

/* ---- session ends the store refused ----------------------------------- */

typedef struct rooms_leave {
    struct rooms_leave *next;
    hv_rooms *r;
    char *type, *room_id, *data;
    size_t data_len;
    char peer_id[64];
    char sess[160];
} rooms_leave;

static void leave_free(rooms_leave *l)
{
    free(l->type);
    free(l->room_id);
    free(l->data);
    free(l);
}

static void commit_leave_record(rooms_leave *l, hv_loop *loop);

static void on_leave_done(hv_loop *loop, void *arg, int status, hv_event **evs, size_t n)
{
    (void)loop, (void)evs, (void)n;
    rooms_leave *l = arg;
    if (status == 0) { /* stored, or dropped by its condition: either way done */
        leave_free(l);
        return;
    }
    hv_rooms *r = l->r;
    uv_mutex_lock(&r->mu);
    if (!r->refused)
        hv_warn("rooms: the end of peer %s's session could not be stored; trying again when "
                "the store answers", l->peer_id);
    l->next = r->refused;
    r->refused = l;
    uv_mutex_unlock(&r->mu);
}

/* Commits l's event with its LEAVE condition (lock held). */
static void commit_leave_record(rooms_leave *l, hv_loop *loop)
{
    hv_event *ev = hv_event_new(l->type, l->room_id, NULL, l->data, l->data_len);
    hv_kvlist kv = {0};
    hv_kvlist_presence(&kv, HV_PRESENCE_LEAVE, l->peer_id, l->sess, 0);
    hv_reply reply = {loop, on_leave_done, l};
    if (!loop) /* nowhere to learn the outcome: tried once */
        reply = no_reply;
    if (hv__rooms_commit(l->r, &ev, 1, &kv, reply) != 0 || !loop)
        leave_free(l); /* stopping: done will not be called */
}

void hv__rooms_commit_leave(hv_rooms *r, hv_event *ev, const char *peer_id, const char *sess,
                            hv_loop *loop)
{
    rooms_leave *l = hv_xcalloc(1, sizeof(*l));
    l->r = r;
    l->type = hv_xstrdup(ev->type);
    l->room_id = ev->room_id ? hv_xstrdup(ev->room_id) : NULL;
    l->data = hv_xmalloc(ev->data_len ? ev->data_len : 1);
    memcpy(l->data, ev->data, ev->data_len);
    l->data_len = ev->data_len;
    snprintf(l->peer_id, sizeof(l->peer_id), "%s", peer_id);
    snprintf(l->sess, sizeof(l->sess), "%s", sess);
    hv_event_unref(ev);
    commit_leave_record(l, loop);
}

void hv_rooms_retry_refused(hv_rooms *r)
{
    if (!r || !r->shared || !hv_store_available(r->srv->store, NULL, 0))
        return;
    uv_mutex_lock(&r->mu);
    rooms_leave *l = r->refused;
    r->refused = NULL;
    hv_loop *loop = r->srv->nloops ? r->srv->loops[0] : NULL;
    while (l) {
        rooms_leave *next = l->next;
        commit_leave_record(l, loop);
        l = next;
    }
    uv_mutex_unlock(&r->mu);
}

void hv__rooms_free_refused(hv_rooms *r)
{
    while (r->refused) {
        rooms_leave *next = r->refused->next;
        leave_free(r->refused);
        r->refused = next;
    }
}
