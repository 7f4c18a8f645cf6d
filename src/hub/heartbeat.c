/* heartbeat.c — this node's heartbeat (heartbeat.h).
 *
 * One thread calls hv_store_node_beat every interval (a quarter of the
 * node timeout, at most a second), so a node is declared dead only after
 * missing several beats in a row. The beat itself decides, inside Redis,
 * which nodes are dead and gives each to exactly one survivor
 * (store/redis_nodes.c); here the survivor acts on what it was given: it
 * reloads its webhook deliveries, which now include the dead node's,
 * ends the dead node's peers (peer.crashed, rooms/nodes.c) and logs the
 * takeover. Why a thread of its own and not the follower's: a
 * beat must not wait behind a long fan-out or a blocking log read, or a
 * busy node would look dead to the others.
 */
#include "hub/heartbeat.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/log.h"
#include "deliver/webhooks.h"
#include "rooms/rooms.h"

struct hv_heartbeat {
    hv_server *srv;
    uv_thread_t thread;
    atomic_int stop;
    int interval_ms;
};

static void took_over(hv_heartbeat *hb, const hv_node_death *dead, size_t n)
{
    long rows = 0;
    for (size_t i = 0; i < n; i++) {
        hv_warn("nodes: node %s stopped beating; this node took over its %ld unfinished "
                "webhook deliveries", dead[i].node, dead[i].rows);
        rows += dead[i].rows;
    }
    if (rows)
        hv_webhooks_kick(hb->srv->webhooks);
    /* Their peers' sockets are gone with them: peer.crashed, from here
     * only (this beat alone took these nodes over). */
    const char **names = n ? calloc(n, sizeof(*names)) : NULL;
    for (size_t i = 0; names && i < n; i++)
        names[i] = dead[i].node;
    if (names)
        hv_rooms_nodes_died(hb->srv->rooms, names, n);
    free(names);
}

static void run(void *arg)
{
    hv_heartbeat *hb = arg;
    int down = 0;
    while (!atomic_load(&hb->stop)) {
        hv_node_death *dead = NULL;
        size_t n = 0;
        if (hv_store_node_beat(hb->srv->store, &dead, &n) != 0) {
            if (!down)
                hv_warn("nodes: heartbeat failed; the store is unreachable");
            down = 1;
        } else {
            if (down)
                hv_info("nodes: heartbeat works again");
            down = 0;
            took_over(hb, dead, n);
        }
        free(dead);
        for (int slept = 0; slept < hb->interval_ms && !atomic_load(&hb->stop); slept += 50)
            uv_sleep(50);
    }
}

hv_heartbeat *hv_heartbeat_start(hv_server *srv)
{
    if (strcmp(srv->cfg.engine, "redis") != 0)
        return NULL;
    hv_heartbeat *hb = calloc(1, sizeof(*hb));
    if (!hb)
        abort();
    hb->srv = srv;
    double ms = srv->cfg.node_timeout_s * 1000 / 4;
    hb->interval_ms = ms > 1000 ? 1000 : (int)ms;
    atomic_init(&hb->stop, 0);
    if (uv_thread_create(&hb->thread, run, hb) != 0) {
        hv_error("nodes: cannot start the heartbeat thread");
        free(hb);
        return NULL;
    }
    hv_info("nodes: this node is %s (heartbeat every %d ms, timeout %.1f s)", srv->cfg.node_id,
            hb->interval_ms, srv->cfg.node_timeout_s);
    return hb;
}

void hv_heartbeat_stop(hv_heartbeat *hb)
{
    if (!hb)
        return;
    atomic_store(&hb->stop, 1);
    uv_thread_join(&hb->thread);
    free(hb);
}
