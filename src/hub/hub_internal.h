/* SPDX-License-Identifier: MIT */
/* hub_internal.h — what hub.c shares with the other files of src/hub that
 * work on its queue (idem.c): a queued request. Private to src/hub. */
#ifndef HV_HUB_INTERNAL_H
#define HV_HUB_INTERNAL_H

#include "hub/hub.h"

/* One publish or change waiting for the commit thread. */
typedef struct pub_req {
    struct pub_req *next;
    hv_event **evs;
    size_t n;
    hv_kvlist kv;
    hv_after *after;
    hv_loop *origin;
    hv_publish_done done;
    void *arg;
    int status;
    hv_idem_claim *idem;  /* the caller's (hub/idem.c); NULL: no keys */
    size_t nidem;
    unsigned char *skip;  /* with idem: events not to store */
} pub_req;

#endif
