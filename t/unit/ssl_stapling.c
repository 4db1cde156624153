/* Unit tests for src/modules/ssl_stapling.c and ssl_stapling_fetch.c: the
 * SSLStaplingCache syntax, the responder URL from authorityInfoAccess, the
 * table built from a real SSL_CTX, the lease logic of the shared slots,
 * the checks of OCSP responses made here with OpenSSL (good, revoked,
 * wrong signer, stale), the status callback, called directly and in a
 * real in-memory TLS handshake with a client asking for the staple, a
 * refresh from an unreachable responder, and the carry-over on reload.  The
 * configuration engine is not linked: the config_* functions the module
 * names have stand-ins below. */
#include "tap.h"

#define WEFT_MODULE_CONFIG_STUBS

#include "core/log.c"
#include "core/pool.c"
#include "core/blocking.c"
#include "core/piped_log.c"
#include "os/shared_memory.c"
#include "modules/ssl_stapling.c"
#include "modules/ssl_stapling_fetch.c"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

/* ---- stand-ins ---- */
static int warnings;
static stapling_server_config test_settings;

void *module_server_config(const server_config *server, const module *m)
{
    return &test_settings;
}
void *module_dir_config(const dir_config *dir, const module *m)
{
    return NULL;
}
int vhost_count(const server_config *main)
{
    return 0;
}
server_config *vhost_server(const server_config *main, int index)
{
    return NULL;
}
SSL_CTX *ssl_server_context(const server_config *server)
{
    return NULL;
}
int config_error(config_parse *parse, const char *format, ...)
{
    return WEFT_ERROR;
}
int config_error_at(config_parse *parse, const char *file, int line, const char *format, ...)
{
    return WEFT_ERROR;
}
void config_warning(config_parse *parse, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    printf("# warning: ");
    vprintf(format, args);
    printf("\n");
    va_end(args);
    warnings++;
}
pool *config_pool(config_parse *parse)
{
    return NULL;
}
const char *config_file_name(const config_parse *parse)
{
    return "test.conf";
}
int config_line_number(const config_parse *parse)
{
    return 1;
}
int config_set_flag(config_parse *p, const config_directive *d, void *t, int c, char **v)
{
    return WEFT_OK;
}
int config_set_seconds(config_parse *p, const config_directive *d, void *t, int c, char **v)
{
    return WEFT_OK;
}
int config_set_string(config_parse *p, const config_directive *d, void *t, int c, char **v)
{
    return WEFT_OK;
}
void config_dump_line(FILE *out, const config_directive *directive, int argc, const char *const *argv)
{
}
void config_format_string(FILE *out, const config_directive *directive, const void *base)
{
}

/* ---- certificates made here ---- */

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

static X509 *new_certificate(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long serial,
                             const char *ocsp_url, bool ca, bool ocsp_signer)
{
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(cert, key);
    X509V3_CTX context;
    X509V3_set_ctx(&context, issuer ? issuer : cert, cert, NULL, NULL, 0);
    const char *extensions[][2] = {
        { "basicConstraints", ca ? "critical,CA:TRUE" : "CA:FALSE" },
        { "keyUsage", ca ? "critical,keyCertSign,cRLSign,digitalSignature" : "critical,digitalSignature" },
        { "subjectKeyIdentifier", "hash" },
        { "extendedKeyUsage", ocsp_signer ? "OCSPSigning" : NULL },
        { "authorityInfoAccess", NULL },
    };
    char aia[200];
    if (ocsp_url) {
        snprintf(aia, sizeof aia, "OCSP;URI:%s", ocsp_url);
        extensions[4][1] = aia;
    }
    for (size_t i = 0; i < COUNT_OF(extensions); i++) {
        if (!extensions[i][1])
            continue;
        X509_EXTENSION *extension = X509V3_EXT_conf(NULL, &context, extensions[i][0], extensions[i][1]);
        X509_add_ext(cert, extension, -1);
        X509_EXTENSION_free(extension);
    }
    X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256());
    return cert;
}

static EVP_PKEY *ca_key, *leaf_key, *other_key, *responder_key;
static X509 *ca, *leaf, *other_ca, *responder;

