/* SPDX-License-Identifier: MIT */
/* webhook.c — the load generator's webhook cells.
 *
 * webhook_throughput (lg_wh_throughput): the receiver (whrecv.c) listens
 * on a free loopback port; K endpoints are created on the running server
 * (POST /v1/webhooks, url http://127.0.0.1:PORT/hook/<k>, a secret we
 * made, so signatures can be checked); then M events are published
 * (publisher.c) and the cell ends when every endpoint has every
 * acknowledged event, or nothing arrived for --drain-timeout seconds.
 * Deliveries per second are counted from the first POST to the last
 * webhook request received; server CPU (utime+stime) over the same span.
 * Afterwards herald_webhook_pending must fall to 0 (the engine records
 * its attempts in batches).
 *
 * webhook_recovery (lg_wh_recovery): the load generator runs the server
 * itself (the command after "--", plus flags per phase), twice on the same
 * data dir:
 *   1. fill: the endpoint points at a port where nobody answers (--dead
 *      hang: a socket that listens but never accepts, so attempts hang
 *      until --webhook-timeout, 3600 s here; --dead closed: nothing
 *      listens, every first attempt is refused and rescheduled on the
 *      3600 s schedule). M events are published, then we wait for
 *      herald_webhook_pending to reach M, and stop the server (SIGTERM).
 *   2. drain: the receiver starts on that port, the server is started
 *      again (1 s retry schedule) and the clock runs from its fork to the
 *      M-th distinct delivery received.
 *
 * The receiver alone (lg_wh_selftest) is whselftest.c.
 */
#include "lg.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- small HTTP helpers (libcurl easy) ------------------------------------ */

