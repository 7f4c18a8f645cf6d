/* SPDX-License-Identifier: MIT */
/* fuzz_webhook_body.c — libFuzzer target for webhook endpoint bodies
 * (POST/PATCH /v1/webhooks): validation, then the API view and the stored
 * record round trip of whatever is accepted: its payload filter, and
 * issue 18's retry_schedule, retry_schedules and breaker_threshold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/endpoint_json.h"
#include "deliver/event_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return 0;
    }
    char err[256];
    hv_endpoint *ep = hv_endpoint_alloc();
    if (hv_endpoint_apply(ep, j, 1, err, sizeof(err)) == 0) {
        strcpy(ep->id, "ep_fuzz");
        if (!ep->secret)
            ep->secret = strdup("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        json_decref(hv_endpoint_view(ep, 1));
        char *rec = hv_endpoint_record(ep);
        hv_endpoint *back = hv_endpoint_from_record(rec);
        if (!back)
            abort(); /* an accepted endpoint must survive a restart */
        if (!ep->filter != !back->filter || (ep->filter && strcmp(hv_filter_text(ep->filter), hv_filter_text(back->filter))))
            abort(); /* and so must its payload filter (issue 18 item 5) */
        /* and keep its retry schedules and breaker threshold as accepted */
        json_t *v1 = hv_endpoint_view(ep, 0), *v2 = hv_endpoint_view(back, 0);
        static const char *const keys[] = {"retry_schedule", "retry_schedules", "breaker_threshold"};
        for (size_t i = 0; i < 3; i++)
            if (!json_equal(json_object_get(v1, keys[i]), json_object_get(v2, keys[i])))
                abort();
        json_decref(v1);
        json_decref(v2);
        hv_endpoint_unref(back);
        free(rec);
    }
    hv_endpoint_unref(ep);
    json_decref(j);
    return 0;
}
