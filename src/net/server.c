/* SPDX-License-Identifier: MIT */
/* server.c — starting and stopping the I/O loops; see server.h.
 *
 * Each loop gets its own listening socket on the same address
 * (SO_REUSEPORT), so accepting is spread over the loops by the kernel with
 * no shared accept lock. With port 0 the first socket picks the port and
 * the others bind to the same one.
 *
 * What runs beside the loops (the hub, its log follower) is sequenced by
 * main.c: start, then the follower, then hv_server_announce; on stop,
 * hv_server_shutdown, then the hub's stop (it answers pending publishes
 * while the sockets close), then hv_server_join.
 */
#include "net/server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"

int hv_server_start(hv_server *srv)
{
    int n = srv->cfg.threads;
    if (n <= 0) {
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
            n = 1;
    }
    srv->loops = hv_xcalloc((size_t)n, sizeof(*srv->loops));
    int port = srv->cfg.listen_port;
    for (int i = 0; i < n; i++) {
        int fd = hv_listen_socket(srv->cfg.listen_host, port, &port);
        if (fd < 0) {
            hv_error("cannot listen on %s:%d: %s", srv->cfg.listen_host, port, strerror(errno));
            return -1;
        }
        srv->loops[i] = hv_loop_new(srv, i, fd);
        srv->nloops = i + 1;
        if (!srv->loops[i]->listening)
            return -1;
    }
    srv->port = port;
    for (int i = 0; i < n; i++)
        hv_loop_start(srv->loops[i]);
    return 0;
}

void hv_server_announce(hv_server *srv)
{
    int port = srv->port, n = srv->nloops;
    hv_info("limits: %zu connections, %zu unauthenticated, %zu unauthenticated per address (0 = no limit)",
            srv->cfg.max_connections, srv->cfg.max_unauthenticated, srv->cfg.max_unauthenticated_per_address);
    if (!strcmp(srv->cfg.engine, "redis")) /* the URL may hold a password: the store logged where */
        hv_info("herald %s listening on %s:%d (%d I/O threads, store: redis)", HERALD_VERSION,
                srv->cfg.listen_host, port, n);
    else
        hv_info("herald %s listening on %s:%d (%d I/O threads, data in %s)", HERALD_VERSION,
                srv->cfg.listen_host, port, n, srv->cfg.data_dir);
}

void hv_server_shutdown(hv_server *srv)
{
    for (int i = 0; i < srv->nloops; i++)
        hv_loop_shutdown(srv->loops[i]);
}

void hv_server_join(hv_server *srv)
{
    for (int i = 0; i < srv->nloops; i++)
        hv_loop_join(srv->loops[i]);
    for (int i = 0; i < srv->nloops; i++)
        hv_loop_free(srv->loops[i]);
    free(srv->loops);
    srv->loops = NULL;
    srv->nloops = 0;
}

int64_t hv_server_conns(hv_server *srv, int kind)
{
    int64_t sum = 0;
    for (int i = 0; i < srv->nloops; i++)
        sum += atomic_load_explicit(&srv->loops[i]->stats.conns[kind], memory_order_relaxed);
    return sum;
}

uint64_t hv_server_deliveries(hv_server *srv)
{
    uint64_t sum = 0;
    for (int i = 0; i < srv->nloops; i++)
        sum += atomic_load_explicit(&srv->loops[i]->stats.deliveries, memory_order_relaxed);
    return sum;
}

int64_t hv_server_outbound_bytes(hv_server *srv)
{
    int64_t sum = 0;
    for (int i = 0; i < srv->nloops; i++)
        sum += atomic_load_explicit(&srv->loops[i]->stats.outbound_bytes, memory_order_relaxed);
    return sum;
}
