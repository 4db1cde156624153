/*
 * ssl_vars.c — unit tests for modules/ssl_vars_lookup.c: mod_ssl's
 * variables read from a real TLS 1.3 session (an in-memory handshake over a
 * BIO pair, with a CA, a server and a client certificate made here with the
 * OpenSSL API), DN formatting (RFC 2253 and the legacy form), the
 * environment of +StdEnvVars / +ExportCertData, and SSLRequire's language
 * rewritten into weft's expressions and evaluated.
 */
#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/regex.c"
#include "../../src/core/expr.c"
#include "../../src/core/expr_eval.c"
#include "../../src/core/network.c"
#include "../../src/modules/ssl_vars_lookup.c"
#include "ssl_fixture.h"
#include "tap.h"

#include <openssl/err.h>

static pool *test_pool;

typedef struct {
    int count;
    const char *names[128];
    const char *values[128];
} collected;

static void collect(void *context, const char *name, const char *value)
{
    collected *c = context;
    if (c->count < 128) {
        c->names[c->count] = name;
        c->values[c->count++] = value;
    }
}

static const char *collected_value(const collected *c, const char *name)
{
    for (int i = 0; i < c->count; i++)
        if (strcmp(c->names[i], name) == 0)
            return c->values[i];
    return NULL;
}

static int count_prefix(const collected *c, const char *prefix)
{
    int count = 0;
    for (int i = 0; i < c->count; i++)
        count += strncmp(c->names[i], prefix, strlen(prefix)) == 0;
    return count;
}

static int accept_any(int good, X509_STORE_CTX *store)
{
    return 1;
}

