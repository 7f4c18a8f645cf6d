/* SPDX-License-Identifier: MIT */
/* loop.h — I/O loops: one libuv loop per I/O thread.
 *
 * Each loop owns a listening socket (SO_REUSEPORT, so the kernel spreads new
 * connections across loops), the connections it accepted (for life), and
 * a slot for the layer that delivers to them (its own subscriber lists,
 * which net never looks into). Other threads talk to a loop only by posting a
 * message to its inbox (hv_loop_post); the hub posts each committed batch
 * of events to every loop, and each loop fans it out to its own
 * subscribers, with no lock on the per-subscriber path.
 */
#ifndef HV_LOOP_H
#define HV_LOOP_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "core/list.h"
#include "core/metrics.h"

typedef struct hv_server hv_server;
typedef struct hv_conn hv_conn;
typedef struct hv_loop hv_loop;
/* Defined by the layer that delivers to the loop's sockets (deliver/). */
typedef struct hv_loop_slot hv_loop_slot;

typedef void (*hv_loop_fn)(hv_loop *loop, void *arg);

typedef struct hv_loop_msg {
    struct hv_loop_msg *next;
    hv_loop_fn fn;
    void *arg;
} hv_loop_msg;

/* Figures kept by the loop's own thread, read by the metrics code. */
typedef struct hv_loop_stats {
    atomic_int_fast64_t conns[HV_CONN_KINDS];
    atomic_uint_fast64_t deliveries;
    atomic_int_fast64_t outbound_bytes;
} hv_loop_stats;

struct hv_loop {
    uv_loop_t uv;
    int index;
    hv_server *srv;
    uv_thread_t thread;
    uv_tcp_t listener;
    uv_async_t wake;
    uv_timer_t tick;
    uv_mutex_t inbox_mu;
    hv_loop_msg *inbox_head, *inbox_tail;
    hv_list conns;     /* every connection of this loop */
    hv_conn *dirty, *dirty_tail; /* connections with output to flush, oldest first */
    uv_idle_t flush_more; /* active while a flush left connections for the next turn */
    unsigned waves;       /* inbox batches that added output while a flush was under way */
    char *readbuf;     /* one read buffer shared by all connections */
    size_t readbuf_size;
    int stopping;
    int64_t shutdown_deadline;
    int listening;
    int refusing;      /* refused connections lingering to deliver their 503 (conn.c) */
    hv_loop_stats stats;
    /* The delivering layer's state for this loop (its subscriber lists and
     * channels), made at hv_loop_new and freed at hv_loop_free through
     * srv->net.slot_new / slot_free; net never dereferences it. */
    hv_loop_slot *slot;
};

/* Creates a loop that will accept on the already bound socket listen_fd. */
hv_loop *hv_loop_new(hv_server *srv, int index, int listen_fd);
int hv_loop_start(hv_loop *l);   /* runs it on its own thread */
void hv_loop_join(hv_loop *l);   /* waits for the thread to end */
void hv_loop_free(hv_loop *l);

/* Runs fn(loop, arg) on the loop's thread, soon. Callable from any thread. */
void hv_loop_post(hv_loop *l, hv_loop_fn fn, void *arg);

/* Asks the loop to stop accepting and close its connections (1001); its
 * thread ends once they are gone. Callable from any thread. */
void hv_loop_shutdown(hv_loop *l);

/* Flushes connections with queued output (one writev each), oldest first,
 * at most HV_FLUSH_SLICE of them per call: the rest are flushed on the next
 * turns of the loop, after it has read what arrived meanwhile. So a loop
 * writing one event to thousands of sockets still reads the next publish,
 * and events committed while it writes join the queues of the sockets it
 * has not reached yet: they share one write per socket. */
#define HV_FLUSH_SLICE 256
/* ... but only while fewer than HV_FLUSH_WAVES batches of new output have
 * joined the flush under way: past that the loop finishes the flush before
 * it reads again. Each socket's write then carries at most a few events,
 * so a pass over thousands of sockets stays short, and a publisher faster
 * than the fan-out is held back by TCP instead of filling every queue
 * (fanout_one: p99 1.4 s unbounded, 0.5 s with 4, at 70 % of the
 * unbounded deliveries per CPU-second). */
#define HV_FLUSH_WAVES 4
void hv_loop_flush(hv_loop *l);

/* Creates a listening socket bound to host:port with SO_REUSEPORT.
 * Returns the fd, or -1 with errno set. *bound_port gets the real port. */
int hv_listen_socket(const char *host, int port, int *bound_port);

#endif
