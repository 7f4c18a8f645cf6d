/* SPDX-License-Identifier: MIT */
/* xalloc.c — allocation that aborts on failure (Redis's zmalloc policy);
 * see xalloc.h for why.
 */
#include "core/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void hv_xalloc_fail(size_t size)
{
    /* No stdio buffering or allocation on the way out: format on the
     * stack and write(2) it. */
    char msg[96];
    int n = snprintf(msg, sizeof(msg), "herald: out of memory allocating %zu bytes\n", size);
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
        (void)w;
    }
    abort();
}

void *hv_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        hv_xalloc_fail(size);
    return p;
}

void *hv_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        hv_xalloc_fail(n && size > (size_t)-1 / n ? (size_t)-1 : n * size);
    return p;
}

void *hv_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        hv_xalloc_fail(size);
    return q;
}

void *hv_xmemdup(const void *p, size_t len)
{
    void *q = hv_xmalloc(len);
    if (len)
        memcpy(q, p, len);
    return q;
}

char *hv_xstrdup(const char *s)
{
    return hv_xmemdup(s, strlen(s) + 1);
}

char *hv_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *q = hv_xmalloc(len + 1);
    memcpy(q, s, len);
    q[len] = '\0';
    return q;
}
