/* SPDX-License-Identifier: MIT */
/* idempotency.c — idempotent publish on the HTTP API; see idempotency.h.
 *
 * As Stripe, Svix and Convoy do: the key names what the client means to
 * publish once; a repeat within the window gets the first answer (same
 * status, same ids) marked Idempotent-Replayed: true, and a key reused
 * for something else is a 409 rather than a silent replay. What is
 * compared is a SHA-256: of the raw body for the header key (the whole
 * request), of the event's fields (type, room_id, user_id, data as
 * stored) for a per-event key, so the same event in another batch or in
 * another order is still the same. The store and the hub do the rest
 * (store/idem.h, hub/idem.c).
 */
#include "api/idempotency.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "api/reply.h"
#include "core/event_json.h"
#include "core/xalloc.h"
#include "net/http.h"

/* EVP_sha256() makes OpenSSL look the algorithm up on every init (see
 * auth/server_token.c): fetched once instead. */
static EVP_MD *g_sha256;
static uv_once_t g_sha256_once = UV_ONCE_INIT;

static void sha256_fetch(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!g_sha256)
        abort(); /* OpenSSL without SHA-256 */
}

static EVP_MD_CTX *sha256_begin(void)
{
    uv_once(&g_sha256_once, sha256_fetch);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, g_sha256, NULL))
        abort();
    return ctx;
}

static void hex_digest(EVP_MD_CTX *ctx, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_DigestFinal_ex(ctx, md, &len))
        abort();
    for (unsigned int i = 0; i < len && i < HV_IDEM_HASH_HEX / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void update_field(EVP_MD_CTX *ctx, const char *s, size_t len)
{
    /* length-prefixed: fields cannot run into each other */
    char pre[24];
    int n = snprintf(pre, sizeof(pre), "%zu:", s ? len : (size_t)0);
    EVP_DigestUpdate(ctx, pre, (size_t)n);
    if (s)
        EVP_DigestUpdate(ctx, s, len);
    EVP_DigestUpdate(ctx, s ? "+" : "-", 1); /* absent is not "" */
}

static void hash_body(const char *body, size_t len, char *out)
{
    EVP_MD_CTX *ctx = sha256_begin();
    EVP_DigestUpdate(ctx, body, len);
    hex_digest(ctx, out);
    EVP_MD_CTX_free(ctx);
}

void hv_api_idem_hash_event(const hv_event *ev, char *out)
{
    EVP_MD_CTX *ctx = sha256_begin();
    update_field(ctx, ev->type, ev->type ? strlen(ev->type) : 0);
    update_field(ctx, ev->room_id, ev->room_id ? strlen(ev->room_id) : 0);
    update_field(ctx, ev->user_id, ev->user_id ? strlen(ev->user_id) : 0);
    update_field(ctx, ev->data ? ev->data : "{}", ev->data ? ev->data_len : 2);
    hex_digest(ctx, out);
    EVP_MD_CTX_free(ctx);
}

hv_api_idem *hv_api_idem_new(const char *header, const char *body, size_t len, hv_event **evs,
                             size_t n, char **keys)
{
    size_t nkeys = 0;
    for (size_t i = 0; keys && i < n; i++)
        nkeys += keys[i] != NULL;
    if (!header && nkeys == 0) {
        hv_idem_keys_free(keys, n);
        return NULL;
    }
    hv_api_idem *m = hv_xcalloc(1, sizeof(*m));
    m->keys = keys;
    m->nkeys = n;
    if (header) {
        m->header = hv_xstrdup(header);
        m->claims = hv_xcalloc(1, sizeof(*m->claims));
        m->claims[0] = (hv_idem_claim){.key = m->header, .first = 0, .count = n};
        hash_body(body, len, m->claims[0].hash);
        m->n = 1;
        return m;
    }
    m->claims = hv_xcalloc(nkeys, sizeof(*m->claims));
    for (size_t i = 0; i < n; i++) {
        if (!keys[i])
            continue;
        hv_idem_claim *c = &m->claims[m->n++];
        *c = (hv_idem_claim){.key = keys[i], .first = i, .count = 1};
        hv_api_idem_hash_event(evs[i], c->hash);
    }
    return m;
}

void hv_api_idem_free(hv_api_idem *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->claims[i].ids);
    free(m->claims);
    hv_idem_keys_free(m->keys, m->nkeys);
    free(m->header);
    free(m);
}

