/*
 * rewrite.c — mod_rewrite: the directives, and the rule engine's two entry
 * points as Apache 2.4 has them: server context in translate (Apache's
 * translate_name, before Alias and DocumentRoot), directory context
 * (<Directory>, .htaccess, <Location>) in fixups, where the directory's
 * path is stripped before matching and added back after, and a changed
 * URL becomes an internal redirect.
 *
 * Rules, conditions and maps: rewrite_internal.h; rewrite_apply.c runs a
 * rule list.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../core/log.h"
#include "../core/module.h"
#include "../core/vhost.h"
#include "../http/request_vars.h"
#include "file_open.h"
#include "../http/response.h"
#include "rewrite_internal.h"

extern const module rewrite_module;

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
        conf->location = section && (section->kind == SECTION_LOCATION || section->kind == SECTION_LOCATION_MATCH);
    }
    slot->conf = conf;
    return conf;
}

static bool is_directory_row(const config_directive *d)
{
    return d->scope == SCOPE_DIRECTORY;
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
                                  "LimitInternalRecursion bounds internal redirects");
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
    if (strcasecmp(argv[0], "expr") == 0)
        return config_error(parse, "RewriteCond expr is not supported by weft yet: write the condition with "
                                   "a test string and CondPattern, or use <If>");
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
    if (rewrite_parse_cond_pattern(parse, &cond, argv[1]) != WEFT_OK)
        return WEFT_ERROR;
    rewrite_cond *grown = pool_alloc(config_pool(parse), sizeof(*grown) * (size_t)(conf->pending_count + 1));
    if (conf->pending_count)
        memcpy(grown, conf->pending, sizeof(*grown) * (size_t)conf->pending_count);
    grown[conf->pending_count++] = cond;
    conf->pending = grown;
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
    return WEFT_OK;
}

static int set_map(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    return rewrite_map_define(parse, context_conf(parse, target, is_directory_row(d)), argc, argv);
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
    a->location = over->location;
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

/* LogLevel's "rewrite:traceN" (core keeps the module:level words). */
static int trace_level_of(const server_config *server)
{
    int level = server->log_level;
    for (char **word = server->log_module_levels; word && *word; word++) {
        const char *colon = strchr(*word, ':');
        size_t length = (size_t)(colon - *word);
        if ((length == 7 && strncmp(*word, "rewrite", 7) == 0) ||
            (length == 14 && strncmp(*word, "rewrite_module", 14) == 0) ||
            (length == 11 && strncmp(*word, "mod_rewrite", 11) == 0))
            level = log_level_parse(colon + 1);
    }
    return level >= LOG_LEVEL_TRACE1 ? level - LOG_LEVEL_TRACE1 + 1 : 0;
}

static int rewrite_vhost_config(config_parse *parse, const server_config *main, server_config *vhost)
{
    (void)parse;
    const rewrite_slot *main_slot = module_server_config(main, &rewrite_module);
    rewrite_slot *slot = module_server_config(vhost, &rewrite_module);
    /* Still the main server's (the section had no Rewrite* line): a
     * virtual host has its own engine (Off) and rules, as in Apache. */
    if (slot->conf == main_slot->conf)
        slot->conf = NULL;
    return WEFT_OK;
}

static void rewrite_child_init(const server_config *server)
{
    const rewrite_slot *slot = module_server_config(server, &rewrite_module);
    if (slot->conf)
        rewrite_map_start_programs(slot->conf);
    for (int i = 0; i < vhost_count(server); i++) {
        const rewrite_slot *own = module_server_config(vhost_server(server, i), &rewrite_module);
        if (own->conf)
            rewrite_map_start_programs(own->conf);
    }
}

/* ---- running ------------------------------------------------------------- */

void rewrite_log(const rewrite_run *run, int level, const char *format, ...)
{
    if (level > run->trace_level)
        return;
    char message[2048];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    const char *address = run->r->connection ? connection_peer_address(run->r->connection) : NULL;
    log_module_message_forced(LOG_LEVEL_TRACE1 + level - 1, "rewrite", "[client %s] %s%s%s%s",
                              address ? address : "-", run->perdir ? "[perdir " : "", run->perdir ? run->perdir : "",
                              run->perdir ? "] " : "", message);
}

rewrite_note *rewrite_request_note(request *r)
{
    if (!r->rewrite_state)
        r->rewrite_state = pool_calloc(r->pool, sizeof(rewrite_note));
    return r->rewrite_state;
}

static bool rewriting_ended(const request *r)
{
    const rewrite_note *note = r->rewrite_state;
    return note && note->end;
}

