/* SPDX-License-Identifier: MIT */
/* test_event_json.c — validation of published events (core/event_json.c).
 *
 * Good bodies (one object, arrays, defaults, nulls, compact data) and bad
 * ones, each with its exact error message; plus the type-name rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "core/event_json.h"

static void free_events(hv_event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hv_event_unref(evs[i]);
    free(evs);
}

/* Parses body, expecting n events; returns them (free with free_events). */
static hv_event **parse_ok(const char *body, size_t want_n)
{
    hv_event **evs = NULL;
    size_t n = 0;
    char err[256] = "untouched";
    int rc = hv_event_parse_publish(body, strlen(body), &evs, &n, err, sizeof(err));
    if (rc != 0)
        fail_msg("unexpected error for %s: %s", body, err);
    assert_int_equal(n, want_n);
    assert_non_null(evs);
    return evs;
}

static void expect_error(const char *body, const char *want)
{
    hv_event **evs = (hv_event **)&evs;
    size_t n = 99;
    char err[256] = "";
    assert_int_equal(hv_event_parse_publish(body, strlen(body), &evs, &n, err, sizeof(err)), -1);
    assert_null(evs);
    assert_int_equal(n, 0);
    assert_string_equal(err, want);
}

static void test_single_object(void **state)
{
    (void)state;
    hv_event **evs = parse_ok("{\"type\":\"peer.connected\",\"room_id\":\"r1\","
                              "\"user_id\":\"u1\",\"data\":{ \"peer_id\" : \"p1\", \"n\": [1, 2] }}",
                              1);
    assert_string_equal(evs[0]->type, "peer.connected");
    assert_string_equal(evs[0]->room_id, "r1");
    assert_string_equal(evs[0]->user_id, "u1");
    assert_string_equal(evs[0]->data, "{\"peer_id\":\"p1\",\"n\":[1,2]}");
    assert_int_equal(evs[0]->data_len, strlen(evs[0]->data));
    assert_int_equal(evs[0]->id, 0);
    free_events(evs, 1);
}

static void test_defaults_and_nulls(void **state)
{
    (void)state;
    hv_event **evs = parse_ok("{\"type\":\"a\"}", 1);
    assert_null(evs[0]->room_id);
    assert_null(evs[0]->user_id);
    assert_string_equal(evs[0]->data, "{}");
    free_events(evs, 1);

    evs = parse_ok("{\"type\":\"a\",\"room_id\":null,\"user_id\":null,\"data\":null}", 1);
    assert_null(evs[0]->room_id);
    assert_null(evs[0]->user_id);
    assert_string_equal(evs[0]->data, "{}");
    free_events(evs, 1);
}

static void test_array(void **state)
{
    (void)state;
    hv_event **evs = parse_ok(" [ {\"type\":\"room.created\",\"room_id\":\"r1\"},\n"
                              "   {\"type\":\"chat.message\",\"data\":{\"text\":\"h\\u00e9\"}},"
                              "   {\"type\":\"x-1.y_2.3z\",\"user_id\":\"u\"} ] ",
                              3);
    assert_string_equal(evs[0]->type, "room.created");
    assert_string_equal(evs[0]->room_id, "r1");
    assert_string_equal(evs[1]->data, "{\"text\":\"h\xc3\xa9\"}");
    assert_string_equal(evs[2]->type, "x-1.y_2.3z");
    assert_string_equal(evs[2]->user_id, "u");
    free_events(evs, 3);
}

static void test_max_batch(void **state)
{
    (void)state;
    const char *one = "{\"type\":\"a\"},";
    size_t cap = strlen(one) * (HV_PUBLISH_MAX_BATCH + 1) + 8;
    char *body = malloc(cap);
    body[0] = '[';
    size_t o = 1;
    for (int i = 0; i < HV_PUBLISH_MAX_BATCH; i++)
        o += (size_t)sprintf(body + o, "%s", one);
    body[o - 1] = ']';
    body[o] = 0;
    hv_event **evs = parse_ok(body, HV_PUBLISH_MAX_BATCH);
    free_events(evs, HV_PUBLISH_MAX_BATCH);

    body[o - 1] = ',';
    sprintf(body + o, "{\"type\":\"a\"}]");
    expect_error(body, "too many events: 1001 (at most 1000 per request)");
    free(body);
}

static void test_body_errors(void **state)
{
    (void)state;
    expect_error("{\"type\":", "body is not valid JSON: unexpected token near end of file at line 1 "
                               "column 8");
    expect_error("", "body is not valid JSON: unexpected token near end of file at line 1 column 0");
    expect_error("{\"type\":\"a\",\"type\":\"b\"}",
                 "body is not valid JSON: duplicate object key near '\"type\"' at line 1 column 18");
    expect_error("42", "body must be a JSON object or an array of objects");
    expect_error("\"room.created\"", "body must be a JSON object or an array of objects");
    expect_error("[]", "no events");
}

