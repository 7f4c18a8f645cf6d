/* SPDX-License-Identifier: MIT */
/* herald/client_publisher.h — part 8 of the herald client library: the
 * persistent publishing connection (GET /v1/events/websocket).
 *
 * Included by herald/client.h (which defines HERALD_EXTERN, the error
 * codes and herald_publish_result this part uses); include that header,
 * not this one.
 */
#ifndef HERALD_CLIENT_PUBLISHER_H
#define HERALD_CLIENT_PUBLISHER_H

#ifndef HERALD_CLIENT_H
#error "include <herald/client.h>, not <herald/client_publisher.h>"
#endif

/* ------------------------------------------------------------------ */
/* 8. Publisher: the persistent publishing connection                   */
/* ------------------------------------------------------------------ */

/* A herald_publisher holds GET /v1/events/websocket open with the server
 * token ("Authorization: Bearer" on the upgrade) and is ready once the
 * server says {"type":"authenticated"}. Every frame it sends is one
 * publish: exactly a body POST /v1/events accepts (one event object or a
 * JSON array of them). Frames are numbered 1, 2, 3 … (seq) in submission
 * order and answered in that order, after the durable commit, with the new
 * ids or with the refusal (the status and message POST /v1/events would
 * give: 400 for a bad body, 503 for a store failure or a server shutting
 * down). A refused frame does not disturb the frames around it.
 *
 * Window: at most options.window frames are outstanding at once: submitted
 * and not yet taken with herald_publisher_next (or, with an on_answer
 * callback, not yet answered). Past it herald_publisher_submit returns
 * HERALD_EFULL and queues nothing, so memory stays bounded whatever the
 * caller does.
 *
 * Two ways to run it, as the notifier: on a thread of its own
 * (herald_publisher_start_thread; the answers queue for
 * herald_publisher_next / herald_publisher_publish, called from any other
 * thread), or on the caller's loop (herald_publisher_start) with
 * options.on_answer receiving each answer on the loop thread.
 *
 * When the connection ends, frames submitted but unanswered have an
 * unknown fate (committed or not): herald_publisher_next reports
 * HERALD_ECLOSED with the close code and reason and how many. */

/* One frame's answer. Release with herald_publish_answer_clear. */
typedef struct herald_publish_answer {
    uint64_t seq;       /* the frame's number, 1 for the first */
    int status;         /* 0: published (ids below); else the server's
                         * status: 400 refused, 409 an idempotency_key
                         * used before with another event, 503 store
                         * failure or shutting down */
    uint64_t *ids;      /* status 0: the new ids, in the frame's order */
    size_t count;
    char *errors;       /* status != 0: the server's message */
    char *response;     /* the answer frame's text, e.g. {"seq":1,"ids":["7"]} */
} herald_publish_answer;

/* herald_publish_answer_clear — frees what *a holds and zeroes it. */
HERALD_EXTERN void herald_publish_answer_clear(herald_publish_answer *a);

/* herald_publish_answer_replayed — 1 when a published frame's answer says
 * "replayed":true: an idempotency_key of its events was used before within
 * the server's window, so those events were not stored again and their ids
 * are the ones they got then; else 0 (a is NULL, refused, or all new). A
 * key used before with another event is a refusal instead (status 409). */
HERALD_EXTERN int herald_publish_answer_replayed(const herald_publish_answer *a);

#define HERALD_PUBLISHER_WINDOW 1024         /* default window */
#define HERALD_PUBLISHER_MAX_WINDOW 65536    /* largest window accepted */
#define HERALD_PUBLISHER_MAX_FRAME (4u << 20) /* default frame limit: herald's --max-body */

typedef struct herald_publisher_options {
    const char *server;   /* base URL; NULL: HERALD_DEFAULT_SERVER */
    const char *token;    /* server token; NULL: HERALD_DEFAULT_TOKEN */
    unsigned window;      /* outstanding frames; 0: HERALD_PUBLISHER_WINDOW,
                           * at most HERALD_PUBLISHER_MAX_WINDOW */
    size_t max_frame;     /* larger bodies are refused by submit (the server
                           * would close the connection, 1009); 0:
                           * HERALD_PUBLISHER_MAX_FRAME. Set it to the
                           * server's --max-body. */
    int timeout_ms;       /* connect+handshake+auth limit; 0: 10000 */

    /* Callbacks, all optional, all called on the publisher's loop thread. */
    /* Authenticated: frames go out from now on (submitted ones first). */
    void (*on_ready)(void *user);
    /* One answer, in seq order; a valid pointer only during the call.
     * When set, answers do not queue for herald_publisher_next. */
    void (*on_answer)(const herald_publish_answer *a, void *user);
    /* The connection has ended (once per start, unless freed first): the
     * server's close code (1001 shutting down, 1003 binary frame, 1008 or
     * 4001 authentication, 1009 frame too big) or 1006 with a description;
     * unanswered is the number of frames whose answer never came. */
    void (*on_close)(int code, const char *reason, uint64_t unanswered, void *user);
    void *user;
} herald_publisher_options;