/* -U and -F look a URL up through translate: not through our own rules. */
static __thread int looking_up;

/* What a run leaves for later phases ([T=], [H=], [END]). */
static void keep_results(rewrite_run *run)
{
    if (run->handler)
        run->r->handler = run->handler;
    if (run->type || run->end) {
        rewrite_note *note = rewrite_request_note(run->r);
        if (run->type)
            note->type = run->type;
        if (run->end)
            note->end = true;
    }
}

/* The redirect of a rule list that ended in an absolute URL: its path is
 * escaped unless [NE], its query too unless [NE] or unchanged. */
static int redirect_to(rewrite_run *run, int action, const char *old_query)
{
    request *r = run->r;
    char *location = run->filename;
    size_t skip = rewrite_absolute_uri(location, NULL);
    if (action != REWRITE_CHANGED_NO_ESCAPE) {
        const char *path = location + skip;
        if (location[skip - 1] == '/')
            path += strcspn(path, "/");
        if (*path && path[1]) {
            rewrite_log(run, 1, "escaping %s for redirect", location);
            location = pool_printf(r->pool, "%.*s%s", (int)(path - location), location, rewrite_escape_uri(r->pool, path));
        }
    }
    if (run->query) {
        bool raw = action == REWRITE_CHANGED_NO_ESCAPE || (old_query && strcmp(run->query, old_query) == 0);
        location = pool_printf(r->pool, "%s?%s", location, raw ? run->query : rewrite_escape_uri(r->pool, run->query));
    }
    int status = run->status >= 300 && run->status < 400 ? run->status : 302;
    rewrite_log(run, 1, "redirect to %s [REDIRECT/%d]", location, status);
    keep_results(run);
    response_set_redirect(r, status, location);
    return WEFT_DONE;
}

static void start_run(rewrite_run *run, request *r)
{
    const rewrite_slot *slot = module_server_config(r->server, &rewrite_module);
    *run = (rewrite_run){ .r = r, .server = slot->conf, .trace_level = trace_level_of(r->server) };
    run->query = r->query ? pool_strdup(r->pool, r->query) : NULL;
}

/* Server context, before Alias and DocumentRoot. */
static int rewrite_translate(request *r)
{
    const rewrite_slot *slot = module_server_config(r->server, &rewrite_module);
    const rewrite_conf *conf = slot->conf;
    if (!conf || !conf->engine || !conf->rule_count || looking_up || rewriting_ended(r))
        return WEFT_DECLINED;
    rewrite_run run;
    start_run(&run, r);
    run.filename = pool_strdup(r->pool, r->path);
    if (!r->redirect_url) {
        request_set_env(r, "SCRIPT_URL", r->path);
        request_set_env(r, "SCRIPT_URI", request_self_url(r, r->path));
    }
    rewrite_log(&run, 2, "init rewrite engine with requested uri %s", r->path);
    looking_up++;
    int action = rewrite_apply_list(&run, conf->rules, conf->rule_count);
    looking_up--;
    if (action == REWRITE_UNCHANGED) {
        rewrite_log(&run, 1, "pass through %s", r->path);
        keep_results(&run);
        return WEFT_DECLINED;
    }
    if (action == REWRITE_STATUS) {
        keep_results(&run);
        return run.status;
    }
    if (rewrite_absolute_uri(run.filename, NULL))
        return redirect_to(&run, action, r->query);
    keep_results(&run);
    r->query = run.query;
    if (strncmp(run.filename, "passthrough:", 12) == 0) {
        /* The URL-path for the next translate hooks (Alias), not a file. */
        char *path = run.filename + 12;
        if (path[0] != '/')
            return 400;
        r->path = path;
        return WEFT_DECLINED;
    }
    if (run.filename[0] != '/')
        return 400;
    /* Apache's prefix_stat: a path whose first component exists at the
     * file system's root is a file's path, anything else is a URL-path
     * under DocumentRoot. */
    size_t first = strcspn(run.filename + 1, "/") + 1;
    char *component = pool_strndup(r->pool, run.filename, first);
    struct stat info;
    if (stat(component, &info) == 0) {
        r->file_path = run.filename;
    } else {
        r->file_path = pool_printf(r->pool, "%s%s", r->server->document_root, run.filename);
        rewrite_log(&run, 2, "prefixed with document_root to %s", r->file_path);
    }
    rewrite_log(&run, 1, "go-ahead with %s [OK]", r->file_path);
    return WEFT_OK;
}

/* Apache's subst_prefix_path: prefix replaced by base when path starts
 * with it. */
