/* SPDX-License-Identifier: MIT */
/* publish_socket_keys.c — idempotency keys on the publishing socket (issue
 * 18 item 1; docs/api.md, "Idempotent publish").
 *
 * A frame's events may carry "idempotency_key" exactly as the events of a
 * POST /v1/events batch: the same bounds, the same hash (the event's
 * fields), the same store, so a key is one key space across HTTP and the
 * socket. What differs is that the frames of one read go to the hub as one
 * request: each claim is scoped to its frame (hv_idem_claim.scope_*), so a
 * key used with another event refuses that frame alone (409), and the
 * answers are decided per frame here. publish_socket.c keeps a batch with
 * keys alone at the hub (so the keys of its later frames are screened after
 * it is recorded, and no later frame overtakes it); this file holds the
 * claims and decides each frame's answer.
 */
#include "api/publish_socket_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/idempotency.h"
#include "api/reply.h"
#include "core/xalloc.h"

int hv__pub_batch_has_key(const hv__pub_batch *b, char *const *keys, size_t n)
{
    for (size_t i = 0; keys && i < n; i++)
        if (keys[i] && hv_map_get(&b->keyset, keys[i]))
            return 1;
    return 0;
}

void hv__pub_batch_add_keys(hv__pub_batch *b, char **keys, hv_event **evs, size_t n, size_t off)
{
    size_t more = 0;
    for (size_t i = 0; i < n; i++)
        more += keys[i] != NULL;
    if (b->nclaims + more > b->ccap) {
        b->ccap = (b->nclaims + more) * 2;
        b->claims = hv_xrealloc(b->claims, b->ccap * sizeof(*b->claims));
        b->keys = hv_xrealloc(b->keys, b->ccap * sizeof(*b->keys));
        /* the claims' key pointers are the strings, which do not move */
    }
    for (size_t i = 0; i < n; i++) {
        if (!keys[i])
            continue;
        hv_idem_claim *c = &b->claims[b->nclaims];
        *c = (hv_idem_claim){.key = keys[i], .first = off + i, .count = 1, .scope_first = off,
                             .scope_count = n};
        hv_api_idem_hash_event(evs[i], c->hash);
        b->keys[b->nclaims++] = keys[i];
        hv_map_put(&b->keyset, keys[i], keys[i]);
    }
    free(keys);
}

void hv__pub_batch_free(hv__pub_batch *b)
{
    for (size_t i = 0; i < b->nclaims; i++) {
        free(b->claims[i].ids);
        free(b->keys[i]);
    }
    free(b->claims);
    free(b->keys);
    hv_map_free(&b->keyset);
    free(b);
}

/* The id event off+i of the batch is answered with: the first publish's
 * for a replayed key, else its own. *k walks the frame's claims [.., to),
 * which are in event order. */
static uint64_t id_of(const hv__pub_batch *b, size_t *k, size_t to, hv_event **evs, size_t i)
{
    while (*k < to && b->claims[*k].first < i)
        (*k)++;
    const hv_idem_claim *c = *k < to ? &b->claims[*k] : NULL;
    if (c && c->first == i && c->state == HV_IDEM_REPLAYED && c->nids)
        return c->ids[0];
    return evs[i]->id;
}

void hv__pub_keyed_answer(hv_server *srv, const hv__pub_batch *b, size_t *ci, hv__pub_slot *s,
                          hv_event **evs, size_t off)
{
    size_t from = *ci, to = from;
    while (to < b->nclaims && b->claims[to].scope_first == off)
        to++;
    *ci = to;
    uint64_t replays = 0;
    for (size_t k = from; k < to; k++) {
        const hv_idem_claim *c = &b->claims[k];
        if (c->state == HV_IDEM_CONFLICT) {
            atomic_fetch_add_explicit(&srv->metrics.idem_conflicts, 1, memory_order_relaxed);
            s->status = 409;
            char msg[400];
            snprintf(msg, sizeof(msg), "events[%zu].idempotency_key %s was used with a different event",
                     c->first - off, c->key);
            s->text = hv_xstrdup(msg);
            return;
        }
        if (c->state == HV_IDEM_ERROR) {
            s->status = 503;
            s->text = hv_xstrdup("the store could not read an idempotency key; nothing of this frame "
                                 "was stored");
            return;
        }
        replays += c->state == HV_IDEM_REPLAYED;
    }
    if (replays)
        atomic_fetch_add_explicit(&srv->metrics.idem_replays, replays, memory_order_relaxed);
    s->status = 200;
    s->replayed = replays > 0;
    size_t k = from;
    if (s->nev == 1) {
        s->id = id_of(b, &k, to, evs, off);
        return;
    }
    size_t cap = (size_t)s->nev * HV_API_ID_TEXT_MAX + 1, len = 0;
    s->text = hv_xmalloc(cap);
    s->text[0] = 0;
    for (size_t i = 0; i < s->nev; i++)
        len += (size_t)snprintf(s->text + len, cap - len, "%s\"%llu\"", i ? "," : "",
                                (unsigned long long)id_of(b, &k, to, evs, off + i));
}
