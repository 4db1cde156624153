/*
 * ssl_stapling.c — OCSP stapling: the directives, the table of certificates
 * built at configuration time, the shared region and the handshake's status
 * callback (see ssl_stapling.h; the background fetches are in
 * ssl_stapling_fetch.c).
 *
 *   SSLUseStapling On|Off                     server, vhost; Off
 *   SSLStaplingCache shmcb:/path(bytes)        server; needed by SSLUseStapling On
 *   SSLStaplingResponderTimeout seconds        10
 *   SSLStaplingStandardCacheTimeout seconds    3600
 *   SSLStaplingErrorCacheTimeout seconds       600
 *   SSLStaplingReturnResponderErrors On|Off    On
 *   SSLStaplingResponseMaxAge seconds|-1       -1
 *   SSLStaplingResponseTimeSkew seconds        300
 *   SSLStaplingForceURL url                    none
 *   SSLStaplingFakeTryLater On|Off             On
 */
#include "ssl_stapling.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/x509v3.h>

#include "../os/os.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../core/vhost.h"
#include "ssl.h"

extern const module ssl_stapling_module;

#define DEFAULT_CACHE_SIZE 512000       /* mod_socache_shmcb's */
#define MAX_SLOT_SIZE (64 * 1024)       /* far above any real OCSP response */
#define MIN_RESPONSE_ROOM 1024
#define REGION_HEAD_SIZE ((sizeof(stapling_region) + 63) & ~(size_t)63)

static stapling_server_config *settings_of(const server_config *server)
{
    return module_server_config(server, &ssl_stapling_module);
}

/* ---- URLs and the cache specification ----------------------------------- */

int stapling_parse_cache_spec(const char *spec, int64_t *size, char *error, size_t error_size)
{
    if (strncasecmp(spec, "shmcb:", 6) != 0) {
        snprintf(error, error_size,
                 "only 'shmcb:/path(bytes)' is supported (weft keeps the responses in shared memory), not '%s'",
                 spec);
        return WEFT_ERROR;
    }
    const char *path = spec + 6;
    const char *open = strchr(path, '(');
    if (open == path || !*path) {
        snprintf(error, error_size, "'%s' names no path after shmcb:", spec);
        return WEFT_ERROR;
    }
    if (!open) {
        *size = DEFAULT_CACHE_SIZE;
        return WEFT_OK;
    }
    char *end;
    errno = 0;
    long long value = strtoll(open + 1, &end, 10);
    if (errno || end == open + 1 || *end != ')' || end[1] || value < 8192 || value > (1ll << 30)) {
        snprintf(error, error_size, "bad size in '%s' (bytes in parentheses, from 8192 to 1073741824)", spec);
        return WEFT_ERROR;
    }
    *size = value;
    return WEFT_OK;
}

char *stapling_responder_url(X509 *cert, const char *force_url)
{
    if (force_url)
        return xstrdup(force_url);
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    char *url = NULL;
    if (urls && sk_OPENSSL_STRING_num(urls) > 0)
        url = xstrdup(sk_OPENSSL_STRING_value(urls, 0));
    X509_email_free(urls);  /* the documented way to free X509_get1_ocsp's list */
    return url;
}

int stapling_split_url(const char *url, char **host, char **port, char **path)
{
    int tls = 0;
    char *parsed_host = NULL, *parsed_port = NULL, *parsed_path = NULL, *query = NULL;
    if (strncasecmp(url, "http://", 7) != 0 ||
        !OSSL_HTTP_parse_url(url, &tls, NULL, &parsed_host, &parsed_port, NULL, &parsed_path, &query, NULL) ||
        tls || !*parsed_host) {
        OPENSSL_free(parsed_host);
        OPENSSL_free(parsed_port);
        OPENSSL_free(parsed_path);
        OPENSSL_free(query);
        ERR_clear_error();
        return WEFT_ERROR;
    }
    *host = xstrdup(parsed_host);
    *port = xstrdup(parsed_port);
    bool has_query = query && *query;
    size_t length = strlen(parsed_path) + (has_query ? strlen(query) + 1 : 0) + 1;
    *path = xmalloc(length);
    snprintf(*path, length, "%s%s%s", parsed_path, has_query ? "?" : "", has_query ? query : "");
    OPENSSL_free(parsed_host);
    OPENSSL_free(parsed_port);
    OPENSSL_free(parsed_path);
    OPENSSL_free(query);
    return WEFT_OK;
}

