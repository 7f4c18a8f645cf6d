/* SPDX-License-Identifier: MIT */
/* clock.h — herald's wall-clock time, and its one ISO 8601 writer and reader.
 *
 * Times herald stores and sends are ms since the Unix epoch (UTC). They
 * are written out as "2026-11-22T10:00:00.123Z" (envelopes, endpoint
 * listings, text history) and read back from clients' ISO 8601 strings
 * (the seeds' created_at/timestamp, a webhook replay's "since") by the one
 * parser here, so every place takes the same forms.
 */
#ifndef HV_CLOCK_H
#define HV_CLOCK_H

#include <stdint.h>

/* Wall-clock time in ms since the epoch. */
int64_t hv_now_ms(void);

/* Formats ms since the epoch as ISO 8601 UTC with milliseconds
 * ("2026-11-22T10:00:00.123Z"); out must hold 32 bytes. */
void hv_time_iso8601(int64_t ms, char out[32]);

/* Parses an ISO 8601 date and time, "YYYY-MM-DDTHH:MM[:SS[.frac]]" then
 * "Z" or an offset "+HH:MM", "+HHMM", "+HH" ('t', 'z' and a space for 'T'
 * are taken too, ',' for '.'): 0 and *ms set to its ms since the epoch
 * (UTC, the offset applied, fractions of a ms kept, negative before 1970),
 * or -1 for anything that is not a full date and time. */
int hv_time_parse_iso8601(const char *s, double *ms);

#endif
