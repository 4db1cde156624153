/*
 * remoteip_walk.c — RemoteIPHeader: which address in X-Forwarded-For (or
 * X-Real-IP) is the client, by Apache 2.4 mod_remoteip's rules.
 *
 * The walk starts at the connection's peer and goes right to left through
 * the header's comma-separated addresses.  Each step takes the address the
 * current hop reports, while:
 *  - the current hop is a listed proxy (RemoteIPTrustedProxy,
 *    RemoteIPInternalProxy and their -List forms); with no list at all,
 *    every hop is trusted;
 *  - the element is an IP address (with or without spaces around it);
 *  - unless every hop so far was an internal proxy, it is a public address
 *    (not 10/8, 127/8, 169.254/16, 172.16/12, 192.168/16; for IPv6 inside
 *    2000::/3): an external proxy cannot vouch for a private client.
 *    Once a trusted (not internal) proxy reported a hop, the hops it
 *    reported count as external too.
 * The first element that fails stops the walk and stays in the header,
 * with everything to its left; the header is left with what was not
 * consumed, or removed when everything was.  If the peer itself is not a
 * listed proxy (when there is a list), nothing happens.  The hops that were
 * trusted (not internal) proxies, in the order the walk met them (nearest
 * first), are what RemoteIPProxiesHeader receives.
 */
#include "remoteip.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "../core/log.h"
#include "../http/connection.h"

bool remoteip_is_private(int family, const unsigned char *a)
{
    if (family == AF_INET)
        return a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
               (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168);
    return (a[0] & 0xe0) != 0x20;
}

/* The entry of the proxy list that contains the address, NULL if none. */
static const remoteip_proxy *listed(const remoteip_proxy_list *list, int family, const unsigned char *address)
{
    for (int i = 0; i < list->count; i++)
        if (ip_network_contains(&list->items[i].network, family, address))
            return &list->items[i];
    return NULL;
}

/* All the fields called name, joined by ", " as Apache joins repeated
 * request fields; NULL if there is none. */
static char *joined_value(request *r, const char *name, size_t *length)
{
    const http_parser *parser = &r->parser;
    size_t total = 0;
    int found = 0;
    for (uint32_t i = 0; i < parser->field_count; i++) {
        const http_field *f = &parser->fields[i];
        if (f->name.length == strlen(name) && strncasecmp(r->head + f->name.offset, name, f->name.length) == 0) {
            total += f->value.length + (found ? 2 : 0);
            found++;
        }
    }
    if (!found)
        return NULL;
    char *value = pool_alloc(r->pool, total + 1);
    size_t at = 0;
    for (uint32_t i = 0; i < parser->field_count; i++) {
        const http_field *f = &parser->fields[i];
        if (f->name.length == strlen(name) && strncasecmp(r->head + f->name.offset, name, f->name.length) == 0) {
            if (at) {
                memcpy(value + at, ", ", 2);
                at += 2;
            }
            memcpy(value + at, r->head + f->value.offset, f->value.length);
            at += f->value.length;
        }
    }
    value[at] = '\0';
    *length = at;
    return value;
}

/* Leaves the first `keep` bytes of the joined value in the header: the
 * fields wholly after it go, the one it ends in is shortened. */
static void keep_prefix(request *r, const char *name, size_t keep)
{
    http_parser *parser = &r->parser;
    size_t start = 0;
    bool first = true;
    for (uint32_t i = 0; i < parser->field_count;) {
        http_field *f = &parser->fields[i];
        if (f->name.length != strlen(name) || strncasecmp(r->head + f->name.offset, name, f->name.length) != 0) {
            i++;
            continue;
        }
        if (!first)
            start += 2;
        first = false;
        size_t end = start + f->value.length;
        if (start >= keep || keep == 0) {
            memmove(f, f + 1, sizeof(*f) * (parser->field_count - i - 1));
            parser->field_count--;
        } else {
            if (end > keep)
                f->value.length = (uint32_t)(keep - start);
            i++;
        }
        start = end;
    }
}

static char *address_text(request *r, int family, const unsigned char *address)
{
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, address, text, sizeof(text)))
        return NULL;
    return pool_strdup(r->pool, text);
}

