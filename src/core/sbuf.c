/* SPDX-License-Identifier: MIT */
/* sbuf.c — shared immutable byte buffers; see sbuf.h. */
#include "core/sbuf.h"
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>

hv_sbuf *hv_sbuf_new(size_t len)
{
    hv_sbuf *b = hv_xmalloc(sizeof(*b) + len + 1);
    atomic_init(&b->refs, 1);
    b->len = (uint32_t)len;
    b->data[len] = 0; /* handy for text payloads */
    return b;
}

hv_sbuf *hv_sbuf_dup(const void *bytes, size_t len)
{
    hv_sbuf *b = hv_sbuf_new(len);
    if (len)
        memcpy(b->data, bytes, len);
    return b;
}

hv_sbuf *hv_sbuf_ref(hv_sbuf *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void hv_sbuf_unref(hv_sbuf *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}