static void test_object_errors(void **state)
{
    (void)state;
    expect_error("{}", "type is required");
    expect_error("{\"data\":{}}", "type is required");
    expect_error("{\"type\":\"a\",\"roomId\":\"r1\"}", "unknown field \"roomId\"");
    expect_error("{\"roomId\":\"r1\"}", "unknown field \"roomId\"");
    expect_error("{\"type\":5}", "type must be a string");
    expect_error("{\"type\":\"Room.Created\"}", "type must be a dotted lower-case name");
    expect_error("{\"type\":\"room..created\"}", "type must be a dotted lower-case name");
    expect_error("{\"type\":\"a\",\"data\":[]}", "data must be an object");
    expect_error("{\"type\":\"a\",\"data\":\"x\"}", "data must be an object");
    expect_error("{\"type\":\"a\",\"room_id\":\"\"}", "room_id must be a non-empty string");
    expect_error("{\"type\":\"a\",\"user_id\":7}", "user_id must be a non-empty string");
}

static void test_length_limits(void **state)
{
    (void)state;
    char body[600];
    char name[300];
    memset(name, 'a', 129);
    name[129] = 0;
    snprintf(body, sizeof(body), "{\"type\":\"%s\"}", name);
    expect_error(body, "type must be at most 128 bytes");
    name[128] = 0;
    snprintf(body, sizeof(body), "{\"type\":\"%s\"}", name);
    free_events(parse_ok(body, 1), 1);

    memset(name, 'r', 257);
    name[257] = 0;
    snprintf(body, sizeof(body), "{\"type\":\"a\",\"room_id\":\"%s\"}", name);
    expect_error(body, "room_id must be at most 256 bytes");
    name[256] = 0;
    snprintf(body, sizeof(body), "{\"type\":\"a\",\"user_id\":\"%s\"}", name);
    free_events(parse_ok(body, 1), 1);
}

/* herald.* are herald's own alerts (issue 15 item 7): a publisher cannot
 * forge a herald.endpoint_disabled; the new Fishjam types are publishable. */
static void test_reserved_herald_types(void **state)
{
    (void)state;
    expect_error("{\"type\":\"herald.endpoint_disabled\",\"data\":{}}",
                 "type herald.* is reserved for herald's own events");
    expect_error("[{\"type\":\"a\"},{\"type\":\"herald.sink_crashed\"}]",
                 "events[1].type herald.* is reserved for herald's own events");
    expect_error("{\"type\":\"herald.x\"}", "type herald.* is reserved for herald's own events");
    hv_event **evs = parse_ok("[{\"type\":\"heralds.x\"},{\"type\":\"x.herald\"},"
                              "{\"type\":\"herald\"},{\"type\":\"vad.notification\"},"
                              "{\"type\":\"track.forwarding\"},{\"type\":\"track.forwarding_removed\"}]",
                              6);
    assert_string_equal(evs[3]->type, "vad.notification");
    free_events(evs, 6);
}

static void test_array_errors(void **state)
{
    (void)state;
    expect_error("[{\"type\":\"a\"},{\"type\":\"b\"},{\"type\":\"c\",\"roomId\":\"r\"}]",
                 "events[2]: unknown field \"roomId\"");
    expect_error("[{\"type\":\"a\"},{\"data\":{}}]", "events[1].type is required");
    expect_error("[{\"type\":\"a\"},{\"type\":\"a\",\"data\":1}]", "events[1].data must be an object");
    expect_error("[{\"type\":\".a\"}]", "events[0].type must be a dotted lower-case name");
    expect_error("[{\"type\":\"a\"},3]", "events[1] must be an object");
    expect_error("[[]]", "events[0] must be an object");
}

static void test_sanitized_messages(void **state)
{
    (void)state;
    /* a key with a tab and non-ASCII is quoted as printable ASCII */
    expect_error("{\"type\":\"a\",\"r\\t\xc3\xa9\":1}", "unknown field \"r???\"");
    char body[256], want[256];
    snprintf(body, sizeof(body), "{\"type\":\"a\",\"%s\":1}",
             "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");
    snprintf(want, sizeof(want), "unknown field \"%.64s...\"",
             "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");
    expect_error(body, want);
}

static void test_small_err_buffer(void **state)
{
    (void)state;
    hv_event **evs;
    size_t n;
    char err[6];
    assert_int_equal(hv_event_parse_publish("{}", 2, &evs, &n, err, sizeof(err)), -1);
    assert_string_equal(err, "type ");
    assert_int_equal(hv_event_parse_publish("{}", 2, &evs, &n, NULL, 0), -1);
}

static void test_type_valid(void **state)
{
    (void)state;
    const char *good[] = {"a", "a.b", "room.created", "a-b_c.d1", "1a", "0.9", "a.b.c.d-"};
    const char *bad[] = {"", ".", ".a", "a.", "a..b", "_a", "a._b", "-a", "A", "a b", "a/b",
                         "é", "a.B"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(hv_event_type_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(hv_event_type_valid(bad[i]));
    assert_false(hv_event_type_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_object),
        cmocka_unit_test(test_defaults_and_nulls),
        cmocka_unit_test(test_array),
        cmocka_unit_test(test_max_batch),
        cmocka_unit_test(test_body_errors),
        cmocka_unit_test(test_object_errors),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_array_errors),
        cmocka_unit_test(test_sanitized_messages),
        cmocka_unit_test(test_small_err_buffer),
        cmocka_unit_test(test_type_valid),
        cmocka_unit_test(test_reserved_herald_types),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
