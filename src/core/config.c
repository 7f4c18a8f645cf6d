/* SPDX-License-Identifier: MIT */
/* config.c — flags and HERALD_* environment variables; see config.h.
 *
 * One table lists every option once: its name, kind, where it is stored and
 * its help text. The same table drives --help, the environment lookup and
 * the command-line parse.
 */
#include "core/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/resource.h>

#include "core/log.h"
#include "hv_parse.h"

/* The installed modules folder, set by the build (CMakeLists.txt); shown
 * in --help and so in herald(8). */
#ifndef HERALD_MODULES_DIR
#define HERALD_MODULES_DIR "/usr/local/lib/herald/sinks"
#endif

enum opt_kind { OPT_STR, OPT_INT, OPT_SIZE, OPT_DOUBLE, OPT_U64, OPT_BOOL, OPT_LISTEN, OPT_LEVEL };

typedef struct opt {
    const char *name;
    enum opt_kind kind;
    size_t offset;
    size_t size; /* for OPT_STR */
    const char *help;
} opt;

#define O(name, kind, field, help) {name, kind, offsetof(hv_config, field), sizeof(((hv_config *)0)->field), help}

static const opt options[] = {
    O("listen", OPT_LISTEN, listen_port, "HOST:PORT to listen on (default 127.0.0.1:5002)"),
    O("token", OPT_STR, token, "server (management) token; defaults to 'development' on loopback only"),
    O("data-dir", OPT_STR, data_dir, "directory of the embedded store (default ./herald-data)"),
    O("engine", OPT_STR, engine, "store engine: sqlite (embedded, default) or redis"),
    O("redis-url", OPT_STR, redis_url, "Redis of the redis engine, redis://[[user]:password@]host[:port][/db] (default redis://127.0.0.1:6379)"),
    O("redis-prefix", OPT_STR, redis_prefix, "prefix of the redis engine's keys (default herald:)"),
    O("node-id", OPT_STR, node_id, "name of this node among the nodes sharing one Redis (default HOSTNAME:PORT)"),
    O("node-timeout", OPT_DOUBLE, node_timeout_s, "seconds without a heartbeat after which the other nodes take over a node's work (default 10)"),
    O("catch-up-interval", OPT_DOUBLE, catch_up_interval_s,
      "redis engine: a peer token this node does not know waits for a catch-up with the other nodes' changes; "
      "at most one catch-up begins per this many seconds, however many tokens wait (default 0.1)"),
    O("max-token-lookups", OPT_SIZE, max_token_lookups,
      "redis engine: sockets and requests whose unknown peer token waits for a catch-up at once; past it one "
      "is refused at once (1013 / 503 \"too many unknown tokens\") (default 1024)"),
    O("log-level", OPT_LEVEL, log_level, "error, warn, info or debug (default info)"),
    O("metrics-interval", OPT_DOUBLE, metrics_interval_s, "seconds between MetricsReport messages (default 5)"),
    O("fishjam-compat", OPT_STR, fishjam_compat,
      "oldest Fishjam server SDK among the protobuf listeners: 0.25 withholds track.forwarding, "
      "track.forwarding_removed and vad.notification (ServerMessage members 30-32, which SDK 0.25 logs as "
      "an error per frame) from protobuf notifier sockets and webhooks; JSON listeners, history, app "
      "clients and JSON webhooks still get them; current sends them as Fishjam does (default current)"),
    O("peer-url-scheme", OPT_STR, peer_url_scheme,
      "scheme of the peer_websocket_url a new peer is given: none gives host:port/socket/peer/websocket "
      "as Fishjam does (SDK 0.29's createAgent then opens wss://); ws or wss prefix it, for herald "
      "without or with TLS in front (default none)"),
    O("threads", OPT_INT, threads, "I/O threads; 0 = one per core (default 0)"),
    O("max-body", OPT_SIZE, max_body, "largest request body in bytes (default 4194304)"),
    O("max-header", OPT_SIZE, max_header, "largest request head in bytes (default 16384)"),
    O("header-timeout", OPT_DOUBLE, header_timeout_s, "seconds to receive a request head (default 10)"),
    O("idle-timeout", OPT_DOUBLE, idle_timeout_s, "seconds an idle keep-alive connection stays open (default 60)"),
    O("max-ws-message", OPT_SIZE, max_ws_message, "largest WebSocket message in bytes; larger closes 1009 (default 1048576)"),
    O("publish-window", OPT_SIZE, publish_window,
      "unanswered publish frames one /v1/events/websocket socket may have; past it herald stops reading "
      "that socket until answers drain (default 1024)"),
    O("max-peer-message", OPT_SIZE, max_peer_message,
      "largest message a peer or app client may send on its socket; larger closes 1009 (default 65536)"),
    O("max-metadata", OPT_SIZE, max_metadata,
      "largest peer metadata in bytes of JSON; larger is refused with an error frame, nothing stored (default 16384)"),
    O("peer-msg-rate", OPT_DOUBLE, peer_msg_rate,
      "messages per second a peer or app client socket may send; past it closes 4008 (default 10, 0 = no limit)"),
    O("peer-msg-burst", OPT_SIZE, peer_msg_burst, "messages a peer or app client socket may send at once (default 20)"),
    O("max-outbound", OPT_SIZE, max_outbound, "bytes queued for one client before it is closed as a slow consumer (default 8388608)"),
    O("outbound-pause", OPT_SIZE, outbound_pause,
      "unsent bytes for one client above which herald stops reading its requests and frames until they drain below it; at most half of --max-outbound; 0 = never (default 262144)"),
    O("send-timeout", OPT_DOUBLE, send_timeout_s,
      "seconds a client paused by --outbound-pause may take no byte of its output before it is closed; 0 = never (default 60)"),
    O("ping-interval", OPT_DOUBLE, ping_interval_s, "seconds between WebSocket pings; no pong within it closes (default 30)"),
    O("retention-events", OPT_U64, retention_events, "keep at most this many events (default 1000000, 0 = no limit)"),
    O("retention-age", OPT_DOUBLE, retention_age_s, "drop events older than this many seconds (default 604800, 0 = no limit)"),
    O("idempotency-window", OPT_DOUBLE, idempotency_window_s,
      "seconds an Idempotency-Key of a publish is remembered; a repeat within it stores nothing new and gets the first ids (default 86400)"),
    O("sync-full", OPT_BOOL, sync_full, "fsync every group commit, power-loss safe (default 1)"),
    O("sqlite-busy-timeout", OPT_DOUBLE, sqlite_busy_timeout_s,
      "seconds a commit waits for SQLite's write lock held by another process before it fails (503); 0.01 to 600 (default 5)"),
    O("open-metrics", OPT_BOOL, open_metrics, "serve /metrics without the token (default 1)"),
    O("jwt-secret", OPT_STR, jwt_secret, "HS256 secret of user tokens (JWT); unset = user tokens refused"),
    O("jwt-audience", OPT_STR, jwt_audience, "if set, user tokens must carry this \"aud\""),
    O("jwt-leeway", OPT_INT, jwt_leeway_s,
      "seconds of clock skew allowed on a user token's exp and nbf; a socket it opened is closed at exp plus "
      "this (default 30, 0 to 300)"),
    O("max-connections", OPT_SIZE, max_connections,
      "client connections at once (each a file descriptor); past it a new one gets 503; 0 = no limit "
      "(default: the file limit, ulimit -n, minus a reserve of 64 + 1/64 of it)"),
    O("max-unauthenticated", OPT_SIZE, max_unauthenticated,
      "connections not yet authenticated at once; past it a new one gets 503; 0 = no limit "
      "(default: half of --max-connections)"),
    O("max-unauthenticated-per-address", OPT_SIZE, max_unauthenticated_per_address,
      "connections not yet authenticated from one client address (IPv6: one /64); past it a new one gets 503; "
      "0 = no limit (default 128)"),
    O("auth-fail-limit", OPT_SIZE, auth_fail_limit,
      "failed authentications (wrong token, JWT or Janus password) from one client address (IPv6: one /64) "
      "within --auth-fail-window after which its further attempts get 429 (WebSocket: close 1013) at once, "
      "unchecked, until that window ends; loopback included; 0 = no back-off (default 20)"),
    O("auth-fail-window", OPT_DOUBLE, auth_fail_window_s,
      "seconds of the window of --auth-fail-limit, from an address's first failure (default 60)"),
    O("auth-fail-addresses", OPT_SIZE, auth_fail_addresses,
      "client addresses whose failed authentications are tracked at once; past it the oldest is forgotten "
      "(default 16384)"),
    O("auth-timeout", OPT_DOUBLE, auth_timeout_s,
      "seconds a WebSocket has to authenticate after its upgrade; then it is closed "
      "(\"authentication timeout\") (default 10)"),
    O("max-connections-per-user", OPT_SIZE, max_connections_per_user,
      "app-client connections of one user (a peer, a token's sub) at once; 0 = no limit (default 0)"),
    O("max-resumes-per-address", OPT_SIZE, max_resumes_per_address,
      "app clients from one client address (IPv6: one /64) replaying history at once (a resume); past it the "
      "socket is closed 1013, a stream refused 429; 0 = no limit (default 32)"),
    O("allowed-origins", OPT_STR, allowed_origins,
      "browser Origins served besides the request's own, e.g. https://app.example.com,... or *; "
      "other Origins get 403, requests without one are served (default none)"),
    O("webhook-retry-schedule", OPT_STR, webhook_retry_schedule,
      "seconds to wait before each retry (default 5,300,1800,7200,18000,36000,36000, like Svix)"),
    O("webhook-timeout", OPT_DOUBLE, webhook_timeout_s, "seconds a webhook request may take (default 30)"),
    O("webhook-connect-timeout", OPT_DOUBLE, webhook_connect_timeout_s, "seconds to connect (default 10)"),
    O("webhook-max-in-flight", OPT_INT, webhook_max_in_flight, "concurrent requests per endpoint (default 8)"),
    O("webhook-window", OPT_SIZE, webhook_window,
      "pending deliveries of one endpoint kept in memory, the rest read from the store in turn (default 1000; 0 counts as 1)"),
    O("webhook-disable-after", OPT_DOUBLE, webhook_disable_after_s,
      "seconds of failures with no success before an endpoint is disabled (default 432000 = 5 days)"),
    O("webhook-deny", OPT_STR, webhook_deny,
      "networks webhooks may not reach, even inside a wider --webhook-allow network "
      "(default link-local, 0.0.0.0/8 and cloud metadata addresses)"),
    O("webhook-allow", OPT_STR, webhook_allow,
      "non-public networks webhooks may reach, e.g. 10.1.0.0/16; the most specific of --webhook-deny and "
      "--webhook-allow wins (default none: loopback, private, CGNAT, ULA, link-local, multicast and reserved "
      "networks are refused; loopback is allowed with the development token)"),
    O("webhook-response-cap", OPT_SIZE, webhook_response_cap, "bytes of a webhook response kept (default 1024)"),
    O("webhook-breaker-threshold", OPT_INT, webhook_breaker_threshold,
      "failed requests in a row that pause an endpoint's deliveries (circuit breaker) until a probe succeeds; "
      "an endpoint's breaker_threshold overrides it; 0 = never (default 0, 0 to 10000)"),
    O("webhook-breaker-probe-min", OPT_DOUBLE, webhook_breaker_probe_min_s,
      "seconds before the first probe of a paused endpoint; each failed probe doubles the wait (default 30)"),
    O("webhook-breaker-probe-max", OPT_DOUBLE, webhook_breaker_probe_max_s,
      "the longest wait between probes of a paused endpoint, seconds (default 600)"),
    O("webhook-park-after", OPT_DOUBLE, webhook_park_after_s,
      "seconds a pending delivery must wait for its next attempt (a retry, a receiver's 429 pause) before "
      "its event leaves memory, read back by id when due (default 30, 0.05 to 86400)"),
    O("room-webhook-secret", OPT_STR, room_webhook_secret,
      "secret of the x-fishjam-signature-256 header (sha256=<hex HMAC-SHA256 of the body>) on the webhooks of "
      "rooms created with a webhookUrl, as Fishjam signs them (default none: no such header)"),
    O("config", OPT_STR, config_path,
      "JSON file: any option by its flag name, and \"sinks\" (flags and environment win over it)"),
    O("modules-dir", OPT_STR, modules_dir,
      "folder of sink modules (default: sinks/ beside herald, else " HERALD_MODULES_DIR ")"),
    O("janus-path", OPT_STR, janus_path, "path Janus's HTTP event handler posts to (default /janus/events)"),
    O("janus-room-from", OPT_STR, janus_room_from,
      "room_id of a Janus event: opaque_id, session or none (default opaque_id)"),
    O("janus-room-prefix", OPT_STR, janus_room_prefix, "text put before a Janus event's room_id (default none)"),
    O("janus-dedup", OPT_SIZE, janus_dedup, "recent Janus events remembered to drop resent ones (default 65536)"),
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void set_defaults(hv_config *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->listen_host, "127.0.0.1");
    c->listen_port = 5002;
    strcpy(c->data_dir, "./herald-data");
    strcpy(c->engine, "sqlite");
    strcpy(c->redis_url, "redis://127.0.0.1:6379");
    strcpy(c->redis_prefix, "herald:");
    c->node_timeout_s = 10;
    c->catch_up_interval_s = 0.1;
    c->max_token_lookups = 1024;
    c->log_level = HV_LOG_INFO;
    c->metrics_interval_s = 5;
    strcpy(c->fishjam_compat, "current");
    c->max_body = 4u << 20;
    c->max_header = 16u << 10;
    c->header_timeout_s = 10;
    c->idle_timeout_s = 60;
    c->max_ws_message = 1u << 20;
    c->publish_window = 1024;
    c->max_outbound = 8u << 20;
    c->max_peer_message = 64u << 10;
    c->max_metadata = 16u << 10;
    c->peer_msg_rate = 10;
    c->peer_msg_burst = 20;
    c->outbound_pause = 256u << 10;
    c->send_timeout_s = 60;
    c->ping_interval_s = 30;
    c->max_connections = SIZE_MAX;       /* derived in derive_limits */
    c->max_unauthenticated = SIZE_MAX;
    c->max_unauthenticated_per_address = 128;
    c->max_resumes_per_address = 32;
    c->auth_timeout_s = 10;
    c->auth_fail_limit = 20;
    c->auth_fail_window_s = 60;
    c->auth_fail_addresses = 16384;
    c->retention_events = 1000000;
    c->retention_age_s = 7 * 24 * 3600;
    c->idempotency_window_s = 24 * 3600;
    c->sync_full = 1;
    c->sqlite_busy_timeout_s = 5;
    c->open_metrics = 1;
    strcpy(c->webhook_retry_schedule, "5,300,1800,7200,18000,36000,36000");
    c->webhook_timeout_s = 30;
    c->webhook_connect_timeout_s = 10;
    c->webhook_max_in_flight = 8;
    c->webhook_window = 1000;
    c->webhook_disable_after_s = 5 * 24 * 3600;
    strcpy(c->webhook_deny, "169.254.0.0/16,fe80::/10,0.0.0.0/8,100.100.100.200/32,fd00:ec2::254/128");
    c->webhook_response_cap = 1024;
    c->webhook_breaker_probe_min_s = 30;
    c->webhook_breaker_probe_max_s = 600;
    c->webhook_park_after_s = 30;
    c->jwt_leeway_s = 30;
    strcpy(c->janus_path, "/janus/events");
    strcpy(c->janus_room_from, "opaque_id");
    c->janus_dedup = 65536;
}

