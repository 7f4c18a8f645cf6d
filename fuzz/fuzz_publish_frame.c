/* SPDX-License-Identifier: MIT */
/* fuzz_publish_frame.c — libFuzzer target for what a client sends on the
 * publishing socket (GET /v1/events/websocket, api/publish_socket.c): one
 * WebSocket message, before or after authentication, judged by the
 * socket's own code (hv_publish_frame_read), and the answer herald would
 * frame for it (hv_ws_frame_header around the JSON it sends).
 *
 * Byte 0: bit 0 = a text message (else binary), bit 1 = authenticated;
 * the rest is the message. Checked:
 * - before authentication: a token only from a text {"type":"auth",
 *   "token":<string>} (the same string), else close 4001 "authenticate
 *   first"; never events;
 * - after it: binary closes 1003; text is either 1 to 1000 events, each
 *   with a valid type outside herald.*, or a 400 whose message is
 *   non-empty printable ASCII, exactly what POST /v1/events answers for
 *   the same body (hv_event_parse_publish_keys, called again on a copy);
 * - idempotency keys (issue 18 item 1): an accepted frame's keys are NULL
 *   when no event has "idempotency_key", else one per event, each the
 *   event's own string, valid (1-255 printable ASCII) and unique in the
 *   frame; a batch holding them finds every one of them (the set that
 *   splits a read's frames on a repeated key) and scopes each claim to the
 *   frame; the 409 answer naming a key is printable;
 * - the answer's frame header announces exactly the payload's length.
 * The seeds in fuzz/corpus/fuzz_publish_frame/ are auth frames (right,
 * wrong, malformed), single events, arrays, refused bodies and binary.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/publish_socket_internal.h"
#include "codec/ws_frame.h"
#include "core/event_json.h"

static void printable(const char *s)
{
    if (!*s)
        abort();
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            abort();
}

/* The header of the answer's frame announces the payload it carries. */
static void check_len(size_t n)
{
    uint8_t hdr[10];
    size_t h = hv_ws_frame_header(hdr, HV_WS_TEXT, n);
    if (hdr[0] != 0x81)
        abort();
    size_t got = hdr[1] & 0x7f;
    if (got == 126)
        got = (size_t)hdr[2] << 8 | hdr[3];
    else if (got == 127)
        for (int i = 0; i < 8; i++)
            got = got << 8 | hdr[2 + i];
    if (got != n || h != (n < 126 ? 2u : n <= 0xffff ? 4u : 10u) || (hdr[1] & 0x80))
        abort();
}

static void check_frame(const char *payload)
{
    check_len(strlen(payload));
}

/* Every length form, at its edges (answers are short; a long array's ids are not). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const size_t edge[] = {0, 1, 125, 126, 127, 65535, 65536, 65537, (size_t)1 << 32};
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
        check_len(edge[i]);
    return 0;
}

static void before_auth(int text, const uint8_t *msg, size_t len, const hv_publish_verdict *v)
{
    if (v->evs || v->status)
        abort();
    json_t *j = text ? json_loadb((const char *)msg, len, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *tok = json_string_value(json_object_get(j, "token"));
    int auth = type && !strcmp(type, "auth") && tok;
    if (auth != (v->token != NULL) || (auth && strcmp(tok, v->token) != 0))
        abort();
    if (!auth && (v->code != 4001 || strcmp(v->reason, "authenticate first") != 0))
        abort();
    json_decref(j);
}

/* The event i's "idempotency_key" in the message (NULL: none or null). */
static const char *key_in(json_t *root, size_t i)
{
    json_t *o = json_is_array(root) ? json_array_get(root, i) : root;
    return json_string_value(json_object_get(o, "idempotency_key"));
}

