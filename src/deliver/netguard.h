/* SPDX-License-Identifier: MIT */
/* netguard.h — which network addresses webhook requests may connect to.
 *
 * The delivery engine asks the guard about the very address curl is about
 * to connect to (CURLOPT_OPENSOCKETFUNCTION), after DNS resolution, so a
 * hostname that resolves (or re-resolves: DNS rebinding) to a forbidden
 * address is refused. The rules, in order (issue 13, defect 9):
 *
 *  1. the operator's lists, webhook_deny and webhook_allow (comma-separated
 *     IPv4/IPv6 networks): the most specific network holding the address
 *     decides, deny winning a tie — so "--webhook-allow 10.1.0.0/16" opens
 *     a private range, and "--webhook-deny 0.0.0.0/0,::/0 --webhook-allow
 *     X" allows only X;
 *  2. else the built-in list of networks that are not the public Internet
 *     (loopback, private, CGNAT, ULA, link-local and cloud metadata,
 *     multicast, unspecified, documentation, benchmarking, reserved)
 *     refuses; with the development default (the token 'development' on a
 *     loopback listen address) loopback is left out of it, so local
 *     receivers work out of the box;
 *  3. else the address is allowed.
 *
 * An address that embeds an IPv4 address (::ffff:a.b.c.d, ::a.b.c.d,
 * 64:ff9b::/96, 64:ff9b:1::/48 read as /96, 2002::/16) must pass as that
 * IPv4 address too, and 0.0.0.0 and :: as the loopback too.
 */
#ifndef HV_NETGUARD_H
#define HV_NETGUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct hv_cidr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t addr[16];  /* network address, host bits cleared (4 bytes used for IPv4) */
    int prefix;        /* 0..32 or 0..128 */
} hv_cidr;

/* Parses "10.0.0.0/8", "fe80::/10" or a bare address (a /32 or /128).
 * Host bits are cleared. Returns 0, or -1 when s is not a network. */
int hv_cidr_parse(const char *s, hv_cidr *out);

/* Parses a comma-separated list (spaces around entries and empty entries
 * are ignored). *out is malloc'd (NULL when empty). Returns 0, or -1 with
 * the offending entry named in err. */
int hv_cidr_list_parse(const char *s, hv_cidr **out, size_t *n, char *err, size_t errlen);

/* 1 when the address (AF_INET or AF_INET6 sockaddr) lies in c. */
int hv_cidr_match(const hv_cidr *c, const struct sockaddr *sa);

#define HV_NETGUARD_NBUILTIN 26

typedef struct hv_netguard {
    hv_cidr *deny, *allow;
    size_t ndeny, nallow;
    hv_cidr builtin[HV_NETGUARD_NBUILTIN]; /* parsed once from netguard.c's table */
    int loopback_ok;                        /* the development default */
} hv_netguard;

/* NULL with a message in err when a list does not parse. Loopback is
 * refused until hv_netguard_set_loopback_ok. */
hv_netguard *hv_netguard_new(const char *deny, const char *allow, char *err, size_t errlen);
void hv_netguard_free(hv_netguard *g);

/* on: loopback (127.0.0.0/8, ::1) is not in the built-in list (the
 * development default); the operator's lists still apply. */
void hv_netguard_set_loopback_ok(hv_netguard *g, int on);

/* 1 when a connection to sa is allowed. Else 0, and when why is not NULL
 * it says which address broke which rule ("10.0.0.1 is private
 * (10.0.0.0/8; see --webhook-allow)", "64:ff9b::a00:1 reaches 10.0.0.1 is
 * …"). Other address families (unix sockets…) are refused. Thread-safe
 * (the guard is read-only). */
int hv_netguard_check(const hv_netguard *g, const struct sockaddr *sa, char *why, size_t whylen);

/* hv_netguard_check without the reason. */
int hv_netguard_allows(const hv_netguard *g, const struct sockaddr *sa);

/* The address as text ("10.1.2.3", "fe80::1"); out holds 64 bytes. */
void hv_netguard_addr_str(const struct sockaddr *sa, char out[64]);

#endif
