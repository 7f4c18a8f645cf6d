/* SPDX-License-Identifier: MIT */
/* netguard.c — CIDR lists and the connect-time address check; see
 * netguard.h.
 *
 * Networks are kept as (family, network bytes, prefix length); matching
 * compares the first prefix bits. An address is judged as every address a
 * connection to it really reaches: an IPv6 form that embeds an IPv4
 * address (mapped, translated, compatible, NAT64, 6to4) is judged as that
 * IPv4 address too, and the unspecified address (0.0.0.0, ::), which
 * Linux connects to this host, as the loopback too — so "::ffff:10.0.0.1",
 * "64:ff9b::a00:1" or "[::]" cannot slip past a rule about 10.0.0.1 or
 * ::1 (issue 13, defect 9). inet_pton does the parsing; nothing here
 * allocates after setup, so the check is cheap enough to run for every
 * socket curl opens.
 */
#include "deliver/netguard.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void clear_host_bits(uint8_t *addr, int bytes, int prefix)
{
    for (int i = 0; i < bytes; i++) {
        int keep = prefix - i * 8;
        if (keep >= 8)
            continue;
        addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
}

int hv_cidr_parse(const char *s, hv_cidr *out)
{
    char buf[64];
    size_t len = strlen(s);
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len + 1);
    int prefix = -1;
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        const char *p = slash + 1;
        if (!*p || strlen(p) > 3)
            return -1;
        prefix = 0;
        for (; *p; p++) {
            if (!isdigit((unsigned char)*p))
                return -1;
            prefix = prefix * 10 + (*p - '0');
        }
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        if (prefix < 0)
            prefix = 32;
        if (prefix > 32)
            return -1;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        if (prefix < 0)
            prefix = 128;
        if (prefix > 128)
            return -1;
        if (prefix >= 96 && memcmp(out->addr, v4mapped_prefix, 12) == 0) {
            memmove(out->addr, out->addr + 12, 4);
            memset(out->addr + 4, 0, 12);
            out->family = AF_INET;
            prefix -= 96;
        }
    } else {
        return -1;
    }
    out->prefix = prefix;
    clear_host_bits(out->addr, out->family == AF_INET ? 4 : 16, prefix);
    return 0;
}

int hv_cidr_list_parse(const char *s, hv_cidr **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    const char *p = s ? s : "";
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a) {
            char entry[64];
            size_t len = (size_t)(b - a);
            hv_cidr c;
            if (len >= sizeof(entry)) {
                snprintf(err, errlen, "not a network: %.40s…", a);
                goto fail;
            }
            memcpy(entry, a, len);
            entry[len] = '\0';
            if (hv_cidr_parse(entry, &c) != 0) {
                snprintf(err, errlen, "not a network: %s", entry);
                goto fail;
            }
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                *out = hv_xrealloc(*out, cap * sizeof(**out));
            }
            (*out)[(*n)++] = c;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
fail:
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}

static int match_bytes(const hv_cidr *c, int family, const uint8_t *addr)
{
    if (c->family != family)
        return 0;
    int full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr, addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (addr[full] & mask) == c->addr[full];
}

