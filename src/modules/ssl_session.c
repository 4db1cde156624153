/*
 * ssl_session.c — module "ssl_session": mod_ssl's session resumption
 * directives, and their wiring into the TLS contexts the ssl module built.
 *
 *   SSLSessionCache none|nonenotnull|shmcb:/path[(bytes)]   (server only;
 *       default shmcb of 512000 bytes, so that session IDs resume across
 *       children out of the box — Apache's default is none)
 *   SSLSessionCacheTimeout seconds        (default 300: session life, and
 *       the ticket key rotation period)
 *   SSLSessionTickets On|Off              (default On)
 *   SSLSessionTicketKeyFile path          (server only: 48 bytes, Apache's
 *       layout; that key is used and never rotated)
 *
 * Everything that must be shared is made in the control process, in
 * config_complete, before the children are forked: the cache with the
 * configuration (unmapped with the pool of the last configuration that
 * uses it: a reload with the same size keeps it), the ticket keys once for
 * the life of the process (ssl_tickets.c).
 */
#include "ssl_session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/module.h"
#include "../core/vhost.h"
#include "ssl.h"

enum { CACHE_SHMCB, CACHE_NONE, CACHE_NONE_NOT_NULL };

typedef struct {
    int mode;
    int64_t bytes;
    char *text;  /* as written, for DUMP_CONFIG */
} cache_setting;

typedef struct {
    char *path;  /* resolved against ServerRoot */
    const char *file;
    int line;
} key_file_setting;

typedef struct {
    cache_setting cache;
    int timeout;
    bool tickets;
    key_file_setting ticket_key_file;
} ssl_session_config;

extern const module ssl_session_module;

/* ---- directives ----------------------------------------------------------- */

static int set_session_cache(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    cache_setting *setting = target;
    const char *text = argv[0];
    setting->text = pool_strdup(config_pool(parse), text);
    setting->bytes = SESSION_CACHE_DEFAULT_BYTES;
    if (strcasecmp(text, "none") == 0) {
        setting->mode = CACHE_NONE;
        return WEFT_OK;
    }
    if (strcasecmp(text, "nonenotnull") == 0) {
        setting->mode = CACHE_NONE_NOT_NULL;
        return WEFT_OK;
    }
    if (strncasecmp(text, "shmcb:", 6) != 0) {
        const char *colon = strchr(text, ':');
        return config_error(parse,
                            "SSLSessionCache %s: weft's session cache is shmcb:/path(bytes) (shared by all "
                            "children), none or nonenotnull; %.*s is not available",
                            text, colon ? (int)(colon - text) : (int)strlen(text), text);
    }
    setting->mode = CACHE_SHMCB;
    const char *open = strchr(text + 6, '(');
    if (open) {
        char *end;
        errno = 0;
        unsigned long long bytes = strtoull(open + 1, &end, 10);
        if (end == open + 1 || *end != ')' || end[1] != '\0' || errno || open[1] == '-')
            return config_error(parse, "SSLSessionCache %s: the size in parentheses must be a number of bytes",
                                text);
        if (bytes < SESSION_CACHE_MIN_BYTES || bytes > SESSION_CACHE_MAX_BYTES)
            return config_error(parse, "SSLSessionCache %s: the size must be from %zu to %zu bytes", text,
                                SESSION_CACHE_MIN_BYTES, SESSION_CACHE_MAX_BYTES);
        setting->bytes = (int64_t)bytes;
    }
    if ((open ? open : text + strlen(text)) == text + 6)
        return config_error(parse, "SSLSessionCache %s: shmcb: needs a path, as in Apache "
                                   "(shmcb:/run/weft/ssl_scache(512000))", text);
    return WEFT_OK;
}

static void format_session_cache(FILE *out, const config_directive *d, const void *base)
{
    const cache_setting *setting = (const cache_setting *)((const char *)base + d->offset);
    if (setting->text)
        config_dump_line(out, d, 1, (const char *const *)&setting->text);
}

static int set_key_file(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    key_file_setting *setting = target;
    setting->path = config_resolve_path(parse, argv[0]);
    setting->file = pool_strdup(config_pool(parse), config_file_name(parse));
    setting->line = config_line_number(parse);
    return WEFT_OK;
}

static void format_key_file(FILE *out, const config_directive *d, const void *base)
{
    config_format_string(out, d, base);
}

#define FIELD(field) .scope = SCOPE_SERVER, .offset = offsetof(ssl_session_config, field), \
                     .size = sizeof(((ssl_session_config *)0)->field)

static const config_directive ssl_session_directives[] = {
    { .name = "SSLSessionCache", .contexts = CONTEXT_SERVER_ONLY, FIELD(cache), .min_args = 1, .max_args = 1,
      .set = set_session_cache, .format = format_session_cache,
      .default_value = "shmcb:logs/ssl_scache(512000)", .syntax = "none|nonenotnull|shmcb:/path[(bytes)]",
      .help = "the session cache every child shares, so that a session ID resumes whichever child accepts "
              "it (anonymous shared memory: the path names no file)" },
    { .name = "SSLSessionCacheTimeout", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(timeout), .min_args = 1,
      .max_args = 1, .set = config_set_seconds, .default_value = "300", .syntax = "seconds",
      .help = "how long a session (cached or in a ticket) may be resumed; also how often the ticket key "
              "rotates" },
    { .name = "SSLSessionTickets", .contexts = CONTEXT_SERVER_OR_VHOST, FIELD(tickets), .min_args = 1,
      .max_args = 1, .set = config_set_flag, .default_value = "On", .syntax = "On|Off",
      .help = "session tickets (TLS 1.2 and 1.3), sealed with keys all children share; Off: TLS 1.3 "
              "resumes through the session cache instead" },
    { .name = "SSLSessionTicketKeyFile", .contexts = CONTEXT_SERVER_ONLY, FIELD(ticket_key_file),
      .min_args = 1, .max_args = 1, .set = set_key_file, .format = format_key_file, .syntax = "path",
      .help = "a 48-byte ticket key (16 bytes name, 16 HMAC secret, 16 AES key), read at startup and at "
              "each graceful restart, never rotated" },
    { .name = NULL },
};

