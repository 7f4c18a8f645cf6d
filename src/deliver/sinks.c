/* SPDX-License-Identifier: MIT */
/* sinks.c — runs each configured sink on a thread of its own; see sinks.h.
 *
 * Each sink thread runs a small libuv loop with one async handle (woken by
 * the hub's notices, by the module's completions and by stop) and two
 * timers (the batch delay and the retry back-off). The loop is a state
 * machine over one batch at a time:
 *
 *   idle --(new events; batch full or delay over)--> in flight
 *   in flight --(complete 0)--> position stored --> idle
 *   in flight --(complete != 0)--> backing off --(timer)--> in flight (same batch)
 *
 * Everything the status page reads from other threads (state, counters,
 * last error) is behind the sink's mutex or atomic.
 *
 * Several nodes on one store (redis): every node runs every sink's thread,
 * but a sink delivers only on the node holding its lease (hv_store_lease,
 * "sink:<name>", for the node timeout, renewed every quarter of it); the
 * others stand by and ask again at each renewal. Sinks deliver in order
 * from one position, so they are given to one node at a time rather than
 * split across nodes. A node that takes a sink over reloads the sink's
 * position from the store and goes on from there; what the previous holder
 * delivered after its last stored position is delivered again (the
 * exactly-once modules skip it by event id). A holder that cannot renew
 * stops delivering when its lease runs out, as the next holder may start.
 */
#include "deliver/sinks.h"
#include "deliver/sinks_internal.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "codec/envelope.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/sink_config.h"
#include "deliver/event_filter.h"
#include "deliver/sink_module.h"
#include "hub/hub.h"
#include "net/server.h"
#include "store/shared.h"

#define KV_NS "sink"

static void set_state(sink *k, const char *state, const char *error)
{
    uv_mutex_lock(&k->mu);
    k->state = state;
    if (error) {
        free(k->last_error);
        k->last_error = hv_xstrdup(error);
    }
    uv_mutex_unlock(&k->mu);
}

