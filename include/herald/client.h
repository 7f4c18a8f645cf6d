/* SPDX-License-Identifier: MIT */
/* herald/client.h — the C client library of the herald notification server.
 *
 * Independent parts:
 *
 *   1. The notifier: a WebSocket client of the server notifier socket
 *      (GET /socket/server/websocket, JSON variant). It authenticates with
 *      the server token, subscribes to server notifications and/or metrics
 *      and calls back once per event. It runs on the caller's libuv loop
 *      (herald_notifier_start) or on a thread of its own
 *      (herald_notifier_start_thread).
 *   2. REST calls: herald_publish, herald_publish_json and herald_history,
 *      synchronous (libcurl), safe to call from any thread.
 *   3. Webhook decoding: herald_receive_binary (Fishjam protobuf body) and
 *      herald_receive_json (Jellyfish {"notification": …} body, or herald's
 *      native JSON envelope) turn a webhook body into a herald_notification.
 *   4. Rooms and peers: the Fishjam room REST API (herald_room_*,
 *      herald_peer_*), synchronous like part 2, with the server token.
 *   5. The peer client: an app client's WebSocket
 *      (GET /socket/peer/websocket) authenticated with a peer token, which
 *      receives the events of the peer's room and of the peer itself and
 *      may update the peer's metadata. Runs like the notifier.
 *   6. The subscriber: an app client of the same socket (peer token or
 *      user token) that reconnects by itself with back-off and resumes
 *      from the last event it delivered, so no event is lost or repeated.
 *   7. Webhooks: herald_webhook_verify checks a received request's
 *      Standard Webhooks signature; herald_webhook_* manage the endpoints
 *      (/v1/webhooks…), synchronous like part 2. Declared in
 *      herald/client_webhooks.h, which this header includes: include
 *      herald/client.h only.
 *   8. The publisher: a persistent publishing connection
 *      (GET /v1/events/websocket, server token): pipelined publish frames,
 *      each answered in order with its ids (or the refusal) after the
 *      durable commit; a blocking "publish and wait" and a pipelined
 *      submit/next API, or an answer callback on the caller's loop.
 *      Declared in herald/client_publisher.h, which this header includes.
 *
 * Return codes: 0 on success, a negative HERALD_E* value on failure;
 * herald_strerror() names them. Functions that talk to the server take an
 * error buffer (errbuf, errlen; either may be NULL/0) that receives a
 * human-readable message, the server's {"errors": …} text when there is one.
 *
 * Server URLs look like "http://127.0.0.1:5002" (a path prefix such as
 * "http://host/herald" is kept). NULL means HERALD_DEFAULT_SERVER; a NULL
 * token means HERALD_DEFAULT_TOKEN.
 */
#ifndef HERALD_CLIENT_H
#define HERALD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HERALD_EXTERN __attribute__((visibility("default")))
#else
#define HERALD_EXTERN
#endif

#define HERALD_DEFAULT_SERVER "http://127.0.0.1:5002"
#define HERALD_DEFAULT_TOKEN "development"

/* Error codes (all negative). */
enum herald_error {
    HERALD_OK = 0,
    HERALD_EINVAL = -1,       /* bad argument (URL, JSON, option) */
    HERALD_ENOMEM = -2,       /* out of memory */
    HERALD_ENET = -3,         /* network failure (connect, send, receive) */
    HERALD_EHTTP = -4,        /* the server answered with a 4xx/5xx status */
    HERALD_EPROTO = -5,       /* the server's answer made no sense */
    HERALD_ETIMEDOUT = -6,    /* timed out */
    HERALD_ECLOSED = -7,      /* the notifier connection has ended */
    HERALD_EDECODE = -8,      /* a webhook body that does not decode */
    HERALD_ENOTNOTIF = -9,    /* decodes, but is not a notification */
    HERALD_ESTATE = -10,      /* call not valid in the object's state */
    /* herald_webhook_verify: why a webhook request was not accepted */
    HERALD_EWEBHOOK_HEADER = -11,    /* a webhook-* header is missing or empty */
    HERALD_EWEBHOOK_TIMESTAMP = -12, /* webhook-timestamp is not a number */
    HERALD_EWEBHOOK_TOO_OLD = -13,   /* webhook-timestamp older than the tolerance */
    HERALD_EWEBHOOK_TOO_NEW = -14,   /* webhook-timestamp further ahead than the tolerance */
    HERALD_EWEBHOOK_SIGNATURE = -15, /* no signature matches the secret */
    HERALD_EFULL = -16,       /* herald_publisher: the window is full (take answers first) */
};

