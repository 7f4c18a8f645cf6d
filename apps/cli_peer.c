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
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct peer_run {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    herald_peer_client *pc;
    int interrupted, code;
    char reason[256];
} peer_run;

static void on_ready(const char *peer_id, const char *room_id, void *user)
{
    (void)user;
    fprintf(stderr, "herald-cli: connected as peer %s in room %s\n", peer_id, room_id);
}

static void on_event(const herald_event *ev, void *user)
{
    (void)user;
    cli_print_json_text(ev->raw, ev->raw_len);
}

static void on_error(const char *message, void *user)
{
    (void)user;
    fprintf(stderr, "herald-cli: server error: %s\n", message);
}

static void on_close(int code, const char *reason, void *user)
{
    peer_run *r = user;
    r->code = code;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    uv_close((uv_handle_t *)&r->sigint, NULL);
    uv_close((uv_handle_t *)&r->sigterm, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    peer_run *r = s->data;
    r->interrupted = 1;
    herald_peer_client_stop(r->pc);
}

int cli_peer_connect(const cli *c)
{
    peer_run r;
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
        .on_event = on_event,
        .on_error = on_error,
        .on_close = on_close,
        .user = &r,
    };
    r.pc = herald_peer_client_new(&o, err, sizeof(err));
    if (!r.pc)
        return cli_fail("peer connect", HERALD_EINVAL, err);
    if (c->metadata && herald_peer_client_update_metadata(r.pc, c->metadata) != 0) {
        herald_peer_client_free(r.pc);
        return cli_fail("peer connect", HERALD_ENOMEM, "");
    }
    if (uv_loop_init(&r.loop) != 0) {
        herald_peer_client_free(r.pc);
        return cli_fail("peer connect", HERALD_ENOMEM, "");
    }
    uv_signal_init(&r.loop, &r.sigint);
    uv_signal_init(&r.loop, &r.sigterm);
    r.sigint.data = r.sigterm.data = &r;
    uv_signal_start(&r.sigint, on_signal, SIGINT);
    uv_signal_start(&r.sigterm, on_signal, SIGTERM);
    int rc = herald_peer_client_start(r.pc, &r.loop);
    if (rc != 0) {
        uv_close((uv_handle_t *)&r.sigint, NULL);
        uv_close((uv_handle_t *)&r.sigterm, NULL);
    }
    uv_run(&r.loop, UV_RUN_DEFAULT);
    herald_peer_client_free(r.pc);
    uv_loop_close(&r.loop);
    if (rc != 0)
        return cli_fail("peer connect", rc, "");
    if (r.interrupted)
        return 0;
    fprintf(stderr, "herald-cli: connection closed: %d %s\n", r.code, r.reason);
    return 1;
}
