/*
 * config.c — the configuration engine: files, Include, Define and ${VAR},
 * directives, defaults, post_config and messages.  The sections are in
 * config_sections.c; syntax below the line level (and the generic setters,
 * which parse values) in config_lexer.c; indices and merging in
 * config_merge.c.
 *
 * Every problem is recorded and parsing goes on with the next line, so one
 * run of `weft -t` shows everything that is wrong.  A section whose opening
 * line is wrong is still pushed (with its contents skipped) so that its
 * closing tag pairs up and does not cause a second, misleading error.
 */
#include "config_internal.h"
#include "expr.h"
#include "module.h"
#include "server.h"
#include "vhost.h"
#include "regex.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define INCLUDE_DEPTH_MAX 16
#define DEFAULT_CONFIG_FILE "conf/weft.conf"
#define BUILTIN_CONFIG_NAME "(built-in defaults)"

/* Used when the default file is absent, so that `weft` runs out of the box;
 * everything else comes from the default_value column of the tables. */
static const char builtin_config[] = "Listen 8080\n"
                                     "ErrorLog /dev/stderr\n";


/* ---- messages ---------------------------------------------------------- */

void config_messages_free(config_messages *messages)
{
    if (!messages)
        return;
    for (int i = 0; i < messages->count; i++)
        free(messages->messages[i]);
    free(messages->messages);
    messages->messages = NULL;
    messages->count = messages->capacity = 0;
}

static void record_message(config_parse *parse, config_messages *list, const char *format, va_list args)
{
    if (!list)
        return;
    char *text = pool_vprintf(parse->scratch, format, args);
    buffer message = { 0 };
    if (parse->file && parse->line > 0)
        buffer_printf(&message, "%s:%d: %s", parse->file, parse->line, text);
    else if (parse->file)
        buffer_printf(&message, "%s: %s", parse->file, text);
    else
        buffer_append_string(&message, text);
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 8;
        list->messages = xrealloc(list->messages, sizeof(char *) * (size_t)list->capacity);
    }
    list->messages[list->count++] = message.data;
}

int config_error(config_parse *parse, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    record_message(parse, parse->errors, format, args);
    va_end(args);
    parse->error_count++;
    return WEFT_ERROR;
}

static void record_at(config_parse *parse, config_messages *list, const char *file, int line, const char *format,
                      va_list args)
{
    const char *saved_file = parse->file;
    int saved_line = parse->line;
    parse->file = file;
    parse->line = line;
    record_message(parse, list, format, args);
    parse->file = saved_file;
    parse->line = saved_line;
}

void config_warning_at(config_parse *parse, const char *file, int line, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    record_at(parse, parse->warnings, file, line, format, args);
    va_end(args);
}

int config_error_at(config_parse *parse, const char *file, int line, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    record_at(parse, parse->errors, file, line, format, args);
    va_end(args);
    parse->error_count++;
    return WEFT_ERROR;
}

void config_warning(config_parse *parse, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    record_message(parse, parse->warnings, format, args);
    va_end(args);
}

/* ---- accessors --------------------------------------------------------- */

const char *config_file_name(const config_parse *parse) { return parse->file; }
int config_line_number(const config_parse *parse) { return parse->line; }
pool *config_pool(config_parse *parse) { return parse->pool; }
server_config *config_server(config_parse *parse) { return parse->server; }
server_config *config_main_server(config_parse *parse) { return parse->main; }

void config_set_position(config_parse *parse, const char *file, int line)
{
    parse->file = file;
    parse->line = line;
}

char *config_resolve_path(config_parse *parse, const char *path)
{
    if (path[0] == '/')
        return pool_strdup(parse->pool, path);
    const char *root = parse->main->server_root;
    return pool_printf(parse->pool, "%s%s%s", root, strcmp(root, "/") == 0 ? "" : "/", path);
}

/* ---- Define, UnDefine and ${VAR} ---------------------------------------- */

static int find_variable(const config_parse *parse, const char *name)
{
    for (int i = 0; i < parse->variable_count; i++)
        if (strcmp(parse->variable_names[i], name) == 0)
            return i;
    return -1;
}

bool config_is_defined(const config_parse *parse, const char *name)
{
    return find_variable(parse, name) >= 0;
}

/* As Apache: defining a name again keeps its value unless a new one is
 * given; an empty value is no value. */
