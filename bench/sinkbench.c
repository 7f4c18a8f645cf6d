/* SPDX-License-Identifier: MIT */
/* sinkbench.c — the load generator's sink_throughput cell: how fast one
 * sink module moves herald's event stream to its target.
 *
 * The server runs with a config file holding one sink (bench/run.sh writes
 * it: batch max_events 1000, a small max_delay_ms, no filter, the module's
 * target on this machine). M events are published through POST /v1/events
 * (publisher.c, batches of --batch, --concurrency in flight) while the main
 * thread polls GET /v1/sinks on one keep-alive connection every 5 ms; the
 * cell ends when the sink's "position" reaches the last id the publisher
 * got back (or it has not moved for --drain-timeout seconds). Events per
 * second run from the first POST to the poll that saw that position; the
 * server's CPU (utime+stime) is read at the same two moments, so it covers
 * ingest, the sink's work and the polls (~200 small requests a second).
 *
 * With --recv-port the HTTP receiver (whrecv.c) listens there first: the
 * "http" module's target, which counts the distinct event ids of the
 * batches it got. With --verify-cmd a shell command run afterwards prints
 * how many events the target holds (lines of the file, rows of the table,
 * entries of the stream); "ok" needs it to equal the events published.
 */
#include "lg.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static const char *str_or(json_t *v, const char *dflt)
{
    const char *s = json_string_value(v);
    return s ? s : dflt;
}

typedef struct sink_state {
    long long position, events, batches, failures;
    char state[32];
} sink_state;

/* GET /v1/sinks on h; fills st for the named sink. 0, or -1. */
static int poll_sink(CURL *h, lg_membuf *b, const char *name, sink_state *st)
{
    b->n = 0;
    long code = 0;
    if (curl_easy_perform(h) != CURLE_OK || curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
        code != 200 || !b->p)
        return -1;
    json_t *j = json_loadb(b->p, b->n, 0, NULL);
    json_t *arr = json_object_get(j, "sinks"), *v;
    size_t i;
    int rc = -1;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(str_or(json_object_get(v, "name"), ""), name) != 0)
            continue;
        st->position = json_integer_value(json_object_get(v, "position"));
        st->events = json_integer_value(json_object_get(v, "events"));
        st->batches = json_integer_value(json_object_get(v, "batches"));
        st->failures = json_integer_value(json_object_get(v, "failures"));
        snprintf(st->state, sizeof st->state, "%s", str_or(json_object_get(v, "state"), "?"));
        rc = 0;
        break;
    }
    json_decref(j);
    return rc;
}

/* Runs cmd with sh; the first number it prints, or -1. */
static long long run_count(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char line[128] = "";
    long long v = -1;
    if (fgets(line, sizeof line, f) && line[0] >= '0' && line[0] <= '9')
        v = strtoll(line, NULL, 10);
    pclose(f);
    return v;
}

