/* SPDX-License-Identifier: MIT */
/* idempotency.h — idempotent publish on the HTTP API (issue 18 item 1):
 * the Idempotency-Key header of POST /v1/events and the per-event
 * idempotency_key of a batch or of /push_events items. */
#ifndef HV_API_IDEMPOTENCY_H
#define HV_API_IDEMPOTENCY_H

#include <stddef.h>

#include <jansson.h>

#include "core/event.h"
#include "hub/hub.h"
#include "net/server.h"

/* A publish with keys, from the handler to its answer. */
typedef struct hv_api_idem {
    hv_idem_claim *claims;
    size_t n;
    char **keys;  /* the per-event keys (owned), or NULL */
    size_t nkeys;
    char *header; /* the Idempotency-Key header (owned), or NULL */
} hv_api_idem;

/* Builds the claims of a parsed publish: the header key (may be NULL)
 * covering the whole body, or the per-event keys (keys[i] NULL: none;
 * taken over). Returns NULL (keys freed) when there is no key at all. */
hv_api_idem *hv_api_idem_new(const char *header, const char *body, size_t len, hv_event **evs,
                             size_t n, char **keys);
void hv_api_idem_free(hv_api_idem *m);

/* A keyed publish on its way to the hub: the callback argument of POST
 * /v1/events and /push_events alike (the connection, held, and its keys). */
typedef struct hv_api_idem_call {
    hv_conn *conn;
    hv_api_idem *idem;
} hv_api_idem_call;

/* Answers a publish with keys whose commit succeeded (status 0): 409 when
 * a key was used with a different body, 503 when a key could not be read,
 * otherwise 201 with each event's id (the first publish's for a replayed
 * key) and Idempotent-Replayed: true when any key was replayed. */
void hv_api_idem_answer(hv_conn *c, const hv_api_idem *m, hv_event **evs, size_t n);

/* When a key of the request was used for something else (409) or could
 * not be read (503): answers that and returns 1; else 0. */
int hv_api_idem_refused(hv_conn *c, const hv_api_idem *m);
/* 1 when a key of the request was replayed (m may be NULL). */
int hv_api_idem_replayed(const hv_api_idem *m);

/* The optional "idempotency_key" of item i of a JSON array (/push_events),
 * copied to keys[i]: 0, or -1 with err set (not a valid key, or a key of
 * an earlier item of the request). */

int hv_api_idem_item_key(json_t *item, size_t i, char **keys, char *err, size_t errlen);

/* The hash a per-event key is compared by (type, room_id, user_id, data),
 * HV_IDEM_HASH_HEX hex digits and a terminator into out; the publishing
 * socket's keys use it too (publish_socket_keys.c). */
void hv_api_idem_hash_event(const hv_event *ev, char *out);

/* Counts on /metrics (issue 18 item 1): keys of m answered as replays
 * (m may be NULL). */
void hv_api_idem_count_replays(hv_server *srv, const hv_api_idem *m);

/* Checks the Idempotency-Key header (value, from r): 0 (absent or valid),
 * or -1 after answering 400 (invalid, or given more than once). */
int hv_api_idem_header(hv_conn *c, const hv_http_req *r, const char *value);

#endif