static void define_variable(config_parse *parse, const char *name, const char *value)
{
    int index = find_variable(parse, name);
    if (index < 0) {
        if (parse->variable_count == parse->variable_capacity) {
            int capacity = parse->variable_capacity ? parse->variable_capacity * 2 : 16;
            char **names = pool_alloc(parse->scratch, sizeof(char *) * (size_t)capacity);
            char **values = pool_alloc(parse->scratch, sizeof(char *) * (size_t)capacity);
            if (parse->variable_count) {
                memcpy(names, parse->variable_names, sizeof(char *) * (size_t)parse->variable_count);
                memcpy(values, parse->variable_values, sizeof(char *) * (size_t)parse->variable_count);
            }
            parse->variable_names = names;
            parse->variable_values = values;
            parse->variable_capacity = capacity;
        }
        index = parse->variable_count++;
        parse->variable_names[index] = pool_strdup(parse->scratch, name);
        parse->variable_values[index] = NULL;
    }
    if (value && value[0])
        parse->variable_values[index] = pool_strdup(parse->scratch, value);
}

static void undefine_variable(config_parse *parse, const char *name)
{
    int index = find_variable(parse, name);
    if (index < 0)
        return;
    parse->variable_count--;
    parse->variable_names[index] = parse->variable_names[parse->variable_count];
    parse->variable_values[index] = parse->variable_values[parse->variable_count];
}

/* Define and UnDefine take effect as the line is read, wherever it is (a
 * Define inside <VirtualHost> or <Directory> is global, as in Apache), so
 * the following lines and <IfDefine> see them. */
int config_set_define(config_parse *parse, const config_directive *directive, void *target, int argc, char **argv)
{
    if (strchr(argv[0], ':'))
        return config_error(parse, "Variable name must not contain ':'");
    if (strcasecmp(directive->name, "UnDefine") == 0)
        undefine_variable(parse, argv[0]);
    else
        define_variable(parse, argv[0], argc > 1 ? argv[1] : NULL);
    return WEFT_OK;
}

/* A Define's value first, then the process environment (Debian's envvars). */
static const char *variable_value(void *context, const char *name)
{
    config_parse *parse = context;
    int index = find_variable(parse, name);
    if (index >= 0 && parse->variable_values[index])
        return parse->variable_values[index];
    return getenv(name);
}

static void report_undefined_variable(void *context, const char *name)
{
    config_warning(context, "Config variable ${%s} is not defined", name);
}

weft_expr *config_compile_expr(config_parse *parse, const char *text)
{
    char reason[512];
    weft_expr *expr = expr_parse(parse->pool, text, reason, sizeof(reason));
    if (!expr)
        config_error(parse, "%s", reason);
    return expr;
}

struct weft_regex *config_compile_regex(config_parse *parse, const char *pattern, unsigned flags)
{
    char reason[256];
    weft_regex *regex = regex_compile(parse->pool, pattern, flags, reason, sizeof(reason));
    if (!regex)
        config_error(parse, "Regular expression '%s' could not be compiled: %s", pattern, reason);
    return regex;
}

char *config_regex_prefix(config_parse *parse, const char *pattern, unsigned flags)
{
    /* An alternation anywhere could make the anchor apply to one branch
     * only; a caseless match has no literal prefix.  A backslash before a
     * letter or digit is a PCRE escape (\d, \Q), so the scan stops there. */
    if (pattern[0] != '^' || strchr(pattern, '|') || (flags & REGEX_CASELESS))
        return "";
    char *prefix = pool_alloc(parse->pool, strlen(pattern));
    size_t length = 0;
    const char *c = pattern + 1;
    while (*c) {
        if (c[0] == '\\' && c[1] && ispunct((unsigned char)c[1])) {
            prefix[length++] = c[1];
            c += 2;
        } else if (strchr(".[]()*+?{}\\^$", *c)) {
            break;
        } else {
            prefix[length++] = *c++;
        }
    }
    /* "^/ab?" requires "/a" only: a quantifier that allows zero takes the
     * last character back. */
    if (length > 0 && (*c == '*' || *c == '?' || *c == '{'))
        length--;
    prefix[length] = '\0';
    return prefix;
}

/* ---- directives -------------------------------------------------------- */

static const char *count_word(int count)
{
    static const char *const words[] = { "no", "one", "two", "three", "four" };
    return count >= 0 && count < (int)COUNT_OF(words) ? words[count] : "several";
}