static void check_keys(const uint8_t *msg, size_t len, hv_publish_verdict *v)
{
    json_t *root = json_loadb((const char *)msg, len, JSON_DECODE_ANY, NULL);
    size_t nkeys = 0;
    for (size_t i = 0; i < v->n; i++) {
        const char *want = key_in(root, i), *got = v->keys ? v->keys[i] : NULL;
        if (!want != !got || (got && (strcmp(want, got) || !hv_idem_key_valid(got, strlen(got)))))
            abort();
        for (size_t j = 0; got && j < i; j++)
            if (v->keys[j] && !strcmp(v->keys[j], got))
                abort();
        nkeys += got != NULL;
    }
    json_decref(root);
    if (!v->keys)
        return;
    if (nkeys == 0)
        abort(); /* an all-NULL array is dropped */
    hv__pub_batch *b = calloc(1, sizeof(*b));
    char **keys = v->keys;
    v->keys = NULL;
    hv__pub_batch_add_keys(b, keys, v->evs, v->n, 0); /* takes keys */
    if (b->nclaims != nkeys)
        abort();
    for (size_t k = 0; k < b->nclaims; k++) {
        const hv_idem_claim *c = &b->claims[k];
        char *one[1] = {(char *)c->key};
        if (!hv__pub_batch_has_key(b, one, 1) || c->scope_first != 0 || c->scope_count != v->n ||
            c->first >= v->n || c->count != 1 || strlen(c->hash) != HV_IDEM_HASH_HEX)
            abort();
        char msg409[400];
        snprintf(msg409, sizeof(msg409), "events[%zu].idempotency_key %s was used with a different event",
                 c->first, c->key);
        printable(msg409);
    }
    char *absent[1] = {"\x01not a key"};
    if (hv__pub_batch_has_key(b, absent, 1))
        abort();
    hv__pub_batch_free(b);
}

static void after_auth(int text, const uint8_t *msg, size_t len, hv_publish_verdict *v)
{
    if (v->token || (!text && v->code != 1003) || (text && v->code != 0))
        abort();
    if (!text)
        return;
    if (v->status == 400) {
        printable(v->err);
        if (v->evs)
            abort();
        hv_event **evs;
        size_t n;
        char err[256];
        char **keys;
        if (hv_event_parse_publish_keys((const char *)msg, len, &evs, &n, &keys, err, sizeof(err)) == 0 ||
            strcmp(err, v->err) != 0)
            abort();
        json_t *a = json_pack("{s:I,s:i,s:s}", "seq", (json_int_t)1, "status", 400, "errors", v->err);
        char *s = json_dumps(a, JSON_COMPACT);
        check_frame(s);
        free(s);
        json_decref(a);
        return;
    }
    if (v->status != 0 || !v->evs || v->n < 1 || v->n > HV_PUBLISH_MAX_BATCH)
        abort();
    for (size_t i = 0; i < v->n; i++)
        if (!hv_event_type_valid(v->evs[i]->type) ||
            !strncmp(v->evs[i]->type, HV_EVENT_OWN_PREFIX, strlen(HV_EVENT_OWN_PREFIX)))
            abort();
    char ids[96];
    snprintf(ids, sizeof(ids), "{\"seq\":%zu,\"ids\":[\"%zu\"]%s}", v->n, len,
             v->keys ? ",\"replayed\":true" : "");
    check_frame(ids);
    check_keys(msg, len, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int text = data[0] & 1, authed = (data[0] >> 1) & 1;
    /* A copy of exactly the message: reading past it is caught. */
    uint8_t *msg = malloc(size - 1 ? size - 1 : 1);
    memcpy(msg, data + 1, size - 1);
    hv_publish_verdict v;
    hv_publish_frame_read(text ? HV_WS_TEXT : HV_WS_BINARY, msg, size - 1, authed, &v);
    if (v.code)
        printable(v.reason);
    if (authed)
        after_auth(text, msg, size - 1, &v);
    else
        before_auth(text, msg, size - 1, &v);
    for (size_t i = 0; i < v.n; i++)
        hv_event_unref(v.evs[i]);
    free(v.evs);
    hv_idem_keys_free(v.keys, v.n);
    free(v.token);
    free(msg);
    return 0;
}