static void test_session(void)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *server_key = EVP_EC_gen("P-256");
    EVP_PKEY *client_key = EVP_EC_gen("P-256");
    static const char *const ca_subject[] = { "C", "DE", "O", "Example CA", "CN", "Example Root", NULL };
    static const char *const server_subject[] = { "C", "DE", "ST", "Berlin", "L", "Berlin", "O", "Snake Oil, Ltd.",
                                                  "CN", "www.example.test", NULL };
    static const char *const client_subject[] = { "C", "DE", "O", "Example", "OU", "Staff", "OU", "Dev",
                                                  "CN", "alice", "emailAddress", "alice@example.test", NULL };
    X509 *ca = make_certificate(ca_key, ca_subject, NULL, NULL, 1, NULL);
    X509 *server_certificate = make_certificate(server_key, server_subject, ca, ca_key, 0x1234,
                                                "DNS:www.example.test,DNS:example.test");
    X509 *client_certificate = make_certificate(client_key, client_subject, ca, ca_key, 0xABCDEF,
                                                "email:alice@example.test,DNS:alice.example.test");

    SSL_CTX *server_context = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(server_context, server_certificate);
    SSL_CTX_use_PrivateKey(server_context, server_key);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(server_context), ca);
    SSL_CTX_set_verify(server_context, SSL_VERIFY_PEER, NULL);
    SSL_CTX *client_context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_use_certificate(client_context, client_certificate);
    SSL_CTX_use_PrivateKey(client_context, client_key);

    SSL *server = SSL_new(server_context);
    SSL *client = SSL_new(client_context);
    BIO *server_bio, *client_bio;
    BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
    SSL_set_bio(server, server_bio, server_bio);
    SSL_set_bio(client, client_bio, client_bio);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    SSL_set_tlsext_host_name(client, "www.example.test");
    bool done = handshake(server, client);
    ok(done, "a TLS handshake with a client certificate in memory");
    if (!done) {
        ERR_print_errors_fp(stdout);
        return;
    }

    pool *p = test_pool;
    is_string(ssl_vars_lookup(p, server, "HTTPS", 0), "on", "HTTPS on over TLS");
    is_string(ssl_vars_lookup(p, NULL, "HTTPS", 0), "off", "HTTPS off without");
    is_string(ssl_vars_lookup(p, NULL, "SSL_PROTOCOL", 0), NULL, "no SSL_PROTOCOL without TLS");
    is_string(ssl_vars_lookup(p, server, "SSL_PROTOCOL", 0), "TLSv1.3", "SSL_PROTOCOL");
    const char *cipher = ssl_vars_lookup(p, server, "SSL_CIPHER", 0);
    ok(cipher && strncmp(cipher, "TLS_", 4) == 0, "SSL_CIPHER is a TLS 1.3 suite (%s)", cipher ? cipher : "null");
    const char *bits = ssl_vars_lookup(p, server, "SSL_CIPHER_USEKEYSIZE", 0);
    ok(bits && (strcmp(bits, "128") == 0 || strcmp(bits, "256") == 0), "SSL_CIPHER_USEKEYSIZE (%s)",
       bits ? bits : "null");
    is_string(ssl_vars_lookup(p, server, "SSL_CIPHER_ALGKEYSIZE", 0), bits, "SSL_CIPHER_ALGKEYSIZE");
    is_string(ssl_vars_lookup(p, server, "SSL_CIPHER_EXPORT", 0), "false", "SSL_CIPHER_EXPORT");
    is_string(ssl_vars_lookup(p, server, "SSL_SESSION_RESUMED", 0), "Initial", "SSL_SESSION_RESUMED");
    const char *id = ssl_vars_lookup(p, server, "SSL_SESSION_ID", 0);
    ok(id && strlen(id) == 64 && strspn(id, "0123456789ABCDEF") == 64, "SSL_SESSION_ID: 32 bytes in upper-case hex");
    is_string(ssl_vars_lookup(p, server, "SSL_TLS_SNI", 0), "www.example.test", "SSL_TLS_SNI");
    const char *library = ssl_vars_lookup(p, NULL, "SSL_VERSION_LIBRARY", 0);
    ok(library && strncmp(library, "OpenSSL/3.", 10) == 0 && !strchr(library, ' '), "SSL_VERSION_LIBRARY (%s)",
       library ? library : "null");
    is_string(ssl_vars_lookup(p, NULL, "SSL_VERSION_INTERFACE", 0), WEFT_NAME "/" WEFT_VERSION,
              "SSL_VERSION_INTERFACE");

    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_VERIFY", 0), "SUCCESS", "SSL_CLIENT_VERIFY");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN", 0),
              "emailAddress=alice@example.test,CN=alice,OU=Dev,OU=Staff,O=Example,C=DE",
              "SSL_CLIENT_S_DN: RFC 2253, most specific first");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN", SSL_OPTION_LEGACY_DN_STRING_FORMAT),
              "/C=DE/O=Example/OU=Staff/OU=Dev/CN=alice/emailAddress=alice@example.test",
              "SSL_CLIENT_S_DN with LegacyDNStringFormat");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_I_DN", 0), "CN=Example Root,O=Example CA,C=DE",
              "SSL_CLIENT_I_DN");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN_CN", 0), "alice", "SSL_CLIENT_S_DN_CN");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN_OU", 0), "Staff", "SSL_CLIENT_S_DN_OU: the first");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN_OU_1", 0), "Dev", "SSL_CLIENT_S_DN_OU_1: the second");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN_OU_2", 0), NULL, "SSL_CLIENT_S_DN_OU_2: none");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN_Email", 0), "alice@example.test", "SSL_CLIENT_S_DN_Email");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN_emailAddress", 0), "alice@example.test",
              "SSL_CLIENT_S_DN_emailAddress");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN_L", 0), NULL, "SSL_CLIENT_S_DN_L: not in the DN");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN_XX", 0), NULL, "an unknown attribute");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_I_DN_O", 0), "Example CA", "SSL_CLIENT_I_DN_O");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_M_SERIAL", 0), "ABCDEF", "SSL_CLIENT_M_SERIAL: hex");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_M_VERSION", 0), "3", "SSL_CLIENT_M_VERSION");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_V_REMAIN", 0), "30", "SSL_CLIENT_V_REMAIN: days");
    const char *end = ssl_vars_lookup(p, server, "SSL_CLIENT_V_END", 0);
    ok(end && strlen(end) == 24 && strcmp(end + 21, "GMT") == 0, "SSL_CLIENT_V_END: \"Mon DD HH:MM:SS YYYY GMT\" (%s)",
       end ? end : "null");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_A_KEY", 0), "id-ecPublicKey", "SSL_CLIENT_A_KEY");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_A_SIG", 0), "ecdsa-with-SHA256", "SSL_CLIENT_A_SIG");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_SAN_Email_0", 0), "alice@example.test", "SSL_CLIENT_SAN_Email_0");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_SAN_DNS_0", 0), "alice.example.test", "SSL_CLIENT_SAN_DNS_0");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_SAN_DNS_1", 0), NULL, "SSL_CLIENT_SAN_DNS_1: none");
    const char *pem = ssl_vars_lookup(p, server, "SSL_CLIENT_CERT", 0);
    ok(pem && strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0, "SSL_CLIENT_CERT is PEM");

    is_string(ssl_vars_lookup(p, server, "SSL_SERVER_S_DN", 0),
              "CN=www.example.test,O=Snake Oil\\, Ltd.,L=Berlin,ST=Berlin,C=DE",
              "SSL_SERVER_S_DN: a comma in a value is escaped");
    is_string(ssl_vars_lookup(p, server, "SSL_SERVER_S_DN_O", 0), "Snake Oil, Ltd.", "SSL_SERVER_S_DN_O: as it is");
    is_string(ssl_vars_lookup(p, server, "SSL_SERVER_S_DN_ST", 0), "Berlin", "SSL_SERVER_S_DN_ST");
    is_string(ssl_vars_lookup(p, server, "SSL_SERVER_S_DN_SP", 0), "Berlin", "SSL_SERVER_S_DN_SP (mod_ssl's alias)");
    is_string(ssl_vars_lookup(p, server, "SSL_SERVER_M_SERIAL", 0), "1234", "SSL_SERVER_M_SERIAL");
    is_string(ssl_vars_lookup(p, server, "SSL_SERVER_SAN_DNS_1", 0), "example.test", "SSL_SERVER_SAN_DNS_1");
    is_string(ssl_vars_lookup(p, server, "SSL_SERVER_I_DN_CN", 0), "Example Root", "SSL_SERVER_I_DN_CN");
    is_string(ssl_vars_lookup(p, server, "SSL_NO_SUCH_THING", 0), NULL, "an unknown SSL_ name is unset");
    is_string(ssl_vars_lookup(p, server, "REQUEST_URI", 0), NULL, "not one of mod_ssl's");

    collected none = { 0 };
    ssl_vars_environment(p, server, 0, collect, &none);
    is_int(none.count, 0, "no SSLOptions: no variable in the environment");
    collected standard = { 0 };
    ssl_vars_environment(p, server, SSL_OPTION_STD_ENV_VARS, collect, &standard);
    is_string(collected_value(&standard, "SSL_PROTOCOL"), "TLSv1.3", "StdEnvVars: SSL_PROTOCOL");
    is_string(collected_value(&standard, "SSL_CLIENT_S_DN_CN"), "alice", "StdEnvVars: SSL_CLIENT_S_DN_CN");
    is_string(collected_value(&standard, "SSL_CLIENT_S_DN_OU_1"), "Dev", "StdEnvVars: SSL_CLIENT_S_DN_OU_1");
    is_string(collected_value(&standard, "SSL_CLIENT_S_DN_Email"), "alice@example.test",
              "StdEnvVars: SSL_CLIENT_S_DN_Email (mod_ssl's name)");
    is_string(collected_value(&standard, "SSL_SERVER_S_DN_O"), "Snake Oil, Ltd.", "StdEnvVars: SSL_SERVER_S_DN_O");
    is_string(collected_value(&standard, "SSL_CLIENT_SAN_Email_0"), "alice@example.test",
              "StdEnvVars: SSL_CLIENT_SAN_Email_0");
    is_string(collected_value(&standard, "SSL_SERVER_SAN_DNS_0"), "www.example.test", "StdEnvVars: SSL_SERVER_SAN_DNS_0");
    is_string(collected_value(&standard, "SSL_CLIENT_VERIFY"), "SUCCESS", "StdEnvVars: SSL_CLIENT_VERIFY");
    is_string(collected_value(&standard, "SSL_TLS_SNI"), "www.example.test", "StdEnvVars: SSL_TLS_SNI");
    is_string(collected_value(&standard, "SSL_CLIENT_CERT"), NULL, "StdEnvVars alone: no certificate");
    collected exported = { 0 };
    ssl_vars_environment(p, server, SSL_OPTION_EXPORT_CERT_DATA, collect, &exported);
    is_int(count_prefix(&exported, "SSL_CLIENT_S_DN"), 0, "ExportCertData alone: no DN variables");
    ok(collected_value(&exported, "SSL_CLIENT_CERT") && collected_value(&exported, "SSL_SERVER_CERT"),
       "ExportCertData: SSL_CLIENT_CERT and SSL_SERVER_CERT");

    /* SSLVerifyClient optional_no_ca: a self-signed client certificate
     * accepted by the verify callback is GENERIC */
    SSL_free(server);
    SSL_free(client);
    EVP_PKEY *own_key = EVP_EC_gen("P-256");
    static const char *const own_subject[] = { "CN", "mallory", NULL };
    X509 *own = make_certificate(own_key, own_subject, NULL, NULL, 9, NULL);
    SSL_CTX_set_verify(server_context, SSL_VERIFY_PEER, accept_any);
    SSL_CTX_use_certificate(client_context, own);
    SSL_CTX_use_PrivateKey(client_context, own_key);
    server = SSL_new(server_context);
    client = SSL_new(client_context);
    BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
    SSL_set_bio(server, server_bio, server_bio);
    SSL_set_bio(client, client_bio, client_bio);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    ok(handshake(server, client), "a handshake with an unknown issuer, accepted (optional_no_ca)");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_VERIFY", 0), "GENERIC", "SSL_CLIENT_VERIFY=GENERIC");
    is_string(ssl_vars_lookup(p, server, "SSL_CLIENT_S_DN_CN", 0), "mallory", "... with its subject");
    is_string(ssl_vars_lookup(p, server, "SSL_TLS_SNI", 0), NULL, "no SNI sent: SSL_TLS_SNI unset");
    X509_free(own);
    EVP_PKEY_free(own_key);

    SSL_free(server);
    SSL_free(client);
    SSL_CTX_free(server_context);
    SSL_CTX_free(client_context);
    X509_free(ca);
    X509_free(server_certificate);
    X509_free(client_certificate);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(server_key);
    EVP_PKEY_free(client_key);
}