static const char *describe_argument_count(config_parse *parse, const config_directive *d)
{
    if (d->max_args == ARGS_UNLIMITED)
        return pool_printf(parse->scratch, "requires at least %s argument%s", count_word(d->min_args),
                           d->min_args == 1 ? "" : "s");
    if (d->min_args == d->max_args)
        return pool_printf(parse->scratch, "takes %s argument%s", count_word(d->min_args),
                           d->min_args == 1 ? "" : "s");
    if (d->max_args == d->min_args + 1)
        return pool_printf(parse->scratch, "takes %s or %s arguments", count_word(d->min_args),
                           count_word(d->max_args));
    return pool_printf(parse->scratch, "takes %d to %d arguments", d->min_args, d->max_args);
}

int config_call_setter(config_parse *parse, const config_directive *d, void *base, int argc, char **argv)
{
    return d->set(parse, d, (char *)config_row_base(base, d) + d->offset, argc, argv);
}

void *config_parse_row_base(config_parse *parse, const config_directive *d)
{
    return d->scope == SCOPE_SERVER ? (void *)parse->server : (void *)parse->dir;
}

bool config_was_set_here(config_parse *parse, const config_directive *d)
{
    return config_was_set(config_parse_row_base(parse, d), d);
}

char **config_words_appended(config_parse *parse, const config_directive *directive, char **list, int argc,
                             char **argv)
{
    int existing = 0;
    char **previous = config_was_set_here(parse, directive) ? list : NULL;
    while (previous && previous[existing])
        existing++;
    char **words = pool_alloc(parse->pool, sizeof(char *) * (size_t)(existing + argc + 1));
    for (int i = 0; i < existing; i++)
        words[i] = previous[i];
    for (int i = 0; i < argc; i++)
        words[existing + i] = pool_strdup(parse->pool, argv[i]);
    words[existing + argc] = NULL;
    return words;
}

/* Core directives a <VirtualHost> accepts, as Apache's, but whose value
 * weft takes from the main server, because it applies before the request
 * names its host (http/connection.c, mpm/child.c: the connection's server
 * is the main one).  Accepted, so that Apache's files load, with a warning. */
static const struct {
    const char *name;
    const char *why;
} vhost_ignored[] = {
    { "KeepAlive", "is ignored: weft applies it per listening address, from the main server" },
    { "KeepAliveTimeout", "is ignored: weft applies it per listening address, from the main server" },
    { "MaxKeepAliveRequests", "is ignored: weft applies it per listening address, from the main server" },
    { "LimitRequestLine", "is ignored: the request head is read before its host is known, "
                          "with the main server's limits" },
    { "LimitRequestFieldSize", "is ignored: the request head is read before its host is known, "
                               "with the main server's limits" },
    { "LimitRequestFields", "is ignored: the request head is read before its host is known, "
                            "with the main server's limits" },
    { "Timeout", "applies only to request bodies, streamed responses and CGI scripts: reading request "
                 "heads and waiting to send use the main server's Timeout" },
    { "RequestReadTimeout", "applies only to its body= stage: the header= stage is the main server's" },
};

static void warn_vhost_ignored(config_parse *parse, const config_directive *d)
{
    if (parse->context != CONTEXT_VHOST)
        return;
    for (size_t i = 0; i < COUNT_OF(vhost_ignored); i++)
        if (strcmp(d->name, vhost_ignored[i].name) == 0)
            config_warning(parse, "%s in <VirtualHost> %s", d->name, vhost_ignored[i].why);
}

/* ---- .htaccess files: what AllowOverride and AllowOverrideList allow --- */

static bool listed(char *const *list, const char *name)
{
    for (; list && *list; list++)
        if (strcasecmp(*list, name) == 0)
            return true;
    return false;
}

bool config_htaccess_allows(config_parse *parse, const config_directive *d, const char *name)
{
    if (!parse->htaccess)
        return true;
    if ((d->overrides & parse->htaccess->categories) || listed(parse->override_list, d->name))
        return true;
    if (parse->htaccess->nonfatal & OVERRIDE_NONFATAL_OVERRIDE) {
        config_warning(parse, "%s not allowed here; skipped (AllowOverride Nonfatal=Override)", name);
        return false;
    }
    config_error(parse, "%s not allowed here", name);
    return false;
}

unsigned config_options_allowed(const config_parse *parse)
{
    if (!parse->htaccess)
        return ~0u;
    return parse->htaccess->options;
}

/* Checks context and argument count, calls the setter, marks the row set.
 * name is how messages call the directive. */
