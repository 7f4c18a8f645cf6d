/* SPDX-License-Identifier: MIT */
/* hv_parse.h — the one parser of unsigned decimal numbers from outside
 * text (query parameters, path segments, command-line options, ids in a
 * server's answer), shared by the server, the client library and
 * herald-cli. Part of common/; it knows nothing of any of them.
 */
#ifndef HV_PARSE_H
#define HV_PARSE_H

#include <stdint.h>

/* *out = the number s spells: one or more decimal digits and nothing else
 * (no sign, no blanks), at most UINT64_MAX. 0, or -1 (and *out unchanged)
 * otherwise. */
int hv_parse_u64(const char *s, uint64_t *out);

#endif
