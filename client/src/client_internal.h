/* client_internal.h — what the files of the herald client library share,
 * and nothing the public header (herald/client.h) offers.
 *
 *   common.c     error strings, the error buffer, the server URL parser
 *   ws_handshake.c  the RFC 6455 opening handshake (request text, response
 *                check with http-parser, Sec-WebSocket-Accept)
 *   ws_client.c  a WebSocket client on a libuv loop, framing by wslay
 *   notifier.c   the notifier (JSON server-notifier protocol, threads)
 *   rest.c       publish and history over libcurl
 *   decode.c     webhook body decoding (protobuf reflection, jansson)
 */
#ifndef HERALD_CLIENT_INTERNAL_H
#define HERALD_CLIENT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>
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
 * malloc'd string (*req, *req_len). Returns 0 or HERALD_ENOMEM / EPROTO. */
int herald__ws_handshake_begin(herald_ws_handshake *h, const char *host, uint16_t port,
                               const char *path, char **req, size_t *req_len);

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
    char *host, *path;
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
    char last_error[160];
};

/* Prepares ws on loop (initialises its timer). */
int herald__ws_init(herald_ws *ws, uv_loop_t *loop, const herald_ws_callbacks *cb, void *user);

/* Resolves host, connects, performs the handshake for path. Errors after
 * this returns 0 arrive through on_end. On a synchronous failure (a
 * HERALD_E* code) on_end is not called, but the handles are closed and
 * on_released still follows. */
int herald__ws_connect(herald_ws *ws, const char *host, uint16_t port, const char *path);

/* Queues one text message. Returns 0, or HERALD_ESTATE when not open. */
int herald__ws_send_text(herald_ws *ws, const char *text, size_t len);

/* Starts the closing handshake with code and reason (may be NULL; waits
 * 2 s for the reply) when open; otherwise ends the connection at once,
 * reporting code and reason. */
void herald__ws_close(herald_ws *ws, int code, const char *reason);

/* Ends the connection at once (no close frame), reporting code/reason. */
void herald__ws_abort(herald_ws *ws, int code, const char *reason);

/* Frees what ws allocated (wslay context, addresses, strings); call from
 * on_released. */
void herald__ws_dispose(herald_ws *ws);

#endif
