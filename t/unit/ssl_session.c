/*
 * Unit tests for the ssl_session module (src/modules/ssl_session*.c,
 * ssl_tickets.c): real TLS handshakes in memory (SSL objects over BIO
 * pairs, a self-signed certificate made here), where the handshake that
 * makes a session runs in one forked process and the one that resumes it in
 * another, as two children of weft would: only the shared cache and the
 * shared ticket keys can carry the session across.
 */
#include "tap.h"

#define WEFT_MODULE_CONFIG_STUBS

#include "../../src/core/pool.c"
#include "../../src/os/shared_memory.c"
#include "../../src/modules/ssl_session_cache.c"
#include "../../src/modules/ssl_tickets.c"
#include "../../src/modules/ssl_session.c"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/wait.h>

/* ---- stand-ins for the configuration engine, the log and the ssl module -- */

int log_threshold = LOG_LEVEL_ERROR;
void log_message(int level, const char *format, ...) {}

struct config_parse {
    pool *pool;
    int errors;
    char message[512];
};

static int record_error(config_parse *parse, const char *prefix, const char *format, va_list args)
{
    int used = snprintf(parse->message, sizeof parse->message, "%s", prefix);
    vsnprintf(parse->message + used, sizeof parse->message - (size_t)used, format, args);
    parse->errors++;
    return WEFT_ERROR;
}

int config_error(config_parse *parse, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    record_error(parse, "", format, args);
    va_end(args);
    return WEFT_ERROR;
}

int config_error_at(config_parse *parse, const char *file, int line, const char *format, ...)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s:%d: ", file, line);
    va_list args;
    va_start(args, format);
    record_error(parse, prefix, format, args);
    va_end(args);
    return WEFT_ERROR;
}

pool *config_pool(config_parse *parse) { return parse->pool; }
const char *config_file_name(const config_parse *parse) { return "weft.conf"; }
int config_line_number(const config_parse *parse) { return 42; }
char *config_resolve_path(config_parse *parse, const char *path) { return pool_strdup(parse->pool, path); }
int config_set_flag(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    *(bool *)target = strcasecmp(argv[0], "On") == 0;
    return WEFT_OK;
}
int config_set_seconds(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    *(int *)target = atoi(argv[0]);
    return WEFT_OK;
}
void config_dump_line(FILE *out, const config_directive *d, int argc, const char *const *argv) {}
void config_format_string(FILE *out, const config_directive *d, const void *base) {}

static ssl_session_config module_settings;
static SSL_CTX *main_context;

void *module_server_config(const server_config *server, const module *m) { return &module_settings; }
void *module_dir_config(const dir_config *dir, const module *m) { return NULL; }
int vhost_count(const server_config *main) { return 0; }
server_config *vhost_server(const server_config *main, int index) { return NULL; }
SSL_CTX *ssl_server_context(const server_config *server) { return main_context; }

/* ---- TLS in memory ----------------------------------------------------------- */

static EVP_PKEY *server_key;
static X509 *server_certificate;

static void make_certificate(void)
{
    server_key = EVP_EC_gen("P-256");
    server_certificate = X509_new();
    X509_set_version(server_certificate, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(server_certificate), 1);
    X509_gmtime_adj(X509_getm_notBefore(server_certificate), -60);
    X509_gmtime_adj(X509_getm_notAfter(server_certificate), 3600);
    X509_set_pubkey(server_certificate, server_key);
    X509_NAME *name = X509_get_subject_name(server_certificate);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(server_certificate, name);
    X509_sign(server_certificate, server_key, EVP_sha256());
}

static SSL_CTX *new_server_context(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx, server_certificate);
    SSL_CTX_use_PrivateKey(ctx, server_key);
    return ctx;
}

static SSL_CTX *new_client_context(int version, bool no_ticket)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    if (no_ticket)
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    return ctx;
}

static bool progressing(SSL *ssl, int status)
{
    int error = SSL_get_error(ssl, status);
    return status == 1 || error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
}

/* One handshake, then a byte each way (the client takes TLS 1.3's tickets
 * with it).  Returns the client's session (NULL on failure); *reused says
 * whether the handshake resumed `resume`. */
