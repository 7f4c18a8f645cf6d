/* SPDX-License-Identifier: MIT */
/* client_internal.h — what the files of the herald client library share,
 * and nothing the public header (herald/client.h) offers.
 *
 *   common.c     error strings, the error buffer, the server URL parser
 *   ws_handshake.c  the RFC 6455 opening handshake (request text, response
 *                check with http-parser, Sec-WebSocket-Accept)
 *   ws_client.c  a WebSocket client on a libuv loop, framing by wslay
 *   session.c    what the notifier and the peer client share: a JSON
 *                WebSocket session on the caller's loop or its own thread,
 *                readiness, stop/abort, freeing; event envelope parsing
 *   notifier.c   the notifier (JSON server-notifier protocol)
 *   peer_client.c  the peer client (/socket/peer/websocket)
 *   subscriber.c the subscriber: peer-socket sessions that reconnect and resume
 *   http.c       one synchronous libcurl request, error mapping
 *   rest.c       publish and history
 *   rooms.c      the Fishjam room REST API, createPeer answer parsing
 *   decode.c     webhook body decoding (protobuf reflection, jansson)
 *   webhook_verify.c  Standard Webhooks signature checks and signing
 *   webhooks.c   the webhook endpoints REST API
 *   publisher.c  the publisher (GET /v1/events/websocket): window, queues
 *   publish_frame.c  its body check and answer decoding
 */
#ifndef HERALD_CLIENT_INTERNAL_H
#define HERALD_CLIENT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include <http_parser.h>
#include <jansson.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "herald/client.h"

/* Writes a formatted message into errbuf (if any). Returns code, so that
 * `return herald__fail(HERALD_EINVAL, errbuf, errlen, "…")` reads well. */