typedef struct herald_publisher herald_publisher;

/* herald_publisher_new — creates a publisher from options (copied). Does
 * not connect. Returns NULL on a bad URL (only http:// and ws://), a token
 * with control characters, a window above HERALD_PUBLISHER_MAX_WINDOW, or
 * out of memory; errbuf then says why. */
HERALD_EXTERN herald_publisher *herald_publisher_new(const herald_publisher_options *opts,
                                                     char *errbuf, size_t errlen);

/* herald_publisher_start — connects on the caller's loop (call on its
 * thread, then run the loop). Starts once. Returns 0 or HERALD_E*. */
HERALD_EXTERN int herald_publisher_start(herald_publisher *p, uv_loop_t *loop);

/* herald_publisher_start_thread — connects on a new thread running a loop
 * of its own. Returns 0 or HERALD_E*. */
HERALD_EXTERN int herald_publisher_start_thread(herald_publisher *p);

/* herald_publisher_wait_ready — blocks until authenticated (0), the
 * connection ended (HERALD_ECLOSED) or timeout_ms passed
 * (HERALD_ETIMEDOUT; negative waits forever). Any thread but the loop's. */
HERALD_EXTERN int herald_publisher_wait_ready(herald_publisher *p, int timeout_ms);

/* herald_publisher_submit — queues one publish frame (body: len bytes of
 * an event object or a JSON array of them; the server validates it) and
 * returns at once; *seq (may be NULL) gets its number. Frames submitted
 * before authentication go out once it is done. Any thread. Returns 0,
 * HERALD_EFULL when the window is full (nothing queued), HERALD_EINVAL for
 * an empty body, one larger than max_frame or not valid UTF-8 (nothing
 * queued, the connection is untouched), HERALD_ECLOSED once the connection
 * has ended, HERALD_ESTATE before start, HERALD_ENOMEM. */
HERALD_EXTERN int herald_publisher_submit(herald_publisher *p, const char *body, size_t len,
                                          uint64_t *seq);

/* herald_publisher_next — takes the next answer, in seq order, waiting up
 * to timeout_ms (negative: forever) for it. Not with on_answer. Returns 0
 * with *out filled (whatever its status: a refused frame is an answer
 * too); HERALD_ETIMEDOUT; HERALD_ESTATE when nothing is outstanding or
 * on_answer is set; HERALD_ECLOSED when the connection has ended and the
 * answers that came are all taken (errbuf: the close code and reason and
 * how many frames went unanswered). Any thread but the loop's. */
HERALD_EXTERN int herald_publisher_next(herald_publisher *p, int timeout_ms,
                                        herald_publish_answer *out, char *errbuf,
                                        size_t errlen);

/* herald_publisher_closed — 1 when the connection has ended (*code and
 * reason, each may be NULL, get the close code and reason, as on_close
 * gives them), else 0. Any thread. */
HERALD_EXTERN int herald_publisher_closed(herald_publisher *p, int *code, char *reason,
                                          size_t len);

/* herald_publisher_outstanding — frames submitted and not yet taken (with
 * on_answer: not yet answered). Any thread. */
HERALD_EXTERN unsigned herald_publisher_outstanding(herald_publisher *p);

/* herald_publisher_publish — the blocking convenience: submits body and
 * waits up to timeout_ms (negative: forever) for its answer. Nothing else
 * may be outstanding (HERALD_ESTATE). Returns 0 with the ids in *out (may
 * be NULL), HERALD_EHTTP when the server refused it ("<message> (HTTP
 * 400)" in errbuf, as herald_publish_json), or an error of submit / next.
 * Not with on_answer. Any thread but the loop's. */
HERALD_EXTERN int herald_publisher_publish(herald_publisher *p, const char *body, size_t len,
                                           int timeout_ms, herald_publish_result *out,
                                           char *errbuf, size_t errlen);

/* herald_publisher_stop — sends the frames already submitted, then closes
 * the connection with code 1000: answers that have not arrived by then are
 * lost (take the answers you wait for first). Any thread; returns at once;
 * on_close follows. */
HERALD_EXTERN void herald_publisher_stop(herald_publisher *p);

/* herald_publisher_free — releases the publisher; the same rules as
 * herald_notifier_free. Answers not taken are freed. NULL is ignored. */
HERALD_EXTERN void herald_publisher_free(herald_publisher *p);

#endif /* HERALD_CLIENT_PUBLISHER_H */
