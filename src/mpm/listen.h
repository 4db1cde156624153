/*
 * listen.h — the listening sockets, a set that lives as long as the control
 * process and survives restarts (reference 3.7).
 *
 * A (re)configuration is applied in two steps so that a graceful restart
 * that cannot bind a new address changes nothing:
 *   listen_prepare(server)  every configured address gets a socket: the
 *                           already-bound one when the address was in the
 *                           current set (pending connections stay in its
 *                           backlog), a new one otherwise
 *   listen_commit()         the prepared set becomes current; sockets for
 *                           addresses no longer configured are closed
 *   listen_rollback()       the new sockets are closed, the current set stays
 * Sockets are non-blocking and close-on-exec (children inherit them through
 * fork, CGI programs never see them), SO_REUSEADDR, IPV6_V6ONLY for IPv6,
 * SO_SNDBUF/SO_RCVBUF when SendBufferSize/ReceiveBufferSize are set, and
 * listen(ListenBacklog).
 *
 * Control process only; not thread-safe.
 */
#ifndef WEFT_MPM_LISTEN_H
#define WEFT_MPM_LISTEN_H

#include "../core/server.h"

/* WEFT_OK, or WEFT_ERROR with a sentence in error, e.g. "could not bind to
 * address 127.0.0.1:80: Permission denied" (the new sockets of this attempt
 * are already closed then, as by listen_rollback). */
int listen_prepare(const server_config *server, char *error, size_t error_size);
void listen_commit(void);
void listen_rollback(void);

/* The current set in configuration order (valid until the next commit or
 * close); *count is set. */
const int *listen_fds(int *count);

/* A listening socket handed over (systemd's LISTEN_FDS, a binary upgrade):
 * the next listen_prepare uses it for a Listen of its address instead of
 * binding one; the commit after closes the ones no Listen took. */
void listen_adopt(int fd);
int listen_inherited_count(void);

/* Closes every socket (graceful stop, shutdown, and in children that stop
 * accepting is the child's business with its own copies). */
void listen_close_all(void);

/* "127.0.0.1:80" / "[::1]:8080" for an address, into out. */
void listen_format_address(const struct sockaddr *address, char *out, size_t size);

#endif
