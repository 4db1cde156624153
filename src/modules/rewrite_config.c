/*
 * rewrite_config.c — mod_rewrite's directives: RewriteEngine, RewriteOptions,
 * RewriteBase, RewriteMap, RewriteCond and RewriteRule (their lines read as
 * Apache's parseargline reads them, their flags as its manual lists them),
 * and how a context's configuration merges into the one below it
 * (Apache's config_perdir_merge and config_server_merge).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/expr.h"
#include "../core/module.h"
#include "../http/response.h"
#include "rewrite_internal.h"

/* ---- configuration ------------------------------------------------------- */

/* The context's configuration, made at its first Rewrite* line. */
static rewrite_conf *context_conf(config_parse *parse, void *target, bool directory)
{
    rewrite_slot *slot = target;
    if (slot->conf)
        return slot->conf;
    rewrite_conf *conf = pool_calloc(config_pool(parse), sizeof(*conf));
    if (directory) {
        const config_section *section = config_current_section(parse);
        if (section && (section->kind == SECTION_FILES || section->kind == SECTION_FILES_MATCH) && section->within)
            section = section->within;
        const char *path = section ? section->path : "/";
        size_t length = strlen(path);
        conf->directory = length && path[length - 1] == '/' ? pool_strdup(config_pool(parse), path)
                                                            : pool_printf(config_pool(parse), "%s/", path);
    }
    slot->conf = conf;
    return conf;
}

static bool is_directory_row(const config_directive *d)
{
    return d->scope == SCOPE_DIRECTORY;
}

/* The line as written, for DUMP_CONFIG (in file order: a RewriteCond
 * belongs to the RewriteRule after it). */
static void remember_line(config_parse *parse, rewrite_conf *conf, const config_directive *d, int argc,
                          char **argv)
{
    pool *p = config_pool(parse);
    const char *raw = config_raw_arguments(parse);
    char *text = pool_strdup(p, d->name);
    if (raw) {
        text = pool_printf(p, "%s %s", d->name, raw);
    } else {
        for (int i = 0; i < argc; i++)
            text = pool_printf(p, "%s %s", text, argv[i]);
    }
    const char **grown = pool_alloc(p, sizeof(char *) * (size_t)(conf->line_count + 1));
    if (conf->line_count)
        memcpy(grown, conf->lines, sizeof(char *) * (size_t)conf->line_count);
    grown[conf->line_count++] = text;
    conf->lines = grown;
}

static int set_engine(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    (void)argc;
    rewrite_conf *conf = context_conf(parse, target, is_directory_row(d));
    if (strcasecmp(argv[0], "on") == 0)
        conf->engine = true;
    else if (strcasecmp(argv[0], "off") == 0)
        conf->engine = false;
    else
        return config_error(parse, "RewriteEngine must be On or Off, not '%s'", argv[0]);
    conf->engine_set = true;
    remember_line(parse, conf, d, argc, argv);
    return WEFT_OK;
}

static int set_options(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        { "Inherit", REWRITE_INHERIT },
        { "InheritBefore", REWRITE_INHERIT_BEFORE },
        { "InheritDown", REWRITE_INHERIT_DOWN },
        { "InheritDownBefore", REWRITE_INHERIT_DOWN_BEFORE },
        { "IgnoreInherit", REWRITE_IGNORE_INHERIT },
        { "AllowNoSlash", REWRITE_ALLOW_NO_SLASH },
        { "AllowAnyURI", REWRITE_ALLOW_ANY_URI },
        { "MergeBase", REWRITE_MERGE_BASE },
        { "IgnoreContextInfo", REWRITE_IGNORE_CONTEXT_INFO },
        { "LegacyPrefixDocRoot", REWRITE_LEGACY_PREFIX_DOCROOT },
        { "LongURLOptimization", REWRITE_LONGURL_OPTIMIZATION },
    };
    rewrite_conf *conf = context_conf(parse, target, is_directory_row(d));
    for (int i = 0; i < argc; i++) {
        if (strncasecmp(argv[i], "MaxRedirects=", 13) == 0) {
            config_warning(parse, "RewriteOptions MaxRedirects is no longer supported (as in Apache 2.4): "
                                  "internal redirects are limited to 10, Apache's LimitInternalRecursion default");
            continue;
        }
        size_t j = 0;
        while (j < COUNT_OF(names) && strcasecmp(argv[i], names[j].name) != 0)
            j++;
        if (j == COUNT_OF(names))
            return config_error(parse, "RewriteOptions: unknown option '%s' (Inherit, InheritBefore, InheritDown, "
                                       "InheritDownBefore, IgnoreInherit, AllowNoSlash, AllowAnyURI, MergeBase, "
                                       "IgnoreContextInfo, LegacyPrefixDocRoot, LongURLOptimization)", argv[i]);
        conf->options |= names[j].bit;
    }
    conf->options_set = true;
    remember_line(parse, conf, d, argc, argv);
    return WEFT_OK;
}

