/* SPDX-License-Identifier: MIT */
/* test_created_at.c — the seeds' created_at/timestamp as an order key
 * (core/created_at.c): numbers are their own key, ISO 8601 strings their
 * ms since the epoch (offsets applied), everything else is refused; and the
 * commit's storage-time stamp for events pushed without created_at.
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

#include "core/created_at.h"

#define T_2026_11_22 1795341600000.0 /* 2026-11-22T10:00:00Z */

static double key_of(const char *json)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    double k = -42;
    assert_int_equal(hv_created_key(v, &k), 0);
    json_decref(v);
    return k;
}

static void refused(const char *json)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    double k = -42;
    assert_int_equal(hv_created_key(v, &k), -1);
    assert_true(k == -42);
    json_decref(v);
}

static void test_numbers_are_their_own_key(void **state)
{
    (void)state;
    assert_true(key_of("0") == 0);
    assert_true(key_of("10") == 10);
    assert_true(key_of("20.5") == 20.5);
    assert_true(key_of("1795341600123") == 1795341600123.0);
    /* seconds and ms are not guessed: numbers compare as numbers */
    assert_true(key_of("1795341600") < key_of("1795341600123"));
    refused("-1");
    refused("-0.5");
}

static void test_iso_is_ms_since_the_epoch(void **state)
{
    (void)state;
    assert_true(key_of("\"2026-11-22T10:00:00Z\"") == T_2026_11_22);
    assert_true(key_of("\"2026-11-22T10:00:00.123Z\"") == T_2026_11_22 + 123);
    assert_true(key_of("\"2026-11-22T10:00:00.1Z\"") == T_2026_11_22 + 100);
    assert_true(key_of("\"2026-11-22T10:00Z\"") == T_2026_11_22);
    assert_true(key_of("\"2026-11-22t10:00:00z\"") == T_2026_11_22);
    assert_true(key_of("\"2026-11-22 10:00:00Z\"") == T_2026_11_22);
    assert_true(key_of("\"1970-01-01T00:00:00Z\"") == 0);
    assert_true(key_of("\"2024-02-29T00:00:00Z\"") == 1709164800000.0);
    /* sub-millisecond digits order events within one ms */
    assert_true(key_of("\"2026-11-22T10:00:00.0005Z\"") > key_of("\"2026-11-22T10:00:00.0004Z\""));
}

static void test_offsets_are_applied(void **state)
{
    (void)state;
    assert_true(key_of("\"2026-11-22T12:00:00+02:00\"") == T_2026_11_22);
    assert_true(key_of("\"2026-11-22T12:00:00+0200\"") == T_2026_11_22);
    assert_true(key_of("\"2026-11-22T12:00:00+02\"") == T_2026_11_22);
    assert_true(key_of("\"2026-11-22T05:30:00-04:30\"") == T_2026_11_22);
    /* the same instant written two ways is one key; 11:00+02:00 is earlier */
    assert_true(key_of("\"2026-11-22T11:00:00+02:00\"") < key_of("\"2026-11-22T10:00:00Z\""));
}

static void test_mixed_kinds_interleave_in_ms(void **state)
{
    (void)state;
    assert_true(key_of("1795341600122") < key_of("\"2026-11-22T10:00:00.123Z\""));
    assert_true(key_of("1795341600124") > key_of("\"2026-11-22T10:00:00.123Z\""));
}

static void test_refused(void **state)
{
    (void)state;
    refused("\"\"");
    refused("\"10\"");
    refused("\"2026-11-22\"");              /* no time */
    refused("\"2026-11-22T10:00:00\"");     /* no zone: local to whom? */
    refused("\"2026-11-22T10:00:00.Z\"");   /* a dot and no digits */
    refused("\"2026-13-01T00:00:00Z\"");
    refused("\"2026-02-29T00:00:00Z\"");    /* not a leap year */
    refused("\"2026-11-31T00:00:00Z\"");
    refused("\"2026-11-22T24:00:00Z\"");
    refused("\"2026-11-22T10:60:00Z\"");
    refused("\"2026-11-22T10:00:00+24:00\"");
    refused("\"2026-11-22T10:00:00Z trailing\"");
    refused("\"1969-12-31T23:59:59Z\"");    /* before the epoch: keys are >= 0 */
    refused("\"1970-01-01T00:30:00+01:00\"");
    refused("null");
    refused("true");
    refused("{}");
    refused("[1]");
    assert_int_equal(hv_created_iso_key(NULL, &(double){0}), -1);
}

