/* SPDX-License-Identifier: MIT */
/* webhooks.c — the webhook delivery engine: its thread, its queues, its
 * retries and its bookkeeping in the outbox; see webhooks.h.
 *
 * The engine thread runs a libuv loop. Other threads talk to it through
 * an inbox under a mutex plus a uv_async (new rows from the hub, kicks,
 * stop). In memory, every pending outbox row held is a wh_item belonging to
 * its endpoint's wh_ep: ready items wait on the endpoint's own FIFO,
 * items waiting for a retry sit in one min-heap of due times watched by a
 * single uv_timer (webhook_queue.c). After every change the touched
 * endpoints are "pumped": each starts requests (webhook_http.c) while it
 * has ready items and fewer than webhook_max_in_flight in flight, so a
 * slow endpoint never holds up another. The endpoint's snapshot is looked
 * up for each request: a deleted or disabled endpoint's rows are closed
 * (failed, "endpoint deleted" / "endpoint disabled").
 *
 * Outcomes (webhook_policy.c decides): 2xx delivered; 410 disables the
 * endpoint and fails the row; anything else is retried on the schedule
 * with jitter (or Retry-After, clamped) until the schedule runs out. An
 * endpoint with no success for webhook_disable_after_s is disabled. Every
 * attempt is recorded through the engine's own outbox connection, in
 * batches (at most every 20 ms or 256 attempts), and the batch is flushed
 * before rows are read back whenever it finishes a row the read could
 * return, so a row just finished can never be loaded again as pending. A
 * backlog is read a page per loop turn, delivered while the rest loads.
 * The hub may hand over a row the engine already
 * loaded from the outbox and finished; such rows are remembered (w->done)
 * until the hub has moved past them.
 *
 * Replays and manual retries also go through the inbox: the engine
 * thread writes their outbox rows (after flushing its batch, so no stale
 * state can overwrite them) and loads them like the backlog.
 *
 * Rows are held only while useful: each endpoint keeps at most
 * --webhook-window rows in memory, the rest wait in the outbox and are
 * read back in row order as the window drains (webhook_window.c), so a
 * dead endpoint's backlog costs disk, not memory. A disabled or deleted
 * endpoint's rows are closed (failed) without an attempt; a kick (sent
 * when an endpoint is enabled or disabled) makes the engine look again.
 *
 * Events are held only while useful: items far back in a long queue, and
 * items waiting minutes for a retry, let go of their event and load it
 * from the store again, by id (hv_outbox_load_events), when their turn
 * comes.
 */
#include "deliver/webhooks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/event_frames.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/webhook_internal.h"
#include "net/server.h"
#include "store/store.h"

#define PAGE 1000 /* outbox rows per load */

static void on_load_timer(uv_timer_t *t);

/* Reads one page of this node's pending rows of the outbox after
 * w->load_after into memory; a full page asks for the next one on the
 * next loop turn (load_timer), so a large backlog is loaded while the
 * first pages are already being delivered and answered. Rows already in
 * memory are kept as they are (a due time brought forward is taken). */
/* (Flushing only when the attempts not yet recorded finish a row this
 * read could return keeps the batches big while a backlog is read page by
 * page between deliveries: a finished row is no longer in memory, so read
 * back as pending it would be delivered again.) */
static void load_page(hv_webhooks *w)
{
    if (hv__webhook_batch_may_read_back(w, NULL, w->load_after))
        hv__webhook_flush(w);
    hv_outbox_item *items = NULL;
    size_t n = 0;
    if (hv_outbox_load_pending(w->ob, w->load_after, PAGE, &items, &n) != 0) {
        hv_error("webhooks: could not load pending deliveries from the outbox");
        w->loading = 0;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        hv_outbox_item *o = &items[i];
        w->load_after = o->id;
        if (o->event)
            hv_event_encode(o->event); /* loaded for us alone */
        hv__webhook_add_item(w, o->id, o->endpoint_id, o->event_id, o->event, o->attempts, o->next_at_ms, 0);
    }
    free(items);
    w->loaded += n;
    if (n == PAGE && !w->closing) {
        /* 1 ms, not 0: a timer re-armed at 0 from its own callback runs again
         * before the loop polls, and the requests started would wait */
        uv_timer_start(&w->load_timer, on_load_timer, 1, 0);
        return;
    }
    w->loading = 0;
    hv_debug("webhooks: %zu pending deliveries loaded from the outbox", w->loaded);
}

