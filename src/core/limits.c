/* SPDX-License-Identifier: MIT */
/* limits.c — connection limits; see limits.h. */
#include "core/limits.h"

#include <stdint.h>

void hv_limits_init(hv_limits *l, long max_total, long max_per_user)
{
    l->conns = l->unauth = 0;
    l->resumes_refused = 0;
    l->max_total = max_total;
    l->max_per_user = max_per_user;
    l->max_unauth = l->max_unauth_per_addr = l->max_resumes_per_addr = 0;
    uv_mutex_init(&l->mu);
    hv_map_init(&l->users);
    hv_map_init(&l->addrs);
    hv_map_init(&l->resumes);
}

void hv_limits_set_unauth(hv_limits *l, long max_unauth, long max_per_addr)
{
    l->max_unauth = max_unauth;
    l->max_unauth_per_addr = max_per_addr;
}

void hv_limits_free(hv_limits *l)
{
    hv_map_free(&l->users);
    hv_map_free(&l->addrs);
    hv_map_free(&l->resumes);
    uv_mutex_destroy(&l->mu);
}

/* Adds delta to key's count in m (under mu); a count of 0 is no entry. */
static void count_add(hv_map *m, const char *key, intptr_t delta)
{
    intptr_t n = (intptr_t)hv_map_get(m, key) + delta;
    if (n > 0)
        hv_map_put(m, key, (void *)n);
    else
        hv_map_del(m, key);
}

/* Adds delta to addr's count of unauthenticated connections (under mu). */
static void addr_add(hv_limits *l, const char *addr, intptr_t delta)
{
    if (*addr)
        count_add(&l->addrs, addr, delta);
}

int hv_limits_admit(hv_limits *l, const char *addr)
{
    int r = HV_ADMIT_OK;
    uv_mutex_lock(&l->mu);
    if (l->max_total > 0 && l->conns >= l->max_total)
        r = HV_ADMIT_FULL;
    else if (l->max_unauth > 0 && l->unauth >= l->max_unauth)
        r = HV_ADMIT_UNAUTH;
    else if (l->max_unauth_per_addr > 0 && *addr &&
             (intptr_t)hv_map_get(&l->addrs, addr) >= l->max_unauth_per_addr)
        r = HV_ADMIT_ADDRESS;
    if (r == HV_ADMIT_OK) {
        l->conns++;
        l->unauth++;
        addr_add(l, addr, 1);
    }
    uv_mutex_unlock(&l->mu);
    return r;
}

void hv_limits_authed(hv_limits *l, const char *addr)
{
    uv_mutex_lock(&l->mu);
    l->unauth--;
    addr_add(l, addr, -1);
    uv_mutex_unlock(&l->mu);
}

void hv_limits_release(hv_limits *l, const char *addr, int authed)
{
    uv_mutex_lock(&l->mu);
    l->conns--;
    if (!authed) {
        l->unauth--;
        addr_add(l, addr, -1);
    }
    uv_mutex_unlock(&l->mu);
}

long hv_limits_unauthenticated(hv_limits *l)
{
    uv_mutex_lock(&l->mu);
    long n = l->unauth;
    uv_mutex_unlock(&l->mu);
    return n;
}

int hv_limits_user_acquire(hv_limits *l, const char *user)
{
    if (l->max_per_user <= 0 || !user)
        return 0;
    uv_mutex_lock(&l->mu);
    intptr_t n = (intptr_t)hv_map_get(&l->users, user);
    int ok = n < l->max_per_user;
    if (ok)
        hv_map_put(&l->users, user, (void *)(n + 1));
    uv_mutex_unlock(&l->mu);
    return ok ? 0 : -1;
}

void hv_limits_user_release(hv_limits *l, const char *user)
{
    if (l->max_per_user <= 0 || !user)
        return;
    uv_mutex_lock(&l->mu);
    intptr_t n = (intptr_t)hv_map_get(&l->users, user) - 1;
    if (n > 0)
        hv_map_put(&l->users, user, (void *)n);
    else
        hv_map_del(&l->users, user);
    uv_mutex_unlock(&l->mu);
}

void hv_limits_set_resumes(hv_limits *l, long max_per_addr)
{
    l->max_resumes_per_addr = max_per_addr;
}

int hv_limits_resume_acquire(hv_limits *l, const char *addr)
{
    if (l->max_resumes_per_addr <= 0 || !*addr)
        return 0;
    uv_mutex_lock(&l->mu);
    int ok = (intptr_t)hv_map_get(&l->resumes, addr) < l->max_resumes_per_addr;
    if (ok)
        count_add(&l->resumes, addr, 1);
    else
        l->resumes_refused++;
    uv_mutex_unlock(&l->mu);
    return ok ? 0 : -1;
}

unsigned long long hv_limits_resumes_refused(hv_limits *l)
{
    uv_mutex_lock(&l->mu);
    unsigned long long n = l->resumes_refused;
    uv_mutex_unlock(&l->mu);
    return n;
}

void hv_limits_resume_release(hv_limits *l, const char *addr)
{
    if (l->max_resumes_per_addr <= 0 || !*addr)
        return;
    uv_mutex_lock(&l->mu);
    count_add(&l->resumes, addr, -1);
    uv_mutex_unlock(&l->mu);
}
