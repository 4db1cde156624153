/*
 * ssl.h — TLS: mod_ssl's directives on OpenSSL 3 (module "ssl").
 *
 * Contract for the other TLS modules (ssl_session, ssl_stapling, ssl_vars):
 *  - Every server_config (the main server and each vhost) with SSLEngine on
 *    has one SSL_CTX, built in the control process while the configuration
 *    is read (keys are read before the children drop privileges), with all
 *    its certificate pairs (RSA and ECDSA side by side) loaded.  A vhost
 *    that sets no TLS directive of its own shares the main server's.
 *  - The contexts are complete when the ssl module's config_complete hook
 *    has run; modules listed after it in modules.c may then attach
 *    callbacks to them in their own config_complete.  They live as long as
 *    the configuration (freed with its pool).
 *  - A TLS connection's c->io_context is its SSL; the SNI callback may move
 *    it to another vhost's SSL_CTX (SSL_set_SSL_CTX).
 */
#ifndef WEFT_MODULES_SSL_H
#define WEFT_MODULES_SSL_H

#include <openssl/ssl.h>

#include "../core/server.h"

struct connection;

/* The TLS context of a server with SSLEngine on (or of a vhost inheriting
 * it), NULL otherwise. */
SSL_CTX *ssl_server_context(const server_config *server);

/* The connection's TLS session; NULL for plain TCP. */
SSL *ssl_connection_handle(const struct connection *c);

/* The server_config whose certificate the client got (SNI's choice, or the
 * listener's default), NULL for plain TCP. */
const server_config *ssl_connection_server(const struct connection *c);

#endif
