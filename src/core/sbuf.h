/* SPDX-License-Identifier: MIT */
/* sbuf.h — shared, immutable, reference-counted byte buffers.
 *
 * An encoded event (a WebSocket frame, an SSE record, a webhook body) is
 * built once and then shared by every recipient: each outbound queue holds
 * a reference, never a copy. The reference count is atomic because the
 * buffer is created on the hub thread and released on the I/O threads.
 */
#ifndef HV_SBUF_H
#define HV_SBUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hv_sbuf {
    atomic_uint refs;
    uint32_t len;
    uint8_t data[];
} hv_sbuf;

/* A new buffer of len bytes (uninitialised contents), one reference. */
hv_sbuf *hv_sbuf_new(size_t len);
/* A new buffer holding a copy of bytes. */
hv_sbuf *hv_sbuf_dup(const void *bytes, size_t len);
hv_sbuf *hv_sbuf_ref(hv_sbuf *b);
void hv_sbuf_unref(hv_sbuf *b);

#endif
