/* SPDX-License-Identifier: MIT */
/* loadgen.c — herald's load generator: flags, the phases of one run, and
 * the one JSON line it prints.
 *
 * Modes:
 *   fan-out (default)  connect --subs N WebSocket subscribers (subs.c) at a
 *                      bounded rate, then publish --events M (publisher.c,
 *                      its own thread) while the main thread's epoll loop
 *                      receives; ends when every subscriber has every
 *                      acknowledged event, or nothing arrived for
 *                      --drain-timeout seconds. Reports deliveries/s,
 *                      latency quantiles, and with --server-pid the
 *                      server's CPU seconds over the window.
 *   --rooms            each subscriber on its own room (herald: an app client
 *                      with a user token naming its room, --jwt-secret; the
 *                      server must run with the same --jwt-secret); event k
 *                      goes to room k % N, so N events give one each
 *   --nchan            the server is Nchan (nginx): subscribers GET
 *                      /sub/<channel>, events are POSTed to /pub/<channel>
 *                      as the bare data object; --server-pid is then the
 *                      nginx worker's PID (its CPU and RSS)
 *   --idle SECONDS     connect N, hold them idle, report the server's RSS
 *                      growth per connection (VmRSS after - before) / N.
 *   --publish-only     no subscribers: publish M events with --concurrency
 *                      keep-alive connections, report acknowledged events/s.
 *   --ws-publish       no subscribers: publish M single-event frames over
 *                      --concurrency publishing sockets (GET
 *                      /v1/events/websocket), --window unanswered each
 *                      (wspub.c); the same report as --publish-only
 *   --webhooks K       webhook delivery throughput to K endpoints on a local
 *   --webhook-recovery receiver; outbox recovery after a restart (webhook.c)
 *   --recv-selftest    the webhook receiver alone (webhook.c, whrecv.c)
 *   --janus FILE       Janus ingest: POST /janus/events bodies of --batch
 *                      real Janus events (templates from FILE, janus_body.c)
 *                      with Basic auth, optionally gzip (--gzip LEVEL) or a
 *                      new connection per POST (--new-conn); reports
 *                      events/s, per server-CPU-second, request latency
 *   --sink NAME        sink throughput: publish, then time until the sink's
 *                      position reaches the last id (sinkbench.c)
 *   --sub-ports P,P    the fan-out cells across the nodes of one deployment
 *                      (bench/nodes.sh): subscriber i on port P[i % count],
 *                      publishes to --server; --server-pid PID,PID sums
 *                      the nodes' CPU (and lists each), --redis-pid adds
 *                      Redis's CPU over the same window
 * Helpers: --free-port prints a free loopback TCP port; --wait-ready S polls
 * GET /health until it answers 200.
 * Every subscriber's deliveries are counted; "missing" is the shortfall
 * against the acknowledged events, "ok" is false on any shortfall, failure
 * or disconnect.
 */
#include "lg.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct opts {
    const char *cell, *host, *token;
    int port, subs, batch, payload, concurrency, server_pid, publish_only, max_pending;
    int ws_publish, window;
    long events;
    double rate, idle, connect_rate, drain_timeout, max_seconds, connect_timeout;
    /* webhook cells (webhook.c) */
    int webhooks, wh_recovery, wh_selftest, recv_port, verify_every, max_in_flight;
    const char *wh_filter; /* --wh-filter: the endpoints' payload filter */
    const char *wh_batch;  /* --wh-batch: the endpoints' "batch" setting */
    const char *wh_rate;   /* --wh-rate-limit: the endpoints' rate_limit */
    int wh_half;           /* --wh-half: "odd":0|1 in the data, half the events expected */
    const char *dead, *server_log;
    char **server_argv;
    int server_argc;
    /* Janus and sink cells */
    const char *janus, *sink, *sink_module, *verify_cmd;
    int gzip, new_conn;
    int idem_keys; /* --idempotency-keys: a fresh Idempotency-Key per POST */
    /* rooms and Nchan */
    int rooms, nchan;
    const char *jwt_secret;
    /* several nodes (bench/nodes.sh): subscribers split over sub_ports,
     * server CPU summed over pids (pids[0] is server_pid), Redis's apart */
    int sub_ports[LG_MAX_NODES], nsub_ports, pids[LG_MAX_NODES], npids, redis_pid;
} opts;