int hv_api_idem_header(hv_conn *c, const hv_http_req *r, const char *value)
{
    int seen = 0;
    for (int i = 0; i < r->nheaders; i++)
        seen += !strcmp(r->headers[i].name, "idempotency-key");
    if (seen > 1) {
        hv_http_error(c, 400, "Idempotency-Key must be given once");
        return -1;
    }
    if (value && !hv_idem_key_valid(value, strlen(value))) {
        hv_http_error(c, 400, "Idempotency-Key must be 1 to %d printable ASCII characters (no spaces)",
                      HV_IDEM_KEY_MAX);
        return -1;
    }
    return 0;
}

/* The claim covering event i, or NULL. */
static const hv_idem_claim *claim_of(const hv_api_idem *m, size_t i)
{
    for (size_t k = 0; k < m->n; k++)
        if (i >= m->claims[k].first && i < m->claims[k].first + m->claims[k].count)
            return &m->claims[k];
    return NULL;
}

int hv_api_idem_refused(hv_conn *c, const hv_api_idem *m)
{
    for (size_t k = 0; k < m->n; k++) {
        const hv_idem_claim *cl = &m->claims[k];
        if (cl->state == HV_IDEM_ERROR) {
            hv_http_error(c, 503, "the store could not read an idempotency key; nothing was stored");
            return 1;
        }
        if (cl->state != HV_IDEM_CONFLICT)
            continue;
        atomic_fetch_add_explicit(&c->loop->srv->metrics.idem_conflicts, 1, memory_order_relaxed);
        if (m->header)
            hv_http_error(c, 409, "Idempotency-Key %s was used with a different body", cl->key);
        else
            hv_http_error(c, 409, "events[%zu].idempotency_key %s was used with a different event",
                          cl->first, cl->key);
        return 1;
    }
    return 0;
}

void hv_api_idem_answer(hv_conn *c, const hv_api_idem *m, hv_event **evs, size_t n)
{
    if (hv_api_idem_refused(c, m))
        return;
    hv_api_idem_count_replays(c->loop->srv, m);
    size_t cap = 16 + n * HV_API_ID_TEXT_MAX, len = 0;
    char *body = hv_xmalloc(cap);
    int replayed = 0;
    len += (size_t)snprintf(body, cap, "{\"ids\":[");
    for (size_t i = 0; i < n; i++) {
        const hv_idem_claim *cl = claim_of(m, i);
        uint64_t id = evs[i]->id;
        if (cl && cl->state == HV_IDEM_REPLAYED && i - cl->first < cl->nids) {
            id = cl->ids[i - cl->first];
            replayed = 1;
        }
        len += (size_t)snprintf(body + len, cap - len, "%s\"%llu\"", i ? "," : "",
                                (unsigned long long)id);
    }
    len += (size_t)snprintf(body + len, cap - len, "]}");
    hv_http_respond(c, 201, "application/json", replayed ? "Idempotent-Replayed: true\r\n" : NULL,
                    body, len);
    free(body);
}

void hv_api_idem_count_replays(hv_server *srv, const hv_api_idem *m)
{
    uint64_t n = 0;
    for (size_t k = 0; m && k < m->n; k++)
        n += m->claims[k].state == HV_IDEM_REPLAYED;
    if (n)
        atomic_fetch_add_explicit(&srv->metrics.idem_replays, n, memory_order_relaxed);
}

int hv_api_idem_replayed(const hv_api_idem *m)
{
    for (size_t k = 0; m && k < m->n; k++)
        if (m->claims[k].state == HV_IDEM_REPLAYED)
            return 1;
    return 0;
}

int hv_api_idem_item_key(json_t *item, size_t i, char **keys, char *err, size_t errlen)
{
    json_t *v = json_object_get(item, "idempotency_key");
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || !hv_idem_key_valid(json_string_value(v), json_string_length(v))) {
        snprintf(err, errlen, "events[%zu].idempotency_key must be 1 to %d printable ASCII "
                 "characters (no spaces)", i, HV_IDEM_KEY_MAX);
        return -1;
    }
    for (size_t j = 0; j < i; j++)
        if (keys[j] && !strcmp(keys[j], json_string_value(v))) {
            snprintf(err, errlen, "events[%zu].idempotency_key repeats the key of events[%zu] in "
                     "this request", i, j);
            return -1;
        }
    keys[i] = hv_xstrdup(json_string_value(v));
    return 0;
}
