/*
 * cgi.c — mod_cgi: running CGI/1.1 scripts (RFC 3875).
 *
 * Directives:
 *   ScriptAlias URL-path path        server, vhost.  Maps the URL-path prefix to
 *                                    a directory (or file) whose files are all
 *                                    scripts; no Options ExecCGI needed.
 *   ScriptAliasMatch regex path      the same with a regular expression (PCRE)
 *                                    against the URL-path; $0..$9 in path are
 *                                    the matched groups (core/match.h, as
 *                                    AliasMatch).  (Apache uses PCRE:
 *                                    no \d, \w, lazy quantifiers, lookaround
 *                                    or (?i) here.)
 *   AddHandler handler ext...        anywhere.  cgi-script runs files with
 *                                    that (last) extension, given Options
 *                                    ExecCGI; SetHandler cgi-script runs every
 *                                    file, given Options ExecCGI.
 *   PassEnv var..., SetEnv var [value], UnsetEnv var...   anywhere: the
 *                                    scripts' extra environment (cgi_env.c).
 *   CGIScriptTimeout time            anywhere: seconds (or Nms) a script may
 *                                    stay silent; default Timeout.
 *
 * A request is a script's when a ScriptAlias mapped it (r->handler is set
 * by the translate hook), when SetHandler names cgi-script, or when an
 * AddHandler cgi-script extension is the script's.  Requests that are none
 * of these cost one or two pointer tests: nothing is looked at on the disk.
 *
 * Which file is the script: the longest leading part of the mapped path
 * that exists (Apache's directory walk); the rest is PATH_INFO.  Then
 * 404 (no such file), 403 (a directory, not a regular file, Options ExecCGI
 * off, or no execute permission), 500 (not an executable format, or weft
 * running as root: it never runs a script as root).
 */
#include "cgi.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/match.h"
#include "../http/connection.h"
#include "mime.h"

typedef struct script_alias {
    struct script_alias *next;
    char *fake;          /* ScriptAlias: the URL-path prefix */
    char *real;          /* the path, or ScriptAliasMatch's substitution */
    weft_regex *pattern; /* ScriptAliasMatch */
} script_alias;

static const cgi_server_config *cgi_server_settings(const server_config *server)
{
    return module_server_config(server, &cgi_module);
}

/* ---- configuration ------------------------------------------------------ */

static void append_alias(script_alias **list, script_alias *alias)
{
    while (*list)
        list = &(*list)->next;
    *list = alias;
}

static int set_script_alias(config_parse *parse, const config_directive *d, void *target, int argc,
                            char **argv)
{
    if (argv[0][0] != '/')
        return config_error(parse, "ScriptAlias: the URL-path '%s' must start with '/'", argv[0]);
    for (const script_alias *earlier = *(script_alias **)target; earlier; earlier = earlier->next)
        if (!earlier->pattern && url_prefix_match(earlier->fake, argv[0]))
            config_warning(parse, "The ScriptAlias directive for %s will probably never match because it "
                                  "overlaps an earlier ScriptAlias for %s.", argv[0], earlier->fake);
    script_alias *alias = pool_calloc(config_pool(parse), sizeof(*alias));
    alias->fake = pool_strdup(config_pool(parse), argv[0]);
    alias->real = config_resolve_path(parse, argv[1]);
    append_alias(target, alias);
    return WEFT_OK;
}

static int set_script_alias_match(config_parse *parse, const config_directive *d, void *target, int argc,
                                  char **argv)
{
    pool *p = config_pool(parse);
    script_alias *alias = pool_calloc(p, sizeof(*alias));
    if (!(alias->pattern = config_compile_regex(parse, argv[0], 0)))
        return WEFT_ERROR;
    alias->fake = pool_strdup(p, argv[0]);
    /* "$1" at the start stays as written; anything else relative is
     * relative to ServerRoot, as for ScriptAlias. */
    alias->real = argv[1][0] == '$' ? pool_strdup(p, argv[1]) : config_resolve_path(parse, argv[1]);
    append_alias(target, alias);
    return WEFT_OK;
}

