/* SPDX-License-Identifier: MIT */
/* fuzz_event_filter.c — libFuzzer target for payload filters (issue 18
 * item 5; deliver/event_filter.h): the filter a user gives a webhook
 * endpoint or a sink, and the event data it is matched against.
 *
 * Input: the filter's JSON text, a NUL byte, then the event's data (any
 * bytes: a publisher's JSON, or not JSON at all). Checked: a filter that
 * compiles has compact text within the size bound that compiles again to
 * the same text (what the stored record holds survives a restart) and
 * matches every event as the original does; matching is deterministic and
 * the subject's one parse serves both filters; a filter that does not
 * compile says why in a "filter: …" message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/event_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t flen = nul ? (size_t)(nul - data) : size;
    const char *body = nul ? (const char *)nul + 1 : "{}";
    size_t blen = nul ? size - flen - 1 : 2;
    char err[300];
    hv_filter *f = hv_filter_compile_text((const char *)data, flen, err, sizeof(err));
    if (!f) {
        if (err[0] && strncmp(err, "filter: ", 8) != 0)
            abort(); /* every refusal names itself */
        return 0;
    }
    const char *text = hv_filter_text(f);
    if (strlen(text) > HV_FILTER_MAX_BYTES)
        abort();
    hv_filter *again = hv_filter_compile_text(text, strlen(text), err, sizeof(err));
    if (!again || strcmp(hv_filter_text(again), text) != 0)
        abort(); /* the stored form must load back as the same filter */
    const char *types[] = {"invoice.paid", "peer.connected"};
    for (int t = 0; t < 2; t++) {
        hv_event *ev = hv_event_new(types[t], t ? "room" : NULL, t ? NULL : "user", body, blen);
        hv_filter_subject s;
        hv_filter_subject_init(&s, ev);
        int a = hv_filter_match(f, &s), b = hv_filter_match(again, &s), c = hv_filter_match(f, &s);
        if (a != b || a != c)
            abort();
        hv_filter_subject_done(&s);
        hv_event_unref(ev);
    }
    hv_filter_unref(again);
    hv_filter_unref(f);
    return 0;
}