static void host_log(const herald_sink_host *host, int level, const char *fmt, ...)
{
    if (level > hv_log_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hv_log(level < 0 ? 0 : level > 3 ? 3 : level, "sink %s: %s", host->sink_name, msg);
}

static void host_complete(const herald_sink_host *host, const herald_sink_batch *batch, int status,
                          const char *error)
{
    sink *k = host->host_data;
    uv_mutex_lock(&k->mu);
    if (batch == &k->batch && !k->completed && !k->stop) {
        k->completed = 1;
        k->complete_status = status;
        free(k->complete_error);
        k->complete_error = error ? hv_xstrdup(error) : NULL;
        uv_async_send(&k->wake);
    }
    uv_mutex_unlock(&k->mu);
}

/* ---- position and crash reports, committed through the hub ---- */

static void store_position(sink *k)
{
    char v[32];
    snprintf(v, sizeof(v), "%llu", (unsigned long long)atomic_load(&k->pos));
    hv_kvlist kv = {0};
    hv_kvlist_put(&kv, KV_NS, k->spec->name, v);
    if (hv_hub_commit(k->set->srv->hub, NULL, 0, &kv, NULL, NULL, NULL, NULL) != 0)
        hv_kvlist_clear(&kv);
}

static hv_event *json_event(const char *type, json_t *d)
{
    char *data = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    hv_event *ev = hv_event_new(type, NULL, NULL, data, strlen(data));
    free(data);
    return ev;
}

/* component.crashed for SDK 0.25 listeners (0.27+ ignore that member), and
 * herald.sink_crashed, herald's own type, that JSON listeners, webhooks and
 * the history carry (issue 15 item 7); committed together. */
/* A module's error text as JSON can take it: json_pack refuses text that
 * is not UTF-8 (and would give NULL), so such text is cut to printable
 * ASCII. Malloc'd. */
static char *json_safe(const char *s)
{
    json_t *probe = json_string(s);
    char *out = hv_xstrdup(s);
    if (!probe)
        for (char *p = out; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                *p = '?';
    json_decref(probe);
    return out;
}

static void report_crash(sink *k, const char *reason)
{
    char *why = json_safe(reason ? reason : "failing");
    hv_event **evs = hv_xmalloc(2 * sizeof(*evs));
    evs[0] = json_event("component.crashed", json_pack("{s:s,s:s,s:s}", "component_id", k->spec->name,
                                                       "component_type", "sink", "reason", why));
    evs[1] = json_event("herald.sink_crashed", json_pack("{s:s,s:s,s:s}", "sink", k->spec->name,
                                                         "module", k->spec->module, "reason", why));
    free(why);
    if (hv_hub_publish(k->set->srv->hub, evs, 2, NULL, NULL, NULL) != 0)
        hv_warn("sink %s: could not emit component.crashed (stopping)", k->spec->name);
}

/* ---- the batch in flight ---- */

static void batch_free(sink *k)
{
    for (size_t i = 0; i < k->batch.n; i++) {
        hv_event_unref(k->evs[i]);
        free(k->envs[i]);
    }
    free(k->evs);
    free(k->envs);
    free(k->sev);
    k->evs = NULL;
    k->envs = NULL;
    k->sev = NULL;
    memset(&k->batch, 0, sizeof(k->batch));
    k->in_flight = 0;
}

static void deliver(sink *k)
{
    uv_mutex_lock(&k->mu);
    k->completed = 0;
    uv_mutex_unlock(&k->mu);
    k->batch.attempt++;
    atomic_store(&k->attempt, k->batch.attempt);
    k->in_flight = 1;
    k->mod.table->deliver(k->inst, &k->batch);
}

/* The sink's payload filter ("filter", issue 18 item 5); its own parse
 * of the data: each sink runs on its own thread. */
static int sink_filter_passes(const hv_sink_spec *spec, const hv_event *ev)
{
    if (!spec->filter)
        return 1;
    hv_filter_subject subj;
    hv_filter_subject_init(&subj, ev);
    int r = hv_filter_match(spec->filter, &subj);
    hv_filter_subject_done(&subj);
    return r;
}

/* Takes the matching events of a page as the next batch (the others are
 * skipped); 1 when there is one, 0 when the page had none. */
static int build_batch(sink *k, hv_event **page, size_t n)
{
    k->scanned_through = page[n - 1]->id; /* before the page's events are released */
    k->evs = hv_xmalloc(n * sizeof(*k->evs));
    k->envs = hv_xmalloc(n * sizeof(*k->envs));
    k->sev = hv_xcalloc(n, sizeof(*k->sev));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        hv_event *ev = page[i];
        if (!hv_sink_spec_wants(k->spec, ev->type) || !sink_filter_passes(k->spec, ev)) {
            hv_event_unref(ev);
            continue;
        }
        size_t len;
        k->evs[m] = ev;
        k->envs[m] = hv_envelope_json(ev, &len);
        k->sev[m] = (herald_sink_event){.id = ev->id,
                                        .time_ms = ev->time_ms,
                                        .type = ev->type,
                                        .room_id = ev->room_id,
                                        .user_id = ev->user_id,
                                        .data = ev->data,
                                        .data_len = ev->data_len,
                                        .envelope = k->envs[m],
                                        .envelope_len = len};
        m++;
    }
    k->batch = (herald_sink_batch){.events = k->sev, .n = m};
    if (m == 0)
        batch_free(k);
    return m > 0;
}

static void on_delay(uv_timer_t *t);

/* 1 when the sink should wait for its batch to fill. */
static int wait_for_more(sink *k, uint64_t committed)
{
    const hv_sink_spec *s = k->spec;
    if (!s->max_delay_ms || k->delay_due || committed - atomic_load(&k->pos) >= s->max_events)
        return 0;
    if (!k->delay_armed) {
        k->delay_armed = 1;
        uv_timer_start(&k->delay, on_delay, s->max_delay_ms, 0);
    }
    return 1;
}

static void warn_gap(sink *k, uint64_t first_id)
{
    uint64_t pos = atomic_load(&k->pos);
    if (pos && first_id > pos + 1)
        hv_warn("sink %s: %llu events after id %llu were pruned by retention before it read them",
                k->spec->name, (unsigned long long)(first_id - pos - 1), (unsigned long long)pos);
}

static int holds_lease(const sink *k)
{
    return k->owner && (!k->set->lease_ms || hv_now_ms() < k->owner_until_ms);
}

/* Starts the next batch if there is one and nothing is in flight. */
static void pump(sink *k)
{
    int skipped = 0;
    if (!holds_lease(k))
        return;
    while (!k->in_flight && !k->backing_off) {
        uint64_t committed = atomic_load(&k->committed);
        if (committed <= atomic_load(&k->pos) || wait_for_more(k, committed))
            break;
        hv_history_query q = {.after_id = atomic_load(&k->pos), .limit = k->spec->max_events};
        hv_event **page = NULL;
        size_t n = 0;
        if (hv_store_history(k->set->srv->store, &q, &page, &n) != 0) {
            hv_error("sink %s: cannot read the event log", k->spec->name);
            break;
        }
        if (n == 0) { /* pruned away: nothing left to read below committed */
            free(page);
            atomic_store(&k->pos, committed);
            skipped = 1;
            continue;
        }
        warn_gap(k, page[0]->id);
        int have = build_batch(k, page, n);
        free(page);
        k->delay_due = 0;
        if (!have) {
            atomic_store(&k->pos, k->scanned_through);
            skipped = 1;
            continue;
        }
        deliver(k);
        return; /* the position is stored after the batch */
    }
    if (skipped)
        store_position(k);
}

static uint64_t backoff_ms(const hv_sink_spec *s, unsigned attempt)
{
    double d = (double)s->retry_initial_ms;
    for (unsigned i = 1; i < attempt && d < (double)s->retry_max_ms; i++)
        d *= 2;
    if (d > (double)s->retry_max_ms)
        d = (double)s->retry_max_ms;
    d *= 0.8 + 0.4 * ((double)rand() / RAND_MAX); /* +-20 % jitter */
    return d < 1 ? 1 : (uint64_t)d;
}

static void on_backoff(uv_timer_t *t)
{
    sink *k = t->data;
    k->backing_off = 0;
    deliver(k);
}

static void on_failure(sink *k, const char *error)
{
    atomic_fetch_add(&k->failures, 1);
    int64_t now = hv_now_ms();
    if (!k->failing_since_ms)
        k->failing_since_ms = now;
    const char *why = error && *error ? error : "the module reported a failure";
    hv_warn("sink %s: batch of %zu events (ids %llu-%llu) failed, attempt %u: %s", k->spec->name,
            k->batch.n, (unsigned long long)k->batch.events[0].id,
            (unsigned long long)k->batch.events[k->batch.n - 1].id, k->batch.attempt, why);
    int crashed = (double)(now - k->failing_since_ms) >= k->spec->crash_after_s * 1000;
    set_state(k, crashed ? "crashed" : "retrying", why);
    if (crashed && !k->crash_reported) {
        k->crash_reported = 1;
        hv_error("sink %s: failing for %.0f s, marked crashed (retrying every %llu ms at most)",
                 k->spec->name, k->spec->crash_after_s, (unsigned long long)k->spec->retry_max_ms);
        report_crash(k, why);
    }
    k->backing_off = 1;
    uv_timer_start(&k->backoff, on_backoff, backoff_ms(k->spec, k->batch.attempt), 0);
}

static void on_success(sink *k)
{
    atomic_fetch_add(&k->batches, 1);
    atomic_fetch_add(&k->events, k->batch.n);
    int mine = holds_lease(k); /* else the next holder's position counts */
    if (mine)
        atomic_store(&k->pos, k->scanned_through);
    if (k->failing_since_ms)
        hv_info("sink %s: delivering again after %u attempts", k->spec->name, k->batch.attempt);
    k->failing_since_ms = 0;
    k->crash_reported = 0;
    atomic_store(&k->attempt, 0);
    set_state(k, mine ? "running" : "standby", NULL);
    batch_free(k);
    if (mine)
        store_position(k);
}

static void load_own_position(void *arg, const char *key, const char *value)
{
    sink *k = arg;
    if (!strcmp(key, k->spec->name))
        atomic_store(&k->pos, strtoull(value, NULL, 10));
}

/* Asks for (or renews) the sink's lease; on taking it, goes on from the
 * position the previous holder stored. */
static void on_lease(uv_timer_t *t)
{
    sink *k = t->data;
    char name[300];
    snprintf(name, sizeof(name), "sink:%s", k->spec->name);
    int64_t asked = hv_now_ms();
    int held = hv_store_lease(k->set->srv->store, name, k->set->lease_ms);
    if (held == 1) {
        k->owner_until_ms = asked + k->set->lease_ms;
        if (!k->owner) {
            k->owner = 1;
            hv_store_kv_snapshot(k->set->srv->store, KV_NS, load_own_position, k);
            hv_info("sink %s: this node runs it now, from event %llu", k->spec->name,
                    (unsigned long long)atomic_load(&k->pos));
            set_state(k, "running", NULL);
            store_position(k);
        }
        pump(k);
    } else if (k->owner && (held == 0 || !holds_lease(k))) {
        k->owner = 0;
        hv_warn("sink %s: %s", k->spec->name,
                held == 0 ? "another node runs it now" : "lease lost (store unreachable)");
        set_state(k, "standby", NULL);
    } else if (!k->owner) {
        set_state(k, "standby", NULL);
    }
}

static void on_delay(uv_timer_t *t)
{
    sink *k = t->data;
    k->delay_armed = 0;
    k->delay_due = 1;
    pump(k);
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_wake(uv_async_t *a)
{
    sink *k = a->data;
    uv_mutex_lock(&k->mu);
    int stop = k->stop, completed = k->completed, status = k->complete_status;
    char *error = k->complete_error;
    k->complete_error = NULL;
    if (completed)
        k->completed = 2; /* seen: later complete() calls for it are ignored */
    uv_mutex_unlock(&k->mu);
    if (stop) {
        free(error);
        uv_walk(&k->loop, close_handle, NULL);
        return;
    }
    if (!k->inst) { /* failed at create: idle until stopped */
        free(error);
        return;
    }
    if (completed == 1 && k->in_flight) {
        if (status == 0)
            on_success(k);
        else
            on_failure(k, error);
    }
    free(error);
    pump(k);
}

static void sink_thread(void *arg)
{
    sink *k = arg;
    char err[512] = "";
    k->inst = k->mod.table->create(&k->host, k->spec->config_json, err, sizeof(err));
    if (!k->inst) {
        hv_error("sink %s: module %s refused its config: %s", k->spec->name, k->mod.table->name,
                 err[0] ? err : "no reason given");
        set_state(k, "failed", err[0] ? err : "create failed");
    } else if (k->set->lease_ms) { /* runs where it holds the lease */
        hv_info("sink %s: module %s started; asking for its lease", k->spec->name,
                k->mod.table->name);
        uint64_t every = (uint64_t)(k->set->lease_ms / 4);
        uv_timer_start(&k->lease, on_lease, 0, every > 1000 ? 1000 : every);
    } else {
        k->owner = 1;
        set_state(k, "running", NULL);
        hv_info("sink %s: module %s started at event %llu", k->spec->name, k->mod.table->name,
                (unsigned long long)atomic_load(&k->pos));
        store_position(k); /* a new sink's starting point survives a restart */
        pump(k);
    }
    uv_run(&k->loop, UV_RUN_DEFAULT);
    if (k->owner && k->set->lease_ms) { /* the next node need not wait for it to expire */
        char name[300];
        snprintf(name, sizeof(name), "sink:%s", k->spec->name);
        hv_store_lease(k->set->srv->store, name, 0);
    }
    if (k->inst)
        k->mod.table->destroy(k->inst);
    k->inst = NULL;
    if (k->in_flight || k->batch.n)
        batch_free(k);
    set_state(k, "stopped", NULL);
}

/* ---- set-up ---- */

static void load_position(void *arg, const char *key, const char *value)
{
    hv_sinks *s = arg;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->specs[i].name, key))
            atomic_store(&s->sinks[i].pos, strtoull(value, NULL, 10));
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return NULL;
    }
    json_t *arr = json_object_get(root, "sinks");
    char *text = arr ? json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : hv_xstrdup("[]");
    json_decref(root);
    return text;
}

