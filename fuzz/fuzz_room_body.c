/* SPDX-License-Identifier: MIT */
/* fuzz_room_body.c — libFuzzer target for the room API's body parsers:
 * createRoom's RoomConfig and createPeer's body, then the rendering and
 * stored-record round trip of whatever they accept. The first byte picks
 * the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "rooms/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char err[512];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        hv_room *room = hv_room_from_body(body, len, err, sizeof(err));
        if (room) {
            json_decref(hv_room_json(room));
            char *rec = hv_room_record(room);
            hv_room *back = hv_room_from_record(room->id, rec);
            if (!back)
                abort(); /* an accepted room must survive a restart */
            hv_room_free(back);
            free(rec);
            hv_room_free(room);
        }
    } else {
        hv_peer *p = hv_peer_alloc("room");
        if (hv_peer_from_body(p, body, len, err, sizeof(err)) == 0) {
            hv_uuid4(p->id);
            char token[44];
            hv_token_new(token, p->token_hash);
            json_decref(hv_peer_json(p));
            char *rec = hv_peer_record(p);
            hv_peer *back = hv_peer_from_record(p->id, rec);
            if (!back || strcmp(back->metadata, p->metadata) != 0)
                abort();
            hv_peer_release(back);
            free(rec);
        }
        hv_peer_release(p);
    }
    return 0;
}
