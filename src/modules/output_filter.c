/*
 * output_filter.c — SetOutputFilter, AddOutputFilter, AddOutputFilterByType
 * (see output_filter.h).
 *
 *   SetOutputFilter filter[;filter...]                     anywhere
 *   AddOutputFilter filter[;filter...] extension...         anywhere
 *   AddOutputFilterByType filter[;filter...] media-type...  anywhere
 *
 * As in Apache, a section's SetOutputFilter replaces the one it inherits;
 * AddOutputFilter and AddOutputFilterByType rules accumulate, the inner
 * section's first (for the same extension, the inner one wins).  An
 * unknown filter name is reported when the configuration is read.
 */
#include "output_filter.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/module.h"
#include "cgi.h"
#include "deflate.h"

typedef struct filter_rule {
    struct filter_rule *next;
    char *names;   /* as written: "DEFLATE" or "BROTLI_COMPRESS;DEFLATE" */
    char *match;   /* the extension (no dot) or media type */
} filter_rule;

typedef struct {
    char *set_filters;          /* SetOutputFilter */
    filter_rule *by_extension;  /* AddOutputFilter */
    filter_rule *by_type;       /* AddOutputFilterByType */
} filter_dir_config;

extern const module filter_module;

static const output_filter_type *const known_types[] = {
    &deflate_filter_type,
    &brotli_filter_type,
};

const output_filter_type *output_filter_type_named(const char *name, size_t length)
{
    for (size_t i = 0; i < COUNT_OF(known_types); i++)
        if (strlen(known_types[i]->name) == length && strncasecmp(known_types[i]->name, name, length) == 0)
            return known_types[i];
    return NULL;
}

/* Calls each(name) for every name of a "a;b;c" list. */
static bool names_include(const char *names, const char *wanted)
{
    size_t wanted_length = strlen(wanted);
    for (const char *at = names; *at;) {
        size_t length = strcspn(at, ";");
        if (length == wanted_length && strncasecmp(at, wanted, length) == 0)
            return true;
        at += length;
        if (*at == ';')
            at++;
    }
    return false;
}

static int check_names(config_parse *parse, const char *names)
{
    for (const char *at = names; *at;) {
        size_t length = strcspn(at, ";");
        if (length > 0 && !output_filter_type_named(at, length))
            return config_error(parse, "unknown output filter '%.*s' (weft has DEFLATE and BROTLI_COMPRESS)",
                                (int)length, at);
        at += length;
        if (*at == ';')
            at++;
    }
    return WEFT_OK;
}

static int set_filters(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (check_names(parse, argv[0]) != WEFT_OK)
        return WEFT_ERROR;
    *(char **)target = pool_strdup(config_pool(parse), argv[0]);
    return WEFT_OK;
}

static int add_rules(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (check_names(parse, argv[0]) != WEFT_OK)
        return WEFT_ERROR;
    pool *p = config_pool(parse);
    filter_rule **list = target;
    bool extension = strcasecmp(d->name, "AddOutputFilter") == 0;
    for (int i = 1; i < argc; i++) {
        filter_rule *rule = pool_calloc(p, sizeof(*rule));
        rule->names = pool_strdup(p, argv[0]);
        const char *match = argv[i];
        if (extension && *match == '.')
            match++;
        rule->match = pool_strdup(p, match);
        /* Newest first: a later rule for the same match wins. */
        rule->next = *list;
        *list = rule;
    }
    return WEFT_OK;
}

/* The inner section's rules first, then the ones it inherits. */
static void merge_rules(void *merged, const void *child, pool *p)
{
    filter_rule *inherited = *(filter_rule **)merged;
    filter_rule *own = *(filter_rule *const *)child;
    filter_rule *head = inherited, **tail = &head;
    for (const filter_rule *rule = own; rule; rule = rule->next) {
        if (rule == inherited)
            break;  /* the child's list already ends with ours */
        filter_rule *copy = pool_alloc(p, sizeof(*copy));
        *copy = *rule;
        copy->next = NULL;
        *tail = copy;
        tail = &copy->next;
    }
    if (tail != &head)
        *tail = inherited;
    *(filter_rule **)merged = head;
}

/* One line per run of rules with the same filters, oldest first, as they
 * were most likely written ("AddOutputFilterByType DEFLATE text/html text/plain"). */
