/* SPDX-License-Identifier: MIT */
/* ws_frame.c — shared server frames; see ws_frame.h.
 *
 * wslay's frame API writes through a send callback: the header first, then
 * the payload. We capture the header into a small buffer, then lay out
 * [header][payload] in one shared buffer.
 */
#include "codec/ws_frame.h"

#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

struct capture {
    uint8_t hdr[14];
    size_t hdr_len;
    int in_payload;
};

static ssize_t capture_send(const uint8_t *data, size_t len, int flags, void *user)
{
    (void)flags;
    struct capture *c = user;
    if (!c->in_payload) {
        /* The first call carries the header (wslay sends it on its own). */
        if (len > sizeof(c->hdr))
            return -1;
        memcpy(c->hdr, data, len);
        c->hdr_len = len;
        c->in_payload = 1;
    }
    return (ssize_t)len;
}

static ssize_t no_recv(uint8_t *buf, size_t len, int flags, void *user)
{
    (void)buf, (void)len, (void)flags, (void)user;
    return -1;
}

static int no_mask(uint8_t *buf, size_t len, void *user)
{
    (void)buf, (void)len, (void)user;
    return -1;
}

hv_frame hv_ws_frame_new(int opcode, const void *payload, size_t len)
{
    struct capture cap = {0};
    struct wslay_frame_callbacks cbs = {capture_send, no_recv, no_mask};
    wslay_frame_context_ptr fctx;
    if (wslay_frame_context_init(&fctx, &cbs, &cap) != 0)
        abort();
    struct wslay_frame_iocb iocb = {
        .fin = 1, .rsv = 0, .opcode = (uint8_t)opcode, .payload_length = len,
        .mask = 0, .data = payload, .data_length = len};
    /* Zero-length payloads: wslay sends the header only and returns 0. */
    ssize_t r = wslay_frame_send(fctx, &iocb);
    wslay_frame_context_free(fctx);
    if (r < 0 || cap.hdr_len == 0)
        abort();
    hv_frame f;
    f.buf = hv_sbuf_new(cap.hdr_len + len);
    f.hdr = (uint8_t)cap.hdr_len;
    memcpy(f.buf->data, cap.hdr, cap.hdr_len);
    if (len)
        memcpy(f.buf->data + cap.hdr_len, payload, len);
    return f;
}

size_t hv_ws_frame_header(uint8_t out[10], int opcode, size_t len)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0f)); /* FIN, no RSV bits */
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return 10;
}