/* herald_strerror — a short English description of a HERALD_E* code. */
HERALD_EXTERN const char *herald_strerror(int code);

/* ------------------------------------------------------------------ */
/* 1. Notifier                                                          */
/* ------------------------------------------------------------------ */

/* One server notification as it arrived on the notifier socket. Every
 * pointer is valid only during the callback; absent optional fields are
 * NULL. */
typedef struct herald_event {
    uint64_t id;            /* the event id (also as text in id_str) */
    const char *id_str;     /* decimal, as sent */
    const char *type;       /* e.g. "room.created" */
    const char *room_id;    /* NULL when the event has none */
    const char *user_id;    /* NULL when the event has none */
    const char *timestamp;  /* ISO 8601 UTC, e.g. "2026-11-22T10:00:00.123Z" */
    const char *data;       /* compact JSON text of the payload, "{}" if none */
    const char *raw;        /* the whole envelope text, NUL-terminated */
    size_t raw_len;
} herald_event;

/* Subscription flags of herald_notifier_options.subscriptions. */
#define HERALD_SUBSCRIBE_SERVER_NOTIFICATIONS 0x1u
#define HERALD_SUBSCRIBE_METRICS 0x2u

typedef struct herald_notifier_options {
    const char *server;       /* base URL; NULL: HERALD_DEFAULT_SERVER */
    const char *token;        /* server token; NULL: HERALD_DEFAULT_TOKEN */
    unsigned subscriptions;   /* HERALD_SUBSCRIBE_* bits; 0: notifications */
    int timeout_ms;           /* connect+handshake+auth limit; 0: 10000 */

    /* Callbacks, all optional, all called on the notifier's loop thread. */
    /* Authenticated and every subscription acknowledged. */
    void (*on_ready)(void *user);
    /* One event. */
    void (*on_server_notification)(const herald_event *ev, void *user);
    /* One metrics report: the whole message text,
     * {"type":"metrics.report","timestamp":…,"data":{…}}. */
    void (*on_metrics)(const char *json, void *user);
    /* The connection has ended; called exactly once per start, unless the
     * notifier was freed first. code is the server's close code (e.g. 1000
     * "invalid token", 1001 server shutdown, 4001 "slow consumer"), or
     * 1006 with a description when the connection failed or broke without
     * a close frame. */
    void (*on_close)(int code, const char *reason, void *user);
    void *user;
} herald_notifier_options;

typedef struct herald_notifier herald_notifier;

/* herald_notifier_new — creates a notifier from options (copied). Does not
 * connect. Returns NULL on a bad URL (only http:// and ws:// are
 * supported) or out of memory; errbuf then says why. */
HERALD_EXTERN herald_notifier *herald_notifier_new(const herald_notifier_options *opts,
                                                   char *errbuf, size_t errlen);

/* herald_notifier_start — connects on the caller's loop. Must be called on
 * the loop's thread; the callbacks then run there while the caller runs
 * the loop. A notifier starts once. Returns 0 or a HERALD_E* code. */
HERALD_EXTERN int herald_notifier_start(herald_notifier *n, uv_loop_t *loop);

/* herald_notifier_start_thread — connects on a new thread running a loop
 * of its own; the callbacks run on that thread. Returns 0 or HERALD_E*. */
HERALD_EXTERN int herald_notifier_start_thread(herald_notifier *n);

/* herald_notifier_wait_ready — blocks until the notifier is authenticated
 * and subscribed (0), the connection ended (HERALD_ECLOSED), or timeout_ms
 * passed (HERALD_ETIMEDOUT; a negative timeout waits forever). Call it
 * from any thread except the notifier's loop thread. */
HERALD_EXTERN int herald_notifier_wait_ready(herald_notifier *n, int timeout_ms);