static hv_event *access_ev(const char *payload, int stamp)
{
    char data[256];
    if (stamp)
        snprintf(data, sizeof(data), "{\"payload\":%s," HV_CREATED_SLOT, payload);
    else
        snprintf(data, sizeof(data), "{\"payload\":%s,\"created_at\":5}", payload);
    hv_event *ev = hv_event_new("access.event", NULL, "u", data, strlen(data));
    ev->created_set = stamp ? HV_CREATED_STAMP : HV_CREATED_KEY;
    ev->created_key = stamp ? 0 : 5;
    return ev;
}

static void test_stamp_writes_increasing_storage_times(void **state)
{
    (void)state;
    hv_event *evs[3] = {access_ev("\"a\"", 1), access_ev("\"b\"", 0), access_ev("{\"x\":[1]}", 1)};
    /* valid JSON (null) before the stamp */
    json_t *before = json_loadb(evs[0]->data, evs[0]->data_len, 0, NULL);
    assert_non_null(before);
    assert_true(json_is_null(json_object_get(before, "created_at")));
    json_decref(before);

    int64_t last = 0;
    hv_created_stamp(evs, 3, 1795341600123LL, &last);
    assert_string_equal(evs[0]->data, "{\"payload\":\"a\",\"created_at\":1795341600123}");
    assert_int_equal(evs[0]->data_len, strlen(evs[0]->data));
    assert_true(evs[0]->created_key == 1795341600123.0);
    assert_int_equal(evs[0]->created_set, HV_CREATED_KEY);
    /* the connector's own created_at is left as it was */
    assert_string_equal(evs[1]->data, "{\"payload\":\"b\",\"created_at\":5}");
    assert_true(evs[1]->created_key == 5);
    /* two stamps in the same ms still differ: a client resuming from the
     * first one it saw gets the second */
    assert_string_equal(evs[2]->data, "{\"payload\":{\"x\":[1]},\"created_at\":1795341600124}");
    assert_true(evs[2]->created_key == 1795341600124.0);
    assert_int_equal(last, 1795341600124LL);

    /* a clock that steps back does not make stamps go back */
    hv_event *late = access_ev("1", 1);
    hv_created_stamp(&late, 1, 1000, &last);
    assert_true(late->created_key == 1795341600125.0);
    /* once the clock is ahead again, stamps are the clock */
    hv_event *later = access_ev("2", 1);
    hv_created_stamp(&later, 1, 1795341700000LL, &last);
    assert_true(later->created_key == 1795341700000.0);
    for (int i = 0; i < 3; i++)
        hv_event_unref(evs[i]);
    hv_event_unref(late);
    hv_event_unref(later);
}

static void test_stamp_leaves_foreign_data_alone(void **state)
{
    (void)state;
    hv_event *ev = hv_event_new("access.event", NULL, "u", "{\"a\":1}", 7);
    ev->created_set = HV_CREATED_STAMP;
    int64_t last = 0;
    hv_created_stamp(&ev, 1, 99, &last);
    assert_string_equal(ev->data, "{\"a\":1}");
    assert_int_equal(ev->created_set, HV_CREATED_NONE);
    assert_int_equal(last, 0);
    hv_event_unref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_are_their_own_key),
        cmocka_unit_test(test_iso_is_ms_since_the_epoch),
        cmocka_unit_test(test_offsets_are_applied),
        cmocka_unit_test(test_mixed_kinds_interleave_in_ms),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_stamp_writes_increasing_storage_times),
        cmocka_unit_test(test_stamp_leaves_foreign_data_alone),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
