/* SPDX-License-Identifier: MIT */
/* herald-cli.c — the herald command-line tool, a thin shell over the
 * client library (herald/client.h). This file: options, usage, dispatch.
 *
 *   herald-cli listen [--metrics]          notifications as JSON lines
 *   herald-cli publish TYPE [DATA_JSON] [--room R] [--user U] [--idempotency-key K]
 *   herald-cli publish < events.jsonl      one event object per line
 *   herald-cli publish --stream [--window N] < events.jsonl
 *                                          the same over one publishing socket
 *   herald-cli history [--since N] [--limit N] [--room R] [--user U] [--type T]
 *   herald-cli room create|list|get|delete …   the Fishjam room API
 *   herald-cli peer add|delete|refresh-token …
 *   herald-cli peer connect --peer-token T     a peer's socket, events as JSON lines
 *   herald-cli subscribe --token T [--since N] [--no-reconnect]
 *                                              app-client events, reconnecting and resuming
 *   herald-cli token --user U [--rooms R,…] [--ttl S] [--secret S]   a user token
 *   herald-cli webhooks add|update|list|get|delete|disable|enable|deliveries|replay|retry …
 *   herald-cli webhook-listen --secret S [--port P] [--host H]   a local verifying receiver
 *   herald-cli sinks [--json]                  sink modules, states, positions
 *   herald-cli nodes [--json]                  nodes sharing the store, alive, owners

 *   herald-cli console-token [--ttl SECONDS]   a short-lived web console token
 *
 * Global options: --server URL (env HERALD_SERVER, default
 * http://127.0.0.1:5002), --token T (the server token; env HERALD_TOKEN,
 * default "development"), --json, --help. Options may come before or after
 * the command (getopt_long permutes); each command accepts only its own.
 * Errors go to stderr with exit status 1; usage errors exit with 2.
 * For subscribe, --token is the app-client token (user or peer token),
 * not the server token. The commands live in cli_events.c, cli_rooms.c,
 * cli_peer.c, cli_subscribe.c and cli_token.c; `token` parses its own
 * options, which follow it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hv_parse.h"

static void usage(FILE *out)
{
    fputs("usage: herald-cli [--server URL] [--token T] COMMAND [ARGS]\n"
          "\n"
          "events:\n"
          "  listen [--metrics]            print every notification as one JSON line\n"
          "                                (--metrics: metrics reports too)\n"
          "  publish TYPE [DATA_JSON] [--room R] [--user U] [--idempotency-key K]\n"
          "                                publish one event, print its id; with K a\n"
          "                                retry within the server's window prints the\n"
          "                                first id (and says so on stderr), the key\n"
          "                                with another event fails (HTTP 409)\n"
          "  publish                       publish the JSON lines of stdin, one event\n"
          "                                object each, print the ids one per line\n"
          "  publish --stream [--window N] publish the JSON lines of stdin (an event\n"
          "                                object or an array each) over one socket,\n"
          "                                N lines in flight (default 1024): print the\n"
          "                                ids in line order (--json: each answer); a\n"
          "                                refused line is named on stderr (line number,\n"
          "                                server's message) and the rest still go;\n"
          "                                exit 1 naming the first refused line\n"
          "  history [--since N] [--limit N] [--room R] [--user U] [--type T]\n"
          "                                print stored events as JSON lines\n"
          "\n"
          "rooms and peers (server token):\n"
          "  room create [--max-peers N] [--webhook-url URL] [--room-id ID]\n"
          "              [--video-codec h264|vp8] [--room-type T] [--public]\n"
          "                                create a room, print it as JSON\n"
          "  room list                     print every room, one JSON line each\n"
          "  room get ROOM                 print a room as JSON\n"
          "  room delete ROOM              delete a room\n"
          "  peer add ROOM [--type webrtc|agent|vapi] [--metadata JSON]\n"
          "                [--subscribe-mode auto|manual] [--token-only]\n"
          "                [--vapi-api-key KEY --vapi-call-id ID]\n"
          "                                add a peer, print {\"peer\":…,\"token\":…}\n"
          "                                (--token-only: the peer token alone); a vapi\n"
          "                                peer needs both --vapi-* options\n"
          "  peer delete ROOM PEER         delete a peer\n"
          "  peer refresh-token ROOM PEER [--token-only]\n"
          "                                issue a new peer token, print {\"token\":…}\n"
          "\n"
          "peer socket (peer token; subscribe: a user token too):\n"
          "  peer connect --peer-token T [--auth header|query|frame] [--metadata JSON]\n"
          "                                connect as the peer, print each event as one\n"
          "                                JSON line; --metadata sends update_metadata\n"
          "                                once authenticated; Ctrl-C closes (exit 0),\n"
          "                                a close by the server exits 1 with\n"
          "                                \"CODE reason\" on stderr\n"
          "  subscribe --token T [--since N] [--no-reconnect]\n"
          "                                T is a user token (JWT) or a peer token, NOT\n"
          "                                the server token (--peer-token T works too):\n"
          "                                print each event as one JSON line, exactly\n"
          "                                once; when the connection drops (network,\n"
          "                                1001 shutdown, 4001 slow consumer, 1013 busy)\n"
          "                                reconnect with back-off and resume after the\n"
          "                                last id (--since N: start after event N);\n"
          "                                Ctrl-C exits 0; giving up (4002, 4003, 4004,\n"
          "                                4005, 4006, 1000, or any drop with\n"
          "                                --no-reconnect) exits 1 with \"CODE reason\"\n"
          "\n"
          "webhook endpoints (server token):\n"
          "  webhooks add --url U [--event-types a,b] [--room-ids r1,r2]\n"
          "               [--format json|protobuf|jellyfish-json] [--secret S]\n"
          "               [--description D] [--filter JSON] [--retry-schedule S,...]\n"
          "               [--retry-schedules '{\"glob\":[s,...],...}'] [--breaker-threshold N]\n"
          "               [--rate-limit PER_SECOND[:BURST]|none]\n"
          "               [--batch N[:T_ms][:gzip]|off]\n"
          "                                create an endpoint, print it with its secret;\n"
          "                                --filter: only events whose data match it;\n"
          "                                --batch: up to N events per request, waiting\n"
          "                                at most T_ms (default 1000), gzip optional\n"
          "                                (docs/webhooks.md; update: null removes the\n"
          "                                filter, none the rate limit, off batching,\n"
          "                                \"default\" the retry schedule(s) and breaker\n"
          "                                threshold = the server's)\n"
          "  webhooks update ID [options of add] [--rotate-secret]\n"
          "                                change an endpoint, print it\n"
          "  webhooks list                 print every endpoint, one JSON line each\n"
          "  webhooks get ID               print an endpoint (with \"pending\")\n"
          "  webhooks delete ID            delete an endpoint\n"
          "  webhooks disable ID, webhooks enable ID\n"
          "                                pause / resume its deliveries\n"
          "  webhooks deliveries ID [--limit N] [--before ATTEMPT]\n"
          "                                print its delivery attempts, newest first\n"
          "  webhooks replay ID --since-id N | --since 2026-11-23T10:00:00Z\n"
          "                                deliver those stored events again\n"
          "  webhooks retry ID DELIVERY_ID attempt one delivery again now\n"
          "  webhook-listen --secret S [--port P] [--host 127.0.0.1] [--tolerance SEC]\n"
          "                                a local receiver: verifies each POST's\n"
          "                                signature, answers 204 (or 401 with the\n"
          "                                reason), prints one JSON line per request\n"
          "                                (webhook_id, verified, content_type, body)\n"
          "\n"
          "sink modules (server token):\n"
          "  sinks [--json]                print each sink: module, state (running,\n"
          "                                retrying, crashed, failed), position in the\n"
          "                                event log, lag, events, failures, last error\n"
          "\n"
          "nodes (server token):\n"
          "  nodes [--json]                print each node sharing the store: state\n"
          "                                (alive, silent, left, taken_over), last beat,\n"
          "                                peer sessions, what it owns (webhooks,\n"
          "                                retention, sink:NAME)\n"
          "\n"
          "web console (server token):\n"
          "  console-token [--ttl SECONDS] [--json]\n"
          "                                mint a short-lived console token (default\n"
          "                                3600 s, at most 86400) and print it; stderr\n"
          "                                says when it expires and where to sign in\n"
          "                                (the console's URL; the token never goes\n"
          "                                into a URL)\n"
          "\n"
          "user tokens (development; no server involved):\n"
          "  token --user U [--rooms r1,r2] [--ttl SECONDS] [--secret S]\n"
          "                                print a user token (JWT, HS256) for user U\n"
          "                                that may read rooms r1,r2; --ttl default\n"
          "                                3600; the secret defaults to env\n"
          "                                HERALD_JWT_SECRET (options follow 'token')\n"
          "\n"
          "options:\n"
          "  --server URL   server base URL (env HERALD_SERVER, default " HERALD_DEFAULT_SERVER ")\n"
          "  --token T      server token (env HERALD_TOKEN, default " HERALD_DEFAULT_TOKEN ")\n"
          "  --token T      (subscribe) the app-client token instead\n"
          "  --peer-token T peer token for peer connect and subscribe (env HERALD_PEER_TOKEN)\n"
          "  --json         publish/history/room create/room list: print the server's\n"
          "                 JSON answer\n"
          "  --help         this text\n"
          "\n"
          "exit status: 0 success, 1 error (the server's message on stderr), 2 usage\n",
          out);
}

/* ---- main ---- */