int lg_sink_throughput(const lg_sink_cfg *c)
{
    json_t *out = json_object();
    json_object_set_new(out, "cell", json_string(c->cell));
    json_object_set_new(out, "module", json_string(c->module ? c->module : c->sink));
    char err[300] = "";
    double self0 = lg_self_cpu_s();
    lg_recv *r = NULL;
    if (c->recv_port > 0) {
        r = lg_recv_start("127.0.0.1", c->recv_port, 0, NULL);
        if (!r)
            snprintf(err, sizeof err, "receiver could not listen on port %d", c->recv_port);
    }
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d/v1/sinks", c->host, c->port);
    CURL *h = curl_easy_init();
    lg_membuf b = {0};
    char auth[300];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, lg_membuf_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    sink_state st0 = {0}, st = {0};
    if (!err[0] && poll_sink(h, &b, c->sink, &st0) != 0)
        snprintf(err, sizeof err, "GET /v1/sinks: no sink named '%s'", c->sink);
    if (!err[0] && strcmp(st0.state, "running") != 0)
        snprintf(err, sizeof err, "sink '%s' is %s before the cell", c->sink, st0.state);

    lg_pub pub = {.cfg = {.token = c->token, .events = err[0] ? 0 : c->events, .batch = c->batch,
                          .payload = c->payload, .concurrency = c->concurrency}};
    char purl[256];
    snprintf(purl, sizeof purl, "http://%s:%d/v1/events", c->host, c->port);
    pub.cfg.url = purl;
    int pid = c->server_pid;
    double cpu0 = pid ? lg_proc_cpu_s(pid) : -1;
    int64_t t0 = lg_now_ns(), t_end = 0, last_move = t0, last_log = t0;
    pthread_t th;
    pthread_create(&th, NULL, lg_pub_thread, &pub);
    long long last_pos = st0.position;
    int polls = 0;
    double cpu1 = -1;
    while (!err[0]) {
        usleep(5000);
        int64_t now = lg_now_ns();
        if (poll_sink(h, &b, c->sink, &st) != 0)
            continue;
        polls++;
        if (st.position != last_pos) {
            last_pos = st.position;
            last_move = now;
        }
        int done = atomic_load(&pub.done);
        if (done && (pub.last_id < 0 || st.position >= pub.last_id)) {
            t_end = lg_now_ns();
            cpu1 = pid ? lg_proc_cpu_s(pid) : -1;
            break;
        }
        if (now - last_log > 5000000000LL) {
            fprintf(stderr, "loadgen: %s: sink position %lld, last id %ld%s\n", c->cell, st.position,
                    pub.last_id, done ? "" : " (publishing)");
            last_log = now;
        }
        if (done && now - last_move > (int64_t)(c->drain_timeout * 1e9)) {
            snprintf(err, sizeof err, "sink position stuck at %lld (state %s), last id %ld", st.position,
                     st.state, pub.last_id);
            break;
        }
    }
    long rss = pid ? lg_proc_rss_kib(pid) : -1;
    pthread_join(th, NULL);
    if (r)
        lg_recv_stop(r);
    long acked = atomic_load(&pub.acked);
    long long target = c->verify_cmd ? run_count(c->verify_cmd) : -1;
    int64_t begin = pub.first_send_ns ? pub.first_send_ns : t0;
    double secs = t_end > begin ? (double)(t_end - begin) / 1e9 : -1;
    double pub_secs = pub.last_ack_ns > begin ? (double)(pub.last_ack_ns - begin) / 1e9 : -1;
    double cpu = cpu1 >= 0 && cpu0 >= 0 ? cpu1 - cpu0 : -1;
    long long moved = st.events - st0.events, batches = st.batches - st0.batches;
    lg_put_int(out, "events", acked);
    lg_put_real(out, "seconds", secs, 3);
    lg_put_real(out, "events_per_s", secs > 0 ? (double)acked / secs : -1, 1);
    lg_put_real(out, "server_cpu_s", cpu, 2);
    lg_put_real(out, "events_per_cpu_s", cpu > 0 ? (double)acked / cpu : -1, 1);
    lg_put_real(out, "publish_s", pub_secs, 3);
    lg_put_real(out, "publish_per_s", pub_secs > 0 ? (double)acked / pub_secs : -1, 1);
    lg_put_real(out, "drain_after_publish_s", secs > 0 && pub_secs > 0 ? secs - pub_secs : -1, 3);
    lg_put_int(out, "sink_events", moved);
    lg_put_int(out, "sink_batches", batches);
    lg_put_real(out, "events_per_batch", batches > 0 ? (double)moved / (double)batches : -1, 1);
    lg_put_int(out, "sink_failures", st.failures - st0.failures);
    json_object_set_new(out, "sink_state", json_string(st.state));
    lg_put_int(out, "polls", polls);
    uint64_t rdeliv = 0, rdups = 0, rbad = 0;
    if (r) {
        const lg_recv_stats *rs = lg_recv_stats_get(r);
        rdeliv = atomic_load(&rs->deliveries);
        rdups = atomic_load(&rs->dups);
        rbad = atomic_load(&rs->bad);
        lg_put_int(out, "receiver_requests", (long long)atomic_load(&rs->requests));
        lg_put_int(out, "receiver_events", (long long)rdeliv);
        lg_put_int(out, "receiver_dups", (long long)rdups);
        lg_put_int(out, "receiver_bad", (long long)rbad);
        lg_put_real(out, "receiver_cpu_s", rs->cpu_s, 2);
        target = (long long)rdeliv;
    }
    json_object_set_new(out, "target_events", target >= 0 ? json_integer(target) : json_null());
    json_object_set_new(out, "rss_kib", rss >= 0 ? json_integer(rss) : json_null());
    lg_put_int(out, "publish_failed", atomic_load(&pub.failed));
    lg_put_int(out, "batch", c->batch);
    lg_put_int(out, "payload", c->payload);
    lg_put_int(out, "concurrency", c->concurrency);
    lg_put_real(out, "loadgen_cpu_s", lg_self_cpu_s() - self0, 2);
    if (!err[0] && pub.error[0])
        snprintf(err, sizeof err, "%s", pub.error);
    if (err[0])
        json_object_set_new(out, "error", json_string(err));
    int ok = !err[0] && acked == c->events && moved == acked && st.failures == st0.failures &&
             (target < 0 || target == acked) && rdups == 0 && rbad == 0;
    json_object_set_new(out, "ok", json_boolean(ok));
    lg_emit(out);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    free(b.p);
    lg_recv_free(r);
    return 0;
}
