/* SPDX-License-Identifier: MIT */
/* identity.h — who an app client is, from the token it presents.
 *
 * Two kinds of token reach app-client endpoints (peer socket, SSE, the
 * access-id API): a peer token (issued by POST /room/:id/peer; the peer's
 * user is "peer:<its peer id>", HV_PEER_CHANNEL_PREFIX, and its one room is
 * the peer's room), or a user
 * token, a JWT minted by the user's own backend (--jwt-secret): user =
 * sub, rooms = the rooms claim. A user token reaches only its own user
 * channel and the rooms it names.
 */
#ifndef HV_IDENTITY_H
#define HV_IDENTITY_H

#include <stdint.h>

#include "auth/jwt.h"
#include "net/server.h"

enum { HV_ID_PEER = 1, HV_ID_USER = 2 };

typedef struct hv_client_id {
    int kind;            /* HV_ID_PEER or HV_ID_USER */
    char user_id[257];
    char **rooms;
    size_t nrooms;
    int64_t exp_ms;      /* user tokens: accepted until then (exp + leeway, ms since the epoch); 0 = none */
} hv_client_id;

/* Resolves token; 0 and id filled (release with hv_client_id_clear), or -1
 * with a short reason ("invalid token", "token expired", "bad signature",
 * ...). peers_only: refuse user tokens. */
int hv_client_id_resolve(hv_server *srv, const char *token, hv_client_id *id, char *err, size_t errlen);
void hv_client_id_clear(hv_client_id *id);

#endif
