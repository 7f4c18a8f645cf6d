/* reply.c — answers to committed changes; see reply.h. */
#include "api/reply.h"

#include <stdlib.h>
#include <string.h>

#include "net/http.h"

typedef struct pending {
    hv_conn *conn;
    int status;
    char *body;
} pending;

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

static void change_done(hv_loop *l, void *arg, int status, hv_event **evs, size_t n)
{
    (void)l, (void)evs, (void)n;
    pending *p = arg;
    if (status != 0) {
        free(p->body);
        hv_http_error(p->conn, 503, "the store is unavailable; the change may not be saved");
    } else {
        hv_api_respond(p->conn, p->status, p->body);
    }
    hv_conn_release(p->conn);
    free(p);
}

hv_reply hv_api_change_begin(hv_conn *c)
{
    pending *p = calloc(1, sizeof(*p));
    p->conn = c;
    hv_conn_hold(c);
    return (hv_reply){c->loop, change_done, p};
}

void hv_api_change_end(hv_conn *c, hv_reply reply, int status, char *out)
{
    pending *p = reply.arg;
    if (status >= 200 && status < 300) {
        p->status = status; /* answered by change_done after the commit */
        p->body = out;
        return;
    }
    hv_api_respond(c, status, out);
    hv_conn_release(c);
    free(p);
}
