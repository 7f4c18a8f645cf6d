/* SPDX-License-Identifier: MIT */
/* sink_template.c — fills "{type}"-style placeholders from an event; see
 * sink_template.h. Two passes: measure, then write. */
#include "sink_template.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ABSENT "-"

static const char *const names[] = {"id", "type", "room_id", "user_id"};

/* Index of the placeholder at p (just past '{'), -1 if none; *len gets the
 * length of "name}". */
static int placeholder(const char *p, size_t *len)
{
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(names[i]);
        if (!strncmp(p, names[i], n) && p[n] == '}') {
            *len = n + 1;
            return i;
        }
    }
    return -1;
}

int sink_template_check(const char *tpl, char *err, size_t errlen)
{
    for (const char *p = tpl; *p; p++) {
        size_t len;
        if (*p == '{' && placeholder(p + 1, &len) < 0) {
            snprintf(err, errlen, "unknown placeholder at \"%.20s\" (use {id}, {type}, {room_id}, {user_id})", p);
            return -1;
        }
        if (*p == '{')
            p += len;
    }
    return 0;
}

static const char *value(int which, const herald_sink_event *ev, char *idbuf)
{
    switch (which) {
    case 0:
        sprintf(idbuf, "%" PRIu64, ev->id);
        return idbuf;
    case 1:
        return ev->type ? ev->type : ABSENT;
    case 2:
        return ev->room_id ? ev->room_id : ABSENT;
    default:
        return ev->user_id ? ev->user_id : ABSENT;
    }
}

/* Writes the expansion to out (when not NULL); returns its length. */
static size_t fill(const char *tpl, const herald_sink_event *ev, const char *unsafe, char *out)
{
    size_t n = 0, len;
    char idbuf[24];
    for (const char *p = tpl; *p; p++) {
        int which = *p == '{' ? placeholder(p + 1, &len) : -1;
        if (which < 0) {
            if (out)
                out[n] = *p;
            n++;
            continue;
        }
        for (const char *v = value(which, ev, idbuf); *v; v++, n++)
            if (out)
                out[n] = unsafe && strchr(unsafe, *v) ? '_' : *v;
        p += len;
    }
    return n;
}

char *sink_template_expand(const char *tpl, const herald_sink_event *ev, const char *unsafe)
{
    size_t n = fill(tpl, ev, unsafe, NULL);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    fill(tpl, ev, unsafe, out);
    out[n] = 0;
    return out;
}
