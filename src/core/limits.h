/* SPDX-License-Identifier: MIT */
/* limits.h — connection limits: overall, unauthenticated, per address,
 * per user.
 *
 * Every client connection counts against --max-connections from the
 * moment it is accepted (each is a file descriptor; the default is the
 * file limit minus a reserve). Until it authenticates it also counts as
 * unauthenticated: overall (--max-unauthenticated) and per client
 * address (--max-unauthenticated-per-address; IPv6 by /64). Past any of
 * them a new connection is refused with 503 at once (net/conn.c). App
 * clients are also counted per user (a peer counts as its own user): past
 * --max-connections-per-user the socket is closed with 1013 "too busy"
 * (or the stream refused with 503). App clients that resume (replay
 * history page by page on the thread pool) are counted per client address
 * while they replay: past --max-resumes-per-address the socket is closed
 * with 1013 (the stream refused with 429), so one client cannot fill the
 * pool with history reads (issue 13). 0 means no limit.
 */
#ifndef HV_LIMITS_H
#define HV_LIMITS_H

#include <stdatomic.h>
#include <uv.h>

#include "core/map.h"

enum { HV_ADMIT_OK, HV_ADMIT_FULL, HV_ADMIT_UNAUTH, HV_ADMIT_ADDRESS };

typedef struct hv_limits {
    long conns, unauth;              /* under mu */
    unsigned long long resumes_refused; /* under mu: past max_resumes_per_addr */
    long max_total, max_per_user, max_unauth, max_unauth_per_addr, max_resumes_per_addr;
    uv_mutex_t mu;
    hv_map users;   /* user id -> count (as a pointer-sized integer) */
    hv_map addrs;   /* client address -> unauthenticated connections */
    hv_map resumes; /* client address -> resumes replaying */
} hv_limits;

void hv_limits_init(hv_limits *l, long max_total, long max_per_user);
/* Sets the unauthenticated caps (0 = none, the state after init). */
void hv_limits_set_unauth(hv_limits *l, long max_unauth, long max_per_addr);
void hv_limits_free(hv_limits *l);
/* Counts a new connection from addr ("" = none known), unauthenticated;
 * HV_ADMIT_OK, or which cap it would pass (then nothing is counted). */
int hv_limits_admit(hv_limits *l, const char *addr);
/* The connection from addr authenticated: no longer unauthenticated. */
void hv_limits_authed(hv_limits *l, const char *addr);
/* An admitted connection closed, authenticated or not. */
void hv_limits_release(hv_limits *l, const char *addr, int authed);
long hv_limits_unauthenticated(hv_limits *l);
/* Counts a connection of user; -1 (nothing counted) when over the limit. */
int hv_limits_user_acquire(hv_limits *l, const char *user);
void hv_limits_user_release(hv_limits *l, const char *user);
/* Sets the cap on resumes replaying at once per address (0 = none, the
 * state after init). */
void hv_limits_set_resumes(hv_limits *l, long max_per_addr);
/* Counts a resume from addr ("" = not counted); -1 (nothing counted) when
 * the address has max_per_addr replaying already. */
int hv_limits_resume_acquire(hv_limits *l, const char *addr);
/* Resumes refused so far for passing the cap (for /metrics). */
unsigned long long hv_limits_resumes_refused(hv_limits *l);
void hv_limits_resume_release(hv_limits *l, const char *addr);

#endif
