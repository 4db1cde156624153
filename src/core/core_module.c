/*
 * core_module.c — the core directives (Apache's core plus Listen, which
 * Apache keeps in the MPM layer) and the checks that need the whole
 * configuration.  Defaults follow Apache 2.4 except where weft's own layout
 * differs (DocumentRoot "www", PidFile under logs/).
 */
#include "config.h"
#include "htaccess.h"
#include "log.h"
#include "module.h"
#include "server.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define STRINGIFY_VALUE(x) #x
#define STRINGIFY(x) STRINGIFY_VALUE(x)
#define SERVER_FIELD(field) .scope = SCOPE_SERVER, .offset = offsetof(server_config, field), \
                            .size = sizeof(((server_config *)0)->field)
#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(dir_config, field), \
                         .size = sizeof(((dir_config *)0)->field)

static int set_server_root(config_parse *parse, const config_directive *d, void *target, int argc,
                           char **argv)
{
    char *real = realpath(config_resolve_path(parse, argv[0]), NULL);
    struct stat info;
    bool usable = real && stat(real, &info) == 0 && S_ISDIR(info.st_mode);
    if (usable)
        *(char **)target = pool_strdup(config_pool(parse), real);
    free(real);
    return usable ? WEFT_OK : config_error(parse, "ServerRoot must be a valid directory, not '%s'", argv[0]);
}

static int set_document_root(config_parse *parse, const config_directive *d, void *target, int argc,
                             char **argv)
{
    char *path = config_resolve_path(parse, argv[0]);
    size_t length = strlen(path);
    while (length > 1 && path[length - 1] == '/')
        path[--length] = '\0';
    *(char **)target = path;
    return WEFT_OK;
}

/* [scheme://]host[:port], as Apache's; checked here so that a typo is a -t
 * error rather than a wrong port in every self-referential URL. */
static int set_server_name(config_parse *parse, const config_directive *d, void *target, int argc,
                           char **argv)
{
    const char *name = argv[0];
    const char *separator = strstr(name, "://");
    const char *host = separator ? separator + 3 : name;
    size_t scheme_length = separator ? (size_t)(separator - name) : 0;
    if (separator && !((scheme_length == 4 && strncasecmp(name, "http", 4) == 0) ||
                       (scheme_length == 5 && strncasecmp(name, "https", 5) == 0)))
        return config_error(parse, "ServerName %s: the scheme must be http or https", name);
    const char *after_host = host[0] == '[' ? strchr(host, ']') : host;
    if (!after_host)
        return config_error(parse, "ServerName %s: an IPv6 address needs its closing ']'", name);
    const char *colon = strchr(after_host, ':');
    int port;
    if (colon && !config_parse_port(colon + 1, &port))
        return config_error(parse, "ServerName %s: the port must be a number from 1 to 65535", name);
    if ((colon ? colon : host + strlen(host)) == host)
        return config_error(parse, "ServerName %s: the host name is missing", name);
    *(char **)target = pool_strdup(config_pool(parse), name);
    return WEFT_OK;
}

static int set_server_tokens(config_parse *parse, const config_directive *d, void *target, int argc,
                             char **argv)
{
    static const struct {
        const char *name;
        server_tokens_level level;
    } levels[] = {
        { "Prod", SERVER_TOKENS_PROD },   { "ProductOnly", SERVER_TOKENS_PROD },
        { "Major", SERVER_TOKENS_MAJOR }, { "Minor", SERVER_TOKENS_MINOR },
        { "Min", SERVER_TOKENS_MINIMAL }, { "Minimal", SERVER_TOKENS_MINIMAL },
        { "OS", SERVER_TOKENS_OS },       { "Full", SERVER_TOKENS_FULL },
    };
    for (size_t i = 0; i < COUNT_OF(levels); i++) {
        if (strcasecmp(argv[0], levels[i].name) == 0) {
            *(server_tokens_level *)target = levels[i].level;
            return WEFT_OK;
        }
    }
    /* Apache quietly takes anything unknown as Full; a typo deserves better. */
    return config_error(parse, "ServerTokens takes Prod, Major, Minor, Minimal, OS or Full, not '%s'",
                        argv[0]);
}

/* ---- ServerSignature, HostnameLookups, DefaultRuntimeDir, Mutex ---------- */

typedef struct {
    const char *name;
    int value;
} keyword;

static const keyword signature_keywords[] = {
    { "Off", SERVER_SIGNATURE_OFF }, { "On", SERVER_SIGNATURE_ON }, { "EMail", SERVER_SIGNATURE_EMAIL },
};
static const keyword lookup_keywords[] = {
    { "Off", HOSTNAME_LOOKUPS_OFF }, { "On", HOSTNAME_LOOKUPS_ON }, { "Double", HOSTNAME_LOOKUPS_DOUBLE },
};

static int set_keyword(config_parse *parse, const config_directive *d, void *target, const keyword *words,
                       size_t count, const char *text)
{
    for (size_t i = 0; i < count; i++) {
        if (strcasecmp(text, words[i].name) == 0) {
            *(int *)target = words[i].value;
            return WEFT_OK;
        }
    }
    return config_error(parse, "%s takes %s, not '%s'", d->name, d->syntax, text);
}

