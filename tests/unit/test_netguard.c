/* SPDX-License-Identifier: MIT */
/* test_netguard.c — CIDR parsing and the webhook address guard
 * (deliver/netguard.c).
 *
 * Parsing: IPv4 and IPv6 networks, bare addresses, host bits, bad
 * prefixes and junk, lists with spaces and empty entries. Matching: both
 * families, prefix edges, /0, IPv4-mapped IPv6 against IPv4 rules. The
 * guard: the default deny list, the built-in non-public networks (refused
 * by default, loopback allowed with the development default), the most
 * specific operator rule winning (deny on a tie), allow-only through
 * deny-all, and every IPv6 form that reaches an IPv4 address or this host
 * (issue 13, defect 9).
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

/* 1 when g allows the address s; why (when refused) in *why. */
static int allows(const hv_netguard *g, const char *s, char *why, size_t len)
{
    addr_t a = A(s);
    why[0] = '\0';
    return hv_netguard_check(g, &a.sa, why, len);
}

static hv_netguard *guard(const char *deny, const char *allow)
{
    char err[128];
    hv_netguard *g = hv_netguard_new(deny, allow, err, sizeof(err));
    assert_non_null(g);
    return g;
}

#define REFUSED(g, s, text)                                                  \
    do {                                                                     \
        char why_[256];                                                      \
        if (allows(g, s, why_, sizeof(why_)))                                \
            fail_msg("%s is allowed", s);                                    \
        if (!strstr(why_, text))                                             \
            fail_msg("%s: reason \"%s\" does not say \"%s\"", s, why_, text); \
    } while (0)
#define ALLOWED(g, s)                                        \
    do {                                                     \
        char why_[256];                                      \
        if (!allows(g, s, why_, sizeof(why_)))               \
            fail_msg("%s is refused: %s", s, why_);          \
    } while (0)

static void test_guard_default(void **state)
{
    (void)state;
    hv_netguard *g = guard(DEFAULT_DENY, "");
    REFUSED(g, "169.254.169.254", "169.254.169.254 is in --webhook-deny 169.254.0.0/16");
    REFUSED(g, "::ffff:169.254.169.254", "::ffff:169.254.169.254 reaches 169.254.169.254, which is in --webhook-deny");
    REFUSED(g, "100.100.100.200", "--webhook-deny 100.100.100.200/32");
    REFUSED(g, "0.0.0.0", "0.0.0.0 is in --webhook-deny 0.0.0.0/8");
    REFUSED(g, "fe80::1", "--webhook-deny fe80::/10");
    REFUSED(g, "fd00:ec2::254", "--webhook-deny fd00:ec2::254/128");
    /* a real token: loopback and private networks are refused too */
    REFUSED(g, "127.0.0.1", "127.0.0.1 is loopback (127.0.0.0/8; see --webhook-allow)");
    REFUSED(g, "127.255.0.9", "loopback");
    REFUSED(g, "::1", "::1 is loopback (::1/128");
    ALLOWED(g, "93.184.216.34");
    ALLOWED(g, "2606:2800:220:1:248:1893:25c8:1946");
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    assert_false(hv_netguard_allows(g, &unix_sa));
    hv_netguard_free(g);
}