/* ---- SSLRequire ---------------------------------------------------------------- */

static const char *const fake_variables[][2] = {
    { "SSL_CLIENT_S_DN_O", "Snake Oil, Ltd." },
    { "SSL_CLIENT_S_DN_OU", "CA" },
    { "SSL_CLIENT_S_DN_CN", "alice" },
    { "SSL_CIPHER_USEKEYSIZE", "256" },
    { "SSL_CLIENT_VERIFY", "SUCCESS" },
    { "HTTPS", "on" },
    { "REMOTE_ADDR", "127.0.0.1" },
};

static const char *fake_lookup(void *request, const char *name, pool *p)
{
    for (size_t i = 0; i < COUNT_OF(fake_variables); i++)
        if (strcmp(fake_variables[i][0], name) == 0)
            return fake_variables[i][1];
    return NULL;
}

/* 1 true, 0 false, -1 refused by the rewrite, -2 by the expression parser */
static int require(const char *text)
{
    char error[512] = "";
    char *converted = ssl_require_to_expr(test_pool, text, error, sizeof error);
    if (!converted) {
        note("%s", error);
        return -1;
    }
    weft_expr *expr = expr_parse(test_pool, converted, error, sizeof error);
    if (!expr) {
        note("%s", error);
        return -2;
    }
    expr_context context = { .variable = fake_lookup, .pool = test_pool };
    return expr_evaluate(expr, &context);
}

