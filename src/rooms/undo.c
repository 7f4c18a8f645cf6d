/* SPDX-License-Identifier: MIT */
/* undo.c — taking back a room or peer change whose commit stored nothing.
 *
 * The registry changes memory, then hands the change's record and event
 * to the hub under its lock, so the next request sees it (and a second
 * create of the same room id is refused) before the store has answered.
 * Each change carries an undo (hub.h, hv_undo): when the commit stores
 * nothing the hub calls it, newest change first and with the registry's
 * lock held, so an answer of 503 means nothing changed (issue 13, defect
 * 12): GET shows the old room, the old token works, a deleted peer is
 * back in its place and its socket stays open. When the commit succeeds
 * the undo only lets go of what it kept (the deleted room, the peer's
 * reference). An undo restores only what is still as its change left it:
 * a change another node made since (rooms/nodes.c) stays.
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "rooms/model.h"
#include "rooms/registry_internal.h"

void hv_rooms_lock(hv_rooms *r)
{
    uv_mutex_lock(&r->mu);
}

void hv_rooms_unlock(hv_rooms *r)
{
    uv_mutex_unlock(&r->mu);
}

typedef struct room_undo {
    hv_rooms *r;
    hv_room *room;
} room_undo;

static void put_peer(hv_rooms *r, hv_peer *p)
{
    p->deleted = 0;
    hv_map_put(&r->tokens, p->token_hash, p);
    hv_map_put(&r->peers, p->id, p);
}

static void drop_peer(hv_rooms *r, hv_peer *p)
{
    if (hv_map_get(&r->tokens, p->token_hash) == p)
        hv_map_del(&r->tokens, p->token_hash);
    if (hv_map_get(&r->peers, p->id) == p)
        hv_map_del(&r->peers, p->id);
}

/* room.created not stored: the room goes (with any peer a node added).
 * Looked up by a copy of its id: another node's deletion of the same id
 * (nodes.c) may have freed it meanwhile. */
typedef struct create_undo {
    hv_rooms *r;
    hv_room *room; /* compared only, until found in the map */
    char *id;
} create_undo;

static void undo_room_create(void *arg, int failed)
{
    create_undo *u = arg;
    if (failed && hv_map_get(&u->r->rooms, u->id) == u->room) {
        hv_map_del(&u->r->rooms, u->id);
        for (size_t i = 0; i < u->room->npeers; i++) {
            hv_peer *p = u->room->peers[i];
            p->deleted = 1;
            drop_peer(u->r, p);
            hv_peer_release(p);
        }
        hv_room_free(u->room);
    }
    free(u->id);
    free(u);
}

void hv__rooms_undo_create(hv_rooms *r, hv_room *room, hv_kvlist *kv)
{
    create_undo *u = hv_xmalloc(sizeof(*u));
    *u = (create_undo){r, room, hv_xstrdup(room->id)};
    hv_kvlist_undo(kv, undo_room_create, u);
}

/* room.deleted not stored: the room and its peers are back (their sockets
 * were not closed: the close checks the peer is still deleted). Stored:
 * the room and the registry's references to its peers are let go. */
static void undo_room_delete(void *arg, int failed)
{
    room_undo *u = arg;
    hv_room *room = u->room;
    int back = failed && !hv_map_get(&u->r->rooms, room->id);
    if (back) {
        hv_map_put(&u->r->rooms, room->id, room);
        for (size_t i = 0; i < room->npeers; i++)
            put_peer(u->r, room->peers[i]);
    } else {
        for (size_t i = 0; i < room->npeers; i++)
            hv_peer_release(room->peers[i]);
        hv_room_free(room);
    }
    free(u);
}

void hv__rooms_undo_delete(hv_rooms *r, hv_room *room, hv_kvlist *kv)
{
    room_undo *u = hv_xmalloc(sizeof(*u));
    *u = (room_undo){r, room};
    hv_kvlist_undo(kv, undo_room_delete, u);
}

typedef struct peer_undo {
    hv_rooms *r;
    hv_peer *p;       /* a reference */
    size_t index;     /* its place among its room's peers */
    char hash[65];    /* refresh: the token hash before */
    char set[65];     /* refresh: the token hash it set */
    char *metadata;   /* update_metadata: the metadata before */
    const char *set_metadata; /* update_metadata: the one it set (compared only) */
} peer_undo;