bool config_apply_row(config_parse *parse, const config_directive *d, const char *name, int count, char **args)
{
    if (!(d->contexts & parse->context)) {
        config_error(parse, "%s not allowed here", name);
        return false;
    }
    if (parse->htaccess && !config_htaccess_allows(parse, d, name))
        return false;
    if (parse->module_row && config_directive_module(d) != config_directive_module(parse->module_row)) {
        config_error(parse, "%s not allowed in <%s> section", name, parse->module_row->name + 1);
        return false;
    }
    if (count < d->min_args || (d->max_args != ARGS_UNLIMITED && count > d->max_args)) {
        config_error(parse, "%s %s, %s", name, describe_argument_count(parse, d), d->help);
        return false;
    }
    if (!d->set)
        return true;
    void *base = config_parse_row_base(parse, d);
    if (config_call_setter(parse, d, base, count, args) != WEFT_OK)
        return false;
    warn_vhost_ignored(parse, d);
    int index = config_directive_index(d);
    config_set_bits(base, d->scope)[index / 8] |= (unsigned char)(1u << (index % 8));
    return true;
}

/* Names the Apache module when the directive is a well-known one of a
 * module weft lacks: there is no module to load. */
void config_report_unknown(config_parse *parse, const char *name, const char *what, const char *lookup)
{
    const char *owner = module_of_directive(lookup);
    const char *kind = lookup[0] == '<' ? "section" : "directive";
    char *text;
    if (owner && module_is_present(owner))
        text = pool_printf(parse->scratch, "%s is a %s of %s that weft does not implement", name, kind, owner);
    else if (owner)
        text = pool_printf(parse->scratch, "%s is a %s of %s, which is not built into weft", name, kind, owner);
    else
        text = pool_printf(parse->scratch, "Invalid %s '%s': weft has no such %s (misspelled?)", what, name,
                           what[0] == 's' ? "section" : "directive");
    /* AllowOverride Nonfatal=Unknown: an .htaccess line weft does not know is skipped. */
    if (parse->htaccess && (parse->htaccess->nonfatal & OVERRIDE_NONFATAL_UNKNOWN))
        config_warning(parse, "%s; skipped (AllowOverride Nonfatal=Unknown)", text);
    else
        config_error(parse, "%s", text);
}

static void run_directive(config_parse *parse, int argc, char **argv)
{
    const config_directive *d = config_find_directive_for(argv[0], parse->context);
    if (!d) {
        config_report_unknown(parse, argv[0], "command", argv[0]);
        return;
    }
    config_apply_row(parse, d, d->name, argc - 1, argv + 1);
}

static void handle_line(config_parse *parse, const char *line)
{
    /* As Apache, variables are expanded on the whole line, but not in
     * skipped blocks (so they warn about nothing there). */
    if (!parse->skipping) {
        line = config_expand_variables(parse->scratch, line, variable_value, parse, report_undefined_variable);
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line)
            return;
    }
    if (line[0] == '<' && line[1] == '/') {
        config_close_section_line(parse, line);
        return;
    }
    if (line[0] == '<') {
        config_open_section_line(parse, line);
        return;
    }
    if (parse->skipping) {
        if (parse->counting >= 0)
            parse->open[parse->counting].skipped_directives++;
        return;
    }
    const char *problem = NULL;
    char **argv;
    int argc = config_split_words(parse->scratch, line, &argv, &problem);
    if (argc < 0)
        config_error(parse, "%s", problem);
    else if (argc > 0) {
        parse->raw_line = line;
        run_directive(parse, argc, argv);
        parse->raw_line = NULL;
    }
}

const char *config_raw_arguments(const config_parse *parse)
{
    const char *text = parse->raw_line;
    if (!text)
        return NULL;
    text += strspn(text, " \t");
    text += strcspn(text, " \t");
    return text + strspn(text, " \t");
}

/* ---- files and Include ------------------------------------------------- */

void config_parse_text(config_parse *parse, const char *name, const char *text, size_t length, int first_line)
{
    const char *saved_file = parse->file;
    int saved_line = parse->line;
    int saved_base = parse->open_base;
    parse->file = name;
    parse->open_base = parse->open_count;

    config_reader reader;
    buffer line = { 0 };
    int number;
    config_reader_init(&reader, text, length, first_line);
    while (config_reader_next(&reader, &line, &number)) {
        parse->line = number;
        if (line.length > 0 && line.data[0] != '#')
            handle_line(parse, line.data);
    }
    buffer_free(&line);

    while (parse->open_count > parse->open_base) {
        parse->line = parse->open[parse->open_count - 1].line;
        config_error(parse, "<%s> was not closed.", parse->open[parse->open_count - 1].name);
        config_pop_section(parse);
    }
    parse->file = saved_file;
    parse->line = saved_line;
    parse->open_base = saved_base;
}

