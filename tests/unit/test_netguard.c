/* test_netguard.c — CIDR parsing and the webhook address guard
 * (deliver/netguard.c).
 *
 * Parsing: IPv4 and IPv6 networks, bare addresses, host bits, bad
 * prefixes and junk, lists with spaces and empty entries. Matching: both
 * families, prefix edges, /0, IPv4-mapped IPv6 against IPv4 rules. The
 * guard: the default deny list, deny winning over allow, allow-only mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "deliver/netguard.h"

#define DEFAULT_DENY "169.254.0.0/16,fe80::/10,0.0.0.0/8,100.100.100.200/32,fd00:ec2::254/128"

typedef union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} addr_t;

static addr_t A(const char *s)
{
    addr_t a;
    memset(&a, 0, sizeof(a));
    if (inet_pton(AF_INET, s, &a.in.sin_addr) == 1) {
        a.in.sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, s, &a.in6.sin6_addr), 1);
        a.in6.sin6_family = AF_INET6;
    }
    return a;
}

static int match(const char *cidr, const char *addr)
{
    hv_cidr c;
    assert_int_equal(hv_cidr_parse(cidr, &c), 0);
    addr_t a = A(addr);
    return hv_cidr_match(&c, &a.sa);
}

static void test_parse(void **state)
{
    (void)state;
    hv_cidr c;
    assert_int_equal(hv_cidr_parse("10.0.0.0/8", &c), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(c.addr[0], 10);
    assert_int_equal(hv_cidr_parse("10.1.2.3/8", &c), 0); /* host bits cleared */
    assert_int_equal(c.addr[1], 0);
    assert_int_equal(c.addr[3], 0);
    assert_int_equal(hv_cidr_parse("192.168.1.77", &c), 0);
    assert_int_equal(c.prefix, 32);
    assert_int_equal(c.addr[3], 77);
    assert_int_equal(hv_cidr_parse("fe80::/10", &c), 0);
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 10);
    assert_int_equal(hv_cidr_parse("::1", &c), 0);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(hv_cidr_parse("0.0.0.0/0", &c), 0);
    assert_int_equal(c.prefix, 0);
    assert_int_equal(hv_cidr_parse("10.0.0.0/12", &c), 0);
    assert_int_equal(hv_cidr_parse("10.31.255.255/12", &c), 0);
    assert_int_equal(c.addr[1], 16);
    /* IPv4-mapped networks become IPv4 ones */
    assert_int_equal(hv_cidr_parse("::ffff:169.254.0.0/112", &c), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 16);
    assert_int_equal(c.addr[0], 169);
}

