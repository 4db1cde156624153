/*
 * ssl_internal.h — what ssl.c (configuration, contexts) and ssl_io.c (the
 * TLS connection_io, SNI, the handshake in the event loop) share.
 */
#ifndef WEFT_MODULES_SSL_INTERNAL_H
#define WEFT_MODULES_SSL_INTERNAL_H

#include <openssl/ssl.h>

#include "../core/config.h"
#include "../core/module.h"
#include "ssl.h"

/* A file named by a directive, with where it was named (errors found while
 * loading it point there). */
typedef struct {
    const char *path;
    const char *file;
    int line;
} ssl_file_reference;

typedef struct {
    ssl_file_reference *items;
    int count;
} ssl_file_list;

typedef enum {
    SSL_VERIFY_CLIENT_NONE,
    SSL_VERIFY_CLIENT_OPTIONAL,
    SSL_VERIFY_CLIENT_REQUIRE,
    SSL_VERIFY_CLIENT_OPTIONAL_NO_CA,
} ssl_verify_client;

/* SSLProtocol as bits. */
enum {
    SSL_PROTOCOL_TLS1 = 1 << 0,
    SSL_PROTOCOL_TLS1_1 = 1 << 1,
    SSL_PROTOCOL_TLS1_2 = 1 << 2,
    SSL_PROTOCOL_TLS1_3 = 1 << 3,
};
#define SSL_PROTOCOL_ALL (SSL_PROTOCOL_TLS1 | SSL_PROTOCOL_TLS1_1 | SSL_PROTOCOL_TLS1_2 | SSL_PROTOCOL_TLS1_3)

typedef struct {
    const char *tls12;  /* OpenSSL cipher list for TLS 1.2 and below; NULL = the default */
    const char *tls13;  /* TLS 1.3 cipher suites; NULL = OpenSSL's */
} ssl_cipher_setting;

typedef struct {
    const char *name;
    const char *value;
    const char *file;
    int line;
} ssl_conf_command;

typedef struct {
    ssl_conf_command *items;
    int count;
} ssl_conf_command_list;

/* The module's server config (one per server_config: main and vhosts). */
typedef struct {
    bool on;
    const char *file;  /* where SSLEngine On was written */
    int line;
} ssl_engine_setting;

typedef struct {
    ssl_engine_setting engine;            /* SSLEngine */
    ssl_file_list certificates;           /* SSLCertificateFile, in order */
    ssl_file_list keys;                   /* SSLCertificateKeyFile, paired by position */
    ssl_file_reference chain;             /* SSLCertificateChainFile */
    ssl_file_reference ca_file;           /* SSLCACertificateFile */
    ssl_file_reference ca_path;           /* SSLCACertificatePath */
    int verify_client;                    /* ssl_verify_client */
    int verify_depth;
    unsigned protocols;                   /* SSL_PROTOCOL_* */
    ssl_cipher_setting ciphers;
    bool honor_cipher_order;
    bool compression;
    bool strict_sni;                      /* SSLStrictSNIVHostCheck */
    ssl_conf_command_list conf_commands;  /* SSLOpenSSLConfCmd */
    const char *pass_phrase_dialog;       /* "builtin" or "exec:/path" (main server only) */

    /* Derived by post_config/vhost_config. */
    SSL_CTX *context;
    /* The context's ciphers as OpenSSL ended up with them (after
     * SSLCipherSuite and SSLOpenSSLConfCmd): TLS 1.2 and below, and TLS
     * 1.3, as cipher-list texts.  SSL_set_SSL_CTX keeps the ones a
     * connection started with, so SNI applies these to it (ssl_io.c). */
    const char *cipher_list;
    const char *cipher_suites;
    /* Derived by config_complete, in the main server's struct only: which
     * listeners speak TLS (ssl_io.c). */
    struct ssl_listener_table *listeners;
} ssl_server_config;

extern const module ssl_module;

static inline const ssl_server_config *ssl_settings(const server_config *server)
{
    return module_server_config(server, &ssl_module);
}

/* ssl.c: builds config's context (NULL when SSLEngine is off); WEFT_ERROR
 * after config_error_at.  The context belongs to the configuration's pool. */
int ssl_build_context(config_parse *parse, const server_config *main, server_config *server);

/* ssl_io.c */
void ssl_io_prepare_context(SSL_CTX *context);  /* SNI and ALPN callbacks */
int ssl_connection_open(struct connection *c);
int ssl_post_read(struct request *r);
int ssl_config_complete(config_parse *parse, server_config *main);

#endif