static void on_load_timer(uv_timer_t *t)
{
    hv_webhooks *w = t->data;
    if (w->closing || !w->loading)
        return;
    load_page(w);
    hv__webhook_prune_done(w);
    hv__webhook_pump(w);
}

/* Loads the pending rows with ids above after_id (from 0: the backlog at
 * start, and after a kick), page by page. A load already under way from a
 * lower id will reach these rows; one from a higher id starts again here. */
static void load_pending(hv_webhooks *w, uint64_t after_id)
{
    if (w->loading && after_id >= w->load_after)
        return;
    if (!w->loading)
        w->loaded = 0;
    w->loading = 1;
    w->load_after = after_id;
    load_page(w);
}

/* New rows for a replay, inserted in short transactions, then loaded. */
static void replay(hv_webhooks *w, const char *endpoint_id, const uint64_t *ids, size_t n)
{
    uint64_t first = 0;
    long total = 0;
    for (size_t off = 0; off < n; off += PAGE) {
        size_t k = n - off < PAGE ? n - off : PAGE;
        uint64_t f = 0;
        long got = hv_outbox_insert(w->ob, endpoint_id, ids + off, k, hv_now_ms(), &f);
        if (got < 0) {
            hv_error("webhooks: replay to %s: could not insert deliveries", endpoint_id);
            break;
        }
        if (got > 0 && !first)
            first = f;
        total += got;
    }
    hv_info("webhooks: replaying %ld events to %s", total, endpoint_id);
    if (first)
        load_pending(w, first - 1);
}