static int set_base(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    (void)argc;
    if (argv[0][0] != '/')
        return config_error(parse, "RewriteBase: argument is not a valid URL");
    rewrite_conf *conf = context_conf(parse, target, is_directory_row(d));
    conf->base = pool_strdup(config_pool(parse), argv[0]);
    conf->base_set = true;
    remember_line(parse, conf, d, argc, argv);
    return WEFT_OK;
}

/* "[NC,OR]" -> words split at commas, brackets removed; NULL after an error. */
static char **flag_words(config_parse *parse, const char *directive, const char *text, int *count)
{
    size_t length = strlen(text);
    if (length < 2 || text[0] != '[' || text[length - 1] != ']') {
        config_error(parse, "%s: bad flag delimiters in '%s' (flags are written [flag,flag])", directive, text);
        return NULL;
    }
    char *inside = pool_strndup(config_pool(parse), text + 1, length - 2);
    int capacity = 1;
    for (const char *c = inside; *c; c++)
        capacity += *c == ',';
    char **words = pool_alloc(config_pool(parse), sizeof(char *) * (size_t)capacity);
    *count = 0;
    for (char *word = inside; word;) {
        char *comma = strchr(word, ',');
        if (comma)
            *comma++ = '\0';
        while (*word == ' ' || *word == '\t')
            word++;
        if (*word)
            words[(*count)++] = word;
        word = comma;
    }
    return words;
}

/* Apache's parseargline for RewriteCond and RewriteRule: up to three
 * arguments from the line as written, each in quotes or not, where a
 * backslash before a blank keeps the blank in the argument (and itself:
 * "^GET\ /" is a regex with a space).  Returns the count, -1 if more. */
static int split_rewrite_line(config_parse *parse, int argc, char **argv, char *out[3])
{
    const char *raw = config_raw_arguments(parse);
    if (!raw) {
        if (argc > 3)
            return -1;
        for (int i = 0; i < argc; i++)
            out[i] = argv[i];
        return argc;
    }
    char *text = pool_strdup(config_pool(parse), raw);
    int count = 0;
    for (char *c = text;;) {
        while (*c == ' ' || *c == '\t')
            c++;
        if (!*c)
            break;
        if (count == 3)
            return -1;
        char quote = (*c == '"' || *c == '\'') ? *c++ : '\0';
        out[count++] = c;
        for (; *c; c++) {
            if (quote ? *c == quote : (*c == ' ' || *c == '\t'))
                break;
            if (*c == '\\' && (c[1] == ' ' || c[1] == '\t'))
                c++;
        }
        if (!*c)
            break;
        *c++ = '\0';
    }
    return count;
}

