/* SPDX-License-Identifier: MIT */
/* list.h — intrusive circular doubly-linked lists.
 *
 * Connections sit on several lists at once (all connections of a loop, the
 * subscribers of one topic) with no allocation: the node lives inside the
 * connection, and unlinking is O(1).
 */
#ifndef HV_LIST_H
#define HV_LIST_H

#include <stddef.h>

typedef struct hv_list {
    struct hv_list *prev, *next;
} hv_list;

#define hv_container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static inline void hv_list_init(hv_list *l) { l->prev = l->next = l; }
static inline int hv_list_empty(const hv_list *l) { return l->next == l; }
static inline int hv_list_linked(const hv_list *n) { return n->next != NULL && n->next != n; }

static inline void hv_list_push(hv_list *head, hv_list *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static inline void hv_list_remove(hv_list *n)
{
    if (!n->next)
        return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

#define hv_list_each(it, head) for (hv_list *it = (head)->next, *it##_n = it->next; it != (head); it = it##_n, it##_n = it->next)

#endif