static void print_help(void)
{
    printf("usage: herald [options]\n\nherald, a notification server.\n\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        char env[64];
        snprintf(env, sizeof(env), "HERALD_");
        for (const char *p = options[i].name; *p && strlen(env) < sizeof(env) - 1; p++) {
            size_t l = strlen(env);
            env[l] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
            env[l + 1] = 0;
        }
        printf("  --%-18s %s\n  %-20s (env %s)\n", options[i].name, options[i].help, "", env);
    }
    printf("  --help               this text\n  --version            print the version\n");
}

static int parse_listen(hv_config *c, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon)
        return -1;
    size_t hl = (size_t)(colon - v);
    if (hl >= sizeof(c->listen_host))
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || end == colon + 1)
        return -1;
    memcpy(c->listen_host, v, hl);
    c->listen_host[hl] = 0;
    if (hl >= 2 && c->listen_host[0] == '[') { /* [::1]:5002 */
        memmove(c->listen_host, c->listen_host + 1, hl - 2);
        c->listen_host[hl - 2] = 0;
    }
    if (!c->listen_host[0])
        strcpy(c->listen_host, "0.0.0.0");
    c->listen_port = (int)port;
    return 0;
}

static int set_option(hv_config *c, const opt *o, const char *v)
{
    char *field = (char *)c + o->offset;
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case OPT_LISTEN:
        return parse_listen(c, v);
    case OPT_STR:
        if (strlen(v) >= o->size)
            return -1;
        strcpy(field, v);
        return 0;
    case OPT_LEVEL: {
        int l = hv_log_level_parse(v);
        if (l < 0)
            return -1;
        *(int *)field = l;
        return 0;
    }
    case OPT_INT: {
        long x = strtol(v, &end, 10);
        if (*end || end == v || x < 0 || x > 1024)
            return -1;
        *(int *)field = (int)x;
        return 0;
    }
    case OPT_BOOL:
        if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
            *(int *)field = 1;
        else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
            *(int *)field = 0;
        else
            return -1;
        return 0;
    case OPT_SIZE:
    case OPT_U64: {
        uint64_t x;
        if (hv_parse_u64(v, &x) != 0)
            return -1;
        if (o->kind == OPT_SIZE)
            *(size_t *)field = (size_t)x;
        else
            *(uint64_t *)field = x;
        return 0;
    }
    case OPT_DOUBLE: {
        double x = strtod(v, &end);
        if (*end || end == v || x < 0)
            return -1;
        *(double *)field = x;
        return 0;
    }
    }
    return -1;
}

