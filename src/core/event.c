/* event.c — event records: creation, references, one-time encoding. */
#include "core/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/envelope.h"
#include "codec/fishjam_pb.h"
#include "net/ws_frame.h"

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

hv_event *hv_event_new(const char *type, const char *room_id, const char *user_id,
                       const char *data, size_t data_len)
{
    hv_event *ev = calloc(1, sizeof(*ev));
    if (!ev)
        abort();
    atomic_init(&ev->refs, 1);
    ev->type = strdup(type);
    ev->room_id = dup_or_null(room_id);
    ev->user_id = dup_or_null(user_id);
    if (!data) {
        data = "{}";
        data_len = 2;
    }
    ev->data = malloc(data_len + 1);
    if (!ev->data)
        abort();
    memcpy(ev->data, data, data_len);
    ev->data[data_len] = 0;
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
    free(ev->type);
    free(ev->room_id);
    free(ev->user_id);
    free(ev->data);
    free(ev);
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