static void format_keyword(FILE *out, const config_directive *d, const void *base, const keyword *words,
                           size_t count)
{
    int value = *(const int *)((const char *)base + d->offset);
    for (size_t i = 0; i < count; i++)
        if (words[i].value == value)
            config_dump_line(out, d, 1, &words[i].name);
}

static int set_server_signature(config_parse *parse, const config_directive *d, void *target, int argc,
                                char **argv)
{
    return set_keyword(parse, d, target, signature_keywords, COUNT_OF(signature_keywords), argv[0]);
}

static void format_server_signature(FILE *out, const config_directive *d, const void *base)
{
    format_keyword(out, d, base, signature_keywords, COUNT_OF(signature_keywords));
}

static int set_hostname_lookups(config_parse *parse, const config_directive *d, void *target, int argc,
                                char **argv)
{
    return set_keyword(parse, d, target, lookup_keywords, COUNT_OF(lookup_keywords), argv[0]);
}

static void format_hostname_lookups(FILE *out, const config_directive *d, const void *base)
{
    format_keyword(out, d, base, lookup_keywords, COUNT_OF(lookup_keywords));
}

/* Mutex mechanism [default|mutex-name] ... [OmitPID]: weft's children take
 * no accept mutex (each has its own listening sockets) and it has no other
 * cross-process lock, so only the syntax is checked; names of mutexes of
 * modules weft lacks (ssl-cache, rewrite-map...) are accepted as Apache
 * accepts them when the module is loaded. */
static int set_mutex(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    static const char *const plain[] = { "default", "none", "posixsem", "sysvsem", "sem", "pthread" };
    static const char *const with_directory[] = { "fcntl", "flock", "file" };
    const char *mechanism = argv[0];
    const char *colon = strchr(mechanism, ':');
    size_t length = colon ? (size_t)(colon - mechanism) : strlen(mechanism);
    bool known = false;
    for (size_t i = 0; i < COUNT_OF(plain) && !known; i++)
        known = !colon && strcasecmp(mechanism, plain[i]) == 0;
    for (size_t i = 0; i < COUNT_OF(with_directory) && !known; i++)
        known = strlen(with_directory[i]) == length && strncasecmp(mechanism, with_directory[i], length) == 0;
    if (!known)
        return config_error(parse, "Mutex: unknown mechanism '%s' (default, none, posixsem, sysvsem, sem, "
                                   "pthread, fcntl[:dir], flock[:dir], file[:dir])", mechanism);
    if (colon && !colon[1])
        return config_error(parse, "Mutex: '%s' names no directory after the colon", mechanism);
    for (int i = 1; i < argc; i++) {
        bool last = i == argc - 1;
        if (strcasecmp(argv[i], "OmitPID") == 0 && !last)
            return config_error(parse, "Mutex: OmitPID must come last");
        if (!argv[i][0])
            return config_error(parse, "Mutex: an empty mutex name");
    }
    return WEFT_OK;
}

static int set_runtime_dir(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    char *path = config_resolve_path(parse, argv[0]);
    size_t length = strlen(path);
    while (length > 1 && path[length - 1] == '/')
        path[--length] = '\0';
    *(char **)target = path;
    return WEFT_OK;
}

/* ---- memory bounds of a request head ------------------------------------ */

#define HEAD_SIZE_MIN 1024
#define HEAD_SIZE_MAX (16 * 1024 * 1024)
#define BUDGET_MIN (64 * 1024)

/* LimitRequestHeadSize: a bound on what a parked connection may buffer, so
 * never "unlimited"; 16 MiB was the ceiling before the directive existed. */
static int set_head_size(config_parse *parse, const config_directive *d, void *target, int argc,
                         char **argv)
{
    int value;
    if (config_set_integer(parse, d, &value, argc, argv) != WEFT_OK)
        return WEFT_ERROR;
    if (value < HEAD_SIZE_MIN || value > HEAD_SIZE_MAX)
        return config_error(parse, "%s must be between %d and %d bytes, not %s", d->name, HEAD_SIZE_MIN,
                            HEAD_SIZE_MAX, argv[0]);
    *(int *)target = value;
    return WEFT_OK;
}

/* RequestBufferBudget: 0 turns it off; a budget smaller than one head
 * would refuse heads the limits allow. */
static int set_buffer_budget(config_parse *parse, const config_directive *d, void *target, int argc,
                             char **argv)
{
    int64_t value;
    if (config_set_size(parse, d, &value, argc, argv) != WEFT_OK)
        return WEFT_ERROR;
    if (value != 0 && value < BUDGET_MIN)
        return config_error(parse, "%s must be 0 (no budget) or at least %d bytes, not %s", d->name,
                            BUDGET_MIN, argv[0]);
    *(int64_t *)target = value;
    return WEFT_OK;
}