/* ---- the shared region --------------------------------------------------- */

stapling_slot *stapling_slot_at(const stapling_region *region, uint32_t index)
{
    return (stapling_slot *)((char *)region + REGION_HEAD_SIZE + (size_t)index * region->slot_size);
}

void stapling_region_lock(stapling_region *region)
{
    /* A child killed while copying leaves the mutex to its survivors
     * (robust); what it was writing is consistent, because a response's
     * length is set only once its bytes are in place. */
    os_shared_mutex_lock(&region->lock);
}

void stapling_region_unlock(stapling_region *region)
{
    pthread_mutex_unlock(&region->lock);
}

static stapling_region *region_create(uint32_t count, uint32_t slot_size, size_t *size)
{
    *size = REGION_HEAD_SIZE + (size_t)count * slot_size;
    stapling_region *region = os_shared_region(*size);  /* zeroed: every slot due at once, no response */
    if (!region)
        return NULL;
    if (os_shared_mutex_init(&region->lock) != 0) {
        munmap(region, *size);
        return NULL;
    }
    region->count = count;
    region->slot_size = slot_size;
    return region;
}

bool stapling_slot_claim(stapling_slot *slot, int64_t now, int32_t pid, int lease_seconds)
{
    if (now < slot->refresh_at || now < slot->lease_until)
        return false;
    slot->lease_until = now + lease_seconds;
    slot->lease_pid = pid;
    return true;
}

int64_t stapling_slot_next_check(const stapling_slot *slot)
{
    return slot->refresh_at > slot->lease_until ? slot->refresh_at : slot->lease_until;
}

/* ---- the handshake's side ------------------------------------------------ */

/* OCSPResponse { responseStatus tryLater(3) }: what mod_ssl sends when the
 * responder could not be asked (SSLStaplingFakeTryLater). */
static const unsigned char try_later_response[] = { 0x30, 0x03, 0x0a, 0x01, 0x03 };

long stapling_response_for(stapling_table *table, const stapling_cert *cert, int64_t now, unsigned char **der)
{
    const stapling_server_config *settings = cert->settings;
    stapling_slot *slot = stapling_slot_at(table->region, cert->slot);
    long length = 0;
    unsigned char *copy = NULL;
    stapling_region_lock(table->region);
    bool current = slot->response_length > 0 && now < slot->valid_until;
    if (current && (slot->response_state == STAPLING_GOOD || settings->return_errors)) {
        copy = OPENSSL_malloc(slot->response_length);
        if (copy) {
            memcpy(copy, slot->response, slot->response_length);
            length = (long)slot->response_length;
        }
    } else if (!current && slot->state == STAPLING_FAILED && settings->fake_try_later && settings->return_errors) {
        copy = OPENSSL_memdup(try_later_response, sizeof try_later_response);
        length = copy ? (long)sizeof try_later_response : 0;
    }
    stapling_region_unlock(table->region);
    *der = copy;
    return length;
}