static SSL_SESSION *handshake(SSL_CTX *server_ctx, SSL_CTX *client_ctx, SSL_SESSION *resume, int *reused)
{
    SSL *server = SSL_new(server_ctx), *client = SSL_new(client_ctx);
    BIO *server_bio, *client_bio;
    BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
    SSL_set_bio(server, server_bio, server_bio);
    SSL_set_bio(client, client_bio, client_bio);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    if (resume)
        SSL_set_session(client, resume);
    SSL_SESSION *session = NULL;
    bool done = false;
    for (int round = 0; round < 50 && !done; round++) {
        int c = SSL_do_handshake(client), s = SSL_do_handshake(server);
        if (!progressing(client, c) || !progressing(server, s))
            break;
        done = c == 1 && s == 1;
    }
    char byte;
    if (done && SSL_write(server, "s", 1) == 1 && SSL_read(client, &byte, 1) == 1 && SSL_write(client, "c", 1) == 1 &&
        SSL_read(server, &byte, 1) == 1) {
        *reused = SSL_session_reused(client);
        session = SSL_get1_session(client);
        /* Closed cleanly: OpenSSL drops the session of a connection freed
         * without a close_notify from the cache (ssl_clear_bad_session). */
        SSL_shutdown(client);
        SSL_shutdown(server);
    }
    SSL_free(client);
    SSL_free(server);
    ERR_clear_error();
    return session;
}

/* The handshake in a child process, as another weft child would make it:
 * resume_der (a client session from another process) in, the client's new
 * session out.  Returns whether it resumed, -1 when it failed. */
static int handshake_elsewhere(SSL_CTX *server_ctx, SSL_CTX *client_ctx, const unsigned char *resume_der,
                               int resume_length, unsigned char *out_der, int *out_length)
{
    int channel[2];
    if (pipe(channel) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(channel[0]);
        SSL_SESSION *resume = NULL;
        if (resume_der) {
            const unsigned char *cursor = resume_der;
            resume = d2i_SSL_SESSION(NULL, &cursor, resume_length);
        }
        int reused = 0;
        SSL_SESSION *session = handshake(server_ctx, client_ctx, resume, &reused);
        unsigned char message[1 + sizeof(int) + 8192];
        int length = session ? i2d_SSL_SESSION(session, NULL) : 0;
        if (!session || length <= 0 || length > 8192) {
            message[0] = 0xff;
            length = 0;
        } else {
            unsigned char *end = message + 1 + sizeof(int);
            i2d_SSL_SESSION(session, &end);
            message[0] = (unsigned char)reused;
        }
        memcpy(message + 1, &length, sizeof length);
        ssize_t ignored = write(channel[1], message, 1 + sizeof(int) + (size_t)length);
        (void)ignored;
        _exit(0);
    }
    close(channel[1]);
    unsigned char message[1 + sizeof(int) + 8192];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof message && (n = read(channel[0], message + got, sizeof message - got)) > 0)
        got += (size_t)n;
    close(channel[0]);
    waitpid(pid, NULL, 0);
    if (got < 1 + sizeof(int) || message[0] == 0xff)
        return -1;
    memcpy(out_length, message + 1, sizeof(int));
    memcpy(out_der, message + 1 + sizeof(int), (size_t)*out_length);
    return message[0];
}

typedef struct {
    unsigned char der[8192];
    int length;
} saved_session;

static int session_id_length(const saved_session *saved)
{
    const unsigned char *cursor = saved->der;
    SSL_SESSION *session = d2i_SSL_SESSION(NULL, &cursor, saved->length);
    unsigned int length = 0;
    if (session)
        SSL_SESSION_get_id(session, &length);
    SSL_SESSION_free(session);
    return session ? (int)length : -1;
}

/* A full handshake in one process, then a resumption in another. */
static int resume_across(SSL_CTX *server_ctx, SSL_CTX *client_ctx, saved_session *saved)
{
    int first = handshake_elsewhere(server_ctx, client_ctx, NULL, 0, saved->der, &saved->length);
    if (first != 0)
        return -1;
    return handshake_elsewhere(server_ctx, client_ctx, saved->der, saved->length, saved->der, &saved->length);
}

static int resume_saved(SSL_CTX *server_ctx, SSL_CTX *client_ctx, saved_session *saved)
{
    saved_session copy = *saved;
    return handshake_elsewhere(server_ctx, client_ctx, copy.der, copy.length, saved->der, &saved->length);
}

