/*
 * network.c — IP networks and addresses (see network.h).
 */
#include "network.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static bool parse_prefix_length(const char *text, int maximum, int *prefix)
{
    if (!*text || strlen(text) > 3)
        return false;
    int value = 0;
    for (const char *c = text; *c; c++) {
        if (!isdigit((unsigned char)*c))
            return false;
        value = value * 10 + (*c - '0');
    }
    *prefix = value;
    return value <= maximum;
}

/* A dotted netmask must be contiguous ones: 255.255.0.0, not 255.0.255.0. */
static bool parse_netmask(const char *text, int *prefix)
{
    struct in_addr mask;
    if (inet_pton(AF_INET, text, &mask) != 1)
        return false;
    uint32_t bits = ntohl(mask.s_addr);
    int ones = bits == 0xffffffffu ? 32 : __builtin_clz(~bits);
    if (bits != (ones ? 0xffffffffu << (32 - ones) : 0))
        return false;
    *prefix = ones;
    return true;
}

/* "10.2" means 10.2.0.0/16, as in Apache: whole octets, up to four. */
static bool parse_partial_ipv4(const char *text, ip_network *network)
{
    int octets = 0;
    const char *c = text;
    while (*c) {
        if (octets == 4 || !isdigit((unsigned char)*c))
            return false;
        int value = 0, digits = 0;
        while (isdigit((unsigned char)*c) && digits < 4) {
            value = value * 10 + (*c++ - '0');
            digits++;
        }
        if (value > 255 || digits > 3)
            return false;
        network->address[octets++] = (unsigned char)value;
        if (*c == '.' && c[1])
            c++;
        else if (*c)
            return false;
    }
    network->family = AF_INET;
    network->prefix = octets * 8;
    return octets > 0;
}

static void mask_address(ip_network *network)
{
    int bytes = network->family == AF_INET ? 4 : 16;
    for (int i = 0; i < bytes; i++) {
        int keep = network->prefix - i * 8;
        unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
        network->address[i] &= mask;
    }
}

bool ip_network_parse(const char *text, ip_network *network)
{
    memset(network, 0, sizeof(*network));
    char copy[INET6_ADDRSTRLEN + 32];
    if (strlen(text) >= sizeof(copy))
        return false;
    strcpy(copy, text);
    char *slash = strchr(copy, '/');
    if (slash)
        *slash++ = '\0';
    if (strchr(copy, ':')) {
        if (inet_pton(AF_INET6, copy, network->address) != 1)
            return false;
        network->family = AF_INET6;
        network->prefix = 128;
        if (slash && !parse_prefix_length(slash, 128, &network->prefix))
            return false;
    } else if (slash) {
        if (inet_pton(AF_INET, copy, network->address) != 1)
            return false;
        network->family = AF_INET;
        if (!parse_prefix_length(slash, 32, &network->prefix) && !parse_netmask(slash, &network->prefix))
            return false;
    } else if (!parse_partial_ipv4(copy, network)) {
        return false;
    }
    mask_address(network);
    return true;
}

bool ip_network_contains(const ip_network *network, int family, const unsigned char *address)
{
    if (family != network->family)
        return false;
    int whole = network->prefix / 8, rest = network->prefix % 8;
    if (memcmp(address, network->address, (size_t)whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (address[whole] & mask) == network->address[whole];
}

bool ip_address_parse(const char *text, int *family, unsigned char *address)
{
    if (inet_pton(AF_INET, text, address) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text, address) != 1)
        return false;
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp(address, mapped, sizeof(mapped)) == 0) {
        memmove(address, address + 12, 4);
        *family = AF_INET;
    } else {
        *family = AF_INET6;
    }
    return true;
}

void ip_address_text(const struct sockaddr_storage *address, char *text, size_t size, int *port)
{
    strcpy(text, "-");
    *port = 0;
    if (address->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        inet_ntop(AF_INET, &v4->sin_addr, text, (socklen_t)size);
        *port = ntohs(v4->sin_port);
    } else if (address->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        inet_ntop(AF_INET6, &v6->sin6_addr, text, (socklen_t)size);
        *port = ntohs(v6->sin6_port);
    }
}
