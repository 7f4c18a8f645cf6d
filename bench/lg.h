/* lg.h — shared declarations of the herald load generator (bench/loadgen).
 *
 * The load generator is one process with two threads:
 *   - the main thread runs an epoll loop over N WebSocket subscribers
 *     (subs.c), records publish->receipt latency into a log-bucket histogram
 *     (stats.c) and counts deliveries per subscriber;
 *   - the publisher thread (publisher.c) posts events with libcurl multi.
 * loadgen.c parses the flags, sequences the phases and prints the JSON line.
 */
#ifndef HERALD_BENCH_LG_H
#define HERALD_BENCH_LG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- time and /proc helpers (stats.c) ---- */
int64_t lg_now_ns(void);      /* CLOCK_MONOTONIC */
int64_t lg_realtime_ns(void); /* CLOCK_REALTIME, what events carry in "t" */
/* utime+stime of a process in seconds, or -1 when it cannot be read. */
double lg_proc_cpu_s(int pid);
/* VmRSS of a process in KiB, or -1. */
long lg_proc_rss_kib(int pid);
/* This process's own CPU time (user+system) in seconds. */
double lg_self_cpu_s(void);

/* ---- HDR-style histogram: 64 linear sub-buckets per power of two,
 * so every recorded value is kept within ~1.6 %. Values are microseconds. */
#define LG_HIST_SUB_BITS 6
#define LG_HIST_BUCKETS (128 + 57 * 64)
typedef struct lg_hist {
    uint64_t counts[LG_HIST_BUCKETS];
    uint64_t total;
    uint64_t max;
} lg_hist;
void lg_hist_record(lg_hist *h, uint64_t v);
/* The value at quantile q in [0,1] (upper edge of its bucket, capped at max). */
uint64_t lg_hist_quantile(const lg_hist *h, double q);

/* ---- subscribers (subs.c) ---- */
typedef struct lg_subs_cfg {
    const char *host; /* dotted IPv4 */
    int port;
    const char *token;
    int n;               /* subscribers */
    double connect_rate; /* new connections per second */
    int max_pending;     /* handshakes in flight at once */
    double connect_timeout_s;
} lg_subs_cfg;

typedef struct lg_subs_stats {
    int subscribed;      /* reached subscribe_response */
    int failed;          /* connect/handshake/auth failures */
    int closed;          /* closed by the server after subscribing */
    uint64_t deliveries; /* bench events received, all subscribers */
    uint64_t reordered;  /* an id not above the previous one on that socket */
    uint64_t bad;        /* event frames without a parsable "t" */
    int64_t last_delivery_ns;
    char error[256]; /* first failure, for the report */
} lg_subs_stats;

typedef struct lg_subs lg_subs;
lg_subs *lg_subs_new(const lg_subs_cfg *cfg, lg_hist *hist);
/* Connects and subscribes all N; returns when every one is subscribed or
 * failed, or the connect timeout passed. */
void lg_subs_connect_all(lg_subs *s);
/* Runs the loop for at most timeout_ms. */
void lg_subs_run_once(lg_subs *s, int timeout_ms);
const lg_subs_stats *lg_subs_stats_get(const lg_subs *s);
/* Subscribers (still subscribed or not) that got fewer than `expect` events:
 * sum over them of the shortfall; *dups gets the surplus over `expect`. */
uint64_t lg_subs_missing(const lg_subs *s, uint64_t expect, uint64_t *dups);
/* Closes every socket with an RST (no TIME_WAIT piles up across cells). */
void lg_subs_free(lg_subs *s);

/* ---- publisher (publisher.c) ---- */
typedef struct lg_pub_cfg {
    const char *url; /* http://host:port/v1/events */
    const char *token;
    long events;     /* total events to publish */
    double rate;     /* events per second, 0 = flat out */
    int batch;       /* events per POST (1 = a single object body) */
    int payload;     /* size of each event's "data" object in bytes */
    int concurrency; /* POSTs in flight at once */
    double max_seconds; /* stop starting new POSTs after this long (0 = no cap) */
} lg_pub_cfg;

typedef struct lg_pub {
    lg_pub_cfg cfg;
    atomic_long acked;    /* events acknowledged with 201 */
    atomic_long failed;   /* events in POSTs that did not get 201 */
    atomic_long requests; /* POSTs completed */
    atomic_int done;
    int64_t first_send_ns, last_ack_ns;
    long first_id, last_id; /* ids the server assigned (-1 = none) */
    char error[256];        /* first failure, for the report */
} lg_pub;

/* Runs the whole publish schedule on the calling thread. */
void lg_pub_run(lg_pub *p);
/* The publisher thread's entry point (arg is an lg_pub *). */
void *lg_pub_thread(void *arg);

#endif