static void format_head_size(FILE *out, const config_directive *d, const void *base)
{
    char text[32];
    snprintf(text, sizeof text, "%d", ((const server_config *)base)->limit_request_head_size);
    const char *argument = text;
    config_dump_line(out, d, 1, &argument);
}

static void format_buffer_budget(FILE *out, const config_directive *d, const void *base)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)((const server_config *)base)->request_buffer_budget);
    const char *argument = text;
    config_dump_line(out, d, 1, &argument);
}

/* ---- Options ----------------------------------------------------------- */

static const char *option_name(unsigned bits)
{
    static const char *const names[] = { "Indexes", "FollowSymLinks", "ExecCGI", "Includes", "MultiViews",
                                         "SymLinksIfOwnerMatch" };
    for (size_t i = 0; i < COUNT_OF(names); i++)
        if (bits & (1u << i))
            return names[i];
    return "?";
}

static int parse_options(config_parse *parse, int argc, char **argv, options_setting *out)
{
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {
        { "None", 0 },
        { "All", OPTION_ALL },
        { "Indexes", OPTION_INDEXES },
        { "FollowSymLinks", OPTION_FOLLOW_SYMLINKS },
        { "ExecCGI", OPTION_EXEC_CGI },
        { "Includes", OPTION_INCLUDES },
        { "IncludesNOEXEC", OPTION_INCLUDES },  /* weft runs no SSI commands either way */
        { "MultiViews", OPTION_MULTIVIEWS },
        { "SymLinksIfOwnerMatch", OPTION_SYMLINKS_IF_OWNER_MATCH },
    };
    *out = (options_setting){ .relative = argv[0][0] == '+' || argv[0][0] == '-' };
    for (int i = 0; i < argc; i++) {
        char sign = argv[i][0] == '+' || argv[i][0] == '-' ? argv[i][0] : '\0';
        if ((sign != '\0') != out->relative)
            return config_error(parse, "Either all Options must start with + or -, or no Option may.");
        const char *word = argv[i] + (sign != '\0');
        size_t n = 0;
        while (n < COUNT_OF(names) && strcasecmp(word, names[n].name) != 0)
            n++;
        if (n == COUNT_OF(names))
            return config_error(parse, "Illegal option %s", word);
        if (sign && n == 0)
            return config_error(parse, "Options None cannot be used with + or -");
        unsigned bits = names[n].bits;
        if (bits == OPTION_INCLUDES && sign != '-')
            config_warning(parse, "Options %s has no effect in weft: it has no server-side includes (mod_include)",
                           names[n].name);
        if (sign == '+') {
            out->add |= bits;
            out->remove &= ~bits;
        } else if (sign == '-') {
            out->remove |= bits;
            out->add &= ~bits;
        } else {
            out->value = n == 0 ? 0 : out->value | bits;
        }
    }
    return WEFT_OK;
}

void config_options_combine(options_setting *base, const options_setting *child)
{
    if (!child->relative) {
        *base = *child;
    } else if (base->relative) {
        base->add = (base->add & ~child->remove) | child->add;
        base->remove = (base->remove & ~child->add) | child->remove;
    } else {
        base->value = (base->value & ~child->remove) | child->add;
    }
}

static int set_options(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    options_setting parsed;
    if (parse_options(parse, argc, argv, &parsed) != WEFT_OK)
        return WEFT_ERROR;
    /* AllowOverride Options=...: an .htaccess file may name only those. */
    unsigned refused = (parsed.value | parsed.add | parsed.remove) & ~config_options_allowed(parse);
    if (refused)
        return config_error(parse, "Option %s not allowed here", option_name(refused));
    /* Two Options lines in one section add up, as in Apache. */
    const void *base = (const char *)target - d->offset;
    if (config_was_set(base, d))
        config_options_combine(target, &parsed);
    else
        *(options_setting *)target = parsed;
    return WEFT_OK;
}

/* AccessFileName: names, not paths; the first that exists in a directory counts. */
static int set_access_file_names(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    char **names = pool_alloc(config_pool(parse), sizeof(char *) * (size_t)(argc + 1));
    for (int i = 0; i < argc; i++) {
        if (strchr(argv[i], '/') || strcmp(argv[i], ".") == 0 || strcmp(argv[i], "..") == 0 || !argv[i][0])
            return config_error(parse, "AccessFileName %s: a file name, without '/'", argv[i]);
        names[i] = pool_strdup(config_pool(parse), argv[i]);
    }
    names[argc] = NULL;
    *(char ***)target = names;
    return WEFT_OK;
}

static void merge_options(void *merged, const void *child, pool *p)
{
    config_options_combine(merged, child);
}

/* ---- DirectoryIndex, SetHandler, logs ---------------------------------- */

static int set_directory_index(config_parse *parse, const config_directive *d, void *target, int argc,
                               char **argv)
{
    char ***list = target;
    for (int i = 0; i < argc; i++) {
        if (strcasecmp(argv[i], "disabled") == 0) {
            if (argc > 1)
                return config_error(parse, "DirectoryIndex 'disabled' must be the only argument");
            *list = pool_calloc(config_pool(parse), sizeof(char *));
            return WEFT_OK;
        }
    }
    /* As in Apache 2.4, a second DirectoryIndex in the same place appends. */
    *list = config_words_appended(parse, d, *list, argc, argv);
    return WEFT_OK;
}