/* A <VirtualHost>'s own aliases first, then the main server's. */
static void merge_script_aliases(void *merged, const void *child, pool *p)
{
    script_alias **merged_list = merged;
    script_alias *const *child_list = child;
    script_alias *head = NULL;
    script_alias **tail = &head;
    for (const script_alias *entry = *child_list; entry; entry = entry->next) {
        script_alias *copy = pool_alloc(p, sizeof(*copy));
        *copy = *entry;
        *tail = copy;
        tail = &copy->next;
    }
    *tail = *merged_list;
    *merged_list = head;
}

static int set_add_handler(config_parse *parse, const config_directive *d, void *target, int argc,
                           char **argv)
{
    pool *p = config_pool(parse);
    mime_addition **list = target;
    if (!module_handler_exists(argv[0])) {
        char names[512];
        module_handler_names(names, sizeof(names));
        bool secret = false;
        const char *owner = module_of_handler(argv[0], &secret);
        if (!owner)
            return config_error(parse, "AddHandler %s: no handler of that name in weft; weft has %s", argv[0],
                                names);
        /* As SetHandler: a handler nobody here runs is an error, not a file
         * served as it is (a script's source, an SSI page's directives). */
        return config_error(parse, "AddHandler %s: that is a handler of %s, which is not built into weft%s; "
                                   "weft has %s", argv[0], owner,
                            secret ? " (the files would be served as they are, source and all)" : "", names);
    }
    char *handler = pool_strdup(p, argv[0]);
    for (int i = 1; i < argc; i++) {
        const char *extension = argv[i][0] == '.' ? argv[i] + 1 : argv[i];
        if (extension[0] == '\0' || strchr(extension, '/') || strchr(extension, '.'))
            return config_error(parse, "AddHandler: '%s' is not a file name extension (only the last "
                                       "extension of a name counts)", argv[i]);
        mime_addition *addition = pool_alloc(p, sizeof(*addition));
        addition->extension = pool_strdup(p, extension);
        for (char *c = addition->extension; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        addition->type = handler;
        addition->next = *list;
        *list = addition;
    }
    return WEFT_OK;
}

/* Lists of the newest-first kind: the section's own entries, then the
 * inherited ones (shared, never modified).  Rows sharing a field (SetEnv,
 * PassEnv, UnsetEnv) may each merge it: the repeated entries come after
 * the first copies and change nothing. */
#define DEFINE_LIST_MERGE(function, type)                                    \
    static void function(void *merged, const void *child, pool *p)           \
    {                                                                         \
        type **merged_list = merged;                                          \
        type *const *child_list = child;                                      \
        if (!*child_list)                                                     \
            return;                                                           \
        type *head = NULL;                                                    \
        type **tail = &head;                                                  \
        for (const type *entry = *child_list; entry; entry = entry->next) {  \
            type *copy = pool_alloc(p, sizeof(*copy));                        \
            *copy = *entry;                                                   \
            *tail = copy;                                                     \
            tail = &copy->next;                                               \
        }                                                                     \
        *tail = *merged_list;                                                 \
        *merged_list = head;                                                  \
    }

DEFINE_LIST_MERGE(merge_add_handlers, mime_addition)
DEFINE_LIST_MERGE(merge_environment, environment_setting)

static bool environment_name_valid(const char *name)
{
    if (!*name)
        return false;
    for (const char *c = name; *c; c++)
        if (*c == '=' || (unsigned char)*c < 32 || *c == 127)
            return false;
    return true;
}

static int add_environment(config_parse *parse, void *target, const char *name, const char *value)
{
    if (!environment_name_valid(name))
        return config_error(parse, "'%s' is not an environment variable name", name);
    environment_setting *setting = pool_alloc(config_pool(parse), sizeof(*setting));
    setting->name = pool_strdup(config_pool(parse), name);
    setting->value = value ? pool_strdup(config_pool(parse), value) : NULL;
    setting->next = *(environment_setting **)target;
    *(environment_setting **)target = setting;
    return WEFT_OK;
}

static int set_set_env(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    return add_environment(parse, target, argv[0], argc > 1 ? argv[1] : "");
}

static int set_pass_env(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        /* Read now, as Apache does: the configuration is read in one
         * thread, and the value cannot change under a running script. */
        const char *value = getenv(argv[i]);
        if (!value) {
            config_warning(parse, "PassEnv variable %s was undefined", argv[i]);
            continue;
        }
        if (add_environment(parse, target, argv[i], value) != WEFT_OK)
            return WEFT_ERROR;
    }
    return WEFT_OK;
}