/* herald_notifier_is_ready — 1 when authenticated and subscribed and still
 * connected, else 0. Any thread. */
HERALD_EXTERN int herald_notifier_is_ready(herald_notifier *n);

/* herald_notifier_stop — closes the connection with code 1000 (waiting up
 * to 2 s for the server's close reply). Any thread; returns at once;
 * on_close follows on the loop thread. Harmless when already stopped. */
HERALD_EXTERN void herald_notifier_stop(herald_notifier *n);

/* herald_notifier_free — releases the notifier; no callback is called
 * after it returns. Thread mode: stops and joins the thread. Caller's-loop
 * mode: call on the loop thread, outside the notifier's callbacks; if the
 * connection is still open it is closed and the memory is released once
 * the loop has run the handles' close callbacks. NULL is ignored. */
HERALD_EXTERN void herald_notifier_free(herald_notifier *n);

/* ------------------------------------------------------------------ */
/* 2. REST: publish and history (synchronous, any thread)               */
/* ------------------------------------------------------------------ */

/* herald_publish — publishes one event (POST /v1/events). type is
 * required; room_id, user_id and data_json (a JSON object's text) may be
 * NULL. On success stores the new event id in *id (if id is not NULL). */
HERALD_EXTERN int herald_publish(const char *server, const char *token, const char *type,
                                 const char *room_id, const char *user_id,
                                 const char *data_json, uint64_t *id,
                                 char *errbuf, size_t errlen);

/* The answer of herald_publish_json. Release with herald_publish_result_clear. */
typedef struct herald_publish_result {
    uint64_t *ids;     /* the new ids, in request order */
    size_t count;
    char *response;    /* the server's JSON answer, {"ids":[…]} */
} herald_publish_result;

/* herald_publish_json — posts a raw body (one event object or a JSON
 * array of them) to POST /v1/events. On success fills *out (if not NULL). */
HERALD_EXTERN int herald_publish_json(const char *server, const char *token,
                                      const char *body, size_t len,
                                      herald_publish_result *out,
                                      char *errbuf, size_t errlen);

/* herald_publish_json_idem — herald_publish_json with an Idempotency-Key
 * header (idempotency_key NULL: none; else 1 to 255 printable ASCII
 * characters without spaces, or HERALD_EINVAL). Retrying with the same
 * key and body within the server's --idempotency-window stores nothing
 * new: *out gets the first publish's ids and *replayed (if not NULL) is
 * set to 1 (0 for a fresh publish). The key with another body fails with
 * HERALD_EHTTP, errbuf "Idempotency-Key … was used with a different body
 * (HTTP 409)". Per-event keys: put "idempotency_key" in the events of
 * body and pass NULL here. */
HERALD_EXTERN int herald_publish_json_idem(const char *server, const char *token,
                                           const char *body, size_t len,
                                           const char *idempotency_key,
                                           herald_publish_result *out, int *replayed,
                                           char *errbuf, size_t errlen);

/* herald_publish_result_clear — frees what *r holds and zeroes it. */
HERALD_EXTERN void herald_publish_result_clear(herald_publish_result *r);

/* Filters of herald_history; zero / NULL members are left out. */
typedef struct herald_history_query {
    uint64_t since;        /* exclusive: events with a larger id */
    unsigned limit;        /* at most this many; 0: the server's default */
    const char *room_id;
    const char *user_id;
    const char *type;
} herald_history_query;

/* herald_history — GET /v1/events. On success *json_out gets the server's
 * answer {"events":[<envelope>,…]} as a malloc'd string (free() it).
 * q may be NULL for no filter. */
HERALD_EXTERN int herald_history(const char *server, const char *token,
                                 const herald_history_query *q, char **json_out,
                                 char *errbuf, size_t errlen);

/* ------------------------------------------------------------------ */
/* 3. Webhook bodies                                                    */
/* ------------------------------------------------------------------ */

/* A decoded notification. Strings are malloc'd and NULL when absent (for
 * protobuf bodies, proto3 empty strings count as absent); numbers are 0
 * when absent. Release with herald_notification_clear. */