static SSL_CTX *configured_context(session_cache *cache, int cache_mode, bool tickets, int timeout)
{
    SSL_CTX *ctx = new_server_context();
    ssl_session_config own = { .cache = { .mode = cache_mode }, .timeout = timeout, .tickets = tickets };
    attach(ctx, &own, cache);
    return ctx;
}

/* ---- the tests ------------------------------------------------------------- */

static void test_session_ids(session_cache *cache)
{
    SSL_CTX *server = configured_context(cache, CACHE_SHMCB, false, 300);
    SSL_CTX *tls12 = new_client_context(TLS1_2_VERSION, true);
    SSL_CTX *tls13 = new_client_context(TLS1_3_VERSION, false);
    saved_session saved;
    session_cache_stats before = session_cache_statistics(cache);
    is_int(resume_across(server, tls12, &saved), 1, "TLS 1.2: a session ID made in one process resumes in another");
    session_cache_stats after = session_cache_statistics(cache);
    ok(after.stores > before.stores && after.hits > before.hits,
       "the children's stores and hits are in the shared memory the parent sees (%llu stores, %llu hits)",
       (unsigned long long)after.stores, (unsigned long long)after.hits);
    is_int(resume_across(server, tls13, &saved), 1,
           "TLS 1.3 with SSLSessionTickets Off: a stateful ticket resumes in another process");
    /* OpenSSL forgets a TLS 1.3 stateful ticket once used (anti-replay): the
     * renewed one the second handshake gave resumes, through the cache again. */
    is_int(resume_saved(server, tls13, &saved), 1, "the session the resumption gave resumes in a third process");

    SSL_CTX *both = configured_context(cache, CACHE_SHMCB, true, 300);
    before = session_cache_statistics(cache);
    is_int(resume_across(both, tls13, &saved), 1, "TLS 1.3 with tickets and a cache: resumes by ticket");
    is_int(session_cache_statistics(cache).stores, before.stores,
           "(stateless tickets' sessions take no cache slot)");
    SSL_CTX_free(both);

    SSL_CTX *uncached = configured_context(NULL, CACHE_NONE, false, 300);
    is_int(resume_across(uncached, tls12, &saved), 0, "SSLSessionCache none, no tickets: no resumption");
    is_int(session_id_length(&saved), 0, "none: the server sends no session ID");
    SSL_CTX_free(uncached);
    uncached = configured_context(NULL, CACHE_NONE_NOT_NULL, false, 300);
    is_int(resume_across(uncached, tls12, &saved), 0, "SSLSessionCache nonenotnull: no resumption either");
    is_int(session_id_length(&saved), 32, "nonenotnull: but a session ID is sent");
    SSL_CTX_free(uncached);
    SSL_CTX_free(server);
    SSL_CTX_free(tls12);
    SSL_CTX_free(tls13);
}

static void test_tickets(void)
{
    /* No cache: only the shared key can open the ticket elsewhere. */
    SSL_CTX *server = configured_context(NULL, CACHE_NONE, true, 300);
    SSL_CTX *tls12 = new_client_context(TLS1_2_VERSION, false);
    SSL_CTX *tls13 = new_client_context(TLS1_3_VERSION, false);
    saved_session saved, old;
    is_int(resume_across(server, tls13, &saved), 1, "TLS 1.3: a ticket sealed in one process resumes in another");
    is_int(resume_across(server, tls12, &saved), 1, "TLS 1.2: a ticket sealed in one process resumes in another");

    is_int(handshake_elsewhere(server, tls13, NULL, 0, old.der, &old.length), 0, "a ticket before a rotation");
    uint64_t rotations = ticket_keys_rotations();
    ticket_keys_rotate();
    is_int(ticket_keys_rotations(), rotations + 1, "a rotation (as a graceful restart makes)");
    saved = old;
    is_int(resume_saved(server, tls13, &saved), 1, "a ticket of the previous key still resumes after one rotation");
    is_int(resume_saved(server, tls13, &saved), 1, "the ticket it was renewed with resumes too");
    ticket_keys_rotate();
    saved = old;
    is_int(resume_saved(server, tls13, &saved), 0, "after two rotations the first key's ticket no longer resumes");

    /* The schedule: a process that handshakes after the period rotates. */
    is_int(handshake_elsewhere(server, tls12, NULL, 0, old.der, &old.length), 0, "a TLS 1.2 ticket");
    rotations = ticket_keys_rotations();
    ssl_session_clock_offset += 301;
    saved = old;
    is_int(resume_saved(server, tls12, &saved), 1, "one period later, it resumes (sealed with the previous key)");
    is_int(ticket_keys_rotations(), rotations + 1, "the key rotated on schedule, in the child that saw it due");
    ssl_session_clock_offset += 301;
    saved = old;
    is_int(resume_saved(server, tls12, &saved), 0, "two periods later, it does not");
    ssl_session_clock_offset = 0;

    SSL_CTX_free(server);
    SSL_CTX_free(tls12);
    SSL_CTX_free(tls13);
}

