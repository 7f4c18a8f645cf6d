/* SPDX-License-Identifier: MIT */
/* event.h — the event record every producer's input becomes.
 *
 * An event is created by an ingest path (validated, no id yet), handed to the
 * hub, which appends it to the store (the store assigns id and time) and then
 * encodes it once per wire format (hv_event_encode, codec/event_frames.h:
 * the bytes are core's hv_frame, the formats codec's). From then on it is
 * immutable and shared, by reference, by every I/O loop and every recipient.
 */
#ifndef HV_EVENT_H
#define HV_EVENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sbuf.h"

/* An encoded frame: buf->data[0..hdr) is the WebSocket frame header,
 * buf->data[hdr..len) the payload. Either part can be sent alone. */
typedef struct hv_frame {
    hv_sbuf *buf; /* NULL when the event has no form in this format */
    uint8_t hdr;
} hv_frame;

static inline const uint8_t *hv_frame_payload(const hv_frame *f) { return f->buf->data + f->hdr; }
static inline size_t hv_frame_payload_len(const hv_frame *f) { return f->buf->len - f->hdr; }

enum { HV_CREATED_NONE = 0, HV_CREATED_KEY = 1, HV_CREATED_STAMP = 2 };

typedef struct hv_event {
    atomic_uint refs;
    uint64_t id;      /* assigned by the store at append; 0 before */
    int64_t time_ms;  /* assigned by the store at append */
    char *type;       /* dotted lower-case, e.g. "peer.connected" */
    char *room_id;    /* NULL when absent */
    char *user_id;    /* NULL when absent */
    char *data;       /* compact JSON object text, NUL-terminated */
    size_t data_len;
    /* The seeds' access events (api/access.c): created_at as an order key
     * (core/created_at.h), which the store indexes per user. */
    double created_key;
    int created_set;  /* HV_CREATED_NONE, _KEY (created_key holds it) or
                       * _STAMP (the commit stamps storage time) */
    /* Encodings, filled once by hv_event_encode() (codec/) after the append. */
    hv_frame json;    /* native JSON envelope, WebSocket text frame */
    hv_frame pb;      /* fishjam.ServerMessage, WebSocket binary frame */
    hv_frame sse;     /* Server-Sent Events record "id: …\ndata: <envelope>\n\n" (hdr 0) */
} hv_event;

/* A new event with copies of the given strings (room_id, user_id may be
 * NULL; data NULL means "{}"). One reference. */
hv_event *hv_event_new(const char *type, const char *room_id, const char *user_id,
                       const char *data, size_t data_len);
hv_event *hv_event_ref(hv_event *ev);
void hv_event_unref(hv_event *ev);

#endif
