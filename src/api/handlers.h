/* handlers.h — the HTTP and WebSocket endpoints (one file each in api/). */
#ifndef HV_HANDLERS_H
#define HV_HANDLERS_H

#include "net/conn.h"
#include "net/http.h"

void hv_api_health(hv_conn *c, hv_http_req *r);   /* health.c */
void hv_api_metrics(hv_conn *c, hv_http_req *r);  /* health.c */
void hv_api_publish(hv_conn *c, hv_http_req *r);  /* events.c */
void hv_api_history(hv_conn *c, hv_http_req *r);  /* events.c */
void hv_api_notifier(hv_conn *c, hv_http_req *r); /* notifier.c */

#endif
