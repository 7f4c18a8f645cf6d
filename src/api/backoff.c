/* SPDX-License-Identifier: MIT */
/* backoff.c — back-off on failed authentications; see backoff.h. */
#include "api/backoff.h"

#include <stdio.h>
#include <uv.h>

#include "core/log.h"
#include "net/http.h"
#include "net/server.h"
#include "net/ws.h"

#define HV_CLOSE_TRY_AGAIN_LATER 1013

static int64_t mono_ms(void)
{
    return (int64_t)(uv_hrtime() / 1000000);
}

/* The seconds c's address must wait, 0 when it may try (counted). */
static long wait_of(hv_conn *c)
{
    hv_server *srv = c->loop->srv;
    if (c->authed)
        return 0;
    long wait_s = hv_authfail_blocked(&srv->authfail, c->addr, mono_ms());
    if (wait_s) {
        atomic_fetch_add_explicit(&srv->metrics.auth_backoff, 1, memory_order_relaxed);
        hv_debug("auth: refusing %s unchecked, too many failed authentications (%ld s left)", c->addr, wait_s);
    }
    return wait_s;
}

static void reason(char *buf, size_t len, long wait_s)
{
    snprintf(buf, len, "too many failed authentications from this address; retry in %ld s", wait_s);
}

int hv_auth_backoff_http(hv_conn *c)
{
    long wait_s = wait_of(c);
    if (!wait_s)
        return 0;
    char why[96], head[48], body[128];
    reason(why, sizeof(why), wait_s);
    snprintf(head, sizeof(head), "Retry-After: %ld\r\n", wait_s);
    int n = snprintf(body, sizeof(body), "{\"errors\":\"%s\"}", why);
    hv_http_respond(c, 429, "application/json", head, body, (size_t)n);
    return -1;
}

int hv_auth_backoff_ws(hv_conn *c)
{
    long wait_s = wait_of(c);
    if (!wait_s)
        return 0;
    char why[96];
    reason(why, sizeof(why), wait_s);
    hv_ws_close(c, HV_CLOSE_TRY_AGAIN_LATER, why);
    return -1;
}

void hv_auth_failed(hv_conn *c)
{
    hv_server *srv = c->loop->srv;
    atomic_fetch_add_explicit(&srv->metrics.auth_failures, 1, memory_order_relaxed);
    hv_authfail_record(&srv->authfail, c->addr, mono_ms());
}
