/* SPDX-License-Identifier: MIT */
/* janus.h — Janus event-handler bodies turned into herald events.
 *
 * Janus's event handlers (the HTTP sample handler, the WebSockets one)
 * send either one JSON event object or a JSON array of them, in any of
 * Janus's three JSON layouts. hv_janus_parse is a pure function from those
 * bytes (already gunzipped) to herald events: each Janus event becomes
 * one event of type janus.<category> (from its numeric "type"), whose data
 * is the original Janus object, re-serialised compactly with every key kept
 * (emitter, subtype, timestamp, session_id, handle_id, opaque_id, event,
 * and any unknown key) and 64-bit integers exact. A room rule picks each
 * event's room_id. Each event also gets a SHA-256 digest of its compact
 * text, with which a retransmitted batch is recognised (janus_dedup.h).
 */
#ifndef HV_INGEST_JANUS_H
#define HV_INGEST_JANUS_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

#define HV_JANUS_DIGEST_LEN 32

/* Where an event's room_id comes from. */
typedef enum hv_janus_room_from {
    HV_JANUS_ROOM_NONE,      /* no room */
    HV_JANUS_ROOM_OPAQUE_ID, /* prefix + the event's "opaque_id" (the default) */
    HV_JANUS_ROOM_SESSION,   /* prefix + the decimal "session_id" */
} hv_janus_room_from;

typedef struct hv_janus_opts {
    hv_janus_room_from room_from;
    const char *room_prefix; /* may be NULL or "" */
} hv_janus_opts;

typedef struct hv_janus_batch {
    hv_event **evs;                            /* n event references */
    uint8_t (*digests)[HV_JANUS_DIGEST_LEN];   /* one per event */
    size_t n;
} hv_janus_batch;

/* Parses a Janus body: one event object, or an array of 1 to
 * HV_PUBLISH_MAX_BATCH objects, each with an integer "type". Returns 0 and
 * fills out, or -1 with a message for the client in err (nothing to free). */
int hv_janus_parse(const char *body, size_t len, const hv_janus_opts *o, hv_janus_batch *out,
                   char *err, size_t errlen);

/* Releases what hv_janus_parse returned (events not yet handed over). */
void hv_janus_batch_free(hv_janus_batch *b);

/* "janus.session" for type 1, …, "janus.core" for 256; "janus.unknown"
 * for any other number. */
const char *hv_janus_type_name(long long type);

/* Parses "none", "opaque_id" or "session"; -1 otherwise. */
int hv_janus_room_from_parse(const char *s);

#endif
