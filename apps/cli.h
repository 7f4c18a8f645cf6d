/* SPDX-License-Identifier: MIT */
/* cli.h — what the files of herald-cli share.
 *
 *   herald-cli.c   main: options, usage, dispatch to the commands
 *   cli_common.c   the error and output helpers, cli_run_until_signal
 *   cli_events.c   listen, publish, history
 *   cli_publish_stream.c  publish --stream (the publishing connection)
 *   cli_rooms.c    room create/list/get/delete, peer add/delete/refresh-token
 *   cli_peer.c     peer connect (the peer client)
 *   cli_subscribe.c  subscribe (the subscriber: reconnects and resumes)
 *   cli_token.c    token (mint a user token)
 *   cli_sinks.c    sinks (the sink modules, their states and positions)
 *   cli_nodes.c    nodes (the nodes sharing the store, alive, what each owns)
 *   cli_console.c  console-token (a short-lived token for the web console)
 *   cli_webhooks.c  webhooks add/update/list/get/delete/disable/enable/
 *                  deliveries/replay/retry; parses its own options
 *   cli_webhook_listen.c  webhook-listen (a local verifying receiver)
 *   cli_webhook_batch.c   webhooks add/update --batch
 *
 * Every command returns the process exit status: 0 success, 1 an error
 * (the server's message on stderr), 2 a usage error.
 */
#ifndef HERALD_CLI_H
#define HERALD_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "herald/client.h"

typedef struct cli {
    const char *server, *token;
    const char *room, *user, *type;
    int json, metrics;
    int has_since, has_limit;
    uint64_t since;
    unsigned limit;
    /* room create */
    const char *webhook_url, *room_id, *video_codec, *room_type;
    int has_max_peers, is_public;
    uint64_t max_peers;
    /* peer add / connect */
    const char *metadata, *subscribe_mode, *peer_token;
    const char *vapi_api_key, *vapi_call_id; /* peer add --type vapi */
    int token_only;
    herald_peer_auth auth;
    /* subscribe: the app-client token (--token or --peer-token) */
    const char *app_token;
    int no_reconnect;
    /* publish --stream */
    int stream;
    unsigned window;
    /* console-token --ttl (0: the server's default) */
    long ttl;
    /* publish --idempotency-key (NULL: none) */
    const char *idempotency_key;
} cli;

/* cli_common.c: the helpers every command uses. */

/* Prints "herald-cli: <fmt with arg>" and the --help hint; returns 2. */
int cli_usage_error(const char *fmt, const char *arg);

/* Prints "herald-cli: <what>: <err or the code's description>"; returns 1. */
int cli_fail(const char *what, int rc, const char *err);

/* Writes text and a newline to stdout, flushed. */
void cli_print_line(const char *text, size_t len);

/* Prints a JSON value as one compact line. */
void cli_print_json(json_t *v);

/* Prints JSON text as one compact line (as is when it has no newline). */
void cli_print_json_text(const char *text, size_t len);

/* A client that holds a socket open (notifier, peer client, subscriber),
 * as cli_run_until_signal drives it. The functions wrap the client
 * library's *_start, *_stop and *_free of that client. */
typedef struct cli_run_ops {
    const char *what; /* the command, for its error messages */
    int (*start)(void *client, uv_loop_t *loop);
    void (*stop)(void *client);
    void (*destroy)(void *client);
} cli_run_ops;

typedef struct cli_run {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    const cli_run_ops *ops;
    void *client;
    int interrupted, code;
    char reason[256];
} cli_run;

/* Defines `static const cli_run_ops name` for a client type T of the
 * client library whose functions are T_start, T_stop and T_free
 * (herald_notifier, herald_peer_client, herald_subscriber): three typed
 * wrappers, since calling them through void * pointer types is undefined. */
#define CLI_RUN_OPS(name, what, T)                                                             \
    static int name##_start(void *client, uv_loop_t *loop) { return T##_start(client, loop); } \
    static void name##_stop(void *client) { T##_stop(client); }                                \
    static void name##_destroy(void *client) { T##_free(client); }                             \
    static const cli_run_ops name = {what, name##_start, name##_stop, name##_destroy}

/* Runs r->client (made with user = r, r zeroed first, and cli_run_on_close
 * as its on_close) on a loop of its own until SIGINT/SIGTERM stop it
 * (returns 0) or it closes by itself (returns 1, "herald-cli: connection
 * closed: CODE reason" on stderr); frees it either way. */
int cli_run_until_signal(cli_run *r);

/* The on_close of a client run by cli_run_until_signal (user: the
 * cli_run): keeps code and reason and lets the loop end. */
void cli_run_on_close(int code, const char *reason, void *user);

/* An on_event / on_server_notification callback: prints the event's
 * native envelope as one JSON line on stdout. */
void cli_print_event(const herald_event *ev, void *user);

/* cli_events.c */

/* stdin read by lines into an own buffer (so that "is a whole line there
 * already?" has an answer without blocking). Zero it to start; free(buf)
 * at the end. */
typedef struct cli_line_reader {
    char *buf;
    size_t len, cap, start;
    int eof;
} cli_line_reader;

/* Next line of stdin (NUL-terminated, no '\n'; valid until the next call)
 * or NULL at the end of input. When block is 0 and no whole line is
 * buffered or readable now, returns NULL with *would_block set. */
char *cli_next_line(cli_line_reader *r, int block, int *would_block);

int cli_listen(const cli *c);
int cli_publish_one(const cli *c, const char *type, const char *data);
int cli_publish_stdin(const cli *c);
int cli_history(const cli *c);

/* cli_publish_stream.c: publish --stream */
int cli_publish_stream(const cli *c);

/* cli_rooms.c: args are what follows "room" / "peer" (the subcommand
 * first). */
int cli_room(const cli *c, char **args, int nargs);
int cli_peer(const cli *c, char **args, int nargs);

/* cli_peer.c */
int cli_peer_connect(const cli *c);

/* cli_sinks.c */
int cli_sinks(const cli *c);

/* cli_nodes.c */
int cli_nodes(const cli *c);

/* cli_console.c */
int cli_console_token(const cli *c);

/* cli_subscribe.c */
int cli_subscribe(const cli *c);

/* cli_webhooks.c: when the command word of argv is "webhooks" or
 * "webhook-listen", runs it (with its own options) and returns the exit
 * status; otherwise returns -1. */
int cli_webhooks_dispatch(int argc, char **argv);

/* cli_webhook_batch.c: --batch N[:T_ms][:gzip] | off into body's "batch";
 * NULL, or the usage message. */
const char *cli_webhook_batch(const char *spec, json_t *body);
/* webhooks update ID --batch alone: herald_webhook_set_batch (batch null: off). */
int cli_webhook_set_batch(const cli *c, const char *id, const json_t *batch, char **out, char *err,
                          size_t errlen);

/* cli_webhook_listen.c: secret required; host, port, tolerance as given
 * on the command line (NULL: 127.0.0.1, 0 (any free port), 300 s). */
int cli_webhook_listen(const char *secret, const char *host, const char *port,
                       const char *tolerance);

#endif
