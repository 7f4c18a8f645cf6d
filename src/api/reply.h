/* SPDX-License-Identifier: MIT */
/* reply.h — answering API requests whose change is committed later.
 *
 * A handler that changes state (a room, a peer, a webhook endpoint) calls
 * its operation with an hv_reply; on failure it answers at once, on
 * success the answer (status and body prepared by the operation) is sent
 * by hv_api_change_done once the hub has made the change durable. Also the
 * one way the API's WebSocket endpoints send a JSON message.
 */
#ifndef HV_API_REPLY_H
#define HV_API_REPLY_H

#include <jansson.h>

#include "core/result.h"
#include "hub/hub.h"
#include "net/conn.h"

/* The HTTP status of a domain result (core/result.h): the one place a
 * registry's answer becomes a status code. */
int hv_api_status_of(hv_result res);

/* Answers status with body (JSON text, freed; NULL for an empty body).
 * Statuses of 300 and up send body as {"errors": body}. */
void hv_api_respond(hv_conn *c, int status, char *body);

/* Sends msg (taken, may be NULL) as one compact JSON text message on the
 * WebSocket c; nothing when it is NULL or cannot be encoded. */
void hv_api_ws_send_json(hv_conn *c, json_t *msg);

/* The two halves of HV_API_RUN_CHANGE: begin makes the reply (holding
 * c); end takes the operation's result and output and either keeps them
 * for the commit's answer (a success) or answers now. */
hv_reply hv_api_change_begin(hv_conn *c);
void hv_api_change_end(hv_conn *c, hv_reply reply, hv_result res, char *out);

/* The text of the 503 for a commit that failed with status (of
 * hv_publish_done): names the cause when the store is unavailable, and
 * says whether anything may have been stored. */
void hv_api_store_failure(hv_server *srv, int status, char *buf, size_t len);

/* Room for one id in hv_api_put_ids: 20 digits, two quotes, a comma. */
#define HV_API_ID_TEXT_MAX 23

/* Writes the ids of evs as JSON strings separated by commas ("7","8"),
 * the inside of a publish answer's "ids" array, at out, which has room for
 * n * HV_API_ID_TEXT_MAX + 1 bytes; NUL-terminated. Returns its length. */
size_t hv_api_put_ids(char *out, hv_event *const *evs, size_t n);

/* While the store is unavailable (hv_store_available), answers 503 and
 * returns 1, so a change is refused before it touches in-memory state;
 * else 0. */
int hv_api_store_refuse(hv_conn *c);

/* Runs call, an operation that may use reply_ and must set out_ and
 * return an hv_result, and answers as described above; while the
 * store is unavailable it answers 503 without running call. */
#define HV_API_RUN_CHANGE(c, call)                      \
    do {                                                \
        if (hv_api_store_refuse(c))                     \
            break;                                      \
        hv_reply reply_ = hv_api_change_begin(c);       \
        char *out_ = NULL;                              \
        hv_result res_ = (call);                        \
        hv_api_change_end((c), reply_, res_, out_);     \
    } while (0)

#endif