int stapling_status_callback(SSL *ssl, void *arg)
{
    stapling_table *table = arg;
    X509 *cert = SSL_get_certificate(ssl);  /* the one chosen for this client (RSA or ECDSA) */
    if (!cert || !table->region)
        return SSL_TLSEXT_ERR_NOACK;
    const stapling_cert *entry = NULL;
    for (int i = 0; i < table->count && !entry; i++)
        if (table->certs[i].cert == cert)
            entry = &table->certs[i];
    for (int i = 0; i < table->count && !entry; i++)
        if (X509_cmp(table->certs[i].cert, cert) == 0)
            entry = &table->certs[i];
    if (!entry)
        return SSL_TLSEXT_ERR_NOACK;
    unsigned char *der;
    long length = stapling_response_for(table, entry, (int64_t)time(NULL), &der);
    if (length <= 0)
        return SSL_TLSEXT_ERR_NOACK;
    if (!SSL_set_tlsext_status_ocsp_resp(ssl, der, length)) {
        OPENSSL_free(der);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* ---- building the table (control process) -------------------------------- */

static void certificate_name(X509 *cert, char *out, size_t size)
{
    X509_NAME_oneline(X509_get_subject_name(cert), out, (int)size);
}

static X509 *find_issuer(SSL_CTX *ctx, X509 *cert, STACK_OF(X509) *chain)
{
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *candidate = sk_X509_value(chain, i);
        if (X509_check_issued(candidate, cert) == X509_V_OK) {
            X509_up_ref(candidate);
            return candidate;
        }
    }
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509_STORE_CTX *store_context = X509_STORE_CTX_new();
    X509 *issuer = NULL;
    if (store && store_context && X509_STORE_CTX_init(store_context, store, NULL, NULL) &&
        X509_STORE_CTX_get1_issuer(&issuer, store_context, cert) != 1)
        issuer = NULL;
    X509_STORE_CTX_free(store_context);
    ERR_clear_error();
    return issuer;
}

static void cert_release(stapling_cert *entry)
{
    X509_free(entry->cert);
    X509_free(entry->issuer);
    sk_X509_pop_free(entry->untrusted, X509_free);
    X509_STORE_free(entry->trusted);
    OCSP_CERTID_free(entry->id);
    free(entry->url);
    free(entry->host);
    free(entry->port);
    free(entry->path);
}

/* Adds one certificate of a context; false (after a warning) when it
 * cannot be stapled. */
static bool add_certificate(config_parse *parse, stapling_table *table, SSL_CTX *ctx, X509 *cert,
                            STACK_OF(X509) *chain, const stapling_server_config *settings)
{
    char name[256];
    certificate_name(cert, name, sizeof name);
    for (int i = 0; i < table->count; i++)
        if (table->certs[i].cert == cert)
            return true;
    stapling_cert entry = { .settings = settings };
    entry.issuer = find_issuer(ctx, cert, chain);
    if (!entry.issuer) {
        config_warning(parse, "SSLUseStapling: no issuer certificate for '%s' in its chain or the CA "
                       "certificates: OCSP stapling disabled for it", name);
        return false;
    }
    entry.url = stapling_responder_url(cert, settings->force_url);
    if (!entry.url) {
        config_warning(parse, "SSLUseStapling: '%s' names no OCSP responder (no authorityInfoAccess OCSP URI, "
                       "no SSLStaplingForceURL): OCSP stapling disabled for it", name);
        cert_release(&entry);
        return false;
    }
    if (stapling_split_url(entry.url, &entry.host, &entry.port, &entry.path) != WEFT_OK) {
        config_warning(parse, "SSLUseStapling: OCSP responder '%s' of '%s' is not an http:// URL: "
                       "OCSP stapling disabled for it", entry.url, name);
        cert_release(&entry);
        return false;
    }
    entry.id = OCSP_cert_to_id(NULL, cert, entry.issuer);
    entry.untrusted = sk_X509_new_null();
    entry.trusted = X509_STORE_new();
    bool built = entry.id && entry.untrusted && entry.trusted && X509_STORE_add_cert(entry.trusted, entry.issuer) &&
                 X509_STORE_set_flags(entry.trusted, X509_V_FLAG_PARTIAL_CHAIN) &&
                 X509_add_cert(entry.untrusted, entry.issuer, X509_ADD_FLAG_UP_REF) &&
                 X509_add_certs(entry.untrusted, chain, X509_ADD_FLAG_UP_REF | X509_ADD_FLAG_NO_DUP);
    ERR_clear_error();
    if (!built) {
        config_warning(parse, "SSLUseStapling: cannot build the OCSP request for '%s': OCSP stapling disabled "
                       "for it", name);
        cert_release(&entry);
        return false;
    }
    X509_up_ref(cert);
    entry.cert = cert;
    if (table->count == table->capacity) {
        table->capacity = table->capacity ? table->capacity * 2 : 4;
        stapling_cert *grown = xcalloc((size_t)table->capacity, sizeof *grown);
        if (table->count)
            memcpy(grown, table->certs, (size_t)table->count * sizeof *grown);
        free(table->certs);
        table->certs = grown;
    }
    /* The same certificate in several contexts (a wildcard one in many
     * vhosts): one slot, one fetch. */
    entry.slot = (uint32_t)table->slot_count;
    for (int i = 0; i < table->count; i++)
        if (!table->certs[i].shares_slot && X509_cmp(table->certs[i].cert, cert) == 0 &&
            strcmp(table->certs[i].url, entry.url) == 0) {
            entry.slot = table->certs[i].slot;
            entry.shares_slot = true;
        }
    if (!entry.shares_slot)
        table->slot_count++;
    table->certs[table->count++] = entry;
    return true;
}

/* Every certificate of the context (an RSA and an ECDSA one side by side). */
static void add_context(config_parse *parse, stapling_table *table, SSL_CTX *ctx,
                        const stapling_server_config *settings)
{
    for (long more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); more == 1;
         more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
        X509 *cert = SSL_CTX_get0_certificate(ctx);
        STACK_OF(X509) *chain = NULL;
        SSL_CTX_get0_chain_certs(ctx, &chain);
        if (sk_X509_num(chain) <= 0)
            SSL_CTX_get_extra_chain_certs(ctx, &chain);
        if (cert)
            add_certificate(parse, table, ctx, cert, chain, settings);
    }
    SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);
    ERR_clear_error();
}