/* Whether an option's value is a secret: a bad one is reported without
 * its value, so it never reaches a log. */
static int is_secret(const opt *o)
{
    return !strcmp(o->name, "token") || strstr(o->name, "secret") != NULL;
}

static int load_env(hv_config *c)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        char env[64] = "HERALD_";
        size_t l = strlen(env);
        for (const char *p = options[i].name; *p && l < sizeof(env) - 1; p++)
            env[l++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        env[l] = 0;
        const char *v = getenv(env);
        if (v && *v && set_option(c, &options[i], v) != 0) {
            fprintf(stderr, "herald: bad value for %s: '%s'\n", env,
                    is_secret(&options[i]) ? "(secret not shown)" : v);
            return -1;
        }
    }
    return 0;
}

static const opt *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].name) == len && !strncmp(options[i].name, name, len))
            return &options[i];
    return NULL;
}

static int load_args(hv_config *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help();
            return 1;
        }
        if (!strcmp(a, "--version")) {
            printf("herald %s\n", HERALD_VERSION);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "herald: unexpected argument '%s' (see --help)\n", a);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const opt *o = find_option(name, nlen);
        if (!o) {
            fprintf(stderr, "herald: unknown option '%s' (see --help)\n", a);
            return -1;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || set_option(c, o, v) != 0) {
            fprintf(stderr, "herald: bad value for --%s: '%s'\n", o->name,
                    !v ? "" : is_secret(o) ? "(secret not shown)" : v);
            return -1;
        }
    }
    return 0;
}