/* A DER OCSPResponse about leaf, signed by signer. */
static long make_response(X509 *signer, EVP_PKEY *signer_key, int status, long this_offset, long next_offset,
                          bool with_next, unsigned char **der)
{
    OCSP_BASICRESP *basic = OCSP_BASICRESP_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, ca);
    ASN1_TIME *this_update = X509_gmtime_adj(NULL, this_offset);
    ASN1_TIME *next_update = with_next ? X509_gmtime_adj(NULL, next_offset) : NULL;
    ASN1_TIME *revoked = status == V_OCSP_CERTSTATUS_REVOKED ? X509_gmtime_adj(NULL, -7200) : NULL;
    OCSP_basic_add1_status(basic, id, status, status == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0,
                           revoked, this_update, next_update);
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (signer != ca)
        sk_X509_push(certs, signer);
    OCSP_basic_sign(basic, signer, signer_key, EVP_sha256(), certs, 0);
    OCSP_RESPONSE *response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic);
    *der = NULL;
    long length = i2d_OCSP_RESPONSE(response, der);
    OCSP_RESPONSE_free(response);
    OCSP_BASICRESP_free(basic);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(this_update);
    ASN1_TIME_free(next_update);
    ASN1_TIME_free(revoked);
    sk_X509_free(certs);
    return length;
}

static void make_certificates(void)
{
    ca_key = new_key();
    leaf_key = new_key();
    other_key = new_key();
    responder_key = new_key();
    ca = new_certificate("Test CA", ca_key, NULL, NULL, 1, NULL, true, false);
    other_ca = new_certificate("Other CA", other_key, NULL, NULL, 2, NULL, true, false);
    leaf = new_certificate("leaf.test", leaf_key, ca, ca_key, 10, "http://127.0.0.1:8888/ocsp", false, false);
    responder = new_certificate("Test OCSP responder", responder_key, ca, ca_key, 11, NULL, false, true);
}

static void test_cache_spec(void)
{
    int64_t size = 0;
    char error[256];
    ok(stapling_parse_cache_spec("shmcb:/run/weft/ocsp(128000)", &size, error, sizeof error) == WEFT_OK &&
           size == 128000,
       "shmcb:/path(bytes) gives the size");
    ok(stapling_parse_cache_spec("shmcb:logs/ocsp", &size, error, sizeof error) == WEFT_OK && size == 512000,
       "shmcb:/path without a size: 512000");
    ok(stapling_parse_cache_spec("dbm:/tmp/x", &size, error, sizeof error) == WEFT_ERROR, "dbm: refused");
    ok(stapling_parse_cache_spec("shmcb:/x(12", &size, error, sizeof error) == WEFT_ERROR, "unclosed size refused");
    ok(stapling_parse_cache_spec("shmcb:/x(100)", &size, error, sizeof error) == WEFT_ERROR, "tiny size refused");
    ok(stapling_parse_cache_spec("shmcb:(100000)", &size, error, sizeof error) == WEFT_ERROR, "no path refused");
}

static void test_urls(void)
{
    char *url = stapling_responder_url(leaf, NULL);
    is_string(url, "http://127.0.0.1:8888/ocsp", "the OCSP URI of authorityInfoAccess");
    free(url);
    url = stapling_responder_url(leaf, "http://ocsp.example:81/x");
    is_string(url, "http://ocsp.example:81/x", "SSLStaplingForceURL wins");
    free(url);
    ok(stapling_responder_url(ca, NULL) == NULL, "no authorityInfoAccess: no URL");

    char *host, *port, *path;
    ok(stapling_split_url("http://127.0.0.1:8888/ocsp", &host, &port, &path) == WEFT_OK, "http URL split");
    is_string(host, "127.0.0.1", "host");
    is_string(port, "8888", "port");
    is_string(path, "/ocsp", "path");
    free(host), free(port), free(path);
    ok(stapling_split_url("http://ocsp.example", &host, &port, &path) == WEFT_OK, "URL without port or path");
    is_string(port, "80", "port 80");
    is_string(path, "/", "path /");
    free(host), free(port), free(path);
    ok(stapling_split_url("http://[::1]:9/a?b=c", &host, &port, &path) == WEFT_OK, "IPv6 and query");
    is_string(host, "[::1]", "IPv6 host in brackets, as the connect BIO takes it");
    is_string(path, "/a?b=c", "query kept");
    free(host), free(port), free(path);
    ok(stapling_split_url("https://ocsp.example/", &host, &port, &path) == WEFT_ERROR, "https refused");
    ok(stapling_split_url("ldap://x/", &host, &port, &path) == WEFT_ERROR, "ldap refused");
    ok(stapling_split_url("http://", &host, &port, &path) == WEFT_ERROR, "no host refused");
}

