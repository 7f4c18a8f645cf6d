/* SPDX-License-Identifier: MIT */
/* fixture.h — what the server-side fuzz targets share: a herald server
 * object with its store in a temporary folder (removed when libFuzzer
 * exits), and optionally the hub and one loop to run connections on. */
#ifndef HV_FUZZ_FIXTURE_H
#define HV_FUZZ_FIXTURE_H

#include "net/server.h"

/* Opens srv's store (SQLite, no fsync) in a new /tmp/herald-fuzz-<tag>.*
 * folder and its rooms; srv->cfg must be loaded. Aborts on failure. */
void fuzz_fixture_store(hv_server *srv, const char *tag);
/* Then endpoints (no delivery engine: rows stay in the outbox), no
 * connection limits, the hub and one loop on a free loopback port. */
hv_loop *fuzz_fixture_loop(hv_server *srv);

#endif
