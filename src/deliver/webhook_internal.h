/* SPDX-License-Identifier: MIT */
/* webhook_internal.h — the delivery engine's insides, shared by its files:
 * webhooks.c (the thread, the inbox, the public functions),
 * webhook_queue.c (queues, retries, starting requests),
 * webhook_outcome.c (a request's outcome and the attempt log),
 * webhook_http.c (libcurl multi driven by libuv, one request per attempt)
 * webhook_window.c (the in-memory window of each endpoint's rows) and
 * webhook_batch.c (the batched requests of rooms that asked for them).
 * Everything here belongs to the engine thread, except the inbox (under
 * mu) and the counters (atomics). The functions are package-private
 * (hv__webhook_*): not for use outside these files.
 */
#ifndef HV_WEBHOOK_INTERNAL_H
#define HV_WEBHOOK_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "core/list.h"
#include "core/map.h"
#include "deliver/endpoints.h"
#include "deliver/netguard.h"
#include "deliver/webhook_breaker.h"
#include "deliver/webhook_policy.h"
#include "deliver/webhook_rate.h"
#include "deliver/webhooks.h"

typedef struct wh_ep wh_ep;

/* One endpoint's rate state (webhook_ratelimit.c, issue 18 item 2). */
typedef struct wh_rate {
    double tat_ms;       /* its bucket (SQLite mode; with Redis the bucket is shared there) */
    hv_wh_throttle thr;  /* back-pressure from its receiver (429, 503 + Retry-After) */
    int64_t wake_ms;     /* refused: nothing of it starts before then */
    hv_list wait_link;   /* in the rate engine's waiting list while refused */
    int counted;         /* the request waiting now is counted in rate_limited */
} wh_rate;

/* One outbox row in memory: ready (on its endpoint's FIFO), waiting (in
 * the retry heap) or in flight. */
typedef struct wh_item {
    hv_list link;        /* in ep->ready while ready */
    uint64_t row_id, event_id;
    hv_event *ev;        /* NULL until needed: loaded from the store then */
    int attempts;        /* attempts made so far */
    int64_t due_ms;      /* wall clock of the next attempt */
    size_t heap_idx;     /* position in the retry heap, or NO_HEAP */
    int from_hub;        /* handed over by the hub (not loaded from the outbox) */
    int in_flight;
    wh_ep *ep;
} wh_item;

#define WH_NO_HEAP ((size_t)-1)

/* One endpoint's state in the engine (its settings live in the snapshot
 * from hv_endpoints_get, fetched anew for every request). */
struct wh_ep {
    char id[HV_ENDPOINT_ID_SIZE];
    hv_list ready;       /* wh_item.link, FIFO */
    hv_list dirty_link;  /* in w->dirty when it may have work to start */
    size_t nitems;       /* ready + waiting + in flight */
    int in_flight;
    int64_t failing_since_ms; /* first failure since the last success, 0 = none */
    int final_seen;      /* room endpoints: its room.deleted/crashed is done */
    /* The window (webhook_window.c): at most w->window rows in memory; the
     * others wait in the outbox and are read in row order as it drains. */
    int spilled;         /* some pending rows of it are in the outbox only */
    uint64_t cursor;     /* when spilled: they all have ids above this */
    hv_list refill_link; /* in w->refill while a refill is due */
    int off;             /* scratch of hv__webhook_release_off: deleted or disabled */
    hv_breaker brk;      /* its circuit breaker (webhook_controls.c) */
    int64_t jb_due_ms;   /* batched JSON endpoint: send what is ready by then, 0 = no wait (webhook_jsonbatch.c) */
    wh_rate rl;          /* its rate limit and back-pressure (webhook_ratelimit.c) */
};

/* One finished attempt, as webhook_http.c reports it. */
typedef struct wh_result {
    int transport_ok;        /* the transfer completed (any status) */
    long status;             /* HTTP status, 0 without an answer */
    int64_t time_ms;         /* when the attempt started (wall clock) */
    int latency_ms;
    const char *error;       /* NULL when transport_ok */
    const char *response;    /* excerpt (valid UTF-8), may be NULL */
    int64_t retry_after_ms;  /* -1 when the answer had none */
} wh_result;

/* A message from another thread: a new row from the hub, a replay (new
 * rows for ids) or a manual retry of row_id. */
enum { WH_MSG_ROW, WH_MSG_REPLAY, WH_MSG_RETRY };
typedef struct wh_msg {
    struct wh_msg *next;
    int kind;
    uint64_t row_id;
    char endpoint_id[HV_ENDPOINT_ID_SIZE];
    hv_event *ev;        /* WH_MSG_ROW */
    int64_t next_at_ms;  /* WH_MSG_ROW */
    uint64_t *ids;       /* WH_MSG_REPLAY */
    size_t nids;
} wh_msg;