static void test_leases(void)
{
    stapling_slot slot;
    memset(&slot, 0, sizeof slot);
    ok(stapling_slot_claim(&slot, 1000, 1, 15), "a new slot is due at once");
    is_int(slot.lease_until, 1015, "lease until now + lease");
    ok(!stapling_slot_claim(&slot, 1001, 2, 15), "another child does not take a held lease");
    is_int(stapling_slot_next_check(&slot), 1015, "it looks again when the lease runs out");
    ok(stapling_slot_claim(&slot, 1015, 2, 15), "a lease whose holder died runs out");
    is_int(slot.lease_pid, 2, "the new holder");
    slot.lease_until = 0;
    slot.refresh_at = 5000;
    ok(!stapling_slot_claim(&slot, 4999, 1, 15), "not due before refresh_at");
    is_int(stapling_slot_next_check(&slot), 5000, "next check at refresh_at");
    ok(stapling_slot_claim(&slot, 5000, 1, 15), "due at refresh_at");
}

static stapling_table table;
static SSL_CTX *test_server_ctx;

static void build_table(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx, leaf);
    SSL_CTX_use_PrivateKey(ctx, leaf_key);
    SSL_CTX_add1_chain_cert(ctx, ca);
    memset(&test_settings, 0, sizeof test_settings);
    test_settings.responder_timeout = 10;
    test_settings.standard_timeout = 3600;
    test_settings.error_timeout = 600;
    test_settings.return_errors = true;
    test_settings.max_age = -1;
    test_settings.time_skew = 300;
    test_settings.fake_try_later = true;
    add_context(NULL, &table, ctx, &test_settings);
    is_int(table.count, 1, "the context's certificate is in the table");
    ok(table.count == 1 && table.certs[0].issuer && X509_cmp(table.certs[0].issuer, ca) == 0,
       "its issuer found in the chain");
    ok(table.count == 1 && strcmp(table.certs[0].path, "/ocsp") == 0, "its responder's path");

    /* A certificate without a responder: a warning, no entry. */
    SSL_CTX *bare = SSL_CTX_new(TLS_server_method());
    X509 *plain = new_certificate("plain.test", other_key, ca, ca_key, 12, NULL, false, false);
    SSL_CTX_use_certificate(bare, plain);
    SSL_CTX_use_PrivateKey(bare, other_key);
    SSL_CTX_add1_chain_cert(bare, ca);
    int before = warnings;
    add_context(NULL, &table, bare, &test_settings);
    ok(warnings == before + 1 && table.count == 1, "no responder URL: a warning, stapling off for it");
    /* No issuer anywhere: the same. */
    SSL_CTX *orphan = SSL_CTX_new(TLS_server_method());
    X509 *lonely = new_certificate("lonely.test", other_key, ca, ca_key, 13, "http://127.0.0.1:8888/", false, false);
    SSL_CTX_use_certificate(orphan, lonely);
    SSL_CTX_use_PrivateKey(orphan, other_key);
    before = warnings;
    add_context(NULL, &table, orphan, &test_settings);
    ok(warnings == before + 1 && table.count == 1, "no issuer: a warning, stapling off for it");
    /* The CA store as the source of the issuer. */
    X509_STORE_add_cert(SSL_CTX_get_cert_store(orphan), ca);
    add_context(NULL, &table, orphan, &test_settings);
    ok(table.count == 2 && X509_cmp(table.certs[1].issuer, ca) == 0, "issuer found in the CA store");
    add_context(NULL, &table, orphan, &test_settings);
    is_int(table.count, 2, "a certificate is added once");
    table.count = 1;  /* the tests below use the first */
    cert_release(&table.certs[1]);
    X509_free(plain);
    X509_free(lonely);
    SSL_CTX_free(bare);
    SSL_CTX_free(orphan);
    table.region = region_create(1, 8192, &table.region_size);
    ok(table.region != NULL, "shared region mapped");
    SSL_CTX_set_tlsext_status_cb(ctx, stapling_status_callback);
    SSL_CTX_set_tlsext_status_arg(ctx, &table);
    test_server_ctx = ctx;
}