static void test_expiry(session_cache *cache)
{
    SSL_CTX *server = configured_context(cache, CACHE_SHMCB, false, 60);
    SSL_CTX *tls12 = new_client_context(TLS1_2_VERSION, true);
    saved_session saved;
    is_int(handshake_elsewhere(server, tls12, NULL, 0, saved.der, &saved.length), 0, "a session with 60 s of life");
    ssl_session_clock_offset += 61;
    is_int(resume_saved(server, tls12, &saved), 0, "61 s later the cache no longer gives it");
    ssl_session_clock_offset = 0;
    SSL_CTX_free(server);
    SSL_CTX_free(tls12);
}

static void test_eviction_and_corruption(void)
{
    char error[256];
    char minimum[32];
    snprintf(minimum, sizeof minimum, "%zu", SESSION_CACHE_MIN_BYTES);
    ok(session_cache_create(100, error, sizeof error) == NULL && strstr(error, minimum),
       "a cache smaller than one set is refused: %s", error);
    session_cache *cache = session_cache_create(SESSION_CACHE_MIN_BYTES, error, sizeof error);
    is_int(session_cache_slot_count(cache), SESSION_CACHE_WAYS, "the smallest size: one set of %d slots", SESSION_CACHE_WAYS);
    unsigned char id[32] = { 0 }, der[SESSION_CACHE_SLOT_BYTES];
    time_t later = ssl_session_now() + 100;
    for (int i = 0; i < SESSION_CACHE_WAYS + 1; i++) {
        id[0] = (unsigned char)i;
        memset(der, 'a' + i, 100);
        session_cache_store(cache, id, 32, der, 100, later);
    }
    id[0] = 0;
    is_int(session_cache_fetch(cache, id, 32, der, sizeof der), 0, "a full cache evicted its oldest entry");
    int present = 0;
    for (int i = 1; i < SESSION_CACHE_WAYS + 1; i++) {
        id[0] = (unsigned char)i;
        present += session_cache_fetch(cache, id, 32, der, sizeof der) == 100 && der[0] == 'a' + i;
    }
    is_int(present, SESSION_CACHE_WAYS, "the newer entries are all there");
    is_int(session_cache_statistics(cache).evictions, 1, "one eviction counted");

    /* An expired entry goes before the oldest live one. */
    id[0] = 100;
    session_cache_store(cache, id, 32, der, 100, ssl_session_now() - 1);
    is_int(session_cache_statistics(cache).evictions, 2, "(the expired one took the oldest's slot)");
    id[0] = 101;
    session_cache_store(cache, id, 32, der, 100, later);
    is_int(session_cache_statistics(cache).evictions, 2, "a store reuses an expired slot without evicting");

    ok(session_cache_store(cache, id, 32, der, sizeof(((cache_slot *)0)->der) + 1, later) == WEFT_DECLINED,
       "a session too large for a slot is not stored");

    /* A child died half-way through a write: lengths or bytes do not match. */
    id[0] = 3;
    cache_slot *slot = NULL;
    for (int i = 0; i < SESSION_CACHE_WAYS; i++)
        if (slot_holds(&cache->slots[i], id, 32))
            slot = &cache->slots[i];
    if (!ok(slot != NULL, "entry 3 is in a slot"))
        return;
    slot->der[10] ^= 0x55;
    is_int(session_cache_fetch(cache, id, 32, der, sizeof der), 0, "a slot whose bytes do not match is ignored");
    id[0] = 4;
    for (int i = 0; i < SESSION_CACHE_WAYS; i++)
        if (slot_holds(&cache->slots[i], id, 32))
            slot = &cache->slots[i];
    slot->der_length = 60000;
    is_int(session_cache_fetch(cache, id, 32, der, sizeof der), 0, "a slot with an impossible length is ignored");
    ok(session_cache_statistics(cache).corrupt == 2, "both counted as corrupt");
    id[0] = 5;
    session_cache_remove(cache, id, 32);
    is_int(session_cache_fetch(cache, id, 32, der, sizeof der), 0, "a removed entry is gone");

    /* A process that dies holding the lock does not stop the others. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&cache->header->lock);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    id[0] = 6;
    ok(session_cache_fetch(cache, id, 32, der, sizeof der) == 100, "the lock of a process that died is taken back");
    session_cache_destroy(cache);
}

/* The cache holds a slot whose checksum is right over bytes that are not a
 * session: the handshake falls back to a full one. */
static void test_garbage_session(session_cache *cache)
{
    SSL_CTX *server = configured_context(cache, CACHE_SHMCB, false, 300);
    SSL_CTX *tls12 = new_client_context(TLS1_2_VERSION, true);
    saved_session saved;
    is_int(handshake_elsewhere(server, tls12, NULL, 0, saved.der, &saved.length), 0, "a cached session");
    int changed = 0;
    for (int i = 0; i < session_cache_slot_count(cache); i++) {
        cache_slot *slot = &cache->slots[i];
        if (slot_is_valid(slot)) {
            memset(slot->der, 0x30, slot->der_length);
            slot->checksum = slot_checksum(slot);
            changed++;
        }
    }
    ok(changed > 0, "its DER overwritten with garbage under a matching checksum");
    is_int(resume_saved(server, tls12, &saved), 0, "the garbage is not resumed, and the handshake completes");
    SSL_CTX_free(server);
    SSL_CTX_free(tls12);
}

static void test_directives(void)
{
    config_parse parse = { .pool = pool_create(4096) };
    cache_setting setting;
    char *argv[1];
    argv[0] = "none";
    ok(set_session_cache(&parse, NULL, &setting, 1, argv) == WEFT_OK && setting.mode == CACHE_NONE, "none");
    argv[0] = "nonenotnull";
    ok(set_session_cache(&parse, NULL, &setting, 1, argv) == WEFT_OK && setting.mode == CACHE_NONE_NOT_NULL,
       "nonenotnull");
    argv[0] = "shmcb:/run/weft/ssl_scache(1024000)";
    ok(set_session_cache(&parse, NULL, &setting, 1, argv) == WEFT_OK && setting.mode == CACHE_SHMCB &&
           setting.bytes == 1024000, "shmcb:/path(bytes)");
    argv[0] = "shmcb:/run/weft/ssl_scache";
    ok(set_session_cache(&parse, NULL, &setting, 1, argv) == WEFT_OK && setting.bytes == SESSION_CACHE_DEFAULT_BYTES,
       "shmcb:/path: 512000 bytes");
    argv[0] = "dbm:/run/weft/ssl_scache";
    ok(set_session_cache(&parse, NULL, &setting, 1, argv) == WEFT_ERROR && strstr(parse.message, "shmcb") &&
           strstr(parse.message, "dbm"), "dbm: refused, naming shmcb: %s", parse.message);
    argv[0] = "shmcb:/x(100)";
    ok(set_session_cache(&parse, NULL, &setting, 1, argv) == WEFT_ERROR, "a size below one set refused: %s",
       parse.message);
    argv[0] = "shmcb:/x(12kb)";
    ok(set_session_cache(&parse, NULL, &setting, 1, argv) == WEFT_ERROR, "a size that is not a number refused");
    argv[0] = "shmcb:(512000)";
    ok(set_session_cache(&parse, NULL, &setting, 1, argv) == WEFT_ERROR, "shmcb: without a path refused");
    pool_destroy(parse.pool);
}

/* config_complete with SSLSessionTicketKeyFile: errors name the directive's
 * line; a good file's key opens tickets and is not rotated. */
static void test_key_file(void)
{
    char directory[] = "/tmp/weft-ssl-session-XXXXXX";
    if (!mkdtemp(directory)) {
        ok(0, "a temporary directory");
        return;
    }
    char missing[128], short_file[128], good[128];
    snprintf(missing, sizeof missing, "%s/missing.key", directory);
    snprintf(short_file, sizeof short_file, "%s/short.key", directory);
    snprintf(good, sizeof good, "%s/ticket.key", directory);
    unsigned char bytes[TICKET_KEY_FILE_BYTES];
    RAND_bytes(bytes, sizeof bytes);
    FILE *out = fopen(short_file, "wb");
    fwrite(bytes, 1, 40, out);
    fclose(out);
    out = fopen(good, "wb");
    fwrite(bytes, 1, sizeof bytes, out);
    fclose(out);

    config_parse parse = { .pool = pool_create(4096) };
    main_context = new_server_context();
    server_config main = { 0 };
    module_settings = (ssl_session_config){ .cache = { .mode = CACHE_SHMCB, .bytes = 65536, .text = "shmcb:x" },
                                            .timeout = 300, .tickets = true,
                                            .ticket_key_file = { .path = missing, .file = "weft.conf", .line = 42 } };
    ok(ssl_session_complete(&parse, &main) == WEFT_ERROR && strncmp(parse.message, "weft.conf:42: ", 14) == 0,
       "a missing key file is an error at its line: %s", parse.message);
    module_settings.ticket_key_file.path = short_file;
    ok(ssl_session_complete(&parse, &main) == WEFT_ERROR && strstr(parse.message, "48 bytes"),
       "a key file of 40 bytes is refused: %s", parse.message);

    module_settings.ticket_key_file.path = good;
    parse.errors = 0;
    ok(ssl_session_complete(&parse, &main) == WEFT_OK && parse.errors == 0, "a 48-byte key file is taken");
    session_cache *first = context_cache(main_context);
    config_parse reload = { .pool = pool_create(4096) };
    ok(ssl_session_complete(&reload, &main) == WEFT_OK, "attaching again to the same context is harmless");
    ok(first && context_cache(main_context) == first && latest_cache->users == 2,
       "a reload with the same cache size keeps the cache (and its sessions)");
    pool_destroy(reload.pool);
    ok(latest_cache && latest_cache->users == 1 && latest_cache->cache == first, "still there for the first");
    reload.pool = pool_create(4096);
    module_settings.cache.bytes = 3 * SESSION_CACHE_MIN_BYTES;
    ssl_session_complete(&reload, &main);
    ok(context_cache(main_context) != first && session_cache_slot_count(context_cache(main_context)) == 24,
       "a reload with another size makes a new one");
    pool_destroy(reload.pool);
    module_settings.cache.bytes = 65536;
    ssl_session_complete(&parse, &main);
    SSL_CTX *tls13 = new_client_context(TLS1_3_VERSION, false);
    saved_session saved, old;
    is_int(handshake_elsewhere(main_context, tls13, NULL, 0, old.der, &old.length), 0, "a ticket of the file's key");
    uint64_t rotations = ticket_keys_rotations();
    ticket_keys_rotate();
    ticket_keys_rotate();
    ssl_session_clock_offset += 1000;
    saved = old;
    is_int(resume_saved(main_context, tls13, &saved), 1, "the file's key is never rotated: its ticket still resumes");
    is_int(ticket_keys_rotations(), rotations, "(no rotation happened)");
    ssl_session_clock_offset = 0;

    SSL_CTX_free(tls13);
    pool_destroy(parse.pool);  /* unmaps the cache config_complete made */
    SSL_CTX_free(main_context);
    main_context = NULL;
    unlink(missing);
    unlink(short_file);
    unlink(good);
    rmdir(directory);
}

int main(void)
{
    make_certificate();
    ok(ticket_keys_configure(NULL, 300) == WEFT_OK, "the ticket key store is made");
    char error[256];
    session_cache *cache = session_cache_create(SESSION_CACHE_DEFAULT_BYTES, error, sizeof error);
    ok(cache != NULL, "a cache of 512000 bytes (%d slots)", cache ? session_cache_slot_count(cache) : 0);
    test_session_ids(cache);
    test_tickets();
    test_expiry(cache);
    test_garbage_session(cache);
    test_eviction_and_corruption();
    test_directives();
    test_key_file();
    session_cache_destroy(cache);
    EVP_PKEY_free(server_key);
    X509_free(server_certificate);
    return done_testing();
}
