/* SPDX-License-Identifier: MIT */
/* endpoints.h — webhook endpoints: who gets which events, how, signed
 * with what.
 *
 * An endpoint is an immutable, reference-counted snapshot: an update
 * builds a new snapshot and swaps it in, so the hub (matching events at
 * commit time), the delivery engine and the API read endpoints without
 * holding the lock for long. Endpoints are stored as state records (kv
 * namespace "webhook") committed with the events of their changes.
 * A room created with a webhookUrl gets a room endpoint (id "room_<room
 * id>", protobuf, that room only) registered before room.created is
 * committed; the hub retires it once room.deleted is matched to it, and it
 * disappears when its last delivery is done.
 */
#ifndef HV_ENDPOINTS_H
#define HV_ENDPOINTS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/result.h"
#include "hub/hub.h"
#include "store/outbox.h"
#include "store/shared.h"

/* The namespace of the store's key-value state endpoints are kept in. */
#define HV_NS_WEBHOOK "webhook"

enum { HV_WH_JSON = 0, HV_WH_PROTOBUF = 1, HV_WH_JELLYFISH_JSON = 2 };

typedef struct hv_endpoint {
    atomic_int refs;
    char id[HV_ENDPOINT_ID_SIZE];
    char *url;
    int format;               /* HV_WH_* */
    char **types;             /* globs such as "peer.*"; none = every type */
    size_t ntypes;
    char **rooms;             /* room ids; none = every room (and none) */
    size_t nrooms;
    char *secret;             /* "whsec_<base64>" */
    char *prev_secret;        /* still signed with until prev_until_ms (rotation) */
    int64_t prev_until_ms;
    char *description;
    int enabled;
    char *disabled_reason;    /* why it was disabled, or NULL */
    int64_t disabled_ms;      /* when it was disabled (ms since the epoch), 0 while enabled */
    int room_webhook;         /* made by a room's webhookUrl */
    int batch;                /* room webhook of a room created with batchWebhookNotifications:
                               * bodies are ServerMessage{notification_batch} (webhooks.c) */
    int retired;              /* room deleted: matches nothing more */
    int64_t created_ms;
    struct hv_filter *filter; /* payload filter (event_filter.h), NULL: none; shared by snapshots */
    /* issue 18 items 4 and 3 (endpoint_delivery.c) */
    struct hv_wh_schedules *retry; /* its own retry schedules (webhook_schedules.h); NULL = the server's */
    int breaker_threshold;         /* failures in a row that pause it; -1 = --webhook-breaker-threshold */
    /* issue 18 item 6 (endpoint_jsonbatch.c, webhook_jsonbatch.c): batched
     * JSON delivery, "batch" in the API; jb_max_events 0 = off */
    int jb_max_events, jb_max_wait_ms, jb_gzip;
    /* issue 18 item 2 (endpoint_ratelimit.c, enforced by webhook_ratelimit.c) */
    double rate_per_second;        /* requests per second; 0 = no limit */
    int rate_burst;
} hv_endpoint;

typedef struct hv_endpoints hv_endpoints;

/* Loads the endpoints from the store (before the hub starts). */
hv_endpoints *hv_endpoints_new(hv_server *srv);
void hv_endpoints_free(hv_endpoints *e);

/* The registry's lock: the hub holds it while it undoes the changes of a
 * commit that stored nothing (hub.h, hv_undo). */
void hv_endpoints_lock(hv_endpoints *e);
void hv_endpoints_unlock(hv_endpoints *e);

/* A reference to the current snapshot of id, or NULL. */
hv_endpoint *hv_endpoints_get(hv_endpoints *e, const char *id);
hv_endpoint *hv_endpoint_ref(hv_endpoint *ep);
void hv_endpoint_unref(hv_endpoint *ep);

/* 1 when ep (enabled or not) wants ev: type glob, room filter, and a
 * protobuf form for protobuf endpoints. */
int hv_endpoint_wants(const hv_endpoint *ep, const hv_event *ev);

/* Hub thread, preparing a commit: calls fn(arg, endpoint id) for every
 * enabled endpoint that wants ev (a disabled one gets no deliveries: a
 * replay catches it up once enabled again); retires a room endpoint on its
 * room.deleted, adding the changed record to kv. */
