/* SPDX-License-Identifier: MIT */
/* map.h — a string-keyed hash map of pointers (chaining, FNV-1a).
 *
 * Used for rooms and peers by id, peers by token hash, and each loop's
 * room and user channels. Keys are copied; values are the caller's. Not
 * thread-safe: each map belongs to one thread or sits behind one lock.
 */
#ifndef HV_MAP_H
#define HV_MAP_H

#include <stddef.h>

typedef struct hv_map_entry {
    struct hv_map_entry *next;
    void *value;
    char key[];
} hv_map_entry;

typedef struct hv_map {
    hv_map_entry **buckets;
    size_t nbuckets, count;
} hv_map;

void hv_map_init(hv_map *m);
void hv_map_free(hv_map *m); /* frees the entries, not the values */
void *hv_map_get(const hv_map *m, const char *key);
/* Sets key to value (replacing any old value, which is returned). */
void *hv_map_put(hv_map *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *hv_map_del(hv_map *m, const char *key);

/* Iteration: for (hv_map_entry *e = hv_map_first(m, &i); e; e = hv_map_next(m, e, &i)).
 * Do not modify the map while iterating. */
hv_map_entry *hv_map_first(const hv_map *m, size_t *it);
hv_map_entry *hv_map_next(const hv_map *m, hv_map_entry *e, size_t *it);

#endif