static int set_use_canonical_name(config_parse *parse, const config_directive *d, void *target, int argc,
                                  char **argv)
{
    static const char *const names[] = { "Off", "On", "DNS" };
    for (int i = 0; i < (int)COUNT_OF(names); i++)
        if (strcasecmp(argv[0], names[i]) == 0) {
            *(int *)target = i;
            return WEFT_OK;
        }
    return config_error(parse, "UseCanonicalName must be On, Off or DNS, not '%s'", argv[0]);
}

static void format_use_canonical_name(FILE *out, const config_directive *d, const void *base)
{
    static const char *const names[] = { "Off", "On", "DNS" };
    int value = *(const int *)((const char *)base + d->offset);
    const char *name = names[value >= 0 && value <= 2 ? value : 0];
    config_dump_line(out, d, 1, &name);
}

static int set_handler(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (!module_handler_exists(argv[0])) {
        char names[512];
        module_handler_names(names, sizeof(names));
        const char *owner = module_of_handler(argv[0], NULL);
        if (owner)
            return config_error(parse, "SetHandler %s: that is a handler of %s, which is not built into weft; "
                                       "weft has %s, or None", argv[0], owner, names);
        return config_error(parse, "SetHandler %s: no handler of that name in weft; weft has %s, or None",
                            argv[0], names);
    }
    *(char **)target = strcasecmp(argv[0], "None") == 0 ? NULL : pool_strdup(config_pool(parse), argv[0]);
    return WEFT_OK;
}

static int set_error_log(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    const char *value = argv[0];
    bool syslog = strncmp(value, "syslog", 6) == 0 && (value[6] == '\0' || value[6] == ':');
    if (syslog && value[6] && log_syslog_facility(value + 7) < 0)
        return config_error(parse, "ErrorLog: unknown syslog facility '%s' (local0..local7, daemon, user, ...)",
                            value + 7);
    if (value[0] == '|' && !value[1 + (value[1] == '|' || value[1] == '$')])
        return config_error(parse, "ErrorLog: the piped log \"%s\" names no program", value);
    bool special = strcmp(value, "/dev/stderr") == 0 || strcmp(value, "/dev/stdout") == 0 || syslog ||
                   value[0] == '|';
    *(char **)target = special ? pool_strdup(config_pool(parse), value) : config_resolve_path(parse, value);
    return WEFT_OK;
}

/* Apache 2.4: LogLevel [module:]level ...  The plain level is the log's;
 * weft has one error log level, so a module's own is accepted and not
 * applied (docs/migration.md), with a warning when weft lacks the module. */
static int set_log_level(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    bool main_level = false;
    for (int i = 0; i < argc; i++) {
        const char *colon = strchr(argv[i], ':');
        int level = log_level_parse(colon ? colon + 1 : argv[i]);
        if (level < 0)
            return config_error(parse, "LogLevel requires level keyword: one of "
                                       "emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8, "
                                       "or module:level, not '%s'", argv[i]);
        if (!colon) {
            *(int *)target = level;
            main_level = true;
            continue;
        }
        char *module_name = pool_printf(config_pool(parse), "%.*s", (int)(colon - argv[i]), argv[i]);
        char ***module_levels = (char ***)((char *)target + offsetof(server_config, log_module_levels) -
                                           offsetof(server_config, log_level));
        int count = 0;
        while (*module_levels && (*module_levels)[count])
            count++;
        char **grown = pool_alloc(config_pool(parse), sizeof(char *) * (size_t)(count + 2));
        if (count)
            memcpy(grown, *module_levels, sizeof(char *) * (size_t)count);
        grown[count] = pool_strdup(config_pool(parse), argv[i]);
        grown[count + 1] = NULL;
        *module_levels = grown;
        if (!module_is_present(module_name) && !module_is_present(pool_printf(config_pool(parse), "%s_module", module_name))) {
            char name[128];
            module_apache_name(module_name, name, sizeof(name));
            config_warning(parse, "LogLevel %s: %s is not built into weft; ignored", argv[i], name);
        }
    }
    /* Only module levels: the log's own stays what it was (or the default). */
    if (!main_level && !config_was_set_here(parse, d))
        *(int *)target = log_level_parse(d->default_value);
    return WEFT_OK;
}

/* Apache's LoadModule: what weft has is built in, so the file is not opened. */
static int set_load_module(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (module_is_present(argv[0]))
        return WEFT_OK;
    char name[128];
    module_apache_name(argv[0], name, sizeof(name));
    if (module_is_replaced(argv[0]))
        config_warning(parse, "LoadModule %s: weft has its own MPM (worker-style threads with an event loop) "
                              "and ignores %s; its <IfModule> sections are skipped", argv[0], name);
    else
        config_warning(parse, "LoadModule %s: %s is not built into weft; its directives will be refused",
                       argv[0], name);
    return WEFT_OK;
}

