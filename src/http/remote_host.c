/*
 * remote_host.c — HostnameLookups: the client's name from reverse DNS
 * (see request.h), for %h in access logs and REMOTE_HOST for CGI scripts.
 */
#include "request.h"

#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

static bool parse_address(const char *text, struct sockaddr_storage *address, socklen_t *length)
{
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM };
    struct addrinfo *found = NULL;
    if (!text || getaddrinfo(text, NULL, &hints, &found) != 0 || !found)
        return false;
    memcpy(address, found->ai_addr, found->ai_addrlen);
    *length = found->ai_addrlen;
    freeaddrinfo(found);
    return true;
}

/* Double: one of the name's addresses must be the client's (Apache's
 * "double-reverse" check). */
static bool resolves_back(const char *name, const char *address_text)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    struct addrinfo *found = NULL;
    if (getaddrinfo(name, NULL, &hints, &found) != 0)
        return false;
    bool match = false;
    for (struct addrinfo *at = found; at && !match; at = at->ai_next) {
        char text[NI_MAXHOST];
        if (getnameinfo(at->ai_addr, at->ai_addrlen, text, sizeof text, NULL, 0, NI_NUMERICHOST) == 0)
            match = strcmp(text, address_text) == 0;
    }
    freeaddrinfo(found);
    return match;
}

const char *request_remote_host(request *r)
{
    if (r->remote_host)
        return *r->remote_host ? r->remote_host : NULL;
    r->remote_host = "";
    int mode = r->dir ? r->dir->hostname_lookups : r->server ? r->server->root_dir->hostname_lookups : 0;
    const char *address_text = r->connection ? request_client_address(r) : NULL;
    struct sockaddr_storage address;
    socklen_t length;
    if (mode == HOSTNAME_LOOKUPS_OFF || !parse_address(address_text, &address, &length))
        return NULL;
    char name[NI_MAXHOST];
    if (getnameinfo((struct sockaddr *)&address, length, name, sizeof name, NULL, 0, NI_NAMEREQD) != 0)
        return NULL;
    if (mode == HOSTNAME_LOOKUPS_DOUBLE && !resolves_back(name, address_text))
        return NULL;
    r->remote_host = pool_strdup(r->pool, name);
    return r->remote_host;
}