static bool read_whole_file(const char *path, buffer *content)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return false;
    char chunk[8192];
    size_t count;
    while ((count = fread(chunk, 1, sizeof(chunk), file)) > 0)
        buffer_append(content, chunk, count);
    bool failed = ferror(file);
    int saved_errno = errno;
    fclose(file);
    errno = saved_errno;
    return !failed;
}

static int parse_file(config_parse *parse, const char *path)
{
    buffer content = { 0 };
    buffer_reserve(&content, 4096);
    if (!read_whole_file(path, &content)) {
        int rc = config_error(parse, "Could not open configuration file %s: %s", path, strerror(errno));
        buffer_free(&content);
        return rc;
    }
    config_parse_text(parse, pool_strdup(parse->pool, path), content.data, content.length, 1);
    buffer_free(&content);
    return WEFT_OK;
}

static int skip_dot_entries(const struct dirent *entry)
{
    return strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
}

/* A directory includes everything in it (and below), in alphabetical order,
 * as Apache does. */
static int include_path(config_parse *parse, const char *path, bool optional)
{
    if (parse->include_depth >= INCLUDE_DEPTH_MAX)
        return config_error(parse, "Include of %s nests deeper than %d levels: "
                                   "a file probably includes itself", path, INCLUDE_DEPTH_MAX);
    struct stat info;
    if (stat(path, &info) != 0) {
        if (optional && errno == ENOENT)
            return WEFT_OK;
        return config_error(parse, "Could not open configuration file %s: %s", path, strerror(errno));
    }
    parse->include_depth++;
    int rc = WEFT_OK;
    if (S_ISDIR(info.st_mode)) {
        struct dirent **entries;
        int count = scandir(path, &entries, skip_dot_entries, alphasort);
        if (count < 0)
            rc = config_error(parse, "Could not open configuration directory %s: %s", path, strerror(errno));
        for (int i = 0; i < count; i++) {
            char *child = pool_printf(parse->scratch, "%s/%s", path, entries[i]->d_name);
            include_path(parse, child, optional);
            free(entries[i]);
        }
        if (count > 0)
            free(entries);
    } else {
        rc = parse_file(parse, path);
    }
    parse->include_depth--;
    return rc;
}

int config_set_include(config_parse *parse, const config_directive *directive, void *target, int argc,
                       char **argv)
{
    bool optional = strcasecmp(directive->name, "IncludeOptional") == 0;
    char *pattern = config_resolve_path(parse, argv[0]);
    if (!strpbrk(pattern, "*?["))
        return include_path(parse, pattern, optional);

    glob_t matches;
    int rc = glob(pattern, 0, NULL, &matches);
    if (rc == GLOB_NOMATCH) {
        globfree(&matches);
        if (optional)
            return WEFT_OK;
        return config_error(parse, "No matches for the wildcard '%s', failing "
                                   "(use IncludeOptional if that is fine)", pattern);
    }
    if (rc != 0) {
        globfree(&matches);
        return config_error(parse, "Could not expand the wildcard '%s'", pattern);
    }
    for (size_t i = 0; i < matches.gl_pathc; i++)
        include_path(parse, matches.gl_pathv[i], optional);
    globfree(&matches);
    return WEFT_OK;
}

/* ---- after the files --------------------------------------------------- */

static void apply_defaults(config_parse *parse)
{
    for (int i = 0; i < config_directive_count(); i++) {
        const config_directive *d = config_directive_at(i);
        if (!d->default_value || !d->set)
            continue;
        void *base = d->scope == SCOPE_SERVER ? (void *)parse->main : (void *)parse->main->root_dir;
        if (config_was_set(base, d))
            continue;
        const char *problem = NULL;
        char **argv;
        int argc = config_split_words(parse->scratch, d->default_value, &argv, &problem);
        if (argc < 0)
            config_error(parse, "default of %s: %s", d->name, problem);
        else
            config_call_setter(parse, d, base, argc, argv);
    }
}

static void run_post_config(config_parse *parse, const char *main_file)
{
    for (const module *const *m = weft_modules; *m; m++) {
        if (!(*m)->post_config)
            continue;
        parse->file = main_file;
        parse->line = 0;
        (*m)->post_config(parse, parse->main);
    }
}