static void usage(void)
{
    fputs("usage: loadgen [--server HOST:PORT] [--token T] [--cell NAME]\n"
          "  --subs N          WebSocket subscribers (default 100)\n"
          "  --events M        events to publish (default 100)\n"
          "  --rate R          events per second, 0 = flat out (default 0)\n"
          "  --batch B         events per POST (default 1)\n"
          "  --payload BYTES   size of each event's data object (default 200)\n"
          "  --concurrency K   POSTs in flight (default 4)\n"
          "  --idle SECONDS    connect N subscribers and hold them idle (memory)\n"
          "  --publish-only    no subscribers; measure acknowledged publishes/s\n"
          "  --idempotency-keys  every POST carries a fresh Idempotency-Key header (--ws-publish: every\n"
          "                      event a fresh idempotency_key)\n"
          "  --ws-publish      the same over --concurrency publishing sockets\n"
          "                    (GET /v1/events/websocket), one event per frame\n"
          "  --window W        --ws-publish: unanswered frames per socket (default 1024)\n"
          "  --server-pid PID[,PID…]  read the server's CPU time and VmRSS from /proc\n"
          "                    (several: the nodes of one deployment, summed)\n"
          "  --sub-ports P[,P…]  subscriber i connects to port P[i % count] on the\n"
          "                    --server host (publishes still go to --server)\n"
          "  --redis-pid PID   also report that process's CPU over the same window\n"
          "  --connect-rate R  new connections per second (default 4000)\n"
          "  --max-pending K   handshakes in flight (default 512)\n"
          "  --connect-timeout S  give up on a handshake after S (default 30)\n"
          "  --drain-timeout S stop waiting when nothing arrives for S (default 15)\n"
          "  --max-seconds S   stop starting new POSTs after S (default 0 = none)\n"
          "  --webhooks K      webhook throughput: K endpoints to a local receiver,\n"
          "                    publish --events, count signed deliveries\n"
          "  --wh-filter JSON  throughput: give each endpoint this payload filter\n"
          "  --wh-batch JSON   throughput: give each endpoint this \"batch\" setting\n"
          "  --wh-rate-limit JSON  throughput: give each endpoint this rate_limit\n"
          "  --wh-half         throughput: data gets \"odd\":0|1 (by place in the POST; --batch even),\n"
          "                    and half the events are expected (with --wh-filter '{\"data.odd\":1}')\n"
          "  --webhook-recovery -- SERVER ARGS…  run the server twice: fill the\n"
          "                    outbox with nobody answering, restart, time the drain\n"
          "  --dead hang|closed  recovery: the dead receiver hangs (default) or refuses\n"
          "  --recv-port P     the receiver's port (default any; recovery needs one)\n"
          "  --verify-every N  check every Nth webhook signature (default 100)\n"
          "  --max-in-flight N recovery: the server's --webhook-max-in-flight (64)\n"
          "  --server-log FILE recovery: the server's output is appended there\n"
          "  --recv-selftest   the webhook receiver alone against a curl client\n"
          "  --janus FILE      Janus ingest: bodies of --batch events built from the\n"
          "                    capture FILE (a JSON array), POST /janus/events\n"
          "  --gzip LEVEL      Janus: gzip each body at this zlib level (1-9)\n"
          "  --new-conn        a new TCP connection for every POST\n"
          "  --sink NAME       sink throughput of the configured sink NAME\n"
          "  --sink-module M   the module's name, for the report\n"
          "  --verify-cmd CMD  sink: a shell command printing the events the target holds\n"
          "  --rooms           each subscriber on its own room; event k to room k % subs\n"
          "  --jwt-secret S    rooms on herald: mint user tokens with this secret\n"
          "  --nchan           the server is Nchan (/sub/<channel>, /pub/<channel>)\n"
          "  --free-port       print a free loopback port and exit\n"
          "  --wait-ready S    wait up to S seconds for GET /health to answer 200\n",
          stderr);
    exit(2);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, l) || getsockname(fd, (struct sockaddr *)&a, &l))
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p, (void)u;
    return s * n;
}

