/* SPDX-License-Identifier: MIT */
/* fuzz_event_json.c — libFuzzer target for the publish-body parser.
 *
 * Feeds arbitrary bytes to hv_event_parse_publish; every event it accepts
 * gets a fake id and time and is encoded (native JSON envelope and Fishjam
 * protobuf), exactly as the hub would after the append. Checks on the way:
 * an error message is printable ASCII, the envelope is valid JSON, and a
 * protobuf form, when there is one, decodes as a ServerMessage. The same
 * bytes go through hv_event_parse_publish_keys (per-event idempotency_key,
 * issue 18 item 1): every key it returns is valid and unique in the body.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/event_frames.h"
#include "codec/fishjam_pb.h"
#include "core/event.h"
#include "core/event_json.h"

static void check_error_text(const char *err)
{
    for (const char *p = err; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            abort();
}

static void check_encoded(hv_event *ev)
{
    json_t *j = json_loadb((const char *)hv_frame_payload(&ev->json),
                           hv_frame_payload_len(&ev->json), 0, NULL);
    if (!j)
        abort();
    json_decref(j);
    if (ev->pb.buf) {
        hv_fj_request req;
        hv_fishjam_decode_request(hv_frame_payload(&ev->pb), hv_frame_payload_len(&ev->pb), &req);
        if (req.kind != HV_FJ_REQ_OTHER)
            abort();
        hv_fishjam_request_clear(&req);
    }
}

static void check_keys(const uint8_t *data, size_t size)
{
    hv_event **evs = NULL;
    char **keys = NULL, err[320];
    size_t n = 0;
    if (hv_event_parse_publish_keys((const char *)data, size, &evs, &n, &keys, err, sizeof(err)) != 0) {
        check_error_text(err);
        if (evs || keys)
            abort();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (keys[i] && !hv_idem_key_valid(keys[i], strlen(keys[i])))
            abort();
        for (size_t j = 0; keys[i] && j < i; j++)
            if (keys[j] && !strcmp(keys[i], keys[j]))
                abort();
        hv_event_unref(evs[i]);
    }
    free(evs);
    hv_idem_keys_free(keys, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_keys(data, size);
    hv_event **evs = NULL;
    size_t n = 0;
    char err[256];
    if (hv_event_parse_publish((const char *)data, size, &evs, &n, err, sizeof(err)) != 0) {
        check_error_text(err);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        evs[i]->id = i + 1;
        evs[i]->time_ms = 1795341600123LL;
        hv_event_encode(evs[i]);
        check_encoded(evs[i]);
        hv_event_unref(evs[i]);
    }
    free(evs);
    return 0;
}
