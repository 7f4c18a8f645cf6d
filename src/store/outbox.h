/* SPDX-License-Identifier: MIT */
/* outbox.h — the durable webhook outbox.
 *
 * One row per (event, endpoint) that must be delivered, inserted in the
 * same transaction as the event itself (hv_store_commit), so a delivery
 * owed for an acknowledged event survives kill -9. The delivery engine
 * owns a second connection to the store (hv_outbox) through which it loads
 * due rows and records every attempt, in batches. Each engine implements
 * it: sqlite_outbox.c, redis_outbox.c. The attempts table keeps
 * the history the deliveries API shows (time, status code, latency,
 * error, a response excerpt).
 */
#ifndef HV_OUTBOX_H
#define HV_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "store/shared.h"
#include "store/store.h"

enum { HV_OUTBOX_PENDING = 0, HV_OUTBOX_DELIVERED = 1, HV_OUTBOX_FAILED = 2 };

/* A row to insert with a commit: the event is evs[event_index] of the same
 * commit (its id is known only inside the transaction). *id_out receives
 * the new row's id. */
typedef struct hv_outbox_new {
    const char *endpoint_id;
    size_t event_index;
    int64_t next_at_ms;  /* first attempt time, normally "now" */
    uint64_t id;         /* out */
} hv_outbox_new;

/* Everything one hub transaction writes. */
typedef struct hv_commit {
    hv_event **evs;
    size_t n;
    const hv_kv_change *kv;
    size_t nkv;
    hv_outbox_new *outbox;
    size_t noutbox;
    /* Conditions on peers' sessions (store/shared.h), checked in the same
     * transaction; an event whose condition fails is dropped (id 0, its
     * outbox rows get id 0). Ignored by a store that is one node's. */
    const hv_presence_op *presence;
    size_t npresence;
    /* Idempotency keys recorded with the events (store/idem.h). */
    struct hv_idem_put *idem;
    size_t nidem;
} hv_commit;

/* hv_store_append_kv plus outbox rows, one transaction (hub thread). */
int hv_store_commit(hv_store *st, hv_commit *c);

/* The engine's connection. */
typedef struct hv_outbox hv_outbox;
hv_outbox *hv_outbox_open(hv_store *st, char *err, size_t errlen);
void hv_outbox_close(hv_outbox *ob);

/* Size of an endpoint id, terminator included: "room_" and a room id of
 * up to 128 characters (rooms/model.c), or "ep_" and 28 hex digits. */
#define HV_ENDPOINT_ID_SIZE 136

/* A pending row, with its event loaded (one reference). */
typedef struct hv_outbox_item {
    uint64_t id;
    char endpoint_id[HV_ENDPOINT_ID_SIZE];
    uint64_t event_id;
    int attempts;       /* attempts made so far */
    int64_t next_at_ms;
    hv_event *event;    /* NULL if the event is gone (pruned) */
} hv_outbox_item;

/* Pending rows with id > after_id, in id order, at most limit (to load
 * the backlog at start in pages). *out is malloc'd; release each event and
 * free the array. Returns 0 or -1. */
int hv_outbox_load_pending(hv_outbox *ob, uint64_t after_id, size_t limit,
                           hv_outbox_item **out, size_t *n);
/* The same for one endpoint's rows only (a read of that endpoint's rows,
 * however many other endpoints have pending): how the engine refills an
 * endpoint's window of rows in memory, in row order. */
int hv_outbox_load_endpoint(hv_outbox *ob, const char *endpoint_id, uint64_t after_id, size_t limit,
                            hv_outbox_item **out, size_t *n);

/* The events of ids read by id: out[i] gets a reference to event ids[i],
 * or NULL when it is not stored. Unlike hv_store_history this reads the
 * events kept below the history horizon because a pending row owes them
 * (pruning never deletes those), so a delivery whose event has left the
 * history can still be made. Returns 0, or -1 (every out[i] NULL). */
int hv_outbox_load_events(hv_outbox *ob, const uint64_t *ids, size_t n, hv_event **out);

/* One finished attempt. status is the row's new state: PENDING (retry at
 * next_at_ms), DELIVERED or FAILED (gave up). http_status 0 when no
 * response; error says what went wrong ("HTTP 500", a curl error, a
 * refused address), NULL on success. */
typedef struct hv_attempt {
    uint64_t outbox_id;
    const char *endpoint_id;
    uint64_t event_id;
    int64_t time_ms;
    int http_status;
    int latency_ms;
    const char *error;     /* NULL on success */
    const char *response;  /* excerpt of the response body, may be NULL */
    int status;
    int attempts;          /* total attempts after this one */
    int64_t next_at_ms;
    int lost;              /* out: not recorded, the row is another node's */
} hv_attempt;

/* Records attempts (and the rows' new states) in one transaction. With a
 * store shared by several nodes, an attempt on a row this node no longer
 * holds (taken over by another node) is not recorded and gets lost = 1:
 * the caller lets the row go. */
int hv_outbox_record(hv_outbox *ob, hv_attempt *a, size_t n);

/* Marks a row pending again, due now (manual retry). Returns 1 if the row
 * exists for that endpoint, 0 if not, -1 on error. */
int hv_outbox_retry(hv_outbox *ob, const char *endpoint_id, uint64_t outbox_id, int64_t now_ms);

/* Inserts rows (due now) for every event of ids (replay); returns how
 * many, -1 on error. *first_id gets the first new row id. */
long hv_outbox_insert(hv_outbox *ob, const char *endpoint_id, const uint64_t *event_ids, size_t n,
                      int64_t now_ms, uint64_t *first_id);

/* The attempts of an endpoint, newest first, as a JSON array text:
 * [{"id","delivery_id","event_id","timestamp","status_code","latency_ms",
 *   "error","response","state"}…]; before_id 0 = from the newest.
 * Reader connection, any thread. Returns malloc'd text or NULL. */
char *hv_outbox_attempts_json(hv_store *st, const char *endpoint_id, uint64_t before_id, size_t limit);

/* The state (HV_OUTBOX_*) of one row of endpoint_id, or -1 when there is
 * no such row. Reader connection, any thread. */
int hv_outbox_row_state(hv_store *st, const char *endpoint_id, uint64_t outbox_id);

/* Counts for /metrics and the API: pending rows (all endpoints, or one). */
long hv_outbox_pending_count(hv_store *st, const char *endpoint_id);

/* An endpoint's rate limit shared by every node (issue 18 item 2): one
 * GCRA bucket per endpoint in the store, the same rule as
 * deliver/webhook_rate.h. Whether this engine keeps one (0: the caller
 * keeps the bucket in memory, the store being this node's alone). */
int hv_outbox_rate_shared(hv_outbox *ob);
/* Takes one request of endpoint_id's bucket: 0 taken, 1 refused (*wait_ms
 * until one may be), -1 on a store error. */
int hv_outbox_rate_take(hv_outbox *ob, const char *endpoint_id, double per_second, int burst, int64_t *wait_ms);

#endif