static void test_check_response(void)
{
    const stapling_cert *cert = &table.certs[0];
    int64_t now = (int64_t)time(NULL);
    unsigned char *der;
    char reason[400];
    int state;
    int64_t valid_until, next_update;

    long length = make_response(ca, ca_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, true, &der);
    ok(stapling_check_response(cert, der, length, now, &state, &valid_until, &next_update, reason,
                               sizeof reason) == WEFT_OK && state == STAPLING_GOOD,
       "good response signed by the CA: good (%s)", reason);
    ok(next_update >= now + 3590 && next_update <= now + 3610, "nextUpdate read");
    is_int(valid_until, next_update + 300, "valid until nextUpdate + skew");
    OPENSSL_free(der);

    length = make_response(responder, responder_key, V_OCSP_CERTSTATUS_GOOD, -60, 0, false, &der);
    ok(stapling_check_response(cert, der, length, now, &state, &valid_until, &next_update, reason,
                               sizeof reason) == WEFT_OK && state == STAPLING_GOOD,
       "good response from a delegated responder: good (%s)", reason);
    is_int(valid_until, now + 7200, "no nextUpdate: held two refresh periods");
    OPENSSL_free(der);

    length = make_response(ca, ca_key, V_OCSP_CERTSTATUS_REVOKED, -60, 3600, true, &der);
    ok(stapling_check_response(cert, der, length, now, &state, &valid_until, &next_update, reason,
                               sizeof reason) == WEFT_OK && state == STAPLING_NOT_GOOD,
       "revoked response: not good (%s)", reason);
    OPENSSL_free(der);

    length = make_response(other_ca, other_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, true, &der);
    ok(stapling_check_response(cert, der, length, now, &state, &valid_until, &next_update, reason,
                               sizeof reason) == WEFT_ERROR,
       "signed by another CA: refused (%s)", reason);
    OPENSSL_free(der);

    length = make_response(ca, ca_key, V_OCSP_CERTSTATUS_GOOD, -7200, -3600, true, &der);
    ok(stapling_check_response(cert, der, length, now, &state, &valid_until, &next_update, reason,
                               sizeof reason) == WEFT_ERROR,
       "nextUpdate an hour ago: refused (%s)", reason);
    OPENSSL_free(der);

    test_settings.max_age = 60;
    length = make_response(ca, ca_key, V_OCSP_CERTSTATUS_GOOD, -600, 3600, true, &der);
    ok(stapling_check_response(cert, der, length, now, &state, &valid_until, &next_update, reason,
                               sizeof reason) == WEFT_ERROR,
       "older than SSLStaplingResponseMaxAge: refused (%s)", reason);
    OPENSSL_free(der);
    test_settings.max_age = -1;

    static const unsigned char try_later[] = { 0x30, 0x03, 0x0a, 0x01, 0x03 };
    ok(stapling_check_response(cert, try_later, sizeof try_later, now, &state, &valid_until, &next_update,
                               reason, sizeof reason) == WEFT_OK && state == STAPLING_NOT_GOOD,
       "the responder's tryLater: passed on as not good (%s)", reason);
    static const unsigned char junk[] = { 0x30, 0x03, 0x01, 0x01 };
    ok(stapling_check_response(cert, junk, sizeof junk, now, &state, &valid_until, &next_update, reason,
                               sizeof reason) == WEFT_ERROR,
       "garbage refused");
}

static void store(int state, const unsigned char *der, long length, int64_t valid_until)
{
    stapling_slot *slot = stapling_slot_at(table.region, 0);
    memcpy(slot->response, der, (size_t)length);
    slot->response_length = (uint32_t)length;
    slot->response_state = state;
    slot->state = state;
    slot->valid_until = valid_until;
}

/* What the callback stapled for a fresh server SSL (0: nothing). */
static long staple_length(unsigned char **copy)
{
    SSL *ssl = SSL_new(test_server_ctx);
    int rc = stapling_status_callback(ssl, &table);
    unsigned char *staple = NULL;
    long length = SSL_get_tlsext_status_ocsp_resp(ssl, &staple);
    if (rc != SSL_TLSEXT_ERR_OK)
        length = 0;
    *copy = length > 0 ? OPENSSL_memdup(staple, (size_t)length) : NULL;
    SSL_free(ssl);
    return length;
}

