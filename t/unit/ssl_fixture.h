/*
 * ssl_fixture.h — TLS fixtures for the unit tests and benchmarks of the TLS
 * modules: certificates made with the OpenSSL API (no files), and a
 * handshake between two SSL objects over an in-memory BIO pair.
 */
#ifndef WEFT_T_SSL_FIXTURE_H
#define WEFT_T_SSL_FIXTURE_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ---- certificates ---------------------------------------------------------- */

static X509_NAME *make_name(const char *const *pairs)
{
    X509_NAME *name = X509_NAME_new();
    for (int i = 0; pairs[i]; i += 2)
        X509_NAME_add_entry_by_txt(name, pairs[i], MBSTRING_UTF8, (const unsigned char *)pairs[i + 1], -1, -1, 0);
    return name;
}

static X509 *make_certificate(EVP_PKEY *key, const char *const *subject, X509 *issuer, EVP_PKEY *issuer_key,
                              long serial, const char *san)
{
    X509 *certificate = X509_new();
    X509_set_version(certificate, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial);
    X509_gmtime_adj(X509_getm_notBefore(certificate), -3600);
    X509_gmtime_adj(X509_getm_notAfter(certificate), 30L * 86400 + 3600);
    X509_NAME *name = make_name(subject);
    X509_set_subject_name(certificate, name);
    X509_set_issuer_name(certificate, issuer ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    X509_set_pubkey(certificate, key);
    X509V3_CTX context;
    X509V3_set_ctx(&context, issuer ? issuer : certificate, certificate, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid(NULL, &context, NID_basic_constraints,
                                                    issuer ? "CA:FALSE" : "critical,CA:TRUE");
    X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
    if (san) {
        extension = X509V3_EXT_conf_nid(NULL, &context, NID_subject_alt_name, san);
        X509_add_ext(certificate, extension, -1);
        X509_EXTENSION_free(extension);
    }
    X509_sign(certificate, issuer_key ? issuer_key : key, EVP_sha256());
    return certificate;
}

/* ---- a handshake in memory -------------------------------------------------- */

static bool handshake(SSL *server, SSL *client)
{
    bool server_done = false, client_done = false;
    for (int round = 0; round < 50 && !(server_done && client_done); round++) {
        if (!client_done) {
            int rc = SSL_do_handshake(client);
            if (rc == 1)
                client_done = true;
            else if (SSL_get_error(client, rc) != SSL_ERROR_WANT_READ)
                return false;
        }
        if (!server_done) {
            int rc = SSL_do_handshake(server);
            if (rc == 1)
                server_done = true;
            else if (SSL_get_error(server, rc) != SSL_ERROR_WANT_READ)
                return false;
        }
    }
    return server_done && client_done;
}

#endif
