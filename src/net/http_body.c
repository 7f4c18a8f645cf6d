/* SPDX-License-Identifier: MIT */
/* http_body.c — gzip request bodies, inflated with zlib under a size cap
 * (a small body must not be able to inflate into gigabytes). */
#include "net/http_body.h"

#include <stdlib.h>
#include <zlib.h>

#include "core/xalloc.h"

int hv_gunzip(const char *in, size_t in_len, size_t max, char **out, size_t *out_len)
{
    z_stream zs = {0};
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* 32: accept gzip or zlib headers */
        return 400;
    size_t cap = in_len * 4 + 64;
    if (cap > max + 1)
        cap = max + 1;
    char *buf = hv_xmalloc(cap + 1);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)in_len;
    size_t len = 0;
    int rc;
    do {
        if (len == cap) {
            if (cap > max) {
                rc = Z_BUF_ERROR;
                break;
            }
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            buf = hv_xrealloc(buf, cap + 1);
        }
        zs.next_out = (Bytef *)buf + len;
        zs.avail_out = (uInt)(cap - len);
        rc = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
    } while (rc == Z_OK && (zs.avail_in > 0 || zs.avail_out == 0));
    inflateEnd(&zs);
    if (len > max) {
        free(buf);
        return 413;
    }
    if (rc != Z_STREAM_END) {
        free(buf);
        return 400;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return 0;
}
