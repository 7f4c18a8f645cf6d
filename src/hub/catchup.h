/* SPDX-License-Identifier: MIT */
/* catchup.h — catching up with the other nodes' changes on request, off
 * the I/O loops (issue 13, defect 11).
 *
 * With a store several nodes share, a peer token this node does not know
 * may have been issued on another node a moment ago, before the replica
 * (replica.h) applied that change here. Whoever meets such a token asks
 * for a catch-up and is answered on its own loop once one has run: the
 * socket or request waits, its loop does not. Many requests share one
 * catch-up (coalesced), at most one catch-up begins per
 * --catch-up-interval (rate-limited), at most --max-token-lookups requests
 * wait at once (bounded), and none waits longer than --auth-timeout.
 */
#ifndef HV_CATCHUP_H
#define HV_CATCHUP_H

#include "hub/replica.h"
#include "net/loop.h"
#include "net/server.h"

typedef struct hv_catchup hv_catchup;

/* Outcomes of a request (hv_catchup_request) and statuses of its answer. */
#define HV_CATCH_UP_DONE 0     /* answer: a catch-up that began after the request ran */
#define HV_CATCH_UP_NONE 0     /* request: nothing to wait for (no shared store, stopping) */
#define HV_CATCH_UP_QUEUED 1   /* request: done will be posted to the loop */
#define HV_CATCH_UP_BUSY (-1)  /* request: --max-token-lookups wait already; done is not called */
#define HV_CATCH_UP_FAILED (-2) /* answer: the store did not answer (or is unavailable) */
#define HV_CATCH_UP_TIMEOUT (-3) /* answer: none ran within --auth-timeout of the request */

/* Called on the requester's loop with one of the answer statuses. */
typedef void (*hv_catch_up_done)(hv_loop *loop, void *arg, int status);

/* NULL without a replica (the store is this node's alone). */
hv_catchup *hv_catchup_new(hv_server *srv, hv_replica *rp);
/* Asks for a catch-up from any loop: HV_CATCH_UP_QUEUED (done(loop, arg,
 * status) will be posted to loop, exactly once), HV_CATCH_UP_BUSY or
 * HV_CATCH_UP_NONE (done is not called). */
int hv_catchup_request(hv_catchup *cu, hv_loop *loop, hv_catch_up_done done, void *arg);
/* Ends the thread; requests still waiting are answered HV_CATCH_UP_FAILED
 * (posted: call while the loops still take messages). */
void hv_catchup_stop(hv_catchup *cu);
void hv_catchup_free(hv_catchup *cu);

#endif