/* Every built-in network, at its edges, with no operator list at all. */
static void test_guard_builtin(void **state)
{
    (void)state;
    hv_netguard *g = guard("", "");
    static const char *const refused[][2] = {
        {"10.0.0.1", "private (10.0.0.0/8"},        {"10.255.255.255", "private"},
        {"172.16.0.1", "private (172.16.0.0/12"},   {"172.31.255.254", "private"},
        {"192.168.1.1", "private (192.168.0.0/16"}, {"100.64.0.1", "CGNAT (100.64.0.0/10"},
        {"100.127.255.254", "CGNAT"},               {"169.254.169.254", "link-local (cloud metadata)"},
        {"127.0.0.1", "loopback"},                  {"0.0.0.0", "unspecified"},
        {"0.1.2.3", "unspecified"},                 {"224.0.0.1", "multicast"},
        {"239.255.255.250", "multicast"},           {"255.255.255.255", "reserved"},
        {"240.0.0.1", "reserved"},                  {"192.0.0.8", "IETF protocol assignments"},
        {"192.0.2.1", "documentation"},             {"198.51.100.7", "documentation"},
        {"203.0.113.9", "documentation"},           {"198.18.0.1", "benchmarking"},
        {"198.19.255.255", "benchmarking"},         {"192.88.99.1", "6to4 relay"},
        {"::", "unspecified (::/128"},              {"::1", "loopback"},
        {"fc00::1", "unique local (ULA)"},          {"fd12:3456::1", "unique local"},
        {"fd00:ec2::254", "unique local"},          {"fe80::1", "link-local"},
        {"febf::1", "link-local"},                  {"fec0::1", "site-local"},
        {"ff02::1", "multicast"},                   {"2001:db8::1", "documentation"},
        {"3fff::1", "documentation"},               {"100::1", "discard-only"},
        {"2001:2::1", "IETF protocol assignments"}, {"2001:0:4136:e378::1", "IETF protocol assignments"},
        {"64:ff9b:1::808:808", "local-use NAT64"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        REFUSED(g, refused[i][0], refused[i][1]);
    static const char *const allowed[] = {"9.255.255.255", "11.0.0.1", "100.63.255.255", "100.128.0.1",
                                          "172.15.255.255", "172.32.0.1", "192.167.1.1", "192.169.1.1",
                                          "169.253.1.1", "198.17.255.255", "198.20.0.1", "223.255.255.255",
                                          "1.1.1.1", "2a00:1450:4001:82b::200e", "fbff::1", "fe7f::1",
                                          "2001:200::1", "64:ff9b::808:808", "2002:808:808::1"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        ALLOWED(g, allowed[i]);
    hv_netguard_free(g);
}

/* IPv6 forms that reach an IPv4 address are judged as that address too;
 * the unspecified address, which connects to this host, as the loopback
 * too. Each would have reached the address the operator denied. */
static void test_guard_embedded(void **state)
{
    (void)state;
    /* The operator opened everything but these: only the decoding stops them. */
    hv_netguard *g = guard("10.0.0.0/8,127.0.0.0/8,::1,169.254.169.254",
                           "0.0.0.0/0,::/0");
    REFUSED(g, "::", ":: reaches ::1, which is in --webhook-deny ::1/128");
    REFUSED(g, "0.0.0.0", "0.0.0.0 reaches 127.0.0.1, which is in --webhook-deny 127.0.0.0/8");
    REFUSED(g, "::ffff:10.1.2.3", "::ffff:10.1.2.3 reaches 10.1.2.3, which is in --webhook-deny 10.0.0.0/8");
    REFUSED(g, "::ffff:0:10.1.2.3", "reaches 10.1.2.3");          /* IPv4-translated */
    REFUSED(g, "::10.1.2.3", "::10.1.2.3 reaches 10.1.2.3");      /* IPv4-compatible */
    REFUSED(g, "::127.0.0.1", "reaches 127.0.0.1");
    REFUSED(g, "64:ff9b::a01:203", "64:ff9b::a01:203 reaches 10.1.2.3"); /* NAT64 */
    REFUSED(g, "64:ff9b::7f00:1", "reaches 127.0.0.1");
    REFUSED(g, "64:ff9b::a9fe:a9fe", "reaches 169.254.169.254");
    REFUSED(g, "64:ff9b:1::a01:203", "reaches 10.1.2.3");          /* local-use NAT64 */
    REFUSED(g, "2002:a01:203::1", "2002:a01:203::1 reaches 10.1.2.3"); /* 6to4 */
    REFUSED(g, "2002:7f00:1::", "reaches 127.0.0.1");
    ALLOWED(g, "64:ff9b::808:808");
    ALLOWED(g, "2002:808:808::1");
    ALLOWED(g, "::ffff:8.8.8.8");
    ALLOWED(g, "::8.8.8.8");
    ALLOWED(g, "11.0.0.1");
    hv_netguard_free(g);

    /* The same forms against the built-in list alone. */
    g = guard("", "");
    REFUSED(g, "::ffff:127.0.0.1", "reaches 127.0.0.1, which is loopback");
    REFUSED(g, "::ffff:192.168.0.1", "private");
    REFUSED(g, "64:ff9b::c0a8:1", "64:ff9b::c0a8:1 reaches 192.168.0.1, which is private");
    REFUSED(g, "64:ff9b::6440:1", "reaches 100.64.0.1, which is shared CGNAT");
    REFUSED(g, "2002:a9fe:a9fe::", "reaches 169.254.169.254, which is link-local");
    REFUSED(g, "::7f00:1", "reaches 127.0.0.1, which is loopback");
    REFUSED(g, "::ffff:0.0.0.0", "unspecified");
    hv_netguard_free(g);
}

/* The development default: loopback (and only loopback) is reachable;
 * the unspecified address still is not; the operator's deny list still
 * applies. */
static void test_guard_development(void **state)
{
    (void)state;
    hv_netguard *g = guard(DEFAULT_DENY, "");
    hv_netguard_set_loopback_ok(g, 1);
    ALLOWED(g, "127.0.0.1");
    ALLOWED(g, "127.0.0.2");
    ALLOWED(g, "::1");
    ALLOWED(g, "::ffff:127.0.0.1");
    ALLOWED(g, "64:ff9b::7f00:1");
    REFUSED(g, "::", ":: is unspecified (::/128");
    REFUSED(g, "0.0.0.0", "0.0.0.0 is in --webhook-deny 0.0.0.0/8");
    REFUSED(g, "10.0.0.1", "private");
    REFUSED(g, "192.168.1.10", "private");
    REFUSED(g, "169.254.169.254", "--webhook-deny 169.254.0.0/16");
    REFUSED(g, "fd00::1", "unique local");
    hv_netguard_free(g);
    g = guard("127.0.0.2", "");
    hv_netguard_set_loopback_ok(g, 1);
    REFUSED(g, "127.0.0.2", "in --webhook-deny 127.0.0.2/32");
    ALLOWED(g, "127.0.0.1");
    hv_netguard_free(g);
}

static void test_guard_allow(void **state)
{
    (void)state;
    char err[128];
    hv_netguard *g = guard("10.0.0.5", "10.0.0.0/8, ::1");
    ALLOWED(g, "10.1.1.1");                          /* a private network opened */
    REFUSED(g, "10.0.0.5", "in --webhook-deny 10.0.0.5/32"); /* more specific */
    ALLOWED(g, "::1");
    REFUSED(g, "127.0.0.1", "loopback");             /* not opened */
    REFUSED(g, "192.168.0.1", "private");
    ALLOWED(g, "8.8.8.8");                           /* public stays reachable */
    hv_netguard_free(g);

    /* A tie goes to deny; a more specific allow opens a hole in a deny. */
    g = guard("169.254.0.0/16,0.0.0.0/0,::/0", "169.254.0.0/16,192.0.2.0/24,2001:db8::/32");
    REFUSED(g, "169.254.1.1", "in --webhook-deny 169.254.0.0/16");
    ALLOWED(g, "192.0.2.7");                         /* the only networks reachable… */
    ALLOWED(g, "2001:db8::7");
    REFUSED(g, "8.8.8.8", "in --webhook-deny 0.0.0.0/0"); /* …all else is not */
    REFUSED(g, "2a00::1", "in --webhook-deny ::/0");
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
        cmocka_unit_test(test_guard_builtin),
        cmocka_unit_test(test_guard_embedded),
        cmocka_unit_test(test_guard_development),
        cmocka_unit_test(test_guard_allow),
        cmocka_unit_test(test_addr_str),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
