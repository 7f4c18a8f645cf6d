/* SPDX-License-Identifier: MIT */
/* envelope.h — the native JSON envelope of an event.
 *
 * {"id":"42","type":"peer.connected","timestamp":"2026-11-22T10:00:00.123Z",
 *  "room_id":"r1","user_id":"u1","data":{...}}
 * room_id and user_id appear only when set. The id is a string (64-bit ids
 * do not survive JavaScript numbers). Used on WebSocket, SSE, webhooks,
 * sinks and history.
 */
#ifndef HV_ENVELOPE_H
#define HV_ENVELOPE_H

#include <stddef.h>

#include "core/event.h"

/* The envelope as a malloc'd NUL-terminated string; *len gets its length. */
char *hv_envelope_json(const hv_event *ev, size_t *len);

#endif