static int wait_ready(const opts *o, double seconds)
{
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d/health", o->host, o->port);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 2L);
    int64_t end = lg_now_ns() + (int64_t)(seconds * 1e9);
    long code = 0;
    while (lg_now_ns() < end) {
        if (curl_easy_perform(h) == CURLE_OK &&
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200)
            break;
        code = 0;
        usleep(50000);
    }
    curl_easy_cleanup(h);
    return code == 200 ? 0 : 1;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* "1,2,3" into out[LG_MAX_NODES]; the count, or usage() when malformed. */
static int int_list(const char *arg, int *out)
{
    int n = 0;
    for (const char *p = arg; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v <= 0 || n == LG_MAX_NODES || (*end && *end != ','))
            usage();
        out[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return n;
}

/* utime+stime summed over the server's processes (every node), or -1. */
static double servers_cpu_s(const opts *o)
{
    double sum = 0;
    for (int i = 0; i < o->npids; i++) {
        double v = lg_proc_cpu_s(o->pids[i]);
        if (v < 0)
            return -1;
        sum += v;
    }
    return o->npids ? sum : -1;
}

/* VmRSS summed over the server's processes, or -1. */
static long servers_rss_kib(const opts *o)
{
    long sum = 0;
    for (int i = 0; i < o->npids; i++) {
        long v = lg_proc_rss_kib(o->pids[i]);
        if (v < 0)
            return -1;
        sum += v;
    }
    return o->npids ? sum : -1;
}

/* With several nodes (or one and --redis-pid): each one's CPU over the window and RSS at its end;
 * with --redis-pid, Redis's CPU and CPU per acknowledged event. */
static void put_nodes(json_t *out, const opts *o, const double *cpu0, double redis0, long acked)
{
    if (o->npids > 1 || (o->npids && o->redis_pid)) {
        json_t *cpu = json_array(), *rss = json_array();
        for (int i = 0; i < o->npids; i++) {
            double c = lg_proc_cpu_s(o->pids[i]);
            json_array_append_new(cpu, json_real(c >= 0 && cpu0[i] >= 0 ? round((c - cpu0[i]) * 100) / 100 : -1));
            json_array_append_new(rss, json_integer(lg_proc_rss_kib(o->pids[i])));
        }
        lg_put_int(out, "nodes", o->npids);
        json_object_set_new(out, "node_cpu_s", cpu);
        json_object_set_new(out, "node_rss_kib", rss);
    }
    if (o->redis_pid) {
        double r1 = lg_proc_cpu_s(o->redis_pid);
        double r = redis0 >= 0 && r1 >= 0 ? r1 - redis0 : -1;
        lg_put_real(out, "redis_cpu_s", r, 2);
        lg_put_real(out, "redis_cpu_us_per_event", r >= 0 && acked > 0 ? r * 1e6 / (double)acked : -1, 1);
        lg_put_real(out, "redis_rss_kib", (double)lg_proc_rss_kib(o->redis_pid), 0);
    }
}

static void parse(int argc, char **argv, opts *o)
{
    enum { O_SERVER = 256, O_TOKEN, O_CELL, O_SUBS, O_EVENTS, O_RATE, O_BATCH, O_PAYLOAD,
           O_CONC, O_IDLE, O_PUBONLY, O_PID, O_CRATE, O_PENDING, O_DRAIN, O_MAXS, O_CTIMEOUT,
           O_FREEPORT, O_READY, O_WEBHOOKS, O_WHREC, O_DEAD, O_RPORT, O_VERIFY, O_MIF, O_SLOG,
           O_SELFTEST, O_JANUS, O_GZIP, O_NEWCONN, O_SINK, O_SINKMOD, O_VERIFYCMD, O_ROOMS,
           O_JWT, O_NCHAN, O_SUBPORTS, O_REDISPID, O_WSPUB, O_WINDOW, O_WHFILTER, O_IDEM, O_WHBATCH, O_WHRATE, O_WHHALF };
    static const struct option lo[] = {
        {"server", 1, 0, O_SERVER},   {"token", 1, 0, O_TOKEN},     {"cell", 1, 0, O_CELL},
        {"subs", 1, 0, O_SUBS},       {"events", 1, 0, O_EVENTS},   {"rate", 1, 0, O_RATE},
        {"batch", 1, 0, O_BATCH},     {"payload", 1, 0, O_PAYLOAD}, {"concurrency", 1, 0, O_CONC},
        {"idle", 1, 0, O_IDLE},       {"publish-only", 0, 0, O_PUBONLY},
        {"server-pid", 1, 0, O_PID},  {"connect-rate", 1, 0, O_CRATE},
        {"max-pending", 1, 0, O_PENDING}, {"drain-timeout", 1, 0, O_DRAIN},
        {"max-seconds", 1, 0, O_MAXS}, {"connect-timeout", 1, 0, O_CTIMEOUT},
        {"free-port", 0, 0, O_FREEPORT}, {"wait-ready", 1, 0, O_READY},
        {"webhooks", 1, 0, O_WEBHOOKS}, {"webhook-recovery", 0, 0, O_WHREC},
        {"wh-filter", 1, 0, O_WHFILTER},
        {"wh-batch", 1, 0, O_WHBATCH},
        {"wh-rate-limit", 1, 0, O_WHRATE},
        {"wh-half", 0, 0, O_WHHALF},
        {"dead", 1, 0, O_DEAD},       {"recv-port", 1, 0, O_RPORT},
        {"verify-every", 1, 0, O_VERIFY}, {"max-in-flight", 1, 0, O_MIF},
        {"server-log", 1, 0, O_SLOG}, {"recv-selftest", 0, 0, O_SELFTEST},
        {"janus", 1, 0, O_JANUS},     {"gzip", 1, 0, O_GZIP},       {"new-conn", 0, 0, O_NEWCONN},
        {"sink", 1, 0, O_SINK},       {"sink-module", 1, 0, O_SINKMOD},
        {"verify-cmd", 1, 0, O_VERIFYCMD}, {"rooms", 0, 0, O_ROOMS},
        {"jwt-secret", 1, 0, O_JWT},  {"nchan", 0, 0, O_NCHAN},
        {"sub-ports", 1, 0, O_SUBPORTS}, {"redis-pid", 1, 0, O_REDISPID},
        {"ws-publish", 0, 0, O_WSPUB}, {"window", 1, 0, O_WINDOW},
        {"idempotency-keys", 0, 0, O_IDEM},
        {"help", 0, 0, 'h'},          {0, 0, 0, 0}};
    static char hostbuf[128];
    double ready = -1;
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_SERVER: {
            const char *colon = strrchr(optarg, ':');
            if (!colon || (size_t)(colon - optarg) >= sizeof hostbuf)
                usage();
            memcpy(hostbuf, optarg, (size_t)(colon - optarg));
            hostbuf[colon - optarg] = 0;
            o->host = hostbuf;
            o->port = atoi(colon + 1);
            break;
        }
        case O_TOKEN: o->token = optarg; break;
        case O_CELL: o->cell = optarg; break;
        case O_SUBS: o->subs = atoi(optarg); break;
        case O_EVENTS: o->events = atol(optarg); break;
        case O_RATE: o->rate = atof(optarg); break;
        case O_BATCH: o->batch = atoi(optarg); break;
        case O_PAYLOAD: o->payload = atoi(optarg); break;
        case O_CONC: o->concurrency = atoi(optarg); break;
        case O_IDLE: o->idle = atof(optarg); break;
        case O_PUBONLY: o->publish_only = 1; break;
        case O_PID:
            o->npids = int_list(optarg, o->pids);
            o->server_pid = o->npids > 0 ? o->pids[0] : 0;
            break;
        case O_SUBPORTS: o->nsub_ports = int_list(optarg, o->sub_ports); break;
        case O_REDISPID: o->redis_pid = atoi(optarg); break;
        case O_CRATE: o->connect_rate = atof(optarg); break;
        case O_PENDING: o->max_pending = atoi(optarg); break;
        case O_DRAIN: o->drain_timeout = atof(optarg); break;
        case O_MAXS: o->max_seconds = atof(optarg); break;
        case O_CTIMEOUT: o->connect_timeout = atof(optarg); break;
        case O_FREEPORT: printf("%d\n", free_port()); exit(0);
        case O_READY: ready = atof(optarg); break;
        case O_WEBHOOKS: o->webhooks = atoi(optarg); break;
        case O_WHFILTER: o->wh_filter = optarg; break;
        case O_WHBATCH: o->wh_batch = optarg; break;
        case O_WHRATE: o->wh_rate = optarg; break;
        case O_WHHALF: o->wh_half = 1; break;
        case O_WHREC: o->wh_recovery = 1; break;
        case O_DEAD: o->dead = optarg; break;
        case O_RPORT: o->recv_port = atoi(optarg); break;
        case O_VERIFY: o->verify_every = atoi(optarg); break;
        case O_MIF: o->max_in_flight = atoi(optarg); break;
        case O_SLOG: o->server_log = optarg; break;
        case O_SELFTEST: o->wh_selftest = 1; break;
        case O_JANUS: o->janus = optarg; break;
        case O_GZIP: o->gzip = atoi(optarg); break;
        case O_NEWCONN: o->new_conn = 1; break;
        case O_SINK: o->sink = optarg; break;
        case O_SINKMOD: o->sink_module = optarg; break;
        case O_VERIFYCMD: o->verify_cmd = optarg; break;
        case O_ROOMS: o->rooms = 1; break;
        case O_JWT: o->jwt_secret = optarg; break;
        case O_NCHAN: o->nchan = 1; break;
        case O_WSPUB: o->ws_publish = 1; break;
        case O_WINDOW: o->window = atoi(optarg); break;
        case O_IDEM: o->idem_keys = 1; break;
        default: usage();
        }
    }
    if (o->wh_recovery) { /* the server command follows "--" */
        o->server_argv = argv + optind;
        o->server_argc = argc - optind;
        if (o->server_argc < 1 || o->recv_port <= 0)
            usage();
        optind = argc;
    }
    if (optind < argc || o->batch < 1 || o->batch > 1000 || o->subs < 0 || o->events < 0 ||
        o->gzip < 0 || o->gzip > 9 || (o->nchan && o->batch != 1) || o->window < 1 ||
        (o->rooms && !o->nchan && !o->jwt_secret) || (o->rooms && o->subs < 1))
        usage();
    if (ready >= 0)
        exit(wait_ready(o, ready));
}

