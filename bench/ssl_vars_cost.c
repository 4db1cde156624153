/*
 * ssl_vars_cost.c — what mod_ssl's variables cost a request (module
 * ssl_vars): one TLS 1.3 session with a client certificate, made in memory,
 * then many lookups of single variables (as %{SSL_PROTOCOL}x or an <If> on
 * %{SSL_CLIENT_S_DN_CN} make) and of the whole SSLOptions +StdEnvVars /
 * +ExportCertData environment (what a CGI request gets), on one thread.
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -pthread -Isrc -o build/ssl_vars_cost bench/ssl_vars_cost.c -lssl -lcrypto
 *   build/ssl_vars_cost [iterations]
 */
#include "../src/core/buffer.c"
#include "../src/core/pool.c"
#include "../src/modules/ssl_vars_lookup.c"
#include "../t/unit/ssl_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int added;

static void count(void *context, const char *name, const char *value)
{
    added++;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 200000;
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *server_key = EVP_EC_gen("P-256"), *client_key = EVP_EC_gen("P-256");
    static const char *const ca_subject[] = { "C", "DE", "O", "Example CA", "CN", "Example Root", NULL };
    static const char *const server_subject[] = { "C", "DE", "O", "Example", "CN", "www.example.test", NULL };
    static const char *const client_subject[] = { "C", "DE", "O", "Example", "OU", "Staff", "CN", "alice",
                                                  "emailAddress", "alice@example.test", NULL };
    X509 *ca = make_certificate(ca_key, ca_subject, NULL, NULL, 1, NULL);
    X509 *server_certificate = make_certificate(server_key, server_subject, ca, ca_key, 2, "DNS:www.example.test");
    X509 *client_certificate = make_certificate(client_key, client_subject, ca, ca_key, 3, "email:alice@example.test");
    SSL_CTX *server_context = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(server_context, server_certificate);
    SSL_CTX_use_PrivateKey(server_context, server_key);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(server_context), ca);
    SSL_CTX_set_verify(server_context, SSL_VERIFY_PEER, NULL);
    SSL_CTX *client_context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_use_certificate(client_context, client_certificate);
    SSL_CTX_use_PrivateKey(client_context, client_key);
    SSL *server = SSL_new(server_context), *client = SSL_new(client_context);
    BIO *server_bio, *client_bio;
    BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
    SSL_set_bio(server, server_bio, server_bio);
    SSL_set_bio(client, client_bio, client_bio);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    SSL_set_tlsext_host_name(client, "www.example.test");
    if (!handshake(server, client)) {
        fprintf(stderr, "handshake failed\n");
        return 1;
    }

    static const char *const single[] = { "SSL_PROTOCOL", "SSL_CIPHER", "SSL_CLIENT_S_DN_CN", "SSL_CLIENT_S_DN",
                                          "SSL_CLIENT_VERIFY", "SSL_CLIENT_CERT" };
    pool *p = pool_create(16384);
    printf("%-34s %10s\n", "per request", "ns");
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++) {
        double start = now();
        for (long n = 0; n < iterations; n++) {
            if (!ssl_vars_lookup(p, server, single[i], 0))
                return 1;
            pool_reset(p);
        }
        printf("%-34s %10.0f\n", single[i], (now() - start) / (double)iterations * 1e9);
    }
    static const struct {
        const char *name;
        unsigned options;
    } sets[] = {
        { "environment: +StdEnvVars", SSL_OPTION_STD_ENV_VARS },
        { "environment: +ExportCertData", SSL_OPTION_EXPORT_CERT_DATA },
        { "environment: both", SSL_OPTION_STD_ENV_VARS | SSL_OPTION_EXPORT_CERT_DATA },
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        long environment_iterations = iterations / 10 > 0 ? iterations / 10 : 1;
        added = 0;
        double start = now();
        for (long n = 0; n < environment_iterations; n++) {
            ssl_vars_environment(p, server, sets[i].options, count, NULL);
            pool_reset(p);
        }
        printf("%-34s %10.0f   (%d variables)\n", sets[i].name,
               (now() - start) / (double)environment_iterations * 1e9, added / (int)environment_iterations);
    }
    pool_destroy(p);
    return 0;
}
