/* SPDX-License-Identifier: MIT */
/* idem.c — idempotency keys on the commit thread (issue 18 item 1).
 *
 * Before a group is committed, each request carrying keys is screened:
 * a key the store already holds (within the window) is a replay (same
 * hash: its events are not stored, the first ids are answered) or a
 * conflict (other hash: none of the request's events are stored). The
 * commit thread is the store's only writer, and the keys of new claims
 * are recorded in the group's own transaction, so a lookup followed by
 * that commit cannot be overtaken on this node. Two requests of one
 * group with the same key: the later one waits for the next group, where
 * the lookup finds the key the earlier one recorded (hence the set).
 * A claim with a scope (the publishing socket's frames, which share one
 * request) refuses only its scope's events on a conflict, not the whole
 * request.
 */
#include "hub/idem.h"

#include "hub/hub_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"

static void screen_one(hv_store *st, int64_t since_ms, hv_idem_claim *c)
{
    char hash[HV_IDEM_HASH_HEX + 1];
    int got = hv_store_idem_get(st, c->key, since_ms, hash, &c->ids, &c->nids);
    if (got < 0) {
        hv_error("store: idempotency key lookup failed");
        c->state = HV_IDEM_ERROR;
    } else if (got == 0) {
        c->state = HV_IDEM_NEW;
    } else if (strcmp(hash, c->hash) || c->nids != c->count) {
        c->state = HV_IDEM_CONFLICT;
    } else {
        c->state = HV_IDEM_REPLAYED;
    }
    if (c->state != HV_IDEM_REPLAYED) {
        free(c->ids);
        c->ids = NULL;
        c->nids = 0;
    }
}

static void skip_range(unsigned char *skip, size_t n, size_t first, size_t count)
{
    for (size_t j = first; j < first + count && j < n; j++)
        skip[j] = 1;
}

int hv__idem_screen(hv_store *st, int64_t since_ms, hv_map *set, hv_idem_claim *claims,
                    size_t nclaims, unsigned char *skip, size_t n)
{
    for (size_t i = 0; i < nclaims; i++)
        if (hv_map_get(set, claims[i].key))
            return 1;
    int refused = 0;
    for (size_t i = 0; i < nclaims; i++) {
        hv_idem_claim *c = &claims[i];
        screen_one(st, since_ms, c);
        int bad = c->state == HV_IDEM_CONFLICT || c->state == HV_IDEM_ERROR;
        refused |= bad && !c->scope_count;
        if (c->state == HV_IDEM_REPLAYED)
            skip_range(skip, n, c->first, c->count);
        else if (bad && c->scope_count) /* its frame alone (the publishing socket) */
            skip_range(skip, n, c->scope_first, c->scope_count);
    }
    for (size_t j = 0; refused && j < n; j++)
        skip[j] = 1;
    for (size_t i = 0; !refused && i < nclaims; i++)
        if (claims[i].state == HV_IDEM_NEW && claims[i].first < n && !skip[claims[i].first])
            hv_map_put(set, claims[i].key, (void *)claims[i].key);
    return 0;
}

void hv__idem_lost(hv_store *st, hv_idem_put *puts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!puts[i].lost)
            continue;
        hv_idem_claim *c = puts[i].owner;
        screen_one(st, 0, c);
        if (c->state == HV_IDEM_NEW) /* expired at once: report it, nothing stored */
            c->state = HV_IDEM_ERROR;
    }
}

pub_req *hv__idem_screen_group(hv_store *st, double window_s, pub_req **list)
{
    size_t keys = 0;
    for (pub_req *r = *list; r; r = r->next)
        keys += r->nidem;
    if (keys == 0)
        return NULL;
    int64_t since = hv_now_ms() - (int64_t)(window_s * 1000);
    hv_map set;
    hv_map_init(&set);
    pub_req *waiting = NULL, **wtail = &waiting, **p = list;
    while (*p) {
        pub_req *r = *p;
        if (r->nidem && hv__idem_screen(st, since, &set, r->idem, r->nidem, r->skip, r->n)) {
            *p = r->next;
            r->next = NULL;
            *wtail = r;
            wtail = &r->next;
        } else {
            p = &r->next;
        }
    }
    hv_map_free(&set);
    return waiting;
}
