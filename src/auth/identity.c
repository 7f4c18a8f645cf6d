/* SPDX-License-Identifier: MIT */
/* identity.c — peer token or user token; see identity.h. */
#include "auth/identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xalloc.h"
#include "rooms/registry.h"

int hv_client_id_resolve(hv_server *srv, const char *token, hv_client_id *id, char *err, size_t errlen)
{
    memset(id, 0, sizeof(*id));
    char peer_id[64], room_id[160];
    if (hv_peers_identify(srv->rooms, token, peer_id, room_id) == 0) {
        id->kind = HV_ID_PEER;
        snprintf(id->user_id, sizeof(id->user_id), HV_PEER_CHANNEL_PREFIX "%s", peer_id);
        id->rooms = hv_xcalloc(1, sizeof(char *));
        id->rooms[0] = hv_xstrdup(room_id);
        id->nrooms = 1;
        return 0;
    }
    /* Not a peer token: a JWT, if user tokens are on (three dot-separated parts). */
    const char *dot = strchr(token, '.');
    if (!srv->cfg.jwt_secret[0] || !dot || !strchr(dot + 1, '.')) {
        snprintf(err, errlen, "invalid token");
        return -1;
    }
    hv_identity who;
    char why[128];
    int64_t leeway = (int64_t)srv->cfg.jwt_leeway_s;
    if (hv_jwt_verify_leeway(srv->cfg.jwt_secret, srv->cfg.jwt_audience, token, hv_now_ms() / 1000, leeway, &who,
                             why, sizeof(why)) != 0) {
        snprintf(err, errlen, "invalid token: %s", why);
        return -1;
    }
    id->kind = HV_ID_USER;
    memcpy(id->user_id, who.user_id, sizeof(id->user_id));
    id->rooms = who.nrooms ? hv_xcalloc(who.nrooms, sizeof(char *)) : NULL;
    for (size_t i = 0; i < who.nrooms; i++)
        id->rooms[i] = hv_xstrdup(who.rooms[i]);
    id->nrooms = who.nrooms;
    /* The end of the time the token is accepted (exp and the clock skew
     * hv_jwt_verify allows): a socket authenticated inside the leeway is
     * not closed at once, which would only make its client reconnect in a
     * loop with the same token. */
    id->exp_ms = (who.exp + leeway) * 1000;
    hv_identity_clear(&who);
    return 0;
}

void hv_client_id_clear(hv_client_id *id)
{
    for (size_t i = 0; i < id->nrooms; i++)
        free(id->rooms[i]);
    free(id->rooms);
    memset(id, 0, sizeof(*id));
}