/* The CGI variable a request field becomes: HTTP_ and the name in capitals,
 * '-' as '_'. */
static char *cgi_name(request *r, const char *field)
{
    size_t length = strlen(field);
    char *name = pool_alloc(r->pool, length + 6);
    memcpy(name, "HTTP_", 5);
    for (size_t i = 0; i < length; i++) {
        char c = field[i];
        name[5 + i] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    name[5 + length] = '\0';
    return name;
}

int remoteip_post_read(request *r)
{
    if (!r->connection)
        return WEFT_DECLINED;
    /* A PROXY header takes precedence: Apache does not walk the header
     * field on such a connection. */
    if (r->connection->proxy_protocol) {
        if (r->connection->proxy_client_address[0]) {
            r->client_address = r->connection->proxy_client_address;
            r->client_port = r->connection->proxy_client_port;
            r->remote_host = NULL;
        }
        return WEFT_OK;
    }
    const remoteip_config *config = remoteip_settings(r->server);
    if (!config->header)
        return WEFT_DECLINED;
    const remoteip_proxy_list *list = &config->proxies;
    const char *peer = connection_peer_address(r->connection);
    int family;
    unsigned char address[16];
    if (!peer || !ip_address_parse(peer, &family, address))
        return WEFT_DECLINED;
    bool internal = false;
    if (list->count) {
        const remoteip_proxy *proxy = listed(list, family, address);
        if (!proxy)
            return WEFT_DECLINED;  /* not from a proxy: the header is the client's own word */
        internal = proxy->internal;
    }
    size_t length;
    char *value = joined_value(r, config->header, &length);
    if (!value)
        return WEFT_DECLINED;

    const char *client = peer;
    const char *proxies = NULL;
    size_t remaining = length;  /* value[0..remaining) not consumed yet */
    while (remaining > 0) {
        if (list->count) {
            const remoteip_proxy *proxy = listed(list, family, address);
            if (!proxy)
                break;
            if (internal)
                internal = proxy->internal;  /* an external proxy's report is never internal */
        }
        size_t element_start = remaining;
        while (element_start > 0 && value[element_start - 1] != ',')
            element_start--;
        size_t begin = element_start, end = remaining;
        while (begin < end && value[begin] == ' ')
            begin++;
        while (end > begin && value[end - 1] == ' ')
            end--;
        if (begin == end || end - begin >= INET6_ADDRSTRLEN)
            break;
        char text[INET6_ADDRSTRLEN];
        memcpy(text, value + begin, end - begin);
        text[end - begin] = '\0';
        int next_family;
        unsigned char next[16];
        if (!ip_address_parse(text, &next_family, next)) {
            if (log_enabled(LOG_LEVEL_DEBUG))
                log_module_message(LOG_LEVEL_DEBUG, "remoteip", "%s value '%s' cannot be parsed as a client IP",
                                   config->header, text);
            break;
        }
        if (!internal && remoteip_is_private(next_family, next))
            break;
        if (!internal)
            proxies = proxies ? pool_printf(r->pool, "%s, %s", proxies, client) : client;
        family = next_family;
        memcpy(address, next, sizeof(address));
        client = address_text(r, family, address);
        if (!client)
            return WEFT_DECLINED;
        /* Without the element and its comma; spaces before the comma go too. */
        remaining = element_start ? element_start - 1 : 0;
        while (remaining > 0 && value[remaining - 1] == ' ')
            remaining--;
    }
    if (client == peer)
        return WEFT_DECLINED;
    r->client_address = client;
    r->client_port = 0;  /* as Apache: the port is not known, and the peer's would mislead */
    r->remote_host = NULL;  /* a host name looked up earlier was the peer's */
    keep_prefix(r, config->header, remaining);
    if (proxies) {
        /* Apache adds the field to the request's headers; weft's are the
         * received head, so the field reaches CGI scripts as the variable
         * it would have become. */
        if (config->proxies_header)
            request_set_env(r, cgi_name(r, config->proxies_header), proxies);
    }
    if (log_enabled(LOG_LEVEL_DEBUG))
        log_module_message(LOG_LEVEL_DEBUG, "remoteip", "using %s as the client's address, by proxies %s", client,
                           proxies ? proxies : "(internal only)");
    return WEFT_OK;
}
