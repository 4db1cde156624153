/*
 * remoteip.c — Apache's mod_remoteip: the client's address as a proxy or a
 * load balancer in front of weft reports it.
 *
 * Two sources, as in Apache 2.4:
 *  - RemoteIPProxyProtocol On: the PROXY protocol header (v1 or v2,
 *    http/proxy_protocol.h) the balancer sends before anything else on the
 *    connection.  Its source becomes the client of every request on the
 *    connection (Apache's r->useragent_ip), the peer stays the balancer
 *    (%{c}a, Apache's c->client_ip), and RemoteIPHeader is not consulted
 *    on such a connection.  A connection that is expected to carry one and
 *    does not is closed unanswered (logged at info), except from the
 *    addresses of RemoteIPProxyProtocolExceptions, which send none.
 *  - RemoteIPHeader X-Forwarded-For (or X-Real-IP): per request, the
 *    right-to-left walk over the addresses proxies appended, as long as the
 *    address that presented each one is a trusted proxy (remoteip_walk.c).
 * Either way the result is what request_client_address() answers.
 *
 * Where the PROXY header is read.  The header comes before a TLS
 * ClientHello, and mod_ssl's layer reads the socket itself (SSL_set_fd).
 * So this module's connection_open runs after ssl's (modules.c) and puts a
 * thin I/O layer on top of whatever is there.  Over TLS its read() peeks at
 * the socket, feeds the parser and consumes exactly the header's bytes,
 * then hands the connection back to the TLS layer and reads through it.
 * Over plain TCP it reads into the connection's own buffer and moves what
 * follows the header to its front: no system call beyond the one the
 * request needed anyway.  Nothing blocks: until the header is complete,
 * read() says EAGAIN and the connection waits in the event loop like any
 * connection whose first request has not arrived, bounded by the same
 * timeouts (RequestReadTimeout header=, Timeout).  A malformed header makes
 * read() fail, and the connection layer closes the connection without a
 * word.
 *
 * Which connections must carry one.  Apache's RemoteIPProxyProtocol is a
 * per-server directive that it turns into lists of addresses: those of the
 * servers that say On, less those of the servers that say Off; a
 * connection's local address is looked up in them.  weft decides per local
 * address:port the same way: the main server's setting, unless a
 * <VirtualHost> of that address (its default, or any of its vhosts with a
 * ServerName) set the other value.  Decided per listener at startup where
 * the listener's address settles it, else per connection.
 */
#include "remoteip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "../core/log.h"
#include "../core/vhost.h"
#include "../http/connection.h"
#include "../http/proxy_protocol.h"

extern const module remoteip_module;

remoteip_config *remoteip_settings(const server_config *server)
{
    return module_server_config(server, &remoteip_module);
}

/* ---- which connections carry a PROXY header --------------------------------- */

typedef enum {
    LISTENER_NO_PROXY,
    LISTENER_PROXY,          /* every connection */
    LISTENER_BY_ADDRESS,     /* decided per connection by its local address */
} listener_kind;

struct remoteip_listeners {
    int count;
    listener_kind *kinds;
    /* The vhosts whose RemoteIPProxyProtocol differs from the main
     * server's (they set it themselves), NULL-terminated. */
    const server_config **differing;
    /* RemoteIPProxyProtocolExceptions of every server: Apache keeps one
     * list for the whole server, whichever section the lines are in. */
    remoteip_proxy_list exceptions;
};

