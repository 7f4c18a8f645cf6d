/* SPDX-License-Identifier: MIT */
/* publish_frame.c — the publisher's frames, apart from its connection
 * (publisher.c) so that unit tests reach them without a server:
 *
 *   herald__publish_body_check   what submit refuses before anything is
 *                                queued: an empty body, one above the
 *                                frame limit, text that is not UTF-8 (the
 *                                server would close the whole connection
 *                                for the last two, 1009 / 1007, losing
 *                                every frame in flight with it)
 *   herald__publish_answer_decode  one answer frame of the server:
 *                                {"seq":N,"ids":["<id>",…]} or
 *                                {"seq":N,"status":400,"errors":"…"};
 *                                herald_publish_answer_replayed reads
 *                                its "replayed":true (idempotency keys)
 *
 * The body is not parsed as JSON here: the server validates it with the
 * same code and messages as POST /v1/events, and its refusal is an answer
 * like any other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "hv_ws_shared.h"

int herald__publish_body_check(const char *body, size_t len, size_t max_frame, char *errbuf,
                               size_t errlen)
{
    if (!body || len == 0)
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "empty body");
    if (len > max_frame)
        return herald__fail(HERALD_EINVAL, errbuf, errlen,
                            "body of %zu bytes is larger than the frame limit (%zu)", len,
                            max_frame);
    if (!hv_utf8_valid((const uint8_t *)body, len))
        return herald__fail(HERALD_EINVAL, errbuf, errlen, "body is not valid UTF-8");
    return 0;
}

void herald_publish_answer_clear(herald_publish_answer *a)
{
    if (!a)
        return;
    free(a->ids);
    free(a->errors);
    free(a->response);
    memset(a, 0, sizeof(*a));
}

int herald_publish_answer_replayed(const herald_publish_answer *a)
{
    if (!a || a->status != 0 || !a->response)
        return 0;
    json_t *root = json_loads(a->response, 0, NULL);
    int replayed = json_is_true(json_object_get(root, "replayed"));
    json_decref(root);
    return replayed;
}

/* The refusal's message: the "errors" string, or any other JSON value as
 * compact text, or "HTTP <status>" when there is none. */
static int take_errors(json_t *errors, int status, herald_publish_answer *out)
{
    char buf[32];
    char *dumped = NULL;
    const char *text;
    if (json_is_string(errors)) {
        text = json_string_value(errors);
    } else if (errors) {
        text = dumped = json_dumps(errors, JSON_COMPACT | JSON_ENCODE_ANY);
    } else {
        snprintf(buf, sizeof(buf), "HTTP %d", status);
        text = buf;
    }
    out->errors = text ? strdup(text) : NULL;
    free(dumped);
    return out->errors ? 0 : HERALD_ENOMEM;
}

int herald__publish_answer_decode(const char *text, size_t len, herald_publish_answer *out,
                                  char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    json_t *root = json_loadb(text, len, 0, NULL);
    json_t *seq = json_object_get(root, "seq"), *ids = json_object_get(root, "ids");
    json_t *status = json_object_get(root, "status");
    int rc = HERALD_EPROTO;
    if (!json_is_integer(seq) || json_integer_value(seq) < 1)
        goto done;
    out->seq = (uint64_t)json_integer_value(seq);
    if (json_is_array(ids) && !status) {
        rc = herald__ids_take(ids, &out->ids, &out->count);
    } else if (!ids && json_is_integer(status) && json_integer_value(status) >= 400 &&
               json_integer_value(status) <= 599) {
        out->status = (int)json_integer_value(status);
        rc = take_errors(json_object_get(root, "errors"), out->status, out);
    }
    if (rc == 0 && !(out->response = malloc(len + 1)))
        rc = HERALD_ENOMEM;
    if (rc == 0) {
        memcpy(out->response, text, len);
        out->response[len] = '\0';
    }
done:
    json_decref(root);
    if (rc != 0) {
        herald_publish_answer_clear(out);
        herald__fail(rc, errbuf, errlen, "%s: %.200s",
                     rc == HERALD_ENOMEM ? "out of memory" : "not a publish answer",
                     len > 200 ? "(long frame)" : text);
    }
    return rc;
}
