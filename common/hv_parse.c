/* SPDX-License-Identifier: MIT */
/* hv_parse.c — decimal number parsing for common/; see hv_parse.h.
 *
 * strtoull is not used: it skips leading blanks, takes a sign and wraps
 * "-5" to a huge number, each of which its callers had to test for.
 */
#include "hv_parse.h"

int hv_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