size_t lg_membuf_write(char *d, size_t s, size_t nm, void *u)
{
    lg_membuf *b = u;
    size_t n = s * nm;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *g = realloc(b->p, nc);
        if (!g)
            return 0;
        b->p = g;
        b->cap = nc;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static long http_req(const char *method, const char *url, const char *token, const char *body,
                     lg_membuf *out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    char auth[300];
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hd = curl_slist_append(hd, auth);
    }
    if (body)
        hd = curl_slist_append(hd, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, lg_membuf_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return code;
}

/* A sample from GET /metrics ("name value" at a line start), or -1. */
static double metric(const lg_wh_cfg *c, const char *name)
{
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d/metrics", c->host, c->port);
    lg_membuf b = {0};
    double v = -1;
    if (http_req("GET", url, c->token, NULL, &b) == 200 && b.p) {
        size_t nl = strlen(name);
        for (char *l = b.p; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
            if (!strncmp(l, name, nl) && l[nl] == ' ') {
                v = strtod(l + nl + 1, NULL);
                break;
            }
        }
    }
    free(b.p);
    return v;
}

/* The public forms (lg.h), for the Janus and sink cells. */
long lg_http_req(const char *method, const char *url, const char *token, const char *body, char **out)
{
    lg_membuf b = {0};
    long code = http_req(method, url, token, body, &b);
    if (out)
        *out = b.p;
    else
        free(b.p);
    return code;
}

double lg_metric(const char *host, int port, const char *token, const char *name)
{
    lg_wh_cfg c = {.host = host, .port = port, .token = token};
    return metric(&c, name);
}

/* Polls /metrics until name == want (or <= want when at_most); returns the
 * last value read. */
static double wait_metric(const lg_wh_cfg *c, const char *name, double want, int at_most, double secs)
{
    int64_t end = lg_now_ns() + (int64_t)(secs * 1e9);
    double v;
    for (;;) {
        v = metric(c, name);
        if (v >= 0 && (at_most ? v <= want : v == want))
            break;
        if (lg_now_ns() > end)
            break;
        usleep(50000);
    }
    return v;
}

void lg_wh_make_secret(char out[64])
{
    unsigned char key[32];
    if (RAND_bytes(key, sizeof key) != 1)
        abort();
    memcpy(out, "whsec_", 6);
    EVP_EncodeBlock((unsigned char *)out + 6, key, sizeof key); /* 44 chars */
}

/* POST /v1/webhooks; the id goes to id_out. Returns 0 or -1 (err set). */
static int create_endpoint(const lg_wh_cfg *c, const char *target_url, const char *secret,
                           char *id_out, size_t idlen, char *err, size_t errlen)
{
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d/v1/webhooks", c->host, c->port);
    json_t *req = json_pack("{s:s, s:s, s:s}", "url", target_url, "secret", secret, "description",
                            "herald bench");
    json_t *filter = c->filter ? json_loads(c->filter, 0, NULL) : NULL;
    if (filter) /* --wh-filter: a payload filter (issue 18 item 5) */
        json_object_set_new(req, "filter", filter);
    json_t *jb = c->jbatch ? json_loads(c->jbatch, 0, NULL) : NULL;
    if (jb) /* --wh-batch: batched delivery (issue 18 item 6) */
        json_object_set_new(req, "batch", jb);
    json_t *rate = c->rate_limit ? json_loads(c->rate_limit, JSON_DECODE_ANY, NULL) : NULL;
    if (rate) /* --wh-rate-limit: the endpoint's rate_limit (issue 18 item 2) */
        json_object_set_new(req, "rate_limit", rate);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    lg_membuf b = {0};
    long code = http_req("POST", url, c->token, body, &b);
    free(body);
    json_t *j = b.p ? json_loads(b.p, 0, NULL) : NULL;
    json_t *data = json_object_get(j, "data") ? json_object_get(j, "data") : j;
    const char *id = json_string_value(json_object_get(data, "id"));
    int rc = 0;
    if (code != 201 || !id) {
        snprintf(err, errlen, "POST /v1/webhooks: HTTP %ld %.150s", code, b.p ? b.p : "");
        rc = -1;
    } else {
        snprintf(id_out, idlen, "%s", id);
    }
    json_decref(j);
    free(b.p);
    return rc;
}

/* ---- JSON output helpers --------------------------------------------------- */

void lg_put_recv(json_t *out, const lg_recv_stats *rs)
{
    lg_put_int(out, "requests", (long long)atomic_load(&rs->requests));
    lg_put_int(out, "dups", (long long)atomic_load(&rs->dups));
    lg_put_int(out, "verified", (long long)atomic_load(&rs->verified));
    lg_put_int(out, "bad_signatures", (long long)atomic_load(&rs->bad_sig));
    lg_put_int(out, "bad_requests", (long long)atomic_load(&rs->bad));
    lg_put_int(out, "connections", (long long)atomic_load(&rs->connections));
    lg_put_real(out, "receiver_cpu_s", rs->cpu_s, 2);
}

/* Waits until the receiver has `expect` distinct deliveries (once the
 * publisher, if any, is done), or nothing came for drain_timeout. */
static void wait_deliveries(const lg_wh_cfg *c, const lg_recv_stats *rs, lg_pub *pub, int neps,
                            uint64_t expect_fixed)
{
    int64_t last_progress = lg_now_ns(), last_log = lg_now_ns();
    uint64_t last_req = 0;
    for (;;) {
        usleep(2000);
        int64_t now = lg_now_ns();
        uint64_t req = atomic_load(&rs->requests);
        if (req != last_req) {
            last_req = req;
            last_progress = now;
        }
        int done = !pub || atomic_load(&pub->done);
        uint64_t expect = pub ? (uint64_t)atomic_load(&pub->acked) / (c->half ? 2 : 1) * (uint64_t)neps
                              : expect_fixed;
        uint64_t got = atomic_load(&rs->deliveries);
        if (now - last_log > 5000000000LL) {
            fprintf(stderr, "loadgen: %s: %llu/%llu deliveries%s\n", c->cell, (unsigned long long)got,
                    (unsigned long long)expect, done ? "" : " (publishing)");
            last_log = now;
        }
        if (done && got >= expect)
            break;
        if (done && now - last_progress > (int64_t)(c->drain_timeout * 1e9))
            break;
    }
}

/* Distinct deliveries short of `per` (0: every event id of [first, last];
 * with a filter passing half, half of them) summed over the endpoints the
 * receiver knows (after lg_recv_stop). */
static uint64_t missing_of(const lg_recv *r, int neps, uint64_t first, uint64_t last, uint64_t per)
{
    if (last < first || !first)
        return 0;
    uint64_t miss = 0;
    if (!per)
        per = last - first + 1;
    for (int i = 0; i < neps; i++) {
        uint64_t seen = lg_recv_seen_range(r, i, first, last);
        miss += seen < per ? per - seen : 0;
    }
    return miss;
}

/* ---- webhook_throughput ---------------------------------------------------- */

int lg_wh_throughput(const lg_wh_cfg *c)
{
    json_t *out = json_object();
    json_object_set_new(out, "cell", json_string(c->cell));
    char err[300] = "";
    double self0 = lg_self_cpu_s();
    lg_recv *r = lg_recv_start("127.0.0.1", c->recv_port, c->verify_every, NULL);
    if (!r) {
        json_object_set_new(out, "ok", json_false());
        json_object_set_new(out, "error", json_string("receiver could not listen"));
        lg_emit(out);
        return 1;
    }
    int port = lg_recv_port(r);
    char secret[64] = "";
    lg_wh_make_secret(secret);
    int neps = c->endpoints > 0 ? c->endpoints : 1;
    for (int i = 0; i < neps && !err[0]; i++) {
        char target[128], id[100];
        snprintf(target, sizeof target, "http://127.0.0.1:%d/hook/%d", port, i);
        if (create_endpoint(c, target, secret, id, sizeof id, err, sizeof err) == 0)
            lg_recv_add_endpoint(r, id, secret);
    }
    const lg_recv_stats *rs = lg_recv_stats_get(r);
    lg_pub pub = {.cfg = {.token = c->token, .events = err[0] ? 0 : c->events, .batch = c->batch,
                          .payload = c->payload, .concurrency = c->concurrency, .half = c->half}};
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d/v1/events", c->host, c->port);
    pub.cfg.url = url;
    int pid = c->server_pid;
    double cpu0 = pid ? lg_proc_cpu_s(pid) : -1;
    pthread_t th;
    pthread_create(&th, NULL, lg_pub_thread, &pub);
    wait_deliveries(c, rs, &pub, neps, 0);
    double cpu1 = pid ? lg_proc_cpu_s(pid) : -1;
    long rss = pid ? lg_proc_rss_kib(pid) : -1;
    pthread_join(th, NULL);
    double pending_after = wait_metric(c, "herald_webhook_pending", 0, 1, 10);
    double delivered_total = metric(c, "herald_webhook_deliveries_total");
    lg_recv_stop(r);

    long acked = atomic_load(&pub.acked);
    uint64_t deliveries = atomic_load(&rs->deliveries);
    uint64_t missing = acked > 0 ? missing_of(r, neps, (uint64_t)pub.first_id, (uint64_t)pub.last_id,
                                                  c->half ? (uint64_t)acked / 2 : 0) : 0;
    int64_t t_end = atomic_load(&rs->last_ns);
    double secs = t_end > pub.first_send_ns && pub.first_send_ns ? (double)(t_end - pub.first_send_ns) / 1e9 : -1;
    double pub_secs = pub.last_ack_ns > pub.first_send_ns ? (double)(pub.last_ack_ns - pub.first_send_ns) / 1e9 : -1;
    double cpu = pid ? cpu1 - cpu0 : -1;
    lg_put_int(out, "endpoints", neps);
    lg_put_int(out, "events", acked);
    lg_put_int(out, "deliveries", (long long)deliveries);
    lg_put_int(out, "missing", (long long)missing);
    lg_put_real(out, "seconds", secs, 3);
    lg_put_real(out, "deliveries_per_s", secs > 0 ? (double)deliveries / secs : -1, 1);
    lg_put_real(out, "server_cpu_s", cpu, 2);
    lg_put_real(out, "deliveries_per_cpu_s", cpu > 0 ? (double)deliveries / cpu : -1, 1);
    lg_put_real(out, "publish_s", pub_secs, 3);
    lg_put_real(out, "publish_per_s", pub_secs > 0 ? (double)acked / pub_secs : -1, 1);
    lg_put_int(out, "publish_failed", atomic_load(&pub.failed));
    lg_put_int(out, "batch", c->batch);
    lg_put_int(out, "payload", c->payload);
    lg_put_recv(out, rs);
    json_object_set_new(out, "rss_kib", rss >= 0 ? json_integer(rss) : json_null());
    lg_put_real(out, "server_pending_after", pending_after, 0);
    lg_put_real(out, "server_delivered_total", delivered_total, 0);
    lg_put_real(out, "loadgen_cpu_s", lg_self_cpu_s() - self0, 2);
    if (!err[0] && pub.error[0])
        snprintf(err, sizeof err, "%s", pub.error);
    if (err[0])
        json_object_set_new(out, "error", json_string(err));
    int ok = !err[0] && acked == c->events && missing == 0 && atomic_load(&rs->dups) == 0 &&
             atomic_load(&rs->bad_sig) == 0 && atomic_load(&rs->verified) > 0 &&
             atomic_load(&rs->bad) == 0 && pending_after == 0 &&
             (!c->half || deliveries == (uint64_t)acked / 2 * (uint64_t)neps); /* the filter passed half */
    json_object_set_new(out, "ok", json_boolean(ok));
    lg_emit(out);
    lg_recv_free(r);
    return 0;
}

/* ---- running the server ourselves (webhook_recovery) ----------------------- */

/* Starts argv + extra (NULL-terminated) with stdout and stderr appended to
 * logpath; the child gets SIGTERM if we die, and every CPU even when we
 * are pinned (BENCH_LG_CPUS pins the load generator, not the server). */
static pid_t spawn(char *const *argv, int argc, const char *const *extra, const char *logpath)
{
    int nextra = 0;
    while (extra[nextra])
        nextra++;
    char **av = calloc((size_t)(argc + nextra + 1), sizeof *av);
    if (!av)
        abort();
    for (int i = 0; i < argc; i++)
        av[i] = argv[i];
    for (int i = 0; i < nextra; i++)
        av[argc + i] = (char *)extra[i];
    int logfd = open(logpath ? logpath : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    cpu_set_t all;
    CPU_ZERO(&all);
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    for (long i = 0; i < ncpu && i < CPU_SETSIZE; i++)
        CPU_SET((int)i, &all);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        sched_setaffinity(0, sizeof all, &all);
        if (getppid() != parent)
            _exit(127);
        if (logfd >= 0) {
            dup2(logfd, 1);
            dup2(logfd, 2);
        }
        execv(av[0], av);
        _exit(127);
    }
    if (logfd >= 0)
        close(logfd);
    free(av);
    return pid;
}

/* SIGTERM, then up to `secs` for it to exit (SIGKILL after). Writes how it
 * ended ("exit 0", "signal 9", ...) and returns 0 for a clean exit 0. */
static int stop_child(pid_t pid, double secs, double *took, char *how, size_t howlen)
{
    int64_t t0 = lg_now_ns();
    kill(pid, SIGTERM);
    int status = 0, killed = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            snprintf(how, howlen, "waitpid: %s", strerror(errno));
            return -1;
        }
        if (!killed && lg_now_ns() - t0 > (int64_t)(secs * 1e9)) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        usleep(5000);
    }
    *took = (double)(lg_now_ns() - t0) / 1e9;
    if (WIFEXITED(status))
        snprintf(how, howlen, "%sexit %d", killed ? "SIGKILLed after timeout, " : "", WEXITSTATUS(status));
    else
        snprintf(how, howlen, "%ssignal %d", killed ? "SIGKILLed after timeout, " : "", WTERMSIG(status));
    return !killed && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Polls GET /health until 200; returns seconds taken or -1. */
