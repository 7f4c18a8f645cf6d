/* SPDX-License-Identifier: MIT */
/* http_body.h — request body decoding (Content-Encoding: gzip). */
#ifndef HV_HTTP_BODY_H
#define HV_HTTP_BODY_H

#include <stddef.h>

/* Inflates a gzip (or zlib) body of at most max bytes once inflated.
 * Returns 0 with a malloc'd NUL-terminated *out; 413 when the result would
 * exceed max; 400 when the input is not valid gzip. */
int hv_gunzip(const char *in, size_t in_len, size_t max, char **out, size_t *out_len);

#endif