/* An attempt waiting in the batch for hv_outbox_record. */
typedef struct wh_rec {
    hv_attempt a;
    char *endpoint_id, *error, *response;
} wh_rec;

struct hv_webhooks {
    hv_server *srv;
    hv_outbox *ob;
    hv_netguard *guard;
    int64_t sched[HV_WH_MAX_RETRIES];
    int nsched;
    long timeout_ms, connect_timeout_ms;
    int max_in_flight;
    size_t window;           /* rows in memory per endpoint (--webhook-window) */
    int64_t disable_after_ms;
    int64_t park_after_ms;   /* a longer wait lets go of the item's event (--webhook-park-after) */
    size_t response_cap;
    const char *room_secret; /* --room-webhook-secret (the server config's), or NULL */

    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t retry_timer;  /* the earliest due time in the heap */
    uv_timer_t flush_timer;  /* batched attempt records */
    uv_timer_t curl_timer;   /* CURLMOPT_TIMERFUNCTION */
    uv_timer_t load_timer;   /* the next page of a backlog being loaded */
    uv_timer_t refill_timer; /* endpoints' windows to refill (w->refill) */
    hv_list refill;          /* wh_ep.refill_link */
    int loading;             /* a backlog is being loaded, from load_after */
    uint64_t load_after;
    size_t loaded;           /* rows loaded by the current load */

    /* inbox, any thread */
    uv_mutex_t mu;
    wh_msg *inbox, **inbox_tail;
    int kick, stop;

    /* engine thread */
    CURLM *multi;
    hv_list reqs;            /* requests in flight (webhook_http.c) */
    hv_list socks;           /* sockets watched for curl */
    CURL *pool[64];          /* idle easy handles */
    size_t npool;
    hv_map eps;              /* id -> wh_ep */
    hv_map rows;             /* row id (decimal) -> wh_item */
    hv_map done;             /* row ids finished before the hub handed them over */
    uint64_t hub_high;       /* highest row id the hub handed over */
    uint64_t done_pruned;    /* hub_high when w->done was last pruned */
    size_t ninflight;        /* rows in flight, all endpoints (a batch counts each of its rows) */
    hv_list dirty;           /* wh_ep.dirty_link */
    wh_item **heap;
    size_t nheap, capheap;
    wh_rec *batch;
    size_t nbatch, capbatch;
    uint64_t rng;            /* jitter (xorshift) */
    int closing;

    /* counters for /metrics */
    atomic_uint_fast64_t delivered, failed_attempts, gave_up;
    atomic_int_fast64_t in_flight, queued;

    /* circuit breakers (webhook_controls.c): the settings, the timer of
     * the next probe, and each non-closed breaker's state for the API and
     * /metrics (brk_pub: id -> hv_breaker copy, under brk_mu) */
    hv_breaker_cfg brk_cfg;
    uv_timer_t breaker_timer;
    uv_mutex_t brk_mu;
    hv_map brk_pub;

    /* batched JSON endpoints (webhook_jsonbatch.c): one timer at the
     * earliest wh_ep.jb_due_ms, armed for jb_armed_ms (0 = not armed) */
    uv_timer_t jb_timer;
    int64_t jb_armed_ms;
    struct wh_rl_engine *rl; /* rate limits and back-pressure (webhook_ratelimit.c) */
};

/* webhook_http.c */
int hv__webhook_http_init(hv_webhooks *w);
/* Starts one request for n rows of ep (their events loaded): n == 1 is
 * one row as ever; a batched endpoint's rows go in one
 * ServerMessage{notification_batch} (a lone VAD notification bare). The
 * request keeps a copy of items. Returns 0, or -1 with a message in err
 * when the request could not even be built. */
int hv__webhook_http_start(hv_webhooks *w, wh_item **items, size_t n, const hv_endpoint *ep, char *err,
                           size_t errlen);
/* Abandons every request in flight (their items are left to the caller)
 * and releases libcurl; the poll handles are closed. */
void hv__webhook_http_shutdown(hv_webhooks *w);

/* webhook_window.c: each endpoint keeps at most w->window rows in
 * memory (issue 13, defect 8). */
void hv__webhook_window_init(hv_webhooks *w);
void hv__webhook_window_close(hv_webhooks *w);
/* Whether a row (not in memory) must stay in the outbox only: the window
 * is full or rows before it wait there already. Then the endpoint is
 * marked to read it (and the rest) back in row order. */
int hv__webhook_window_spill(hv_webhooks *w, wh_ep *ep, uint64_t row_id);
/* An item of ep left memory: a spilled endpoint down to half its window
 * gets a refill on the next loop turn. */
void hv__webhook_window_drained(hv_webhooks *w, wh_ep *ep);
/* Whether the attempts not yet recorded finish a row of endpoint_id (NULL:
 * any) above after_id, which a read of pending rows would bring back. */