int herald__fail(int code, char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A parsed server URL. */
typedef struct herald_url {
    int secure;     /* https:// or wss:// */
    char *host;     /* without IPv6 brackets */
    uint16_t port;
    char *prefix;   /* path prefix without a trailing '/', may be "" */
    char *base;     /* "http(s)://host:port<prefix>", for REST calls */
} herald_url;

/* PATCH /v1/webhooks/{id} with the JSON object b (taken: released here,
 * NULL counts as out of memory): herald_webhook_update's answer. */
int herald__webhook_patch(const char *server, const char *token, const char *id, json_t *b, char **json_out,
                          int *status, char *errbuf, size_t errlen);

/* Parses url (http, https, ws, wss); NULL means HERALD_DEFAULT_SERVER.
 * Returns 0 or HERALD_EINVAL / HERALD_ENOMEM with errbuf filled. */
int herald__url_parse(const char *url, herald_url *u, char *errbuf, size_t errlen);
void herald__url_clear(herald_url *u);

/* ---- the opening handshake (ws_handshake.c) ---- */

#define HERALD_WS_MAX_HEADER_BYTES (16 * 1024)

typedef struct herald_ws_handshake {
    char key[32];               /* our Sec-WebSocket-Key (base64 of 16 bytes) */
    char expect_accept[32];     /* base64(SHA-1(key + GUID)) */
    http_parser parser;
    http_parser_settings settings;
    char field[256];            /* header being parsed (name, lower case) */
    size_t field_len;
    int in_value;               /* last callback was a header value */
    char value[1024];           /* its value so far */
    size_t value_len;
    size_t header_bytes;
    int has_upgrade, has_connection, accept_ok, bad_header, done;
    char error[160];
} herald_ws_handshake;

/* Makes a fresh key and writes the GET request for host:port path into a
 * malloc'd string (*req, *req_len). headers (may be NULL) are extra header
 * lines, each ending in "\r\n". Returns 0 or HERALD_ENOMEM / EPROTO. */
int herald__ws_handshake_begin(herald_ws_handshake *h, const char *host, uint16_t port,
                               const char *path, const char *headers, char **req,
                               size_t *req_len);

/* Feeds response bytes. Returns 1 when the response is complete and
 * valid (*consumed = bytes of data that belonged to it; the rest are
 * WebSocket frames), 0 when more bytes are needed (*consumed = len), -1 on
 * a bad or refused response (h->error says why). */
int herald__ws_handshake_feed(herald_ws_handshake *h, const char *data, size_t len,
                              size_t *consumed);

/* ---- the WebSocket client (ws_client.c) ---- */

typedef struct herald_ws herald_ws;

typedef struct herald_ws_callbacks {
    /* handshake done; messages may be sent */
    void (*on_open)(herald_ws *ws, void *user);
    /* one whole message (text or binary) */
    void (*on_message)(herald_ws *ws, int is_text, const uint8_t *msg, size_t len, void *user);
    /* the connection ended (once); see herald_notifier_options.on_close */
    void (*on_end)(herald_ws *ws, int code, const char *reason, void *user);
    /* every handle and request is finished: the memory may go */
    void (*on_released)(herald_ws *ws, void *user);
} herald_ws_callbacks;

enum herald_ws_state {
    HERALD_WS_IDLE,
    HERALD_WS_RESOLVING,
    HERALD_WS_CONNECTING,
    HERALD_WS_HANDSHAKE,
    HERALD_WS_OPEN,
    HERALD_WS_CLOSING,   /* we sent a close frame, waiting for the reply */
    HERALD_WS_ENDED,
};

struct herald_ws {
    uv_loop_t *loop;
    herald_ws_callbacks cb;
    void *user;
    enum herald_ws_state state;
    char *host, *path, *headers;
    uint16_t port;
    uv_getaddrinfo_t resolve;
    struct addrinfo *addrs, *next_addr;
    uv_connect_t connect;
    uv_tcp_t tcp;
    uv_timer_t close_timer;
    int tcp_open;
    int pending;            /* handles and requests not yet finished */
    herald_ws_handshake hs;
    wslay_event_context_ptr ctx;
    const uint8_t *in;      /* bytes handed to wslay_event_recv */
    size_t in_len;
    int close_code;         /* from the server's close frame, 0 if none */
    char close_reason[128];
    int in_close;           /* a close frame is being received: its payload */
    uint8_t close_frame[125];
    size_t close_frame_len;
    char last_error[160];
    struct write_req *out;  /* frames gathered during one pump (ws_client.c) */
    size_t out_len, out_cap;
};

/* Prepares ws on loop (initialises its timer). */
int herald__ws_init(herald_ws *ws, uv_loop_t *loop, const herald_ws_callbacks *cb, void *user);

/* Resolves host, connects, performs the handshake for path, adding the
 * header lines of headers (may be NULL; see herald__ws_handshake_begin).
 * Errors after this returns 0 arrive through on_end. On a synchronous
 * failure (a HERALD_E* code) on_end is not called, but the handles are
 * closed and on_released still follows. */
int herald__ws_connect(herald_ws *ws, const char *host, uint16_t port, const char *path,
                       const char *headers);

/* Queues one text message and sends. Returns 0, or HERALD_ESTATE when
 * not open. */
int herald__ws_send_text(herald_ws *ws, const char *text, size_t len);
/* The same without sending yet: queue many, then herald__ws_flush once
 * (one write for all). */
int herald__ws_queue_text(herald_ws *ws, const char *text, size_t len);
void herald__ws_flush(herald_ws *ws);

/* Starts the closing handshake with code and reason (may be NULL; waits
 * 2 s for the reply) when open; otherwise ends the connection at once,
 * reporting code and reason. */
void herald__ws_close(herald_ws *ws, int code, const char *reason);

/* Ends the connection at once (no close frame), reporting code/reason. */
void herald__ws_abort(herald_ws *ws, int code, const char *reason);

/* Frees what ws allocated (wslay context, addresses, strings); call from
 * on_released. */
void herald__ws_dispose(herald_ws *ws);

/* ---- a JSON WebSocket session (session.c) ---- */

typedef struct herald_session herald_session;

/* What the owner (notifier, peer client) does; every hook runs on the
 * loop thread. */
typedef struct herald_session_ops {
    /* The WebSocket is open: send the first messages. Nonzero aborts. */
    int (*on_open)(herald_session *s);
    /* One text message that parsed as a JSON object; raw is its text,
     * NUL-terminated. */
    void (*on_message)(herald_session *s, json_t *msg, const char *raw, size_t len);
    /* herald__session_wake was called (may be NULL). */
    void (*on_wake)(herald_session *s);
    /* The connection has ended (once per start): call the user's on_close
     * unless herald__session_freed. */
    void (*on_end)(herald_session *s, int code, const char *reason);
    /* Release everything: the owner calls herald__session_destroy and
     * frees itself. */
    void (*dispose)(herald_session *s);
} herald_session_ops;

/* The first member of its owner. Fields below "loop" belong to session.c. */
struct herald_session {
    const herald_session_ops *ops;
    herald_url url;
    char *path;            /* request path (with the URL's prefix, query) */
    char *headers;         /* extra handshake header lines, or NULL */
    int timeout_ms;        /* connect + handshake + authentication */
    const char *waiting_for; /* for the timeout message, e.g. "authenticate" */

    uv_loop_t *loop;
    uv_loop_t own_loop;
    uv_thread_t thread;
    int threaded;
    herald_ws ws;
    uv_timer_t ready_timer;
    uv_async_t wake;
    int handles_open;       /* ready_timer and wake not yet closed */
    int ws_released;
    int dispose_on_release; /* loop mode: freed while still connected */

    atomic_int freed;       /* no more user callbacks */
    uv_mutex_t mu;          /* guards what follows (owners may use it too) */
    uv_cond_t cond;
    int started, ready, ended, stop_requested, abort_requested, wake_alive;
    int end_code;           /* once ended: the close code and reason */
    char end_reason[128];
};

/* Parses server (plain http/ws only), keeps path (appended to the URL's
 * prefix) and timeout_ms (<= 0: 10000), sets up the mutex. On failure
 * everything is released and a HERALD_E* code returned, errbuf filled. */
int herald__session_init(herald_session *s, const herald_session_ops *ops, const char *server,
                         const char *path, int timeout_ms, const char *waiting_for,
                         char *errbuf, size_t errlen);
/* Frees what herald__session_init and the connection allocated (not s). */
void herald__session_destroy(herald_session *s);
int herald__session_start(herald_session *s, uv_loop_t *loop);
int herald__session_start_thread(herald_session *s);
int herald__session_wait_ready(herald_session *s, int timeout_ms);
int herald__session_is_ready(herald_session *s);
/* Loop thread: marks the session ready; returns 1 the first time. */
int herald__session_set_ready(herald_session *s);
/* Any thread: run ops->on_wake on the loop. Returns 0, or HERALD_ECLOSED
 * once the connection has ended. Call with s->mu held when locked is 1. */
int herald__session_wake(herald_session *s, int locked);
void herald__session_stop(herald_session *s);
void herald__session_abort(herald_session *s);
void herald__session_free(herald_session *s);
/* Has the user freed the owner (no more callbacks)? */
int herald__session_freed(herald_session *s);
/* Sends msg (stolen) as compact JSON text. */
int herald__session_send_json(herald_session *s, json_t *msg);

/* If msg is an event envelope (it has an "id"), calls cb with it and
 * returns 1; else returns 0. */
int herald__event_deliver(json_t *msg, const char *raw, size_t len,
                          void (*cb)(const herald_event *ev, void *user), void *user);

/* ---- publish answers (rest.c) ---- */

/* The ids of a publish answer's "ids" array (decimal strings, or integers
 * >= 0), for POST /v1/events and the publishing socket alike: 0 with
 * *list (malloc'd, never NULL) and *count; HERALD_EPROTO when ids is not
 * an array or holds anything else; HERALD_ENOMEM. */
int herald__ids_take(json_t *ids, uint64_t **list, size_t *count);

/* ---- HTTP (http.c) ---- */

/* "<base of server><path>" as a malloc'd string, or NULL with *rc set. */
char *herald__api_url(const char *server, const char *path, int *rc, char *errbuf,
                      size_t errlen);

/* One request: method "GET", "POST", "PATCH" or "DELETE"; body may be
 * NULL (a POST then sends an empty body). On 2xx returns 0 with the answer in *out
 * (malloc'd, NUL-terminated, never NULL; out may be NULL to drop it). A
 * 4xx/5xx gives HERALD_EHTTP with the server's {"errors": …} text in
 * errbuf. *status (if not NULL) gets the HTTP status, 0 when there was no
 * answer. */
int herald__http(const char *method, const char *url, const char *token, const char *body,
                 size_t body_len, char **out, size_t *out_len, int *status, char *errbuf,
                 size_t errlen);
/* herald__http with one more request header line ("Name: value", NULL:
 * none) and, when replayed is not NULL, *replayed set to 1 when the
 * answer says Idempotent-Replayed: true (else 0). */
int herald__http_ex(const char *method, const char *url, const char *token, const char *body,
                    size_t body_len, const char *extra_header, int *replayed, char **out,
                    size_t *out_len, int *status, char *errbuf, size_t errlen);

/* ---- the publisher's frames (publish_frame.c) ---- */

/* 0, or HERALD_EINVAL (errbuf says why) for a body submit must refuse:
 * empty, longer than max_frame, or not valid UTF-8. */
int herald__publish_body_check(const char *body, size_t len, size_t max_frame, char *errbuf,
                               size_t errlen);

/* Decodes one answer frame into *out (zeroed first; on failure left
 * zeroed): 0, HERALD_EPROTO for anything but {"seq":N>=1,"ids":[…]} or
 * {"seq":N,"status":4xx/5xx,"errors"?:…}, HERALD_ENOMEM. */
int herald__publish_answer_decode(const char *text, size_t len, herald_publish_answer *out,
                                  char *errbuf, size_t errlen);

/* curl_easy_escape without a handle: a malloc'd percent-encoded copy. */
char *herald__escape(const char *s);

#endif
