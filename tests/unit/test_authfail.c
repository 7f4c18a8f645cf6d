/* SPDX-License-Identifier: MIT */
/* test_authfail.c — the back-off table of failed authentications
 * (core/authfail.h): an address is blocked after `limit` failures in one
 * window, for what is left of that window; other addresses are not; the
 * table never tracks more than its bound, forgetting the oldest window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "core/authfail.h"

static void blocks_after_limit_until_window_ends(void **state)
{
    (void)state;
    hv_authfail a;
    hv_authfail_init(&a, 3, 10, 100);
    for (int i = 0; i < 2; i++) {
        hv_authfail_record(&a, "10.0.0.1", 1000 + i);
        assert_int_equal(hv_authfail_blocked(&a, "10.0.0.1", 1000 + i), 0);
    }
    hv_authfail_record(&a, "10.0.0.1", 2000);
    assert_int_equal(hv_authfail_blocked(&a, "10.0.0.1", 2000), 9); /* window began at 1000 ms */
    assert_int_equal(hv_authfail_blocked(&a, "10.0.0.1", 10500), 1);
    assert_int_equal(hv_authfail_blocked(&a, "10.0.0.2", 2000), 0); /* another address */
    assert_int_equal(hv_authfail_blocked(&a, "", 2000), 0);
    assert_int_equal(hv_authfail_blocked(&a, "10.0.0.1", 11000), 0); /* the window is over */
    assert_int_equal(hv_authfail_tracked(&a), 0);
    hv_authfail_record(&a, "10.0.0.1", 11000); /* a new window: one failure */
    assert_int_equal(hv_authfail_blocked(&a, "10.0.0.1", 11001), 0);
    hv_authfail_free(&a);
}

static void table_is_bounded(void **state)
{
    (void)state;
    hv_authfail a;
    hv_authfail_init(&a, 1, 60, 4);
    char addr[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
        hv_authfail_record(&a, addr, 1000 + i);
        assert_true(hv_authfail_tracked(&a) <= 4);
    }
    assert_int_equal(hv_authfail_blocked(&a, "10.0.3.231", 2000), 60); /* the newest: kept */
    assert_int_equal(hv_authfail_blocked(&a, "10.0.0.0", 2000), 0);    /* the oldest: forgotten */
    hv_authfail_free(&a);
}

static void zero_limit_is_off(void **state)
{
    (void)state;
    hv_authfail a;
    hv_authfail_init(&a, 0, 60, 4);
    for (int i = 0; i < 100; i++)
        hv_authfail_record(&a, "10.0.0.1", i);
    assert_int_equal(hv_authfail_blocked(&a, "10.0.0.1", 100), 0);
    assert_int_equal(hv_authfail_tracked(&a), 0);
    hv_authfail_free(&a);
    hv_authfail zeroed = {0}; /* as in a server that never set it up */
    hv_authfail_record(&zeroed, "10.0.0.1", 0);
    assert_int_equal(hv_authfail_blocked(&zeroed, "10.0.0.1", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocks_after_limit_until_window_ends),
        cmocka_unit_test(table_is_bounded),
        cmocka_unit_test(zero_limit_is_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
