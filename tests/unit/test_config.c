/* SPDX-License-Identifier: MIT */
/* test_config.c — flags, HERALD_* variables and their precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"

static int load(hv_config *c, int argc, char **argv)
{
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w"); /* bad values print a message */
    int r = hv_config_load(c, argc, argv);
    fclose(stderr);
    stderr = saved;
    return r;
}

static void defaults(void **state)
{
    (void)state;
    hv_config c;
    char *argv[] = {"herald", NULL};
    assert_int_equal(load(&c, 1, argv), 0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 5002);
    assert_string_equal(c.token, "development");
    assert_string_equal(c.data_dir, "./herald-data");
    assert_int_equal(c.max_body, 4u << 20);
}

static void flags_and_forms(void **state)
{
    (void)state;
    hv_config c;
    char *argv[] = {"herald", "--listen", "[::1]:7000", "--max-body=1024", "--ping-interval", "0.5",
                    "--retention-events", "10", NULL};
    assert_int_equal(load(&c, 8, argv), 0);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 7000);
    assert_int_equal(c.max_body, 1024);
    assert_true(c.ping_interval_s == 0.5);
    assert_int_equal(c.retention_events, 10);
    assert_string_equal(c.token, "development"); /* ::1 is loopback */
}

static void env_then_flag(void **state)
{
    (void)state;
    hv_config c;
    setenv("HERALD_TOKEN", "from-env", 1);
    setenv("HERALD_DATA_DIR", "/tmp/x", 1);
    char *argv[] = {"herald", "--token", "from-flag", NULL};
    assert_int_equal(load(&c, 3, argv), 0);
    assert_string_equal(c.token, "from-flag");
    assert_string_equal(c.data_dir, "/tmp/x");
    unsetenv("HERALD_TOKEN");
    unsetenv("HERALD_DATA_DIR");
}

static void refusals(void **state)
{
    (void)state;
    hv_config c;
    char *public_no_token[] = {"herald", "--listen", "0.0.0.0:5002", NULL};
    assert_int_equal(load(&c, 3, public_no_token), -1);
    char *public_token[] = {"herald", "--listen", "0.0.0.0:5002", "--token", "0123456789abcdef", NULL};
    assert_int_equal(load(&c, 5, public_token), 0);
    char *public_short_token[] = {"herald", "--listen", "0.0.0.0:5002", "--token", "0123456789abcde", NULL};
    assert_int_equal(load(&c, 5, public_short_token), -1);
    char *public_dev_token[] = {"herald", "--listen", "0.0.0.0:5002", "--token", "development", NULL};
    assert_int_equal(load(&c, 5, public_dev_token), -1);
    char *public_short_secret[] = {"herald", "--listen", "0.0.0.0:5002", "--token", "0123456789abcdef",
                                   "--jwt-secret", "0123456789abcdef0123456789abcde", NULL};
    assert_int_equal(load(&c, 7, public_short_secret), -1);
    char *public_secret[] = {"herald", "--listen", "0.0.0.0:5002", "--token", "0123456789abcdef",
                             "--jwt-secret", "0123456789abcdef0123456789abcdef", NULL};
    assert_int_equal(load(&c, 7, public_secret), 0);
    char *loopback_short[] = {"herald", "--token", "t", "--jwt-secret", "s", NULL};
    assert_int_equal(load(&c, 5, loopback_short), 0); /* loopback: development and tests */
    char *bad_port[] = {"herald", "--listen", "127.0.0.1:99999", NULL};
    assert_int_equal(load(&c, 3, bad_port), -1);
    char *bad_num[] = {"herald", "--max-body", "-5", NULL};
    assert_int_equal(load(&c, 3, bad_num), -1);
    char *unknown[] = {"herald", "--nope", NULL};
    assert_int_equal(load(&c, 2, unknown), -1);
    char *missing_value[] = {"herald", "--token", NULL};
    assert_int_equal(load(&c, 2, missing_value), -1);
    setenv("HERALD_SYNC_FULL", "maybe", 1);
    char *none[] = {"herald", NULL};
    assert_int_equal(load(&c, 1, none), -1);
    unsetenv("HERALD_SYNC_FULL");
}

static void loopback(void **state)
{
    (void)state;
    assert_true(hv_config_is_loopback("127.0.0.1"));
    assert_true(hv_config_is_loopback("127.9.9.9"));
    assert_true(hv_config_is_loopback("localhost"));
    assert_true(hv_config_is_loopback("::1"));
    assert_false(hv_config_is_loopback("0.0.0.0"));
    assert_false(hv_config_is_loopback("10.0.0.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults), cmocka_unit_test(flags_and_forms), cmocka_unit_test(env_then_flag),
        cmocka_unit_test(refusals), cmocka_unit_test(loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