static void init_sink(hv_sinks *s, size_t i)
{
    sink *k = &s->sinks[i];
    k->set = s;
    k->spec = &s->specs[i];
    k->state = "starting";
    uv_mutex_init(&k->mu);
    k->host = (herald_sink_host){.struct_size = sizeof(herald_sink_host),
                                 .abi_version = HERALD_SINK_ABI_VERSION,
                                 .sink_name = k->spec->name,
                                 .log = host_log,
                                 .complete = host_complete,
                                 .host_data = k};
    char err[1200];
    if (hv_sink_module_load(&k->mod, s->dir, k->spec->module, err, sizeof(err)) != 0) {
        hv_error("sink %s: %s", k->spec->name, err);
        k->state = "failed";
        k->last_error = hv_xstrdup(err);
        return;
    }
    uint32_t v = k->mod.table->abi_version;
    if (v != HERALD_SINK_ABI_VERSION) /* another minor: runs with the fields both know */
        hv_info("sink %s: module %s (%s) is built for sink ABI %u.%u (table of %u bytes), this herald has "
                "%u.%u (%zu bytes): loaded",
                k->spec->name, k->mod.table->name, k->mod.path, (unsigned)HERALD_SINK_ABI_MAJOR_OF(v),
                (unsigned)HERALD_SINK_ABI_MINOR_OF(v), (unsigned)k->mod.module_size, HERALD_SINK_ABI_MAJOR,
                HERALD_SINK_ABI_MINOR, sizeof(herald_sink_module));
    k->loaded = 1;
}

