/* SPDX-License-Identifier: MIT */
/* fuzz_http.c — libFuzzer target for the whole HTTP request path.
 *
 * Each input is fed, as bytes read from a client, to a real connection of
 * a real loop (over a socketpair): http-parser, the limits, gzip bodies,
 * routing, auth, the publish and history handlers (with a real store and
 * hub) and WebSocket upgrades followed by frames all see fuzzed bytes. The
 * first input byte picks where the input is split into two reads.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "fixture.h"
#include "hub/hub.h"
#include "net/conn.h"
#include "net/server.h"
#include "deliver/endpoints.h"
#include "core/limits.h"
#include "rooms/registry.h"

static hv_server srv;
static hv_loop *loop;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    char *args[] = {(*argv)[0], NULL};
    hv_config_load(&srv.cfg, 1, args);
    hv_log_level = -1; /* silent */
    srv.cfg.max_body = 1 << 16;
    srv.cfg.sync_full = 0;
    fuzz_fixture_store(&srv, "http");
    loop = fuzz_fixture_loop(&srv);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
        return 0;
    hv_conn *c = hv_conn_open_fd(loop, sv[0]);
    if (!c) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    size_t split = size ? data[0] % (size + 1) : 0;
    hv_conn_hold(c);
    if (split && !c->closing)
        c->ops->on_data(c, (const char *)data, split);
    if (size > split && !c->closing)
        c->ops->on_data(c, (const char *)data + split, size - split);
    hv_loop_flush(loop);
    for (int i = 0; i < 3; i++)
        uv_run(&loop->uv, UV_RUN_NOWAIT);
    hv_conn_close(c);
    hv_conn_release(c);
    uv_run(&loop->uv, UV_RUN_NOWAIT);
    close(sv[1]);
    return 0;
}
