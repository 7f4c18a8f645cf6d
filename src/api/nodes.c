/* SPDX-License-Identifier: MIT */
/* nodes.c — GET /v1/nodes (server token): the nodes sharing the store,
 * alive or not, and who owns what (the Overview's Nodes panel, `herald-cli
 * nodes`).
 *
 * With SQLite the node is alone: the answer describes it from memory, no
 * I/O. With Redis it reports what Redis records (hv_store_nodes: the
 * heartbeats of P nodes, the nodes taken over in P reaped, each node's
 * sessions and webhook rows, the holders of the leases this node knows:
 * "retention" and its own sinks'), read in one script on libuv's thread
 * pool, never on the I/O loop, like every other API read of the store.
 * Nothing is inferred: a lease this node does not know the name of (a
 * sink configured on another node only) is not looked up.
 */
#include "api/nodes.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/router.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/xalloc.h"
#include "deliver/sinks.h"
#include "net/server.h"
#include "store/shared.h"

/* ---- the answer (pure) ---------------------------------------------------- */

/* A name as a JSON string: node names come from Redis (other nodes'
 * --node-id), so one that is not UTF-8 is shown as such rather than
 * breaking the answer. */
static json_t *name_json(const char *s)
{
    json_t *j = json_string(s);
    return j ? j : json_string("(not UTF-8)");
}

static json_t *time_or_null(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char iso[32];
    hv_time_iso8601(ms, iso);
    return json_string(iso);
}

/* "alive", "silent" (no beat for a timeout, not taken over yet), "left"
 * (stopped cleanly), "taken_over". */
static const char *state_of(const hv_node_info *n, const hv_nodes_view *v)
{
    if (n->reaped_ms > 0 || n->beat_ms < 0)
        return "taken_over";
    if (n->beat_ms == 0)
        return "left";
    return v->now_ms - n->beat_ms <= v->timeout_ms ? "alive" : "silent";
}

static json_t *node_json(const hv_node_info *n, const hv_nodes_view *v, int alone)
{
    json_t *owns = json_array();
    if (alone || n->webhook_rows > 0)
        json_array_append_new(owns, json_string("webhooks"));
    for (size_t i = 0; i < v->nleases; i++)
        if (alone || !strcmp(v->leases[i].holder, n->node))
            json_array_append_new(owns, json_string(v->leases[i].name));
    const char *state = alone ? "alive" : state_of(n, v);
    json_t *o = json_pack("{s:o, s:b, s:s, s:o, s:o, s:I, s:o}", "id", name_json(n->node), "alive",
                          !strcmp(state, "alive"), "state", state, "last_beat",
                          alone ? json_null() : time_or_null(n->beat_ms), "age_ms",
                          !alone && n->beat_ms > 0 ? json_integer(v->now_ms - n->beat_ms) : json_null(),
                          "sessions", (json_int_t)n->sessions, "owns", owns);
    if (!alone) {
        json_object_set_new(o, "webhook_rows", json_integer(n->webhook_rows));
        json_object_set_new(o, "taken_over_at", time_or_null(n->reaped_ms));
    }
    return o;
}

char *hv_api_nodes_json(const char *store, const char *self, const hv_nodes_view *v, int alone)
{
    json_t *nodes = json_array(), *leases = json_object();
    for (size_t i = 0; i < v->n; i++)
        json_array_append_new(nodes, node_json(&v->nodes[i], v, alone));
    for (size_t i = 0; i < v->nleases; i++)
        json_object_set_new(leases, v->leases[i].name,
                            alone ? name_json(self)
                            : v->leases[i].holder[0] ? name_json(v->leases[i].holder) : json_null());
    json_t *root = json_pack("{s:s, s:o, s:o, s:b, s:I, s:o, s:o}", "store", store, "self", name_json(self),
                             "node_timeout_ms", alone ? json_null() : json_integer(v->timeout_ms),
                             "truncated", v->truncated,
                             "max_nodes", (json_int_t)HV_NODES_LIST_MAX, "leases", leases, "nodes", nodes);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* ---- the request ---------------------------------------------------------- */

/* The leases this node knows: "retention" and "sink:<name>" for each of
 * its sinks (their names from the sinks' status). */
static char **lease_names(hv_server *srv, size_t *n)
{
    char *text = hv_sinks_status_json(srv->sinks);
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    json_t *arr = json_object_get(root, "sinks");
    char **out = hv_xcalloc(1 + json_array_size(arr), sizeof(*out));
    out[0] = hv_xstrdup("retention");
    *n = 1;
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        const char *name = json_string_value(json_object_get(s, "name"));
        if (!name)
            continue;
        size_t len = strlen(name) + 6;
        out[*n] = hv_xmalloc(len);
        snprintf(out[(*n)++], len, "sink:%s", name);
    }
    json_decref(root);
    return out;
}