static bool address_is_wildcard(const listen_address *listen)
{
    if (listen->address.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&listen->address)->sin_addr.s_addr == htonl(INADDR_ANY);
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&listen->address;
    return memcmp(&v6->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
}

/* Must a connection to local_address:port begin with a PROXY header?  The
 * main server's setting, unless a vhost of that address set the other one
 * (Apache: the addresses of the servers that say On, less those of the
 * servers that say Off): the address's default vhost first, then the
 * others of the address that have a ServerName. */
static bool proxy_required(const server_config *main, const remoteip_listeners *table, const char *local_address,
                           int port)
{
    bool main_on = remoteip_settings(main)->proxy_protocol;
    if (!table->differing[0])
        return main_on;
    const server_config *chosen = vhost_select(main, local_address, port, NULL, 0);
    if (remoteip_settings(chosen)->proxy_protocol != main_on)
        return !main_on;
    for (const server_config *const *v = table->differing; *v; v++) {
        const char *name = (*v)->server_name;
        if (name && vhost_select(main, local_address, port, name, strlen(name)) == *v)
            return !main_on;
    }
    return main_on;
}

static void add_exceptions(pool *p, remoteip_proxy_list *all, const remoteip_proxy_list *some)
{
    remoteip_proxy *grown = pool_alloc(p, sizeof(*grown) * (size_t)(all->count + some->count));
    if (all->count)
        memcpy(grown, all->items, sizeof(*grown) * (size_t)all->count);
    memcpy(grown + all->count, some->items, sizeof(*grown) * (size_t)some->count);
    all->items = grown;
    all->count += some->count;
}

static int remoteip_config_complete(config_parse *parse, server_config *main)
{
    bool main_on = remoteip_settings(main)->proxy_protocol;
    int enabled = main_on ? 1 : 0, differing = 0;
    for (int v = 0; v < vhost_count(main); v++) {
        bool on = remoteip_settings(vhost_server(main, v))->proxy_protocol;
        enabled += on;
        differing += on != main_on;
    }
    if (!enabled)
        return WEFT_OK;
    pool *p = config_pool(parse);
    remoteip_listeners *table = pool_calloc(p, sizeof(*table));
    table->count = main->listen_count;
    table->kinds = pool_calloc(p, sizeof(*table->kinds) * (size_t)(table->count + 1));
    table->differing = pool_calloc(p, sizeof(*table->differing) * (size_t)(differing + 1));
    differing = 0;
    for (int v = 0; v < vhost_count(main); v++)
        if (remoteip_settings(vhost_server(main, v))->proxy_protocol != main_on)
            table->differing[differing++] = vhost_server(main, v);
    /* Vhosts that set no exceptions share main's items: each list once. */
    const remoteip_proxy_list *seen[vhost_count(main) + 1];
    int seen_count = 0;
    for (int v = -1; v < vhost_count(main); v++) {
        const remoteip_proxy_list *list = &remoteip_settings(v < 0 ? main : vhost_server(main, v))->exceptions;
        bool known = !list->count;
        for (int j = 0; j < seen_count && !known; j++)
            known = seen[j]->items == list->items;
        if (known)
            continue;
        seen[seen_count++] = list;
        add_exceptions(p, &table->exceptions, list);
    }
    for (int i = 0; i < table->count; i++) {
        const listen_address *listen = &main->listens[i];
        char text[INET6_ADDRSTRLEN];
        int port;
        ip_address_text(&listen->address, text, sizeof(text), &port);
        if (address_is_wildcard(listen) && vhost_needs_local_address(main) && table->differing[0]) {
            table->kinds[i] = LISTENER_BY_ADDRESS;
            continue;
        }
        bool required = proxy_required(main, table, address_is_wildcard(listen) ? NULL : text, port);
        table->kinds[i] = required ? LISTENER_PROXY : LISTENER_NO_PROXY;
    }
    /* Only main's struct holds it: connections start with the main server. */
    remoteip_settings(main)->listeners = table;
    return WEFT_OK;
}

/* ---- the I/O layer that reads the header ------------------------------------ */

typedef struct {
    proxy_parser parser;
    const connection_io *below;
    void *below_context;
} proxy_state;

/* Hands c back to the layer below, for good. */
static void unwrap(connection *c)
{
    proxy_state *state = c->io_context;
    c->io = state->below;
    c->io_context = state->below_context;
    free(state);
}

/* The header's source becomes the client of every request on c
 * (remoteip_post_read); the peer stays the balancer. */
static void use_header(connection *c, const proxy_state *state)
{
    const proxy_header *h = &state->parser.header;
    if (h->family != AF_INET && h->family != AF_INET6) {
        if (log_enabled(LOG_LEVEL_DEBUG))
            log_module_message(LOG_LEVEL_DEBUG, "remoteip", "PROXY v%d header from %s names no client (%s): "
                               "the connection's own address stands", h->version, c->peer_address,
                               h->local ? "LOCAL" : "UNKNOWN/UNSPEC/UNIX");
        return;
    }
    if (!inet_ntop(h->family, h->source, c->proxy_client_address, sizeof(c->proxy_client_address))) {
        c->proxy_client_address[0] = '\0';
        return;
    }
    c->proxy_client_port = h->source_port;
    if (log_enabled(LOG_LEVEL_DEBUG))
        log_module_message(LOG_LEVEL_DEBUG, "remoteip", "PROXY v%d header from %s: client %s:%d", h->version,
                           c->peer_address, c->proxy_client_address, c->proxy_client_port);
}

/* Peeks at what has arrived and consumes exactly the header's bytes:
 * WEFT_OK when the header is complete, WEFT_AGAIN when more must arrive
 * (errno EAGAIN), WEFT_ERROR when it is malformed or the peer left. */
static int read_header(connection *c, proxy_state *state)
{
    unsigned char peeked[512];
    for (;;) {
        ssize_t got = recv(c->fd, peeked, sizeof(peeked), MSG_PEEK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? WEFT_AGAIN : WEFT_ERROR;
        if (got == 0) {
            if (state->parser.total > 0)
                log_module_message(LOG_LEVEL_INFO, "remoteip",
                                   "%s closed the connection inside its PROXY header", c->peer_address);
            errno = 0;
            return WEFT_ERROR;
        }
        size_t used = 0;
        int rc = proxy_parse(&state->parser, peeked, (size_t)got, &used);
        if (rc == WEFT_ERROR) {
            log_module_message(LOG_LEVEL_INFO, "remoteip", "%s sent no valid PROXY header (%s): closing",
                               c->peer_address, state->parser.error);
            errno = EPROTO;
            return WEFT_ERROR;
        }
        /* The peeked bytes are still queued: take the header's share. */
        size_t consumed = 0;
        while (consumed < used) {
            ssize_t taken = recv(c->fd, peeked, used - consumed, 0);
            if (taken < 0 && errno == EINTR)
                continue;
            if (taken <= 0)
                return WEFT_ERROR;
            consumed += (size_t)taken;
        }
        if (rc == WEFT_OK)
            return WEFT_OK;
        if ((size_t)got < sizeof(peeked)) {
            errno = EAGAIN;  /* a short peek: the queue is empty, more raises an edge */
            return WEFT_AGAIN;
        }
    }
}

/* Plain TCP below: the header is read straight into the caller's buffer
 * and what follows it moved to the front, so that it costs no system call
 * of its own (read_header's peek and consume are two). */
static ssize_t read_in_place(connection *c, proxy_state *state, unsigned char *data, size_t length)
{
    for (;;) {
        ssize_t got = recv(c->fd, data, length, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0 && state->parser.total > 0)
                log_module_message(LOG_LEVEL_INFO, "remoteip",
                                   "%s closed the connection inside its PROXY header", c->peer_address);
            return got;  /* EAGAIN: wait; 0 or another error: the connection closes */
        }
        size_t used = 0;
        int rc = proxy_parse(&state->parser, data, (size_t)got, &used);
        if (rc == WEFT_ERROR) {
            log_module_message(LOG_LEVEL_INFO, "remoteip", "%s sent no valid PROXY header (%s): closing",
                               c->peer_address, state->parser.error);
            errno = EPROTO;
            return -1;
        }
        if (rc == WEFT_AGAIN) {
            if ((size_t)got < length) {
                errno = EAGAIN;  /* a short read: the queue is empty, more raises an edge */
                return -1;
            }
            continue;
        }
        size_t rest = (size_t)got - used;
        memmove(data, data + used, rest);
        use_header(c, state);
        unwrap(c);
        bool filled = (size_t)got == length;
        if (!filled && (rest > 0 || !c->peer_closed)) {
            if (rest > 0)
                return (ssize_t)rest;
            errno = EAGAIN;  /* nothing after the header yet, and the queue is empty */
            return -1;
        }
        /* The buffer was full (more may be queued), or the end of stream
         * the event loop reported sits behind the header. */
        ssize_t more = c->io->read(c, data + rest, length - rest);
        if (more > 0)
            return (ssize_t)rest + more;
        return rest > 0 ? (ssize_t)rest : more;
    }
}

static ssize_t proxy_read(connection *c, void *data, size_t length)
{
    proxy_state *state = c->io_context;
    if (state->below == &connection_plain_io)
        return read_in_place(c, state, data, length);
    int rc = read_header(c, state);
    if (rc == WEFT_AGAIN) {
        errno = EAGAIN;
        return -1;
    }
    if (rc == WEFT_ERROR) {
        /* Not EAGAIN: the connection layer closes, unanswered. */
        if (errno == 0 || errno == EAGAIN)
            errno = EPROTO;
        return -1;
    }
    use_header(c, state);
    unwrap(c);
    return c->io->read(c, data, length);
}

/* Nothing is written before the header has been read; should a layer above
 * try (a lingering close), it goes to the layer below. */
static ssize_t proxy_writev(connection *c, const struct iovec *vectors, int count, bool more_follows)
{
    unwrap(c);
    return c->io->writev(c, vectors, count, more_follows);
}

static int proxy_shutdown(connection *c)
{
    unwrap(c);
    return c->io->shutdown ? c->io->shutdown(c) : shutdown(c->fd, SHUT_WR);
}

static void proxy_close(connection *c)
{
    unwrap(c);
    c->io->close(c);
}

static const connection_io proxy_io = {
    .read = proxy_read,
    .writev = proxy_writev,
    .shutdown = proxy_shutdown,
    .close = proxy_close,
};

static bool address_listed(const char *address, const remoteip_proxy *list, int count)
{
    int family;
    unsigned char bytes[16];
    if (!count || !ip_address_parse(address, &family, bytes))
        return false;
    for (int i = 0; i < count; i++)
        if (ip_network_contains(&list[i].network, family, bytes))
            return true;
    return false;
}

static int remoteip_connection_open(connection *c)
{
    const remoteip_listeners *table = remoteip_settings(c->server)->listeners;
    if (!table)
        return WEFT_DECLINED;
    listener_kind kind = c->listen_index >= 0 && c->listen_index < table->count ? table->kinds[c->listen_index]
                                                                                 : LISTENER_BY_ADDRESS;
    if (kind == LISTENER_NO_PROXY ||
        (kind == LISTENER_BY_ADDRESS &&
         !proxy_required(c->server, table, connection_local_address(c), connection_local_port(c))))
        return WEFT_DECLINED;
    if (address_listed(c->peer_address, table->exceptions.items, table->exceptions.count))
        return WEFT_DECLINED;
    proxy_state *state = malloc(sizeof(*state));
    if (!state) {
        log_message(LOG_LEVEL_ERROR, "remoteip: out of memory for a connection from %s", c->peer_address);
        return WEFT_ERROR;
    }
    proxy_parser_init(&state->parser);
    state->below = c->io;
    state->below_context = c->io_context;
    c->io = &proxy_io;
    c->io_context = state;
    c->proxy_protocol = true;
    return WEFT_OK;
}

/* ---- configuration ---------------------------------------------------------- */

/* RemoteIPTrustedProxy and RemoteIPInternalProxy (and their -List forms)
 * append to one list, as in Apache, where each entry remembers which kind
 * it is. */
static int add_proxy(config_parse *parse, const config_directive *d, void *target, const char *word,
                     bool internal, const char *file)
{
    remoteip_proxy_list *list = target;
    ip_network network;
    if (!ip_network_parse(word, &network))
        return config_error(parse, "%s: '%s' is not an IP address or network (weft resolves no host names)",
                            d->name, word);
    if (list->count == list->capacity) {
        int capacity = list->capacity ? list->capacity * 2 : 8;
        remoteip_proxy *grown = pool_alloc(config_pool(parse), sizeof(*grown) * (size_t)capacity);
        if (list->count)
            memcpy(grown, list->items, sizeof(*grown) * (size_t)list->count);
        list->items = grown;
        list->capacity = capacity;
    }
    list->items[list->count++] = (remoteip_proxy){ .network = network, .internal = internal, .file = file };
    return WEFT_OK;
}

static bool is_internal_row(const config_directive *d)
{
    return strncasecmp(d->name, "RemoteIPInternal", 16) == 0;
}

static int set_proxies(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (add_proxy(parse, d, target, argv[i], is_internal_row(d), NULL) != WEFT_OK)
            return WEFT_ERROR;
    return WEFT_OK;
}

/* A file of addresses and networks, any number a line, '#' to the end of
 * the line a comment (Apache's RemoteIP*ProxyList). */
static int set_proxy_list(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    (void)argc;
    const char *path = config_resolve_path(parse, argv[0]);
    const char *written = pool_strdup(config_pool(parse), argv[0]);
    FILE *file = fopen(path, "r");
    if (!file)
        return config_error(parse, "%s: cannot open %s: %s", d->name, path, strerror(errno));
    char line[1024];
    int number = 0;
    int result = WEFT_OK;
    while (result == WEFT_OK && fgets(line, sizeof(line), file)) {
        number++;
        char *comment = strchr(line, '#');
        if (comment)
            *comment = '\0';
        for (char *save = NULL, *word = strtok_r(line, " \t\r\n", &save); word && result == WEFT_OK;
             word = strtok_r(NULL, " \t\r\n", &save)) {
            ip_network network;
            if (!ip_network_parse(word, &network))
                result = config_error(parse, "%s: '%s' at line %d of %s is not an IP address or network",
                                      d->name, word, number, path);
            else
                result = add_proxy(parse, d, target, word, is_internal_row(d), written);
        }
    }
    fclose(file);
    return result;
}

static int set_header_name(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    for (const char *c = argv[0]; *c; c++)
        if (*c <= ' ' || *c == ':' || *c >= 0x7f)
            return config_error(parse, "%s: '%s' is not a header field name", d->name, argv[0]);
    return config_set_string(parse, d, target, argc, argv);
}

/* DUMP_CONFIG: each row shows its own entries (the rows share one list):
 * the inline ones as networks, the -List ones as their files. */
static void format_proxies(FILE *out, const config_directive *d, const void *base)
{
    const remoteip_proxy_list *list = (const remoteip_proxy_list *)((const char *)base + d->offset);
    bool exceptions = strcasecmp(d->name, "RemoteIPProxyProtocolExceptions") == 0;
    bool from_files = !exceptions && strcasecmp(d->name + strlen(d->name) - 4, "List") == 0;
    bool internal = is_internal_row(d);
    const char *words[256];
    char texts[256][INET6_ADDRSTRLEN + 4];
    int count = 0;
    for (int i = 0; i < list->count && count < 256; i++) {
        const remoteip_proxy *entry = &list->items[i];
        if (!exceptions && (entry->internal != internal || (entry->file != NULL) != from_files))
            continue;
        if (from_files) {
            bool seen = false;
            for (int j = 0; j < count && !seen; j++)
                seen = strcmp(words[j], entry->file) == 0;
            if (!seen)
                words[count++] = entry->file;
            continue;
        }
        char address[INET6_ADDRSTRLEN];
        if (!inet_ntop(entry->network.family, entry->network.address, address, sizeof(address)))
            continue;
        snprintf(texts[count], sizeof(texts[count]), "%s/%d", address, entry->network.prefix);
        words[count] = texts[count];
        count++;
    }
    if (from_files)
        for (int i = 0; i < count; i++)
            config_dump_line(out, d, 1, &words[i]);
    else if (count)
        config_dump_line(out, d, count, words);
}

#define FIELD(field) .scope = SCOPE_SERVER, .offset = offsetof(remoteip_config, field), \
                     .size = sizeof(((remoteip_config *)0)->field)

static const config_directive remoteip_directives[] = {
    { .name = "RemoteIPHeader", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(header), .min_args = 1,
      .max_args = 1, .set = set_header_name, .format = config_format_string, .syntax = "header-field",
      .help = "the request header field (X-Forwarded-For, X-Real-IP) whose addresses, walked from the right "
              "over trusted proxies, name the client" },
    { .name = "RemoteIPProxiesHeader", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(proxies_header),
      .min_args = 1, .max_args = 1, .set = set_header_name, .format = config_format_string, .syntax = "header-field",
      .help = "a request header field that receives the trusted proxies the walk went through" },
    { .name = "RemoteIPTrustedProxy", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(proxies), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_proxies, .format = format_proxies, .syntax = "address|network ...",
      .help = "proxies trusted to report the client in RemoteIPHeader, which must then be a public address" },
    { .name = "RemoteIPInternalProxy", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(proxies), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_proxies, .format = format_proxies, .syntax = "address|network ...",
      .help = "internal proxies, trusted to report any client address in RemoteIPHeader, private ones too" },
    { .name = "RemoteIPTrustedProxyList", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(proxies), .min_args = 1,
      .max_args = 1, .set = set_proxy_list, .format = format_proxies, .syntax = "file",
      .help = "RemoteIPTrustedProxy for each address or network in a file ('#' starts a comment)" },
    { .name = "RemoteIPInternalProxyList", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(proxies), .min_args = 1,
      .max_args = 1, .set = set_proxy_list, .format = format_proxies, .syntax = "file",
      .help = "RemoteIPInternalProxy for each address or network in a file ('#' starts a comment)" },
    { .name = "RemoteIPProxyProtocol", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(proxy_protocol),
      .min_args = 1, .max_args = 1, .set = config_set_flag, .default_value = "Off", .syntax = "On|Off",
      .help = "connections to this server's addresses must begin with a PROXY protocol header (v1 or v2), "
              "whose source becomes the client; without one they are closed" },
    { .name = "RemoteIPProxyProtocolExceptions", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(exceptions),
      .min_args = 1, .max_args = ARGS_UNLIMITED, .set = set_proxies, .format = format_proxies, .syntax = "address|network ...",
      .help = "peers that need not send a PROXY header where RemoteIPProxyProtocol is On" },
    { .name = NULL },
};

#undef FIELD

const module remoteip_module = {
    .name = "remoteip",
    .directives = remoteip_directives,
    .server_config_size = sizeof(remoteip_config),
    .config_complete = remoteip_config_complete,
    .connection_open = remoteip_connection_open,
    .post_read = remoteip_post_read,
};
