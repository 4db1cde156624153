/*
 * auth_basic.c — Basic authentication against AuthUserFile, with the
 * credential cache and the failure limit (see auth_basic.h).
 */
#include "auth_basic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "../core/blocking.h"
#include "../core/log.h"
#include "../http/request.h"
#include "../http/response.h"
#include "auth_cache.h"
#include "auth_file.h"
#include "password.h"

typedef struct {
    int count;   /* failures that lock an address out; 0 = no limit */
    int window;  /* seconds */
} failure_limit;

typedef struct {
    char *auth_type;      /* "Basic" or "None"; NULL = none set */
    char *auth_name;
    char **providers;     /* AuthBasicProvider's words; NULL = file */
    bool authoritative;
    char *user_file;
    char *group_file;
    int cache_timeout;    /* seconds; 0 = no cache */
} auth_dir_config;

typedef struct {
    failure_limit failures;
} auth_server_config;

/* ---- request time --------------------------------------------------------- */

static const auth_dir_config *dir_config_of(request *r)
{
    return module_dir_config(r->dir, &auth_basic_module);
}

const char *auth_basic_type(request *r)
{
    const char *type = dir_config_of(r)->auth_type;
    return type && strcasecmp(type, "None") != 0 ? type : NULL;
}

void auth_basic_note_failure(request *r)
{
    const char *realm = dir_config_of(r)->auth_name;
    if (!realm)
        return;
    /* Apache's ap_escape_quotes: a quote inside the realm would end it. */
    size_t length = strlen(realm), quotes = 0;
    for (const char *c = realm; *c; c++)
        quotes += *c == '"' || *c == '\\';
    char *value = pool_alloc(r->pool, sizeof("Basic realm=\"\"") + length + quotes);
    char *out = value + sprintf(value, "Basic realm=\"");
    for (const char *c = realm; *c; c++) {
        if (*c == '"' || *c == '\\')
            *out++ = '\\';
        *out++ = *c;
    }
    strcpy(out, "\"");
    response_add_header(r, "WWW-Authenticate", value);
}

/* The value of a base64 character, -1 outside the alphabet. */
static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* RFC 4648 base64, stopping at the first character outside the alphabet
 * (as apr_base64_decode); NULs in the result end the text, as in Apache. */
static char *base64_decode(pool *p, const char *text)
{
    size_t length = 0;
    while (base64_value((unsigned char)text[length]) >= 0)
        length++;
    char *out = pool_alloc(p, length * 3 / 4 + 3);
    size_t written = 0;
    unsigned bits = 0;
    int count = 0;
    for (size_t i = 0; i < length; i++) {
        bits = bits << 6 | (unsigned)base64_value((unsigned char)text[i]);
        if (++count == 4) {
            out[written++] = (char)(bits >> 16);
            out[written++] = (char)(bits >> 8);
            out[written++] = (char)bits;
            bits = 0;
            count = 0;
        }
    }
    if (count == 2) {
        out[written++] = (char)(bits >> 4);
    } else if (count == 3) {
        out[written++] = (char)(bits >> 10);
        out[written++] = (char)(bits >> 2);
    }
    out[written] = '\0';
    return out;
}

const char *auth_basic_log_text(pool *p, const char *text)
{
    if (!text)
        return "-";
    size_t length = 0, special = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++, length++)
        special += *c < 0x20 || *c == 0x7f || *c == '"' || *c == '\\';
    if (!special)
        return text;
    char *out = pool_alloc(p, length + 3 * special + 1), *o = out;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c < 0x20 || *c == 0x7f || *c == '"' || *c == '\\')
            o += sprintf(o, "\\x%02x", *c);
        else
            *o++ = (char)*c;
    }
    *o = '\0';
    return out;
}

static int unauthorized(request *r)
{
    auth_basic_note_failure(r);
    return 401;
}

