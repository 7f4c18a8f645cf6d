/* SPDX-License-Identifier: MIT */
/* event_frames.h — an event's wire forms, encoded once and shared.
 *
 * After the store has given an event its id and time, the hub (or whoever
 * loaded it from the store) encodes it once per wire format into the
 * event's own hv_frame slots (core/event.h): the JSON envelope as a
 * WebSocket text frame, the same envelope as an SSE record, and the
 * fishjam.ServerMessage as a WebSocket binary frame. Every recipient then
 * sends references to those same bytes, with no per-subscriber encoding or
 * allocation. The encoding lives here, above core/, so the event record
 * knows bytes but not formats.
 */
#ifndef HV_EVENT_FRAMES_H
#define HV_EVENT_FRAMES_H

#include "core/event.h"

/* Fills ev->json, ev->sse and (when the type has a protobuf form) ev->pb
 * from the committed event. Idempotent: a filled slot is left as it is. */
void hv_event_encode(hv_event *ev);

#endif
