/* limits.c — connection limits; see limits.h. */
#include "core/limits.h"

#include <stdint.h>

void hv_limits_init(hv_limits *l, long max_total, long max_per_user)
{
    atomic_init(&l->streams, 0);
    l->max_total = max_total;
    l->max_per_user = max_per_user;
    uv_mutex_init(&l->mu);
    hv_map_init(&l->users);
}

void hv_limits_free(hv_limits *l)
{
    hv_map_free(&l->users);
    uv_mutex_destroy(&l->mu);
}

int hv_limits_stream_ok(hv_limits *l)
{
    return l->max_total <= 0 || atomic_load_explicit(&l->streams, memory_order_relaxed) < l->max_total;
}

void hv_limits_stream_add(hv_limits *l, long delta)
{
    atomic_fetch_add_explicit(&l->streams, delta, memory_order_relaxed);
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
