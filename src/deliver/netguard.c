/* netguard.c — CIDR lists and the connect-time address check; see
 * netguard.h.
 *
 * Networks are kept as (family, network bytes, prefix length); matching
 * compares the first prefix bits. Addresses and networks written as
 * IPv4-mapped IPv6 are turned into IPv4 first, so "::ffff:169.254.1.1"
 * cannot slip past a deny entry "169.254.0.0/16". inet_pton does the
 * parsing; nothing here allocates after setup, so the check is cheap
 * enough to run for every socket curl opens.
 */
#include "deliver/netguard.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
                hv_cidr *grown = realloc(*out, cap * sizeof(**out));
                if (!grown) {
                    snprintf(err, errlen, "out of memory");
                    goto fail;
                }
                *out = grown;
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

/* The address of sa as (family, bytes), IPv4-mapped IPv6 turned into IPv4.
 * Returns 0, or -1 for other families. */
static int normalise(const struct sockaddr *sa, int *family, uint8_t addr[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        *family = AF_INET;
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(a, v4mapped_prefix, 12) == 0) {
            memcpy(addr, a + 12, 4);
            *family = AF_INET;
        } else {
            memcpy(addr, a, 16);
            *family = AF_INET6;
        }
        return 0;
    }
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
    int family;
    uint8_t addr[16];
    if (normalise(sa, &family, addr) != 0)
        return 0;
    return match_bytes(c, family, addr);
}

hv_netguard *hv_netguard_new(const char *deny, const char *allow, char *err, size_t errlen)
{
    hv_netguard *g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
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

void hv_netguard_free(hv_netguard *g)
{
    if (!g)
        return;
    free(g->deny);
    free(g->allow);
    free(g);
}

int hv_netguard_allows(const hv_netguard *g, const struct sockaddr *sa)
{
    int family;
    uint8_t addr[16];
    if (normalise(sa, &family, addr) != 0)
        return 0;
    for (size_t i = 0; i < g->ndeny; i++)
        if (match_bytes(&g->deny[i], family, addr))
            return 0;
    if (!g->nallow)
        return 1;
    for (size_t i = 0; i < g->nallow; i++)
        if (match_bytes(&g->allow[i], family, addr))
            return 1;
    return 0;
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