static double wait_health(const lg_wh_cfg *c, pid_t pid, double secs)
{
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d/health", c->host, c->port);
    int64_t t0 = lg_now_ns(), end = t0 + (int64_t)(secs * 1e9);
    while (lg_now_ns() < end) {
        lg_membuf b = {0};
        long code = http_req("GET", url, NULL, NULL, &b);
        free(b.p);
        if (code == 200)
            return (double)(lg_now_ns() - t0) / 1e9;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(10000);
    }
    return -1;
}

int lg_wh_recovery(const lg_wh_cfg *c)
{
    json_t *out = json_object();
    json_object_set_new(out, "cell", json_string(c->cell));
    char err[300] = "", how1[64] = "", how2[64] = "", mif[16];
    double self0 = lg_self_cpu_s();
    int recv_port = c->recv_port;
    snprintf(mif, sizeof mif, "%d", c->max_in_flight > 0 ? c->max_in_flight : 64);
    char secret[64];
    lg_wh_make_secret(secret);
    int closed = c->dead && !strcmp(c->dead, "closed");

    /* phase 1: fill the outbox while nobody answers */
    int hole = -1;
    if (!closed) {
        hole = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(hole, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                .sin_port = htons((uint16_t)recv_port)};
        if (bind(hole, (struct sockaddr *)&a, sizeof a) || listen(hole, 1024))
            snprintf(err, sizeof err, "black hole on port %d: %s", recv_port, strerror(errno));
    }
    const char *fill_flags[] = {"--webhook-retry-schedule", "3600", "--webhook-timeout", "3600",
                                "--webhook-max-in-flight", mif, NULL};
    pid_t pid = err[0] ? -1 : spawn(c->server_argv, c->server_argc, fill_flags, c->server_log);
    double ready1 = pid > 0 ? wait_health(c, pid, 15) : -1;
    if (!err[0] && ready1 < 0)
        snprintf(err, sizeof err, "server (fill phase) did not become ready");
    char target[128], id[100] = "";
    snprintf(target, sizeof target, "http://127.0.0.1:%d/hook/0", recv_port);
    if (!err[0])
        create_endpoint(c, target, secret, id, sizeof id, err, sizeof err);
    lg_pub pub = {.cfg = {.token = c->token, .events = err[0] ? 0 : c->events, .batch = c->batch,
                          .payload = c->payload, .concurrency = c->concurrency}};
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d/v1/events", c->host, c->port);
    pub.cfg.url = url;
    int64_t f0 = lg_now_ns();
    if (!err[0])
        lg_pub_run(&pub);
    long acked = atomic_load(&pub.acked);
    double pending = err[0] ? -1 : wait_metric(c, "herald_webhook_pending", (double)acked, 0, 60);
    double fill_s = (double)(lg_now_ns() - f0) / 1e9;
    double failed_attempts = err[0] ? -1 : metric(c, "herald_webhook_failed_attempts_total");
    if (!err[0] && pending != (double)acked)
        snprintf(err, sizeof err, "herald_webhook_pending is %.0f, not %ld, after 60 s", pending, acked);
    double stop1_s = -1;
    if (pid > 0 && stop_child(pid, 30, &stop1_s, how1, sizeof how1) != 0 && !err[0])
        snprintf(err, sizeof err, "fill-phase server did not stop cleanly on SIGTERM: %s", how1);
    if (hole >= 0)
        close(hole);
    fprintf(stderr, "loadgen: %s: %ld events published, %.0f deliveries pending, server stopped (%s) "
            "in %.2f s; restarting it\n", c->cell, acked, pending, how1, stop1_s);

    /* phase 2: receiver up, server restarted, clock running */
    lg_recv *r = err[0] ? NULL : lg_recv_start("127.0.0.1", recv_port, c->verify_every, NULL);
    if (!err[0] && !r)
        snprintf(err, sizeof err, "receiver could not listen on port %d", recv_port);
    if (r && id[0])
        lg_recv_add_endpoint(r, id, secret);
    const char *drain_flags[] = {"--webhook-retry-schedule", "1,1,1,1,1", "--webhook-max-in-flight", mif,
                                 NULL};
    int64_t t0 = lg_now_ns();
    pid = r ? spawn(c->server_argv, c->server_argc, drain_flags, c->server_log) : -1;
    double ready2 = pid > 0 ? wait_health(c, pid, 30) : -1;
    if (!err[0] && ready2 < 0)
        snprintf(err, sizeof err, "server (drain phase) did not become ready");
    static const lg_recv_stats none;
    const lg_recv_stats *rs = r ? lg_recv_stats_get(r) : &none;
    if (!err[0])
        wait_deliveries(c, rs, NULL, 1, (uint64_t)acked);
    double cpu = pid > 0 ? lg_proc_cpu_s(pid) : -1;
    long rss = pid > 0 ? lg_proc_rss_kib(pid) : -1;
    double pending_after = err[0] ? -1 : wait_metric(c, "herald_webhook_pending", 0, 1, 10);
    double stop2_s = -1;
    if (pid > 0 && stop_child(pid, 30, &stop2_s, how2, sizeof how2) != 0 && !err[0])
        snprintf(err, sizeof err, "drain-phase server did not stop cleanly on SIGTERM: %s", how2);
    lg_recv_stop(r);

    uint64_t deliveries = atomic_load(&rs->deliveries);
    uint64_t missing = r && acked > 0 ? missing_of(r, 1, (uint64_t)pub.first_id, (uint64_t)pub.last_id, 0)
                                      : (uint64_t)(acked > 0 ? acked : 0);
    int64_t first = atomic_load(&rs->first_ns), last = atomic_load(&rs->last_ns);
    double secs = last > t0 ? (double)(last - t0) / 1e9 : -1;
    lg_put_int(out, "events", acked);
    lg_put_real(out, "pending", pending, 0);
    lg_put_real(out, "seconds_to_drain", secs, 3);
    lg_put_real(out, "deliveries_per_s", secs > 0 ? (double)deliveries / secs : -1, 1);
    lg_put_int(out, "deliveries", (long long)deliveries);
    lg_put_int(out, "missing", (long long)missing);
    lg_put_real(out, "ready_s", ready2, 3);
    lg_put_real(out, "first_delivery_s", first > t0 ? (double)(first - t0) / 1e9 : -1, 3);
    lg_put_real(out, "drain_only_per_s",
             last > first && first > 0 ? (double)deliveries / ((double)(last - first) / 1e9) : -1, 1);
    lg_put_real(out, "server_cpu_s", cpu, 2);
    lg_put_real(out, "deliveries_per_cpu_s", cpu > 0 ? (double)deliveries / cpu : -1, 1);
    json_object_set_new(out, "rss_kib", rss >= 0 ? json_integer(rss) : json_null());
    lg_put_real(out, "fill_s", fill_s, 3);
    lg_put_real(out, "fill_failed_attempts", failed_attempts, 0);
    lg_put_real(out, "stop_s", stop1_s, 3);
    json_object_set_new(out, "dead", json_string(closed ? "closed" : "hang"));
    json_object_set_new(out, "stop1", json_string(how1));
    json_object_set_new(out, "stop2", json_string(how2));
    lg_put_real(out, "server_pending_after", pending_after, 0);
    lg_put_recv(out, rs);
    lg_put_real(out, "loadgen_cpu_s", lg_self_cpu_s() - self0, 2);
    if (!err[0] && pub.error[0])
        snprintf(err, sizeof err, "%s", pub.error);
    if (err[0])
        json_object_set_new(out, "error", json_string(err));
    int ok = !err[0] && acked == c->events && missing == 0 && atomic_load(&rs->dups) == 0 &&
             atomic_load(&rs->bad_sig) == 0 && atomic_load(&rs->verified) > 0 &&
             atomic_load(&rs->bad) == 0 && pending_after == 0;
    json_object_set_new(out, "ok", json_boolean(ok));
    lg_emit(out);
    lg_recv_free(r);
    return 0;
}