void hv_endpoints_match(hv_endpoints *e, const hv_event *ev, hv_kvlist *kv,
                        void (*fn)(void *arg, const char *endpoint_id), void *arg);

/* The API's view of endpoints (JSON text, secrets left out). */
char *hv_endpoints_list_json(hv_endpoints *e);

/* API operations; each returns a result (core/result.h; api/ makes it an
 * HTTP status) with *out the JSON answer or the error message (see
 * api/webhooks.c for the bodies; NULL for HV_DELETED). Changes are
 * committed through the hub before the answer (reply.done). */
typedef hv_reply hv_ep_reply;
hv_result hv_endpoints_create(hv_endpoints *e, const char *body, size_t len, char **out, hv_ep_reply reply);
hv_result hv_endpoints_get_json(hv_endpoints *e, const char *id, char **out);
hv_result hv_endpoints_update(hv_endpoints *e, const char *id, const char *body, size_t len, char **out,
                        hv_ep_reply reply);
hv_result hv_endpoints_delete(hv_endpoints *e, const char *id, char **out, hv_ep_reply reply);
hv_result hv_endpoints_set_enabled(hv_endpoints *e, const char *id, int enabled, char **out, hv_ep_reply reply);

/* Disables an endpoint (410 Gone, or failing for too long): stores it and
 * emits component.crashed {"component_id": id, "room_id"?: …, "reason"}.
 * Any thread. */
void hv_endpoints_disable(hv_endpoints *e, const char *id, const char *reason);

/* Commits one of herald's own alerts about an endpoint (type
 * "herald.endpoint_paused" / "herald.endpoint_resumed", data a JSON object
 * with "endpoint_id"), as hv_endpoints_disable does herald.endpoint_disabled.
 * Any thread. */
void hv_endpoints_alert(hv_endpoints *e, const char *type, const char *data);

/* A room endpoint has delivered everything it will ever get: forget it. */
void hv_endpoints_drop_retired(hv_endpoints *e, const char *id);

/* Across nodes sharing one store: applies an endpoint change another node
 * committed (namespace "webhook"; others are ignored), read from the
 * store's change feed (hub/replica.c). Commits nothing. */
void hv_endpoints_apply(hv_endpoints *e, const hv_kv_entry *entry);
/* Calls each(arg, id) for every endpoint (namespace "webhook"). */
void hv_endpoints_keys(hv_endpoints *e, const char *ns, void (*each)(void *arg, const char *key),
                       void *arg);

/* Room webhooks (called by the rooms registry with its lock held, before
 * it commits room.created; kv receives the endpoint's record). batch: the
 * room asked for batchWebhookNotifications. */
void hv_endpoints_add_room(hv_endpoints *e, const char *room_id, const char *url, int batch, hv_kvlist *kv);

/* Signing: the value of the webhook-signature header for id, timestamp and
 * body ("v1,<base64>" per secret, space-separated). out holds 256 bytes. */
void hv_webhook_sign(const hv_endpoint *ep, const char *msg_id, int64_t ts, const void *body,
                     size_t len, int64_t now_ms, char out[256]);
/* HMAC of one secret; returns -1 when the secret is not "whsec_<base64>". */
int hv_webhook_signature(const char *secret, const char *msg_id, int64_t ts, const void *body,
                         size_t len, char out[64]);
/* Fishjam's room webhook signature (SDK 0.29 verifyWebhookSignature): the
 * value of x-fishjam-signature-256, "sha256=" + lowercase hex of
 * HMAC-SHA256(key = the secret's bytes, the raw body). -1 on an OpenSSL
 * failure (out is then ""). */
#define HV_FISHJAM_SIG_SIZE 72 /* "sha256=" + 64 hex + NUL */
int hv_webhook_fishjam_signature(const char *secret, const void *body, size_t len,
                                 char out[HV_FISHJAM_SIG_SIZE]);
/* A new secret "whsec_" + base64 of 32 random bytes. */
void hv_webhook_secret_new(char out[64]);

#endif
