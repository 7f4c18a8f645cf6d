/* SPDX-License-Identifier: MIT */
/* fixture.c — the server the server-side fuzz targets run against; see
 * fixture.h. One copy, so every target builds herald the same way. */
#include "fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "deliver/endpoints.h"
#include "hub/hub.h"
#include "rooms/registry.h"
#include "wiring.h"

static char store_dir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* libFuzzer ends with exit(): the store's folder goes with the run. */
static void remove_store_dir(void)
{
    nftw(store_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

void fuzz_fixture_store(hv_server *srv, const char *tag)
{
    snprintf(store_dir, sizeof(store_dir), "/tmp/herald-fuzz-%s.XXXXXX", tag);
    if (!mkdtemp(store_dir))
        abort();
    atexit(remove_store_dir);
    char err[256];
    hv_store_options opt = {.dir = store_dir, .sync_full = 0};
    srv->store = hv_store_open(&opt, err, sizeof(err));
    if (!srv->store)
        abort();
    srv->rooms = hv_rooms_new(srv);
}

hv_loop *fuzz_fixture_loop(hv_server *srv)
{
    static hv_loop *loop;
    srv->endpoints = hv_endpoints_new(srv);
    hv_limits_init(&srv->limits, 0, 0);
    hv_hub_hooks hooks; /* as main.c */
    hv_wiring_hub(srv, &hooks);
    srv->hub = hv_hub_start(srv, &hooks);
    hv_wiring_net(srv);
    int port;
    int fd = hv_listen_socket("127.0.0.1", 0, &port);
    loop = hv_loop_new(srv, 0, fd);
    srv->loops = &loop;
    srv->nloops = 1;
    return loop;
}