typedef struct herald_notification {
    char *name;          /* SDK camelCase member name, e.g. "roomCreated" */
    char *type;          /* herald event type, e.g. "room.created" */
    char *room_id;
    char *peer_id;
    int peer_type;       /* PeerType: 1 webrtc, 2 agent, 0 unspecified */
    char *reason;        /* peerCrashed */
    char *metadata;      /* peerMetadataUpdated: JSON text */
    char *component_id;
    char *track_id;      /* track… notifications, vadNotification */
    int track_type;      /* TrackType: 1 video, 2 audio */
    char *track_metadata;
    char *stream_id;     /* livestream notifications */
    char *viewer_id;
    char *streamer_id;
    char *channel_id;
    /* Only for herald's native envelope: */
    char *id;            /* event id, decimal */
    char *user_id;
    char *timestamp;
    char *data;          /* the envelope's data, compact JSON */
    /* A JSON rendering: {"name":"peerAdded","type":"peer.added",
     * "data":{"roomId":"r1","peerId":"p1","peerType":1}} for protobuf
     * bodies (data in the SDK's camelCase shape, proto3 defaults
     * included); for a native envelope data is the envelope's own data
     * and "id", "timestamp", "room_id", "user_id" are added when present. */
    char *json;
} herald_notification;

/* herald_receive_binary — decodes a Fishjam webhook body (a protobuf
 * fishjam.ServerMessage). Returns 0 and fills *out, HERALD_EDECODE for a
 * body that does not decode (or sets no member), HERALD_ENOTNOTIF for a
 * member that is no notification (authenticated, auth_request,
 * subscribe_request, subscribe_response, metrics_report). *out is zeroed
 * first in every case. */
HERALD_EXTERN int herald_receive_binary(const uint8_t *body, size_t len,
                                        herald_notification *out);

/* herald_receive_json — decodes a JSON webhook body: the Jellyfish form
 * {"notification":"<protobuf bytes as a JSON string>"} (code points below
 * 256 taken as bytes) or herald's native envelope {"id":…,"type":…,…}.
 * Same return codes as herald_receive_binary. */
HERALD_EXTERN int herald_receive_json(const char *body, size_t len, herald_notification *out);

/* herald_notification_clear — frees the strings of *n and zeroes it. */
HERALD_EXTERN void herald_notification_clear(herald_notification *n);

/* ------------------------------------------------------------------ */
/* 4. Rooms and peers: the Fishjam room REST API (synchronous)          */
/* ------------------------------------------------------------------ */

/* Every call below sends the server token (NULL: HERALD_DEFAULT_TOKEN) as
 * "Authorization: Bearer", percent-encodes the ids in the path and, on
 * success, hands back the "data" member of the server's answer as
 * malloc'd compact JSON text (free() it). On a 4xx/5xx answer it returns
 * HERALD_EHTTP with the server's message in errbuf (e.g. "Room r1 does not
 * exist (HTTP 404)"). status (may be NULL) receives the HTTP status of
 * the answer, 2xx included, or 0 when none came (network error, bad
 * argument): a missing room or peer is HERALD_EHTTP with *status == 404.
 * Output pointers are set to NULL on failure. */

/* herald_room_create — POST /room. config_json is a RoomConfig object's
 * text, e.g. {"maxPeers":3,"webhookUrl":"http://…","roomId":"r1",
 * "videoCodec":"h264","roomType":"conference","public":false}; NULL means
 * {}. *data_json gets {"room":Room,"fishjam_address":"host:port"}
 * (herald_room_parse_id takes the id from it). */
HERALD_EXTERN int herald_room_create(const char *server, const char *token,
                                     const char *config_json, char **data_json, int *status,
                                     char *errbuf, size_t errlen);

/* herald_room_list — GET /room. *rooms_json gets [Room,…]. */
HERALD_EXTERN int herald_room_list(const char *server, const char *token, char **rooms_json,
                                   int *status, char *errbuf, size_t errlen);

/* herald_room_get — GET /room/{room_id}. *room_json gets the Room:
 * {"id":…,"config":{…},"peers":[Peer,…],"components":[]}. */
HERALD_EXTERN int herald_room_get(const char *server, const char *token, const char *room_id,
                                  char **room_json, int *status, char *errbuf, size_t errlen);