int hv__webhook_batch_may_read_back(const hv_webhooks *w, const char *endpoint_id, uint64_t after_id);

/* webhook_batch.c */
/* Starts one request with the rows ready for a batched room endpoint
 * (ep has none in flight); rows that cannot go are failed or rescheduled
 * as in a single delivery. Always takes at least one row off ep->ready. */
void hv__webhook_start_batch(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap);
/* Whether an event may share a batch (VAD notifications go alone). */
int hv__webhook_batchable(const hv_event *ev);
/* Puts the items of one request in row (commit) order (JSON batches too). */
void hv__webhook_sort_rows(wh_item **items, size_t n);

/* webhook_jsonbatch.c: batched delivery of JSON endpoints that opt in
 * (issue 18 item 6) */
void hv__webhook_jsonbatch_init(hv_webhooks *w);
void hv__webhook_jsonbatch_close(hv_webhooks *w);
/* Whether a batched JSON endpoint (snap->jb_max_events > 0) holds its
 * next request back: one is in flight, or too few rows are ready and the
 * wait is not over (nor are they retries); then the wait is armed. Asked
 * before the rate limit's gate, so a batch still filling takes no token. */
int hv__webhook_jsonbatch_waits(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap);
/* Starts one request with up to max_events ready rows (the endpoint does
 * not wait); always takes at least one row off ep->ready. */
void hv__webhook_jsonbatch_start(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap);
/* The body of a batch: a JSON array of the rows' events (malloc'd). */
char *hv__webhook_jsonbatch_body(wh_item *const *items, size_t n, size_t *len);
/* gzip of in (malloc'd into *out): 0, or -1. */
int hv__webhook_jsonbatch_gzip(const void *in, size_t len, char **out, size_t *outlen);

/* webhook_queue.c */
void hv__webhook_queue_init(hv_webhooks *w);
/* Frees every item and endpoint state; closes the queue's timers. */
void hv__webhook_queue_free(hv_webhooks *w);
/* A row for the engine (takes the reference to ev, which may be NULL):
 * ignored if already in memory (but brought forward if due earlier), or
 * if from_hub and already finished (w->done). */
void hv__webhook_add_item(hv_webhooks *w, uint64_t row_id, const char *endpoint_id, uint64_t event_id,
                          hv_event *ev, int attempts, int64_t due_ms, int from_hub);
/* The same for a row read back by a refill of ep's window (no window
 * check: the refill reads only what fits). */
void hv__webhook_add_refilled(hv_webhooks *w, wh_ep *ep, uint64_t row_id, uint64_t event_id, hv_event *ev,
                              int attempts, int64_t due_ms);
/* Items of deleted or disabled endpoints waiting for a retry are made
 * ready now, so the next pump closes their rows (after a kick). */
void hv__webhook_release_off(hv_webhooks *w);
/* Forgets finished row ids the hub has moved past (w->hub_high). */
void hv__webhook_prune_done(hv_webhooks *w);
/* Puts a (not in flight) item where it belongs for its due time. */
void hv__webhook_schedule(hv_webhooks *w, wh_item *it, int64_t due_ms);
/* Loads it->ev (and those of the items queued after it): 1 loaded, 0 gone,
 * -1 store error. */
int hv__webhook_load_event(hv_webhooks *w, wh_ep *ep, wh_item *it);
/* Takes the first ready item of ep (the queue is not empty) off it with
 * its event loaded: the item, with err set ("event N is no longer stored")
 * or left empty; NULL when the store is failing (the item was scheduled
 * again for a retry: send what is in hand). */
wh_item *hv__webhook_take_ready(hv_webhooks *w, wh_ep *ep, char *err, size_t errlen);
/* Starts what can start now, then publishes the queued/in-flight counts. */
void hv__webhook_pump(hv_webhooks *w);
void hv__webhook_publish_stats(hv_webhooks *w, size_t nitems, size_t ninflight);
void hv__webhook_mark_dirty(hv_webhooks *w, wh_ep *ep);
/* Starts t to fire cb at wall-clock at_ms (at once if that is past);
 * INT64_MAX stops it. The engine's timers (retries, breaker probes, rate
 * limits, batch waits) are each armed at their earliest due time. */
void hv__webhook_timer_at(uv_timer_t *t, uv_timer_cb cb, int64_t at_ms);
/* Takes a waiting item out of the retry heap (it is then nowhere). */
void hv__webhook_unschedule(hv_webhooks *w, wh_item *it);
/* Removes an item from memory (from wherever it waits). remember: the row
 * is finished in the outbox, so a late hand-over from the hub must not
 * bring it back. */
void hv__webhook_forget_item(hv_webhooks *w, wh_item *it, int remember);

