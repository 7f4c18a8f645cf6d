/* SPDX-License-Identifier: MIT */
/* fuzz_webhook_body.c — libFuzzer target for webhook endpoint bodies
 * (POST/PATCH /v1/webhooks): validation, then the API view and the stored
 * record round trip of whatever is accepted, its payload filter too. */
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
        hv_endpoint_unref(back);
        free(rec);
    }
    hv_endpoint_unref(ep);
    json_decref(j);
    return 0;
}
