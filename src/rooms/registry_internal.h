/* SPDX-License-Identifier: MIT */
/* registry_internal.h — what the registry's files share: the hv_rooms
 * struct and the helpers that build events, commit and close sockets.
 * registry.c holds the REST operations and the peer sockets; nodes.c what
 * crosses nodes sharing one store (changes made elsewhere, presence, the
 * peers of dead nodes). Not for use outside src/rooms/: its functions
 * are package-private (hv__rooms_*).
 */
#ifndef HV_ROOMS_REGISTRY_INTERNAL_H
#define HV_ROOMS_REGISTRY_INTERNAL_H

#include <jansson.h>
#include <uv.h>

#include "core/map.h"
#include "hub/hub.h"
#include "rooms/model.h"
#include "rooms/registry.h"

struct hv_rooms {
    hv_server *srv;
    uv_mutex_t mu;
    hv_after *closes; /* socket closes waiting for the next commit (lock held) */
    hv_map rooms;   /* id -> hv_room */
    hv_map tokens;  /* token hash -> hv_peer */
    hv_map peers;   /* peer id -> hv_peer */
    uint64_t next_gen;
    int shared;       /* other nodes share the store: presence is decided there */
    const char *node; /* this node's name */
    struct rooms_leave *refused; /* session ends the store refused (nodes.c) */
};

/* A peer.* event (room_id, peer_id, peer_type, plus extra's keys; takes
 * extra). */
hv_event *hv__rooms_peer_event(const char *type, const hv_peer *p, json_t *extra);
/* Hands events (taken), records and conditions to the hub (lock held);
 * the sockets queued by hv__rooms_close_socket close after its events. -1
 * when the hub is stopping. */
int hv__rooms_commit(hv_rooms *r, hv_event **evs, size_t n, hv_kvlist *kv, hv_reply reply);
/* Closes p's socket after the next commit (r->closes), or at once. */
void hv__rooms_close_socket(hv_rooms *r, hv_peer *p, int code, const char *reason, int now);
/* "<node>/<gen>": the session of this node's socket of generation gen. */
void hv__rooms_session(const hv_rooms *r, uint64_t gen, char out[160]);
/* Removes a room and its peers from memory (lock held): their sockets are
 * queued to close with 4005; kv, if not NULL, gets the peers' deletions
 * and, in shared mode, conditions ending their sessions, and the undo
 * that keeps the room until the commit answers (freed at once without). */
void hv__rooms_forget_room(hv_rooms *r, hv_room *room, hv_kvlist *kv);
/* Removes a peer from its room and the maps (lock held), queueing its
 * socket's close with 4004. The caller releases the registry's reference. */
void hv__rooms_forget_peer(hv_rooms *r, hv_room *room, hv_peer *p);

/* undo.c: the undo of each change (hub.h, hv_undo), added to its kv
 * before the change is made in memory (lock held). */
void hv__rooms_undo_create(hv_rooms *r, hv_room *room, hv_kvlist *kv);
/* Takes over the room, removed from the maps, and the registry's
 * references to its peers. */
void hv__rooms_undo_delete(hv_rooms *r, hv_room *room, hv_kvlist *kv);
void hv__rooms_undo_peer_create(hv_rooms *r, hv_peer *p, hv_kvlist *kv);
/* Takes over the registry's reference to p (before it leaves room). */
void hv__rooms_undo_peer_delete(hv_rooms *r, hv_room *room, hv_peer *p, hv_kvlist *kv);
/* Before p's token hash becomes new_hash. */
void hv__rooms_undo_refresh(hv_rooms *r, hv_peer *p, const char new_hash[65], hv_kvlist *kv);
/* After p->metadata was set; takes over old_metadata. */
void hv__rooms_undo_metadata(hv_rooms *r, hv_peer *p, char *old_metadata, hv_kvlist *kv);

/* nodes.c: loading the sessions at start (shared mode). */
void hv__rooms_load_sessions(hv_rooms *r);
/* nodes.c: commits the end of a socket's session (shared mode; lock
 * held): ev (taken) is kept only if the session sess still is the peer's.
 * Refused because the store was unreachable, it is tried again later
 * (hv_rooms_retry_refused), so the peer does not stay connected forever.
 * loop: where the outcome is learnt (the socket's). */
void hv__rooms_commit_leave(hv_rooms *r, hv_event *ev, const char *peer_id, const char *sess,
                            hv_loop *loop);
/* nodes.c: frees the session ends still waiting (hv_rooms_free). */
void hv__rooms_free_refused(hv_rooms *r);

#endif
