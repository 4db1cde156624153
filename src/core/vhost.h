/*
 * vhost.h — virtual hosts: <VirtualHost> sections, how each inherits from
 * the main server, which one answers a request, and `weft -S`.
 *
 * Configuration: <VirtualHost addr[:port] ...> with addr one of "*",
 * "_default_" (the same as "*", as in Apache 2.4), an IPv4 address or a
 * bracketed IPv6 address; port a number or "*", any port when left out.
 * Host names are refused (weft makes no DNS lookups).  Inside: ServerName,
 * ServerAlias (wildcards * and ?) and every directive whose row allows
 * CONTEXT_VHOST.  Each vhost becomes a complete server_config (config.h
 * says how it inherits); the MPM and other server-only directives stay
 * global.
 *
 * Selection (per request, Apache 2.4's rules): among the vhosts listed
 * with the address:port that best matches the connection's local address
 * (exact address beats "*", exact port beats any port), the first whose
 * ServerName or ServerAlias matches the request's host (case-insensitive,
 * port and a trailing dot ignored); none matches, or no host: the first of
 * them, the default.  No address matches: the main server.  It allocates
 * nothing and makes no system call beyond the connection's one cached
 * getsockname (only when some vhost names an address or a port).
 */
#ifndef WEFT_CORE_VHOST_H
#define WEFT_CORE_VHOST_H

#include <stdio.h>

#include "config.h"
#include "server.h"

/* For the configuration engine: the <VirtualHost> line (a new vhost in
 * main's table; returns the struct its directives write to, or NULL after
 * config_error), and building every vhost once the main server is
 * complete (WEFT_OK, or WEFT_ERROR after config_error). */
server_config *vhost_open(config_parse *parse, int argc, char **argv);
int vhost_build_all(config_parse *parse, server_config *main);

/* The vhosts of the main server, in file order. */
int vhost_count(const server_config *main);
server_config *vhost_server(const server_config *main, int index);

/* Does vhost_select need the connection's local address and port? */
bool vhost_needs_local_address(const server_config *main);
/* The server_config that answers: host is the Host field value (or the
 * absolute-form target's authority), NULL if none; local_address is the
 * text form ("127.0.0.1", "::1", "::ffff:127.0.0.1"), NULL if unknown. */
const server_config *vhost_select(const server_config *main, const char *local_address, int local_port,
                                  const char *host, size_t host_length);

/* The host name in a Host value: without port, brackets or trailing dot.
 * Returns its length and sets *name. */
size_t vhost_host_name(const char *host, size_t length, const char **name);
/* Case-insensitive match of name[0..length) against a pattern with * and ?. */
bool vhost_name_matches(const char *pattern, const char *name, size_t length);

/* `weft -S`: the vhost table and the main settings, in httpd -S's layout. */
void vhost_dump(FILE *out, const server_config *main, const char *const *defines, int define_count);

#endif