/* --config FILE / --config=FILE on the command line, else HERALD_CONFIG. */
static const char *config_file_named(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            file = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            file = argv[i] + 9;
    }
    if (!file)
        file = getenv("HERALD_CONFIG");
    return file && *file ? file : NULL;
}

/* A config file value as the text a flag would carry. */
static int file_value_text(json_t *v, char *out, size_t len)
{
    if (json_is_string(v))
        return snprintf(out, len, "%s", json_string_value(v)) < (int)len ? 0 : -1;
    if (json_is_integer(v))
        return snprintf(out, len, "%lld", (long long)json_integer_value(v)), 0;
    if (json_is_real(v))
        return snprintf(out, len, "%.17g", json_real_value(v)), 0;
    if (json_is_boolean(v))
        return snprintf(out, len, "%d", json_is_true(v)), 0;
    return -1;
}

/* Settings from the config file: every key but "sinks" (read by the sink
 * host) is an option's flag name; an unknown key is an error. */
static int load_file(hv_config *c, const char *path)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        fprintf(stderr, "herald: config %s: %s\n", path, root ? "must be a JSON object" : je.text);
        json_decref(root);
        return -1;
    }
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "sinks"))
            continue;
        const opt *o = find_option(key, strlen(key));
        char text[1024];
        if (!o || !strcmp(key, "config")) {
            fprintf(stderr, "herald: config %s: unknown setting \"%s\" (see --help)\n", path, key);
            rc = -1;
        } else if (file_value_text(v, text, sizeof(text)) != 0 || set_option(c, o, text) != 0) {
            fprintf(stderr, "herald: config %s: bad value for \"%s\"\n", path, key);
            rc = -1;
        }
        if (rc)
            break;
    }
    json_decref(root);
    if (rc == 0)
        snprintf(c->config_path, sizeof(c->config_path), "%s", path);
    return rc;
}

