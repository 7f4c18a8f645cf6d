/* SPDX-License-Identifier: MIT */
/* event_frames.c — an event's wire forms, encoded once; see event_frames.h. */
#include "codec/event_frames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/envelope.h"
#include "codec/fishjam_pb.h"
#include "codec/ws_frame.h"

void hv_event_encode(hv_event *ev)
{
    if (!ev->json.buf) {
        size_t len;
        char *env = hv_envelope_json(ev, &len);
        ev->json = hv_ws_frame_new(HV_WS_TEXT, env, len);
        /* The envelope is one line of JSON (no raw newlines), so it is one
         * SSE data: line. */
        char head[40];
        int hl = snprintf(head, sizeof(head), "id: %llu\ndata: ", (unsigned long long)ev->id);
        ev->sse.buf = hv_sbuf_new((size_t)hl + len + 2);
        memcpy(ev->sse.buf->data, head, (size_t)hl);
        memcpy(ev->sse.buf->data + hl, env, len);
        memcpy(ev->sse.buf->data + hl + len, "\n\n", 2);
        ev->sse.hdr = 0;
        free(env);
    }
    if (!ev->pb.buf) {
        uint8_t *pb;
        size_t len;
        if (hv_fishjam_encode_event(ev, &pb, &len) == 0) {
            ev->pb = hv_ws_frame_new(HV_WS_BINARY, pb, len);
            free(pb);
        }
    }
}
