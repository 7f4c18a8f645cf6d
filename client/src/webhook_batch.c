/* SPDX-License-Identifier: MIT */
/* webhook_batch.c — the client side of batched JSON delivery (issue 18
 * item 6): herald_webhook_create_batched and herald_webhook_set_batch (the
 * endpoint's "batch" setting, through create_ex / update, so
 * herald_webhook_config keeps its size), and herald_webhook_inflate, which
 * gives a receiver the body herald signed: a batch sent with
 * Content-Encoding: gzip is signed before compression, so it is inflated
 * first (bounded: HERALD_WEBHOOK_INFLATE_MAX). herald_webhook_verify calls
 * it, so it accepts gzip batches as they arrive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "client_internal.h"

/* {"batch": …} for create or update; -1 on a bad value. */
static int batch_json(int max_events, int max_wait_ms, int gzip, char *out, size_t outlen)
{
    if (max_events == 0)
        return snprintf(out, outlen, "{\"batch\":null}") < (int)outlen ? 0 : -1;
    if (max_events < 0 || max_wait_ms < 0)
        return -1;
    int n = snprintf(out, outlen, "{\"batch\":{\"max_events\":%d,\"max_wait_ms\":%d,\"gzip\":%s}}", max_events,
                     max_wait_ms, gzip ? "true" : "false");
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int herald_webhook_create_batched(const char *server, const char *token, const herald_webhook_config *cfg,
                                  int max_events, int max_wait_ms, int gzip, char **json_out, int *status,
                                  char *errbuf, size_t errlen)
{
    char extra[128];
    if (max_events <= 0 || batch_json(max_events, max_wait_ms, gzip, extra, sizeof(extra)) != 0)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "max_events must be positive, max_wait_ms >= 0");
    return herald_webhook_create_ex(server, token, cfg, extra, json_out, status, errbuf, errlen);
}

int herald_webhook_set_batch(const char *server, const char *token, const char *id, int max_events,
                             int max_wait_ms, int gzip, char **json_out, int *status, char *errbuf,
                             size_t errlen)
{
    char patch[128];
    if (batch_json(max_events, max_wait_ms, gzip, patch, sizeof(patch)) != 0)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "max_events and max_wait_ms must not be negative");
    return herald_webhook_update(server, token, id, patch, json_out, status, errbuf, errlen);
}

static int gzipped(const herald_header *h, size_t n)
{
    for (size_t i = 0; h && i < n; i++)
        if (h[i].name && h[i].value && !strcasecmp(h[i].name, "content-encoding"))
            return !strcasecmp(h[i].value, "gzip");
    return 0;
}

int herald_webhook_inflate(const herald_header *headers, size_t nheaders, const void *body, size_t len,
                           void **out, size_t *outlen, char *errbuf, size_t errlen)
{
    if (!out || !outlen || (!body && len))
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "bad argument");
    *out = NULL;
    *outlen = 0;
    if (!gzipped(headers, nheaders))
        return 0;
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return herald__fail(HERALD_ENOMEM, errbuf, errlen, "out of memory");
    size_t cap = len * 4 + 1024, used = 0;
    unsigned char *buf = NULL;
    int rc = Z_OK;
    z.next_in = (unsigned char *)(uintptr_t)body;
    z.avail_in = (uInt)len;
    while (rc == Z_OK) {
        if (cap > HERALD_WEBHOOK_INFLATE_MAX)
            cap = HERALD_WEBHOOK_INFLATE_MAX;
        unsigned char *nb = realloc(buf, cap + 1);
        if (!nb) {
            rc = Z_MEM_ERROR;
            break;
        }
        buf = nb;
        if (used == cap) {
            rc = Z_BUF_ERROR; /* over the bound */
            break;
        }
        z.next_out = buf + used;
        z.avail_out = (uInt)(cap - used);
        rc = inflate(&z, Z_NO_FLUSH);
        used = cap - z.avail_out;
        if (rc == Z_OK && z.avail_out == 0)
            cap *= 2;
        else if (rc == Z_OK || (rc == Z_BUF_ERROR && z.avail_in == 0))
            break; /* input ended before the stream did */
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return herald__fail(HERALD_EPROTO, errbuf, errlen,
                            used >= HERALD_WEBHOOK_INFLATE_MAX ? "the inflated body is over the bound"
                                                               : "the body is not a whole gzip stream");
    }
    buf[used] = 0;
    *out = buf;
    *outlen = used;
    return 0;
}