static void format_nothing(FILE *out, const config_directive *d, const void *base)
{
}

/* ---- Listen ------------------------------------------------------------ */

static bool parse_port(const char *text, in_port_t *port)
{
    int value;
    if (!config_parse_port(text, &value))
        return false;
    *port = htons((in_port_t)value);
    return true;
}

static bool same_address(const listen_address *a, const listen_address *b)
{
    return a->address_length == b->address_length && memcmp(&a->address, &b->address, a->address_length) == 0;
}

/* "8080" alone means 0.0.0.0:8080, IPv4 only: Apache would also bind [::],
 * but dual-stack behaviour differs between systems and weft prefers a
 * predictable default.  Write "[::]:8080" as well to serve IPv6. */
static int set_listen(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    const char *text = argv[0];
    pool *p = config_pool(parse);
    listen_address entry = { .text = pool_strdup(p, text), .file = config_file_name(parse),
                             .line = config_line_number(parse) };
    char *host = NULL;
    const char *port_text = text;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return config_error(parse, "Invalid address in Listen '%s': use [IPv6-address]:port", text);
        host = pool_strndup(p, text + 1, (size_t)(close - text - 1));
        port_text = close + 2;
    } else if (strchr(text, ':')) {
        const char *colon = strrchr(text, ':');
        if (colon != strchr(text, ':'))
            return config_error(parse, "Invalid address in Listen '%s': IPv6 addresses go in brackets, "
                                       "like [::1]:8080", text);
        host = pool_strndup(p, text, (size_t)(colon - text));
        port_text = colon + 1;
    }

    in_port_t port;
    if (!parse_port(port_text, &port))
        return config_error(parse, "Invalid port in Listen '%s': must be a number from 1 to 65535", text);

    struct sockaddr_in *v4 = (struct sockaddr_in *)&entry.address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&entry.address;
    if (text[0] == '[') {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = port;
        entry.address_length = sizeof(*v6);
        if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1)
            return config_error(parse, "Invalid IPv6 address in Listen '%s'", text);
    } else {
        v4->sin_family = AF_INET;
        v4->sin_port = port;
        entry.address_length = sizeof(*v4);
        v4->sin_addr.s_addr = htonl(INADDR_ANY);
        if (host && *host && strcmp(host, "*") != 0 && inet_pton(AF_INET, host, &v4->sin_addr) != 1)
            return config_error(parse, "Invalid address in Listen '%s': weft needs a numeric IPv4 address "
                                       "or a bracketed IPv6 address", text);
    }

    if (argc > 1) {
        if (strcasecmp(argv[1], "https") == 0)
            entry.https = true;
        else if (strcasecmp(argv[1], "http") != 0)
            return config_error(parse, "Listen protocol must be http or https, not '%s'", argv[1]);
    }

    server_config *server = config_server(parse);
    for (int i = 0; i < server->listen_count; i++)
        if (same_address(&server->listens[i], &entry))
            return config_error(parse, "Cannot define multiple Listeners on the same IP:port");
    listen_address *grown = pool_alloc(p, sizeof(*grown) * (size_t)(server->listen_count + 1));
    if (server->listen_count)
        memcpy(grown, server->listens, sizeof(*grown) * (size_t)server->listen_count);
    grown[server->listen_count] = entry;
    server->listens = grown;
    server->listen_count++;
    return WEFT_OK;
}

/* ---- printing values back (weft -D DUMP_CONFIG) --------------------------- */

static void format_server_tokens(FILE *out, const config_directive *d, const void *base)
{
    static const char *const names[] = { [SERVER_TOKENS_PROD] = "Prod",       [SERVER_TOKENS_MAJOR] = "Major",
                                         [SERVER_TOKENS_MINOR] = "Minor",     [SERVER_TOKENS_MINIMAL] = "Minimal",
                                         [SERVER_TOKENS_OS] = "OS",           [SERVER_TOKENS_FULL] = "Full" };
    server_tokens_level level = *(const server_tokens_level *)((const char *)base + d->offset);
    const char *name = (size_t)level < COUNT_OF(names) ? names[level] : "Full";
    config_dump_line(out, d, 1, &name);
}

static void format_options(FILE *out, const config_directive *d, const void *base)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        { OPTION_INDEXES, "Indexes" },       { OPTION_FOLLOW_SYMLINKS, "FollowSymLinks" },
        { OPTION_SYMLINKS_IF_OWNER_MATCH, "SymLinksIfOwnerMatch" }, { OPTION_EXEC_CGI, "ExecCGI" },
        { OPTION_INCLUDES, "Includes" },     { OPTION_MULTIVIEWS, "MultiViews" },
    };
    const options_setting *options = (const options_setting *)((const char *)base + d->offset);
    char words[COUNT_OF(names) * 2][32];
    const char *argv[COUNT_OF(names) * 2];
    int argc = 0;
    for (size_t i = 0; i < COUNT_OF(names); i++) {
        unsigned bit = names[i].bit;
        bool plus = options->relative ? (options->add & bit) != 0 : (options->value & bit) != 0;
        bool minus = options->relative && (options->remove & bit);
        if (plus) {
            snprintf(words[argc], sizeof words[argc], "%s%s", options->relative ? "+" : "", names[i].name);
            argv[argc] = words[argc];
            argc++;
        }
        if (minus) {
            snprintf(words[argc], sizeof words[argc], "-%s", names[i].name);
            argv[argc] = words[argc];
            argc++;
        }
    }
    if (argc == 0)
        argv[argc++] = "None";
    config_dump_line(out, d, argc, argv);
}

