/* SPDX-License-Identifier: MIT */
/* lg.h — shared declarations of the herald load generator (bench/loadgen).
 *
 * The load generator is one process with two threads:
 *   - the main thread runs an epoll loop over N WebSocket subscribers
 *     (subs.c), records publish->receipt latency into a log-bucket histogram
 *     (stats.c) and counts deliveries per subscriber;
 *   - the publisher thread (publisher.c) posts events with libcurl multi.
 * The publish_ws cells (wspub.c) publish frames over GET
 * /v1/events/websocket instead, one thread per connection.
 * The webhook cells (webhook.c) add a receiver thread (whrecv.c: libuv +
 * http-parser, answers 200 at once, counts and checks signatures) while the
 * main thread only waits; webhook_recovery also runs the server itself.
 * loadgen.c parses the flags, sequences the phases and prints the JSON line.
 */
#ifndef HERALD_BENCH_LG_H
#define HERALD_BENCH_LG_H

#include <jansson.h>
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

/* ---- a cell's result: one JSON line on stdout (stats.c) ---- */
/* Sets key to v rounded to `dec` decimals, or null when v is negative/NaN. */
void lg_put_real(json_t *o, const char *key, double v, int dec);
void lg_put_int(json_t *o, const char *key, long long v);
/* Prints out as one compact line, flushes, and releases it. */
void lg_emit(json_t *out);

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
/* Rooms: subscriber i (and event k, to room k % n) uses room/channel
 * "r" + 6 digits of i; LG_ROOM_LEN characters. */