static void format_rules(FILE *out, const config_directive *d, const void *base)
{
    const filter_rule *list = *(filter_rule *const *)((const char *)base + d->offset);
    int count = 0;
    for (const filter_rule *rule = list; rule; rule = rule->next)
        count++;
    if (count == 0)
        return;
    const char **argv = calloc((size_t)count + 1, sizeof(*argv));
    const filter_rule **rules = calloc((size_t)count, sizeof(*rules));
    if (!argv || !rules) {
        free(argv);
        free(rules);
        return;
    }
    int at = count;
    for (const filter_rule *rule = list; rule; rule = rule->next)
        rules[--at] = rule;
    for (int start = 0; start < count;) {
        int argc = 0;
        argv[argc++] = rules[start]->names;
        int end = start;
        while (end < count && strcmp(rules[end]->names, rules[start]->names) == 0)
            argv[argc++] = rules[end++]->match;
        config_dump_line(out, d, argc, argv);
        start = end;
    }
    free(argv);
    free(rules);
}

static void format_filters(FILE *out, const config_directive *d, const void *base)
{
    const char *names = *(char *const *)((const char *)base + d->offset);
    if (names)
        config_dump_line(out, d, 1, &names);
}

/* Does the file name have extension among its dot-separated parts (Apache's
 * mod_mime looks at all of them: "page.html.en")? */
static bool has_extension(const char *path, const char *extension)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    const char *dot = strchr(name, '.');
    size_t length = strlen(extension);
    while (dot) {
        const char *part = dot + 1;
        const char *end = strchr(part, '.');
        size_t part_length = end ? (size_t)(end - part) : strlen(part);
        if (part_length == length && strncasecmp(part, extension, length) == 0)
            return true;
        dot = end;
    }
    return false;
}

static const char *configured_by_type = "by type";

static void add_named(request *r, const char *names, void *context)
{
    for (const char *at = names; *at;) {
        size_t length = strcspn(at, ";");
        const output_filter_type *type = output_filter_type_named(at, length);
        if (type)
            output_filter_add(r, type, context);
        at += length;
        if (*at == ';')
            at++;
    }
}

static int filter_fixups(request *r)
{
    const filter_dir_config *config = module_dir_config(r->dir, &filter_module);
    if (!config || (!config->set_filters && !config->by_extension && !config->by_type))
        return WEFT_DECLINED;
    if (config->set_filters)
        add_named(r, config->set_filters, NULL);
    if (r->file_path) {
        for (const filter_rule *rule = config->by_extension; rule; rule = rule->next)
            if (has_extension(r->file_path, rule->match))
                add_named(r, rule->names, NULL);
    }
    /* By type: decided in the filter's start(), when the type is known. */
    for (const filter_rule *rule = config->by_type; rule; rule = rule->next)
        add_named(r, rule->names, (void *)configured_by_type);
    return WEFT_DECLINED;
}

static bool type_matches(const char *content_type, const char *wanted)
{
    size_t length = strcspn(content_type, "; \t");
    return strlen(wanted) == length && strncasecmp(content_type, wanted, length) == 0;
}

bool output_filter_type_allowed(const request *r, const output_filter *f)
{
    if (f->context != configured_by_type)
        return true;
    if (!r->content_type)
        return false;
    const filter_dir_config *config = module_dir_config(r->dir, &filter_module);
    for (const filter_rule *rule = config ? config->by_type : NULL; rule; rule = rule->next)
        if (type_matches(r->content_type, rule->match) && names_include(rule->names, f->type->name))
            return true;
    return false;
}

const char *output_filter_environment(const request *r, const char *name)
{
    const char *value = request_get_env(r, name);
    if (value)
        return value;
    const cgi_dir_config *cgi = cgi_dir_settings(r->dir);
    for (const environment_setting *e = cgi ? cgi->environment : NULL; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e->value;  /* NULL: UnsetEnv */
    return NULL;
}

#define FILTER_ROW(row_name, field, minimum, setter, merger, formatter, row_syntax, row_help)         \
    { .name = row_name, .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,                     \
      .offset = offsetof(filter_dir_config, field), .size = sizeof(((filter_dir_config *)0)->field), \
      .min_args = minimum, .max_args = minimum == 1 ? 1 : ARGS_UNLIMITED, .set = setter,           \
      .merge = merger, .format = formatter, .syntax = row_syntax, .help = row_help, .overrides = OVERRIDE_FILEINFO }

static const config_directive filter_directives[] = {
    FILTER_ROW("SetOutputFilter", set_filters, 1, set_filters, NULL, format_filters, "filter[;filter...]",
               "output filters for every response here (DEFLATE, BROTLI_COMPRESS)"),
    FILTER_ROW("AddOutputFilter", by_extension, 2, add_rules, merge_rules, format_rules,
               "filter[;filter...] extension...", "output filters for files with one of these extensions"),
    FILTER_ROW("AddOutputFilterByType", by_type, 2, add_rules, merge_rules, format_rules,
               "filter[;filter...] media-type...", "output filters for responses of these media types"),
    { .name = NULL },
};

const module filter_module = {
    .name = "filter",
    .directives = filter_directives,
    .dir_config_size = sizeof(filter_dir_config),
    .fixups = filter_fixups,
};
