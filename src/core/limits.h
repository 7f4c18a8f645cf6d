/* limits.h — connection limits: overall and per user.
 *
 * Long-lived connections (WebSockets and SSE streams) are counted
 * overall; app clients also per user (a peer counts as its own user).
 * Past --max-connections an upgrade is refused with 503; past
 * --max-connections-per-user the socket is closed with 1013 "too busy"
 * (or the stream refused with 503). 0 means no limit.
 */
#ifndef HV_LIMITS_H
#define HV_LIMITS_H

#include <stdatomic.h>
#include <uv.h>

#include "core/map.h"

typedef struct hv_limits {
    atomic_long streams;
    long max_total, max_per_user;
    uv_mutex_t mu;
    hv_map users; /* user id -> count (as a pointer-sized integer) */
} hv_limits;

void hv_limits_init(hv_limits *l, long max_total, long max_per_user);
void hv_limits_free(hv_limits *l);
/* 1 when one more long-lived connection may open. */
int hv_limits_stream_ok(hv_limits *l);
void hv_limits_stream_add(hv_limits *l, long delta);
/* Counts a connection of user; -1 (nothing counted) when over the limit. */
int hv_limits_user_acquire(hv_limits *l, const char *user);
void hv_limits_user_release(hv_limits *l, const char *user);

#endif
