/*
 * listen.c — the process-lifetime set of listening sockets (see listen.h).
 *
 * TCP_DEFER_ACCEPT is deliberately not set: it hides connections from
 * epoll until data arrives, which changes nothing measurable for HTTP and
 * makes idle-connection behaviour harder to reason about.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"

typedef struct {
    struct sockaddr_storage address;
    socklen_t address_length;
    int fd;
    bool reused;   /* in the pending set: taken over from the current set */
} listener;

typedef struct {
    listener *items;
    int count;
    int *fds;
} listener_set;

static listener_set current;
static listener_set pending;
/* Sockets handed to us (systemd, a binary upgrade): a configured address
 * takes its socket from here instead of binding; the next commit closes
 * those nobody took. */
static listener_set inherited;

void listen_format_address(const struct sockaddr *address, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)address;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
    } else if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)address;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(out, size, "(address family %d)", address->sa_family);
    }
}

/* Same family, port and address (and scope for IPv6). */
static bool same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}

/* Options of the listening socket, set on new and reused ones.  Accepted
 * sockets inherit buffer sizes and TCP_NODELAY from it, so these cost
 * nothing per connection.  TCP_NODELAY because a response goes out in one
 * writev, or in full-sized pieces: Nagle's delay would only hold back its
 * last part. */
static void apply_socket_options(int fd, const server_config *server)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* AcceptFilter http data: the kernel hands over a connection once its
     * request bytes are there, so accept() is followed by a recv() that
     * finds them instead of a park in epoll; a client silent for this long
     * is handed over anyway (RequestReadTimeout then applies).  Apache uses
     * the same 30 s.  Set or cleared: a restart may change it. */
    int defer_seconds = server->accept_filter == ACCEPT_FILTER_NONE ? 0 : 30;
    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof(defer_seconds));
    if (server->send_buffer_size > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &server->send_buffer_size, sizeof(int));
    if (server->receive_buffer_size > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &server->receive_buffer_size, sizeof(int));
}

static int backlog_of(const server_config *server)
{
    return server->listen_backlog > 0 ? server->listen_backlog : 511;
}

static int open_socket(const listen_address *address, const server_config *server, char *error,
                       size_t error_size)
{
    char text[INET6_ADDRSTRLEN + 16];
    listen_format_address((const struct sockaddr *)&address->address, text, sizeof text);
    int family = address->address.ss_family;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(error, error_size, "could not create a socket for address %s: %s", text,
                 strerror(errno));
        return -1;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)) {
        snprintf(error, error_size, "could not set socket options for address %s: %s", text,
                 strerror(errno));
        close(fd);
        return -1;
    }
    apply_socket_options(fd, server);
    if (bind(fd, (const struct sockaddr *)&address->address, address->address_length) != 0) {
        snprintf(error, error_size, "could not bind to address %s: %s", text, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, backlog_of(server)) != 0) {
        snprintf(error, error_size, "could not listen on address %s: %s", text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void free_set(listener_set *set)
{
    free(set->items);
    free(set->fds);
    memset(set, 0, sizeof *set);
}

static void close_unreused(listener_set *set)
{
    for (int i = 0; i < set->count; i++)
        if (!set->items[i].reused && set->items[i].fd >= 0)
            close(set->items[i].fd);
}

int listen_prepare(const server_config *server, char *error, size_t error_size)
{
    listen_rollback();
    pending.items = xcalloc((size_t)(server->listen_count ? server->listen_count : 1), sizeof(listener));
    pending.fds = xcalloc((size_t)(server->listen_count ? server->listen_count : 1), sizeof(int));

    for (int i = 0; i < server->listen_count; i++) {
        const listen_address *address = &server->listens[i];
        bool duplicate = false;
        for (int j = 0; j < pending.count; j++)
            duplicate = duplicate || same_address(&pending.items[j].address, &address->address);
        if (duplicate)
            continue;  /* the configuration engine reports it; one socket is enough */

        listener *entry = &pending.items[pending.count];
        memcpy(&entry->address, &address->address, sizeof entry->address);
        entry->address_length = address->address_length;
        entry->fd = -1;
        for (int j = 0; j < current.count; j++) {
            if (same_address(&current.items[j].address, &address->address)) {
                entry->fd = current.items[j].fd;
                entry->reused = true;
                /* A new backlog or buffer size applies to the old socket too;
                 * listen() on a listening socket only changes the backlog. */
                apply_socket_options(entry->fd, server);
                listen(entry->fd, backlog_of(server));
                break;
            }
        }
        for (int j = 0; j < inherited.count && entry->fd < 0; j++) {
            if (inherited.items[j].fd >= 0 && same_address(&inherited.items[j].address, &address->address)) {
                entry->fd = inherited.items[j].fd;
                entry->reused = true;  /* not ours to close on rollback: it goes back to the pool */
                apply_socket_options(entry->fd, server);
                listen(entry->fd, backlog_of(server));
            }
        }
        if (entry->fd < 0) {
            entry->fd = open_socket(address, server, error, error_size);
            if (entry->fd < 0) {
                listen_rollback();
                return WEFT_ERROR;
            }
        }
        pending.fds[pending.count++] = entry->fd;
    }
    return WEFT_OK;
}

void listen_commit(void)
{
    for (int i = 0; i < current.count; i++) {
        bool kept = false;
        for (int j = 0; j < pending.count && !kept; j++)
            kept = pending.items[j].reused && pending.items[j].fd == current.items[i].fd;
        if (!kept)
            close(current.items[i].fd);
    }
    free_set(&current);
    for (int i = 0; i < inherited.count; i++) {
        bool taken = false;
        for (int j = 0; j < pending.count && !taken; j++)
            taken = pending.items[j].fd == inherited.items[i].fd;
        if (!taken) {
            char text[INET6_ADDRSTRLEN + 16];
            listen_format_address((const struct sockaddr *)&inherited.items[i].address, text, sizeof text);
            log_message(LOG_LEVEL_WARN, "an inherited listening socket (%s) matches no Listen: closed", text);
            close(inherited.items[i].fd);
        }
    }
    free_set(&inherited);
    current = pending;
    for (int i = 0; i < current.count; i++)
        current.items[i].reused = false;
    memset(&pending, 0, sizeof pending);
}

void listen_rollback(void)
{
    close_unreused(&pending);
    free_set(&pending);
}

const int *listen_fds(int *count)
{
    *count = current.count;
    return current.fds;
}

void listen_adopt(int fd)
{
    listener entry = { .fd = fd, .address_length = sizeof entry.address };
    if (getsockname(fd, (struct sockaddr *)&entry.address, &entry.address_length) != 0) {
        close(fd);
        return;
    }
    inherited.items = xrealloc(inherited.items, sizeof(listener) * (size_t)(inherited.count + 1));
    inherited.items[inherited.count++] = entry;
}

int listen_inherited_count(void)
{
    return inherited.count;
}

void listen_close_all(void)
{
    listen_rollback();
    for (int i = 0; i < inherited.count; i++)
        close(inherited.items[i].fd);
    free_set(&inherited);
    for (int i = 0; i < current.count; i++)
        close(current.items[i].fd);
    free_set(&current);
}