enum {
    OPT_SERVER = 256, OPT_TOKEN, /* global */
    OPT_JSON, OPT_METRICS, OPT_ROOM, OPT_USER, OPT_SINCE, OPT_LIMIT, OPT_TYPE,
    OPT_MAX_PEERS, OPT_WEBHOOK_URL, OPT_ROOM_ID, OPT_VIDEO_CODEC, OPT_ROOM_TYPE, OPT_PUBLIC,
    OPT_METADATA, OPT_SUBSCRIBE_MODE, OPT_TOKEN_ONLY, OPT_PEER_TOKEN, OPT_AUTH,
    OPT_NO_RECONNECT, OPT_VAPI_API_KEY, OPT_VAPI_CALL_ID, OPT_STREAM, OPT_WINDOW, OPT_TTL,
    OPT_IDEMPOTENCY_KEY,
};
#define BIT(opt) (1u << ((opt) - OPT_SERVER))

static const struct option longopts[] = {
    {"server", required_argument, NULL, OPT_SERVER},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"metrics", no_argument, NULL, OPT_METRICS},
    {"room", required_argument, NULL, OPT_ROOM},
    {"user", required_argument, NULL, OPT_USER},
    {"since", required_argument, NULL, OPT_SINCE},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"type", required_argument, NULL, OPT_TYPE},
    {"max-peers", required_argument, NULL, OPT_MAX_PEERS},
    {"webhook-url", required_argument, NULL, OPT_WEBHOOK_URL},
    {"room-id", required_argument, NULL, OPT_ROOM_ID},
    {"video-codec", required_argument, NULL, OPT_VIDEO_CODEC},
    {"room-type", required_argument, NULL, OPT_ROOM_TYPE},
    {"public", no_argument, NULL, OPT_PUBLIC},
    {"metadata", required_argument, NULL, OPT_METADATA},
    {"subscribe-mode", required_argument, NULL, OPT_SUBSCRIBE_MODE},
    {"token-only", no_argument, NULL, OPT_TOKEN_ONLY},
    {"peer-token", required_argument, NULL, OPT_PEER_TOKEN},
    {"auth", required_argument, NULL, OPT_AUTH},
    {"no-reconnect", no_argument, NULL, OPT_NO_RECONNECT},
    {"vapi-api-key", required_argument, NULL, OPT_VAPI_API_KEY},
    {"vapi-call-id", required_argument, NULL, OPT_VAPI_CALL_ID},
    {"stream", no_argument, NULL, OPT_STREAM},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"idempotency-key", required_argument, NULL, OPT_IDEMPOTENCY_KEY},
    {"ttl", required_argument, NULL, OPT_TTL},
    {NULL, 0, NULL, 0},
};

