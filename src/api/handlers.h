/* SPDX-License-Identifier: MIT */
/* handlers.h — the HTTP and WebSocket endpoints (one file each in api/). */
#ifndef HV_HANDLERS_H
#define HV_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "net/conn.h"
#include "net/http.h"

void hv_api_health(hv_conn *c, hv_http_req *r);   /* health.c */
void hv_api_metrics(hv_conn *c, hv_http_req *r);  /* health.c */
void hv_api_console(hv_conn *c, hv_http_req *r);  /* console.c: the web console's files */
/* console.c: 1 for "/console" and the paths under it; an error answer
 * {"errors": msg} with the console's security headers. */
int hv_api_console_path(const char *path);
void hv_api_console_refuse(hv_conn *c, int status, const char *msg);
/* console.c: POST /v1/console/token mints a console token */
void hv_api_console_token(hv_conn *c, hv_http_req *r);
void hv_api_publish(hv_conn *c, hv_http_req *r);  /* events.c */
void hv_api_history(hv_conn *c, hv_http_req *r);  /* events.c */
void hv_api_notifier(hv_conn *c, hv_http_req *r); /* notifier.c */
void hv_api_peer_socket(hv_conn *c, hv_http_req *r); /* peer_socket.c */
/* peer_socket.c: what a socket an end user holds (the peer socket, the
 * access socket) may send: --max-peer-message, --peer-msg-rate and
 * --peer-msg-burst. Call from the handler's on_open. */
void hv_api_end_user_limits(hv_conn *c);
/* agent_socket.c: /socket/agent/websocket (protobuf, proto/agent.proto) */
void hv_api_agent_socket(hv_conn *c, hv_http_req *r);
/* What one frame on the agent socket asks for: code 0 with token (taken
 * by the caller, free it) for an auth_request with a token; else the close
 * code and reason to answer (1003 text or media or nothing herald knows,
 * 1007 not an AgentRequest, 4003 no auth first). authed: an auth attempt
 * was made already. Pure: exposed for fuzz/fuzz_agent_request.c. */
typedef struct hv_agent_verdict {
    int code;
    char reason[124]; /* a close reason fits in 123 bytes */
    char *token;
} hv_agent_verdict;
void hv_agent_request_read(int opcode, const uint8_t *data, size_t len, int authed, hv_agent_verdict *v);
/* publish_socket.c: GET /v1/events/websocket, the publishing socket */
void hv_api_publish_socket(hv_conn *c, hv_http_req *r);
/* What one frame on the publishing socket is: an auth frame's token (before
 * authentication; taken by the caller, free it); a publish frame's events
 * (evs, n: the array and its references are the caller's) or, refused,
 * status 400 with the message of POST /v1/events in err; or a close code
 * and reason (4001 "authenticate first" before authentication, 1003 for a
 * binary frame after it). Pure: exposed for fuzz/fuzz_publish_frame.c. */
typedef struct hv_publish_verdict {
    int code;
    char reason[124];
    char *token;
    hv_event **evs;
    size_t n;
    int status;
    char err[256];
    char **keys; /* per event: its idempotency_key or NULL; NULL when none has one (the caller's) */
} hv_publish_verdict;
void hv_publish_frame_read(int opcode, const uint8_t *data, size_t len, int authed, hv_publish_verdict *v);
void hv_api_stream(hv_conn *c, hv_http_req *r);      /* sse.c */
/* access.c: the seeds' access-id API */
void hv_api_push_events(hv_conn *c, hv_http_req *r);
void hv_api_drop_user(hv_conn *c, hv_http_req *r);
void hv_api_subscribe_to_events(hv_conn *c, hv_http_req *r);
/* janus.c: Janus event handlers (POST at --janus-path, WebSocket) */
void hv_api_janus_events(hv_conn *c, hv_http_req *r);
void hv_api_janus_ws(hv_conn *c, hv_http_req *r);
/* 1 when an Authorization value carries the server token, as Bearer or as
 * the HTTP Basic password (any user name); auth may be NULL. Exposed for
 * fuzz/fuzz_auth.c. */
int hv_janus_auth_ok(hv_server *srv, const char *auth);
/* sinks.c: sink modules and their positions */
void hv_api_sinks_list(hv_conn *c, hv_http_req *r);
void hv_api_nodes(hv_conn *c, hv_http_req *r);
/* rooms.c: the Fishjam room API */
void hv_api_room_create(hv_conn *c, hv_http_req *r);
void hv_api_room_list(hv_conn *c, hv_http_req *r);
void hv_api_room_get(hv_conn *c, hv_http_req *r);
void hv_api_room_delete(hv_conn *c, hv_http_req *r);
void hv_api_peer_create(hv_conn *c, hv_http_req *r);
void hv_api_peer_delete(hv_conn *c, hv_http_req *r);
void hv_api_peer_refresh_token(hv_conn *c, hv_http_req *r);
void hv_api_peer_subscribe(hv_conn *c, hv_http_req *r);
void hv_api_room_livestream_token(hv_conn *c, hv_http_req *r);
void hv_api_validate(hv_conn *c, hv_http_req *r); /* GET /validate (SDK 0.28+) */
/* unsupported.c: the Fishjam media features herald has not (501) */
void hv_api_track_forwardings(hv_conn *c, hv_http_req *r);
void hv_api_moq_access(hv_conn *c, hv_http_req *r);
void hv_api_recordings(hv_conn *c, hv_http_req *r);
/* webhooks.c: the webhook endpoints API */
void hv_api_webhook_create(hv_conn *c, hv_http_req *r);
void hv_api_webhook_list(hv_conn *c, hv_http_req *r);
void hv_api_webhook_get(hv_conn *c, hv_http_req *r);
void hv_api_webhook_update(hv_conn *c, hv_http_req *r);
void hv_api_webhook_delete(hv_conn *c, hv_http_req *r);
void hv_api_webhook_disable(hv_conn *c, hv_http_req *r);
void hv_api_webhook_enable(hv_conn *c, hv_http_req *r);
void hv_api_webhook_deliveries(hv_conn *c, hv_http_req *r);
void hv_api_webhook_replay(hv_conn *c, hv_http_req *r);
void hv_api_webhook_retry(hv_conn *c, hv_http_req *r);

/* origin.c: 0 when a browser may make request r (its Origin and, with the
 * development default, its Host); else answers 403 and returns -1. */
int hv_origin_guard(hv_conn *c, hv_http_req *r);

#endif