/* herald_room_delete — DELETE /room/{room_id} (204). */
HERALD_EXTERN int herald_room_delete(const char *server, const char *token,
                                     const char *room_id, int *status, char *errbuf,
                                     size_t errlen);

/* herald_peer_add — POST /room/{room_id}/peer. peer_json is the request
 * body, {"type":"webrtc"|"agent","options":{"metadata":{…},
 * "subscribeMode":"auto"|"manual"}}; NULL means
 * {"type":"webrtc","options":{}}. *data_json gets
 * {"peer":Peer,"token":"…","peer_websocket_url":"host:port/socket/peer/websocket"};
 * herald_peer_parse takes the peer id and token from it. A full room is
 * HERALD_EHTTP with *status == 503. */
HERALD_EXTERN int herald_peer_add(const char *server, const char *token, const char *room_id,
                                  const char *peer_json, char **data_json, int *status,
                                  char *errbuf, size_t errlen);

/* herald_peer_delete — DELETE /room/{room_id}/peer/{peer_id} (204). A
 * connected peer's socket is closed with 4004 "peer deleted". */
HERALD_EXTERN int herald_peer_delete(const char *server, const char *token,
                                     const char *room_id, const char *peer_id, int *status,
                                     char *errbuf, size_t errlen);

/* herald_peer_refresh_token — POST /room/{room_id}/peer/{peer_id}/refresh_token.
 * *data_json gets {"token":"…"} (herald_peer_parse(…, NULL, &token) takes
 * it out); the old token stops working. */
HERALD_EXTERN int herald_peer_refresh_token(const char *server, const char *token,
                                            const char *room_id, const char *peer_id,
                                            char **data_json, int *status, char *errbuf,
                                            size_t errlen);

/* herald_peer_parse — takes the peer id (the "peer" object's "id") and
 * the peer token ("token") out of a createPeer answer: the data_json of
 * herald_peer_add, or the whole body {"data":{…}}; also takes the token of
 * a refresh_token answer. peer_id and peer_token may each be NULL when not
 * wanted; each wanted one gets a malloc'd string (free() it). Returns 0,
 * HERALD_EINVAL when json is NULL or not a JSON object, HERALD_EPROTO
 * when a wanted member is missing (both outputs are then NULL), or
 * HERALD_ENOMEM. */
HERALD_EXTERN int herald_peer_parse(const char *json, char **peer_id, char **peer_token);

/* herald_room_parse_id — takes the room id out of a Room object, of the
 * data_json of herald_room_create ({"room":{"id":…},…}), or of either
 * wrapped in {"data":…}. *room_id gets a malloc'd string. Same return
 * codes as herald_peer_parse. */
HERALD_EXTERN int herald_room_parse_id(const char *json, char **room_id);

/* ------------------------------------------------------------------ */
/* 5. Peer client (GET /socket/peer/websocket)                          */
/* ------------------------------------------------------------------ */

/* How the peer client presents its peer token. */
typedef enum herald_peer_auth {
    HERALD_PEER_AUTH_HEADER = 0, /* "Authorization: Bearer <token>" on the upgrade */
    HERALD_PEER_AUTH_QUERY = 1,  /* "?token=<token>" on the upgrade URL */
    HERALD_PEER_AUTH_FRAME = 2,  /* a first text frame {"type":"auth","token":…} */
} herald_peer_auth;

typedef struct herald_peer_client_options {
    const char *server;       /* base URL; NULL: HERALD_DEFAULT_SERVER */
    const char *token;        /* the peer token (from herald_peer_add); required */
    herald_peer_auth auth;    /* default HERALD_PEER_AUTH_HEADER */
    int timeout_ms;           /* connect+handshake+auth limit; 0: 10000 */

    /* Callbacks, all optional, all called on the client's loop thread. */
    /* Authenticated, as peer_id of room room_id (valid during the call). */
    void (*on_ready)(const char *peer_id, const char *room_id, void *user);
    /* One event of the peer's room, or addressed to the peer (user_id ==
     * peer id); the native envelope, see herald_event. */
    void (*on_event)(const herald_event *ev, void *user);
    /* The server refused a message ({"type":"error","message":…}); the
     * connection stays open. */
    void (*on_error)(const char *message, void *user);
    /* The connection has ended; called exactly once per start, unless the
     * client was freed first. code is the server's close code: 4001 "slow
     * consumer", 4002 "replaced by a new connection", 4003 "invalid token"
     * (or "invalid auth request", "authentication timeout"), 4004 "peer
     * deleted", 4005 "room deleted", 1001 server shutdown; or 1006 with a
     * description when the connection failed, broke, or was dropped by
     * herald_peer_client_abort. */
    void (*on_close)(int code, const char *reason, void *user);
    void *user;
} herald_peer_client_options;

