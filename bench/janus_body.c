/* SPDX-License-Identifier: MIT */
/* janus_body.c — Janus event-handler bodies for the load generator's
 * janus_ingest cells.
 *
 * The templates are the events of a real capture (a JSON array, e.g.
 * tests/data/janus/14-batch-100-events.json: what Janus 1.1.2's sample
 * handler POSTed, 100 events of five kinds). Each is kept as its compact
 * JSON text (jansson keeps the key order) with its top-level "timestamp"
 * and, when it has one, "session_id" replaced by 16-digit placeholders.
 * A body is a JSON array of n of them, the templates taken in turn.
 * Before each send lg_janus_stamp rewrites the placeholders in place:
 * every event gets a timestamp of its own (a start time in µs plus a
 * running count, so no two events of a run are the same object: herald
 * drops an event whose compact text it has seen), and the session ids of
 * one body a value of that body. The events keep their real size and shape
 * (~225 bytes each compact).
 */
#include "lg.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIGITS 16
#define TS_MARK "9999999999999999"
#define SID_MARK "8888888888888888"

struct lg_janus_tpl {
    char **text;
    size_t *len;
    size_t *ts_off, *sid_off; /* within text; (size_t)-1 = none */
    size_t n;
};

/* Offset of the digits after `"key":MARK` in s, or (size_t)-1. */
static size_t mark_at(const char *s, const char *key, const char *mark)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":%s", key, mark);
    const char *p = strstr(s, pat);
    return p ? (size_t)(p - s) + strlen(key) + 3 : (size_t)-1;
}

lg_janus_tpl *lg_janus_load(const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root || !json_is_array(root) || json_array_size(root) == 0) {
        snprintf(err, errlen, "%s: %s", path, root ? "not a non-empty JSON array" : je.text);
        json_decref(root);
        return NULL;
    }
    lg_janus_tpl *t = calloc(1, sizeof *t);
    size_t n = json_array_size(root);
    t->text = calloc(n, sizeof *t->text);
    t->len = calloc(n, sizeof *t->len);
    t->ts_off = calloc(n, sizeof *t->ts_off);
    t->sid_off = calloc(n, sizeof *t->sid_off);
    if (!t || !t->text || !t->len || !t->ts_off || !t->sid_off)
        abort();
    for (size_t i = 0; i < n; i++) {
        json_t *ev = json_deep_copy(json_array_get(root, i));
        if (!json_is_object(ev) || !json_is_integer(json_object_get(ev, "type"))) {
            snprintf(err, errlen, "%s: element %zu is not a Janus event", path, i);
            json_decref(ev);
            json_decref(root);
            lg_janus_free(t);
            return NULL;
        }
        int has_sid = json_object_get(ev, "session_id") != NULL;
        json_object_set_new(ev, "timestamp", json_integer(9999999999999999LL));
        if (has_sid)
            json_object_set_new(ev, "session_id", json_integer(8888888888888888LL));
        char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(ev);
        t->text[t->n] = s;
        t->len[t->n] = strlen(s);
        t->ts_off[t->n] = mark_at(s, "timestamp", TS_MARK);
        t->sid_off[t->n] = has_sid ? mark_at(s, "session_id", SID_MARK) : (size_t)-1;
        t->n++;
        if (t->ts_off[t->n - 1] == (size_t)-1) {
            snprintf(err, errlen, "%s: element %zu: cannot place its timestamp", path, i);
            json_decref(root);
            lg_janus_free(t);
            return NULL;
        }
    }
    json_decref(root);
    return t;
}

void lg_janus_free(lg_janus_tpl *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->text[i]);
    free(t->text);
    free(t->len);
    free(t->ts_off);
    free(t->sid_off);
    free(t);
}

size_t lg_janus_count(const lg_janus_tpl *t)
{
    return t->n;
}

char *lg_janus_body(const lg_janus_tpl *t, int n, size_t *len, size_t **offs)
{
    size_t cap = 3;
    for (int i = 0; i < n; i++)
        cap += t->len[(size_t)i % t->n] + 1;
    char *b = malloc(cap);
    size_t *o = malloc(2 * (size_t)n * sizeof *o);
    if (!b || !o)
        abort();
    size_t p = 0;
    b[p++] = '[';
    for (int i = 0; i < n; i++) {
        size_t k = (size_t)i % t->n;
        if (i)
            b[p++] = ',';
        memcpy(b + p, t->text[k], t->len[k]);
        o[2 * i] = p + t->ts_off[k];
        o[2 * i + 1] = t->sid_off[k] == (size_t)-1 ? (size_t)-1 : p + t->sid_off[k];
        p += t->len[k];
    }
    b[p++] = ']';
    b[p] = 0;
    *len = p;
    *offs = o;
    return b;
}

static void put_digits(char *at, uint64_t v)
{
    for (int i = DIGITS - 1; i >= 0; i--, v /= 10)
        at[i] = (char)('0' + v % 10);
}

void lg_janus_stamp(char *body, const size_t *offs, int n, uint64_t ts0_us, uint64_t *seq)
{
    /* session ids in 1e15..(2e15 - 1): 16 digits, one value per body */
    uint64_t sid = 1000000000000000ULL + (*seq / (uint64_t)(n > 0 ? n : 1)) % 1000000000000000ULL;
    for (int i = 0; i < n; i++) {
        put_digits(body + offs[2 * i], ts0_us + (*seq)++);
        if (offs[2 * i + 1] != (size_t)-1)
            put_digits(body + offs[2 * i + 1], sid);
    }
}
