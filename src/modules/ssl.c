/*
 * ssl.c — TLS configuration (see ssl.h).  Work in progress.
 */
#include "ssl.h"

#include "../core/module.h"
#include "../http/connection.h"

SSL_CTX *ssl_server_context(const server_config *server)
{
    (void)server;
    return NULL;
}

SSL *ssl_connection_handle(const struct connection *c)
{
    return c->io_context;
}

const server_config *ssl_connection_server(const struct connection *c)
{
    (void)c;
    return NULL;
}

const module ssl_module = {
    .name = "ssl",
};
