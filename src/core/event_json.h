/* SPDX-License-Identifier: MIT */
/* event_json.h — validation of published events (POST /v1/events).
 *
 * Input: one JSON object or a JSON array of objects, each
 *   {"type": "room.created", "data": {...}, "room_id": "r1", "user_id": "u1"}
 * type is required (dotted lower-case: segments of [a-z0-9_-], starting with
 * a letter or digit, separated by single dots, at most 128 bytes); data is an
 * optional object (default {}); room_id / user_id optional non-empty strings
 * of at most 256 bytes. Types under herald. are herald's own (its alerts)
 * and refused from publishers. Unknown keys are refused, so a typo such as "roomId"
 * is an error instead of a silently unrouted event.
 */
#ifndef HV_EVENT_JSON_H
#define HV_EVENT_JSON_H

#include <stddef.h>

#include "core/event.h"

#define HV_PUBLISH_MAX_BATCH 1000
#define HV_EVENT_OWN_PREFIX "herald."

/* Parses body into new events (no ids yet). Returns 0 with *out a malloc'd
 * array of *n event references; or -1 with a message for the client in err
 * (e.g. "events[3].type must be a dotted lower-case name"). */
int hv_event_parse_publish(const char *body, size_t len, hv_event ***out, size_t *n,
                           char *err, size_t errlen);

/* hv_event_parse_publish, also accepting an optional "idempotency_key"
 * per event (1..HV_IDEM_KEY_MAX printable ASCII characters, no spaces;
 * unique within the request). *keys (when keys is not NULL) is a malloc'd
 * array of *n strings, NULL for an event without a key; free it with
 * hv_idem_keys_free. */
#define HV_IDEM_KEY_MAX 255
int hv_event_parse_publish_keys(const char *body, size_t len, hv_event ***out, size_t *n,
                                char ***keys, char *err, size_t errlen);
void hv_idem_keys_free(char **keys, size_t n);
/* 1 when s (len bytes) is a valid idempotency key. */
int hv_idem_key_valid(const char *s, size_t len);

/* 1 when s is a valid event type name. */
int hv_event_type_valid(const char *s);

#endif