static void format_directory_index(FILE *out, const config_directive *d, const void *base)
{
    char *const *names = *(char **const *)((const char *)base + d->offset);
    if (names && !names[0]) {
        const char *disabled = "disabled";
        config_dump_line(out, d, 1, &disabled);
        return;
    }
    config_format_words(out, d, base);
}

static void format_log_level(FILE *out, const config_directive *d, const void *base)
{
    const char *name = log_level_name(*(const int *)((const char *)base + d->offset));
    config_dump_line(out, d, 1, &name);
}

static void format_listen(FILE *out, const config_directive *d, const void *base)
{
    const server_config *server = base;
    for (int i = 0; i < server->listen_count; i++) {
        const char *words[2] = { server->listens[i].text, "https" };
        config_dump_line(out, d, server->listens[i].https ? 2 : 1, words);
    }
}

/* ---- the table --------------------------------------------------------- */

static const config_directive core_directives[] = {
    { .name = "ServerRoot", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(server_root), .min_args = 1,
      .max_args = 1, .set = set_server_root, .format = config_format_string, .syntax = "directory",
      .help = "the directory relative paths start from (also the -d option)" },
    { .name = "ServerName", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(server_name), .min_args = 1,
      .max_args = 1, .set = set_server_name, .format = config_format_string, .syntax = "[scheme://]host[:port]",
      .help = "the host name the server uses to identify itself" },
    { .name = "DocumentRoot", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(document_root),
      .min_args = 1, .max_args = 1, .set = set_document_root, .format = config_format_string, .default_value = "www",
      .syntax = "directory", .help = "the directory the URL space is served from" },
    { .name = "PidFile", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(pid_file), .min_args = 1,
      .max_args = 1, .set = config_set_path, .default_value = "logs/weft.pid", .syntax = "file",
      .help = "the file the parent process writes its process id to" },
    { .name = "Timeout", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(timeout), .min_args = 1,
      .max_args = 1, .set = config_set_seconds, .default_value = "60", .syntax = "seconds",
      .help = "how long to wait for a client to send or accept data" },
    { .name = "KeepAlive", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(keep_alive), .min_args = 1,
      .max_args = 1, .set = config_set_flag, .default_value = "On", .syntax = "On|Off",
      .help = "whether a connection may carry more than one request" },
    { .name = "KeepAliveTimeout", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(keep_alive_timeout_ms),
      .min_args = 1, .max_args = 1, .set = config_set_milliseconds, .default_value = "5",
      .syntax = "seconds|Nms", .help = "how long an idle persistent connection waits for the next request" },
    { .name = "MaxKeepAliveRequests", .contexts = CONTEXT_SERVER_OR_VHOST,
      SERVER_FIELD(max_keep_alive_requests), .min_args = 1, .max_args = 1, .set = config_set_integer,
      .default_value = "100", .syntax = "number",
      .help = "requests per persistent connection, 0 for unlimited" },
    { .name = "LimitRequestLine", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(limit_request_line),
      .min_args = 1, .max_args = 1, .set = config_set_integer, .default_value = "8190", .syntax = "bytes",
      .help = "the longest request line accepted" },
    { .name = "LimitRequestFieldSize", .contexts = CONTEXT_SERVER_OR_VHOST,
      SERVER_FIELD(limit_request_field_size), .min_args = 1, .max_args = 1, .set = config_set_integer,
      .default_value = "8190", .syntax = "bytes", .help = "the longest request header field accepted" },
    { .name = "LimitRequestFields", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(limit_request_fields),
      .min_args = 1, .max_args = 1, .set = config_set_integer, .default_value = "100", .syntax = "number",
      .help = "the most request header fields accepted, 0 for unlimited" },
    { .name = "LimitRequestHeadSize", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(limit_request_head_size),
      .min_args = 1, .max_args = 1, .set = set_head_size, .format = format_head_size, .default_value = "65536",
      .syntax = "bytes",
      .help = "the largest whole request head (request line and header fields) accepted: 431 beyond it, "
              "414 if the request line alone is longer; 1024 to 16777216" },
    { .name = "RequestBufferBudget", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(request_buffer_budget),
      .min_args = 1, .max_args = 1, .set = set_buffer_budget, .format = format_buffer_budget,
      .default_value = "67108864", .syntax = "bytes",
      .help = "the request heads and bodies one child may hold in memory beyond 4 KiB per connection; "
              "past it, the connections holding the most for the longest are cut; 0 for no budget" },
    { .name = "LimitRequestBody", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(limit_request_body),
      .min_args = 1, .max_args = 1, .set = config_set_size, .default_value = "1073741824",
      .syntax = "bytes", .help = "the largest request body accepted, 0 for unlimited", .overrides = OVERRIDE_ALL },
    { .name = "ServerTokens", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(server_tokens), .min_args = 1,
      .max_args = 1, .set = set_server_tokens, .format = format_server_tokens, .default_value = "Full",
      .syntax = "Prod|Major|Minor|Minimal|OS|Full", .help = "how much the Server response field tells" },
    { .name = "ServerAdmin", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(server_admin), .min_args = 1,
      .max_args = 1, .set = config_set_string, .syntax = "email-address|URL",
      .help = "whom the 500 error page tells users to contact; the address ServerSignature EMail links to; "
              "SERVER_ADMIN for CGI scripts" },
    { .name = "ServerSignature", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(server_signature), .min_args = 1,
      .max_args = 1, .set = set_server_signature, .format = format_server_signature, .default_value = "Off",
      .syntax = "On|Off|EMail",
      .help = "the line naming the server, host and port at the foot of error pages and directory "
              "listings (EMail: with a mailto link to ServerAdmin)", .overrides = OVERRIDE_ALL },
    { .name = "HostnameLookups", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(hostname_lookups), .min_args = 1,
      .max_args = 1, .set = set_hostname_lookups, .format = format_hostname_lookups, .default_value = "Off",
      .syntax = "On|Off|Double",
      .help = "look up the client's host name (reverse DNS) for %h in logs and REMOTE_HOST; Double "
              "also checks that the name resolves back to the address" },
    { .name = "AccessFileName", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(access_file_names),
      .min_args = 1, .max_args = ARGS_UNLIMITED, .set = set_access_file_names, .format = config_format_words,
      .default_value = ".htaccess", .syntax = "filename ...",
      .help = "the names of per-directory configuration files, tried in order where AllowOverride allows any" },
    { .name = "DefaultRuntimeDir", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(default_runtime_dir),
      .min_args = 1, .max_args = 1, .set = set_runtime_dir, .format = config_format_string,
      .syntax = "directory", .help = "where a relative ScoreBoardFile goes (ServerRoot when unset)" },
    { .name = "Mutex", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER, .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_mutex, .syntax = "mechanism [default|mutex-name] ... [OmitPID]",
      .help = "accepted and checked; weft takes no cross-process lock to apply it to" },
    { .name = "Options", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(options), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_options, .merge = merge_options, .format = format_options,
      .default_value = "FollowSymLinks", .syntax = "[+|-]option ...",
      .help = "None, All, Indexes, FollowSymLinks, SymLinksIfOwnerMatch, ExecCGI, Includes, MultiViews",
      .overrides = OVERRIDE_OPTIONS },
    { .name = "DirectoryIndex", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(directory_index), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_directory_index, .format = format_directory_index, .default_value = "index.html",
      .syntax = "disabled|file ...", .help = "the files to serve for a request naming a directory",
      .overrides = OVERRIDE_INDEXES },
    { .name = "EnableSendfile", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(enable_sendfile),
      .min_args = 1, .max_args = 1, .set = config_set_flag, .default_value = "On", .syntax = "On|Off",
      .help = "send files larger than FileCacheMaxFile with sendfile(2); Off reads them into memory "
              "first (for file systems where sendfile misbehaves, as Apache's)", .overrides = OVERRIDE_FILEINFO },
    { .name = "UseCanonicalName", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(use_canonical_name),
      .min_args = 1, .max_args = 1, .set = set_use_canonical_name, .format = format_use_canonical_name,
      .default_value = "Off", .syntax = "On|Off|DNS",
      .help = "the host and port of self-referential URLs (redirects, SERVER_NAME): Off the client's Host, "
              "On ServerName's, DNS the local address" },
    { .name = "SetHandler", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(handler), .min_args = 1, .max_args = 1,
      .set = set_handler, .format = config_format_string, .syntax = "handler|None", .help = "the handler that serves every request here",
      .overrides = OVERRIDE_FILEINFO },
    { .name = "ErrorLog", .contexts = CONTEXT_SERVER_OR_VHOST, SERVER_FIELD(error_log), .min_args = 1,
      .max_args = 1, .set = set_error_log, .format = config_format_string, .default_value = "logs/error_log",
      .syntax = "file|/dev/stderr|syslog[:facility]|\"|program\"",
      .help = "where the error log goes: a file (relative to ServerRoot), syslog (facility local7 "
              "unless named) or a program reading the lines on its standard input" },
    { .name = "LogLevel", .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,
      .offset = offsetof(server_config, log_level),
      .size = offsetof(server_config, log_module_levels) + sizeof(char **) - offsetof(server_config, log_level),
      .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_log_level, .format = format_log_level, .default_value = "warn",
      .syntax = "level [module:level ...]",
      .help = "the least important messages the error log records" },
    { .name = "Listen", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(listens), .min_args = 1, .max_args = 2,
      .set = set_listen, .format = format_listen, .syntax = "[address:]port [http|https]",
      .help = "an address and port to accept connections on (repeatable)" },
    { .name = "Define", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_SERVER, .min_args = 1, .max_args = 2,
      .set = config_set_define, .syntax = "name [value]",
      .help = "defines a name for <IfDefine> and, with a value, ${name} in the lines that follow" },
    { .name = "UnDefine", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_SERVER, .min_args = 1, .max_args = 1,
      .set = config_set_define, .syntax = "name", .help = "forgets a name Define or -D defined" },
    { .name = "LoadModule", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER, .min_args = 2, .max_args = 2,
      .set = set_load_module, .format = format_nothing, .syntax = "module file",
      .help = "Apache's: accepted for a module weft has built in (the file is not opened), a warning "
              "for one it lacks" },
    { .name = "Include", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_SERVER, .min_args = 1, .max_args = 1,
      .set = config_set_include, .syntax = "file|directory|wildcard",
      .help = "reads more configuration files; a wildcard must match something" },
    { .name = "IncludeOptional", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_SERVER, .min_args = 1,
      .max_args = 1, .set = config_set_include, .syntax = "file|directory|wildcard",
      .help = "reads more configuration files if there are any" },
    { .name = NULL },
};

