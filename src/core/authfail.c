/* SPDX-License-Identifier: MIT */
/* authfail.c — back-off on failed authentications; see authfail.h. */
#include "core/authfail.h"
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    hv_list node;     /* in order: entries are appended when their window begins */
    int64_t start_ms; /* when the window began (the first failure in it) */
    long fails;
    char addr[];
} entry;

void hv_authfail_init(hv_authfail *a, long limit, double window_s, size_t max_addrs)
{
    memset(a, 0, sizeof(*a));
    if (limit <= 0 || window_s <= 0 || max_addrs == 0)
        return; /* off: a zeroed table */
    a->limit = limit;
    a->window_ms = (int64_t)(window_s * 1000);
    if (a->window_ms < 1)
        a->window_ms = 1;
    a->max_addrs = max_addrs;
    uv_mutex_init(&a->mu);
    hv_map_init(&a->addrs);
    hv_list_init(&a->order);
}

static void drop(hv_authfail *a, entry *e)
{
    hv_map_del(&a->addrs, e->addr);
    hv_list_remove(&e->node);
    free(e);
}

void hv_authfail_free(hv_authfail *a)
{
    if (a->limit <= 0)
        return;
    hv_list_each(it, &a->order)
        drop(a, hv_container_of(it, entry, node));
    hv_map_free(&a->addrs);
    uv_mutex_destroy(&a->mu);
    memset(a, 0, sizeof(*a));
}

/* Drops the entries whose window has ended: they are at the front, since
 * windows are appended as they begin (under mu). */
static void expire(hv_authfail *a, int64_t now_ms)
{
    while (!hv_list_empty(&a->order)) {
        entry *e = hv_container_of(a->order.next, entry, node);
        if (now_ms - e->start_ms < a->window_ms)
            return;
        drop(a, e);
    }
}

long hv_authfail_blocked(hv_authfail *a, const char *addr, int64_t now_ms)
{
    if (a->limit <= 0 || !*addr)
        return 0;
    long wait_s = 0;
    uv_mutex_lock(&a->mu);
    expire(a, now_ms);
    entry *e = hv_map_get(&a->addrs, addr);
    if (e && e->fails >= a->limit) {
        int64_t left_ms = e->start_ms + a->window_ms - now_ms;
        wait_s = (long)((left_ms + 999) / 1000);
        if (wait_s < 1)
            wait_s = 1;
    }
    uv_mutex_unlock(&a->mu);
    return wait_s;
}

void hv_authfail_record(hv_authfail *a, const char *addr, int64_t now_ms)
{
    if (a->limit <= 0 || !*addr)
        return;
    uv_mutex_lock(&a->mu);
    expire(a, now_ms);
    entry *e = hv_map_get(&a->addrs, addr);
    if (!e) {
        if (a->addrs.count >= a->max_addrs) /* full: forget the oldest window */
            drop(a, hv_container_of(a->order.next, entry, node));
        size_t n = strlen(addr) + 1;
        e = hv_xmalloc(sizeof(*e) + n);
        memcpy(e->addr, addr, n);
        e->fails = 0;
        e->start_ms = now_ms;
        /* Keep order sorted even if another thread's clock read came
         * first: a window never begins before the one ahead of it. */
        if (!hv_list_empty(&a->order)) {
            entry *last = hv_container_of(a->order.prev, entry, node);
            if (e->start_ms < last->start_ms)
                e->start_ms = last->start_ms;
        }
        hv_list_push(&a->order, &e->node);
        hv_map_put(&a->addrs, e->addr, e);
    }
    e->fails++;
    uv_mutex_unlock(&a->mu);
}

size_t hv_authfail_tracked(hv_authfail *a)
{
    if (a->limit <= 0)
        return 0;
    uv_mutex_lock(&a->mu);
    size_t n = a->addrs.count;
    uv_mutex_unlock(&a->mu);
    return n;
}
