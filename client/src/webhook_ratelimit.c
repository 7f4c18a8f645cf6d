/* SPDX-License-Identifier: MIT */
/* webhook_ratelimit.c — herald_webhook_set_rate_limit (client_webhooks.h):
 * PATCH /v1/webhooks/{id} {"rate_limit": …} (issue 18 item 2). A function
 * of its own rather than a field of herald_webhook_config, so that struct
 * keeps its size (ABI). The server checks the bounds and answers a bad
 * value with 400 naming the field. */
#include <jansson.h>
#include <stdlib.h>

#include "client_internal.h"

int herald_webhook_set_rate_limit(const char *server, const char *token, const char *id, double per_second,
                                  int burst, char **json_out, int *status, char *errbuf, size_t errlen)
{
    if (!id || !*id)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "an endpoint id is needed");
    json_t *v = per_second <= 0 ? json_null()
                : burst <= 0    ? json_real(per_second)
                                : json_pack("{s:f,s:i}", "per_second", per_second, "burst", burst);
    return herald__webhook_patch(server, token, id, json_pack("{s:o}", "rate_limit", v), json_out, status, errbuf,
                                 errlen);
}