static void test_callback(void)
{
    unsigned char *copy;
    int64_t now = (int64_t)time(NULL);
    is_int(staple_length(&copy), 0, "nothing fetched yet: no staple (NOACK)");

    stapling_slot *slot = stapling_slot_at(table.region, 0);
    slot->state = STAPLING_FAILED;
    long length = staple_length(&copy);
    ok(length == 5 && copy[4] == 3, "the fetch failed: a tryLater staple (SSLStaplingFakeTryLater)");
    OPENSSL_free(copy);
    test_settings.fake_try_later = false;
    is_int(staple_length(&copy), 0, "SSLStaplingFakeTryLater Off: no staple");
    test_settings.fake_try_later = true;

    unsigned char *der;
    long der_length = make_response(ca, ca_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, true, &der);
    store(STAPLING_GOOD, der, der_length, now + 3600);
    length = staple_length(&copy);
    ok(length == der_length && memcmp(copy, der, (size_t)length) == 0, "the cached response is stapled");
    OPENSSL_free(copy);
    slot->state = STAPLING_FAILED;  /* a failed refresh keeps a response still valid */
    length = staple_length(&copy);
    ok(length == der_length, "after a failed refresh the valid response is still stapled");
    OPENSSL_free(copy);
    slot->valid_until = now - 1;
    length = staple_length(&copy);
    ok(length == 5, "an expired response is not stapled (tryLater instead)");
    OPENSSL_free(copy);
    OPENSSL_free(der);

    der_length = make_response(ca, ca_key, V_OCSP_CERTSTATUS_REVOKED, -60, 3600, true, &der);
    store(STAPLING_NOT_GOOD, der, der_length, now + 3600);
    length = staple_length(&copy);
    ok(length == der_length, "revoked: stapled (SSLStaplingReturnResponderErrors On)");
    OPENSSL_free(copy);
    test_settings.return_errors = false;
    is_int(staple_length(&copy), 0, "revoked with SSLStaplingReturnResponderErrors Off: no staple");
    test_settings.return_errors = true;
    OPENSSL_free(der);
}

/* ---- a real handshake over a BIO pair ---- */

static int client_status_length = -1;
static int client_status_callback(SSL *ssl, void *arg)
{
    const unsigned char *staple;
    client_status_length = (int)SSL_get_tlsext_status_ocsp_resp(ssl, &staple);
    return 1;
}

static bool handshake(const char *protocol_name, int version)
{
    SSL_CTX *client_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(client_ctx, version);
    SSL_CTX_set_max_proto_version(client_ctx, version);
    SSL_CTX_set_tlsext_status_cb(client_ctx, client_status_callback);
    SSL *client = SSL_new(client_ctx);
    SSL *server = SSL_new(test_server_ctx);
    SSL_set_tlsext_status_type(client, TLSEXT_STATUSTYPE_ocsp);
    BIO *client_bio, *server_bio;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client, client_bio, client_bio);
    SSL_set_bio(server, server_bio, server_bio);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    client_status_length = -1;
    bool client_done = false, server_done = false;
    for (int round = 0; round < 50 && !(client_done && server_done); round++) {
        if (!client_done)
            client_done = SSL_do_handshake(client) == 1;
        if (!server_done)
            server_done = SSL_do_handshake(server) == 1;
    }
    ok(client_done && server_done, "%s handshake completes", protocol_name);
    SSL_free(client);
    SSL_free(server);
    SSL_CTX_free(client_ctx);
    ERR_clear_error();
    return client_done && server_done;
}

static void test_handshake(void)
{
    unsigned char *der;
    long der_length = make_response(ca, ca_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, true, &der);
    store(STAPLING_GOOD, der, der_length, (int64_t)time(NULL) + 3600);
    OPENSSL_free(der);
    handshake("TLS 1.3", TLS1_3_VERSION);
    is_int(client_status_length, der_length, "TLS 1.3 client got the staple");
    handshake("TLS 1.2", TLS1_2_VERSION);
    is_int(client_status_length, der_length, "TLS 1.2 client got the staple");
    stapling_slot_at(table.region, 0)->response_length = 0;
    stapling_slot_at(table.region, 0)->state = STAPLING_NONE;
    handshake("TLS 1.3 without a response", TLS1_3_VERSION);
    ok(client_status_length <= 0, "no response held: the handshake goes on without a staple");
}

