/* SPDX-License-Identifier: MIT */
/* peer.c — example: connect as a peer of a room and print its events
 * until Ctrl-C.
 *
 * The peer token comes from herald_peer_add (or `herald-cli peer add ROOM
 * --token-only`). The peer client runs on this program's own libuv loop
 * (herald_peer_client_start); a uv_signal_t turns Ctrl-C into a clean
 * close (herald_peer_client_stop). An optional second argument is sent as
 * the peer's metadata once connected; the server answers with a
 * peer.metadata_updated event, which this peer receives too.
 *
 *   TOKEN=$(herald-cli peer add r1 --token-only)
 *   HERALD_SERVER=http://127.0.0.1:5002 ./example_peer "$TOKEN" '{"name":"alice"}'
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <herald/client.h>

typedef struct app {
    uv_signal_t sigint;
    herald_peer_client *pc;
    const char *metadata;
    int code; /* close code; 1000 after Ctrl-C */
} app;

static void on_ready(const char *peer_id, const char *room_id, void *user)
{
    app *a = user;
    fprintf(stderr, "connected as peer %s in room %s; Ctrl-C to stop\n", peer_id, room_id);
    if (a->metadata && herald_peer_client_update_metadata(a->pc, a->metadata) != 0)
        fprintf(stderr, "metadata is not valid JSON\n");
}

static void on_event(const herald_event *ev, void *user)
{
    (void)user;
    printf("#%llu %s data=%s\n", (unsigned long long)ev->id, ev->type, ev->data);
    fflush(stdout);
}

static void on_error(const char *message, void *user)
{
    (void)user;
    fprintf(stderr, "server refused a message: %s\n", message);
}

static void on_close(int code, const char *reason, void *user)
{
    app *a = user;
    a->code = code;
    fprintf(stderr, "closed: %d %s\n", code, reason);
    uv_close((uv_handle_t *)&a->sigint, NULL); /* nothing left: uv_run returns */
}

static void on_sigint(uv_signal_t *s, int signum)
{
    (void)signum;
    app *a = s->data;
    herald_peer_client_stop(a->pc); /* close 1000; on_close follows */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PEER_TOKEN [METADATA_JSON]\n", argv[0]);
        return 2;
    }
    app a = {.metadata = argc > 2 ? argv[2] : NULL};
    char err[256];
    herald_peer_client_options opts = {
        .server = getenv("HERALD_SERVER"),
        .token = argv[1],
        .auth = HERALD_PEER_AUTH_HEADER,
        .on_ready = on_ready,
        .on_event = on_event,
        .on_error = on_error,
        .on_close = on_close,
        .user = &a,
    };
    a.pc = herald_peer_client_new(&opts, err, sizeof(err));
    if (!a.pc) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    uv_loop_t *loop = uv_default_loop();
    uv_signal_init(loop, &a.sigint);
    a.sigint.data = &a;
    uv_signal_start(&a.sigint, on_sigint, SIGINT);
    int rc = herald_peer_client_start(a.pc, loop);
    if (rc != 0) {
        fprintf(stderr, "cannot start: %s\n", herald_strerror(rc));
        uv_close((uv_handle_t *)&a.sigint, NULL);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    herald_peer_client_free(a.pc);
    uv_loop_close(loop);
    return rc == 0 && a.code == 1000 ? 0 : 1;
}