#undef FIELD

/* ---- wiring ------------------------------------------------------------- */

static ssl_session_config *settings(const server_config *server)
{
    return module_server_config(server, &ssl_session_module);
}

static int read_key_file(config_parse *parse, const key_file_setting *setting, unsigned char *key)
{
    int fd = open(setting->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return config_error_at(parse, setting->file, setting->line, "SSLSessionTicketKeyFile %s: %s",
                               setting->path, strerror(errno));
    struct stat info;
    ssize_t got = -1;
    if (fstat(fd, &info) == 0 && info.st_size == TICKET_KEY_FILE_BYTES)
        got = read(fd, key, TICKET_KEY_FILE_BYTES);
    close(fd);
    if (got != TICKET_KEY_FILE_BYTES)
        return config_error_at(parse, setting->file, setting->line,
                               "SSLSessionTicketKeyFile %s: must be exactly %d bytes (16 bytes key name, 16 "
                               "bytes HMAC secret, 16 bytes AES key; e.g. openssl rand 48 > file)",
                               setting->path, TICKET_KEY_FILE_BYTES);
    return WEFT_OK;
}

/* A reload that asks for the same size takes the cache over, sessions and
 * all, so that a graceful restart does not cost every client a full
 * handshake; the configurations using it share it until the last one is
 * freed.  Control process only (one thread). */
typedef struct {
    session_cache *cache;
    int64_t bytes;
    int users;
} cache_use;

static cache_use *latest_cache;

static void release_cache(void *data)
{
    cache_use *use = data;
    if (--use->users > 0)
        return;
    session_cache_destroy(use->cache);
    if (latest_cache == use)
        latest_cache = NULL;
    free(use);
}

static session_cache *acquire_cache(config_parse *parse, int64_t bytes, char *error, size_t size)
{
    cache_use *use = latest_cache;
    if (use && use->bytes == bytes) {
        use->users++;
    } else {
        session_cache *cache = session_cache_create((size_t)bytes, error, size);
        if (!cache)
            return NULL;
        use = xmalloc(sizeof *use);
        *use = (cache_use){ .cache = cache, .bytes = bytes, .users = 1 };
        latest_cache = use;
    }
    pool_cleanup_add(config_pool(parse), release_cache, use);
    return use->cache;
}

/* Every server (the main one, then each vhost) with a TLS context. */
static int tls_servers(server_config *main, server_config **servers, int capacity)
{
    int count = 0;
    for (int i = -1; i < vhost_count(main) && count < capacity; i++) {
        server_config *server = i < 0 ? main : vhost_server(main, i);
        if (ssl_server_context(server))
            servers[count++] = server;
    }
    return count;
}

static void attach(SSL_CTX *ctx, const ssl_session_config *own, session_cache *cache)
{
    long timeout = own->timeout > 0 ? own->timeout : 1;
    session_cache_attach(ctx, cache, own->cache.mode == CACHE_NONE_NOT_NULL, timeout);
    ticket_keys_attach(ctx);
    if (own->tickets)
        SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
    else
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
}

static int ssl_session_complete(config_parse *parse, server_config *main)
{
    ssl_session_config *global = settings(main);
    unsigned char key[TICKET_KEY_FILE_BYTES];
    bool have_key = global->ticket_key_file.path != NULL;
    if (have_key && read_key_file(parse, &global->ticket_key_file, key) != WEFT_OK)
        return WEFT_ERROR;

    int capacity = vhost_count(main) + 1;
    server_config **servers = pool_alloc(config_pool(parse), sizeof *servers * (size_t)capacity);
    int count = tls_servers(main, servers, capacity);
    if (count == 0) {
        OPENSSL_cleanse(key, sizeof key);
        return WEFT_OK;
    }

    session_cache *cache = NULL;
    if (global->cache.mode == CACHE_SHMCB) {
        char error[256];
        cache = acquire_cache(parse, global->cache.bytes, error, sizeof error);
        if (!cache)
            return config_error(parse, "SSLSessionCache %s: %s", global->cache.text, error);
    }

    /* A key lives one period after it stops sealing: as long as the
     * longest session lifetime of any server. */
    int period = 1;
    for (int i = 0; i < count; i++)
        if (settings(servers[i])->timeout > period)
            period = settings(servers[i])->timeout;
    int status = ticket_keys_configure(have_key ? key : NULL, period);
    OPENSSL_cleanse(key, sizeof key);
    if (status != WEFT_OK)
        return config_error(parse, "session tickets: cannot map the shared ticket keys or make a key");

    for (int i = 0; i < count; i++)
        attach(ssl_server_context(servers[i]), settings(servers[i]), cache);
    return WEFT_OK;
}

const module ssl_session_module = {
    .name = "ssl_session",
    .directives = ssl_session_directives,
    .server_config_size = sizeof(ssl_session_config),
    .config_complete = ssl_session_complete,
};