/* The control process's tables, newest first (a configuration being
 * loaded, the one serving, one being retired): a reload starts from the
 * newest one's responses, so a graceful restart (certbot's daily one
 * included) staples at once and asks no responder before they are due.  A
 * reload that fails frees its table, and the serving one is newest again. */
static stapling_table *newest_table;

static void carry_over(stapling_table *table, stapling_table *previous)
{
    size_t room = table->region->slot_size - sizeof(stapling_slot);
    for (int i = 0; i < table->count; i++) {
        const stapling_cert *cert = &table->certs[i];
        for (int j = 0; j < previous->count; j++) {
            const stapling_cert *old = &previous->certs[j];
            if (OCSP_id_cmp(cert->id, old->id) != 0 || strcmp(cert->url, old->url) != 0)
                continue;
            stapling_slot *to = stapling_slot_at(table->region, cert->slot);
            stapling_region_lock(previous->region);
            const stapling_slot *from = stapling_slot_at(previous->region, old->slot);
            if (from->response_length <= room) {
                memcpy(to, from, sizeof(stapling_slot) + from->response_length);
                to->lease_until = 0;  /* an old child's fetch goes to the old region */
                to->lease_pid = 0;
            }
            stapling_region_unlock(previous->region);
            break;
        }
    }
}

static void table_cleanup(void *data)
{
    stapling_table *table = data;
    for (stapling_table **link = &newest_table; *link; link = &(*link)->older)
        if (*link == table) {
            *link = table->older;
            break;
        }
    stapling_thread_stop(table);
    for (int i = 0; i < table->count; i++)
        cert_release(&table->certs[i]);
    free(table->certs);
    if (table->region)
        munmap(table->region, table->region_size);
}

static server_config *server_at(server_config *main, int index)
{
    return index == 0 ? main : vhost_server(main, index - 1);
}

