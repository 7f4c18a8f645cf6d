/* SPDX-License-Identifier: MIT */
/* fuzz_janus.c — libFuzzer target for the Janus body parser and mapper
 * (ingest/janus.c) and the dedup set (ingest/janus_dedup.c).
 *
 * The first input byte picks the room rule and whether a prefix is used;
 * the rest is the body. The body must be accepted exactly when jansson
 * decodes it whole (with the Janus rules on top). Every accepted event must
 * have a valid type name, a room of at most 256 bytes, data that is one
 * line of JSON decoding to the same object as its element of the whole
 * body, and must encode like a committed event; claiming the same
 * digests twice must find them all the second time. A refusal's message
 * must be printable ASCII.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/event_frames.h"
#include "core/event.h"
#include "core/event_json.h"
#include "ingest/janus.h"
#include "ingest/janus_dedup.h"

/* orig: the element as jansson decodes it from the whole body. */
static void check_event(hv_event *ev, uint64_t id, json_t *orig)
{
    if (!hv_event_type_valid(ev->type) || strncmp(ev->type, "janus.", 6) != 0)
        abort();
    if (ev->room_id && (!ev->room_id[0] || strlen(ev->room_id) > 256))
        abort();
    json_t *d = json_loadb(ev->data, ev->data_len, 0, NULL);
    if (!json_is_object(d) || !json_equal(d, orig)) /* the same event, integers exact */
        abort();
    json_decref(d);
    /* One line of compact JSON: these never appear raw inside a string. */
    if (memchr(ev->data, '\n', ev->data_len) || memchr(ev->data, '\r', ev->data_len) ||
        memchr(ev->data, '\t', ev->data_len) || strlen(ev->data) != ev->data_len)
        abort();
    ev->id = id;
    ev->time_ms = 1795339867854;
    hv_event_encode(ev);
    json_t *env = json_loadb((const char *)hv_frame_payload(&ev->json), hv_frame_payload_len(&ev->json), 0, NULL);
    if (!env)
        abort();
    json_decref(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    hv_janus_opts o = {(hv_janus_room_from)(data[0] % 3), (data[0] & 4) ? "janus-" : NULL};
    hv_janus_batch b;
    char err[256];
    if (hv_janus_parse((const char *)data + 1, size - 1, &o, &b, err, sizeof(err)) != 0) {
        for (const char *p = err; *p; p++)
            if (*p < 0x20 || *p > 0x7e)
                abort();
        if (b.n || b.evs)
            abort();
        return 0;
    }
    json_t *whole = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    if (!whole || (json_is_array(whole) ? json_array_size(whole) : 1) != b.n)
        abort();
    for (size_t i = 0; i < b.n; i++)
        check_event(b.evs[i], i + 1, json_is_array(whole) ? json_array_get(whole, i) : whole);
    json_decref(whole);
    hv_janus_dedup *d = hv_janus_dedup_new(b.n + 1);
    uint8_t *keep = malloc(b.n);
    const uint8_t(*dg)[HV_JANUS_DIGEST_LEN] = (const uint8_t(*)[HV_JANUS_DIGEST_LEN])b.digests;
    if (hv_janus_dedup_claim(d, dg, b.n, keep) == 0 || hv_janus_dedup_claim(d, dg, b.n, keep) != 0)
        abort();
    free(keep);
    hv_janus_dedup_free(d);
    hv_janus_batch_free(&b);
    return 0;
}
