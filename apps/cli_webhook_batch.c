/* SPDX-License-Identifier: MIT */
/* cli_webhook_batch.c — `herald-cli webhooks add/update --batch SPEC`
 * (issue 18 item 6): SPEC is N[:T_ms][:gzip] (up to N events per request,
 * waiting at most T_ms for them, default 1000; "gzip" compresses) or
 * "off". Only the shape is checked here; the server checks the bounds
 * (max_events 1..1000, max_wait_ms 0..60000) and answers 400 naming the
 * field. An update with only --batch goes through herald_webhook_set_batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define USAGE "--batch needs N[:T_ms][:gzip] (e.g. 100:1000:gzip) or off"

static int number(const char *s, size_t n, long *out)
{
    if (!n || n > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

const char *cli_webhook_batch(const char *spec, json_t *body)
{
    if (!strcmp(spec, "off")) {
        json_object_set_new(body, "batch", json_null());
        return NULL;
    }
    long n = 0, t = -1;
    int gzip = 0;
    const char *p = spec;
    for (int part = 0; *p || part == 0; part++) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (part > 0 && len == 4 && !strncmp(p, "gzip", 4) && !gzip)
            gzip = 1;
        else if (part == 0 && number(p, len, &n) == 0)
            ;
        else if (part == 1 && number(p, len, &t) == 0)
            ;
        else
            return USAGE;
        p += len;
        if (colon && !*++p)
            return USAGE; /* a trailing colon */
        if (part > 2)
            return USAGE;
    }
    json_t *b = json_pack("{s:I,s:b}", "max_events", (json_int_t)n, "gzip", gzip);
    if (t >= 0)
        json_object_set_new(b, "max_wait_ms", json_integer(t));
    json_object_set_new(body, "batch", b);
    return NULL;
}

int cli_webhook_set_batch(const cli *c, const char *id, const json_t *batch, char **out, char *err, size_t errlen)
{
    const json_t *t = json_object_get(batch, "max_wait_ms");
    return herald_webhook_set_batch(c->server, c->token, id, (int)json_integer_value(json_object_get(batch, "max_events")),
                                    t ? (int)json_integer_value(t) : 1000, json_is_true(json_object_get(batch, "gzip")),
                                    out, NULL, err, errlen);
}
