/* channels.h — per-loop room and user channels of app clients.
 *
 * An app client (a peer socket now; user tokens and SSE later) joins the
 * channel of its room and of its user on its own loop. An event with a
 * user_id is private to that user and goes to the user's channel only; an
 * event with only a room_id goes to the room's channel. Each loop keeps
 * its own maps, so delivery takes no lock.
 */
#ifndef HV_CHANNELS_H
#define HV_CHANNELS_H

#include <stdint.h>

#include "core/event.h"
#include "core/list.h"
#include "net/conn.h"

typedef struct hv_sub {
    hv_list room_node, user_node;
    hv_conn *conn;
    char *room_id; /* owned; NULL: no room */
    char *user_id; /* owned; NULL: no user */
    const void *owner;  /* who this socket speaks for (a peer), for lookups */
    uint64_t owner_gen; /* which of that owner's sockets */
} hv_sub;

/* The subscriber of room_id on loop l whose owner and generation match, or
 * NULL (it has left). */
hv_sub *hv_channels_find(hv_loop *l, const char *room_id, const void *owner, uint64_t gen);

/* Joins s (conn, room_id, user_id set) to its channels on conn's loop. */
void hv_channels_join(hv_sub *s);
/* Leaves them (safe if never joined); frees the ids. */
void hv_channels_leave(hv_sub *s);
/* Queues ev to its audience on loop l; returns how many. */
uint64_t hv_channels_deliver(hv_loop *l, hv_event *ev);

#endif
