/* SPDX-License-Identifier: MIT */
/* cli_peer.c — herald-cli peer connect: the peer client of the client
 * library on a loop of its own.
 *
 *   peer connect --peer-token T [--auth header|query|frame] [--metadata JSON]
 *
 * Prints every event it receives (the native envelope) as one JSON line
 * on stdout. On stderr: "herald-cli: connected as peer P in room R" once
 * authenticated, and "herald-cli: server error: …" for a message the
 * server refused. --metadata sends an update_metadata after
 * authentication. SIGINT/SIGTERM close the socket with 1000 and exit 0;
 * when the server closes it (or the connection fails) the exit status is 1
 * with "herald-cli: connection closed: CODE reason" on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

CLI_RUN_OPS(ops, "peer connect", herald_peer_client);

static void on_ready(const char *peer_id, const char *room_id, void *user)
{
    (void)user;
    fprintf(stderr, "herald-cli: connected as peer %s in room %s\n", peer_id, room_id);
}

static void on_error(const char *message, void *user)
{
    (void)user;
    fprintf(stderr, "herald-cli: server error: %s\n", message);
}

int cli_peer_connect(const cli *c)
{
    cli_run r;
    char err[256] = "";
    memset(&r, 0, sizeof(r));
    if (!c->peer_token || !*c->peer_token)
        return cli_usage_error("%s", "peer connect needs --peer-token T (or HERALD_PEER_TOKEN)");
    if (c->metadata) {
        json_error_t jerr;
        json_t *md = json_loads(c->metadata, JSON_DECODE_ANY, &jerr);
        json_decref(md);
        if (!md)
            return cli_usage_error("--metadata is not valid JSON: %s", jerr.text);
    }
    herald_peer_client_options o = {
        .server = c->server,
        .token = c->peer_token,
        .auth = c->auth,
        .on_ready = on_ready,
        .on_event = cli_print_event,
        .on_error = on_error,
        .on_close = cli_run_on_close,
        .user = &r,
    };
    herald_peer_client *pc = herald_peer_client_new(&o, err, sizeof(err));
    if (!pc)
        return cli_fail("peer connect", HERALD_EINVAL, err);
    if (c->metadata && herald_peer_client_update_metadata(pc, c->metadata) != 0) {
        herald_peer_client_free(pc);
        return cli_fail("peer connect", HERALD_ENOMEM, "");
    }
    r.ops = &ops;
    r.client = pc;
    return cli_run_until_signal(&r);
}