static int set_unset_env(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (add_environment(parse, target, argv[i], NULL) != WEFT_OK)
            return WEFT_ERROR;
    return WEFT_OK;
}

#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(cgi_dir_config, field), \
                         .size = sizeof(((cgi_dir_config *)0)->field)

static const config_directive cgi_directives[] = {
    { .name = "ScriptAlias", .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,
      .offset = offsetof(cgi_server_config, script_aliases), .size = sizeof(script_alias *), .min_args = 2,
      .max_args = 2, .set = set_script_alias, .merge = merge_script_aliases,
      .syntax = "URL-path file-path|directory-path",
      .help = "maps a URL-path to scripts outside DocumentRoot" },
    { .name = "ScriptAliasMatch", .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,
      .offset = offsetof(cgi_server_config, script_aliases), .size = sizeof(script_alias *), .min_args = 2,
      .max_args = 2, .set = set_script_alias_match, .merge = merge_script_aliases,
      .syntax = "regex file-path|directory-path",
      .help = "ScriptAlias by a regular expression (PCRE); $1..$9 in the path" },
    { .name = "AddHandler", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(add_handlers), .min_args = 2,
      .max_args = ARGS_UNLIMITED, .set = set_add_handler, .merge = merge_add_handlers,
      .syntax = "handler-name extension [extension ...]",
      .help = "maps file name extensions to a handler (cgi-script)", .overrides = OVERRIDE_FILEINFO },
    { .name = "SetEnv", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(environment), .min_args = 1, .max_args = 2,
      .set = set_set_env, .merge = merge_environment, .syntax = "variable [value]",
      .help = "sets a variable in CGI scripts' environment", .overrides = OVERRIDE_FILEINFO },
    { .name = "PassEnv", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(environment), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_pass_env, .merge = merge_environment,
      .syntax = "variable [variable ...]",
      .help = "passes variables of weft's own environment to CGI scripts", .overrides = OVERRIDE_FILEINFO },
    { .name = "UnsetEnv", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(environment), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_unset_env, .merge = merge_environment,
      .syntax = "variable [variable ...]",
      .help = "removes variables SetEnv or PassEnv set for an enclosing scope", .overrides = OVERRIDE_FILEINFO },
    { .name = "CGIScriptTimeout", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(cgi_script_timeout_ms),
      .min_args = 1, .max_args = 1, .set = config_set_milliseconds, .syntax = "seconds|Nms",
      .help = "how long a CGI script may send nothing before it is killed (default: Timeout)",
      .overrides = OVERRIDE_FILEINFO },
    { .name = NULL },
};

/* ---- ScriptAlias ---------------------------------------------------------- */