#define LG_ROOM_LEN 7
#define LG_MAX_NODES 8
typedef struct lg_subs_cfg {
    const char *host; /* dotted IPv4 */
    int port;
    int nports;          /* > 0: subscriber i connects to ports[i % nports]
                          * on host instead (several nodes of one deployment) */
    int ports[LG_MAX_NODES];
    const char *token;
    int nchan;           /* Nchan: GET /sub/<channel>, no auth, every text frame a message */
    int rooms;           /* each subscriber on its own room (see LG_ROOM_LEN) */
    const char *jwt_secret; /* herald rooms: user tokens (HS256) with rooms:[own room] */
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
 * sum over them of the shortfall; *dups gets the surplus over `expect`.
 * With cfg.rooms, `expect` is the total published and subscriber i expects
 * its share: the events k < expect with k % n == i. */
uint64_t lg_subs_missing(const lg_subs *s, uint64_t expect, uint64_t *dups);
/* Closes every socket with an RST (no TIME_WAIT piles up across cells). */
void lg_subs_free(lg_subs *s);

/* ---- Janus bodies (janus_body.c) ---- */
typedef struct lg_janus_tpl lg_janus_tpl;
/* Loads a capture (a JSON array of Janus events) as templates; NULL + err. */
lg_janus_tpl *lg_janus_load(const char *path, char *err, size_t errlen);
void lg_janus_free(lg_janus_tpl *t);
size_t lg_janus_count(const lg_janus_tpl *t);
/* A JSON array of n events (the templates in turn), NUL-terminated; *offs
 * (malloc'd) gets two offsets per event for lg_janus_stamp. */
char *lg_janus_body(const lg_janus_tpl *t, int n, size_t *len, size_t **offs);
/* Gives each event the timestamp ts0_us + (*seq)++ and the body one
 * session id, in place (16 digits each). */
void lg_janus_stamp(char *body, const size_t *offs, int n, uint64_t ts0_us, uint64_t *seq);

/* ---- publisher (publisher.c) ---- */
typedef struct lg_pub_cfg {
    const char *url; /* http://host:port/v1/events (Nchan: http://host:port/pub/) */
    const char *token;
    int nchan;       /* Nchan: POST url + channel, the body is the bare data
                      * object, 201/202 acknowledges (batch must be 1) */
    int rooms;       /* > 0: event k goes to room k % rooms (herald: room_id;
                      * Nchan: the channel); 0: no room (Nchan: channel "bench") */
    long events;     /* total events to publish */
    double rate;     /* events per second, 0 = flat out */
    int batch;       /* events per POST (1 = a single object body) */
    int payload;     /* size of each event's "data" object in bytes */
    int concurrency; /* POSTs in flight at once */
    double max_seconds; /* stop starting new POSTs after this long (0 = no cap) */
    const lg_janus_tpl *janus; /* Janus bodies to url (…/janus/events), Basic auth */
    int gzip;        /* Janus mode: gzip level of each body (0 = plain) */
    int new_conn;    /* a new TCP connection per POST */
    int idem_keys;   /* a fresh Idempotency-Key header on every POST */
    int half;        /* data gets "odd":0|1 by the event's place in its POST (a
                      * filter {"data.odd":1} passes half; batch must be even) */
} lg_pub_cfg;

typedef struct lg_pub {
    lg_pub_cfg cfg;
    atomic_long acked;    /* events acknowledged with 201 */
    atomic_long failed;   /* events in POSTs that did not get 201 */
    atomic_long requests; /* POSTs completed */
    atomic_long dups;     /* Janus mode: events the server called duplicates */
    atomic_int done;
    lg_hist *lat;         /* optional: request latency (µs) */
    uint64_t body_bytes, wire_bytes; /* Janus mode: JSON bytes, bytes sent */
    int64_t first_send_ns, last_ack_ns;
    long first_id, last_id; /* ids the server assigned (-1 = none) */
    char error[256];        /* first failure, for the report */
} lg_pub;

/* Runs the whole publish schedule on the calling thread. */
void lg_pub_run(lg_pub *p);
/* The publisher thread's entry point (arg is an lg_pub *). */
void *lg_pub_thread(void *arg);

/* ---- publisher over the publishing socket (wspub.c) ---- */
typedef struct lg_wspub_cfg {
    const char *cell, *host, *token;
    int port, server_pid;
    long events;        /* frames in all, one event each, split over conns */
    int conns;          /* connections, one thread each */
    int window;         /* unanswered frames per connection */
    int payload;        /* size of each event's "data" object in bytes */
    double max_seconds; /* stop sending new frames after this long (0 = no cap) */
    int idem_keys;      /* --idempotency-keys: each event carries a fresh idempotency_key */
} lg_wspub_cfg;
/* Runs the cell (GET /v1/events/websocket) and prints its JSON line. */
int lg_wspub_run(const lg_wspub_cfg *cfg);

/* ---- webhook receiver (whrecv.c): libuv + http-parser on its own thread ---- */
typedef struct lg_recv_stats {
    atomic_uint_fast64_t requests;    /* requests answered 200 */
    atomic_uint_fast64_t deliveries;  /* distinct (endpoint, event id) pairs */
    atomic_uint_fast64_t dups;        /* a (endpoint, event id) seen again */
    atomic_uint_fast64_t verified;    /* sampled signatures that checked out */
    atomic_uint_fast64_t bad_sig;     /* sampled signatures that did not */
    atomic_uint_fast64_t bad;         /* malformed requests or webhook-ids */
    atomic_uint_fast64_t connections; /* accepted so far */
    atomic_int endpoints;             /* endpoint ids known */
    atomic_int_fast64_t first_ns, last_ns; /* lg_now_ns of the first/last request */
    double cpu_s;                     /* the receiver thread's CPU, after stop */
} lg_recv_stats;

typedef struct lg_recv lg_recv;
/* Listens on host:port (0 = any free port) and answers from its own thread.
 * Every verify_every-th request's signature is checked (0 = only the first
 * of each endpoint). Endpoint ids not added with lg_recv_add_endpoint are
 * taken on first sight with default_secret (NULL: counted as bad). */
lg_recv *lg_recv_start(const char *host, int port, int verify_every, const char *default_secret);
int lg_recv_port(const lg_recv *r);
/* Before any delivery to it can arrive. Returns 0, or -1 when full. */
int lg_recv_add_endpoint(lg_recv *r, const char *id, const char *secret);
const lg_recv_stats *lg_recv_stats_get(const lg_recv *r);
/* Puts the receiver's counters and CPU time into a cell's result (webhook.c). */
void lg_put_recv(json_t *out, const lg_recv_stats *rs);
/* Stops the thread (closes every connection); the counts stay readable. */
void lg_recv_stop(lg_recv *r);
void lg_recv_free(lg_recv *r);
int lg_recv_endpoints(const lg_recv *r);
/* After stop: distinct event ids in [first, last] that endpoint i got. */
uint64_t lg_recv_seen_range(const lg_recv *r, int i, uint64_t first, uint64_t last);

/* ---- HTTP helpers (webhook.c) ---- */
/* A growing response body for libcurl: CURLOPT_WRITEFUNCTION lg_membuf_write,
 * CURLOPT_WRITEDATA a zeroed lg_membuf; p stays NUL-terminated; free(p). */
typedef struct lg_membuf {
    char *p;
    size_t n, cap;
} lg_membuf;
size_t lg_membuf_write(char *d, size_t s, size_t nm, void *u);
/* One request (libcurl easy, Bearer token when not NULL); returns the
 * status (0 on a transport error); the body (malloc'd, NUL-terminated, may
 * be NULL) in *out when out is not NULL. */
long lg_http_req(const char *method, const char *url, const char *token, const char *body, char **out);
/* A sample of GET http://host:port/metrics ("name value"), or -1. */
double lg_metric(const char *host, int port, const char *token, const char *name);

/* ---- sink throughput cell (sinkbench.c) ---- */
typedef struct lg_sink_cfg {
    const char *cell, *host, *token;
    int port, server_pid;
    const char *sink;       /* the sink's name in herald's config */
    const char *module;     /* for the report */
    long events;
    int batch, payload, concurrency;
    int recv_port;          /* > 0: run the HTTP receiver there (http module) */
    const char *verify_cmd; /* a shell command printing how many events the
                             * sink's target holds, run after the cell */
    double drain_timeout;
} lg_sink_cfg;
int lg_sink_throughput(const lg_sink_cfg *c);

/* ---- webhook cells (webhook.c) ---- */
typedef struct lg_wh_cfg {
    const char *cell, *host, *token;
    int port;            /* the server's */
    int server_pid;      /* throughput: the running server, for its CPU */
    int endpoints;       /* throughput: endpoints, all to the one receiver */
    long events;
    int batch, payload, concurrency;
    int recv_port;       /* 0 = any (throughput); recovery needs a fixed one */
    int verify_every;    /* check the signature of every Nth request */
    int max_in_flight;   /* recovery: --webhook-max-in-flight of the server */
    double drain_timeout;
    const char *dead;    /* recovery: "hang" (default) or "closed" */
    char **server_argv;  /* recovery: the server command (after "--") */
    int server_argc;
    const char *server_log;
    const char *filter;  /* throughput: each endpoint's payload filter (JSON), or NULL */
    const char *jbatch;  /* throughput: each endpoint's "batch" (JSON, issue 18 item 6), or NULL */
    const char *rate_limit; /* throughput: each endpoint's rate_limit (JSON), or NULL (issue 18 item 2) */
    int half;            /* throughput: publish with lg_pub_cfg.half and expect half the events */
} lg_wh_cfg;
int lg_wh_throughput(const lg_wh_cfg *c);
int lg_wh_recovery(const lg_wh_cfg *c);
int lg_wh_selftest(const lg_wh_cfg *c);
/* "whsec_" + base64 of 32 random bytes, NUL-terminated (51 bytes). */
void lg_wh_make_secret(char out[64]);

#endif
