/* SPDX-License-Identifier: MIT */
/* channels.h — app clients' subscriptions: per-loop room and user
 * channels, and gap-free resume.
 *
 * An app client (peer socket, user socket, SSE stream) is an hv_sub: a
 * user and a set of rooms. It joins the channel of each on its own loop.
 * An event with a user_id is private to that user and goes to the user's
 * channel only; an event with only a room_id goes to the room's channel.
 * Each loop keeps its own maps, so delivery takes no lock.
 *
 * Resume: a client that reconnects with the last id it saw joins its
 * channels first, holding live events back, then gets every stored event
 * of its audience after that id (read on the thread pool, page by page,
 * the next page only once the client took the last one: hv_sub_drained),
 * then the held live events that are newer than the last one sent. No
 * gap (joined before reading), no duplicate (ids are compared). The seeds'
 * resume by created_at replays in created_at order instead, bounded by the
 * last id stored when it began; the held live events above that id follow.
 */
#ifndef HV_CHANNELS_H
#define HV_CHANNELS_H

#include <stdint.h>

#include "core/event.h"
#include "core/list.h"
#include "net/conn.h"

/* HV_SUB_PRESENCE: joined to its room's channel but sent nothing, so the
 * registry finds (and closes) the socket of a peer that takes no events
 * (the agent socket, api/agent_socket.c). */
enum { HV_SUB_WS = 0, HV_SUB_SSE = 1, HV_SUB_PRESENCE = 2 };

/* Live events held for one subscriber while its replay reads: past this
 * many they are let go and, once the replay reached its end, read from the
 * store after the last id sent (they are stored before any loop sees them),
 * so a replay slower than its rooms costs a bounded amount of memory. */
#define HV_SUB_HELD_MAX 4096

typedef struct hv_sub hv_sub;

typedef struct hv_sub_link {
    hv_list node;
    hv_sub *sub;
    char *key; /* room id or user id */
} hv_sub_link;

/* How a resume ended: 0 resumed with no gap; 1 history no longer holds
 * the first missed event (first_id: the oldest it holds), live from now;
 * -1 the store failed. */
typedef void (*hv_resume_done)(hv_sub *s, int status, uint64_t first_id);

struct hv_sub {
    hv_conn *conn;
    int proto;                /* HV_SUB_WS (json frames), HV_SUB_SSE or HV_SUB_PRESENCE */
    char *user_id;            /* NULL: no user channel */
    char **rooms;
    size_t nrooms;
    hv_sub_link *links;       /* one per room, plus the user */
    size_t nlinks;
    const void *owner;        /* who this socket speaks for (a peer) */
    uint64_t owner_gen;       /* which of that owner's sockets */
    void *app;                /* the endpoint's state */
    /* resume */
    int replaying;
    hv_event **held;          /* live events that came during the replay */
    size_t nheld, cap;        /* nheld <= HV_SUB_HELD_MAX */
    int held_dropped;         /* past the bound: read them from the store instead */
    uint64_t last_id;         /* highest id sent; older ones are skipped */
    int jobs;                 /* replay reads in flight */
    int dead;                 /* left while a read was in flight */
    int resume_slot;          /* holds one of its address's resume slots (core/limits.h) */
    struct replay *parked;    /* the replay's next page, waiting for the output to drain */
    hv_resume_done done;
};

/* A new subscriber of conn for user_id and rooms (copied). */
hv_sub *hv_sub_new(hv_conn *c, int proto, const char *user_id, const char *const *rooms, size_t nrooms);
/* Joins its channels (live delivery starts). */
void hv_sub_join(hv_sub *s);
/* Leaves and frees (later, if a replay read is in flight). */
void hv_sub_release(hv_sub *s);
/* Replays the audience's stored events with id > since, then goes live;
 * calls done on the loop when the replay is sent. Call after join, with a
 * resume slot of the connection's address taken (hv_limits_resume_acquire,
 * --max-resumes-per-address): each resume below owns it from the call and
 * gives it back when its replay ends or the subscriber is released. */
void hv_sub_resume(hv_sub *s, uint64_t since, hv_resume_done done);
/* The connection's output fell below --outbound-pause (its on_drained):
 * a replay paused on a client that had not taken its last page goes on. */
void hv_sub_drained(hv_sub *s);
/* The seeds' replay (api/access.c): the user's access events whose
 * created key (core/created_at.h) is > after_key (<= 0: every one
 * retained), in created_at order, then live with no gap and no duplicate.
 * done's status is 0 or -1 (the store failed; live from then). Call after
 * join. */
void hv_sub_resume_created(hv_sub *s, double after_key, hv_resume_done done);
/* Closes every connection of user_id on loop l (WebSockets with 4006
 * "dropped", streams ended). Returns how many. */
int hv_channels_drop_user(hv_loop *l, const char *user_id);

/* Queues ev to its audience on loop l; returns how many. */
uint64_t hv_channels_deliver(hv_loop *l, hv_event *ev);
/* The subscriber of room_id on loop l whose owner and generation match. */
hv_sub *hv_channels_find(hv_loop *l, const char *room_id, const void *owner, uint64_t gen);

#endif