static int cgi_translate(request *r)
{
    for (const script_alias *alias = cgi_server_settings(r->server)->script_aliases; alias; alias = alias->next) {
        if (alias->pattern) {
            regex_group groups[MATCH_MAX_GROUPS];
            if (!regex_match(alias->pattern, r->path, strlen(r->path), groups, MATCH_MAX_GROUPS))
                continue;
            r->file_path = regex_substitute(r->pool, alias->real, r->path, groups, MATCH_MAX_GROUPS);
        } else {
            size_t length = url_prefix_match(alias->fake, r->path);
            if (!length)
                continue;
            r->file_path = pool_printf(r->pool, "%s%s", alias->real, r->path + length);
        }
        r->handler = CGI_HANDLER;
        return WEFT_OK;
    }
    return WEFT_DECLINED;
}

/* ---- finding the script --------------------------------------------------- */

static bool is_cgi_handler(const char *name)
{
    return name && (strcasecmp(name, CGI_HANDLER) == 0 || strcasecmp(name, "application/x-httpd-cgi") == 0);
}

static bool extension_is_cgi(const dir_config *dir, const char *extension, size_t length)
{
    for (const mime_addition *addition = cgi_dir_settings(dir)->add_handlers; addition; addition = addition->next)
        if (strlen(addition->extension) == length && strncasecmp(addition->extension, extension, length) == 0)
            return is_cgi_handler(addition->type);
    return false;
}

static bool name_is_cgi(const dir_config *dir, const char *path)
{
    size_t length;
    const char *extension = mime_path_extension(path, &length);
    return extension && extension_is_cgi(dir, extension, length);
}

/* Could some component of path be a script by its extension?  Decides
 * without touching the disk whether the directory walk is worth it. */
static bool path_may_be_cgi(const dir_config *dir, const char *path)
{
    const char *segment = path;
    while (*segment) {
        const char *end = strchrnul(segment, '/');
        const char *dot = NULL;
        for (const char *c = segment + 1; c < end; c++)
            if (*c == '.')
                dot = c;
        if (dot && dot + 1 < end && extension_is_cgi(dir, dot + 1, (size_t)(end - dot - 1)))
            return true;
        segment = *end ? end + 1 : end;
    }
    return false;
}

int cgi_find_existing_prefix(request *r, const char *full, char **prefix, size_t *prefix_length,
                             struct stat *info)
{
    size_t length = strlen(full);
    char *path = pool_strdup(r->pool, full);
    for (int steps = 0; steps < PATH_MAX / 2; steps++) {
        path[length] = '\0';
        if (stat(path, info) == 0) {
            *prefix = path;
            *prefix_length = length;
            return WEFT_OK;
        }
        if (errno == EACCES)
            return 403;
        if (errno != ENOENT && errno != ENOTDIR)
            return 404;
        char *slash = memrchr(path, '/', length);
        if (!slash || slash == path)
            return 404;
        length = (size_t)(slash - path);
    }
    return 404;
}

/* Splits file_path into the script (the longest leading part that exists)
 * and PATH_INFO.  WEFT_OK or an HTTP status. */
static int locate_script(request *r, cgi_script *script, struct stat *info)
{
    const char *full = r->file_path;
    char *path;
    size_t length;
    int rc = cgi_find_existing_prefix(r, full, &path, &length, info);
    if (rc != WEFT_OK)
        return rc;
    if (S_ISDIR(info->st_mode) && length < strlen(full))
        return 404;  /* the part after the directory is not there */
    script->filename = path;
    script->path_info = pool_strdup(r->pool, full + length);
    return WEFT_OK;
}

static unsigned effective_options(const dir_config *dir)
{
    const options_setting *setting = &dir->options;
    if (!setting->relative)
        return setting->value;
    return (setting->value | setting->add) & ~setting->remove;
}