static char *replace_prefix(request *r, const char *path, const char *prefix, const char *base)
{
    size_t length = strlen(prefix);
    if (length && prefix[length - 1] == '/')
        length--;
    if (strncmp(path, prefix, length) != 0 || (path[length] != '/' && path[length] != '\0'))
        return (char *)path;
    const char *rest = path + length;
    size_t base_length = strlen(base);
    if (base_length && base[base_length - 1] == '/' && rest[0] == '/')
        rest++;
    return pool_printf(r->pool, "%s%s", base, rest);
}

/* Directory context (<Directory>, .htaccess, <Location>), after access
 * control: the rules see the file's path with the directory's prefix
 * stripped; a changed result is served by an internal redirect. */
static int rewrite_fixups(request *r)
{
    const rewrite_slot *slot = r->dir ? module_dir_config(r->dir, &rewrite_module) : NULL;
    const rewrite_conf *conf = slot ? slot->conf : NULL;
    if (!conf || !conf->directory || !conf->engine || !conf->rule_count || rewriting_ended(r))
        return WEFT_DECLINED;
    if (!(file_effective_options(r->dir) & (OPTION_FOLLOW_SYMLINKS | OPTION_SYMLINKS_IF_OWNER_MATCH))) {
        log_module_message(LOG_LEVEL_ERROR, "rewrite", "Options FollowSymLinks and SymLinksIfOwnerMatch are both "
                           "off, so the RewriteRule directive is also forbidden due to its similar ability to "
                           "circumvent directory restrictions : %s", r->file_path ? r->file_path : r->path);
        return 403;
    }
    rewrite_run run;
    start_run(&run, r);
    run.perdir = conf->directory;
    run.filename = pool_strdup(r->pool, r->file_path ? r->file_path : r->path);
    const char *original = run.filename;
    const char *original_query = r->query;
    int action = rewrite_apply_list(&run, conf->rules, conf->rule_count);
    if (action == REWRITE_UNCHANGED) {
        rewrite_log(&run, 1, "pass through %s", original);
        keep_results(&run);
        return WEFT_DECLINED;
    }
    if (action == REWRITE_STATUS) {
        keep_results(&run);
        return run.status;
    }
    size_t absolute = rewrite_absolute_uri(run.filename, NULL);
    if (absolute) {
        /* A redirect: a RewriteBase replaces the directory in its path. */
        const char *path = run.filename + absolute;
        path += strcspn(path, "/");
        if (conf->base && *path) {
            rewrite_log(&run, 2, "trying to replace prefix %s with %s", conf->directory, conf->base);
            char *replaced = replace_prefix(r, path, conf->directory, conf->base);
            run.filename = pool_printf(r->pool, "%.*s%s", (int)(path - run.filename), run.filename, replaced);
        }
        return redirect_to(&run, action, original_query);
    }
    char *filename = run.filename;
    if (strncmp(filename, "passthrough:", 12) == 0)
        filename += 12;  /* [PT] means nothing in directory context */
    if (filename[0] != '/')
        return 400;
    r->query = run.query;
    keep_results(&run);
    if (strcmp(filename, original) == 0) {
        rewrite_log(&run, 1, "initial URL equal rewritten URL: %s [IGNORING REWRITE]", filename);
        return WEFT_OK;
    }
    if (conf->base) {
        rewrite_log(&run, 2, "trying to replace prefix %s with %s", conf->directory, conf->base);
        filename = replace_prefix(r, filename, conf->directory, conf->base);
    } else {
        const char *root = r->server->document_root;
        size_t length = strlen(root);
        while (length && root[length - 1] == '/')
            length--;
        if (strncmp(filename, root, length) == 0) {
            rewrite_log(&run, 2, "strip document_root prefix: %s -> %s", filename, filename + length);
            filename += length;
        }
    }
    if (r->lookup_depth > 0) {
        /* A sub-request (DirectoryIndex): weft cannot redirect it internally. */
        rewrite_log(&run, 1, "sub-request rewritten to %s: not followed", filename);
        return WEFT_DECLINED;
    }
    rewrite_log(&run, 1, "internal redirect with %s [INTERNAL REDIRECT]", filename);
    const char *location = run.query ? pool_printf(r->pool, "%s?%s", filename, run.query) : filename;
    int rc = request_internal_redirect_keep_method(r, location);
    if (rc == WEFT_OK)
        return WEFT_DONE;
    return rc == WEFT_ERROR ? 500 : rc;
}

