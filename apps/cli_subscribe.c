/* SPDX-License-Identifier: MIT */
/* cli_subscribe.c — herald-cli subscribe: the subscriber of the client
 * library (herald_subscriber) on a loop of its own.
 *
 *   subscribe --token T [--since N] [--no-reconnect]
 *
 * T is an app-client token: a user token (JWT, `herald-cli token`) or a
 * peer token (here --token is not the server token; --peer-token or
 * HERALD_PEER_TOKEN work too). Prints every event (the native envelope)
 * as one JSON line on stdout, each exactly once, ids increasing. On
 * stderr: "herald-cli: subscribed" (fresh start) or "herald-cli: resumed
 * after N" on every authentication, "herald-cli: connection closed: CODE
 * reason; reconnecting (attempt n)" before each retry, "herald-cli: resume
 * failed: …" when history no longer holds what was missed. SIGINT/SIGTERM
 * close the socket with 1000 and exit 0; when the subscriber gives up the
 * exit status is 1 with "herald-cli: connection closed: CODE reason".
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

CLI_RUN_OPS(ops, "subscribe", herald_subscriber);

static void on_ready(uint64_t resumed_after, void *user)
{
    (void)user;
    if (resumed_after)
        fprintf(stderr, "herald-cli: resumed after %llu\n", (unsigned long long)resumed_after);
    else
        fprintf(stderr, "herald-cli: subscribed\n");
}

static void on_resume_failed(const char *message, uint64_t first_id, void *user)
{
    (void)user;
    fprintf(stderr, "herald-cli: resume failed: %s (first id %llu)\n", message,
            (unsigned long long)first_id);
}

static void on_reconnect(unsigned attempt, int code, const char *reason, void *user)
{
    (void)user;
    fprintf(stderr, "herald-cli: connection closed: %d %s; reconnecting (attempt %u)\n", code,
            reason, attempt);
}

int cli_subscribe(const cli *c)
{
    cli_run r;
    char err[256] = "";
    memset(&r, 0, sizeof(r));
    if (!c->app_token || !*c->app_token)
        return cli_usage_error("%s", "subscribe needs --token T (a user or peer token)");
    herald_subscriber_options o = {
        .server = c->server,
        .token = c->app_token,
        .since = c->has_since ? c->since : 0,
        .reconnect = !c->no_reconnect,
        .on_ready = on_ready,
        .on_event = cli_print_event,
        .on_resume_failed = on_resume_failed,
        .on_reconnect = on_reconnect,
        .on_close = cli_run_on_close,
        .user = &r,
    };
    herald_subscriber *sub = herald_subscriber_new(&o, err, sizeof(err));
    if (!sub)
        return cli_fail("subscribe", HERALD_EINVAL, err);
    r.ops = &ops;
    r.client = sub;
    return cli_run_until_signal(&r);
}
