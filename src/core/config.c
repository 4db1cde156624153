/*
 * config.c — the configuration engine: files, sections, Include, defaults,
 * post_config and messages.  Syntax below the line level (and the generic
 * setters, which parse values) is in config_lexer.c; indices and merging in
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
#define SECTION_DEPTH_MAX 64
#define DEFAULT_CONFIG_FILE "conf/weft.conf"
#define BUILTIN_CONFIG_NAME "(built-in defaults)"

/* Used when the default file is absent, so that `weft` runs out of the box;
 * everything else comes from the default_value column of the tables. */
static const char builtin_config[] = "Listen 8080\n"
                                     "ErrorLog /dev/stderr\n";

typedef enum {
    OPEN_PATH,       /* <Directory>, <Files>, <Location> and their Match forms */
    OPEN_VHOST,      /* <VirtualHost> */
    OPEN_MODULE,     /* a section a module defines (a "<Name" row), e.g. <RequireAll> */
    OPEN_CONDITION,  /* <IfDefine>, <IfModule> */
    OPEN_LIMIT,      /* <Limit>, <LimitExcept>: only narrows the methods access control applies to */
    OPEN_BROKEN,     /* its opening line was wrong: contents skipped */
} open_kind;

typedef struct {
    open_kind kind;
    const char *name;  /* "Directory", or as written for unknown sections */
    int line;
    const config_section *section;        /* OPEN_PATH: copy of the section, for nested <Files> */
    const config_directive *module_row;   /* OPEN_MODULE: the "<Name" row */
    const char *missing_module;  /* <IfModule X> skipped because X is not built in */
    int skipped_directives;      /* directive lines inside it */
    unsigned saved_context;
    server_config *saved_server;
    dir_config *saved_dir;
    const config_directive *saved_module_row;
    bool saved_skipping;
    unsigned saved_limit;
} open_section;

struct config_parse {
    server_config *main;    /* the main server: ServerRoot, the vhost table */
    server_config *server;  /* where SCOPE_SERVER rows write: main, or a vhost's own */
    pool *pool;     /* the server's: whatever outlives config_load */
    pool *scratch;  /* argument vectors and other parse-time garbage */
    const config_options *options;
    config_messages *errors;
    config_messages *warnings;
    int error_count;

    const char *file;
    int line;
    unsigned context;  /* CONTEXT_SERVER, _VHOST, _DIRECTORY or _LOCATION */
    dir_config *dir;   /* where SCOPE_DIRECTORY rows write */
    const config_directive *module_row;  /* inside a module's section: only its rows are allowed */
    bool skipping;     /* inside a false <IfDefine>/<IfModule> or a broken section */
    unsigned limit;    /* inside <Limit>/<LimitExcept>: CONFIG_METHOD_* bits; else CONFIG_METHODS_ALL */

    open_section open[SECTION_DEPTH_MAX];
    int open_count;
    /* per scope (nesting level, <IfDefine>/<IfModule> not counted): the
     * <If>/<ElseIf> an <ElseIf>/<Else> there continues */
    const section_condition *last_condition[SECTION_DEPTH_MAX + 1];
    int open_base;     /* sections never span files: the current file's first slot */
    int include_depth;

    /* Define, UnDefine and -D: names, each with a value or NULL. */
    char **variable_names;
    char **variable_values;
    int variable_count;
    int variable_capacity;
    int counting;      /* the open <IfModule> whose skipped directives are counted, or -1 */
};

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

static int call_setter(config_parse *parse, const config_directive *d, void *base, int argc, char **argv)
{
    return d->set(parse, d, (char *)config_row_base(base, d) + d->offset, argc, argv);
}

static void *row_base(config_parse *parse, const config_directive *d)
{
    return d->scope == SCOPE_SERVER ? (void *)parse->server : (void *)parse->dir;
}

