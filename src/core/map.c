/* SPDX-License-Identifier: MIT */
/* map.c — string-keyed hash map; see map.h. Doubles its bucket array when
 * the load passes 1, so lookups stay O(1) on average. */
#include "core/map.h"
#include "core/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void hv_map_init(hv_map *m)
{
    memset(m, 0, sizeof(*m));
}

void hv_map_free(hv_map *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        hv_map_entry *e = m->buckets[i];
        while (e) {
            hv_map_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    hv_map_init(m);
}

static hv_map_entry **slot(const hv_map *m, const char *key)
{
    if (!m->nbuckets)
        return NULL;
    hv_map_entry **p = &m->buckets[hash(key) & (m->nbuckets - 1)];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

void *hv_map_get(const hv_map *m, const char *key)
{
    hv_map_entry **p = slot(m, key);
    return p && *p ? (*p)->value : NULL;
}

static void grow(hv_map *m)
{
    size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
    hv_map_entry **b = hv_xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < m->nbuckets; i++) {
        hv_map_entry *e = m->buckets[i];
        while (e) {
            hv_map_entry *next = e->next;
            size_t j = hash(e->key) & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

void *hv_map_put(hv_map *m, const char *key, void *value)
{
    if (m->count >= m->nbuckets)
        grow(m);
    hv_map_entry **p = slot(m, key);
    if (*p) {
        void *old = (*p)->value;
        (*p)->value = value;
        return old;
    }
    size_t kl = strlen(key);
    hv_map_entry *e = hv_xmalloc(sizeof(*e) + kl + 1);
    memcpy(e->key, key, kl + 1);
    e->value = value;
    e->next = NULL;
    *p = e;
    m->count++;
    return NULL;
}

void *hv_map_del(hv_map *m, const char *key)
{
    hv_map_entry **p = slot(m, key);
    if (!p || !*p)
        return NULL;
    hv_map_entry *e = *p;
    void *v = e->value;
    *p = e->next;
    free(e);
    m->count--;
    return v;
}

hv_map_entry *hv_map_first(const hv_map *m, size_t *it)
{
    for (*it = 0; *it < m->nbuckets; (*it)++)
        if (m->buckets[*it])
            return m->buckets[*it];
    return NULL;
}

hv_map_entry *hv_map_next(const hv_map *m, hv_map_entry *e, size_t *it)
{
    if (e->next)
        return e->next;
    for ((*it)++; *it < m->nbuckets; (*it)++)
        if (m->buckets[*it])
            return m->buckets[*it];
    return NULL;
}