/* The janus_ingest cells: publish-only, Janus bodies, request latency. */
static int run_janus(const opts *o)
{
    char err[300] = "";
    lg_janus_tpl *tpl = lg_janus_load(o->janus, err, sizeof err);
    json_t *out = json_object();
    json_object_set_new(out, "cell", json_string(o->cell));
    static lg_hist lat;
    lg_pub pub = {.cfg = {.token = o->token, .events = tpl ? o->events : 0, .batch = o->batch,
                          .concurrency = o->concurrency, .max_seconds = o->max_seconds,
                          .janus = tpl, .gzip = o->gzip, .new_conn = o->new_conn},
                  .lat = &lat};
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d/janus/events", o->host, o->port);
    pub.cfg.url = url;
    int pid = o->server_pid;
    double self0 = lg_self_cpu_s();
    double cpu0 = pid ? lg_proc_cpu_s(pid) : -1;
    double taken0 = lg_metric(o->host, o->port, o->token, "herald_janus_events_total");
    if (tpl)
        lg_pub_run(&pub);
    double cpu1 = pid ? lg_proc_cpu_s(pid) : -1;
    long rss = pid ? lg_proc_rss_kib(pid) : -1;
    double taken1 = lg_metric(o->host, o->port, o->token, "herald_janus_events_total");
    long acked = atomic_load(&pub.acked), reqs = atomic_load(&pub.requests);
    double secs = pub.last_ack_ns > pub.first_send_ns && pub.first_send_ns
                      ? (double)(pub.last_ack_ns - pub.first_send_ns) / 1e9 : -1;
    double cpu = pid ? cpu1 - cpu0 : -1;
    lg_put_int(out, "events", acked);
    lg_put_real(out, "seconds", secs, 3);
    lg_put_real(out, "events_per_s", secs > 0 ? (double)acked / secs : -1, 1);
    lg_put_real(out, "server_cpu_s", cpu, 2);
    lg_put_real(out, "events_per_cpu_s", cpu > 0 ? (double)acked / cpu : -1, 1);
    lg_put_real(out, "p50_ms", (double)lg_hist_quantile(&lat, 0.50) / 1000, 3);
    lg_put_real(out, "p90_ms", (double)lg_hist_quantile(&lat, 0.90) / 1000, 3);
    lg_put_real(out, "p99_ms", (double)lg_hist_quantile(&lat, 0.99) / 1000, 3);
    lg_put_real(out, "max_ms", (double)lat.max / 1000, 3);
    json_object_set_new(out, "rss_kib", rss >= 0 ? json_integer(rss) : json_null());
    lg_put_int(out, "requests", reqs);
    lg_put_real(out, "requests_per_s", secs > 0 ? (double)reqs / secs : -1, 1);
    lg_put_int(out, "batch", o->batch);
    lg_put_int(out, "concurrency", o->concurrency);
    json_object_set_new(out, "new_conn", json_boolean(o->new_conn));
    lg_put_int(out, "gzip", o->gzip);
    lg_put_real(out, "body_bytes", reqs ? (double)pub.body_bytes / (double)reqs : -1, 0);
    lg_put_real(out, "wire_bytes", reqs ? (double)pub.wire_bytes / (double)reqs : -1, 0);
    lg_put_int(out, "duplicates", atomic_load(&pub.dups));
    lg_put_real(out, "server_janus_events", taken0 >= 0 && taken1 >= 0 ? taken1 - taken0 : -1, 0);
    lg_put_int(out, "publish_failed", atomic_load(&pub.failed));
    lg_put_real(out, "loadgen_cpu_s", lg_self_cpu_s() - self0, 2);
    if (!err[0] && pub.error[0])
        snprintf(err, sizeof err, "%s", pub.error);
    if (err[0])
        json_object_set_new(out, "error", json_string(err));
    json_object_set_new(out, "ok", json_boolean(!err[0] && acked == o->events && pub.failed == 0 &&
                                                pub.dups == 0 && taken1 - taken0 == (double)acked));
    lg_emit(out);
    lg_janus_free(tpl);
    return 0;
}

