/* SPDX-License-Identifier: MIT */
/* authfail.h — back-off on failed authentications, per client address.
 *
 * A client that keeps presenting wrong credentials (a guessed server
 * token, a forged or expired JWT, a wrong Janus password) costs herald a
 * SHA-256 or an HMAC and a log line each time, and is the only way to
 * guess a token. After --auth-fail-limit failures from one address (IPv6:
 * its /64, the key of net/conn.c) within --auth-fail-window seconds,
 * every further attempt from it is refused at once, without checking its
 * credentials, until the window that began with its first failure ends
 * (fail2ban's findtime/maxretry, in process). Connections already
 * authenticated are not touched.
 *
 * The table is bounded: at most --auth-fail-addresses addresses are
 * tracked; a new one past that evicts the address whose window began
 * first. Entries whose window ended are dropped as the table is used.
 * This file knows nothing of tokens: the API layer (api/router.c) asks
 * whether an address may try and reports its failures. Thread-safe (one
 * mutex; it is taken only on an attempt to authenticate).
 */
#ifndef HV_AUTHFAIL_H
#define HV_AUTHFAIL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/list.h"
#include "core/map.h"

typedef struct hv_authfail {
    long limit;         /* failures in one window that block an address; 0 = off */
    int64_t window_ms;
    size_t max_addrs;   /* addresses tracked at most */
    uv_mutex_t mu;
    hv_map addrs;       /* address -> its entry */
    hv_list order;      /* the entries, the oldest window first */
} hv_authfail;

/* A zeroed hv_authfail is off (every call a no-op) and needs no free. */
void hv_authfail_init(hv_authfail *a, long limit, double window_s, size_t max_addrs);
void hv_authfail_free(hv_authfail *a);
/* 0 when addr may try to authenticate at now_ms (a monotonic clock in
 * ms), else the whole seconds (>= 1) until it may. "" is never blocked. */
long hv_authfail_blocked(hv_authfail *a, const char *addr, int64_t now_ms);
/* Counts a failed authentication from addr at now_ms. */
void hv_authfail_record(hv_authfail *a, const char *addr, int64_t now_ms);
/* Addresses tracked now (for tests and /metrics). */
size_t hv_authfail_tracked(hv_authfail *a);

#endif