int hv_config_is_loopback(const char *host)
{
    if (!strcmp(host, "localhost") || !strcmp(host, "::1"))
        return 1;
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* Defaults that depend on the process: every connection is a file
 * descriptor, so by default herald takes connections up to its file limit
 * less a reserve for the store, webhooks, sinks and its own loops (64 +
 * 1/64 of the limit), and gives half of them at most to clients that have
 * not authenticated yet. */
static void derive_limits(hv_config *c)
{
    if (c->max_connections == SIZE_MAX) {
        struct rlimit rl;
        c->max_connections = 0; /* unknown or unlimited file limit: no cap */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
            rlim_t reserve = 64 + rl.rlim_cur / 64;
            c->max_connections = rl.rlim_cur > reserve + 16 ? (size_t)(rl.rlim_cur - reserve) : 16;
        }
    }
    if (c->max_unauthenticated == SIZE_MAX)
        c->max_unauthenticated = c->max_connections / 2 + (c->max_connections == 1);
}

int hv_config_is_development(const hv_config *c)
{
    return !strcmp(c->token, "development") && hv_config_is_loopback(c->listen_host);
}

int hv_config_load(hv_config *c, int argc, char **argv)
{
    set_defaults(c);
    const char *file = config_file_named(argc, argv);
    if (file && load_file(c, file) != 0)
        return -1;
    if (load_env(c) != 0)
        return -1;
    int r = load_args(c, argc, argv);
    if (r != 0)
        return r;
    if (!c->token[0]) {
        if (!hv_config_is_loopback(c->listen_host)) {
            fprintf(stderr, "herald: listening on %s needs an explicit --token (or HERALD_TOKEN); "
                            "the default token 'development' is only for loopback\n", c->listen_host);
            return -1;
        }
        strcpy(c->token, "development");
    }
    /* Reachable from other machines, the credentials must not be guessable:
     * the server token reaches everything, and the JWT secret mints any
     * user (HS256 keys shorter than the hash are weak: RFC 7518 3.2). */
    if (!hv_config_is_loopback(c->listen_host) &&
        (strlen(c->token) < HV_TOKEN_MIN || !strcmp(c->token, "development") ||
         (c->jwt_secret[0] && strlen(c->jwt_secret) < HV_JWT_SECRET_MIN))) {
        fprintf(stderr, "herald: listening on %s needs a --token of at least %d characters (not "
                        "'development') and, if set, a --jwt-secret of at least %d bytes\n",
                c->listen_host, HV_TOKEN_MIN, HV_JWT_SECRET_MIN);
        return -1;
    }
    if (c->ping_interval_s < 0.05 || c->metrics_interval_s < 0.05 || c->auth_timeout_s < 0.05) {
        fprintf(stderr, "herald: --ping-interval, --metrics-interval and --auth-timeout must be at least 0.05 s\n");
        return -1;
    }
    if (c->auth_fail_limit > 0 && (c->auth_fail_window_s < 0.05 || c->auth_fail_window_s > 86400 ||
                                   c->auth_fail_addresses < 1)) {
        fprintf(stderr, "herald: --auth-fail-window must be 0.05 to 86400 s and --auth-fail-addresses at least 1\n");
        return -1;
    }
    if (c->max_peer_message < 1 || (c->peer_msg_rate > 0 && c->peer_msg_burst < 1) || c->publish_window < 1) {
        fprintf(stderr, "herald: --max-peer-message, --peer-msg-burst and --publish-window must be at least 1\n");
        return -1;
    }
    /* Reading pauses well before the slow-consumer close: a small
     * --max-outbound brings the pause bound down with it. */
    if (c->outbound_pause > c->max_outbound / 2)
        c->outbound_pause = c->max_outbound / 2;
    if (!c->node_id[0]) {
        char host[64] = "herald";
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        if (c->listen_port)
            snprintf(c->node_id, sizeof(c->node_id), "%s:%d", host, c->listen_port);
        else /* an ephemeral port: the process id tells nodes on one host apart */
            snprintf(c->node_id, sizeof(c->node_id), "%s:0:%d", host, (int)getpid());
    }
    if (c->sqlite_busy_timeout_s < 0.01 || c->sqlite_busy_timeout_s > 600) {
        fprintf(stderr, "herald: --sqlite-busy-timeout must be 0.01 to 600 s\n");
        return -1;
    }
    if (c->node_timeout_s < 0.5) {
        fprintf(stderr, "herald: --node-timeout must be at least 0.5 s\n");
        return -1;
    }
    if (!(c->catch_up_interval_s >= 0 && c->catch_up_interval_s <= 3600) || c->max_token_lookups < 1) {
        fprintf(stderr, "herald: --catch-up-interval must be between 0 and 3600 s, --max-token-lookups at least 1\n");
        return -1;
    }
    if (strcmp(c->fishjam_compat, "current") != 0 && strcmp(c->fishjam_compat, "0.25") != 0) {
        fprintf(stderr, "herald: --fishjam-compat must be current or 0.25\n");
        return -1;
    }
    if (!strcmp(c->peer_url_scheme, "none"))
        c->peer_url_scheme[0] = 0;
    if (c->peer_url_scheme[0] && strcmp(c->peer_url_scheme, "ws") != 0 && strcmp(c->peer_url_scheme, "wss") != 0) {
        fprintf(stderr, "herald: --peer-url-scheme must be none, ws or wss\n");
        return -1;
    }
    if (c->jwt_leeway_s < 0 || c->jwt_leeway_s > 300) {
        fprintf(stderr, "herald: --jwt-leeway must be 0 to 300 s\n");
        return -1;
    }
    if (!(c->webhook_park_after_s >= 0.05 && c->webhook_park_after_s <= 86400)) {
        fprintf(stderr, "herald: --webhook-park-after must be 0.05 to 86400 s\n");
        return -1;
    }
    if (c->webhook_breaker_threshold < 0 || c->webhook_breaker_threshold > 10000 ||
        !(c->webhook_breaker_probe_min_s >= 0.05 && c->webhook_breaker_probe_max_s <= 86400 &&
          c->webhook_breaker_probe_min_s <= c->webhook_breaker_probe_max_s)) {
        fprintf(stderr, "herald: --webhook-breaker-threshold must be 0 to 10000, and 0.05 <= "
                        "--webhook-breaker-probe-min <= --webhook-breaker-probe-max <= 86400 s\n");
        return -1;
    }
    if (strcmp(c->engine, "sqlite") != 0 && strcmp(c->engine, "redis") != 0) {
        fprintf(stderr, "herald: --engine must be sqlite or redis\n");
        return -1;
    }
    /* --janus-path and --janus-room-from are checked by main.c, which has
     * ingest's parser in reach (core reads settings, it parses no layer's). */
    derive_limits(c);
    hv_log_level = c->log_level;
    return 0;
}