static int set_cond(config_parse *parse, const config_directive *d, void *target, int line_argc, char **line_argv)
{
    char *argv[3];
    int argc = split_rewrite_line(parse, line_argc, line_argv, argv);
    if (argc < 2 || argc > 3)
        return config_error(parse, "RewriteCond: bad argument line '%s' (TestString CondPattern [flags])",
                            config_raw_arguments(parse) ? config_raw_arguments(parse) : "");
    rewrite_conf *conf = context_conf(parse, target, is_directory_row(d));
    rewrite_cond cond = { .test = pool_strdup(config_pool(parse), argv[0]) };
    if (argc > 2) {
        int count;
        char **words = flag_words(parse, "RewriteCond", argv[2], &count);
        if (!words)
            return WEFT_ERROR;
        for (int i = 0; i < count; i++) {
            if (strcasecmp(words[i], "NC") == 0 || strcasecmp(words[i], "nocase") == 0)
                cond.nocase = true;
            else if (strcasecmp(words[i], "OR") == 0 || strcasecmp(words[i], "ornext") == 0)
                cond.or_next = true;
            else if (strcasecmp(words[i], "NV") == 0 || strcasecmp(words[i], "novary") == 0)
                cond.no_vary = true;
            else
                return config_error(parse, "RewriteCond: unknown flag '%s' (NC, OR, NV)", words[i]);
        }
    }
    if (strcasecmp(argv[0], "expr") == 0) {
        cond.kind = COND_EXPR;
        cond.pattern = pool_strdup(config_pool(parse), argv[1]);
        cond.expr = config_compile_expr(parse, argv[1]);
        if (!cond.expr)
            return WEFT_ERROR;
    } else if (rewrite_parse_cond_pattern(parse, &cond, argv[1]) != WEFT_OK) {
        return WEFT_ERROR;
    }
    rewrite_cond *grown = pool_alloc(config_pool(parse), sizeof(*grown) * (size_t)(conf->pending_count + 1));
    if (conf->pending_count)
        memcpy(grown, conf->pending, sizeof(*grown) * (size_t)conf->pending_count);
    grown[conf->pending_count++] = cond;
    conf->pending = grown;
    remember_line(parse, conf, d, line_argc, line_argv);
    return WEFT_OK;
}

static bool flag_is(const char *word, const char *short_name, const char *long_name, const char **value)
{
    size_t length = strcspn(word, "=");
    bool named = (strlen(short_name) == length && strncasecmp(word, short_name, length) == 0) ||
                 (long_name && strlen(long_name) == length && strncasecmp(word, long_name, length) == 0);
    if (named)
        *value = word[length] == '=' ? word + length + 1 : NULL;
    return named;
}