/* [T=] and [CO=], on the final response. */
static void rewrite_response_head(request *r)
{
    const rewrite_note *note = r->rewrite_state;
    if (!note)
        return;
    if (note->type && ((r->status >= 200 && r->status < 300) || r->status == 304))
        r->content_type = note->type;
    for (int i = 0; i < note->cookie_count; i++)
        response_add_header(r, "Set-Cookie", note->cookies[i]);
}

/* DUMP_CONFIG: the rules are not printed back (docs/rewrite.md). */
static void format_nothing(FILE *out, const config_directive *d, const void *base)
{
    (void)out;
    (void)d;
    (void)base;
}

/* ---- the table ----------------------------------------------------------- */

/* Every row of a context writes its one rewrite_conf, so that it merges as
 * a whole: RewriteOptions before RewriteRule in the table keeps the merge
 * order Apache's (options decide how rules inherit). */
#define SERVER_SLOT .scope = SCOPE_SERVER, .offset = offsetof(rewrite_slot, conf), .size = sizeof(rewrite_conf *), \
                    .merge = merge_server, .contexts = CONTEXT_SERVER_OR_VHOST, .format = format_nothing
#define DIR_SLOT .scope = SCOPE_DIRECTORY, .offset = offsetof(rewrite_slot, conf), .size = sizeof(rewrite_conf *), \
                 .merge = merge_dir, .contexts = CONTEXT_SECTIONS, .overrides = OVERRIDE_FILEINFO, \
                 .format = format_nothing

static const config_directive rewrite_directives[] = {
    { .name = "RewriteEngine", SERVER_SLOT, .min_args = 1, .max_args = 1, .set = set_engine, .syntax = "On|Off",
      .help = "turns the server's (or virtual host's) rewriting engine on or off" },
    { .name = "RewriteEngine", DIR_SLOT, .min_args = 1, .max_args = 1, .set = set_engine, .syntax = "On|Off",
      .help = "in a section or .htaccess: the directory's own engine, which the server's does not turn on" },
    { .name = "RewriteOptions", SERVER_SLOT, .min_args = 1, .max_args = ARGS_UNLIMITED, .set = set_options,
      .syntax = "Inherit|InheritBefore|InheritDown|...",
      .help = "a virtual host's rules with the main server's after (Inherit) or before (InheritBefore) them" },
    { .name = "RewriteOptions", DIR_SLOT, .min_args = 1, .max_args = ARGS_UNLIMITED, .set = set_options,
      .syntax = "Inherit|InheritBefore|InheritDown|...",
      .help = "in a section: the enclosing directory's rules too; MergeBase: its RewriteBase too" },
    { .name = "RewriteBase", DIR_SLOT, .min_args = 1, .max_args = 1, .set = set_base, .syntax = "URL-path",
      .help = "the URL-path of the directory, for relative substitutions of per-directory rules" },
    { .name = "RewriteMap", SERVER_SLOT, .min_args = 2, .max_args = 3, .set = set_map,
      .syntax = "name txt:|rnd:|int:|prg:source", .help = "a key-to-value map that ${name:key} reads" },
    { .name = "RewriteCond", SERVER_SLOT, .min_args = 2, .max_args = ARGS_UNLIMITED, .set = set_cond,
      .syntax = "TestString CondPattern [flags]", .help = "a condition the next RewriteRule requires" },
    { .name = "RewriteCond", DIR_SLOT, .min_args = 2, .max_args = ARGS_UNLIMITED, .set = set_cond,
      .syntax = "TestString CondPattern [flags]", .help = "%{REQUEST_FILENAME} is then the file's path" },
    { .name = "RewriteRule", SERVER_SLOT, .min_args = 2, .max_args = ARGS_UNLIMITED, .set = set_rule,
      .syntax = "Pattern Substitution [flags]", .help = "a rewriting rule: Pattern matches the URL-path" },
    { .name = "RewriteRule", DIR_SLOT, .min_args = 2, .max_args = ARGS_UNLIMITED, .set = set_rule,
      .syntax = "Pattern Substitution [flags]",
      .help = "in a section or .htaccess, Pattern matches the path below the directory, and a changed "
              "result is served by an internal redirect" },
    { .name = NULL },
};

const module rewrite_module = {
    .name = "rewrite",
    .directives = rewrite_directives,
    .server_config_size = sizeof(rewrite_slot),
    .dir_config_size = sizeof(rewrite_slot),
    .vhost_config = rewrite_vhost_config,
    .child_init = rewrite_child_init,
    .translate = rewrite_translate,
    .fixups = rewrite_fixups,
    .response_head = rewrite_response_head,
};