int main(int argc, char **argv)
{
    opts o = {.cell = "custom", .host = "127.0.0.1", .token = "development", .port = 5002,
              .subs = 100, .events = 100, .batch = 1, .payload = 200, .concurrency = 4,
              .max_pending = 512, .connect_rate = 4000, .drain_timeout = 15,
              .connect_timeout = 30, .verify_every = 100, .window = 1024};
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    parse(argc, argv, &o);
    raise_nofile();
    if (o.webhooks > 0 || o.wh_recovery || o.wh_selftest) {
        lg_wh_cfg wc = {.cell = o.cell, .host = o.host, .token = o.token, .port = o.port,
                        .server_pid = o.server_pid, .endpoints = o.webhooks, .events = o.events,
                        .batch = o.batch, .payload = o.payload, .concurrency = o.concurrency,
                        .recv_port = o.recv_port, .verify_every = o.verify_every,
                        .max_in_flight = o.max_in_flight, .drain_timeout = o.drain_timeout,
                        .dead = o.dead, .server_argv = o.server_argv, .server_argc = o.server_argc,
                        .server_log = o.server_log, .filter = o.wh_filter,
                        .jbatch = o.wh_batch,
                        .rate_limit = o.wh_rate, .half = o.wh_half};
        int rc = o.wh_selftest ? lg_wh_selftest(&wc) : o.wh_recovery ? lg_wh_recovery(&wc)
                                                                     : lg_wh_throughput(&wc);
        curl_global_cleanup();
        return rc;
    }
    if (o.ws_publish) {
        lg_wspub_cfg wc = {.cell = o.cell, .host = o.host, .token = o.token, .port = o.port,
                           .server_pid = o.server_pid, .events = o.events, .conns = o.concurrency,
                           .window = o.window, .payload = o.payload, .max_seconds = o.max_seconds,
                           .idem_keys = o.idem_keys};
        int rc = lg_wspub_run(&wc);
        curl_global_cleanup();
        return rc;
    }
    if (o.janus) {
        int rc = run_janus(&o);
        curl_global_cleanup();
        return rc;
    }
    if (o.sink) {
        lg_sink_cfg sc = {.cell = o.cell, .host = o.host, .token = o.token, .port = o.port,
                          .server_pid = o.server_pid, .sink = o.sink, .module = o.sink_module,
                          .events = o.events, .batch = o.batch, .payload = o.payload,
                          .concurrency = o.concurrency, .recv_port = o.recv_port,
                          .verify_cmd = o.verify_cmd, .drain_timeout = o.drain_timeout};
        int rc = lg_sink_throughput(&sc);
        curl_global_cleanup();
        return rc;
    }
    if (o.publish_only)
        o.subs = 0;
    int pid = o.server_pid;
    double self0 = lg_self_cpu_s();
    long rss0 = pid ? servers_rss_kib(&o) : -1;

    static lg_hist hist;
    lg_subs *subs = NULL;
    const lg_subs_stats *st = NULL;
    double connect_s = 0;
    if (o.subs > 0) {
        lg_subs_cfg sc = {.host = o.host, .port = o.port, .token = o.token, .n = o.subs,
                          .nchan = o.nchan, .rooms = o.rooms, .jwt_secret = o.jwt_secret,
                          .connect_rate = o.connect_rate, .max_pending = o.max_pending,
                          .connect_timeout_s = o.connect_timeout, .nports = o.nsub_ports};
        memcpy(sc.ports, o.sub_ports, sizeof sc.ports);
        subs = lg_subs_new(&sc, &hist);
        int64_t c0 = lg_now_ns();
        lg_subs_connect_all(subs);
        connect_s = (double)(lg_now_ns() - c0) / 1e9;
        st = lg_subs_stats_get(subs);
    }

    json_t *out = json_object();
    json_object_set_new(out, "cell", json_string(o.cell));
    json_object_set_new(out, "server", json_string(o.nchan ? "nchan" : "herald"));
    lg_put_int(out, "subs", o.subs);
    if (o.rooms)
        lg_put_int(out, "rooms", o.subs);

    if (o.idle > 0) {
        int64_t end = lg_now_ns() + (int64_t)(o.idle * 1e9);
        double cpu0 = pid ? servers_cpu_s(&o) : -1;
        while (lg_now_ns() < end)
            lg_subs_run_once(subs, 100);
        double cpu1 = pid ? servers_cpu_s(&o) : -1;
        long rss1 = pid ? servers_rss_kib(&o) : -1;
        int conns = st ? st->subscribed - st->closed : 0;
        lg_put_int(out, "conns", conns);
        lg_put_real(out, "seconds", o.idle, 3);
        lg_put_real(out, "server_cpu_s", pid ? cpu1 - cpu0 : -1, 3);
        json_object_set_new(out, "rss0_kib", rss0 >= 0 ? json_integer(rss0) : json_null());
        json_object_set_new(out, "rss_kib", rss1 >= 0 ? json_integer(rss1) : json_null());
        lg_put_real(out, "kib_per_conn", rss0 >= 0 && rss1 >= 0 && conns > 0
                                          ? (double)(rss1 - rss0) / conns : -1, 3);
        json_object_set_new(out, "ok", json_boolean(st && st->failed == 0 && st->closed == 0));
    } else {
        lg_pub pub = {.cfg = {.token = o.token, .events = o.events, .rate = o.rate,
                              .batch = o.batch, .payload = o.payload,
                              .concurrency = o.concurrency, .max_seconds = o.max_seconds,
                              .nchan = o.nchan, .rooms = o.rooms ? o.subs : 0,
                              .idem_keys = o.idem_keys}};
        char url[256];
        snprintf(url, sizeof url, o.nchan ? "http://%s:%d/pub/" : "http://%s:%d/v1/events", o.host,
                 o.port);
        pub.cfg.url = url;
        double cpu0 = pid ? servers_cpu_s(&o) : -1, node_cpu0[LG_MAX_NODES];
        for (int i = 0; i < o.npids; i++)
            node_cpu0[i] = lg_proc_cpu_s(o.pids[i]);
        double redis0 = o.redis_pid ? lg_proc_cpu_s(o.redis_pid) : -1;
        int64_t t_start = lg_now_ns();
        uint64_t missing = 0, dups = 0;
        if (!subs) {
            lg_pub_run(&pub);
        } else {
            pthread_t th;
            pthread_create(&th, NULL, lg_pub_thread, &pub);
            int64_t last_progress = lg_now_ns(), last_check = 0;
            uint64_t last_deliv = 0;
            for (;;) {
                lg_subs_run_once(subs, 20);
                int64_t now = lg_now_ns();
                if (st->deliveries != last_deliv) {
                    last_deliv = st->deliveries;
                    last_progress = now;
                }
                if (!atomic_load(&pub.done) || now - last_check < 50000000)
                    continue;
                last_check = now;
                if (lg_subs_missing(subs, (uint64_t)atomic_load(&pub.acked), NULL) == 0)
                    break;
                if (now - last_progress > (int64_t)(o.drain_timeout * 1e9))
                    break;
            }
            pthread_join(th, NULL);
            missing = lg_subs_missing(subs, (uint64_t)pub.acked, &dups);
        }
        double cpu1 = pid ? servers_cpu_s(&o) : -1;
        long rss1 = pid ? servers_rss_kib(&o) : -1;
        long acked = atomic_load(&pub.acked);
        int64_t t_end = subs ? st->last_delivery_ns : pub.last_ack_ns;
        int64_t t_begin = pub.first_send_ns ? pub.first_send_ns : t_start;
        double secs = t_end > t_begin ? (double)(t_end - t_begin) / 1e9 : -1;
        double pub_secs = pub.last_ack_ns > t_begin ? (double)(pub.last_ack_ns - t_begin) / 1e9 : -1;
        double cpu = pid ? cpu1 - cpu0 : -1;
        lg_put_int(out, "events", acked);
        if (st) {
            lg_put_int(out, "deliveries", (long long)st->deliveries);
            lg_put_int(out, "missing", (long long)missing);
        }
        lg_put_real(out, "seconds", secs, 3);
        if (st)
            lg_put_real(out, "deliveries_per_s", secs > 0 ? (double)st->deliveries / secs : -1, 1);
        lg_put_real(out, "server_cpu_s", cpu, 2);
        if (st)
            lg_put_real(out, "deliveries_per_cpu_s", cpu > 0 ? (double)st->deliveries / cpu : -1, 1);
        if (st && hist.total) {
            lg_put_real(out, "p50_ms", (double)lg_hist_quantile(&hist, 0.50) / 1000, 3);
            lg_put_real(out, "p90_ms", (double)lg_hist_quantile(&hist, 0.90) / 1000, 3);
            lg_put_real(out, "p99_ms", (double)lg_hist_quantile(&hist, 0.99) / 1000, 3);
            lg_put_real(out, "max_ms", (double)hist.max / 1000, 3);
        }
        json_object_set_new(out, "rss_kib", rss1 >= 0 ? json_integer(rss1) : json_null());
        lg_put_real(out, "publish_per_s", pub_secs > 0 ? (double)acked / pub_secs : -1, 1);
        if (!subs)
            lg_put_real(out, "publish_per_cpu_s", cpu > 0 ? (double)acked / cpu : -1, 1);
        lg_put_int(out, "publish_failed", atomic_load(&pub.failed));
        lg_put_int(out, "requests", atomic_load(&pub.requests));
        lg_put_int(out, "batch", o.batch);
        json_object_set_new(out, "idempotency_keys", json_boolean(o.idem_keys));
        lg_put_int(out, "concurrency", o.concurrency);
        lg_put_real(out, "rate", o.rate, 3);
        lg_put_int(out, "payload", o.payload);
        put_nodes(out, &o, node_cpu0, redis0, acked);
        if (st) {
            lg_put_int(out, "dups", (long long)dups);
            lg_put_int(out, "reordered", (long long)st->reordered);
            lg_put_int(out, "bad_frames", (long long)st->bad);
        }
        if (pub.error[0])
            json_object_set_new(out, "publish_error", json_string(pub.error));
        json_object_set_new(out, "ok", json_boolean(missing == 0 && dups == 0 && pub.failed == 0 &&
                                                   (!st || (st->failed == 0 && st->closed == 0))));
    }
    if (st) {
        lg_put_int(out, "connect_failed", st->failed);
        lg_put_int(out, "closed_by_server", st->closed);
        lg_put_real(out, "connect_s", connect_s, 2);
        if (st->error[0])
            json_object_set_new(out, "sub_error", json_string(st->error));
    }
    lg_put_real(out, "loadgen_cpu_s", lg_self_cpu_s() - self0, 2);
    lg_emit(out);
    lg_subs_free(subs);
    curl_global_cleanup();
    return 0;
}
