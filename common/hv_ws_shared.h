/* SPDX-License-Identifier: MIT */
/* hv_ws_shared.h — the pieces of WebSocket that the server (src/net/ws.c,
 * src/net/ws_handshake.c) and the client library (client/src/ws_client.c,
 * client/src/ws_handshake.c) would otherwise each write: the
 * Sec-WebSocket-Accept value, the header token-list test of the upgrade,
 * the wslay receive callback's copy from the bytes of one read, and the
 * UTF-8 check of a text message (the client checks a publish frame with
 * it before sending, so the server never has to close for 1007). Part
 * of common/, compiled into both; it knows nothing of either.
 */
#ifndef HV_WS_SHARED_H
#define HV_WS_SHARED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <wslay/wslay.h>

#define HV_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */
#define HV_WS_MAX_KEY 64    /* a real Sec-WebSocket-Key has 24 characters */

/* out = base64(SHA-1(key + the RFC 6455 GUID)), NUL-terminated (RFC 6455
 * 4.2.2). 0, or -1 when key is longer than HV_WS_MAX_KEY. */
int hv_ws_accept_value(const char *key, char out[HV_WS_ACCEPT_LEN + 1]);

/* Does the comma-separated header value list hold token (any case, blanks
 * around items ignored)? As "Connection: keep-alive, Upgrade" holds
 * "upgrade". */
int hv_ws_header_has_token(const char *list, const char *token);

/* The body of a wslay recv callback reading from the unread part of one
 * read (*in, *in_len): copies up to len bytes into buf and advances past
 * them. With nothing left it sets WSLAY_ERR_WOULDBLOCK and returns -1, so
 * wslay_event_recv stops until the next read. */
ssize_t hv_ws_wslay_take(wslay_event_context_ptr ctx, const uint8_t **in, size_t *in_len,
                         uint8_t *buf, size_t len);

/* 1 when s (len bytes) is valid UTF-8: no overlong form, no surrogate,
 * nothing past U+10FFFF, no truncated sequence; 0 otherwise. */
int hv_utf8_valid(const uint8_t *s, size_t len);

#endif