static int stapling_config_complete(config_parse *parse, server_config *main)
{
    int servers = 1 + vhost_count(main);
    const stapling_server_config *first = NULL;
    for (int i = 0; i < servers && !first; i++) {
        const stapling_server_config *settings = settings_of(server_at(main, i));
        if (settings->use.on && ssl_server_context(server_at(main, i)))
            first = settings;
    }
    if (!first)
        return WEFT_OK;
    stapling_server_config *main_settings = settings_of(main);
    if (!main_settings->cache.spec)
        return config_error_at(parse, first->use.file, first->use.line,
                               "SSLUseStapling On needs an SSLStaplingCache (e.g. shmcb:/run/weft/ocsp(128000)), "
                               "as in mod_ssl");

    stapling_table *table = pool_calloc(config_pool(parse), sizeof *table);
    pool_cleanup_add(config_pool(parse), table_cleanup, table);
    SSL_CTX **seen = xcalloc((size_t)servers, sizeof *seen);
    int seen_count = 0;
    for (int i = 0; i < servers; i++) {
        server_config *server = server_at(main, i);
        const stapling_server_config *settings = settings_of(server);
        SSL_CTX *ctx = ssl_server_context(server);
        bool done = false;
        for (int j = 0; j < seen_count; j++)
            done |= seen[j] == ctx;
        if (!ctx || !settings->use.on || done)
            continue;
        seen[seen_count++] = ctx;
        add_context(parse, table, ctx, settings);
        SSL_CTX_set_tlsext_status_cb(ctx, stapling_status_callback);
        SSL_CTX_set_tlsext_status_arg(ctx, table);
    }
    free(seen);
    if (table->count == 0)
        return WEFT_OK;

    /* The configured size bounds the region: it is shared out among the
     * certificates. */
    int64_t per_slot = main_settings->cache.size / table->slot_count;
    if (per_slot > MAX_SLOT_SIZE)
        per_slot = MAX_SLOT_SIZE;
    per_slot &= ~(int64_t)63;
    if (per_slot < (int64_t)(sizeof(stapling_slot) + MIN_RESPONSE_ROOM))
        return config_error(parse, "SSLStaplingCache %s is too small for %d certificates (at least %zu bytes each)",
                            main_settings->cache.spec, table->slot_count, sizeof(stapling_slot) + MIN_RESPONSE_ROOM);
    table->region = region_create((uint32_t)table->slot_count, (uint32_t)per_slot, &table->region_size);
    if (!table->region)
        return config_error(parse, "SSLStaplingCache: cannot map %zu bytes of shared memory: %s",
                            (size_t)per_slot * (size_t)table->slot_count, strerror(errno));
    if (newest_table)
        carry_over(table, newest_table);
    table->older = newest_table;
    newest_table = table;
    main_settings->table = table;
    return WEFT_OK;
}

static void stapling_child_init(const server_config *server)
{
    stapling_table *table = settings_of(server)->table;
    if (table && table->region)
        stapling_thread_start(table);
}

/* ---- directives ---------------------------------------------------------- */

static int set_use_stapling(config_parse *parse, const config_directive *directive, void *target, int argc,
                            char **argv)
{
    stapling_use_setting *use = target;
    use->file = config_file_name(parse);
    use->line = config_line_number(parse);
    return config_set_flag(parse, directive, &use->on, argc, argv);
}

static void format_use_stapling(FILE *out, const config_directive *directive, const void *base)
{
    const stapling_use_setting *use = (const void *)((const char *)base + directive->offset);
    const char *value = use->on ? "On" : "Off";
    config_dump_line(out, directive, 1, &value);
}

static int set_cache(config_parse *parse, const config_directive *directive, void *target, int argc, char **argv)
{
    stapling_cache_setting *cache = target;
    char error[256];
    if (stapling_parse_cache_spec(argv[0], &cache->size, error, sizeof error) != WEFT_OK)
        return config_error(parse, "SSLStaplingCache: %s", error);
    cache->spec = pool_strdup(config_pool(parse), argv[0]);
    return WEFT_OK;
}

static int set_max_age(config_parse *parse, const config_directive *directive, void *target, int argc, char **argv)
{
    if (strcmp(argv[0], "-1") == 0) {
        *(int *)target = -1;
        return WEFT_OK;
    }
    return config_set_seconds(parse, directive, target, argc, argv);
}