typedef struct herald_peer_client herald_peer_client;

/* herald_peer_client_new — creates a peer client from options (copied).
 * Does not connect. Returns NULL when the token is missing, on a bad URL
 * (only http:// and ws://) or out of memory; errbuf then says why. */
HERALD_EXTERN herald_peer_client *herald_peer_client_new(const herald_peer_client_options *opts,
                                                         char *errbuf, size_t errlen);

/* herald_peer_client_start — connects on the caller's loop; call on the
 * loop's thread, then run the loop. Starts once. Returns 0 or HERALD_E*. */
HERALD_EXTERN int herald_peer_client_start(herald_peer_client *pc, uv_loop_t *loop);

/* herald_peer_client_start_thread — connects on a new thread running a
 * loop of its own; the callbacks run on that thread. Returns 0 or
 * HERALD_E*. */
HERALD_EXTERN int herald_peer_client_start_thread(herald_peer_client *pc);

/* herald_peer_client_wait_ready — blocks until authenticated (0), the
 * connection ended (HERALD_ECLOSED), or timeout_ms passed
 * (HERALD_ETIMEDOUT; negative waits forever). Any thread but the loop's. */
HERALD_EXTERN int herald_peer_client_wait_ready(herald_peer_client *pc, int timeout_ms);

/* herald_peer_client_is_ready — 1 when authenticated and still connected,
 * else 0. Any thread. */
HERALD_EXTERN int herald_peer_client_is_ready(herald_peer_client *pc);

/* herald_peer_client_update_metadata — sends
 * {"type":"update_metadata","metadata":<metadata_json>}; the server
 * stores it and emits peer.metadata_updated (which this client receives
 * too). metadata_json is any JSON value's text (usually an object). Any
 * thread: the message is queued and sent from the loop thread, after
 * authentication if that has not happened yet; messages go out in call
 * order. Returns 0 when queued, HERALD_EINVAL for text that is not JSON,
 * HERALD_ECLOSED once the connection has ended, HERALD_ENOMEM. */
HERALD_EXTERN int herald_peer_client_update_metadata(herald_peer_client *pc,
                                                     const char *metadata_json);

/* herald_peer_client_stop — closes the connection with code 1000 (waiting
 * up to 2 s for the server's reply), after sending queued metadata
 * updates. Any thread; returns at once; on_close follows. Harmless when
 * already stopped. */
HERALD_EXTERN void herald_peer_client_stop(herald_peer_client *pc);

/* herald_peer_client_abort — drops the connection abruptly: the TCP
 * socket is closed without a close frame, as when the app crashes or its
 * network goes away (the server then reports the peer crashed). Queued
 * messages are discarded. Any thread; returns at once; on_close follows
 * with 1006. */
HERALD_EXTERN void herald_peer_client_abort(herald_peer_client *pc);

/* herald_peer_client_free — releases the client; no callback is called
 * after it returns. Same rules as herald_notifier_free: thread mode
 * stops (close 1000) and joins; caller's-loop mode must be called on the
 * loop thread outside the callbacks, and an open connection is closed
 * with the memory released once the loop has run the close callbacks.
 * NULL is ignored. */
HERALD_EXTERN void herald_peer_client_free(herald_peer_client *pc);

/* ------------------------------------------------------------------ */
/* 6. Subscriber: a peer-socket client that reconnects and resumes      */
/* ------------------------------------------------------------------ */

