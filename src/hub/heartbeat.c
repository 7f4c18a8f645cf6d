/* SPDX-License-Identifier: MIT */
/* heartbeat.c — this node's heartbeat (heartbeat.h).
 *
 * The store beats for this node every interval (a quarter of the node
 * timeout, at most a second; hv_store_node_watch), so a node is declared
 * dead only after missing several beats in a row. The redis engine sends
 * the beats from its probe loop (store/redis_health.c, hiredis's async API
 * on libuv), not from the follower or the hub: a beat must not wait behind
 * a long fan-out, a blocking log read or a commit, or a busy node would
 * look dead to the others. The beat itself decides, inside Redis, which
 * nodes are dead and gives each to exactly one survivor
 * (store/redis_nodes.c); here, called back on the store's loop, the
 * survivor acts on what it was given: it reloads its webhook deliveries,
 * which now include the dead node's (the kick hook), ends the dead node's
 * peers (the nodes_died hook: peer.crashed, rooms/nodes.c, one Redis
 * read, then commits handed to the hub) and logs the takeover.
 */
#include "hub/heartbeat.h"

#include <stdlib.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/shared.h"

struct hv_heartbeat {
    hv_server *srv;
    void (*kick)(void *ud);
    void *kick_ud;
    void (*nodes_died)(void *ud, const char *const *nodes, size_t n);
    void *nodes_died_ud;
    int interval_ms;
};

static void took_over(void *arg, const hv_node_death *dead, size_t n)
{
    hv_heartbeat *hb = arg;
    long rows = 0;
    for (size_t i = 0; i < n; i++) {
        if (dead[i].rows < 0) { /* its survivor died before ending its peers */
            hv_warn("nodes: node %s, taken over earlier, still has peers connected: ending them",
                    dead[i].node);
            continue;
        }
        hv_warn("nodes: node %s stopped beating; this node took over its %ld unfinished "
                "webhook deliveries", dead[i].node, dead[i].rows);
        rows += dead[i].rows;
    }
    if (rows && hb->kick)
        hb->kick(hb->kick_ud);
    /* Their peers' sockets are gone with them: peer.crashed, from here
     * only (this beat alone took these nodes over). */
    const char **names = n && hb->nodes_died ? hv_xcalloc(n, sizeof(*names)) : NULL;
    for (size_t i = 0; names && i < n; i++)
        names[i] = dead[i].node;
    if (names)
        hb->nodes_died(hb->nodes_died_ud, names, n);
    free(names);
}

hv_heartbeat *hv_heartbeat_start(hv_server *srv, const hv_hub_hooks *hooks)
{
    if (!hv_store_shared(srv->store))
        return NULL;
    hv_heartbeat *hb = hv_xcalloc(1, sizeof(*hb));
    hb->srv = srv;
    if (hooks) {
        hb->kick = hooks->kick, hb->kick_ud = hooks->kick_ud;
        hb->nodes_died = hooks->nodes_died, hb->nodes_died_ud = hooks->nodes_died_ud;
    }
    double ms = srv->cfg.node_timeout_s * 1000 / 4;
    hb->interval_ms = ms > 1000 ? 1000 : (int)ms;
    if (!hv_store_node_watch(srv->store, took_over, hb, hb->interval_ms)) {
        hv_error("nodes: the store cannot beat for this node");
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
    hv_store_node_watch(hb->srv->store, NULL, NULL, 0); /* waits for a callback under way */
    free(hb);
}
