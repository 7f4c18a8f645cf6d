/* event.c — event records: creation, references, one-time encoding. */
#include "core/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/envelope.h"
#include "codec/fishjam_pb.h"
#include "net/ws_frame.h"

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
    hv_event *ev = malloc(sizeof(*ev) + tl + 1 + (room_id ? rl + 1 : 0) + (user_id ? ul + 1 : 0) + data_len + 1);
    if (!ev)
        abort();
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

void hv_event_encode(hv_event *ev)
{
    if (!ev->json.buf) {
        size_t len;
        char *env = hv_envelope_json(ev, &len);
        ev->json = hv_ws_frame_new(HV_WS_TEXT, env, len);
        /* The envelope is one line of JSON (no raw newlines), so it is one
         * SSE data: line. */
        char head[40];
        int hl = snprintf(head, sizeof(head), "id: %llu\ndata: ", (unsigned long long)ev->id);
        ev->sse.buf = hv_sbuf_new((size_t)hl + len + 2);
        memcpy(ev->sse.buf->data, head, (size_t)hl);
        memcpy(ev->sse.buf->data + hl, env, len);
        memcpy(ev->sse.buf->data + hl + len, "\n\n", 2);
        ev->sse.hdr = 0;
        free(env);
    }
    if (!ev->pb.buf) {
        uint8_t *pb;
        size_t len;
        if (hv_fishjam_encode_event(ev, &pb, &len) == 0) {
            ev->pb = hv_ws_frame_new(HV_WS_BINARY, pb, len);
            free(pb);
        }
    }
}

void hv_time_iso8601(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

int64_t hv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
