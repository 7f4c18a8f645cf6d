/* SPDX-License-Identifier: MIT */
/* test_envelope.c — the native JSON envelope (codec/envelope.c).
 *
 * Checks the exact text (key order, optional keys, id as a string, the
 * timestamp format, data verbatim), string escaping, and that the reported
 * length matches and the result parses as JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "codec/envelope.h"
#include "codec/event_frames.h"
#include "core/event.h"

#define T_2026_11_22 1795341600123LL /* 2026-11-22T10:00:00.123Z */

static hv_event *make(uint64_t id, const char *type, const char *room, const char *user,
                      const char *data)
{
    hv_event *ev = hv_event_new(type, room, user, data, data ? strlen(data) : 0);
    ev->id = id;
    ev->time_ms = T_2026_11_22;
    return ev;
}

/* Builds the envelope, checks length and JSON validity, compares to want. */
static void expect_envelope(hv_event *ev, const char *want)
{
    size_t len = 0;
    char *s = hv_envelope_json(ev, &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    assert_string_equal(s, want);
    json_error_t jerr;
    json_t *j = json_loadb(s, len, 0, &jerr);
    assert_non_null(j);
    json_decref(j);
    free(s);
    hv_event_unref(ev);
}

static void test_full(void **state)
{
    (void)state;
    expect_envelope(make(42, "peer.connected", "r1", "u1", "{\"peer_id\":\"p1\"}"),
                    "{\"id\":\"42\",\"type\":\"peer.connected\","
                    "\"timestamp\":\"2026-11-22T10:00:00.123Z\",\"room_id\":\"r1\","
                    "\"user_id\":\"u1\",\"data\":{\"peer_id\":\"p1\"}}");
}

static void test_optional_keys(void **state)
{
    (void)state;
    expect_envelope(make(1, "room.created", NULL, NULL, NULL),
                    "{\"id\":\"1\",\"type\":\"room.created\","
                    "\"timestamp\":\"2026-11-22T10:00:00.123Z\",\"data\":{}}");
    expect_envelope(make(2, "chat.message", NULL, "u9", "{}"),
                    "{\"id\":\"2\",\"type\":\"chat.message\","
                    "\"timestamp\":\"2026-11-22T10:00:00.123Z\",\"user_id\":\"u9\",\"data\":{}}");
    expect_envelope(make(3, "chat.message", "r9", NULL, "{}"),
                    "{\"id\":\"3\",\"type\":\"chat.message\","
                    "\"timestamp\":\"2026-11-22T10:00:00.123Z\",\"room_id\":\"r9\",\"data\":{}}");
}

static void test_big_id_and_epoch(void **state)
{
    (void)state;
    hv_event *ev = make(UINT64_MAX, "a", NULL, NULL, "{}");
    ev->time_ms = 0;
    expect_envelope(ev, "{\"id\":\"18446744073709551615\",\"type\":\"a\","
                        "\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"data\":{}}");
}

static void test_data_verbatim(void **state)
{
    (void)state;
    const char *data = "{\"a\":[1,2.5,\"x\\\"y\"],\"b\":{\"c\":null,\"d\":\"\\u00e9\"}}";
    char want[512];
    snprintf(want, sizeof(want),
             "{\"id\":\"7\",\"type\":\"x.y\",\"timestamp\":\"2026-11-22T10:00:00.123Z\","
             "\"data\":%s}", data);
    expect_envelope(make(7, "x.y", NULL, NULL, data), want);
}

static void test_escaping(void **state)
{
    (void)state;
    /* quote, backslash, newline, control byte, non-ASCII UTF-8, slash */
    expect_envelope(make(5, "t", "a\"b\\c\nd\x01 \xc3\xa9/", "u\t1", "{}"),
                    "{\"id\":\"5\",\"type\":\"t\",\"timestamp\":\"2026-11-22T10:00:00.123Z\","
                    "\"room_id\":\"a\\\"b\\\\c\\nd\\u0001 \xc3\xa9/\",\"user_id\":\"u\\t1\","
                    "\"data\":{}}");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    /* not valid UTF-8: the non-ASCII bytes become '?' so the JSON stays valid */
    expect_envelope(make(6, "t", "r\xff\xfe", NULL, "{}"),
                    "{\"id\":\"6\",\"type\":\"t\",\"timestamp\":\"2026-11-22T10:00:00.123Z\","
                    "\"room_id\":\"r??\",\"data\":{}}");
}

static void test_event_encode_json_frame(void **state)
{
    (void)state;
    hv_event *ev = make(9, "room.created", "r1", NULL, "{}");
    hv_event_encode(ev);
    assert_non_null(ev->json.buf);
    const char *want = "{\"id\":\"9\",\"type\":\"room.created\","
                       "\"timestamp\":\"2026-11-22T10:00:00.123Z\",\"room_id\":\"r1\",\"data\":{}}";
    assert_int_equal(hv_frame_payload_len(&ev->json), strlen(want));
    assert_memory_equal(hv_frame_payload(&ev->json), want, strlen(want));
    hv_event_unref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_optional_keys),
        cmocka_unit_test(test_big_id_and_epoch),
        cmocka_unit_test(test_data_verbatim),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_event_encode_json_frame),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