static void describe_script(request *r, cgi_script *script)
{
    size_t path_length = strlen(r->path);
    size_t info_length = strlen(script->path_info);
    if (info_length && info_length <= path_length &&
        strcmp(r->path + path_length - info_length, script->path_info) == 0)
        script->name = pool_strndup(r->pool, r->path, path_length - info_length);
    else
        script->name = r->path;
    char *slash = strrchr(script->filename, '/');
    script->directory = slash == script->filename ? "/"
                                                  : pool_strndup(r->pool, script->filename,
                                                                 (size_t)(slash - script->filename));
    script->nph = strncmp(slash + 1, "nph-", 4) == 0;
    /* Apache 2.4's CONTEXT_PREFIX / CONTEXT_DOCUMENT_ROOT for a ScriptAlias. */
    if (r->handler) {
        for (const script_alias *alias = cgi_server_settings(r->server)->script_aliases; alias; alias = alias->next) {
            if (!alias->pattern && url_prefix_match(alias->fake, r->path)) {
                script->context_prefix = alias->fake;
                script->context_root = alias->real;
                break;
            }
        }
    }
}

static int spawn_error_status(request *r, int error, const char *filename)
{
    int status = error == ENOENT || error == ENOTDIR ? 404 : error == EACCES || error == EPERM ? 403 : 500;
    log_module_message(LOG_LEVEL_ERROR, "cgi", "[client %s:%d] exec of '%s' failed: %s",
                       request_client_address(r), request_client_port(r), filename,
                       strerror(error));
    return status;
}

static int refuse(request *r, int status, const char *reason, const char *filename)
{
    log_module_message(LOG_LEVEL_ERROR, "cgi", "[client %s:%d] %s: %s", request_client_address(r),
                       request_client_port(r), reason, filename);
    return status;
}

static int cgi_handler(request *r)
{
    if (!r->file_path)
        return WEFT_DECLINED;
    bool aliased = is_cgi_handler(r->handler);
    if (r->file_path[0] != '/')  /* a ScriptAliasMatch substitution that left the root */
        return aliased ? refuse(r, 404, "script not found or unable to stat", r->file_path) : WEFT_DECLINED;
    bool by_name = false;
    if (!aliased && !is_cgi_handler(r->dir->handler)) {
        if (r->handler || r->dir->handler || !cgi_dir_settings(r->dir)->add_handlers || !path_may_be_cgi(r->dir, r->file_path))
            return WEFT_DECLINED;
        by_name = true;
    }

    cgi_script script = { 0 };
    struct stat info;
    int status = locate_script(r, &script, &info);
    if (status != WEFT_OK) {
        if (by_name)
            return WEFT_DECLINED;  /* the static handler answers for missing files */
        return refuse(r, status, "script not found or unable to stat", r->file_path);
    }
    if (by_name && !name_is_cgi(r->dir, script.filename))
        return WEFT_DECLINED;  /* "x.cgi" was a directory on the way */
    if (!aliased && !(effective_options(r->dir) & OPTION_EXEC_CGI))
        return refuse(r, 403, "Options ExecCGI is off in this directory", script.filename);
    if (S_ISDIR(info.st_mode))
        return refuse(r, 403, "attempt to invoke directory as script", script.filename);
    if (!S_ISREG(info.st_mode))
        return refuse(r, 403, "not a regular file", script.filename);
    if (geteuid() == 0 || getegid() == 0)
        return refuse(r, 500, "refusing to run a CGI script as root (weft -X started as root keeps root)",
                      script.filename);
    describe_script(r, &script);

    char **environment = cgi_build_environment(r, &script);
    char **arguments = cgi_build_arguments(r, &script);
    cgi_process process;
    int error = cgi_spawn(script.filename, arguments, environment, script.directory, &process);
    if (error)
        return spawn_error_status(r, error, script.filename);
    return cgi_run(r, &script, &process);
}

static const char *const cgi_handlers[] = { CGI_HANDLER, "application/x-httpd-cgi", NULL };

const module cgi_module = {
    .name = "cgi",
    .handlers = cgi_handlers,
    .directives = cgi_directives,
    .server_config_size = sizeof(cgi_server_config),
    .dir_config_size = sizeof(cgi_dir_config),
    .translate = cgi_translate,
    .handler = cgi_handler,
};
