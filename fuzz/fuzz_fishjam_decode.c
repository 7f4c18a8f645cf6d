/* SPDX-License-Identifier: MIT */
/* fuzz_fishjam_decode.c — libFuzzer target for the server-notifier decoder.
 *
 * Feeds arbitrary bytes, as a client's binary WebSocket frame, to
 * hv_fishjam_decode_request and releases the result. An AUTH result must
 * carry a token; no other kind may.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "codec/fishjam_pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_fj_request req;
    hv_fishjam_decode_request(data, size, &req);
    if ((req.kind == HV_FJ_REQ_AUTH) != (req.token != NULL))
        abort();
    hv_fishjam_request_clear(&req);
    return 0;
}
