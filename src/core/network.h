/*
 * network.h — IP networks as Apache's configuration writes them, shared by
 * every place that matches a client address against one (Require ip, Allow
 * and Deny from, the expression language's -ipmatch).
 *
 * Forms: "a.b.c.d", a partial "a.b" (whole octets: 10.2 is 10.2.0.0/16),
 * "a.b.c.d/n", "a.b.c.d/m.m.m.m" (contiguous ones only), "v6", "v6/n".
 * Addresses are compared in network byte order; an IPv4-mapped IPv6
 * address ("::ffff:a.b.c.d") counts as the IPv4 address it carries, as a
 * dual-stack socket reports IPv4 clients.
 */
#ifndef WEFT_CORE_NETWORK_H
#define WEFT_CORE_NETWORK_H

#include "common.h"

typedef struct {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char address[16];  /* network byte order, masked to prefix */
    int prefix;                 /* bits */
} ip_network;

/* false if text is none of the forms above. */
bool ip_network_parse(const char *text, ip_network *network);
/* address is 4 (AF_INET) or 16 (AF_INET6) bytes in network order. */
bool ip_network_contains(const ip_network *network, int family, const unsigned char *address);
/* A textual address into family and bytes (16 bytes of room); a mapped
 * IPv4 address comes back as AF_INET.  false if text is not an address. */
bool ip_address_parse(const char *text, int *family, unsigned char *address);

/* A socket address as text ("127.0.0.1", "::1") and its port; "-" and 0
 * for a family that is neither IPv4 nor IPv6. */
struct sockaddr_storage;
void ip_address_text(const struct sockaddr_storage *address, char *text, size_t size, int *port);

#endif
