/* SPDX-License-Identifier: MIT */
/* fuzz_redis_url.c — libFuzzer target for the redis engine's URL parser
 * (store/redis_conn.c hv_redis_parse_url: --redis-url, HERALD_REDIS_URL):
 * arbitrary bytes, made a NUL-terminated string. An accepted URL must give
 * a non-empty host, a port in 1..65535, a database in 0..1000000 and
 * NUL-terminated user and password within their buffers; a refused one
 * must say why. The seeds in fuzz/corpus/fuzz_redis_url/ are the forms
 * docs/configuration.md documents (--redis-url).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis_internal.h"

static int terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    static hv_redis r;
    memset(&r, 0, sizeof(r));
    char err[256] = "";
    if (hv_redis_parse_url(&r, url, err, sizeof(err)) != 0) {
        if (!err[0])
            abort(); /* a refusal says why */
    } else if (!terminated(r.host, sizeof(r.host)) || !r.host[0] || r.port < 1 || r.port > 65535 ||
               r.db < 0 || r.db > 1000000 || !terminated(r.user, sizeof(r.user)) ||
               !terminated(r.pass, sizeof(r.pass))) {
        abort();
    }
    free(url);
    return 0;
}