static peer_undo *peer_undo_new(hv_rooms *r, hv_peer *p)
{
    peer_undo *u = hv_xcalloc(1, sizeof(*u));
    u->r = r;
    u->p = p;
    atomic_fetch_add(&p->refs, 1);
    return u;
}

static void peer_undo_free(peer_undo *u)
{
    hv_peer_release(u->p);
    free(u->metadata);
    free(u);
}

/* peer.added not stored: the peer goes (its token was never answered). */
static void undo_peer_create(void *arg, int failed)
{
    peer_undo *u = arg;
    hv_peer *p = u->p;
    if (failed && hv_map_get(&u->r->peers, p->id) == p) {
        hv_room *room = hv_map_get(&u->r->rooms, p->room_id);
        p->deleted = 1;
        if (room)
            hv_room_remove_peer(room, p);
        drop_peer(u->r, p);
        hv_peer_release(p); /* the registry's reference */
    }
    peer_undo_free(u);
}

void hv__rooms_undo_peer_create(hv_rooms *r, hv_peer *p, hv_kvlist *kv)
{
    hv_kvlist_undo(kv, undo_peer_create, peer_undo_new(r, p));
}

/* peer.deleted not stored: the peer is back in its place. Stored: the
 * registry's reference is let go. */
static void undo_peer_delete(void *arg, int failed)
{
    peer_undo *u = arg;
    hv_peer *p = u->p;
    hv_room *room = hv_map_get(&u->r->rooms, p->room_id);
    if (failed && room && !hv_map_get(&u->r->peers, p->id)) {
        hv_room_add_peer(room, p); /* the registry's reference again */
        size_t at = u->index < room->npeers ? u->index : room->npeers - 1;
        memmove(&room->peers[at + 1], &room->peers[at], (room->npeers - 1 - at) * sizeof(*room->peers));
        room->peers[at] = p;
        put_peer(u->r, p);
    } else {
        hv_peer_release(p); /* the registry's reference */
    }
    peer_undo_free(u);
}

void hv__rooms_undo_peer_delete(hv_rooms *r, hv_room *room, hv_peer *p, hv_kvlist *kv)
{
    peer_undo *u = peer_undo_new(r, p);
    for (u->index = 0; room && u->index < room->npeers; u->index++)
        if (room->peers[u->index] == p)
            break;
    hv_kvlist_undo(kv, undo_peer_delete, u);
}

/* refresh_token not stored: the old token works again, the new one not. */
static void undo_refresh(void *arg, int failed)
{
    peer_undo *u = arg;
    hv_peer *p = u->p;
    if (failed && !p->deleted && !strcmp(p->token_hash, u->set)) {
        hv_map_del(&u->r->tokens, p->token_hash);
        memcpy(p->token_hash, u->hash, sizeof(u->hash));
        hv_map_put(&u->r->tokens, p->token_hash, p);
    }
    peer_undo_free(u);
}

void hv__rooms_undo_refresh(hv_rooms *r, hv_peer *p, const char new_hash[65], hv_kvlist *kv)
{
    peer_undo *u = peer_undo_new(r, p);
    memcpy(u->hash, p->token_hash, sizeof(u->hash));
    memcpy(u->set, new_hash, sizeof(u->set));
    hv_kvlist_undo(kv, undo_refresh, u);
}

/* update_metadata not stored: the metadata before is back. */
static void undo_metadata(void *arg, int failed)
{
    peer_undo *u = arg;
    if (failed && !u->p->deleted && u->p->metadata == u->set_metadata) {
        free(u->p->metadata);
        u->p->metadata = u->metadata;
        u->metadata = NULL;
    }
    peer_undo_free(u);
}

void hv__rooms_undo_metadata(hv_rooms *r, hv_peer *p, char *old_metadata, hv_kvlist *kv)
{
    peer_undo *u = peer_undo_new(r, p);
    u->metadata = old_metadata;
    u->set_metadata = p->metadata;
    hv_kvlist_undo(kv, undo_metadata, u);
}