static const char *server_header_for(server_tokens_level level)
{
    switch (level) {
    case SERVER_TOKENS_PROD: return WEFT_NAME;
    case SERVER_TOKENS_MAJOR: return WEFT_NAME "/" STRINGIFY(WEFT_VERSION_MAJOR);
    case SERVER_TOKENS_MINOR:
        return WEFT_NAME "/" STRINGIFY(WEFT_VERSION_MAJOR) "." STRINGIFY(WEFT_VERSION_MINOR);
    case SERVER_TOKENS_MINIMAL: return WEFT_NAME "/" WEFT_VERSION;
    case SERVER_TOKENS_OS:
    case SERVER_TOKENS_FULL: break;
    }
    return WEFT_NAME "/" WEFT_VERSION " (Unix)";
}

/* "Options +Indexes" at top level is relative to the default, which only
 * the table knows: resolve it once here so root_dir is always absolute. */
static void resolve_root_options(config_parse *parse, server_config *server)
{
    options_setting *root = &server->root_dir->options;
    if (!root->relative)
        return;
    const config_directive *row = &core_directives[0];
    while (strcmp(row->name, "Options") != 0)
        row++;
    char *words[16];
    int count = 0;
    char *copy = pool_strdup(config_pool(parse), row->default_value);
    char *state = NULL;
    for (char *word = strtok_r(copy, " \t", &state); word && count < 16; word = strtok_r(NULL, " \t", &state))
        words[count++] = word;
    options_setting base = { 0 };
    if (count > 0)
        parse_options(parse, count, words, &base);
    config_options_combine(&base, root);
    *root = base;
}

