/* SPDX-License-Identifier: MIT */
/* reply.c — the HTTP status of each domain result, answers to committed
 * changes, the 503 text of a commit the store did not take, and JSON
 * messages on the API's sockets; see reply.h. */
#include "api/reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/ws_frame.h"
#include "core/xalloc.h"
#include "net/http.h"
#include "net/server.h"
#include "net/ws.h"

typedef struct pending {
    hv_conn *conn;
    int status;
    char *body;
} pending;

int hv_api_status_of(hv_result res)
{
    switch (res) {
    case HV_OK: return 200;
    case HV_CREATED: return 201;
    case HV_DELETED: return 204;
    case HV_ERR_INVALID: return 400;
    case HV_ERR_EXISTS: return 400;      /* as Fishjam answers a room id in use */
    case HV_ERR_NOT_FOUND: return 404;
    case HV_ERR_LIMIT: return 503;       /* as Fishjam answers a full room */
    case HV_ERR_UNAVAILABLE: return 503;
    }
    return 500;
}

void hv_api_respond(hv_conn *c, int status, char *body)
{
    if (status >= 300)
        hv_http_error(c, status, "%s", body ? body : "error");
    else if (body)
        hv_http_respond(c, status, "application/json", NULL, body, strlen(body));
    else
        hv_http_respond(c, status, NULL, NULL, NULL, 0);
    free(body);
}

void hv_api_ws_send_json(hv_conn *c, json_t *msg)
{
    char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (s) {
        hv_ws_send(c, HV_WS_TEXT, s, strlen(s));
        free(s);
    }
}

static void change_done(hv_loop *l, void *arg, int status, hv_event **evs, size_t n)
{
    (void)l, (void)evs, (void)n;
    pending *p = arg;
    if (status != 0) {
        free(p->body);
        char msg[400];
        hv_api_store_failure(l->srv, status, msg, sizeof(msg));
        hv_http_error(p->conn, 503, "%s", msg);
    } else {
        hv_api_respond(p->conn, p->status, p->body);
    }
    hv_conn_release(p->conn);
    free(p);
}

void hv_api_store_failure(hv_server *srv, int status, char *buf, size_t len)
{
    char why[200]; /* with the longest sentence below, fits every caller's 400 */
    int down = !hv_store_available(srv->store, why, sizeof(why));
    if (status == HV_PUBLISH_UNKNOWN)
        snprintf(buf, len, "event store unavailable: %s; the commit was sent but not "
                 "answered, so it may have been stored: check history before sending it again",
                 down ? why : "it did not answer");
    else if (down || status == HV_PUBLISH_REFUSED)
        snprintf(buf, len, "event store unavailable: %s; nothing was stored, retry later",
                 down ? why : "it did not answer");
    else
        snprintf(buf, len, "the event store is unavailable; nothing was stored, retry later");
}

int hv_api_store_refuse(hv_conn *c)
{
    char why[300];
    if (hv_store_available(c->loop->srv->store, why, sizeof(why)))
        return 0;
    hv_http_error(c, 503, "event store unavailable: %s; nothing was changed, retry later", why);
    return 1;
}

hv_reply hv_api_change_begin(hv_conn *c)
{
    pending *p = hv_xcalloc(1, sizeof(*p));
    p->conn = c;
    hv_conn_hold(c);
    return (hv_reply){c->loop, change_done, p};
}

void hv_api_change_end(hv_conn *c, hv_reply reply, hv_result res, char *out)
{
    pending *p = reply.arg;
    if (res >= 0) {
        p->status = hv_api_status_of(res); /* answered by change_done after the commit */
        p->body = out;
        return;
    }
    hv_api_respond(c, hv_api_status_of(res), out);
    hv_conn_release(c);
    free(p);
}

size_t hv_api_put_ids(char *out, hv_event *const *evs, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, HV_API_ID_TEXT_MAX + 1, "%s\"%llu\"", i ? "," : "",
                                (unsigned long long)evs[i]->id);
    return len;
}
