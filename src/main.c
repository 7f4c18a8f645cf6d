/* SPDX-License-Identifier: MIT */
/* main.c — herald's entry point.
 *
 * Reads the settings, opens the store, starts the hub's commit thread and
 * the I/O loops, then runs the control loop on the main thread: SIGINT and
 * SIGTERM start a graceful stop (no new connections, pending commits
 * finished and answered, sockets closed with 1001, exit 0), and a timer
 * sends the MetricsReport to metrics subscribers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "codec/fishjam_pb.h"
#include "codec/ws_frame.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/endpoints.h"
#include "deliver/fanout.h"
#include "deliver/sinks.h"
#include "deliver/webhooks.h"
#include "hub/heartbeat.h"
#include "hub/hub.h"
#include "ingest/janus.h"
#include "ingest/janus_dedup.h"
#include "net/server.h"
#include "rooms/registry.h"
#include "wiring.h"

typedef struct control {
    hv_server *srv;
    uv_signal_t sigint, sigterm;
    uv_timer_t metrics;
    uint64_t last_events, last_deliveries;
    int64_t last_ms;
} control;

static char *metrics_json(control *ctl)
{
    hv_server *srv = ctl->srv;
    uint64_t events = atomic_load(&srv->metrics.events_appended);
    uint64_t deliveries = hv_server_deliveries(srv);
    int64_t now = hv_now_ms();
    double secs = (double)(now - ctl->last_ms) / 1000.0;
    if (secs <= 0)
        secs = 1;
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"connections\":{\"http\":%lld,\"ws_server\":%lld,\"ws_peer\":%lld,\"sse\":%lld},"
             "\"events_per_s\":%.1f,\"deliveries_per_s\":%.1f,\"events_appended\":%llu,"
             "\"deliveries\":%llu,\"outbound_queue_bytes\":%lld,\"last_event_id\":%llu,\"uptime_s\":%lld}",
             (long long)hv_server_conns(srv, HV_CONN_KIND_HTTP),
             (long long)hv_server_conns(srv, HV_CONN_KIND_WS_SERVER),
             (long long)hv_server_conns(srv, HV_CONN_KIND_WS_PEER),
             (long long)hv_server_conns(srv, HV_CONN_KIND_SSE),
             (double)(events - ctl->last_events) / secs, (double)(deliveries - ctl->last_deliveries) / secs,
             (unsigned long long)events, (unsigned long long)deliveries,
             (long long)hv_server_outbound_bytes(srv), (unsigned long long)hv_store_last_id(srv->store),
             (long long)((now - srv->started_ms) / 1000));
    ctl->last_events = events;
    ctl->last_deliveries = deliveries;
    ctl->last_ms = now;
    return hv_xstrdup(buf);
}

static void on_metrics_timer(uv_timer_t *t)
{
    control *ctl = t->data;
    char *figures = metrics_json(ctl);
    uint8_t *buf;
    size_t len;
    hv_fishjam_encode_metrics_report(figures, &buf, &len);
    hv_frame pb = hv_ws_frame_new(HV_WS_BINARY, buf, len);
    free(buf);
    char ts[32];
    hv_time_iso8601(hv_now_ms(), ts);
    size_t cap = strlen(figures) + 96;
    char *env = hv_xmalloc(cap);
    int n = snprintf(env, cap, "{\"type\":\"metrics.report\",\"timestamp\":\"%s\",\"data\":%s}", ts, figures);
    hv_frame json = hv_ws_frame_new(HV_WS_TEXT, env, (size_t)n);
    free(env);
    free(figures);
    hv_fanout_metrics(ctl->srv, pb, json);
}

static void on_signal(uv_signal_t *s, int signum)
{
    control *ctl = s->data;
    hv_info("received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    uv_signal_stop(&ctl->sigint);
    uv_signal_stop(&ctl->sigterm);
    uv_timer_stop(&ctl->metrics);
    uv_close((uv_handle_t *)&ctl->sigint, NULL);
    uv_close((uv_handle_t *)&ctl->sigterm, NULL);
    uv_close((uv_handle_t *)&ctl->metrics, NULL);
}

static int open_store(hv_server *srv)
{
    char err[512];
    const hv_config *cfg = &srv->cfg;
    hv_store_options opt = {.dir = cfg->data_dir, .sync_full = cfg->sync_full,
                            .engine = cfg->engine, .redis_url = cfg->redis_url,
                            .redis_prefix = cfg->redis_prefix, .node_id = cfg->node_id,
                            .node_timeout_ms = (int64_t)(cfg->node_timeout_s * 1000),
                            .busy_timeout_ms = (int)(cfg->sqlite_busy_timeout_s * 1000)};
    srv->store = hv_store_open(&opt, err, sizeof(err));
    if (!srv->store) {
        hv_error("cannot open the %s store in %s: %s", cfg->engine,
                 strcmp(cfg->engine, "redis") ? cfg->data_dir : "Redis", err);
        return -1;
    }
    return 0;
}

/* Takes SIGINT and SIGTERM from the start, before anything is opened: a
 * signal that comes while herald starts (a process manager may stop it
 * as soon as it logged that it listens) is handled once the control loop
 * runs, as a graceful stop, instead of killing the process half-started. */
static void control_signals_start(control *ctl, hv_server *srv)
{
    *ctl = (control){.srv = srv, .last_ms = hv_now_ms()};
    uv_loop_t *loop = uv_default_loop();
    uv_signal_init(loop, &ctl->sigint);
    uv_signal_init(loop, &ctl->sigterm);
    ctl->sigint.data = ctl->sigterm.data = ctl;
    uv_signal_start(&ctl->sigint, on_signal, SIGINT);
    uv_signal_start(&ctl->sigterm, on_signal, SIGTERM);
}

