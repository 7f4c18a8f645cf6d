/* SPDX-License-Identifier: MIT */
/* nodes.h — GET /v1/nodes: the herald nodes sharing the store, whether
 * each is alive and what it owns (api/nodes.c). The answer's JSON is built
 * by a pure function so that a unit test can check it (test_nodes_json). */
#ifndef HV_API_NODES_H
#define HV_API_NODES_H

#include "store/store.h"

/* The answer's text (malloc'd): store "sqlite" or "redis", self this
 * node's id, v what the store records (redis) or this node alone (sqlite:
 * alone 1, its one node alive with no beat, every lease held by it and
 * "webhooks" owned). */
char *hv_api_nodes_json(const char *store, const char *self, const hv_nodes_view *v, int alone);

#endif
