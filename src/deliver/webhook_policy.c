/* SPDX-License-Identifier: MIT */
/* webhook_policy.c — retry schedule parsing, outcome classification, the
 * next-attempt delay, and the body helpers; see webhook_policy.h. No clock
 * and no randomness of their own (the caller passes r), so every rule can
 * be tested with fixed inputs. jansson builds the Jellyfish body and
 * checks UTF-8 (json_stringn refuses invalid text).
 */
#include "deliver/webhook_policy.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define MAX_DELAY_S (366.0 * 24 * 3600)

int hv_wh_schedule_parse(const char *s, int64_t *out_ms, int max)
{
    int n = 0;
    const char *p = s ? s : "";
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            return n == 0 ? 0 : -1; /* "" is fine; "5," is not */
        char *end;
        double v = strtod(p, &end);
        if (end == p || !isfinite(v) || v < 0 || v > MAX_DELAY_S)
            return -1;
        /* only plain decimals: no hex, no exponent surprises */
        for (const char *q = p; q < end; q++)
            if (!isdigit((unsigned char)*q) && *q != '.' && *q != '+')
                return -1;
        if (n >= max)
            return -1;
        out_ms[n++] = (int64_t)llround(v * 1000.0);
        p = end;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            return n;
        if (*p != ',')
            return -1;
        p++;
    }
}

int hv_wh_classify(int transport_ok, long status)
{
    if (transport_ok && status >= 200 && status < 300)
        return HV_WH_OK;
    if (transport_ok && status == 410)
        return HV_WH_GONE;
    return HV_WH_RETRY;
}

int64_t hv_wh_retry_delay(int64_t base_ms, int64_t retry_after_ms, double r)
{
    if (base_ms < 0)
        base_ms = 0;
    if (retry_after_ms >= 0) {
        if (retry_after_ms < base_ms)
            return base_ms;
        if (retry_after_ms > 2 * base_ms)
            return 2 * base_ms;
        return retry_after_ms;
    }
    if (r < 0)
        r = 0;
    if (r > 1)
        r = 1;
    double f = 0.8 + 0.4 * r; /* [0.8, 1.2] */
    return (int64_t)llround((double)base_ms * f);
}

static int is_utf8(const char *buf, size_t len)
{
    json_t *s = json_stringn(buf, len);
    json_decref(s);
    return s != NULL;
}

char *hv_wh_jellyfish_body(const uint8_t *pb, size_t len, size_t *out_len)
{
    /* The Jellyfish server put the protobuf bytes in the JSON string as
     * they were (its receivers read bytes(notification, "utf-8")): so when
     * they are valid UTF-8 they go in as they are. Otherwise (a length or
     * varint byte of 0x80 or more that is not part of a UTF-8 sequence)
     * each byte becomes the code point of the same value. */
    char *u = hv_xmalloc(len * 2 + 1);
    size_t n = 0;
    int as_is = is_utf8((const char *)pb, len);
    if (as_is) {
        memcpy(u, pb, len);
        n = len;
    }
    for (size_t i = 0; !as_is && i < len; i++) {
        uint8_t b = pb[i];
        if (b < 0x80) {
            u[n++] = (char)b;
        } else {
            u[n++] = (char)(0xC0 | (b >> 6));
            u[n++] = (char)(0x80 | (b & 0x3F));
        }
    }
    json_t *s = json_stringn(u, n);
    free(u);
    if (!s)
        return NULL;
    json_t *obj = json_object();
    json_object_set_new(obj, "notification", s);
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (text && out_len)
        *out_len = strlen(text);
    return text;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static size_t varint_len(uint64_t v)
{
    uint8_t tmp[10];
    return put_varint(tmp, v);
}

/* Field numbers of proto/fishjam.proto: ServerMessage.notification_batch
 * and NotificationBatch.notifications, both length-delimited (wire type
 * 2). Written here by hand rather than through protobuf-c: the members
 * are already-encoded ServerMessages, copied without decoding them. */
#define PB_NOTIFICATION_BATCH 33
#define PB_NOTIFICATIONS 1
#define PB_LEN 2

uint8_t *hv_wh_batch_body(const uint8_t *const *pb, const size_t *len, size_t n, size_t *out_len)
{
    uint64_t tag_batch = PB_NOTIFICATION_BATCH << 3 | PB_LEN, tag_item = PB_NOTIFICATIONS << 3 | PB_LEN;
    size_t inner = 0;
    for (size_t i = 0; i < n; i++)
        inner += varint_len(tag_item) + varint_len(len[i]) + len[i];
    size_t total = varint_len(tag_batch) + varint_len(inner) + inner;
    uint8_t *out = hv_xmalloc(total ? total : 1), *p = out;
    p += put_varint(p, tag_batch);
    p += put_varint(p, inner);
    for (size_t i = 0; i < n; i++) {
        p += put_varint(p, tag_item);
        p += put_varint(p, len[i]);
        if (len[i])
            memcpy(p, pb[i], len[i]);
        p += len[i];
    }
    *out_len = (size_t)(p - out);
    return out;
}

size_t hv_wh_excerpt_clean(char *buf, size_t len)
{
    if (!is_utf8(buf, len)) {
        /* a character cut short at the end: at most 3 bytes of it */
        size_t cut = 0;
        while (cut < 3 && cut < len && ((unsigned char)buf[len - 1 - cut] & 0xC0) == 0x80)
            cut++;
        if (cut < len && ((unsigned char)buf[len - 1 - cut] & 0xC0) == 0xC0 &&
            is_utf8(buf, len - cut - 1))
            len -= cut + 1;
        else
            for (size_t i = 0; i < len; i++)
                if ((unsigned char)buf[i] >= 0x80)
                    buf[i] = '?';
    }
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0')
            buf[i] = '?';
    buf[len] = '\0';
    return len;
}
