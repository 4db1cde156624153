/*
 * ssl_vars.h — what requests see of TLS (module "ssl_vars"): mod_ssl's
 * environment variables (HTTPS, SSL_PROTOCOL, SSL_CLIENT_S_DN_CN, ...) for
 * expressions, LogFormat's %{NAME}x, Header's %{NAME}s and CGI;
 * SSLOptions, SSLRequire, SSLRequireSSL and SSLUserName.
 *
 * The variables are computed from the connection's SSL (ssl.h's
 * ssl_connection_handle) when asked, never stored: a request that asks for
 * none pays nothing.  Values are mod_ssl 2.4's, in its formats: DNs as
 * OpenSSL's RFC 2253 output ("CN=alice,O=Example,C=DE", most specific RDN
 * first; "/C=DE/O=Example/CN=alice" with +LegacyDNStringFormat), serials in
 * upper-case hex, times as "Dec  7 22:00:00 2026 GMT".
 *
 * The functions below take the SSL itself so that a unit test can drive
 * them over an in-memory handshake (ssl_vars_lookup.c).
 */
#ifndef WEFT_MODULES_SSL_VARS_H
#define WEFT_MODULES_SSL_VARS_H

#include <openssl/ssl.h>

#include "../core/pool.h"

/* SSLOptions bits. */
enum {
    SSL_OPTION_STD_ENV_VARS = 1u << 0,
    SSL_OPTION_EXPORT_CERT_DATA = 1u << 1,
    SSL_OPTION_FAKE_BASIC_AUTH = 1u << 2,
    SSL_OPTION_STRICT_REQUIRE = 1u << 3,
    SSL_OPTION_OPT_RENEGOTIATE = 1u << 4,
    SSL_OPTION_LEGACY_DN_STRING_FORMAT = 1u << 5,
};

/* The value of mod_ssl's variable `name` for a connection whose TLS session
 * is ssl (NULL: plain TCP), allocated from p; NULL when it is unset there or
 * not one of mod_ssl's.  HTTPS is "on"/"off"; SSL_VERSION_LIBRARY and
 * SSL_VERSION_INTERFACE are known also without TLS. */
const char *ssl_vars_lookup(pool *p, SSL *ssl, const char *name, unsigned options);

/* A distinguished name as mod_ssl prints it (see above). */
char *ssl_vars_dn_text(pool *p, const X509_NAME *name, bool legacy);

/* SSLOptions +StdEnvVars and +ExportCertData: calls add(context, name,
 * value) for every variable mod_ssl's fixup puts into the environment of
 * this TLS session (none with neither option). */
typedef void ssl_vars_add(void *context, const char *name, const char *value);
void ssl_vars_environment(pool *p, SSL *ssl, unsigned options, ssl_vars_add *add, void *context);

/* SSLRequire's expression (mod_ssl's older language: eq, ne, in {...},
 * =~ m#re#, and, or, !, file() ...) rewritten into Apache's expression
 * language (core/expr.h): eq/ne become ==/!=, which compare strings as
 * mod_ssl's do; <, <=, >, >=, lt .. ge become -lt .. -ge (numbers, which
 * is what mod_ssl's length-first ordering gives for them).  NULL with a
 * reason in error for what weft cannot take (file(), PeerExtList()). */
char *ssl_require_to_expr(pool *p, const char *text, char *error, size_t error_size);

#endif