/* webhook_outcome.c: a request's outcome, and the attempts recorded */
/* Writes the batched attempts to the outbox now. */
void hv__webhook_flush(hv_webhooks *w);
/* A request ended (called from webhook_http.c): its n rows share the
 * outcome, each is recorded and retried (or finished) as its own row. */
void hv__webhook_attempt_done(hv_webhooks *w, wh_item **items, size_t n, const wh_result *r);
/* A pending item that waits longer than --webhook-park-after for its next
 * attempt (a retry, a receiver's pause) lets go of its event: read back
 * by id when due, so long waits hold only their row in memory. */
void hv__webhook_park_event(hv_webhooks *w, wh_item *it, int64_t wait_ms);
/* Fails a row for good without a request (it could not be built). */
void hv__webhook_give_up(hv_webhooks *w, wh_item *it, const char *why);

/* webhook_controls.c: an endpoint's own retry schedules and its circuit
 * breaker (issue 18 items 4 and 3) */
void hv__webhook_controls_init(hv_webhooks *w);  /* before the thread starts */
void hv__webhook_controls_close(hv_webhooks *w); /* engine thread, closing */
void hv__webhook_controls_free(hv_webhooks *w);  /* after the thread ended */
/* The wait before the next attempt of it (which has made it->attempts):
 * 1 with *base_ms from the endpoint's schedule for its event type (or the
 * server's), 0 when that schedule has run out. */
int hv__webhook_retry_base(const hv_webhooks *w, const hv_endpoint *snap, const wh_item *it, int64_t *base_ms);
/* Whether ep's breaker holds its deliveries back (open or half_open):
 * they wait, parked in row order on its ready queue, and never run out of
 * retries. */
int hv__webhook_breaker_holds(const wh_ep *ep);
/* Puts a held item on ep's ready queue in row order. */
void hv__webhook_breaker_park(hv_webhooks *w, wh_item *it);
/* Whether the next request of ep (snap: its settings) may start now (2:
 * it is the probe). A breaker switched off while paused closes here. */
int hv__webhook_breaker_gate(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap);
/* After a pump: a probe that could not be started does not leave the
 * breaker half_open with nothing in flight. */
void hv__webhook_breaker_settle(hv_webhooks *w, wh_ep *ep);
/* A request of ep ended (once per request): the breaker's streak, its
 * opening (herald.endpoint_paused) and closing (herald.endpoint_resumed).
 * disabled: the endpoint was just disabled (410, or failing too long). */
void hv__webhook_breaker_judge(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap, int ok, int disabled,
                               int64_t now);
/* Endpoints whose breaker is open or half_open, for /metrics. */
uint64_t hv__webhooks_breakers_open(hv_webhooks *w);
/* ep's state is being freed. */
void hv__webhook_breaker_forget(hv_webhooks *w, wh_ep *ep);

/* webhook_ratelimit.c: an endpoint's rate limit and its receiver's
 * back-pressure (issue 18 item 2). init/close/free as the controls'. */
void hv__webhook_rl_init(hv_webhooks *w);
void hv__webhook_rl_close(hv_webhooks *w);
void hv__webhook_rl_free(hv_webhooks *w);
/* Whether the next request of ep may start now: not while its receiver
 * asked for a pause, and only when its bucket has a token (taken then).
 * Refused: ep is pumped again when it may (a timer), its rows wait. */
int hv__webhook_rl_gate(hv_webhooks *w, wh_ep *ep, const hv_endpoint *snap);
/* A request of ep ended: 1 when the answer was back-pressure (ep is
 * paused; the caller hands the rows to hv__webhook_rl_requeue), else 0
 * (a success resets the backoff). */
int hv__webhook_rl_answer(hv_webhooks *w, wh_ep *ep, const wh_result *r, int outcome, int64_t now);
/* The rows of a back-pressured request: recorded (the attempt log shows
 * the 429), not counted as an attempt, back on the ready queue in row
 * order for when the pause ends. */
void hv__webhook_rl_requeue(hv_webhooks *w, wh_item **items, size_t n, const wh_result *r, const char *error);
/* Whether ep's state must outlive its rows (a bucket or a pause running). */
int hv__webhook_rl_hot(const wh_ep *ep);
/* ep is disabled or being freed. */
void hv__webhook_rl_forget(hv_webhooks *w, wh_ep *ep);
/* Sets obj's "throttled_until" (ISO time or null). Any thread. */
void hv__webhook_rl_view(hv_webhooks *w, const char *id, json_t *obj);
void hv__webhook_rl_stats(hv_webhooks *w, hv_webhook_stats *out);
/* webhook_outcome.c: queues one attempt of it for the outbox. */
void hv__webhook_record(hv_webhooks *w, const wh_item *it, const wh_result *r, const char *error, int state,
                        int64_t next_at_ms);

#endif