/* Runs until a signal stopped it (herald started). */
static void run_control_loop(control *ctl)
{
    uv_loop_t *loop = uv_default_loop();
    uv_timer_init(loop, &ctl->metrics);
    ctl->metrics.data = ctl;
    uint64_t ms = (uint64_t)(ctl->srv->cfg.metrics_interval_s * 1000);
    uv_timer_start(&ctl->metrics, on_metrics_timer, ms, ms);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
}

/* Releases the signal handlers when herald did not start. */
static void control_discard(control *ctl)
{
    uv_close((uv_handle_t *)&ctl->sigint, NULL);
    uv_close((uv_handle_t *)&ctl->sigterm, NULL);
    uv_run(uv_default_loop(), UV_RUN_DEFAULT);
    uv_loop_close(uv_default_loop());
}

/* ---- net: the hooks it is handed, and its start and stop beside the hub ---- */

/* Hands net what it calls upward, starts the I/O loops, then the hub's
 * log follower (which needs the loops), then says herald listens; 0 or -1. */
static int net_start(hv_server *srv)
{
    hv_wiring_net(srv);
    if (hv_server_start(srv) != 0)
        return -1;
    hv_hub_follow(srv->hub);
    hv_server_announce(srv);
    return 0;
}

/* Stops accepting and closes sockets with 1001; the hub commits and
 * answers pending publishes while they close; then the loops end. */
static void net_stop(hv_server *srv)
{
    hv_server_shutdown(srv);
    if (srv->hub)
        hv_hub_stop(srv->hub);
    hv_server_join(srv);
}

int main(int argc, char **argv)
{
    static hv_server srv;
    int r = hv_config_load(&srv.cfg, argc, argv);
    if (r != 0)
        return r > 0 ? 0 : 2;
    if (srv.cfg.janus_path[0] != '/' || hv_janus_room_from_parse(srv.cfg.janus_room_from) < 0) {
        fprintf(stderr, "herald: --janus-path must start with '/' and --janus-room-from must be "
                        "opaque_id, session or none\n");
        return 2;
    }
    if (!strcmp(srv.cfg.fishjam_compat, "0.25")) /* before any thread encodes */
        hv_fishjam_set_newest_member(HV_FJ_MEMBER_SDK_0_25);
    signal(SIGPIPE, SIG_IGN);
    static control ctl;
    control_signals_start(&ctl, &srv);
    srv.started_ms = hv_now_ms();
    hv_limits_init(&srv.limits, (long)srv.cfg.max_connections, (long)srv.cfg.max_connections_per_user);
    hv_limits_set_unauth(&srv.limits, (long)srv.cfg.max_unauthenticated,
                         (long)srv.cfg.max_unauthenticated_per_address);
    hv_authfail_init(&srv.authfail, (long)srv.cfg.auth_fail_limit, srv.cfg.auth_fail_window_s,
                     srv.cfg.auth_fail_addresses);
    hv_limits_set_resumes(&srv.limits, (long)srv.cfg.max_resumes_per_address);
    if (open_store(&srv) != 0) {
        control_discard(&ctl);
        return 1;
    }
    /* Before the hub starts: these load their state with the writer. */
    srv.rooms = hv_rooms_new(&srv);
    srv.endpoints = hv_endpoints_new(&srv);
    srv.sinks = hv_sinks_new(&srv);
    srv.janus_dedup = hv_janus_dedup_new(srv.cfg.janus_dedup);
    hv_hub_hooks hooks;
    hv_wiring_hub(&srv, &hooks);
    srv.hub = hv_hub_start(&srv, &hooks);
    /* Before any socket: the sessions this node held before a restart. */
    if (srv.hub)
        hv_rooms_restarted(srv.rooms);
    /* The engine may disable an endpoint (through the hub) at once. */
    srv.webhooks = srv.hub ? hv_webhooks_start(&srv) : NULL;
    hv_wiring_webhooks_started(srv.webhooks);
    int ok = srv.hub && srv.webhooks && srv.sinks && net_start(&srv) == 0;
    hv_heartbeat *heartbeat = NULL;
    if (ok) {
        hv_sinks_start(srv.sinks);
        heartbeat = hv_heartbeat_start(&srv, &hooks);
        run_control_loop(&ctl);
    } else {
        control_discard(&ctl);
    }
    int shared = heartbeat != NULL;
    hv_heartbeat_stop(heartbeat); /* it may kick the engine: stopped first */
    /* Sinks first: their last positions are committed by the hub. */
    hv_sinks_stop(srv.sinks);
    /* Loops and hub first (the hub hands work to the engine), then the
     * engine, then the hub's memory and the state they all read. */
    net_stop(&srv);
    hv_webhooks_stop(srv.webhooks); /* it may still call the (stopped) hub */
    if (shared) /* its attempts recorded, its unfinished deliveries go to the others */
        hv_store_node_leave(srv.store);
    hv_hub_free(srv.hub);
    hv_endpoints_free(srv.endpoints);
    hv_sinks_free(srv.sinks);
    hv_rooms_free(srv.rooms);
    hv_store_close(srv.store);
    hv_limits_free(&srv.limits);
    hv_authfail_free(&srv.authfail);
    hv_janus_dedup_free(srv.janus_dedup);
    if (ok)
        hv_info("stopped");
    return ok ? 0 : 1;
}