static void retry(hv_webhooks *w, const char *endpoint_id, uint64_t row_id)
{
    hv__webhook_flush(w); /* a state recorded later would undo the retry */
    if (row_id == 0 || hv_outbox_retry(w->ob, endpoint_id, row_id, hv_now_ms()) != 1)
        return;
    hv_outbox_item *items = NULL;
    size_t n = 0;
    if (hv_outbox_load_pending(w->ob, row_id - 1, 1, &items, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        hv_outbox_item *o = &items[i];
        if (o->event)
            hv_event_encode(o->event);
        if (o->id == row_id)
            hv__webhook_add_item(w, o->id, o->endpoint_id, o->event_id, o->event, o->attempts, o->next_at_ms, 0);
        else
            hv_event_unref(o->event);
    }
    free(items);
}

/* ---- the thread ------------------------------------------------------------ */

static void free_msgs(wh_msg *m)
{
    while (m) {
        wh_msg *next = m->next;
        hv_event_unref(m->ev);
        free(m->ids);
        free(m);
        m = next;
    }
}

static void close_all(hv_webhooks *w)
{
    hv__webhook_flush(w);
    w->closing = 1;
    hv__webhook_http_shutdown(w);
    hv__webhook_queue_free(w);
    hv__webhook_controls_close(w);
    hv__webhook_jsonbatch_close(w);
    uv_close((uv_handle_t *)&w->load_timer, NULL);
    uv_close((uv_handle_t *)&w->wake, NULL);
}

static void on_wake(uv_async_t *a)
{
    hv_webhooks *w = a->data;
    if (w->closing)
        return;
    uv_mutex_lock(&w->mu);
    wh_msg *m = w->inbox;
    w->inbox = NULL;
    w->inbox_tail = &w->inbox;
    int kick = w->kick, stop = w->stop;
    w->kick = 0;
    uv_mutex_unlock(&w->mu);
    if (stop) {
        free_msgs(m);
        close_all(w);
        return;
    }
    if (kick) {
        hv__webhook_release_off(w); /* a disabled endpoint's retries are closed now */
        load_pending(w, 0);
    }
    while (m) {
        wh_msg *next = m->next;
        if (m->kind == WH_MSG_ROW) {
            if (m->row_id > w->hub_high)
                w->hub_high = m->row_id;
            hv__webhook_add_item(w, m->row_id, m->endpoint_id, m->ev->id, m->ev, 0, m->next_at_ms, 1);
            m->ev = NULL;
        } else if (m->kind == WH_MSG_REPLAY) {
            replay(w, m->endpoint_id, m->ids, m->nids);
        } else {
            retry(w, m->endpoint_id, m->row_id);
        }
        m->next = NULL;
        free_msgs(m);
        m = next;
    }
    hv__webhook_prune_done(w);
    hv__webhook_pump(w);
}

static void run_thread(void *arg)
{
    hv_webhooks *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

hv_webhooks *hv_webhooks_start(hv_server *srv)
{
    const hv_config *cfg = &srv->cfg;
    hv_webhooks *w = hv_xcalloc(1, sizeof(*w));
    w->srv = srv;
    char err[256];
    w->nsched = hv_wh_schedule_parse(cfg->webhook_retry_schedule, w->sched, HV_WH_MAX_RETRIES);
    if (w->nsched < 0) {
        hv_error("webhooks: bad retry schedule \"%s\"", cfg->webhook_retry_schedule);
        free(w);
        return NULL;
    }
    w->guard = hv_netguard_new(cfg->webhook_deny, cfg->webhook_allow, err, sizeof(err));
    if (!w->guard) {
        hv_error("webhooks: %s", err);
        free(w);
        return NULL;
    }
    if (hv_config_is_development(cfg)) {
        hv_netguard_set_loopback_ok(w->guard, 1);
        hv_warn("webhooks: DEVELOPMENT DEFAULT (token 'development' on loopback): webhooks may reach loopback "
                "addresses; with a real --token they are refused like private, link-local and other non-public "
                "networks unless --webhook-allow lists them");
    }
    w->ob = hv_outbox_open(srv->store, err, sizeof(err));
    if (!w->ob) {
        hv_error("webhooks: cannot open the outbox: %s", err);
        hv_netguard_free(w->guard);
        free(w);
        return NULL;
    }
    w->timeout_ms = cfg->webhook_timeout_s > 0 ? (long)(cfg->webhook_timeout_s * 1000) : 30000;
    w->connect_timeout_ms =
        cfg->webhook_connect_timeout_s > 0 ? (long)(cfg->webhook_connect_timeout_s * 1000) : 10000;
    w->max_in_flight = cfg->webhook_max_in_flight > 0 ? cfg->webhook_max_in_flight : 1;
    w->window = cfg->webhook_window > 0 ? cfg->webhook_window : 1;
    w->disable_after_ms = (int64_t)(cfg->webhook_disable_after_s * 1000);
    w->park_after_ms = cfg->webhook_park_after_s > 0 ? (int64_t)(cfg->webhook_park_after_s * 1000) : 30000;
    w->response_cap = cfg->webhook_response_cap;
    w->room_secret = cfg->room_webhook_secret[0] ? cfg->room_webhook_secret : NULL;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    uv_loop_init(&w->loop);
    uv_mutex_init(&w->mu);
    w->inbox_tail = &w->inbox;
    w->kick = 1; /* the backlog */
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    uv_timer_init(&w->loop, &w->load_timer);
    w->load_timer.data = w;
    hv__webhook_queue_init(w);
    hv__webhook_controls_init(w);
    hv__webhook_jsonbatch_init(w);
    if (hv__webhook_http_init(w) != 0 || uv_thread_create(&w->thread, run_thread, w) != 0) {
        hv_error("webhooks: cannot start the delivery engine");
        w->stop = 1;
        on_wake(&w->wake);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        uv_mutex_destroy(&w->mu);
        hv__webhook_controls_free(w);
        hv_outbox_close(w->ob);
        hv_netguard_free(w->guard);
        curl_global_cleanup();
        free(w);
        return NULL;
    }
    uv_async_send(&w->wake);
    hv_info("webhooks: delivery engine started (retry schedule: %d retries)", w->nsched);
    return w;
}

void hv_webhooks_stop(hv_webhooks *w)
{
    if (!w)
        return;
    uv_mutex_lock(&w->mu);
    w->stop = 1;
    uv_async_send(&w->wake);
    uv_mutex_unlock(&w->mu);
    uv_thread_join(&w->thread);
    free_msgs(w->inbox); /* nothing arrives after stop, but be thorough */
    uv_loop_close(&w->loop);
    uv_mutex_destroy(&w->mu);
    hv__webhook_controls_free(w);
    hv_outbox_close(w->ob);
    hv_netguard_free(w->guard);
    curl_global_cleanup();
    free(w);
}

/* Appends the messages head..*tail to the inbox and wakes the engine
 * (after stop they are released: their rows stay pending for next time). */
static void post(hv_webhooks *w, wh_msg *head, wh_msg **tail)
{
    uv_mutex_lock(&w->mu);
    if (!w->stop) {
        *w->inbox_tail = head;
        w->inbox_tail = tail;
        head = NULL;
        uv_async_send(&w->wake); /* under the lock: the handle is open while !stop */
    }
    uv_mutex_unlock(&w->mu);
    free_msgs(head);
}

void hv_webhooks_enqueue(hv_webhooks *w, const hv_outbox_new *rows, size_t n, hv_event **evs)
{
    if (!w || !n)
        return;
    wh_msg *head = NULL, **tail = &head;
    for (size_t i = 0; i < n; i++) {
        wh_msg *m = hv_xcalloc(1, sizeof(*m));
        m->kind = WH_MSG_ROW;
        m->row_id = rows[i].id;
        snprintf(m->endpoint_id, sizeof(m->endpoint_id), "%s", rows[i].endpoint_id);
        m->ev = hv_event_ref(evs[rows[i].event_index]);
        m->next_at_ms = rows[i].next_at_ms;
        *tail = m;
        tail = &m->next;
    }
    post(w, head, tail);
}

void hv_webhooks_replay(hv_webhooks *w, const char *endpoint_id, const uint64_t *event_ids, size_t n)
{
    if (!w || !n)
        return;
    wh_msg *m = hv_xcalloc(1, sizeof(*m));
    m->ids = hv_xmalloc(n * sizeof(*m->ids));
    m->kind = WH_MSG_REPLAY;
    snprintf(m->endpoint_id, sizeof(m->endpoint_id), "%s", endpoint_id);
    memcpy(m->ids, event_ids, n * sizeof(*m->ids));
    m->nids = n;
    post(w, m, &m->next);
}

void hv_webhooks_retry(hv_webhooks *w, const char *endpoint_id, uint64_t outbox_id)
{
    if (!w)
        return;
    wh_msg *m = hv_xcalloc(1, sizeof(*m));
    m->kind = WH_MSG_RETRY;
    snprintf(m->endpoint_id, sizeof(m->endpoint_id), "%s", endpoint_id);
    m->row_id = outbox_id;
    post(w, m, &m->next);
}

void hv_webhooks_kick(hv_webhooks *w)
{
    if (!w)
        return;
    uv_mutex_lock(&w->mu);
    if (!w->stop) {
        w->kick = 1;
        uv_async_send(&w->wake);
    }
    uv_mutex_unlock(&w->mu);
}

void hv_webhooks_stats(hv_webhooks *w, hv_webhook_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!w)
        return;
    out->delivered = atomic_load(&w->delivered);
    out->failed_attempts = atomic_load(&w->failed_attempts);
    out->gave_up = atomic_load(&w->gave_up);
    int_fast64_t f = atomic_load(&w->in_flight), q = atomic_load(&w->queued);
    out->in_flight = f > 0 ? (uint64_t)f : 0;
    out->queued = q > 0 ? (uint64_t)q : 0;
    out->breakers_open = hv__webhooks_breakers_open(w);
    hv__webhook_rl_stats(w, out);
}