bool config_was_set_here(config_parse *parse, const config_directive *d)
{
    return config_was_set(row_base(parse, d), d);
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

/* Checks context and argument count, calls the setter, marks the row set.
 * name is how messages call the directive. */
static bool apply_row(config_parse *parse, const config_directive *d, const char *name, int count, char **args)
{
    if (!(d->contexts & parse->context)) {
        config_error(parse, "%s not allowed here", name);
        return false;
    }
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
    void *base = row_base(parse, d);
    if (call_setter(parse, d, base, count, args) != WEFT_OK)
        return false;
    warn_vhost_ignored(parse, d);
    int index = config_directive_index(d);
    config_set_bits(base, d->scope)[index / 8] |= (unsigned char)(1u << (index % 8));
    return true;
}

/* Names the Apache module when the directive is a well-known one of a
 * module weft lacks: there is no module to load. */
static void report_unknown(config_parse *parse, const char *name, const char *what, const char *lookup)
{
    const char *owner = module_of_directive(lookup);
    const char *kind = lookup[0] == '<' ? "section" : "directive";
    if (owner && module_is_present(owner))
        config_error(parse, "%s is a %s of %s that weft does not implement", name, kind, owner);
    else if (owner)
        config_error(parse, "%s is a %s of %s, which is not built into weft", name, kind, owner);
    else
        config_error(parse, "Invalid %s '%s': weft has no such %s (misspelled?)", what, name,
                     what[0] == 's' ? "section" : "directive");
}

static void run_directive(config_parse *parse, int argc, char **argv)
{
    const config_directive *d = config_find_directive_for(argv[0], parse->context);
    if (!d) {
        report_unknown(parse, argv[0], "command", argv[0]);
        return;
    }
    apply_row(parse, d, d->name, argc - 1, argv + 1);
}

/* ---- sections ---------------------------------------------------------- */

/* <IfDefine> and <IfModule> open no scope: what they hold belongs to the
 * enclosing section, as in Apache. */
static int condition_scope(const config_parse *parse)
{
    int scope = 0;
    for (int i = 0; i < parse->open_count; i++)
        scope += parse->open[i].kind != OPEN_CONDITION;
    return scope;
}

static open_section *push_section(config_parse *parse, open_kind kind, const char *name, bool skip_contents)
{
    if (parse->open_count == SECTION_DEPTH_MAX) {
        config_error(parse, "Sections nested more than %d deep", SECTION_DEPTH_MAX);
        return NULL;
    }
    open_section *s = &parse->open[parse->open_count++];
    *s = (open_section){
        .kind = kind,
        .name = pool_strdup(parse->scratch, name),
        .line = parse->line,
        .saved_context = parse->context,
        .saved_server = parse->server,
        .saved_dir = parse->dir,
        .saved_module_row = parse->module_row,
        .saved_skipping = parse->skipping,
        .saved_limit = parse->limit,
    };
    parse->skipping = parse->skipping || skip_contents;
    if (kind != OPEN_CONDITION)
        parse->last_condition[condition_scope(parse)] = NULL;  /* a new scope */
    return s;
}

/* Once per skipped block: whole blocks vanishing silently hid listings,
 * deny rules and TLS hosts. */
static void report_skipped_module(config_parse *parse, const open_section *s)
{
    if (s->skipped_directives == 0)
        return;
    char name[128];
    module_apache_name(s->missing_module, name, sizeof(name));
    int saved_line = parse->line;
    int last = parse->line;
    parse->line = s->line;
    config_warning(parse, "%s is not built into weft; %d directive%s in %s:%d-%d %s skipped", name,
                   s->skipped_directives, s->skipped_directives == 1 ? "" : "s", parse->file, s->line, last,
                   s->skipped_directives == 1 ? "is" : "are");
    parse->line = saved_line;
}

static void pop_section(config_parse *parse)
{
    if (parse->counting == parse->open_count - 1) {
        report_skipped_module(parse, &parse->open[parse->counting]);
        parse->counting = -1;
    }
    open_section *s = &parse->open[--parse->open_count];
    if (s->kind == OPEN_MODULE) {
        /* The module keeps its own nesting (e.g. the Require tree): it
         * hears about every close, also the one an unclosed section gets. */
        const config_directive *close = config_find_directive(pool_printf(parse->scratch, "</%s",
                                                                          s->module_row->name + 1));
        if (close && close->set)
            call_setter(parse, close, row_base(parse, close), 0, NULL);
    }
    if (s->kind == OPEN_PATH && s->section && s->section->kind == SECTION_IF) {
        const section_condition *condition = s->section->condition;
        /* an <Else> ends its chain */
        parse->last_condition[condition_scope(parse)] = condition->expr ? condition : NULL;
    } else if (s->kind == OPEN_BROKEN && !s->saved_skipping
               && (strcmp(s->name, "If") == 0 || strcmp(s->name, "ElseIf") == 0)) {
        /* already reported: its <Else> must not add a second error */
        static const section_condition broken;
        parse->last_condition[condition_scope(parse)] = &broken;
    }
    parse->context = s->saved_context;
    parse->server = s->saved_server;
    parse->dir = s->saved_dir;
    parse->module_row = s->saved_module_row;
    parse->skipping = s->saved_skipping;
    parse->limit = s->saved_limit;
}

static const char *enclosing_section_name(const config_parse *parse)
{
    for (int i = parse->open_count - 1; i >= 0; i--)
        if (parse->open[i].kind != OPEN_CONDITION && parse->open[i].kind != OPEN_LIMIT)
            return parse->open[i].name;
    return "?";
}

/* The innermost enclosing <Directory> or <DirectoryMatch>, if that is what
 * immediately encloses us (conditions aside). */
static const config_section *enclosing_directory(const config_parse *parse)
{
    for (int i = parse->open_count - 1; i >= 0; i--) {
        const open_section *s = &parse->open[i];
        if (s->kind == OPEN_CONDITION || s->kind == OPEN_LIMIT)
            continue;
        bool directory = s->kind == OPEN_PATH && s->section
            && (s->section->kind == SECTION_DIRECTORY || s->section->kind == SECTION_DIRECTORY_MATCH);
        return directory ? s->section : NULL;
    }
    return NULL;
}

static config_section *add_section(config_parse *parse, const config_section *model)
{
    server_config *server = parse->server;
    int count = server->section_count;
    /* Capacity is the next power of two: grow when count reaches one. */
    if (count == 0 || (count >= 8 && (count & (count - 1)) == 0)) {
        int capacity = count < 8 ? 8 : count * 2;
        config_section *bigger = pool_alloc(parse->pool, sizeof(*bigger) * (size_t)capacity);
        if (count)
            memcpy(bigger, server->sections, sizeof(*bigger) * (size_t)count);
        server->sections = bigger;
    }
    config_section *section = &server->sections[server->section_count++];
    *section = *model;
    section->config = pool_calloc(parse->pool, sizeof(dir_config));
    config_create_module_configs(section->config, SCOPE_DIRECTORY, parse->pool);
    section->file = parse->file;
    section->line = parse->line;
    return section;
}

typedef struct {
    const char *name;
    section_kind kind;
    bool regex;            /* the argument is a regular expression (the Match forms) */
    const char *argument;  /* for messages */
} path_section_type;

static const path_section_type path_section_types[] = {
    { "Directory", SECTION_DIRECTORY, false, "a directory path" },
    { "DirectoryMatch", SECTION_DIRECTORY_MATCH, true, "a regular expression" },
    { "Files", SECTION_FILES, false, "a file name" },
    { "FilesMatch", SECTION_FILES_MATCH, true, "a regular expression" },
    { "Location", SECTION_LOCATION, false, "a URL path" },
    { "LocationMatch", SECTION_LOCATION_MATCH, true, "a regular expression" },
};

static int path_depth(const char *path)
{
    int depth = 0;
    if (strcmp(path, "/") != 0)
        for (const char *c = path; *c; c++)
            depth += *c == '/';
    return depth;
}

/* Fills model from the arguments; false after config_error. */
static bool describe_path_section(config_parse *parse, const path_section_type *type, int argc, char **argv,
                                  config_section *model)
{
    bool tilde = !type->regex && argc == 2 && strcmp(argv[0], "~") == 0;
    if (argc != 1 && !tilde) {
        config_error(parse, "<%s> takes one argument, %s", type->name, type->argument);
        return false;
    }
    const char *argument = argv[argc - 1];
    model->kind = tilde ? type->kind + 1 : type->kind;  /* each Match kind follows its plain one */
    if (type->regex || tilde) {
        model->path = pool_strdup(parse->pool, argument);
        model->regex = config_compile_regex(parse, argument, 0);
        model->regex_prefix = config_regex_prefix(parse, argument, 0);
        return model->regex != NULL;
    }
    model->wildcard = strpbrk(argument, "*?[") != NULL;
    if (type->kind != SECTION_DIRECTORY) {
        model->path = pool_strdup(parse->pool, argument);
        return true;
    }
    char *path = config_resolve_path(parse, argument);
    size_t length = strlen(path);
    while (length > 1 && path[length - 1] == '/')
        path[--length] = '\0';
    model->path = path;
    model->depth = path_depth(path);
    return true;
}

static void open_path_section(config_parse *parse, const path_section_type *type, int argc, char **argv)
{
    bool top = parse->context == CONTEXT_SERVER || parse->context == CONTEXT_VHOST;
    const config_section *directory = type->kind == SECTION_FILES ? enclosing_directory(parse) : NULL;
    config_section model = { .within = NULL };
    if (!top && !directory) {
        config_error(parse, "<%s> cannot occur within <%s> section", type->name, enclosing_section_name(parse));
    } else if (describe_path_section(parse, type, argc, argv, &model)) {
        if (directory) {
            /* A copy: the section array may move as it grows. */
            config_section *copy = pool_alloc(parse->pool, sizeof(*copy));
            *copy = *directory;
            model.within = copy;
        }
        open_section *open = push_section(parse, OPEN_PATH, type->name, false);
        if (!open)
            return;
        config_section *section = add_section(parse, &model);
        open->section = section;
        parse->dir = section->config;
        parse->context = type->kind == SECTION_LOCATION ? CONTEXT_LOCATION : CONTEXT_DIRECTORY;
        return;
    }
    push_section(parse, OPEN_BROKEN, type->name, true);
}

static void open_virtual_host(config_parse *parse, int argc, char **argv)
{
    server_config *own = NULL;
    if (parse->context != CONTEXT_SERVER)
        config_error(parse, "<VirtualHost> cannot occur within <%s> section", enclosing_section_name(parse));
    else if (argc == 0)
        config_error(parse, "<VirtualHost> requires at least one argument, an address[:port]");
    else
        own = vhost_open(parse, argc, argv);
    if (!own) {
        push_section(parse, OPEN_BROKEN, "VirtualHost", true);
        return;
    }
    if (!push_section(parse, OPEN_VHOST, "VirtualHost", false))
        return;
    parse->server = own;
    parse->dir = own->root_dir;
    parse->context = CONTEXT_VHOST;
}

static void open_condition(config_parse *parse, const char *name, int argc, char **argv)
{
    if (argc != 1) {
        config_error(parse, "<%s> takes one argument, %s", name,
                     strcmp(name, "IfDefine") == 0 ? "a [!]parameter name" : "a [!]module name");
        push_section(parse, OPEN_BROKEN, name, true);
        return;
    }
    bool negated = argv[0][0] == '!';
    const char *subject = argv[0] + negated;
    bool if_module = strcmp(name, "IfModule") == 0;
    bool holds = if_module ? module_is_present(subject) : config_is_defined(parse, subject);
    open_section *open = push_section(parse, OPEN_CONDITION, name, holds == negated);
    /* A negated block skipped because the module is there misses nothing;
     * neither does one for a module weft replaces (docs/migration.md). */
    if (open && if_module && !holds && !negated && !module_is_replaced(subject)) {
        open->missing_module = pool_strdup(parse->scratch, subject);
        parse->counting = parse->open_count - 1;
    }
}

/* ---- <Limit> and <LimitExcept> ---------------------------------------- */

static const char *const limit_method_names[] = { "GET", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                                                  "TRACE", "PATCH" };

unsigned config_method_bit(const char *method)
{
    /* HEAD is GET to access control, in <Limit> too (Apache's method number). */
    if (strcmp(method, "HEAD") == 0)
        return CONFIG_METHOD_GET;
    for (size_t i = 0; i < COUNT_OF(limit_method_names); i++)
        if (strcmp(method, limit_method_names[i]) == 0)
            return 1u << i;
    return CONFIG_METHOD_OTHER;
}

unsigned config_limit_methods(const config_parse *parse)
{
    return parse->limit;
}

/* Apache's core: any token is a method (an unknown one is registered);
 * TRACE is TraceEnable's; the sections do not nest. */
static void open_limit(config_parse *parse, const char *name, int argc, char **argv)
{
    unsigned methods = 0;
    bool broken = false;
    if (argc == 0) {
        broken = config_error(parse, "<%s> requires at least one argument, a method name", name) != WEFT_OK;
    } else if (parse->limit != CONFIG_METHODS_ALL) {
        broken = config_error(parse, "<%s> cannot occur within <Limit> or <LimitExcept> section", name) != WEFT_OK;
    }
    for (int i = 0; !broken && i < argc; i++) {
        if (strcmp(argv[i], "TRACE") == 0)
            broken = config_error(parse, "TRACE cannot be controlled by <%s>, see TraceEnable", name) != WEFT_OK;
        methods |= config_method_bit(argv[i]);
    }
    if (broken) {
        push_section(parse, OPEN_BROKEN, name, true);
        return;
    }
    if (!push_section(parse, OPEN_LIMIT, name, false))
        return;
    parse->limit = strcmp(name, "LimitExcept") == 0 ? CONFIG_METHODS_ALL & ~methods : methods;
}

/* <If "expr">, <ElseIf "expr">, <Else>: a section merged after all the
 * others when its condition holds (config_merge_conditions). */
static void open_if_section(config_parse *parse, const char *name, int argc, char **argv)
{
    bool is_else = strcmp(name, "Else") == 0;
    section_condition *condition = pool_calloc(parse->pool, sizeof(*condition));
    condition->continues_chain = strcmp(name, "If") != 0;
    config_section model = { .kind = SECTION_IF, .condition = condition };
    const open_section *enclosing = NULL;
    for (int i = parse->open_count - 1; i >= 0 && !enclosing; i--)
        if (parse->open[i].kind != OPEN_CONDITION)
            enclosing = &parse->open[i];
    bool failed = true;
    if (enclosing && enclosing->kind == OPEN_MODULE) {
        config_error(parse, "<%s> cannot occur within <%s> section", name, enclosing->name);
    } else if (is_else ? argc != 0 : argc != 1) {
        config_error(parse, is_else ? "<Else> does not take an argument"
                            : argc == 0 ? "<%s> needs an expression" : "Multiple <%s> arguments not supported.",
                     name);
    } else if (condition->continues_chain && !parse->last_condition[condition_scope(parse)]) {
        config_error(parse, "<Else> or <ElseIf> section without previous <If> or <ElseIf> section in same scope");
    } else if (is_else || (condition->expr = config_compile_expr(parse, argv[0]))) {
        failed = false;
    }
    if (failed) {
        push_section(parse, OPEN_BROKEN, name, true);
        return;
    }
    if (condition->continues_chain)
        condition->previous = parse->last_condition[condition_scope(parse)];
    if (enclosing && enclosing->kind == OPEN_PATH && enclosing->section) {
        const config_section *outer = enclosing->section;
        if (outer->kind == SECTION_IF) {
            condition->parent = outer->condition;
            model.within = outer->within;
        } else {
            /* A copy: the section array may move as it grows. */
            config_section *copy = pool_alloc(parse->pool, sizeof(*copy));
            *copy = *outer;
            model.within = copy;
        }
    }
    open_section *open = push_section(parse, OPEN_PATH, name, false);
    if (!open)
        return;
    config_section *section = add_section(parse, &model);
    section->path = (char *)(condition->expr ? expr_text(condition->expr) : "");
    open->section = section;
    parse->dir = section->config;
    parse->context = CONTEXT_DIRECTORY;
}

/* A section some module defines with a "<Name" row (config.h). */
static void open_module_section(config_parse *parse, const config_directive *row, int argc, char **argv)
{
    const char *name = row->name + 1;
    if (!apply_row(parse, row, pool_printf(parse->scratch, "<%s>", name), argc, argv)) {
        push_section(parse, OPEN_BROKEN, name, true);
        return;
    }
    open_section *open = push_section(parse, OPEN_MODULE, name, false);
    if (!open)
        return;
    open->module_row = row;
    parse->module_row = row;
}

static void open_section_line(config_parse *parse, const char *line)
{
    size_t length = strlen(line);
    const char *name_start = line + 1;
    const char *name_end = name_start;
    while (*name_end && *name_end != ' ' && *name_end != '\t' && *name_end != '>')
        name_end++;
    char *name = pool_strndup(parse->scratch, name_start, (size_t)(name_end - name_start));

    if (parse->skipping) {
        push_section(parse, OPEN_BROKEN, name, true);
        return;
    }
    const path_section_type *path_type = NULL;
    for (size_t i = 0; i < COUNT_OF(path_section_types); i++)
        if (strcasecmp(name, path_section_types[i].name) == 0)
            path_type = &path_section_types[i];
    static const char *const known[] = { "IfDefine", "IfModule", "VirtualHost", "Limit", "LimitExcept",
                                         "If", "ElseIf", "Else" };
    for (size_t i = 0; i < COUNT_OF(known); i++)
        if (strcasecmp(name, known[i]) == 0)
            name = (char *)known[i];
    const config_directive *module_row = NULL;
    if (path_type) {
        name = (char *)path_type->name;
    } else if (name[0] && name[0] != '/') {
        module_row = config_find_directive(pool_printf(parse->scratch, "<%s", name));
        if (module_row)
            name = (char *)module_row->name + 1;
    }

    if (line[length - 1] != '>' || name_end == line + length) {
        config_error(parse, "<%s> directive missing closing '>'", name);
        push_section(parse, OPEN_BROKEN, name, true);
        return;
    }
    const char *problem = NULL;
    char **argv;
    char *arguments = pool_strndup(parse->scratch, name_end, (size_t)(line + length - 1 - name_end));
    int argc = config_split_words(parse->scratch, arguments, &argv, &problem);
    if (argc < 0) {
        config_error(parse, "%s", problem);
        push_section(parse, OPEN_BROKEN, name, true);
        return;
    }

    if ((path_type || strcmp(name, "VirtualHost") == 0) && parse->limit != CONFIG_METHODS_ALL) {
        config_error(parse, "<%s> cannot occur within <Limit> or <LimitExcept> section", name);
        push_section(parse, OPEN_BROKEN, name, true);
    } else if (path_type)
        open_path_section(parse, path_type, argc, argv);
    else if (strcmp(name, "VirtualHost") == 0)
        open_virtual_host(parse, argc, argv);
    else if (strcmp(name, "IfDefine") == 0 || strcmp(name, "IfModule") == 0)
        open_condition(parse, name, argc, argv);
    else if (strcmp(name, "Limit") == 0 || strcmp(name, "LimitExcept") == 0)
        open_limit(parse, name, argc, argv);
    else if (strcmp(name, "If") == 0 || strcmp(name, "ElseIf") == 0 || strcmp(name, "Else") == 0)
        open_if_section(parse, name, argc, argv);
    else if (module_row)
        open_module_section(parse, module_row, argc, argv);
    else {
        report_unknown(parse, pool_printf(parse->scratch, "<%s>", name), "section",
                       pool_printf(parse->scratch, "<%s", name));
        push_section(parse, OPEN_BROKEN, name, true);
    }
}

static void close_section_line(config_parse *parse, const char *line)
{
    const char *name_start = line + 2;
    size_t name_length = strcspn(name_start, " \t>");
    char *name = pool_strndup(parse->scratch, name_start, name_length);

    if (parse->open_count == parse->open_base) {
        config_error(parse, "</%s> without matching <%s> section", name, name);
        return;
    }
    if (line[strlen(line) - 1] != '>')
        config_error(parse, "</%s> directive missing closing '>'", name);
    open_section *top = &parse->open[parse->open_count - 1];
    if (strcasecmp(top->name, name) == 0) {
        pop_section(parse);
        return;
    }
    config_error(parse, "Expected </%s> but saw </%s>", top->name, name);
    /* If it closes an outer section, the inner ones were forgotten: close
     * them too.  Otherwise the tag is stray and changes nothing. */
    for (int i = parse->open_count - 2; i >= parse->open_base; i--) {
        if (strcasecmp(parse->open[i].name, name) == 0) {
            while (parse->open_count > i)
                pop_section(parse);
            return;
        }
    }
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
        close_section_line(parse, line);
        return;
    }
    if (line[0] == '<') {
        open_section_line(parse, line);
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
    else if (argc > 0)
        run_directive(parse, argc, argv);
}

/* ---- files and Include ------------------------------------------------- */

static void parse_text(config_parse *parse, const char *name, const char *text, size_t length, int first_line)
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
        pop_section(parse);
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
    parse_text(parse, pool_strdup(parse->pool, path), content.data, content.length, 1);
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
            call_setter(parse, d, base, argc, argv);
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
        parse_text(parse, BUILTIN_CONFIG_NAME, builtin_config, sizeof(builtin_config) - 1, 1);
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
        parse_text(parse, path, content.data, content.length, 1);
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
            parse_text(&parse, "-C", text, strlen(text), i + 1);
        }
        const char *main_file = read_main_file(&parse);
        for (int i = 0; i < options->directives_after_count; i++) {
            const char *text = options->directives_after[i];
            parse_text(&parse, "-c", text, strlen(text), i + 1);
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