hv_sinks *hv_sinks_new(hv_server *srv)
{
    hv_sinks *s = hv_xcalloc(1, sizeof(*s));
    s->srv = srv;
    uv_mutex_init(&s->mu);
    if (hv_store_shared(srv->store))
        s->lease_ms = (int64_t)(srv->cfg.node_timeout_s * 1000);
    if (srv->cfg.modules_dir[0])
        snprintf(s->dir, sizeof(s->dir), "%s", srv->cfg.modules_dir);
    else
        hv_sink_default_dir(s->dir, sizeof(s->dir));
    if (!srv->cfg.config_path[0])
        return s;
    char err[2048];
    char *text = read_file(srv->cfg.config_path, err, sizeof(err));
    if (!text || hv_sink_specs_parse(text, &s->specs, &s->n, err, sizeof(err)) != 0) {
        hv_error("config %s: %s", srv->cfg.config_path, err);
        free(text);
        hv_sinks_free(s);
        return NULL;
    }
    free(text);
    s->sinks = hv_xcalloc(s->n, sizeof(*s->sinks));
    uint64_t last = hv_store_last_id(srv->store);
    for (size_t i = 0; i < s->n; i++) {
        atomic_store(&s->sinks[i].pos, s->specs[i].start_at_beginning ? 0 : last);
        atomic_store(&s->sinks[i].committed, last);
        init_sink(s, i);
    }
    hv_store_kv_load(srv->store, KV_NS, load_position, s);
    return s;
}