int auth_basic_authenticate(request *r)
{
    const auth_dir_config *config = dir_config_of(r);
    const char *type = auth_basic_type(r);
    if (!type || strcasecmp(type, "Basic") != 0)
        return WEFT_DECLINED;
    const char *peer = request_client_address(r);
    if (!config->auth_name) {
        log_message(LOG_LEVEL_ERROR, "need AuthName: %s", auth_basic_log_text(r->pool, r->path));
        return 500;
    }
    slice field;
    if (!request_header_slice(r, "Authorization", &field))
        return unauthorized(r);
    char *line = pool_strndup(r->pool, field.data, field.length);
    char *credentials = line + strcspn(line, " \t");
    if (*credentials)
        *credentials++ = '\0';
    if (strcasecmp(line, "Basic") != 0) {
        log_message(LOG_LEVEL_ERROR, "client %s used wrong authentication scheme: %s", peer ? peer : "-",
                    auth_basic_log_text(r->pool, r->path));
        return unauthorized(r);
    }
    credentials += strspn(credentials, " \t");
    char *user = base64_decode(r->pool, credentials);
    char *password = strchr(user, ':');
    if (password)
        *password++ = '\0';
    else
        password = "";
    /* As Apache: the user is known (and logged as %u) before it is checked. */
    r->user = user;
    const char *user_text = auth_basic_log_text(r->pool, user);
    const char *path_text = auth_basic_log_text(r->pool, r->path);

    if (!config->user_file) {
        log_message(LOG_LEVEL_ERROR, "AuthUserFile not specified in the configuration: %s", path_text);
        return 500;
    }
    const char *hash = NULL;
    uint64_t generation = 0;
    if (auth_file_user_hash(config->user_file, user, r->pool, &hash, &generation) != WEFT_OK)
        return 500;

    auth_cache_key key;
    auth_cache_key_of(&key, config->user_file, config->auth_name, user, password);
    if (hash && auth_cache_holds(&key, generation, config->cache_timeout))
        return WEFT_OK;

    const auth_server_config *server = module_server_config(r->server, &auth_basic_module);
    int wait = auth_failures_locked(peer, server->failures.count, server->failures.window);
    if (wait > 0) {
        log_message(LOG_LEVEL_ERROR, "client %s: user %s: authentication refused for \"%s\": %d failures "
                    "within %d s (AuthBasicFailureLimit), retry in %d s", peer ? peer : "-", user_text, path_text,
                    server->failures.count, server->failures.window, wait);
        response_add_header(r, "Retry-After", pool_printf(r->pool, "%d", wait));
        return 429;
    }

    if (!hash) {
        auth_failures_note(peer, server->failures.window);
        if (!config->authoritative)
            return WEFT_DECLINED;
        log_message(LOG_LEVEL_ERROR, "client %s: user %s not found: %s", peer ? peer : "-", user_text, path_text);
        return unauthorized(r);
    }
    /* bcrypt takes milliseconds of CPU on purpose, and a thread waiting
     * for another's check of the same credentials sleeps: either way, the
     * events this thread took with it go to a sibling meanwhile
     * (core/blocking.h). */
    if (password_is_expensive(hash))
        blocking_announce();
    int ticket = -1;
    int check = auth_cache_begin(&key, generation, config->cache_timeout, &ticket);
    bool matches = check == AUTH_CHECK_MATCHED;
    if (check == AUTH_CHECK_YOURS) {
        matches = password_verify(password, hash);
        auth_cache_end(&key, generation, config->cache_timeout, ticket, matches);
        if (log_enabled(LOG_LEVEL_DEBUG))
            log_message(LOG_LEVEL_DEBUG, "user %s: password checked against %s: %s", user_text, config->user_file,
                        matches ? "match" : "mismatch");
    }
    OPENSSL_cleanse((char *)hash, strlen(hash));
    if (!matches) {
        auth_failures_note(peer, server->failures.window);
        log_message(LOG_LEVEL_ERROR, "client %s: user %s: authentication failure for \"%s\": Password Mismatch",
                    peer ? peer : "-", user_text, path_text);
        return unauthorized(r);
    }
    return WEFT_OK;
}

int auth_basic_user_in_groups(request *r, char *const *groups, bool *member)
{
    const auth_dir_config *config = dir_config_of(r);
    *member = false;
    if (!config->group_file) {
        log_message(LOG_LEVEL_ERROR, "No group file was specified in the configuration: %s",
                    auth_basic_log_text(r->pool, r->path));
        return WEFT_OK;
    }
    return auth_file_user_in_groups(config->group_file, r->user, groups, member);
}

/* Expressions' %{AUTH_TYPE}: the scheme that authenticated r->user. */
static const char *auth_basic_variable(request *r, const char *name)
{
    if (strcmp(name, "AUTH_TYPE") != 0 || !r->user || !r->dir)
        return NULL;
    return auth_basic_type(r);
}

/* ---- configuration -------------------------------------------------------- */

static int set_auth_type(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    const char *type = argv[0];
    if (strcasecmp(type, "Digest") == 0)
        return config_error(parse, "AuthType Digest is not supported: mod_auth_digest is not built into weft "
                                   "(use AuthType Basic, over TLS)");
    if (strcasecmp(type, "Form") == 0)
        return config_error(parse, "AuthType Form is not supported: mod_auth_form is not built into weft "
                                   "(use AuthType Basic, over TLS)");
    if (strcasecmp(type, "Basic") != 0 && strcasecmp(type, "None") != 0)
        return config_error(parse, "AuthType %s is not supported: weft has AuthType Basic and None", type);
    *(char **)target = pool_strdup(config_pool(parse), strcasecmp(type, "Basic") == 0 ? "Basic" : "None");
    return WEFT_OK;
}

static int set_providers(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcasecmp(argv[i], "file") != 0 && strcasecmp(argv[i], "socache") != 0)
            return config_error(parse, "Unknown Authn provider: %s: weft has the file provider only "
                                       "(AuthUserFile; socache is its built-in credential cache)", argv[i]);
    *(char ***)target = config_words_appended(parse, d, NULL, argc, argv);
    return WEFT_OK;
}

/* mod_authn_socache's switch: weft's cache always covers the file
 * provider, so the line only has to name it. */
static int set_cache_provide_for(config_parse *parse, const config_directive *d, void *target, int argc,
                                 char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcasecmp(argv[i], "file") != 0)
            return config_error(parse, "AuthnCacheProvideFor %s: weft has the file provider only", argv[i]);
    return WEFT_OK;
}