/* A responder that cannot be reached: the slot records the failure, keeps
 * its response, frees the lease and is due again after the error timeout. */
static void test_failed_refresh(void)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t length = sizeof address;
    bind(listener, (struct sockaddr *)&address, sizeof address);
    getsockname(listener, (struct sockaddr *)&address, &length);
    close(listener);  /* nobody listens there now */
    stapling_cert *cert = &table.certs[0];
    char *saved_port = cert->port;
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(address.sin_port));
    cert->port = port;
    test_settings.responder_timeout = 1;
    test_settings.error_timeout = 7;

    unsigned char *der;
    long der_length = make_response(ca, ca_key, V_OCSP_CERTSTATUS_GOOD, -60, 3600, true, &der);
    int64_t now = (int64_t)time(NULL);
    store(STAPLING_GOOD, der, der_length, now + 3600);
    OPENSSL_free(der);
    stapling_slot *slot = stapling_slot_at(table.region, 0);
    slot->refresh_at = 0;
    slot->lease_until = 0;
    ok(stapling_slot_claim(slot, now, 1, 6), "lease taken");
    is_int(stapling_refresh(&table, cert, now), STAPLING_FAILED, "an unreachable responder: failed");
    ok(slot->lease_until == 0, "the lease is released");
    ok(slot->refresh_at >= now + 7 && slot->refresh_at <= (int64_t)time(NULL) + 7,
       "retried after SSLStaplingErrorCacheTimeout");
    is_int(slot->response_length, der_length, "the still valid response is kept");
    unsigned char *copy;
    is_int(staple_length(&copy), der_length, "and still stapled");
    OPENSSL_free(copy);
    cert->port = saved_port;
    test_settings.responder_timeout = 10;
    test_settings.error_timeout = 600;
}

/* A reload's new table starts from the serving one's responses. */
static void test_carry_over(void)
{
    stapling_table next;
    memset(&next, 0, sizeof next);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx, leaf);
    SSL_CTX_use_PrivateKey(ctx, leaf_key);
    SSL_CTX_add1_chain_cert(ctx, ca);
    add_context(NULL, &next, ctx, &test_settings);
    /* The same certificate loaded again for another vhost: one slot. */
    SSL_CTX *again = SSL_CTX_new(TLS_server_method());
    X509 *copy = X509_dup(leaf);
    SSL_CTX_use_certificate(again, copy);
    SSL_CTX_use_PrivateKey(again, leaf_key);
    SSL_CTX_add1_chain_cert(again, ca);
    add_context(NULL, &next, again, &test_settings);
    ok(next.count == 2 && next.slot_count == 1 && next.certs[1].shares_slot && next.certs[1].slot == 0,
       "the same certificate in two contexts shares one slot (one fetch)");
    next.region = region_create((uint32_t)next.slot_count, 4096, &next.region_size);
    stapling_slot *old = stapling_slot_at(table.region, 0);
    old->lease_until = 12345;
    carry_over(&next, &table);
    stapling_slot *copied = stapling_slot_at(next.region, 0);
    ok(copied->response_length == old->response_length &&
           memcmp(copied->response, old->response, old->response_length) == 0 &&
           copied->refresh_at == old->refresh_at,
       "the response and its refresh time carried over");
    is_int(copied->lease_until, 0, "not the old region's lease");
    old->lease_until = 0;
    SSL *ssl = SSL_new(again);
    int rc = stapling_status_callback(ssl, &next);
    ok(rc == SSL_TLSEXT_ERR_OK, "the context sharing the slot staples its response");
    SSL_free(ssl);
    table_cleanup(&next);
    SSL_CTX_free(ctx);
    SSL_CTX_free(again);
    X509_free(copy);
}

int main(void)
{
    log_threshold = LOG_LEVEL_EMERG;  /* the module's error lines would clutter TAP */
    make_certificates();
    test_cache_spec();
    test_urls();
    test_leases();
    build_table();
    test_check_response();
    test_callback();
    test_handshake();
    test_failed_refresh();
    test_carry_over();
    table_cleanup(&table);
    SSL_CTX_free(test_server_ctx);
    X509_free(ca), X509_free(leaf), X509_free(other_ca), X509_free(responder);
    EVP_PKEY_free(ca_key), EVP_PKEY_free(leaf_key), EVP_PKEY_free(other_key), EVP_PKEY_free(responder_key);
    return done_testing();
}
