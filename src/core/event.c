/* SPDX-License-Identifier: MIT */
/* event.c — event records: creation and references (their encoding is
 * codec/event_frames.c). */
#include "core/event.h"
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Copies len bytes of s and a NUL to *at; returns the copy. */
static char *place(char **at, const char *s, size_t len)
{
    char *out = *at;
    memcpy(out, s, len);
    out[len] = 0;
    *at += len + 1;
    return out;
}

/* One allocation holds the record and its strings (this runs for every
 * event published or read back, so it saves four malloc/free pairs). */
hv_event *hv_event_new(const char *type, const char *room_id, const char *user_id,
                       const char *data, size_t data_len)
{
    if (!data) {
        data = "{}";
        data_len = 2;
    }
    size_t tl = strlen(type), rl = room_id ? strlen(room_id) : 0, ul = user_id ? strlen(user_id) : 0;
    hv_event *ev = hv_xmalloc(sizeof(*ev) + tl + 1 + (room_id ? rl + 1 : 0) + (user_id ? ul + 1 : 0) + data_len + 1);
    memset(ev, 0, sizeof(*ev));
    atomic_init(&ev->refs, 1);
    char *at = (char *)(ev + 1);
    ev->type = place(&at, type, tl);
    ev->room_id = room_id ? place(&at, room_id, rl) : NULL;
    ev->user_id = user_id ? place(&at, user_id, ul) : NULL;
    ev->data = place(&at, data, data_len);
    ev->data_len = data_len;
    return ev;
}

hv_event *hv_event_ref(hv_event *ev)
{
    atomic_fetch_add_explicit(&ev->refs, 1, memory_order_relaxed);
    return ev;
}

void hv_event_unref(hv_event *ev)
{
    if (!ev || atomic_fetch_sub_explicit(&ev->refs, 1, memory_order_acq_rel) != 1)
        return;
    hv_sbuf_unref(ev->json.buf);
    hv_sbuf_unref(ev->pb.buf);
    hv_sbuf_unref(ev->sse.buf);
    free(ev); /* its strings live in the same block */
}