static int set_failure_limit(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    failure_limit *limit = target;
    char *end;
    long count = strtol(argv[0], &end, 10);
    if (*end || end == argv[0] || count < 0 || count > 1000000)
        return config_error(parse, "AuthBasicFailureLimit: '%s' is not a number of failures (0 = no limit)", argv[0]);
    long window = 60;
    if (argc > 1) {
        window = strtol(argv[1], &end, 10);
        if (*end || end == argv[1] || window < 1 || window > 86400)
            return config_error(parse, "AuthBasicFailureLimit: '%s' is not a number of seconds (1 to 86400)", argv[1]);
    }
    limit->count = (int)count;
    limit->window = (int)window;
    return WEFT_OK;
}

static void format_nothing(FILE *out, const config_directive *d, const void *base) {}

static void format_failure_limit(FILE *out, const config_directive *d, const void *base)
{
    const failure_limit *limit = (const failure_limit *)((const char *)base + d->offset);
    char count[16], window[16];
    snprintf(count, sizeof(count), "%d", limit->count);
    snprintf(window, sizeof(window), "%d", limit->window);
    const char *argv[2] = { count, window };
    config_dump_line(out, d, 2, argv);
}

#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(auth_dir_config, field), \
                         .size = sizeof(((auth_dir_config *)0)->field)

static const config_directive auth_directives[] = {
    { .name = "AuthType", .contexts = CONTEXT_SECTIONS, DIR_FIELD(auth_type), .min_args = 1, .max_args = 1,
      .set = set_auth_type, .format = config_format_string, .syntax = "Basic|None",
      .help = "the authentication scheme of this section (Basic; None turns it off)",
      .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "AuthName", .contexts = CONTEXT_SECTIONS, DIR_FIELD(auth_name), .min_args = 1, .max_args = 1,
      .set = config_set_string, .syntax = "realm",
      .help = "the realm the browser shows when it asks for a password", .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "AuthBasicProvider", .contexts = CONTEXT_SECTIONS, DIR_FIELD(providers), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_providers, .format = config_format_words,
      .syntax = "file [socache]", .help = "where users are looked up: file (AuthUserFile)",
      .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "AuthBasicAuthoritative", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(authoritative), .min_args = 1,
      .max_args = 1, .set = config_set_flag, .default_value = "On", .syntax = "On|Off",
      .help = "Off: an unknown user is left to other modules (weft has none: 500)",
      .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "AuthUserFile", .contexts = CONTEXT_SECTIONS, DIR_FIELD(user_file), .min_args = 1, .max_args = 1,
      .set = config_set_path, .syntax = "path",
      .help = "the htpasswd file of users and password hashes (bcrypt, apr1, SHA, crypt)",
      .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "AuthGroupFile", .contexts = CONTEXT_SECTIONS, DIR_FIELD(group_file), .min_args = 1, .max_args = 1,
      .set = config_set_path, .syntax = "path", .help = "the file of groups (\"group: user user ...\") for Require group",
      .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "AuthnCacheTimeout", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(cache_timeout), .min_args = 1,
      .max_args = 1, .set = config_set_seconds, .default_value = "300", .syntax = "seconds",
      .help = "how long a successful password check is remembered (0: never)",
      .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "AuthnCacheProvideFor", .contexts = CONTEXT_SECTIONS, .scope = SCOPE_DIRECTORY, .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_cache_provide_for, .format = format_nothing, .syntax = "file",
      .help = "accepted for mod_authn_socache configurations: weft always caches the file provider's checks",
      .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "AuthnCacheSOCache", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER, .min_args = 1,
      .max_args = 1, .set = config_set_ignored, .syntax = "type[:arguments]",
      .help = "accepted for mod_authn_socache configurations: weft's cache is in each child's memory" },
    { .name = "AuthnCacheEnable", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER, .min_args = 0,
      .max_args = 0, .set = config_set_ignored, .syntax = "",
      .help = "accepted for mod_authn_socache configurations: weft's cache is always on" },
    { .name = "AuthnCacheContext", .contexts = CONTEXT_SECTIONS, .scope = SCOPE_DIRECTORY, .min_args = 1,
      .max_args = 1, .set = config_set_ignored, .syntax = "directory|server|custom-string",
      .help = "accepted for mod_authn_socache configurations: weft's cache keys on the user file and realm" },
    { .name = "AuthBasicFailureLimit", .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,
      .offset = offsetof(auth_server_config, failures), .size = sizeof(failure_limit), .min_args = 1,
      .max_args = 2, .set = set_failure_limit, .format = format_failure_limit, .default_value = "10 60",
      .syntax = "count [seconds]",
      .help = "wrong passwords from one address within the seconds that make it wait (429) until they end; 0: no limit" },
    { .name = NULL },
};
#undef DIR_FIELD

const module auth_basic_module = {
    .name = "auth_basic",
    .directives = auth_directives,
    .server_config_size = sizeof(auth_server_config),
    .dir_config_size = sizeof(auth_dir_config),
    .variable = auth_basic_variable,
};
