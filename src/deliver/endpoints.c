/* SPDX-License-Identifier: MIT */
/* endpoints.c — the webhook endpoint registry; see endpoints.h.
 *
 * A mutex guards the map id -> current snapshot. Readers take a reference
 * to a snapshot and let go of the lock; writers build a new snapshot and
 * swap it in. Every change is stored (kv "webhook") through the hub,
 * together with its event when it has one (component.crashed), and
 * carries its undo: a commit that stores nothing puts the old snapshot
 * back (hub.h, hv_undo).
 */
#include "deliver/endpoints.h"

#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "codec/fishjam_pb.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "deliver/endpoint_filter.h"
#include "deliver/endpoint_json.h"
#include "deliver/webhooks.h"
#include "store/outbox.h"
#include "net/server.h"

#define ROTATION_GRACE_MS (24 * 3600 * 1000LL)

struct hv_endpoints {
    hv_server *srv;
    uv_mutex_t mu;
    hv_map map; /* id -> hv_endpoint */
};

hv_endpoint *hv_endpoint_ref(hv_endpoint *ep)
{
    atomic_fetch_add_explicit(&ep->refs, 1, memory_order_relaxed);
    return ep;
}

void hv_endpoint_unref(hv_endpoint *ep)
{
    if (!ep || atomic_fetch_sub_explicit(&ep->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < ep->ntypes; i++)
        free(ep->types[i]);
    for (size_t i = 0; i < ep->nrooms; i++)
        free(ep->rooms[i]);
    free(ep->types);
    free(ep->rooms);
    free(ep->url);
    free(ep->secret);
    free(ep->prev_secret);
    free(ep->description);
    free(ep->disabled_reason);
    hv_filter_unref(ep->filter);
    free(ep->retry);
    free(ep);
}

static void load_one(void *arg, const char *key, const char *value)
{
    (void)key;
    hv_endpoints *e = arg;
    hv_endpoint *ep = hv_endpoint_from_record(value);
    if (ep)
        hv_endpoint_unref(hv_map_put(&e->map, ep->id, ep));
}

hv_endpoints *hv_endpoints_new(hv_server *srv)
{
    hv_endpoints *e = hv_xcalloc(1, sizeof(*e));
    e->srv = srv;
    uv_mutex_init(&e->mu);
    hv_map_init(&e->map);
    if (hv_store_kv_load(srv->store, HV_NS_WEBHOOK, load_one, e) != 0)
        hv_error("webhooks: could not load the endpoints from the store");
    return e;
}

void hv_endpoints_free(hv_endpoints *e)
{
    if (!e)
        return;
    size_t it;
    for (hv_map_entry *m = hv_map_first(&e->map, &it); m; m = hv_map_next(&e->map, m, &it))
        hv_endpoint_unref(m->value);
    hv_map_free(&e->map);
    uv_mutex_destroy(&e->mu);
    free(e);
}

hv_endpoint *hv_endpoints_get(hv_endpoints *e, const char *id)
{
    uv_mutex_lock(&e->mu);
    hv_endpoint *ep = hv_map_get(&e->map, id);
    if (ep)
        hv_endpoint_ref(ep);
    uv_mutex_unlock(&e->mu);
    return ep;
}

int hv_endpoint_wants(const hv_endpoint *ep, const hv_event *ev)
{
    if (ep->retired)
        return 0;
    if (ep->format != HV_WH_JSON && !hv_fishjam_has_form(ev->type))
        return 0;
    if (ep->nrooms) {
        int in = 0;
        for (size_t i = 0; ev->room_id && i < ep->nrooms && !in; i++)
            in = !strcmp(ep->rooms[i], ev->room_id);
        if (!in)
            return 0;
    }
    if (!ep->ntypes)
        return 1;
    for (size_t i = 0; i < ep->ntypes; i++)
        if (fnmatch(ep->types[i], ev->type, 0) == 0)
            return 1;
    return 0;
}

void hv_endpoints_lock(hv_endpoints *e)
{
    uv_mutex_lock(&e->mu);
}

void hv_endpoints_unlock(hv_endpoints *e)
{
    uv_mutex_unlock(&e->mu);
}

/* The undo of a swap (hub.h, hv_undo): a commit that stored nothing puts
 * the old snapshot back (issue 13, defect 12). */
typedef struct swap_undo {
    hv_endpoints *e;
    char id[HV_ENDPOINT_ID_SIZE];
    hv_endpoint *old, *now; /* references; NULL: no endpoint */
} swap_undo;

static int enabled_of(const hv_endpoint *ep)
{
    return ep && ep->enabled;
}

/* Lock held when failed (the hub holds it). Only the change is undone
 * that is still current: a change another node made since stays. */
static void undo_swap(void *arg, int failed)
{
    swap_undo *u = arg;
    if (failed && hv_map_get(&u->e->map, u->id) == u->now) {
        hv_endpoint *cur = u->old ? hv_map_put(&u->e->map, u->id, hv_endpoint_ref(u->old))
                                  : hv_map_del(&u->e->map, u->id);
        hv_endpoint_unref(cur);
    }
    /* The engine is told of an endpoint enabled or disabled once that is
     * stored (or put back), never of a change that may be undone. */
    if (enabled_of(u->old) != enabled_of(u->now) && u->e->srv->webhooks)
        hv_webhooks_kick(u->e->srv->webhooks);
    hv_endpoint_unref(u->old);
    hv_endpoint_unref(u->now);
    free(u);
}

/* Sets id to ep (NULL: removes it), lock held; the record goes to kv,
 * with the undo of the swap. */
static void swap(hv_endpoints *e, const char *id, hv_endpoint *ep, hv_kvlist *kv)
{
    char *rec = ep ? hv_endpoint_record(ep) : NULL;
    hv_kvlist_put(kv, HV_NS_WEBHOOK, id, rec);
    free(rec);
    swap_undo *u = hv_xcalloc(1, sizeof(*u));
    u->e = e;
    snprintf(u->id, sizeof(u->id), "%s", id);
    u->now = ep ? hv_endpoint_ref(ep) : NULL;
    u->old = ep ? hv_map_put(&e->map, id, ep) : hv_map_del(&e->map, id); /* the map's reference */
    hv_kvlist_undo(kv, undo_swap, u);
}

/* Swaps in a new snapshot (lock held); the record goes to kv. */
static void replace(hv_endpoints *e, hv_endpoint *ep, hv_kvlist *kv)
{
    swap(e, ep->id, ep, kv);
}

/* 1 when a component.crashed, herald.endpoint_disabled or
 * herald.endpoint_paused event is about endpoint id: an endpoint is not
 * sent the news of its own disabling or pausing (it would only wait
 * behind its own breaker). */
static int about(const hv_event *ev, const char *id)
{
    const char *key = !strcmp(ev->type, "component.crashed") ? "component_id" : "endpoint_id";
    char needle[32 + HV_ENDPOINT_ID_SIZE];
    snprintf(needle, sizeof(needle), "\"%s\":\"%s\"", key, id);
    return ev->data && strstr(ev->data, needle) != NULL;
}

void hv_endpoints_match(hv_endpoints *e, const hv_event *ev, hv_kvlist *kv,
                        void (*fn)(void *arg, const char *endpoint_id), void *arg)
{
    uv_mutex_lock(&e->mu);
    size_t it;
    hv_endpoint *retire = NULL;
    int crash = !strcmp(ev->type, "component.crashed") || !strcmp(ev->type, "herald.endpoint_disabled") ||
                !strcmp(ev->type, "herald.endpoint_paused");
    hv_filter_subject subj; /* ev's data, parsed once for all the filters that look at it */
    hv_filter_subject_init(&subj, ev);
    for (hv_map_entry *m = hv_map_first(&e->map, &it); m; m = hv_map_next(&e->map, m, &it)) {
        hv_endpoint *ep = m->value;
        if (!hv_endpoint_accepts(ep, ev, &subj) || (crash && about(ev, ep->id)))
            continue;
        /* A disabled endpoint gets no rows (issue 13, defect 8): rows for
         * it would pin their events against retention for as long as it
         * stays disabled. Replay catches it up after enabling. */
        if (ep->enabled)
            fn(arg, ep->id);
        /* Fishjam semantics: a room's URL is forgotten after room.deleted. */
        if (ep->room_webhook && !strcmp(ev->type, "room.deleted"))
            retire = ep;
    }
    if (retire) {
        hv_endpoint *c = hv_endpoint_clone(retire);
        c->retired = 1;
        replace(e, c, kv);
    }
    uv_mutex_unlock(&e->mu);
    hv_filter_subject_done(&subj);
}

char *hv_endpoints_list_json(hv_endpoints *e)
{
    json_t *arr = json_array();
    uv_mutex_lock(&e->mu);
    size_t it;
    for (hv_map_entry *m = hv_map_first(&e->map, &it); m; m = hv_map_next(&e->map, m, &it)) {
        json_t *v = hv_endpoint_view(m->value, 0);
        hv_webhooks_breaker_view(e->srv->webhooks, m->key, v);
        json_array_append_new(arr, v);
    }
    uv_mutex_unlock(&e->mu);
    json_t *j = json_pack("{s:o}", "webhooks", arr);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* ---- changes ------------------------------------------------------------- */

/* Commits kv (and ev, if any, then ev2, if any) through the hub; lock
 * held, so changes are stored in the order they were made. -1 when the hub
 * is stopping. */
static int commit2(hv_endpoints *e, hv_event *ev, hv_event *ev2, hv_kvlist *kv, hv_ep_reply reply)
{
    hv_event **arr = hv_xmalloc(2 * sizeof(*arr));
    size_t n = 0;
    if (ev)
        arr[n++] = ev;
    if (ev2)
        arr[n++] = ev2;
    int rc = hv_hub_commit(e->srv->hub, arr, n, kv, NULL, reply.origin, reply.done, reply.arg);
    hv_kvlist_clear(kv);
    return rc;
}

static int commit(hv_endpoints *e, hv_event *ev, hv_kvlist *kv, hv_ep_reply reply)
{
    return commit2(e, ev, NULL, kv, reply);
}

static const hv_ep_reply no_reply = {NULL, NULL, NULL};

/* herald.endpoint_disabled, herald's own alert next to component.crashed
 * (which SDK 0.27+ ignores; issue 15 item 7): {"endpoint_id", "reason",
 * "room_id"?}. No room_id on the event itself: it is for the operator's
 * listeners, not the room's app clients. */
static hv_event *disabled_event(const hv_endpoint *ep, const char *room, const char *reason)
{
    json_t *d = json_pack("{s:s,s:s}", "endpoint_id", ep->id, "reason", reason);
    if (room)
        json_object_set_new(d, "room_id", json_string(room));
    char *data = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    hv_event *ev = hv_event_new("herald.endpoint_disabled", NULL, NULL, data, strlen(data));
    free(data);
    return ev;
}

void hv_endpoints_disable(hv_endpoints *e, const char *id, const char *reason)
{
    uv_mutex_lock(&e->mu);
    hv_endpoint *old = hv_map_get(&e->map, id);
    if (old && old->enabled) {
        hv_endpoint *c = hv_endpoint_clone(old);
        c->enabled = 0;
        free(c->disabled_reason);
        c->disabled_reason = hv_xstrdup(reason);
        c->disabled_ms = hv_now_ms();
        const char *room = c->room_webhook && c->nrooms ? c->rooms[0] : NULL;
        json_t *d = json_pack("{s:s,s:s,s:s}", "component_id", c->id, "component_type", "webhook", "reason", reason);
        if (room)
            json_object_set_new(d, "room_id", json_string(room));
        char *data = json_dumps(d, JSON_COMPACT);
        json_decref(d);
        hv_event *ev = hv_event_new("component.crashed", room, NULL, data, strlen(data));
        free(data);
        hv_kvlist kv = {0};
        replace(e, c, &kv); /* its undo kicks the engine: its pending rows are closed */
        hv_warn("webhooks: endpoint %s disabled: %s", id, reason);
        commit2(e, ev, disabled_event(c, room, reason), &kv, no_reply);
    }
    uv_mutex_unlock(&e->mu);
}

void hv_endpoints_alert(hv_endpoints *e, const char *type, const char *data)
{
    hv_event *ev = hv_event_new(type, NULL, NULL, data, strlen(data));
    hv_kvlist kv = {0};
    uv_mutex_lock(&e->mu);
    commit(e, ev, &kv, no_reply);
    uv_mutex_unlock(&e->mu);
}

void hv_endpoints_drop_retired(hv_endpoints *e, const char *id)
{
    uv_mutex_lock(&e->mu);
    hv_endpoint *ep = hv_map_get(&e->map, id);
    if (ep && ep->retired) {
        hv_kvlist kv = {0};
        swap(e, id, NULL, &kv);
        commit(e, NULL, &kv, no_reply);
    }
    uv_mutex_unlock(&e->mu);
}

void hv_endpoints_apply(hv_endpoints *e, const hv_kv_entry *entry)
{
    if (strcmp(entry->ns, HV_NS_WEBHOOK) != 0)
        return;
    hv_endpoint *ep = entry->value ? hv_endpoint_from_record(entry->value) : NULL;
    if (entry->value && !ep)
        return;
    uv_mutex_lock(&e->mu);
    hv_endpoint *old = ep ? hv_map_put(&e->map, ep->id, ep) : hv_map_del(&e->map, entry->key);
    /* An endpoint enabled elsewhere: the rows this node holds are loaded;
     * disabled elsewhere: they are closed. */
    int kick = ep && ep->enabled != (old ? old->enabled : 0);
    hv_endpoint_unref(old);
    uv_mutex_unlock(&e->mu);
    if (kick && e->srv->webhooks)
        hv_webhooks_kick(e->srv->webhooks);
}

void hv_endpoints_keys(hv_endpoints *e, const char *ns, void (*each)(void *arg, const char *key),
                       void *arg)
{
    if (strcmp(ns, HV_NS_WEBHOOK) != 0)
        return;
    uv_mutex_lock(&e->mu);
    size_t it;
    for (hv_map_entry *m = hv_map_first(&e->map, &it); m; m = hv_map_next(&e->map, m, &it))
        each(arg, m->key);
    uv_mutex_unlock(&e->mu);
}

void hv_endpoints_add_room(hv_endpoints *e, const char *room_id, const char *url, int batch, hv_kvlist *kv)
{
    hv_endpoint *ep = hv_endpoint_alloc();
    snprintf(ep->id, sizeof(ep->id), "room_%s", room_id); /* room ids fit: no two share one */
    ep->url = hv_xstrdup(url);
    ep->format = HV_WH_PROTOBUF; /* Fishjam: one raw ServerMessage per POST */
    ep->rooms = hv_xcalloc(1, sizeof(char *));
    ep->rooms[0] = hv_xstrdup(room_id);
    ep->nrooms = 1;
    char secret[64];
    hv_webhook_secret_new(secret);
    ep->secret = hv_xstrdup(secret);
    ep->room_webhook = 1;
    ep->batch = batch;
    ep->created_ms = hv_now_ms();
    uv_mutex_lock(&e->mu);
    replace(e, ep, kv);
    uv_mutex_unlock(&e->mu);
}

/* ---- API operations ------------------------------------------------------ */

static char *view_text(hv_endpoints *e, const hv_endpoint *ep, int with_secret)
{
    json_t *j = hv_endpoint_view(ep, with_secret);
    hv_webhooks_breaker_view(e->srv->webhooks, ep->id, j);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static hv_result bad(char **out, const char *msg)
{
    *out = hv_xstrdup(msg);
    return HV_ERR_INVALID;
}

static hv_result not_found(char **out, const char *id)
{
    char buf[160];
    snprintf(buf, sizeof(buf), "Webhook %.100s does not exist", id);
    *out = hv_xstrdup(buf);
    return HV_ERR_NOT_FOUND;
}

static hv_result stopping(char **out)
{
    free(*out);
    *out = hv_xstrdup("server is shutting down");
    return HV_ERR_UNAVAILABLE;
}

hv_result hv_endpoints_create(hv_endpoints *e, const char *body, size_t len, char **out, hv_ep_reply reply)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return bad(out, "body must be a JSON object");
    }
    hv_endpoint *ep = hv_endpoint_alloc();
    char err[256];
    if (hv_endpoint_apply(ep, j, 1, err, sizeof(err)) != 0) {
        json_decref(j);
        hv_endpoint_unref(ep);
        return bad(out, err);
    }
    json_decref(j);
    char uuid[37];
    hv_uuid4(uuid);
    snprintf(ep->id, sizeof(ep->id), "ep_%.8s%.4s%.4s%.4s", uuid, uuid + 9, uuid + 14, uuid + 19);
    if (!ep->secret) {
        char secret[64];
        hv_webhook_secret_new(secret);
        ep->secret = hv_xstrdup(secret);
    }
    ep->created_ms = hv_now_ms();
    *out = view_text(e, ep, 1); /* the secret is shown once, here */
    uv_mutex_lock(&e->mu);
    hv_kvlist kv = {0};
    replace(e, ep, &kv);
    int rc = commit(e, NULL, &kv, reply);
    uv_mutex_unlock(&e->mu);
    return rc ? stopping(out) : HV_CREATED;
}

hv_result hv_endpoints_get_json(hv_endpoints *e, const char *id, char **out)
{
    hv_endpoint *ep = hv_endpoints_get(e, id);
    if (!ep)
        return not_found(out, id);
    json_t *j = hv_endpoint_view(ep, 0);
    hv_webhooks_breaker_view(e->srv->webhooks, id, j);
    json_object_set_new(j, "pending", json_integer(hv_outbox_pending_count(e->srv->store, id)));
    *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    hv_endpoint_unref(ep);
    return HV_OK;
}

hv_result hv_endpoints_update(hv_endpoints *e, const char *id, const char *body, size_t len, char **out,
                        hv_ep_reply reply)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return bad(out, "body must be a JSON object");
    }
    /* "rotate_secret": true makes a new secret; the old one keeps signing
     * (a second signature) for a day, so receivers can switch over. */
    int rotate = json_is_true(json_object_get(j, "rotate_secret"));
    json_object_del(j, "rotate_secret");
    uv_mutex_lock(&e->mu);
    hv_endpoint *old = hv_map_get(&e->map, id);
    if (!old) {
        uv_mutex_unlock(&e->mu);
        json_decref(j);
        return not_found(out, id);
    }
    hv_endpoint *c = hv_endpoint_clone(old);
    char err[256];
    if (hv_endpoint_apply(c, j, 0, err, sizeof(err)) != 0) {
        uv_mutex_unlock(&e->mu);
        json_decref(j);
        hv_endpoint_unref(c);
        return bad(out, err);
    }
    int new_secret = rotate || (json_object_get(j, "secret") && strcmp(c->secret, old->secret) != 0);
    json_decref(j);
    if (rotate) {
        char secret[64];
        hv_webhook_secret_new(secret);
        free(c->secret);
        c->secret = hv_xstrdup(secret);
    }
    if (new_secret) {
        free(c->prev_secret);
        c->prev_secret = hv_xstrdup(old->secret);
        c->prev_until_ms = hv_now_ms() + ROTATION_GRACE_MS;
    }
    *out = view_text(e, c, new_secret);
    hv_kvlist kv = {0};
    replace(e, c, &kv);
    int rc = commit(e, NULL, &kv, reply);
    uv_mutex_unlock(&e->mu);
    return rc ? stopping(out) : HV_OK;
}

