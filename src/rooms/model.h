/* SPDX-License-Identifier: MIT */
/* model.h — room and peer records: their fields, validation of REST
 * bodies, JSON rendering in the Fishjam shapes, and the stored form.
 * No locking here: registry.c owns the objects and the lock. */
#ifndef HV_ROOMS_MODEL_H
#define HV_ROOMS_MODEL_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/map.h"
#include "net/conn.h"

typedef struct hv_room hv_room;

typedef struct hv_peer {
    atomic_int refs;
    char id[37];
    char *room_id;
    int type;                /* 1 webrtc, 2 agent, 3 vapi (PeerType's numbers) */
    char *metadata;          /* compact JSON text, "null" when none */
    char subscribe_mode[8];  /* "auto" | "manual" */
    char token_hash[65];     /* hex SHA-256 of the token; the token itself is never kept */
    int deleted;
    /* the live socket, if any */
    hv_conn *conn;
    hv_loop *loop;
    uint64_t conn_gen;
    /* across nodes sharing one store (rooms/nodes.c) */
    char *session;           /* its session as the store last said ("<node>/<n>"), NULL: none */
    int confirmed;           /* the store has shown conn's session as the peer's */
} hv_peer;

struct hv_room {
    char *id;
    json_t *config;          /* the RoomConfig echoed back */
    int max_peers;           /* 0: no limit */
    hv_peer **peers;         /* in creation order */
    size_t npeers, cap;
};

/* Validates a createRoom body; returns a new room (id from roomId or a
 * UUID) or NULL with a message in err. */
hv_room *hv_room_from_body(const char *body, size_t len, char *err, size_t errlen);
/* Validates a createPeer body into p's type, metadata and subscribe mode;
 * 0, or -1 with err. */
int hv_peer_from_body(hv_peer *p, const char *body, size_t len, char *err, size_t errlen);

json_t *hv_room_json(const hv_room *room);
json_t *hv_peer_json(const hv_peer *p);
const char *hv_peer_type_name(int type);

/* Stored records (kv values) and back. */
char *hv_room_record(const hv_room *room);
hv_room *hv_room_from_record(const char *id, const char *rec);
char *hv_peer_record(const hv_peer *p);
hv_peer *hv_peer_from_record(const char *id, const char *rec);

hv_peer *hv_peer_alloc(const char *room_id);
void hv_peer_release(hv_peer *p);
void hv_room_free(hv_room *room);
void hv_room_add_peer(hv_room *room, hv_peer *p);
void hv_room_remove_peer(hv_room *room, hv_peer *p);

/* A new random token (43 base64url chars, 256 bits) and its hash. */
void hv_token_new(char token[44], char hash_hex[65]);
void hv_token_hash(const char *token, char hash_hex[65]);

#endif
