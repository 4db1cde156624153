/*
 * config_sections.c — the sections of the configuration language: the
 * path sections (<Directory>, <Files>, <Location> and their Match forms),
 * <VirtualHost>, <IfDefine>/<IfModule>, <Limit>/<LimitExcept>,
 * <If>/<ElseIf>/<Else>, and the sections modules define ("<Name" rows).
 * config.c hands each line that opens or closes one to this file.
 */
#include "config_internal.h"
#include "expr.h"
#include "module.h"
#include "server.h"
#include "vhost.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

void config_pop_section(config_parse *parse)
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
            config_call_setter(parse, close, config_parse_row_base(parse, close), 0, NULL);
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
    bool files = type->kind == SECTION_FILES || type->kind == SECTION_FILES_MATCH;
    const config_section *directory = files ? enclosing_directory(parse) : NULL;
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

const config_section *config_current_section(const config_parse *parse)
{
    for (int i = parse->open_count - 1; i >= 0; i--) {
        const open_section *s = &parse->open[i];
        if (s->kind == OPEN_PATH && s->section && s->section->kind != SECTION_IF)
            return s->section;
    }
    return NULL;
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
    if (!config_apply_row(parse, row, pool_printf(parse->scratch, "<%s>", name), argc, argv)) {
        push_section(parse, OPEN_BROKEN, name, true);
        return;
    }
    open_section *open = push_section(parse, OPEN_MODULE, name, false);
    if (!open)
        return;
    open->module_row = row;
    parse->module_row = row;
}

/* As Apache's core: <Files>, <FilesMatch>, <If> and the conditional
 * sections need any category (OR_ALL), <Limit> Limit or AuthConfig; the
 * sections that name other places are never allowed in a directory's file. */
bool config_htaccess_allows_section(config_parse *parse, const char *name)
{
    if (!parse->htaccess)
        return true;
    static const char *const never[] = { "Directory", "DirectoryMatch", "Location", "LocationMatch", "VirtualHost" };
    static const char *const any[] = { "Files", "FilesMatch", "If", "ElseIf", "Else", "IfModule", "IfDefine" };
    unsigned needed = 0;
    for (size_t i = 0; i < COUNT_OF(never); i++)
        if (strcasecmp(name, never[i]) == 0) {
            config_error(parse, "<%s not allowed here", name);
            return false;
        }
    for (size_t i = 0; i < COUNT_OF(any); i++)
        if (strcasecmp(name, any[i]) == 0)
            needed = OVERRIDE_ALL;
    if (strcasecmp(name, "Limit") == 0 || strcasecmp(name, "LimitExcept") == 0)
        needed = OVERRIDE_LIMIT | OVERRIDE_AUTHCONFIG;
    if (!needed || (needed & parse->htaccess->categories))
        return true;
    config_error(parse, "<%s not allowed here", name);
    return false;
}

void config_open_section_line(config_parse *parse, const char *line)
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

    if (parse->htaccess && !config_htaccess_allows_section(parse, name)) {
        push_section(parse, OPEN_BROKEN, name, true);
    } else if ((path_type || strcmp(name, "VirtualHost") == 0) && parse->limit != CONFIG_METHODS_ALL) {
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
        config_report_unknown(parse, pool_printf(parse->scratch, "<%s>", name), "section",
                       pool_printf(parse->scratch, "<%s", name));
        push_section(parse, OPEN_BROKEN, name, true);
    }
}

void config_close_section_line(config_parse *parse, const char *line)
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
        config_pop_section(parse);
        return;
    }
    config_error(parse, "Expected </%s> but saw </%s>", top->name, name);
    /* If it closes an outer section, the inner ones were forgotten: close
     * them too.  Otherwise the tag is stray and changes nothing. */
    for (int i = parse->open_count - 2; i >= parse->open_base; i--) {
        if (strcasecmp(parse->open[i].name, name) == 0) {
            while (parse->open_count > i)
                config_pop_section(parse);
            return;
        }
    }
}