/* Each vhost is built from the complete main server (derived values
 * included), so modules derive per-vhost values only where a vhost set its
 * own directives. */
static void finish_virtual_hosts(config_parse *parse, const char *main_file)
{
    parse->file = main_file;
    parse->line = 0;
    if (vhost_build_all(parse, parse->main) != WEFT_OK)
        return;
    for (const module *const *m = weft_modules; *m; m++) {
        if (!(*m)->vhost_config)
            continue;
        for (int i = 0; i < vhost_count(parse->main); i++) {
            parse->file = main_file;
            parse->line = 0;
            (*m)->vhost_config(parse, parse->main, vhost_server(parse->main, i));
        }
    }
    for (const module *const *m = weft_modules; *m; m++) {
        if (!(*m)->config_complete)
            continue;
        parse->file = main_file;
        parse->line = 0;
        (*m)->config_complete(parse, parse->main);
    }
}

static bool set_initial_server_root(config_parse *parse)
{
    const char *root = parse->options->server_root ? parse->options->server_root : ".";
    char *real = realpath(root, NULL);
    struct stat info;
    if (!real || stat(real, &info) != 0 || !S_ISDIR(info.st_mode)) {
        config_error(parse, "ServerRoot '%s' is not a directory: %s", root,
                     real ? strerror(ENOTDIR) : strerror(errno));
        free(real);
        return false;
    }
    parse->server->server_root = pool_strdup(parse->pool, real);
    free(real);
    return true;
}

static const char *read_main_file(config_parse *parse)
{
    const char *wanted = parse->options->config_file ? parse->options->config_file : DEFAULT_CONFIG_FILE;
    char *path = config_resolve_path(parse, wanted);
    struct stat info;
    if (!parse->options->config_file && stat(path, &info) != 0 && errno == ENOENT) {
        config_parse_text(parse, BUILTIN_CONFIG_NAME, builtin_config, sizeof(builtin_config) - 1, 1);
        return BUILTIN_CONFIG_NAME;
    }
    buffer content = { 0 };
    buffer_reserve(&content, 4096);
    if (!read_whole_file(path, &content)) {
        parse->file = path;
        parse->line = 0;
        config_error(parse, "Could not open configuration file: %s", strerror(errno));
        parse->file = NULL;
    } else {
        config_parse_text(parse, path, content.data, content.length, 1);
    }
    buffer_free(&content);
    return path;
}

server_config *config_load(const config_options *options, config_messages *errors, config_messages *warnings)
{
    pool *p = pool_create(16384);
    server_config *server = pool_calloc(p, sizeof(*server));
    server->pool = p;
    server->root_dir = pool_calloc(p, sizeof(dir_config));
    config_create_module_configs(server, SCOPE_SERVER, p);
    config_create_module_configs(server->root_dir, SCOPE_DIRECTORY, p);

    config_parse parse = {
        .main = server,
        .server = server,
        .pool = p,
        .scratch = pool_create(16384),
        .options = options,
        .errors = errors,
        .warnings = warnings,
        .context = CONTEXT_SERVER,
        .dir = server->root_dir,
        .limit = CONFIG_METHODS_ALL,
    };
    parse.counting = -1;
    for (int i = 0; i < options->define_count; i++)
        define_variable(&parse, options->defines[i], NULL);

    if (set_initial_server_root(&parse)) {
        for (int i = 0; i < options->directives_before_count; i++) {
            const char *text = options->directives_before[i];
            config_parse_text(&parse, "-C", text, strlen(text), i + 1);
        }
        const char *main_file = read_main_file(&parse);
        for (int i = 0; i < options->directives_after_count; i++) {
            const char *text = options->directives_after[i];
            config_parse_text(&parse, "-c", text, strlen(text), i + 1);
        }
        /* After a syntax error the values are incomplete; post_config
         * checks would mostly report consequences of it. */
        if (parse.error_count == 0) {
            parse.file = main_file;
            parse.line = 0;
            apply_defaults(&parse);
            config_order_sections(server, p);
            run_post_config(&parse, main_file);
            if (parse.error_count == 0)
                finish_virtual_hosts(&parse, main_file);
        }
    }
    pool_destroy(parse.scratch);
    if (parse.error_count > 0) {
        pool_destroy(p);
        return NULL;
    }
    return server;
}

void config_free(server_config *server)
{
    if (server)
        pool_destroy(server->pool);
}