/* Which options each command takes (besides --server and --token). */
static const struct {
    const char *name;
    unsigned allowed;
} commands[] = {
    {"listen", BIT(OPT_METRICS)},
    {"publish", BIT(OPT_ROOM) | BIT(OPT_USER) | BIT(OPT_JSON) | BIT(OPT_STREAM) |
                    BIT(OPT_WINDOW) | BIT(OPT_IDEMPOTENCY_KEY)},
    {"history", BIT(OPT_SINCE) | BIT(OPT_LIMIT) | BIT(OPT_ROOM) | BIT(OPT_USER) |
                    BIT(OPT_TYPE) | BIT(OPT_JSON)},
    {"room create", BIT(OPT_MAX_PEERS) | BIT(OPT_WEBHOOK_URL) | BIT(OPT_ROOM_ID) |
                        BIT(OPT_VIDEO_CODEC) | BIT(OPT_ROOM_TYPE) | BIT(OPT_PUBLIC) |
                        BIT(OPT_JSON)},
    {"room list", BIT(OPT_JSON)},
    {"room get", BIT(OPT_JSON)},
    {"room delete", 0},
    {"peer add", BIT(OPT_TYPE) | BIT(OPT_METADATA) | BIT(OPT_SUBSCRIBE_MODE) |
                     BIT(OPT_TOKEN_ONLY) | BIT(OPT_JSON) | BIT(OPT_VAPI_API_KEY) |
                     BIT(OPT_VAPI_CALL_ID)},
    {"peer delete", 0},
    {"peer refresh-token", BIT(OPT_TOKEN_ONLY) | BIT(OPT_JSON)},
    {"peer connect", BIT(OPT_PEER_TOKEN) | BIT(OPT_AUTH) | BIT(OPT_METADATA)},
    {"subscribe", BIT(OPT_PEER_TOKEN) | BIT(OPT_SINCE) | BIT(OPT_NO_RECONNECT)},
    {"sinks", BIT(OPT_JSON)},
    {"nodes", BIT(OPT_JSON)},

    {"console-token", BIT(OPT_TTL) | BIT(OPT_JSON)},
};