void hv_sinks_start(hv_sinks *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        sink *k = &s->sinks[i];
        if (!k->loaded)
            continue;
        uv_loop_init(&k->loop);
        uv_async_init(&k->loop, &k->wake, on_wake);
        uv_timer_init(&k->loop, &k->delay);
        uv_timer_init(&k->loop, &k->backoff);
        uv_timer_init(&k->loop, &k->lease);
        k->wake.data = k->delay.data = k->backoff.data = k->lease.data = k;
        if (uv_thread_create(&k->thread, sink_thread, k) != 0) {
            hv_error("sink %s: cannot start its thread", k->spec->name);
            uv_walk(&k->loop, close_handle, NULL);
            uv_run(&k->loop, UV_RUN_DEFAULT);
            uv_loop_close(&k->loop);
            k->loaded = 0;
            set_state(k, "failed", "no thread");
        }
    }
    /* Events committed before notices were let through (the listener is
     * already open): catch up with the store's newest id now. */
    uint64_t last = hv_store_last_id(s->srv->store);
    uv_mutex_lock(&s->mu);
    s->started = 1;
    for (size_t i = 0; i < s->n; i++)
        if (s->sinks[i].loaded && atomic_load(&s->sinks[i].committed) < last) {
            atomic_store(&s->sinks[i].committed, last);
            uv_async_send(&s->sinks[i].wake);
        }
    uv_mutex_unlock(&s->mu);
}

void hv_sinks_notify(hv_sinks *s, uint64_t last_id)
{
    if (!s)
        return;
    uv_mutex_lock(&s->mu);
    if (s->started)
        for (size_t i = 0; i < s->n; i++)
            if (s->sinks[i].loaded) { /* the hub and the follower both notify: only up */
                uint_fast64_t cur = atomic_load(&s->sinks[i].committed);
                while (cur < last_id &&
                       !atomic_compare_exchange_weak(&s->sinks[i].committed, &cur, last_id))
                    ;
                uv_async_send(&s->sinks[i].wake);
            }
    uv_mutex_unlock(&s->mu);
}

void hv_sinks_stop(hv_sinks *s)
{
    if (!s)
        return;
    uv_mutex_lock(&s->mu);
    int started = s->started;
    s->started = 0;
    uv_mutex_unlock(&s->mu);
    if (!started)
        return;
    for (size_t i = 0; i < s->n; i++) {
        sink *k = &s->sinks[i];
        if (!k->loaded)
            continue;
        uv_mutex_lock(&k->mu);
        k->stop = 1;
        uv_async_send(&k->wake);
        uv_mutex_unlock(&k->mu);
        uv_thread_join(&k->thread);
        uv_loop_close(&k->loop);
        k->loaded = 0;
    }
}

void hv_sinks_free(hv_sinks *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->sinks && i < s->n; i++) {
        sink *k = &s->sinks[i];
        hv_sink_module_unload(&k->mod);
        free(k->last_error);
        free(k->complete_error);
        uv_mutex_destroy(&k->mu);
    }
    free(s->sinks);
    hv_sink_specs_free(s->specs, s->n);
    uv_mutex_destroy(&s->mu);
    free(s);
}