/* A herald_subscriber is an app client of /socket/peer/websocket (peer
 * token or user token) that survives dropped connections. It
 * authenticates with a first frame {"type":"auth","token":…,"since":"N"}
 * (since left out on a fresh start), remembers the id of the last event
 * it delivered and, when the connection drops, connects again after an
 * exponential back-off with jitter and resumes with since = that id: the
 * server replays what was missed, so the application sees every event
 * exactly once, ids strictly increasing (an event whose id is not above
 * the last delivered one is skipped).
 *
 * Retried ends (with reconnect set): a network failure, a connection lost
 * or refused, a timeout (1006), 1001 server shutting down, 1011, 1012,
 * 1013 too busy, 1014, 4001 slow consumer. Every other end gives up: 1000,
 * 4002 replaced by another connection with the same token, 4003 invalid
 * token / token expired, 4004 peer deleted, 4005 room deleted, 4006
 * dropped, and any code not listed.
 *
 * Back-off: before retry n (n = 1, 2, … counted since the last successful
 * authentication) it waits a random time between d/2 and d, where
 * d = min(backoff_max_ms, backoff_min_ms * 2^(n-1)). */

typedef struct herald_subscriber_options {
    const char *server;       /* base URL; NULL: HERALD_DEFAULT_SERVER */
    const char *token;        /* user token (JWT) or peer token; required */
    uint64_t since;           /* resume after this event id; 0: start live */
    int reconnect;            /* nonzero: reconnect and resume after a retried
                               * end; 0: give up on the first end */
    unsigned backoff_min_ms;  /* first retry delay bound; 0: 250 */
    unsigned backoff_max_ms;  /* largest delay bound; 0: 10000 */
    unsigned max_attempts;    /* retries in a row before giving up; 0: no limit */
    int timeout_ms;           /* connect+handshake+auth limit per attempt; 0: 10000 */

    /* Callbacks, all optional, all called on the subscriber's loop thread. */
    /* Authenticated (on every connection). resumed_after is the since sent
     * with the auth frame, 0 for a fresh start. */
    void (*on_ready)(uint64_t resumed_after, void *user);
    /* One event (native envelope, see herald_event); never a duplicate. */
    void (*on_event)(const herald_event *ev, void *user);
    /* The server no longer holds every event after the since sent: events
     * from the last delivered one up to first_id were lost; the
     * subscription continues live. */
    void (*on_resume_failed)(const char *message, uint64_t first_id, void *user);
    /* The connection ended with code/reason (see herald_peer_client_options
     * on_close) and retry number attempt (1, 2, …) is scheduled. */
    void (*on_reconnect)(unsigned attempt, int code, const char *reason, void *user);
    /* The subscriber has given up, or was stopped (then code is 1000):
     * called exactly once per start, unless the subscriber was freed
     * first. code/reason are those of the last connection's end. */
    void (*on_close)(int code, const char *reason, void *user);
    void *user;
} herald_subscriber_options;

typedef struct herald_subscriber herald_subscriber;

/* herald_subscriber_new — creates a subscriber from options (copied).
 * Does not connect. Returns NULL when the token is missing or holds
 * control characters, on a bad URL (only http:// and ws://), when
 * backoff_min_ms > backoff_max_ms, or out of memory; errbuf then says
 * why. */
HERALD_EXTERN herald_subscriber *herald_subscriber_new(const herald_subscriber_options *opts,
                                                       char *errbuf, size_t errlen);

/* herald_subscriber_start — connects on the caller's loop; call on the
 * loop's thread, then run the loop (the subscriber keeps it alive until
 * on_close). Starts once. Returns 0 or HERALD_E*. */
HERALD_EXTERN int herald_subscriber_start(herald_subscriber *sub, uv_loop_t *loop);

/* herald_subscriber_start_thread — the same on a new thread running a loop
 * of its own; the callbacks run on that thread. Returns 0 or HERALD_E*. */
HERALD_EXTERN int herald_subscriber_start_thread(herald_subscriber *sub);

/* herald_subscriber_last_id — the id of the last event delivered to
 * on_event (options.since before the first one). Pass it as since to a
 * later subscriber to continue where this one stopped. Any thread. */
HERALD_EXTERN uint64_t herald_subscriber_last_id(herald_subscriber *sub);

