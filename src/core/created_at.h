/* SPDX-License-Identifier: MIT */
/* created_at.h — the seeds' `created_at` (and `timestamp`) as one order key.
 *
 * The seeds' access-id API orders events by the time their connector gave
 * them (`created_at`), and a client resumes with the `created_at` of the
 * last event it saw (`timestamp`). Connectors send numbers or ISO 8601
 * strings; to compare the two kinds, both become one number at push time,
 * the event's created key, which the store indexes per access id:
 *   - a number (integer or not, >= 0) is its own key: numbers compare as
 *     numbers, whatever their unit;
 *   - an ISO 8601 string is its milliseconds since the epoch (UTC, its
 *     offset applied, fractions of a ms kept);
 * so a connector that mixes them must send numbers in ms since the epoch
 * (as herald's own times are) for the two to interleave by time.
 * Anything else (negative, a date before 1970, another type, a string
 * that is not a full date and time) is refused.
 *
 * An event pushed without `created_at` gets herald's storage time (ms
 * since the epoch, a number) stamped by the hub's commit thread
 * (hv_created_stamp), made strictly increasing in commit order so a
 * client that resumes from the last one it saw misses nothing.
 */
#ifndef HV_CREATED_AT_H
#define HV_CREATED_AT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

/* The key of a JSON created_at/timestamp value: 0 and *key set, or -1. */
int hv_created_key(const json_t *v, double *key);
/* The key of an ISO 8601 date and time (the forms hv_time_parse_iso8601,
 * core/clock.h, takes) from 1970 on: 0 and *key set, or -1. */
int hv_created_iso_key(const char *s, double *key);

/* What an access event's data ends with when its created_at is to be
 * stamped at commit: room for the number, so the stamp is written in place
 * (the event's strings share its allocation) and the text is valid JSON
 * (null) until then. */
#define HV_CREATED_SLOT "\"created_at\":null                    }"

/* Stamps every event of evs whose created_set is HV_CREATED_STAMP with
 * max(now, *last + 1) ms in its data and key; *last moves to the newest
 * stamp. Commit thread only (one *last per store writer). */
void hv_created_stamp(hv_event **evs, size_t n, int64_t now_ms, int64_t *last);

#endif
