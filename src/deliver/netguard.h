/* netguard.h — which network addresses webhook requests may connect to.
 *
 * The guard holds two CIDR lists parsed once from the configuration
 * (webhook_deny, webhook_allow: comma-separated IPv4/IPv6 networks). The
 * delivery engine asks it about the very address curl is about to connect
 * to (CURLOPT_OPENSOCKETFUNCTION), after DNS resolution, so a hostname that
 * resolves (or re-resolves: DNS rebinding) to a forbidden address is
 * refused. An address is allowed when it is in no deny network and, if
 * the allow list is not empty, in one of the allow networks; deny wins.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as IPv4.
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

typedef struct hv_netguard {
    hv_cidr *deny, *allow;
    size_t ndeny, nallow;
} hv_netguard;

/* NULL with a message in err when a list does not parse. */
hv_netguard *hv_netguard_new(const char *deny, const char *allow, char *err, size_t errlen);
void hv_netguard_free(hv_netguard *g);

/* 1 when a connection to sa is allowed. Other address families (unix
 * sockets…) are refused. Thread-safe (the guard is read-only). */
int hv_netguard_allows(const hv_netguard *g, const struct sockaddr *sa);

/* The address as text ("10.1.2.3", "fe80::1"); out holds 64 bytes. */
void hv_netguard_addr_str(const struct sockaddr *sa, char out[64]);

#endif
