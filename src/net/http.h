/* SPDX-License-Identifier: MIT */
/* http.h — HTTP/1.1 server side of a connection, on http-parser.
 *
 * Parses requests (keep-alive and pipelining, chunked bodies, Expect:
 * 100-continue, gzip request bodies), enforces the limits (head size, body
 * size, head-read timeout), normalises the path (repeated slashes
 * collapsed) and hands each complete request to the request handler main.c
 * installed (hv_server.net.request: the router). A handler
 * answers with hv_http_respond*, at once or later (after a commit); until
 * then the connection reads nothing more.
 */
#ifndef HV_HTTP_H
#define HV_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "net/conn.h"

#define HV_HTTP_MAX_HEADERS 64

typedef struct hv_http_header {
    const char *name;  /* lower-case */
    const char *value;
} hv_http_header;

typedef struct hv_http_req {
    int method;            /* enum http_method */
    const char *method_name;
    const char *path;      /* decoded-slash-normalised path, e.g. "/room/r1" */
    const char *query;     /* raw query string without '?', or "" */
    hv_http_header headers[HV_HTTP_MAX_HEADERS];
    int nheaders;
    char *body;            /* NUL-terminated; gunzipped when it was gzip */
    size_t body_len;
    int keep_alive;
    int upgrade;           /* Connection: upgrade was requested */
    char param[3][257];    /* decoded :params of the matched route */
} hv_http_req;

/* Puts a freshly accepted connection in HTTP mode. */
void hv_http_attach(hv_conn *c);

/* The request being handled on c (valid until the response is sent). */
hv_http_req *hv_http_request(hv_conn *c);

/* A header's value (name in lower case), or NULL. */
const char *hv_http_header_get(const hv_http_req *r, const char *lname);

/* Copies the URL-decoded value of query parameter name into out; returns
 * 1 when present, 0 when absent, -1 when it does not fit (out is then ""
 * when outlen > 0). */
int hv_http_query(const hv_http_req *r, const char *name, char *out, size_t outlen);

/* Sends a complete response and finishes the request. */
void hv_http_respond(hv_conn *c, int status, const char *content_type,
                     const char *extra_headers, const void *body, size_t len);
/* Sends j (stolen) as application/json. */
void hv_http_respond_json(hv_conn *c, int status, json_t *j);
/* Sends {"errors":"<message>"}. */
void hv_http_error(hv_conn *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Hands c over to another protocol (WebSocket, SSE) after the current
 * request: frees the HTTP state and returns the bytes that arrived after
 * the request (malloc'd, *len set; NULL when none). */
char *hv_http_detach(hv_conn *c, size_t *len);

const char *hv_http_status_text(int status);

/* Writes the routing form of a URL path to out (room for len + 2 bytes):
 * repeated slashes collapsed, a trailing slash dropped, "" becomes "/".
 * Returns the new length. */
size_t hv_http_normalize_path(const char *in, size_t len, char *out);

#endif