int hv_cidr_match(const hv_cidr *c, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return match_bytes(c, AF_INET, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
    if (sa->sa_family != AF_INET6)
        return 0;
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    if (memcmp(a, v4mapped_prefix, 12) == 0)
        return match_bytes(c, AF_INET, a + 12);
    return match_bytes(c, AF_INET6, a);
}

/* Networks that are not the public Internet (IANA special-purpose
 * registries, RFC 6890 and later): a webhook must not reach them unless
 * the operator allows them. `loopback` entries are left out with the
 * development default (hv_netguard_set_loopback_ok). */
typedef struct builtin_net {
    const char *cidr, *what;
    int loopback;
} builtin_net;

static const builtin_net builtin[] = {
    {"0.0.0.0/8", "unspecified (\"this network\")", 0},
    {"10.0.0.0/8", "private", 0},
    {"100.64.0.0/10", "shared CGNAT", 0},
    {"127.0.0.0/8", "loopback", 1},
    {"169.254.0.0/16", "link-local (cloud metadata)", 0},
    {"172.16.0.0/12", "private", 0},
    {"192.0.0.0/24", "IETF protocol assignments", 0},
    {"192.0.2.0/24", "documentation", 0},
    {"192.88.99.0/24", "6to4 relay anycast", 0},
    {"192.168.0.0/16", "private", 0},
    {"198.18.0.0/15", "benchmarking", 0},
    {"198.51.100.0/24", "documentation", 0},
    {"203.0.113.0/24", "documentation", 0},
    {"224.0.0.0/4", "multicast", 0},
    {"240.0.0.0/4", "reserved (and broadcast)", 0},
    {"::/128", "unspecified", 0},
    {"::1/128", "loopback", 1},
    {"64:ff9b:1::/48", "local-use NAT64", 0},
    {"100::/64", "discard-only", 0},
    {"2001::/23", "IETF protocol assignments (Teredo, benchmarking)", 0},
    {"2001:db8::/32", "documentation", 0},
    {"3fff::/20", "documentation", 0},
    {"fc00::/7", "unique local (ULA)", 0},
    {"fe80::/10", "link-local", 0},
    {"fec0::/10", "site-local", 0},
    {"ff00::/8", "multicast", 0},
};
#define N_BUILTIN (sizeof(builtin) / sizeof(builtin[0]))
_Static_assert(N_BUILTIN == HV_NETGUARD_NBUILTIN, "HV_NETGUARD_NBUILTIN is the size of builtin[]");

/* One address to judge: (family, bytes). */
typedef struct cand {
    int family;
    uint8_t addr[16];
} cand;

static void cand_v4(cand *c, const uint8_t *v4)
{
    c->family = AF_INET;
    memset(c->addr, 0, sizeof(c->addr));
    memcpy(c->addr, v4, 4);
}

/* The addresses a connection to sa really reaches, each judged on its
 * own (all must pass): the address itself, the IPv4 address embedded in
 * an IPv6 form that carries one (IPv4-mapped and -translated are that
 * IPv4 address only; IPv4-compatible, NAT64 64:ff9b::/96 and
 * 64:ff9b:1::/48 in its /96 form, 6to4 2002::/16 are both), and for the
 * unspecified address, which connects to this host, the loopback.
 * Returns how many (0: not an IP address). */
static int candidates(const struct sockaddr *sa, cand out[2])
{
    static const uint8_t zero[12], loop6[16] = {[15] = 1}, loop4[4] = {127, 0, 0, 1};
    static const uint8_t translated[12] = {[8] = 0xff, [9] = 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b}, nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
    if (sa->sa_family == AF_INET) {
        const uint8_t *v4 = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
        cand_v4(&out[0], v4);
        if (!memcmp(v4, zero, 4)) /* 0.0.0.0 reaches this host */
            return cand_v4(&out[1], loop4), 2;
        return 1;
    }
    if (sa->sa_family != AF_INET6)
        return 0;
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    if (!memcmp(a, v4mapped_prefix, 12) || !memcmp(a, translated, 12))
        return cand_v4(&out[0], a + 12), 1;
    out[0].family = AF_INET6;
    memcpy(out[0].addr, a, 16);
    if (!memcmp(a, zero, 12)) {
        if (!memcmp(a, loop6, 16))
            return 1;
        if (!memcmp(a + 12, zero, 4)) { /* "::" reaches this host */
            out[1].family = AF_INET6;
            memcpy(out[1].addr, loop6, 16);
            return 2;
        }
        return cand_v4(&out[1], a + 12), 2; /* IPv4-compatible ::a.b.c.d */
    }
    if (!memcmp(a, nat64, 12) || !memcmp(a, nat64_local, 6))
        return cand_v4(&out[1], a + 12), 2;
    if (a[0] == 0x20 && a[1] == 0x02) /* 6to4: 2002:AABB:CCDD::/48 */
        return cand_v4(&out[1], a + 2), 2;
    return 1;
}

static void cand_str(const cand *c, char out[64])
{
    out[0] = '\0';
    inet_ntop(c->family, c->addr, out, 64);
}

static void cidr_str(const hv_cidr *c, char out[64])
{
    char a[INET6_ADDRSTRLEN] = "";
    inet_ntop(c->family, c->addr, a, sizeof(a));
    snprintf(out, 64, "%s/%d", a, c->prefix);
}

/* The most specific network of the operator's lists holding c decides
 * (deny wins a tie); then the built-in networks refuse; else allowed.
 * On refusal why says which rule ("private (10.0.0.0/8; …)"). */
static int judge(const hv_netguard *g, const cand *c, char *why, size_t whylen)
{
    const hv_cidr *best = NULL;
    int best_deny = 0;
    for (size_t i = 0; i < g->ndeny; i++)
        if (match_bytes(&g->deny[i], c->family, c->addr) && (!best || g->deny[i].prefix > best->prefix))
            best = &g->deny[i], best_deny = 1;
    for (size_t i = 0; i < g->nallow; i++)
        if (match_bytes(&g->allow[i], c->family, c->addr) && (!best || g->allow[i].prefix > best->prefix))
            best = &g->allow[i], best_deny = 0;
    if (best) {
        if (best_deny && why) {
            char ns[64];
            cidr_str(best, ns);
            snprintf(why, whylen, "in --webhook-deny %s", ns);
        }
        return !best_deny;
    }
    for (size_t i = 0; i < N_BUILTIN; i++) {
        if (g->loopback_ok && builtin[i].loopback)
            continue;
        if (match_bytes(&g->builtin[i], c->family, c->addr)) {
            if (why)
                snprintf(why, whylen, "%s (%s; see --webhook-allow)", builtin[i].what, builtin[i].cidr);
            return 0;
        }
    }
    return 1;
}

hv_netguard *hv_netguard_new(const char *deny, const char *allow, char *err, size_t errlen)
{
    hv_netguard *g = hv_xcalloc(1, sizeof(*g));
    for (size_t i = 0; i < N_BUILTIN; i++)
        if (hv_cidr_parse(builtin[i].cidr, &g->builtin[i]) != 0)
            abort(); /* the table above is wrong */
    char msg[128];
    if (hv_cidr_list_parse(deny, &g->deny, &g->ndeny, msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "webhook-deny: %s", msg);
        free(g);
        return NULL;
    }
    if (hv_cidr_list_parse(allow, &g->allow, &g->nallow, msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "webhook-allow: %s", msg);
        free(g->deny);
        free(g);
        return NULL;
    }
    return g;
}

void hv_netguard_set_loopback_ok(hv_netguard *g, int on)
{
    g->loopback_ok = on;
}

void hv_netguard_free(hv_netguard *g)
{
    if (!g)
        return;
    free(g->deny);
    free(g->allow);
    free(g);
}

int hv_netguard_check(const hv_netguard *g, const struct sockaddr *sa, char *why, size_t whylen)
{
    cand c[2];
    int n = candidates(sa, c);
    if (n == 0) {
        if (why)
            snprintf(why, whylen, "address family %d is not IP", sa->sa_family);
        return 0;
    }
    char rule[128];
    for (int i = 0; i < n; i++) {
        if (judge(g, &c[i], rule, sizeof(rule)))
            continue;
        if (why) {
            char shown[64], reached[64];
            hv_netguard_addr_str(sa, shown);
            cand_str(&c[i], reached);
            if (!strcmp(shown, reached))
                snprintf(why, whylen, "%s is %s", shown, rule);
            else /* name what was asked and what it reaches */
                snprintf(why, whylen, "%s reaches %s, which is %s", shown, reached, rule);
        }
        return 0;
    }
    return 1;
}

int hv_netguard_allows(const hv_netguard *g, const struct sockaddr *sa)
{
    return hv_netguard_check(g, sa, NULL, 0);
}

void hv_netguard_addr_str(const struct sockaddr *sa, char out[64])
{
    out[0] = '\0';
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, 64);
    else
        snprintf(out, 64, "(address family %d)", sa->sa_family);
}
