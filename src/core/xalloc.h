/* SPDX-License-Identifier: MIT */
/* xalloc.h — allocation that cannot fail: herald's out-of-memory policy.
 *
 * A server that runs out of memory halfway through a change cannot answer
 * honestly anyway, and error paths for every malloc are code that never
 * runs until the worst moment. So, like Redis (zmalloc), herald aborts
 * with a message on stderr when an allocation fails; memory is kept in
 * check by the documented bounds (connections, queues, bodies, windows)
 * instead. The server uses these everywhere; the client library (client/)
 * does not: a library hands errors back to its caller.
 */
#ifndef HV_XALLOC_H
#define HV_XALLOC_H

#include <stddef.h>

/* Never NULL: abort() after a message on failure. A size of 0 gets a
 * valid pointer of its own, as from malloc(1). */
void *hv_xmalloc(size_t size);
void *hv_xcalloc(size_t n, size_t size); /* also aborts when n * size overflows */
void *hv_xrealloc(void *p, size_t size);
char *hv_xstrdup(const char *s);
char *hv_xstrndup(const char *s, size_t n); /* at most n bytes of s, NUL-terminated */
void *hv_xmemdup(const void *p, size_t len);

/* The message and the abort (exposed for allocators herald does not call
 * itself, e.g. a library's allocation hook). */
_Noreturn void hv_xalloc_fail(size_t size);

#endif
