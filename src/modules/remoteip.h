/*
 * remoteip.h — mod_remoteip's configuration, shared by the module
 * (remoteip.c: directives, the PROXY protocol layer) and its per-request
 * walk over RemoteIPHeader (remoteip_walk.c).
 */
#ifndef WEFT_MODULES_REMOTEIP_H
#define WEFT_MODULES_REMOTEIP_H

#include "../core/module.h"
#include "../core/network.h"
#include "../http/request.h"

typedef struct {
    ip_network network;
    bool internal;   /* RemoteIPInternalProxy: may report private addresses */
    const char *file; /* the -List file it came from, NULL if written inline (for DUMP_CONFIG) */
} remoteip_proxy;

typedef struct {
    remoteip_proxy *items;
    int count;
    int capacity;
} remoteip_proxy_list;

typedef struct remoteip_listeners remoteip_listeners;

typedef struct {
    const char *header;                 /* RemoteIPHeader; NULL = none */
    const char *proxies_header;         /* RemoteIPProxiesHeader; NULL = none */
    remoteip_proxy_list proxies;        /* RemoteIPTrustedProxy, RemoteIPInternalProxy, -List */
    bool proxy_protocol;                /* RemoteIPProxyProtocol */
    remoteip_proxy_list exceptions;     /* RemoteIPProxyProtocolExceptions */
    const remoteip_listeners *listeners; /* main server only: which listeners expect PROXY */
} remoteip_config;

remoteip_config *remoteip_settings(const server_config *server);

/* The post_read hook: RemoteIPHeader's walk (remoteip_walk.c). */
int remoteip_post_read(request *r);

/* Is address (4 or 16 bytes, family AF_INET/AF_INET6) one Apache lets
 * only an internal proxy report: IPv4 10/8, 127/8, 169.254/16,
 * 172.16/12, 192.168/16; IPv6 outside global unicast 2000::/3? */
bool remoteip_is_private(int family, const unsigned char *address);

#endif