static bool all_digits(const char *text)
{
    if (!text || !*text)
        return false;
    for (const char *c = text; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return true;
}

static int parse_redirect_code(config_parse *parse, rewrite_rule *rule, const char *value)
{
    rule->flags |= RULE_REDIRECT;
    rule->status = 302;
    if (!value || !*value)
        return WEFT_OK;
    if (strcasecmp(value, "permanent") == 0) {
        rule->status = 301;
    } else if (strcasecmp(value, "temp") == 0) {
        rule->status = 302;
    } else if (strcasecmp(value, "seeother") == 0) {
        rule->status = 303;
    } else if (all_digits(value) && strlen(value) == 3) {
        rule->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
        const char *reason = http_status_reason(rule->status);
        if (rule->status < 300 || rule->status > 599 || !reason || !*reason)
            return config_error(parse, "RewriteRule: invalid HTTP response code '%s' for flag 'R'", value);
        if (rule->status >= 400)
            rule->flags |= RULE_STATUS | RULE_NO_SUBSTITUTION;
    } else {
        return config_error(parse, "RewriteRule: invalid HTTP response code '%s' for flag 'R'", value);
    }
    return WEFT_OK;
}

static int add_string(pool *p, const char ***list, int *count, const char *value)
{
    const char **grown = pool_alloc(p, sizeof(char *) * (size_t)(*count + 1));
    if (*count)
        memcpy(grown, *list, sizeof(char *) * (size_t)*count);
    grown[(*count)++] = pool_strdup(p, value);
    *list = grown;
    return WEFT_OK;
}

/* One flag of a RewriteRule. */
static int parse_rule_flag(config_parse *parse, rewrite_rule *rule, const char *word)
{
    pool *p = config_pool(parse);
    const char *value = NULL;
    if (flag_is(word, "B", NULL, &value)) {
        rule->flags |= RULE_ESCAPE_BACKREFS;
        rule->escape_only = value && *value ? pool_strdup(p, value) : NULL;
    } else if (flag_is(word, "BNP", "backrefnoplus", &value)) {
        rule->flags |= RULE_NO_PLUS;
    } else if (flag_is(word, "BCTLS", NULL, &value)) {
        rule->flags |= RULE_BCTLS;
    } else if (flag_is(word, "C", "chain", &value)) {
        rule->flags |= RULE_CHAIN;
    } else if (flag_is(word, "CO", "cookie", &value)) {
        if (!value || !*value)
            return config_error(parse, "RewriteRule: flag CO needs NAME:VALUE:DOMAIN[:lifetime[:path...]]");
        add_string(p, &rule->cookies, &rule->cookie_count, value);
    } else if (flag_is(word, "DPI", "discardpath", &value)) {
        rule->flags |= RULE_DISCARD_PATH_INFO;
    } else if (flag_is(word, "E", "env", &value)) {
        if (!value || !*value)
            return config_error(parse, "RewriteRule: flag E needs [!]VAR[:VAL]");
        rewrite_env *grown = pool_alloc(p, sizeof(*grown) * (size_t)(rule->env_count + 1));
        if (rule->env_count)
            memcpy(grown, rule->env, sizeof(*grown) * (size_t)rule->env_count);
        grown[rule->env_count++] = (rewrite_env){ .name = pool_strdup(p, value) };
        rule->env = grown;
    } else if (flag_is(word, "END", NULL, &value)) {
        rule->flags |= RULE_END;
    } else if (flag_is(word, "F", "forbidden", &value)) {
        rule->flags |= RULE_STATUS | RULE_NO_SUBSTITUTION;
        rule->status = 403;
    } else if (flag_is(word, "G", "gone", &value)) {
        rule->flags |= RULE_STATUS | RULE_NO_SUBSTITUTION;
        rule->status = 410;
    } else if (flag_is(word, "H", "handler", &value)) {
        if (!value || !*value)
            return config_error(parse, "RewriteRule: flag H needs a handler name");
        rule->handler = pool_strdup(p, value);
    } else if (flag_is(word, "L", "last", &value)) {
        rule->flags |= RULE_LAST;
    } else if (flag_is(word, "N", "next", &value)) {
        rule->flags |= RULE_NEXT_ROUND;
        if (value && *value) {
            if (!all_digits(value) || strlen(value) > 9)
                return config_error(parse, "RewriteRule: flag N needs a number of rounds, not '%s'", value);
            rule->max_rounds = atoi(value);
        }
    } else if (flag_is(word, "NC", "nocase", &value)) {
        rule->flags |= RULE_NOCASE;
    } else if (flag_is(word, "NE", "noescape", &value)) {
        rule->flags |= RULE_NO_ESCAPE;
    } else if (flag_is(word, "NS", "nosubreq", &value)) {
        rule->flags |= RULE_NO_SUBREQUEST;
    } else if (flag_is(word, "P", "proxy", &value)) {
        return config_error(parse, "RewriteRule: the [P] flag hands the request to mod_proxy, which weft does "
                                   "not have yet; redirect with [R] instead, or serve the backend otherwise");
    } else if (flag_is(word, "PT", "passthrough", &value)) {
        rule->flags |= RULE_PASS_THROUGH;
    } else if (flag_is(word, "QSA", "qsappend", &value)) {
        rule->flags |= RULE_QS_APPEND;
    } else if (flag_is(word, "QSD", "qsdiscard", &value)) {
        rule->flags |= RULE_QS_DISCARD;
    } else if (flag_is(word, "QSL", "qslast", &value)) {
        rule->flags |= RULE_QS_LAST;
    } else if (flag_is(word, "R", "redirect", &value)) {
        return parse_redirect_code(parse, rule, value);
    } else if (flag_is(word, "S", "skip", &value)) {
        if (!all_digits(value) || strlen(value) > 6)
            return config_error(parse, "RewriteRule: flag S needs a number of rules to skip");
        rule->skip = atoi(value);
    } else if (flag_is(word, "T", "type", &value)) {
        if (!value || !*value)
            return config_error(parse, "RewriteRule: flag T needs a MIME type");
        rule->type = pool_strdup(p, value);
    } else if (flag_is(word, "UnsafeAllow3F", NULL, &value) || flag_is(word, "UnsafePrefixStat", NULL, &value) ||
               flag_is(word, "BNE", NULL, &value)) {
        /* accepted: weft's checks they relax are Apache's too, or none */
    } else {
        return config_error(parse, "RewriteRule: unknown flag '%s'", word);
    }
    return WEFT_OK;
}

static int set_rule(config_parse *parse, const config_directive *d, void *target, int line_argc, char **line_argv)
{
    char *argv[3];
    int argc = split_rewrite_line(parse, line_argc, line_argv, argv);
    if (argc < 2 || argc > 3)
        return config_error(parse, "RewriteRule: bad argument line '%s' (Pattern Substitution [flags])",
                            config_raw_arguments(parse) ? config_raw_arguments(parse) : "");
    pool *p = config_pool(parse);
    rewrite_conf *conf = context_conf(parse, target, is_directory_row(d));
    rewrite_rule rule = { .max_rounds = 32000, .file = config_file_name(parse), .line = config_line_number(parse) };
    if (argc > 2) {
        int count;
        char **words = flag_words(parse, "RewriteRule", argv[2], &count);
        if (!words)
            return WEFT_ERROR;
        for (int i = 0; i < count; i++)
            if (parse_rule_flag(parse, &rule, words[i]) != WEFT_OK)
                return WEFT_ERROR;
    }
    const char *pattern = argv[0];
    if (pattern[0] == '!') {
        rule.flags |= RULE_NEGATE;
        pattern++;
    }
    rule.pattern = pool_strdup(p, pattern);
    rule.regex = config_compile_regex(parse, pattern, (rule.flags & RULE_NOCASE) ? REGEX_CASELESS : 0);
    if (!rule.regex)
        return WEFT_ERROR;
    if (strcmp(argv[1], "-") == 0)
        rule.flags |= RULE_NO_SUBSTITUTION;
    else
        rule.output = pool_strdup(p, argv[1]);
    rule.conds = conf->pending;
    rule.cond_count = conf->pending_count;
    conf->pending = NULL;
    conf->pending_count = 0;
    rewrite_rule *grown = pool_alloc(p, sizeof(*grown) * (size_t)(conf->rule_count + 1));
    if (conf->rule_count)
        memcpy(grown, conf->rules, sizeof(*grown) * (size_t)conf->rule_count);
    grown[conf->rule_count++] = rule;
    conf->rules = grown;
    remember_line(parse, conf, d, line_argc, line_argv);
    return WEFT_OK;
}

static int set_map(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    rewrite_conf *conf = context_conf(parse, target, is_directory_row(d));
    if (rewrite_map_define(parse, conf, argc, argv) != WEFT_OK)
        return WEFT_ERROR;
    remember_line(parse, conf, d, argc, argv);
    return WEFT_OK;
}

/* Two rule lists end to end. */
static rewrite_rule *joined_rules(pool *p, const rewrite_conf *first, const rewrite_conf *second, int *count)
{
    *count = first->rule_count + second->rule_count;
    if (!*count)
        return NULL;
    rewrite_rule *rules = pool_alloc(p, sizeof(*rules) * (size_t)*count);
    if (first->rule_count)
        memcpy(rules, first->rules, sizeof(*rules) * (size_t)first->rule_count);
    if (second->rule_count)
        memcpy(rules + first->rule_count, second->rules, sizeof(*rules) * (size_t)second->rule_count);
    return rules;
}

/* Apache's config_perdir_merge: RewriteEngine and RewriteOptions inherit,
 * RewriteBase only with MergeBase, rules only with Inherit (after the
 * section's own) or InheritBefore (before them); the directory prefix is
 * the section's. */
static void merge_dir(void *merged_field, const void *child_field, pool *p)
{
    rewrite_slot *merged = merged_field;
    const rewrite_slot *child = child_field;
    const rewrite_conf *base = merged->conf, *over = child->conf;
    if (!over)
        return;
    if (!base) {
        merged->conf = (rewrite_conf *)over;
        return;
    }
    rewrite_conf *a = pool_calloc(p, sizeof(*a));
    a->engine_set = over->engine_set || base->engine_set;
    a->engine = over->engine_set ? over->engine : base->engine;
    a->options_set = over->options_set || base->options_set;
    a->options = over->options_set ? over->options : base->options;
    if (a->options & REWRITE_MERGE_BASE) {
        a->base_set = over->base_set || base->base_set;
        a->base = over->base_set ? over->base : base->base;
    } else {
        a->base_set = over->base_set;
        a->base = over->base;
    }
    a->directory = over->directory;
    unsigned inherit = a->options | (base->options & (REWRITE_INHERIT_DOWN | REWRITE_INHERIT_DOWN_BEFORE));
    if (inherit & (REWRITE_INHERIT_BEFORE | REWRITE_INHERIT_DOWN_BEFORE))
        a->rules = joined_rules(p, base, over, &a->rule_count);
    else if (inherit & (REWRITE_INHERIT | REWRITE_INHERIT_DOWN))
        a->rules = joined_rules(p, over, base, &a->rule_count);
    else {
        a->rules = over->rules;
        a->rule_count = over->rule_count;
    }
    merged->conf = a;
}

/* A <VirtualHost> with Rewrite* lines of its own (Apache's
 * config_server_merge): its engine and options are its own; the main
 * server's rules join only with Inherit/InheritBefore (or the main server's
 * InheritDown); maps are always visible (Apache: with Inherit). */
static void merge_server(void *merged_field, const void *child_field, pool *p)
{
    rewrite_slot *merged = merged_field;
    const rewrite_slot *child = child_field;
    const rewrite_conf *over = child->conf;
    static const rewrite_conf none = { .engine = false };
    const rewrite_conf *base = merged->conf ? merged->conf : &none;
    if (!over)
        return;
    rewrite_conf *a = pool_calloc(p, sizeof(*a));
    *a = *over;
    unsigned inherit = over->options | (base->options & (REWRITE_INHERIT_DOWN | REWRITE_INHERIT_DOWN_BEFORE));
    if (over->options & REWRITE_IGNORE_INHERIT)
        inherit = 0;
    if (inherit & (REWRITE_INHERIT_BEFORE | REWRITE_INHERIT_DOWN_BEFORE))
        a->rules = joined_rules(p, base, over, &a->rule_count);
    else if (inherit & (REWRITE_INHERIT | REWRITE_INHERIT_DOWN))
        a->rules = joined_rules(p, over, base, &a->rule_count);
    /* The vhost's maps, then the main server's. */
    rewrite_map *maps = NULL, **tail = &maps;
    for (int round = 0; round < 2; round++) {
        for (const rewrite_map *m = round == 0 ? over->maps : base->maps; m; m = m->next) {
            rewrite_map *copy = pool_alloc(p, sizeof(*copy));
            *copy = *m;
            copy->next = NULL;
            *tail = copy;
            tail = &copy->next;
        }
    }
    a->maps = maps;
    merged->conf = a;
}

/* DUMP_CONFIG: the context's own lines as written; the RewriteRule row
 * prints the conditions with the rules, in their order. */
static void format_lines(FILE *out, const config_directive *d, const void *base)
{
    const rewrite_conf *conf = ((const rewrite_slot *)base)->conf;
    if (!conf || strcasecmp(d->name, "RewriteCond") == 0)
        return;
    bool rules = strcasecmp(d->name, "RewriteRule") == 0;
    size_t length = strlen(d->name);
    bool first = true;
    for (int i = 0; i < conf->line_count; i++) {
        const char *line = conf->lines[i];
        bool mine = rules ? strncasecmp(line, "RewriteRule ", 12) == 0 || strncasecmp(line, "RewriteCond ", 12) == 0
                          : strncasecmp(line, d->name, length) == 0 && line[length] == ' ';
        if (!mine)
            continue;
        /* The dump indents a section's first line of a row; the rest here. */
        fprintf(out, "%s%s\n", !first && d->scope == SCOPE_DIRECTORY ? "    " : "", line);
        first = false;
    }
}

/* ---- the table ----------------------------------------------------------- */

/* Apache's "Override: FileInfo" is the directive's: its server rows say it
 * too (whichever row a reader of .htaccess finds first), RewriteMap none.
 * Every row of a context writes its one rewrite_conf, so that it merges as
 * a whole: RewriteOptions before RewriteRule in the table keeps the merge
 * order Apache's (options decide how rules inherit). */
#define SERVER_SLOT .scope = SCOPE_SERVER, .offset = offsetof(rewrite_slot, conf), .size = sizeof(rewrite_conf *), \
                    .merge = merge_server, .contexts = CONTEXT_SERVER_OR_VHOST, .format = format_lines
#define DIR_SLOT .scope = SCOPE_DIRECTORY, .offset = offsetof(rewrite_slot, conf), .size = sizeof(rewrite_conf *), \
                 .merge = merge_dir, .contexts = CONTEXT_SECTIONS, .overrides = OVERRIDE_FILEINFO, \
                 .format = format_lines

const config_directive rewrite_directives[] = {
    { .name = "RewriteEngine", SERVER_SLOT, .overrides = OVERRIDE_FILEINFO, .min_args = 1, .max_args = 1, .set = set_engine, .syntax = "On|Off",
      .help = "turns the server's (or virtual host's) rewriting engine on or off" },
    { .name = "RewriteEngine", DIR_SLOT, .min_args = 1, .max_args = 1, .set = set_engine, .syntax = "On|Off",
      .help = "in a section or .htaccess: the directory's own engine, which the server's does not turn on" },
    { .name = "RewriteOptions", SERVER_SLOT, .overrides = OVERRIDE_FILEINFO, .min_args = 1, .max_args = ARGS_UNLIMITED, .set = set_options,
      .syntax = "Inherit|InheritBefore|InheritDown|...",
      .help = "a virtual host's rules with the main server's after (Inherit) or before (InheritBefore) them" },
    { .name = "RewriteOptions", DIR_SLOT, .min_args = 1, .max_args = ARGS_UNLIMITED, .set = set_options,
      .syntax = "Inherit|InheritBefore|InheritDown|...",
      .help = "in a section: the enclosing directory's rules too; MergeBase: its RewriteBase too" },
    { .name = "RewriteBase", DIR_SLOT, .min_args = 1, .max_args = 1, .set = set_base, .syntax = "URL-path",
      .help = "the URL-path of the directory, for relative substitutions of per-directory rules" },
    { .name = "RewriteMap", SERVER_SLOT, .min_args = 2, .max_args = 3, .set = set_map,
      .syntax = "name txt:|rnd:|int:|prg:source", .help = "a key-to-value map that ${name:key} reads" },
    { .name = "RewriteCond", SERVER_SLOT, .overrides = OVERRIDE_FILEINFO, .min_args = 2, .max_args = ARGS_UNLIMITED, .set = set_cond,
      .syntax = "TestString CondPattern [flags]", .help = "a condition the next RewriteRule requires" },
    { .name = "RewriteCond", DIR_SLOT, .min_args = 2, .max_args = ARGS_UNLIMITED, .set = set_cond,
      .syntax = "TestString CondPattern [flags]", .help = "%{REQUEST_FILENAME} is then the file's path" },
    { .name = "RewriteRule", SERVER_SLOT, .overrides = OVERRIDE_FILEINFO, .min_args = 2, .max_args = ARGS_UNLIMITED, .set = set_rule,
      .syntax = "Pattern Substitution [flags]", .help = "a rewriting rule: Pattern matches the URL-path" },
    { .name = "RewriteRule", DIR_SLOT, .min_args = 2, .max_args = ARGS_UNLIMITED, .set = set_rule,
      .syntax = "Pattern Substitution [flags]",
      .help = "in a section or .htaccess, Pattern matches the path below the directory, and a changed "
              "result is served by an internal redirect" },
    { .name = NULL },
};