/* Refuses an option the command does not take. Unknown commands pass:
 * the dispatch reports them. */
static int check_options(const char *cmd, const char *sub, unsigned seen)
{
    char name[64];
    snprintf(name, sizeof(name), "%s%s%s", cmd, sub ? " " : "", sub ? sub : "");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) != 0)
            continue;
        unsigned extra = seen & ~(commands[i].allowed | BIT(OPT_SERVER) | BIT(OPT_TOKEN));
        for (const struct option *o = longopts; extra && o->name; o++) {
            if (o->val >= OPT_SERVER && (extra & BIT(o->val))) {
                char msg[160];
                snprintf(msg, sizeof(msg), "'%s' does not take --%s", name, o->name);
                return cli_usage_error("%s", msg);
            }
        }
        return 0;
    }
    return 0;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* cli_token.c: the token command; argv[0] is "token". */
int cli_token(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "token"))
        return cli_token(argc - 1, argv + 1);
    int wrc = cli_webhooks_dispatch(argc, argv); /* webhooks, webhook-listen */
    if (wrc >= 0)
        return wrc;
    cli c = {0};
    c.server = env("HERALD_SERVER");
    c.token = env("HERALD_TOKEN");
    c.peer_token = env("HERALD_PEER_TOKEN");
    int opt;
    unsigned seen = 0;
    uint64_t num;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt >= OPT_SERVER)
            seen |= BIT(opt);
        switch (opt) {
        case OPT_SERVER: c.server = optarg; break;
        case OPT_TOKEN: c.token = optarg; break;
        case OPT_JSON: c.json = 1; break;
        case OPT_METRICS: c.metrics = 1; break;
        case OPT_ROOM: c.room = optarg; break;
        case OPT_USER: c.user = optarg; break;
        case OPT_TYPE: c.type = optarg; break;
        case OPT_SINCE:
            if (hv_parse_u64(optarg, &c.since) != 0)
                return cli_usage_error("--since needs an event id, got '%s'", optarg);
            c.has_since = 1;
            break;
        case OPT_LIMIT:
            if (hv_parse_u64(optarg, &num) != 0 || num == 0 || num > 1000000)
                return cli_usage_error("--limit needs a positive number, got '%s'", optarg);
            c.limit = (unsigned)num;
            c.has_limit = 1;
            break;
        case OPT_MAX_PEERS:
            if (hv_parse_u64(optarg, &c.max_peers) != 0 || c.max_peers > INT32_MAX)
                return cli_usage_error("--max-peers needs a number, got '%s'", optarg);
            c.has_max_peers = 1;
            break;
        case OPT_WEBHOOK_URL: c.webhook_url = optarg; break;
        case OPT_ROOM_ID: c.room_id = optarg; break;
        case OPT_VIDEO_CODEC: c.video_codec = optarg; break;
        case OPT_ROOM_TYPE: c.room_type = optarg; break;
        case OPT_PUBLIC: c.is_public = 1; break;
        case OPT_METADATA: c.metadata = optarg; break;
        case OPT_SUBSCRIBE_MODE: c.subscribe_mode = optarg; break;
        case OPT_TOKEN_ONLY: c.token_only = 1; break;
        case OPT_PEER_TOKEN: c.peer_token = optarg; break;
        case OPT_NO_RECONNECT: c.no_reconnect = 1; break;
        case OPT_VAPI_API_KEY: c.vapi_api_key = optarg; break;
        case OPT_VAPI_CALL_ID: c.vapi_call_id = optarg; break;
        case OPT_STREAM: c.stream = 1; break;
        case OPT_WINDOW:
            if (hv_parse_u64(optarg, &num) != 0 || num == 0 || num > HERALD_PUBLISHER_MAX_WINDOW)
                return cli_usage_error("--window needs a number from 1 to 65536, got '%s'",
                                       optarg);
            c.window = (unsigned)num;
            break;
        case OPT_IDEMPOTENCY_KEY: /* the client library checks it */
            c.idempotency_key = optarg;
            break;
        case OPT_TTL: /* the server says the bound (1 to 86400) */
            if (hv_parse_u64(optarg, &num) != 0 || num == 0 || num > 1000000000)
                return cli_usage_error("--ttl needs a number of seconds, got '%s'", optarg);
            c.ttl = (long)num;
            break;
        case OPT_AUTH:
            if (!strcmp(optarg, "header"))
                c.auth = HERALD_PEER_AUTH_HEADER;
            else if (!strcmp(optarg, "query"))
                c.auth = HERALD_PEER_AUTH_QUERY;
            else if (!strcmp(optarg, "frame"))
                c.auth = HERALD_PEER_AUTH_FRAME;
            else
                return cli_usage_error("--auth is header, query or frame, got '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default:
            return cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("%s", "missing command");
    const char *cmd = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    int has_sub = !strcmp(cmd, "room") || !strcmp(cmd, "peer");
    int rc = check_options(cmd, has_sub && nargs > 0 ? args[0] : NULL, seen);
    if (rc != 0)
        return rc;

    if (!strcmp(cmd, "listen")) {
        if (nargs > 0)
            return cli_usage_error("listen takes no argument, got '%s'", args[0]);
        return cli_listen(&c);
    }
    if (!strcmp(cmd, "publish")) {
        if (nargs > 2)
            return cli_usage_error("publish: unexpected argument '%s'", args[2]);
        if ((c.stream || (seen & BIT(OPT_WINDOW))) && (nargs > 0 || c.room || c.user))
            return cli_usage_error("%s", "publish --stream reads stdin: no TYPE, --room or "
                                         "--user (the lines carry their own)");
        if (seen & BIT(OPT_WINDOW) && !c.stream)
            return cli_usage_error("%s", "--window goes with publish --stream");
        if (c.idempotency_key && nargs == 0)
            return cli_usage_error("%s", "--idempotency-key needs a TYPE (stdin lines may carry "
                                         "their own \"idempotency_key\")");
        if (c.stream)
            return cli_publish_stream(&c);
        if (nargs == 0) {
            if (c.room || c.user)
                return cli_usage_error("%s", "--room/--user need a TYPE (stdin lines carry their own)");
            return cli_publish_stdin(&c);
        }
        return cli_publish_one(&c, args[0], nargs > 1 ? args[1] : NULL);
    }
    if (!strcmp(cmd, "history")) {
        if (nargs > 0)
            return cli_usage_error("history takes no argument, got '%s'", args[0]);
        return cli_history(&c);
    }
    if (!strcmp(cmd, "room"))
        return cli_room(&c, args, nargs);
    if (!strcmp(cmd, "peer"))
        return cli_peer(&c, args, nargs);
    if (!strcmp(cmd, "subscribe")) {
        if (nargs > 0)
            return cli_usage_error("subscribe takes no argument, got '%s'", args[0]);
        if ((seen & BIT(OPT_TOKEN)) && (seen & BIT(OPT_PEER_TOKEN)))
            return cli_usage_error("%s", "subscribe: give --token or --peer-token, not both");
        /* --token given on this command line is the app token here; the
         * server token from HERALD_TOKEN is not. */
        c.app_token = (seen & BIT(OPT_TOKEN)) ? c.token : c.peer_token;
        return cli_subscribe(&c);
    }
    if (!strcmp(cmd, "sinks")) {
        if (nargs > 0)
            return cli_usage_error("sinks takes no argument, got '%s'", args[0]);
        return cli_sinks(&c);
    }
    if (!strcmp(cmd, "nodes")) {
        if (nargs > 0)
            return cli_usage_error("nodes takes no argument, got '%s'", args[0]);
        return cli_nodes(&c);
    }
    if (!strcmp(cmd, "console-token")) {
        if (nargs > 0)
            return cli_usage_error("console-token takes no argument, got '%s'", args[0]);
        return cli_console_token(&c);
    }
    if (!strcmp(cmd, "token"))
        return cli_usage_error("%s", "'token' must be the first argument");
    return cli_usage_error("unknown command '%s'", cmd);
}
