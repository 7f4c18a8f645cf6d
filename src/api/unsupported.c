/* SPDX-License-Identifier: MIT */
/* unsupported.c — the Fishjam REST calls of media features herald has not.
 *
 * herald carries no media, so it cannot forward tracks to a composition,
 * hand out MoQ access or record. SDK 0.26-0.29 still call these paths;
 * rather than a bare 404 (which the SDK reads as "not found") each gets a
 * 501 with a Fishjam-style body naming what is missing. The server token
 * is checked first, as on the rest of the room API, so a client without
 * it learns nothing but 401.
 */
#include "api/handlers.h"
#include "api/router.h"

/* Answers 501 {"errors": "herald carries no media: <what> not implemented"}
 * once the server token checks out. */
static void not_implemented(hv_conn *c, hv_http_req *r, const char *what)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    hv_http_error(c, 501, "herald carries no media: %s not implemented", what);
}

/* POST /room/:id/track_forwardings (SDK 0.26+; Room.compositionInfo is
 * therefore never set). */
void hv_api_track_forwardings(hv_conn *c, hv_http_req *r)
{
    not_implemented(c, r, "track forwarding to a composition is");
}

/* POST /moq/access (SDK 0.29 createMoqAccess). */
void hv_api_moq_access(hv_conn *c, hv_http_req *r)
{
    not_implemented(c, r, "MoQ access is");
}

/* /recordings and everything under it, any method (Fishjam's HEAD). */
void hv_api_recordings(hv_conn *c, hv_http_req *r)
{
    not_implemented(c, r, "recordings are");
}