/* herald_subscriber_stop — stops for good: closes the connection with
 * code 1000 (or cancels a pending retry); on_close follows on the loop
 * thread. Any thread; returns at once. Harmless when already stopped. */
HERALD_EXTERN void herald_subscriber_stop(herald_subscriber *sub);

/* herald_subscriber_free — releases the subscriber; no callback is called
 * after it returns. Thread mode: stops and joins the thread. Caller's-loop
 * mode: call on the loop thread, outside the subscriber's callbacks; a
 * running subscriber is stopped and its memory released once the loop has
 * run the handles' close callbacks. NULL is ignored. */
HERALD_EXTERN void herald_subscriber_free(herald_subscriber *sub);

/* ------------------------------------------------------------------ */
/* User tokens (JWT)                                                    */
/* ------------------------------------------------------------------ */

/* A user token authenticates an app client as one user on the peer
 * socket, SSE and the access-id API: a JWT signed with HS256 under the
 * secret configured in herald, normally minted by the user's own backend.
 * The server reads "sub" (the user id: the user's own channel), "exp"
 * and the optional "rooms" (the only rooms the token may read). */

/* herald_token_mint — mints a user token for user_id, valid for ttl_s
 * seconds from now: HS256 under secret, claims "sub" (user_id), "iat",
 * "exp" and, when nrooms > 0, "rooms" (the nrooms strings of rooms).
 * user_id and each room id must be 1–256 bytes, nrooms at most 1000,
 * ttl_s positive (the server allows 30 s of clock skew on exp). Returns 0
 * with *token_out a malloc'd NUL-terminated string (release with free()),
 * or HERALD_EINVAL (bad argument; errbuf says which) / HERALD_ENOMEM with
 * *token_out NULL. Makes no network call; safe from any thread. */
HERALD_EXTERN int herald_token_mint(const char *secret, const char *user_id,
                                    const char *const *rooms, size_t nrooms, int64_t ttl_s,
                                    char **token_out, char *errbuf, size_t errlen);

/* 7. Webhooks: verifying requests, managing endpoints (its own file,
 * part of this header). */
#include "herald/client_webhooks.h"

/* 8. The publisher: the persistent publishing connection (its own file,
 * part of this header). */
#include "herald/client_publisher.h"

/* ------------------------------------------------------------------ */
/* Sinks                                                                */
/* ------------------------------------------------------------------ */

/* herald_sinks_list — GET /v1/sinks (server token): every sink module
 * herald was configured with. *json_out gets {"sinks":[{"name","module",
 * "description","state" (running, retrying, crashed, failed, stopped),
 * "position" (every event up to this id is handled),"last_event_id",
 * "lag","batches","events","failures","attempt","events_filter",
 * "last_error"},…]}. */
HERALD_EXTERN int herald_sinks_list(const char *server, const char *token, char **json_out,
                                    int *status, char *errbuf, size_t errlen);

/* herald_nodes_list — GET /v1/nodes (server token): the herald nodes
 * sharing the store. *json_out gets {"store":"sqlite"|"redis","self",
 * "node_timeout_ms","truncated","max_nodes","leases":{name: holder|null},
 * "nodes":[{"id","alive","state" (alive, silent, left, taken_over),
 * "last_beat","age_ms","sessions","owns":[…], "webhook_rows",
 * "taken_over_at"},…]} (docs/api.md). */
HERALD_EXTERN int herald_nodes_list(const char *server, const char *token, char **json_out,
                                    int *status, char *errbuf, size_t errlen);

/* ------------------------------------------------------------------ */
/* The web console                                                      */
/* ------------------------------------------------------------------ */

/* herald_console_token_create — POST /v1/console/token (server token; a
 * console token cannot mint another): a short-lived token that signs in
 * to the web console (/console/) and works where the server token does
 * on the HTTP API and the server notifier socket. ttl_s: its lifetime in
 * seconds, 1 to 86400, or 0 for the server's default (3600). *json_out
 * gets {"token":"hct_…","expires_at":"<ISO 8601>"}. */
HERALD_EXTERN int herald_console_token_create(const char *server, const char *token, long ttl_s,
                                              char **json_out, int *status, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* HERALD_CLIENT_H */