static void format_max_age(FILE *out, const config_directive *directive, const void *base)
{
    char value[16];
    snprintf(value, sizeof value, "%d", *(const int *)((const char *)base + directive->offset));
    const char *argument = value;
    config_dump_line(out, directive, 1, &argument);
}

static int set_force_url(config_parse *parse, const config_directive *directive, void *target, int argc,
                         char **argv)
{
    char *host, *port, *path;
    if (stapling_split_url(argv[0], &host, &port, &path) != WEFT_OK)
        return config_error(parse, "SSLStaplingForceURL needs an http:// URL, not '%s'", argv[0]);
    free(host);
    free(port);
    free(path);
    return config_set_string(parse, directive, target, argc, argv);
}

#define FIELD(field) .scope = SCOPE_SERVER, .offset = offsetof(stapling_server_config, field), \
                     .size = sizeof(((stapling_server_config *)0)->field), .min_args = 1, .max_args = 1

static const config_directive stapling_directives[] = {
    { .name = "SSLUseStapling", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(use), .set = set_use_stapling,
      .format = format_use_stapling, .default_value = "Off", .syntax = "On|Off",
      .help = "staple an OCSP response to the handshake (fetched in the background by one child for all, "
              "never while a client waits)" },
    { .name = "SSLStaplingCache", .contexts = CONTEXT_SERVER_ONLY, FIELD(cache), .set = set_cache,
      .format = config_format_string, .syntax = "shmcb:/path[(bytes)]",
      .help = "shared memory for the OCSP responses of all children; the bytes bound it (default 512000), "
              "the path is not used" },
    { .name = "SSLStaplingResponderTimeout", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(responder_timeout),
      .set = config_set_seconds, .default_value = "10", .syntax = "seconds",
      .help = "how long a background fetch waits for the OCSP responder" },
    { .name = "SSLStaplingStandardCacheTimeout", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(standard_timeout),
      .set = config_set_seconds, .default_value = "3600", .syntax = "seconds",
      .help = "a good response is fetched again after this long (earlier if its nextUpdate comes first)" },
    { .name = "SSLStaplingErrorCacheTimeout", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(error_timeout),
      .set = config_set_seconds, .default_value = "600", .syntax = "seconds",
      .help = "a failed fetch, or a response that is not 'good', is retried after this long" },
    { .name = "SSLStaplingReturnResponderErrors", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(return_errors),
      .set = config_set_flag, .default_value = "On", .syntax = "On|Off",
      .help = "On: also staple responses saying revoked or unknown and the responder's error answers; "
              "Off: only 'good' ones" },
    { .name = "SSLStaplingResponseMaxAge", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(max_age),
      .set = set_max_age, .format = format_max_age, .default_value = "-1", .syntax = "seconds|-1",
      .help = "oldest thisUpdate accepted and stapled; -1: no limit" },
    { .name = "SSLStaplingResponseTimeSkew", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(time_skew),
      .set = config_set_seconds, .default_value = "300", .syntax = "seconds",
      .help = "clock difference tolerated when checking thisUpdate and nextUpdate" },
    { .name = "SSLStaplingForceURL", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(force_url),
      .set = set_force_url, .format = config_format_string, .syntax = "http://url",
      .help = "ask this OCSP responder instead of the certificate's authorityInfoAccess one" },
    { .name = "SSLStaplingFakeTryLater", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(fake_try_later),
      .set = config_set_flag, .default_value = "On", .syntax = "On|Off",
      .help = "when the responder could not be asked and no valid response is held, staple a 'tryLater' answer "
              "(with SSLStaplingReturnResponderErrors On)" },
    { .name = NULL },
};
#undef FIELD

const module ssl_stapling_module = {
    .name = "ssl_stapling",
    .directives = stapling_directives,
    .server_config_size = sizeof(stapling_server_config),
    .config_complete = stapling_config_complete,
    .child_init = stapling_child_init,
};
