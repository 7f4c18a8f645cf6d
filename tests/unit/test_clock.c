/* SPDX-License-Identifier: MIT */
/* test_clock.c — herald's ISO 8601 writer and its one reader (core/clock.c):
 * what the writer prints the reader takes back to the ms; dates before 1970
 * are negative (each caller decides whether to take them); offsets are
 * applied; anything that is not a full date and time is refused. The
 * created_at rules on top (keys from 1970 on) are in test_created_at.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/clock.h"

static double parsed(const char *s)
{
    double ms = -42;
    assert_int_equal(hv_time_parse_iso8601(s, &ms), 0);
    return ms;
}

static void refused(const char *s)
{
    double ms = -42;
    assert_int_equal(hv_time_parse_iso8601(s, &ms), -1);
    assert_true(ms == -42);
}

static void test_writer_and_reader_agree(void **state)
{
    (void)state;
    const int64_t times[] = {0, 1, 999, 1000, 1795341600123, 951782400000 /* 2000-02-29 */,
                             253402300799999 /* 9999-12-31T23:59:59.999Z */};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        char iso[32];
        hv_time_iso8601(times[i], iso);
        assert_true(parsed(iso) == (double)times[i]);
    }
    char iso[32];
    hv_time_iso8601(1795341600123, iso);
    assert_string_equal(iso, "2026-11-22T10:00:00.123Z");
}

static void test_forms(void **state)
{
    (void)state;
    const double t = 1795341600000.0; /* 2026-11-22T10:00:00Z */
    assert_true(parsed("2026-11-22T10:00:00Z") == t);
    assert_true(parsed("2026-11-22t10:00:00z") == t);
    assert_true(parsed("2026-11-22 10:00Z") == t);
    assert_true(parsed("2026-11-22T11:00:00+01:00") == t);
    assert_true(parsed("2026-11-22T05:30:00-0430") == t);
    assert_true(parsed("2026-11-22T12:00:00+02") == t);
    assert_true(parsed("2026-11-22T10:00:00.5Z") == t + 500);
    assert_true(parsed("2026-11-22T10:00:00,25Z") == t + 250);
    assert_true(parsed("1969-12-31T23:59:59Z") == -1000);
    assert_true(parsed("1969-12-31T23:59:59.500Z") == -500);
}

static void test_refused(void **state)
{
    (void)state;
    refused(NULL);
    refused("");
    refused("2026-11-22");             /* a date without a time */
    refused("2026-11-22T10:00:00");    /* no zone */
    refused("2026-11-22T10:00:00ZZ");
    refused("2026-11-22T10:00:00.Z");  /* a '.' without digits */
    refused("2026-1-22T10:00:00Z");    /* every field has its full width */
    refused(" 2026-11-22T10:00:00Z");
    refused("2026-02-29T10:00:00Z");   /* not a leap year */
    refused("2026-13-01T10:00:00Z");
    refused("2026-11-22T24:00:00Z");
    refused("2026-11-22T10:00:00+24:00");
    refused("2026-11-22T0530Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_and_reader_agree),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