typedef struct nodes_job {
    uv_work_t work;
    hv_conn *conn;
    hv_server *srv;
    char **leases;
    size_t nleases;
    int rc;
    hv_nodes_view view;
} nodes_job;

static void free_job(nodes_job *j)
{
    for (size_t i = 0; i < j->nleases; i++)
        free(j->leases[i]);
    free(j->leases);
    hv_nodes_view_free(&j->view);
    free(j);
}

static void store_down(hv_conn *c, hv_server *srv)
{
    char why[300];
    if (hv_store_available(srv->store, why, sizeof(why)))
        snprintf(why, sizeof(why), "it did not answer");
    hv_http_error(c, 503, "event store unavailable: %s; retry later", why);
}

static void nodes_work(uv_work_t *w)
{
    nodes_job *j = w->data;
    j->rc = hv_store_nodes(j->srv->store, (const char *const *)j->leases, j->nleases,
                           HV_NODES_LIST_MAX, &j->view);
}

static void nodes_after(uv_work_t *w, int status)
{
    nodes_job *j = w->data;
    hv_conn *c = j->conn;
    if (status != 0 || j->rc != 0) {
        store_down(c, j->srv);
    } else {
        char *body = hv_api_nodes_json("redis", j->srv->cfg.node_id, &j->view, 0);
        hv_http_respond(c, 200, "application/json", NULL, body, strlen(body));
        free(body);
    }
    free_job(j);
    hv_conn_release(c);
}

/* SQLite: this node alone, from memory. */
static void respond_alone(hv_conn *c, hv_server *srv, char **leases, size_t nleases)
{
    hv_node_info self = {.sessions = (long)hv_server_conns(srv, HV_CONN_KIND_WS_PEER)};
    snprintf(self.node, sizeof(self.node), "%s", srv->cfg.node_id);
    hv_node_lease *ls = hv_xcalloc(nleases, sizeof(*ls));
    for (size_t i = 0; i < nleases; i++)
        snprintf(ls[i].name, sizeof(ls[i].name), "%s", leases[i]);
    hv_nodes_view v = {.now_ms = hv_now_ms(), .nodes = &self, .n = 1, .leases = ls, .nleases = nleases};
    char *body = hv_api_nodes_json("sqlite", srv->cfg.node_id, &v, 1);
    hv_http_respond(c, 200, "application/json", NULL, body, strlen(body));
    free(body);
    free(ls);
}

void hv_api_nodes(hv_conn *c, hv_http_req *r)
{
    if (hv_auth_require_server(c, r) != 0)
        return;
    hv_server *srv = c->loop->srv;
    nodes_job *j = hv_xcalloc(1, sizeof(*j));
    j->leases = lease_names(srv, &j->nleases);
    if (!hv_store_shared(srv->store)) {
        respond_alone(c, srv, j->leases, j->nleases);
        free_job(j);
        return;
    }
    if (!hv_store_available(srv->store, NULL, 0)) { /* at once, not after a timeout */
        store_down(c, srv);
        free_job(j);
        return;
    }
    j->conn = c;
    j->srv = srv;
    j->work.data = j;
    hv_conn_hold(c);
    if (uv_queue_work(&c->loop->uv, &j->work, nodes_work, nodes_after) != 0) {
        hv_http_error(c, 503, "server busy");
        hv_conn_release(c);
        free_job(j);
    }
}