static int core_post_config(config_parse *parse, server_config *server)
{
    int rc = WEFT_OK;
    struct stat info;
    /* Under ChrootDir the children see DocumentRoot inside the chroot. */
    const char *root = server->document_root;
    if (root && server->chroot_dir)
        root = pool_printf(config_pool(parse), "%s%s", server->chroot_dir, root);
    /* Only a DocumentRoot the configuration wrote must exist: Apache does
     * not check its built-in default either (Debian's tree sets one in the
     * <VirtualHost> only), and requests the main server answers get 404. */
    const config_directive *row = &core_directives[0];
    while (strcmp(row->name, "DocumentRoot") != 0)
        row++;
    bool written = config_was_set(server, row);
    if (written && (!root || stat(root, &info) != 0 || !S_ISDIR(info.st_mode)))
        rc = config_error(parse, "DocumentRoot '%s' is not a directory", root ? root : "");
    if (server->listen_count == 0)
        rc = config_error(parse, "no Listen directive: weft needs at least one address to listen on");
    if (server->request_buffer_budget > 0 && server->request_buffer_budget < server->limit_request_head_size)
        config_warning(parse, "RequestBufferBudget (%lld) is smaller than LimitRequestHeadSize (%d): "
                              "heads that large will be refused with 503",
                       (long long)server->request_buffer_budget, server->limit_request_head_size);
    server->server_header = pool_strdup(server->pool, server_header_for(server->server_tokens));
    /* The scoreboard file is a runtime file, as in Apache: a relative name
     * goes under DefaultRuntimeDir, or ServerRoot when that is unset. */
    if (server->scoreboard_file && server->scoreboard_file[0] != '/')
        server->scoreboard_file = server->default_runtime_dir
                                      ? pool_printf(config_pool(parse), "%s/%s", server->default_runtime_dir,
                                                    server->scoreboard_file)
                                      : config_resolve_path(parse, server->scoreboard_file);
    resolve_root_options(parse, server);
    return rc;
}

const module core_module = {
    .name = "core",
    .directives = core_directives,
    .post_config = core_post_config,
};