hv_result hv_endpoints_delete(hv_endpoints *e, const char *id, char **out, hv_ep_reply reply)
{
    uv_mutex_lock(&e->mu);
    if (!hv_map_get(&e->map, id)) {
        uv_mutex_unlock(&e->mu);
        return not_found(out, id);
    }
    hv_kvlist kv = {0};
    swap(e, id, NULL, &kv);
    int rc = commit(e, NULL, &kv, reply);
    uv_mutex_unlock(&e->mu);
    *out = NULL;
    return rc ? stopping(out) : HV_DELETED;
}

hv_result hv_endpoints_set_enabled(hv_endpoints *e, const char *id, int enabled, char **out, hv_ep_reply reply)
{
    uv_mutex_lock(&e->mu);
    hv_endpoint *old = hv_map_get(&e->map, id);
    if (!old) {
        uv_mutex_unlock(&e->mu);
        return not_found(out, id);
    }
    hv_endpoint *c = hv_endpoint_clone(old);
    c->enabled = enabled;
    free(c->disabled_reason);
    c->disabled_reason = enabled ? NULL : hv_xstrdup("disabled through the API");
    c->disabled_ms = enabled ? 0 : hv_now_ms(); /* with the reason: both say the latest disable */
    *out = view_text(e, c, 0);
    hv_kvlist kv = {0};
    replace(e, c, &kv); /* once stored, its undo kicks the engine: rows held are loaded or closed */
    int rc = commit(e, NULL, &kv, reply);
    uv_mutex_unlock(&e->mu);
    return rc ? stopping(out) : HV_OK;
}