static void test_require(void)
{
    char error[256];
    is_string(ssl_require_to_expr(test_pool, "%{A} eq \"x eq y\" and %{B} ne 'ne'", error, sizeof error),
              "%{A} == \"x eq y\" and %{B} != 'ne'", "eq/ne become ==/!=, not inside strings");
    is_string(ssl_require_to_expr(test_pool, "%{A} =~ m#eq (ne)#i or %{B} !~ /lt/", error, sizeof error),
              "%{A} =~ m#eq (ne)#i or %{B} !~ /lt/", "nor inside regular expressions");
    is_string(ssl_require_to_expr(test_pool, "%{N} >= 128 and %{N} lt 512 and %{eq} < 3", error, sizeof error),
              "%{N} -ge 128 and %{N} -lt 512 and %{eq} -lt 3", "orderings compare numbers");
    is_string(ssl_require_to_expr(test_pool, "%{SEQUENCE} eq \"1\"", error, sizeof error), "%{SEQUENCE} == \"1\"",
              "a name holding eq is left alone");
    is_string(ssl_require_to_expr(test_pool, "%{N} -eq 3 || %{N} -lt 2 || %{N} -ne 1", error, sizeof error),
              "%{N} -eq 3 || %{N} -lt 2 || %{N} -ne 1", "ap_expr's -eq, -lt, -ne are left alone");

    is_int(require("%{SSL_CLIENT_S_DN_O} eq \"Snake Oil, Ltd.\" and %{SSL_CLIENT_S_DN_OU} in {\"Staff\", \"CA\", \"Dev\"}"),
           1, "mod_ssl's documented example holds");
    is_int(require("%{SSL_CLIENT_S_DN_O} eq \"Snake Oil, Ltd.\" and %{SSL_CLIENT_S_DN_OU} in {\"Staff\", \"Dev\"}"),
           0, "... and fails for an OU outside the list");
    is_int(require("%{SSL_CLIENT_S_DN_CN} == \"alice\""), 1, "==");
    is_int(require("%{SSL_CLIENT_S_DN_CN} != \"alice\""), 0, "!=");
    is_int(require("%{SSL_CLIENT_S_DN_CN} ne \"bob\""), 1, "ne");
    is_int(require("%{SSL_CLIENT_S_DN_CN} eq \"Alice\""), 0, "eq is case-sensitive");
    is_int(require("%{SSL_CLIENT_S_DN_CN} =~ m#^al#"), 1, "=~ m#re#");
    is_int(require("%{SSL_CLIENT_S_DN_CN} =~ m#^bo#"), 0, "=~ m#re# not matching");
    is_int(require("%{SSL_CLIENT_S_DN_CN} -strmatch 'al*'"), 1, "-strmatch");
    is_int(require("!(%{SSL_CLIENT_S_DN_CN} eq \"bob\")"), 1, "! and parentheses");
    is_int(require("%{SSL_CLIENT_S_DN_CN} eq \"bob\" or %{HTTPS} eq \"on\""), 1, "or");
    is_int(require("%{SSL_CLIENT_S_DN_CN} eq \"bob\" || %{HTTPS} eq \"on\" && %{SSL_CLIENT_VERIFY} eq \"FAILED\""), 0,
           "&& binds tighter than ||");
    is_int(require("%{SSL_CIPHER_USEKEYSIZE} >= 128"), 1, ">= compares numbers (256 >= 128)");
    is_int(require("%{SSL_CIPHER_USEKEYSIZE} < 64"), 0, "< compares numbers (256 < 64 is false)");
    is_int(require("%{SSL_CLIENT_VERIFY} eq \"SUCCESS\" and %{REMOTE_ADDR} =~ m/^127\\./"), 1,
           "a common form: verified and local");
    is_int(require("%{SSL:SSL_CLIENT_S_DN_CN} eq \"alice\""), 1, "%%{SSL:NAME}");
    is_int(require("file(\"/etc/x\") eq \"y\""), -1, "file() is refused");
    is_int(require("%{SSL_CLIENT_S_DN_CN} eq \"alice"), -1, "an unterminated string is refused");
    is_int(require("%{SSL_CLIENT_S_DN_CN} eq"), -2, "a broken expression is refused by the parser");
    is_int(require("%{NO_SUCH_VARIABLE} eq \"x\""), -2, "an unknown variable is refused");
    is_int(require("%{SSL_ANYTHING} eq \"\""), 1, "an SSL_ name parses and is empty when unset (as mod_ssl)");
}

int main(void)
{
    test_pool = pool_create(4096);
    test_session();
    test_require();
    pool_destroy(test_pool);
    return done_testing();
}