static void test_parse_bad(void **state)
{
    (void)state;
    hv_cidr c;
    const char *bad[] = {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
                         "10.0.0/8", "example.com", "10.0.0.0/8/8", "1.2.3.4 ", "/8",
                         "10.0.0.0/0008", "fe80::/1a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hv_cidr_parse(bad[i], &c), -1);
}

static void test_list(void **state)
{
    (void)state;
    hv_cidr *l;
    size_t n;
    char err[128];
    assert_int_equal(hv_cidr_list_parse(" 10.0.0.0/8 , ,fe80::/10,", &l, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_int_equal(l[0].family, AF_INET);
    assert_int_equal(l[1].family, AF_INET6);
    free(l);
    assert_int_equal(hv_cidr_list_parse("", &l, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_null(l);
    assert_int_equal(hv_cidr_list_parse(NULL, &l, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(hv_cidr_list_parse(DEFAULT_DENY, &l, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 5);
    free(l);
    assert_int_equal(hv_cidr_list_parse("10.0.0.0/8,nope,::1", &l, &n, err, sizeof(err)), -1);
    assert_null(l);
    assert_non_null(strstr(err, "nope"));
}

static void test_match(void **state)
{
    (void)state;
    assert_true(match("10.0.0.0/8", "10.255.1.2"));
    assert_false(match("10.0.0.0/8", "11.0.0.1"));
    assert_true(match("10.16.0.0/12", "10.31.255.255"));
    assert_false(match("10.16.0.0/12", "10.32.0.0"));
    assert_false(match("10.16.0.0/12", "10.15.255.255"));
    assert_true(match("192.168.1.1", "192.168.1.1"));
    assert_false(match("192.168.1.1", "192.168.1.2"));
    assert_true(match("0.0.0.0/0", "8.8.8.8"));
    assert_false(match("0.0.0.0/0", "::1")); /* families do not mix */
    assert_true(match("::/0", "2001:db8::1"));
    assert_false(match("::/0", "8.8.8.8"));
    assert_true(match("fe80::/10", "fe80::1"));
    assert_true(match("fe80::/10", "febf:ffff::1"));
    assert_false(match("fe80::/10", "fec0::1"));
    assert_true(match("fd00:ec2::254/128", "fd00:ec2::254"));
    assert_false(match("fd00:ec2::254/128", "fd00:ec2::255"));
    /* an IPv4-mapped address is judged as IPv4 */
    assert_true(match("169.254.0.0/16", "::ffff:169.254.169.254"));
    assert_false(match("169.254.0.0/16", "::ffff:169.253.1.1"));
}

static void test_guard_default(void **state)
{
    (void)state;
    char err[128];
    hv_netguard *g = hv_netguard_new(DEFAULT_DENY, "", err, sizeof(err));
    assert_non_null(g);
    addr_t a;
    a = A("169.254.169.254");
    assert_false(hv_netguard_allows(g, &a.sa));
    a = A("::ffff:169.254.169.254");
    assert_false(hv_netguard_allows(g, &a.sa));
    a = A("100.100.100.200");
    assert_false(hv_netguard_allows(g, &a.sa));
    a = A("0.0.0.0");
    assert_false(hv_netguard_allows(g, &a.sa));
    a = A("fe80::1");
    assert_false(hv_netguard_allows(g, &a.sa));
    a = A("127.0.0.1");
    assert_true(hv_netguard_allows(g, &a.sa));
    a = A("::1");
    assert_true(hv_netguard_allows(g, &a.sa));
    a = A("93.184.216.34");
    assert_true(hv_netguard_allows(g, &a.sa));
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    assert_false(hv_netguard_allows(g, &unix_sa));
    hv_netguard_free(g);
}

static void test_guard_allow(void **state)
{
    (void)state;
    char err[128];
    hv_netguard *g = hv_netguard_new("10.0.0.5", "10.0.0.0/8, ::1", err, sizeof(err));
    assert_non_null(g);
    addr_t a;
    a = A("10.1.1.1");
    assert_true(hv_netguard_allows(g, &a.sa));
    a = A("10.0.0.5"); /* deny wins */
    assert_false(hv_netguard_allows(g, &a.sa));
    a = A("::1");
    assert_true(hv_netguard_allows(g, &a.sa));
    a = A("127.0.0.1"); /* not in the allow list */
    assert_false(hv_netguard_allows(g, &a.sa));
    hv_netguard_free(g);

    assert_null(hv_netguard_new("bad", "", err, sizeof(err)));
    assert_non_null(strstr(err, "webhook-deny"));
    assert_null(hv_netguard_new("", "10.0.0.0/99", err, sizeof(err)));
    assert_non_null(strstr(err, "webhook-allow"));
}

static void test_addr_str(void **state)
{
    (void)state;
    char out[64];
    addr_t a = A("10.1.2.3");
    hv_netguard_addr_str(&a.sa, out);
    assert_string_equal(out, "10.1.2.3");
    a = A("fe80::1");
    hv_netguard_addr_str(&a.sa, out);
    assert_string_equal(out, "fe80::1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_guard_default),
        cmocka_unit_test(test_guard_allow),
        cmocka_unit_test(test_addr_str),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
