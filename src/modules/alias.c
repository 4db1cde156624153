/*
 * alias.c — Alias, AliasMatch and the Redirect family (see alias.h), as a
 * translate hook: it runs before DocumentRoot mapping and costs one test of
 * a NULL pointer when nothing is configured.
 */
#include "alias.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/buffer.h"
#include "../core/match.h"
#include "../core/regex.h"
#include "../http/request.h"
#include "../http/response.h"
#include "../http/uri.h"

typedef struct {
    const config_directive *row;  /* the directive that wrote it, for DUMP_CONFIG */
    char *pattern;      /* Match forms: the regex as written */
    const char *prefix; /* Match forms: literal text every match starts with */
    char *url;          /* prefix forms: the URL-path, slashes merged */
    weft_regex *regex;  /* Match forms */
    char *target;       /* file path or URL ($N for Match forms); NULL: redirect without URL */
    int status;         /* redirects: 3xx, 410...; 0 for aliases */
} alias_rule;

typedef struct {
    alias_rule *rules;
    int count;
} alias_list;

struct alias_rules {
    alias_list redirects;  /* tried first */
    alias_list aliases;
};

/* Alias, Redirect and their Match forms */
typedef struct {
    struct alias_rules *aliases;
} alias_server_config;

extern const module alias_module;

/* ---- building --------------------------------------------------------- */

/* base: "scheme://host[:port]" (request_self_url). */
static char *absolute_url(pool *p, const char *target, const char *base)
{
    if (target[0] != '/')
        return (char *)target;
    return pool_printf(p, "%s%s", base, target);
}

char *alias_redirect_location(pool *p, const char *target, const char *rest, const char *query,
                              const char *host)
{
    char *location = pool_printf(p, "%s%s", absolute_url(p, target, host), uri_escape_path(p, rest));
    if (query && !strchr(location, '?'))
        location = pool_printf(p, "%s?%s", location, query);
    return location;
}

/* RedirectMatch: the substituted URL is escaped except for its query, as
 * Apache does (the groups come from the decoded path). */
/* The query and fragment of a redirect target are kept as written, but
 * $N may have copied a decoded "%0d%0a" of the request's path into them:
 * control characters and blanks are escaped, so that the Location field
 * stays one field. */
static const char *escape_controls(pool *p, const char *text)
{
    const unsigned char *c = (const unsigned char *)text;
    while (*c > ' ' && *c != 0x7f)
        c++;
    if (!*c)
        return text;
    buffer out = { 0 };
    for (c = (const unsigned char *)text; *c; c++) {
        if (*c <= ' ' || *c == 0x7f)
            buffer_printf(&out, "%%%02X", *c);
        else
            buffer_append_char(&out, (char)*c);
    }
    char *escaped = pool_strndup(p, out.data, out.length);
    buffer_free(&out);
    return escaped;
}

static char *regex_redirect_location(pool *p, const char *url, const char *query, const char *host)
{
    const char *question = strchr(url, '?');
    char *before = question ? pool_strndup(p, url, (size_t)(question - url)) : (char *)url;
    char *location = pool_printf(p, "%s%s", uri_escape_path(p, absolute_url(p, before, host)),
                                 question ? escape_controls(p, question) : "");
    if (query && !question)
        location = pool_printf(p, "%s?%s", location, query);
    return location;
}

/* Where a local target points: UseCanonicalName and ServerName's scheme decide. */
static const char *request_host(request *r)
{
    return request_self_url(r, "");
}

/* Does rule match r->path?  Fills *result with the mapped path or URL. */
static bool rule_applies(request *r, const alias_rule *rule, bool redirect, char **result)
{
    if (rule->regex) {
        regex_group match[MATCH_MAX_GROUPS];
        if (!text_starts_with(r->path, rule->prefix) ||
            !regex_match(rule->regex, r->path, strlen(r->path), match, MATCH_MAX_GROUPS))
            return false;
        if (!rule->target) {
            *result = NULL;
            return true;
        }
        char *mapped = regex_substitute(r->pool, rule->target, r->path, match, MATCH_MAX_GROUPS);
        *result = redirect ? regex_redirect_location(r->pool, mapped, r->query, request_host(r)) : mapped;
        return true;
    }
    size_t covered = url_prefix_match(rule->url, r->path);
    if (covered == 0)
        return false;
    if (!rule->target)
        *result = NULL;
    else if (redirect)
        *result = alias_redirect_location(r->pool, rule->target, r->path + covered, r->query, request_host(r));
    else
        *result = pool_printf(r->pool, "%s%s", rule->target, r->path + covered);
    return true;
}

static int alias_translate(request *r)
{
    const alias_server_config *config = module_server_config(r->server, &alias_module);
    const struct alias_rules *rules = config->aliases;
    if (!rules)
        return WEFT_DECLINED;
    char *result;
    for (int i = 0; i < rules->redirects.count; i++) {
        const alias_rule *rule = &rules->redirects.rules[i];
        if (!rule_applies(r, rule, true, &result))
            continue;
        if (rule->status < 300 || rule->status > 399)
            return rule->status;  /* 410 Gone and the like: an error response */
        response_set_redirect(r, rule->status, result);
        return WEFT_DONE;
    }
    for (int i = 0; i < rules->aliases.count; i++) {
        if (rule_applies(r, &rules->aliases.rules[i], false, &result)) {
            r->file_path = result;
            return WEFT_OK;
        }
    }
    return WEFT_DECLINED;
}

/* ---- configuration ----------------------------------------------------- */

static void append_rule(config_parse *parse, void *target, bool redirect, const alias_rule *rule)
{
    pool *p = config_pool(parse);
    struct alias_rules **rules = target;
    if (!*rules)
        *rules = pool_calloc(p, sizeof(**rules));
    alias_list *list = redirect ? &(*rules)->redirects : &(*rules)->aliases;
    alias_rule *grown = pool_alloc(p, sizeof(*grown) * (size_t)(list->count + 1));
    if (list->count)
        memcpy(grown, list->rules, sizeof(*grown) * (size_t)list->count);
    grown[list->count++] = *rule;
    list->rules = grown;
}

/* Repeated slashes merged, as in the request paths it is compared with. */
static char *url_path(config_parse *parse, const char *directive, const char *text)
{
    if (text[0] != '/') {
        config_error(parse, "%s: the URL-path '%s' must start with /", directive, text);
        return NULL;
    }
    char *path = pool_strdup(config_pool(parse), text);
    char *write = path;
    for (const char *c = text; *c; c++)
        if (!(c[0] == '/' && c[1] == '/'))
            *write++ = *c;
    *write = '\0';
    return path;
}

static int set_alias(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    bool match = strcasecmp(d->name, "AliasMatch") == 0;
    alias_rule rule = { .row = d };
    if (match) {
        rule.pattern = pool_strdup(config_pool(parse), argv[0]);
        rule.prefix = config_regex_prefix(parse, argv[0], 0);
        rule.regex = config_compile_regex(parse, argv[0], 0);
        if (!rule.regex)
            return WEFT_ERROR;
    } else if (!(rule.url = url_path(parse, d->name, argv[0]))) {
        return WEFT_ERROR;
    }
    rule.target = argv[1][0] == '/' || argv[1][0] == '$' ? pool_strdup(config_pool(parse), argv[1])
                                                         : config_resolve_path(parse, argv[1]);
    append_rule(parse, target, false, &rule);
    return WEFT_OK;
}

/* 0 if word is not a status. */
static int parse_status(const char *word)
{
    static const struct {
        const char *name;
        int status;
    } names[] = { { "permanent", 301 }, { "temp", 302 }, { "seeother", 303 }, { "gone", 410 } };
    for (size_t i = 0; i < COUNT_OF(names); i++)
        if (strcasecmp(word, names[i].name) == 0)
            return names[i].status;
    if (strlen(word) == 3 && isdigit((unsigned char)word[0]) && isdigit((unsigned char)word[1])
        && isdigit((unsigned char)word[2]))
        return atoi(word);
    return 0;
}

static bool is_url(const char *text)
{
    const char *c = text;
    if (!isalpha((unsigned char)*c))
        return false;
    while (isalnum((unsigned char)*c) || *c == '+' || *c == '-' || *c == '.')
        c++;
    return *c == ':';
}

/* The status of a Redirect line, as Apache reads it: RedirectPermanent is
 * 301, RedirectTemp 302; Redirect and RedirectMatch take a first word that
 * is a status (a keyword or a number) as one, else 302.  Returns how many
 * words the status took (0 or 1), or -1 after config_error. */
static int redirect_status(config_parse *parse, const config_directive *d, char **argv, int *status)
{
    *status = strcasecmp(d->name, "RedirectPermanent") == 0 ? 301 : 302;
    int taken = 0;
    if (strcasecmp(d->name, "Redirect") == 0 || strcasecmp(d->name, "RedirectMatch") == 0) {
        int given = parse_status(argv[0]);
        if (given) {
            *status = given;
            taken = 1;
        }
    }
    if (*status < 300 || *status > 599) {
        config_error(parse, "%s: status %d is not a redirect (3xx) or an error (4xx, 5xx)", d->name, *status);
        return -1;
    }
    return taken;
}

static int set_redirect(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    bool match = strcasecmp(d->name, "RedirectMatch") == 0;
    int status;
    int first = redirect_status(parse, d, argv, &status);
    if (first < 0)
        return WEFT_ERROR;
    if (argc - first < 1)
        return config_error(parse, "%s: the URL-path is missing", d->name);
    const char *url = argc - first >= 2 ? argv[first + 1] : NULL;
    if (argc - first > 2)
        return config_error(parse, "%s takes [status] URL-path URL", d->name);
    bool redirect_status = status >= 300 && status <= 399;
    if (redirect_status && !url)
        return config_error(parse, "%s: the URL to redirect to is missing", d->name);
    if (!redirect_status && url)
        return config_error(parse, "%s: a URL does not go with status %d", d->name, status);
    if (url && !match && !is_url(url) && url[0] != '/')
        return config_error(parse, "%s: '%s' is neither a URL nor a path on this server", d->name, url);

    alias_rule rule = { .row = d, .status = status, .target = url ? pool_strdup(config_pool(parse), url) : NULL };
    if (match) {
        rule.pattern = pool_strdup(config_pool(parse), argv[first]);
        rule.prefix = config_regex_prefix(parse, argv[first], 0);
        rule.regex = config_compile_regex(parse, argv[first], 0);
        if (!rule.regex)
            return WEFT_ERROR;
    } else if (!(rule.url = url_path(parse, d->name, argv[first]))) {
        return WEFT_ERROR;
    }
    append_rule(parse, target, true, &rule);
    return WEFT_OK;
}

static alias_list concatenate(const alias_list *first, const alias_list *second, pool *p)
{
    alias_list result = { .count = first->count + second->count };
    result.rules = pool_alloc(p, sizeof(alias_rule) * (size_t)(result.count ? result.count : 1));
    if (first->count)
        memcpy(result.rules, first->rules, sizeof(alias_rule) * (size_t)first->count);
    if (second->count)
        memcpy(result.rules + first->count, second->rules, sizeof(alias_rule) * (size_t)second->count);
    return result;
}

/* A <VirtualHost>'s rules first, then the main server's (mod_alias's merge). */
static void merge_alias_rules(void *merged, const void *child, pool *p)
{
    const struct alias_rules *main_rules = *(struct alias_rules **)merged;
    const struct alias_rules *own = *(struct alias_rules *const *)child;
    if (!main_rules || !own) {
        *(const struct alias_rules **)merged = own ? own : main_rules;
        return;
    }
    struct alias_rules *result = pool_alloc(p, sizeof(*result));
    result->redirects = concatenate(&own->redirects, &main_rules->redirects, p);
    result->aliases = concatenate(&own->aliases, &main_rules->aliases, p);
    *(struct alias_rules **)merged = result;
}

/* DUMP_CONFIG: each row prints the rules it wrote, as written. */
static void format_alias_rules(FILE *out, const config_directive *d, const void *base)
{
    const struct alias_rules *rules = *(struct alias_rules *const *)((const char *)base + d->offset);
    const alias_list *lists[] = { rules ? &rules->redirects : NULL, rules ? &rules->aliases : NULL };
    for (size_t l = 0; l < COUNT_OF(lists); l++) {
        for (int i = 0; lists[l] && i < lists[l]->count; i++) {
            const alias_rule *rule = &lists[l]->rules[i];
            if (rule->row != d)
                continue;
            char status[8];
            snprintf(status, sizeof(status), "%d", rule->status);
            const char *argv[3];
            int argc = 0;
            if (strcasecmp(d->name, "Redirect") == 0 || strcasecmp(d->name, "RedirectMatch") == 0)
                argv[argc++] = status;
            argv[argc++] = rule->pattern ? rule->pattern : rule->url;
            if (rule->target)
                argv[argc++] = rule->target;
            config_dump_line(out, d, argc, argv);
        }
    }
}


/* ---- the Redirect family in sections ------------------------------------ */

/* One Redirect line of a <Directory>/<Location>: whole (no URL-path: every
 * request the section covers), a URL-path prefix, or a PCRE2 regex. */
typedef struct section_redirect {
    const struct section_redirect *next;
    const config_directive *row;
    int status;
    const char *url_path;       /* prefix form */
    const weft_regex *regex;    /* RedirectMatch */
    const char *target;         /* NULL: none (410 and other errors) */
} section_redirect;

typedef struct {
    const section_redirect *redirects;  /* the innermost section's first */
} alias_dir_config;

/* Apache escapes the target of a section redirect except its query and
 * fragment.  Those may hold a decoded "%0d%0a" of the request's path
 * through $N: their control characters and blanks are escaped, so that
 * the Location field stays one field. */
static char *escape_target(pool *p, const char *target)
{
    size_t keep = strcspn(target, "?#");
    return pool_printf(p, "%s%s", uri_escape_path(p, pool_strndup(p, target, keep)),
                       escape_controls(p, target + keep));
}

static bool section_redirect_applies(request *r, const section_redirect *rule, char **location)
{
    *location = NULL;
    if (rule->regex) {
        regex_group groups[REGEX_MAX_GROUPS];
        if (!regex_match(rule->regex, r->path, strlen(r->path), groups, REGEX_MAX_GROUPS))
            return false;
        if (!rule->target)
            return true;
        char *out = regex_substitute(r->pool, rule->target, r->path, groups, REGEX_MAX_GROUPS);
        *location = escape_target(r->pool, out);
    } else if (rule->url_path) {
        size_t covered = url_prefix_match(rule->url_path, r->path);
        if (covered == 0)
            return false;
        if (rule->target)
            *location = pool_printf(r->pool, "%s%s", rule->target, uri_escape_path(r->pool, r->path + covered));
    } else if (rule->target) {
        *location = escape_target(r->pool, rule->target);
    }
    return true;
}

/* Apache's fixup_redir: the merged sections' redirects. */
static int alias_fixups(request *r)
{
    const alias_dir_config *config = module_dir_config(r->dir, &alias_module);
    for (const section_redirect *rule = config->redirects; rule; rule = rule->next) {
        char *location;
        if (!section_redirect_applies(r, rule, &location))
            continue;
        if (rule->status < 300 || rule->status > 399)
            return rule->status;
        if (location[0] == '/')
            location = request_self_url(r, location);
        if (r->query && !strchr(location, '?'))
            location = pool_printf(r->pool, "%s?%s", location, r->query);
        response_set_redirect(r, rule->status, location);
        return WEFT_DONE;
    }
    return WEFT_DECLINED;
}

/* Apache 2.4's reading of a Redirect line in a section: a first word that
 * is a status is one; then "URL" alone (or nothing after gone) redirects the
 * whole section, "URL-path URL" what is below URL-path. */
static int set_section_redirect(config_parse *parse, const config_directive *d, void *target, int argc,
                                char **argv)
{
    bool match = strcasecmp(d->name, "RedirectMatch") == 0;
    int status;
    int first = redirect_status(parse, d, argv, &status);
    if (first < 0)
        return WEFT_ERROR;
    int rest = argc - first;
    if (rest > 2)
        return config_error(parse, "%s takes [status] [URL-path] URL in a section", d->name);
    section_redirect *rule = pool_calloc(config_pool(parse), sizeof(*rule));
    rule->row = d;
    rule->status = status;
    bool redirect_status = status >= 300 && status <= 399;
    const char *url = NULL;
    if (rest == 2 || match) {
        if (rest == 0)
            return config_error(parse, "%s: the regular expression is missing", d->name);
        url = rest == 2 ? argv[first + 1] : NULL;
        if (match) {
            rule->regex = config_compile_regex(parse, argv[first], 0);
            if (!rule->regex)
                return WEFT_ERROR;
        } else if (!(rule->url_path = url_path(parse, d->name, argv[first]))) {
            return WEFT_ERROR;
        }
    } else if (rest == 1) {
        if (strcasecmp(d->name, "Redirect") != 0)
            return config_error(parse, "%s takes a URL-path and a URL", d->name);
        url = argv[first];
    }
    if (redirect_status && !url)
        return config_error(parse, "%s: the URL to redirect to is missing", d->name);
    if (!redirect_status && url)
        return config_error(parse, "%s: a URL does not go with status %d", d->name, status);
    if (url && strstr(url, "%{"))
        return config_error(parse, "%s: weft does not evaluate Apache expressions (%%{...}) in '%s'", d->name, url);
    if (url && !match && !is_url(url) && url[0] != '/')
        return config_error(parse, "%s: '%s' is neither a URL nor a path on this server", d->name, url);
    rule->target = url ? pool_strdup(config_pool(parse), url) : NULL;
    /* Lines of one section keep their order (the first match wins). */
    const section_redirect **tail = (const section_redirect **)target;
    while (*tail)
        tail = (const section_redirect **)&(*tail)->next;
    *tail = rule;
    return WEFT_OK;
}

/* The section's own rules, then the inherited ones (mod_alias's merge). */
static void merge_section_redirects(void *merged, const void *child, pool *p)
{
    const section_redirect *inherited = *(const section_redirect **)merged;
    const section_redirect *own = *(const section_redirect *const *)child;
    if (!own)
        return;
    if (!inherited) {
        *(const section_redirect **)merged = own;
        return;
    }
    const section_redirect *head = NULL;
    const section_redirect **tail = &head;
    for (const section_redirect *rule = own; rule; rule = rule->next) {
        section_redirect *copy = pool_alloc(p, sizeof(*copy));
        *copy = *rule;
        *tail = copy;
        tail = (const section_redirect **)&copy->next;
    }
    *tail = inherited;
    *(const section_redirect **)merged = head;
}

/* DUMP_CONFIG: the section's own lines, in order, each by the row that wrote it. */
static void format_section_redirects(FILE *out, const config_directive *d, const void *base)
{
    const section_redirect *rule = *(const section_redirect *const *)((const char *)base + d->offset);
    for (; rule; rule = rule->next) {
        if (rule->row != d)
            continue;
        char status[8];
        snprintf(status, sizeof(status), "%d", rule->status);
        const char *argv[3];
        int argc = 0;
        if (strcasecmp(d->name, "Redirect") == 0 || strcasecmp(d->name, "RedirectMatch") == 0)
            argv[argc++] = status;
        if (rule->regex)
            argv[argc++] = regex_pattern(rule->regex);
        else if (rule->url_path)
            argv[argc++] = rule->url_path;
        if (rule->target)
            argv[argc++] = rule->target;
        config_dump_line(out, d, argc, argv);
    }
}

#define SECTION_ROW(row_name, minimum, maximum, row_syntax, row_help)                                     \
    { .name = row_name, .contexts = CONTEXT_SECTIONS, .scope = SCOPE_DIRECTORY,                           \
      .offset = offsetof(alias_dir_config, redirects), .size = sizeof(section_redirect *),                 \
      .min_args = minimum, .max_args = maximum, .set = set_section_redirect,                               \
      .merge = merge_section_redirects, .format = format_section_redirects, .syntax = row_syntax,                \
      .help = row_help, .overrides = OVERRIDE_FILEINFO }

#define ALIAS_ROW(row_name, minimum, maximum, setter, row_syntax, row_help)                         \
    { .name = row_name, .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,                 \
      .offset = offsetof(alias_server_config, aliases), .size = sizeof(struct alias_rules *),            \
      .min_args = minimum, .max_args = maximum, .set = setter, .merge = merge_alias_rules,         \
      .format = format_alias_rules, .syntax = row_syntax, .help = row_help }

static const config_directive alias_directives[] = {
    ALIAS_ROW("Alias", 2, 2, set_alias, "URL-path file-path",
              "maps a URL-path (and everything below it) to a file or directory"),
    ALIAS_ROW("AliasMatch", 2, 2, set_alias, "regex file-path",
              "maps URL-paths matching a regex (PCRE) to a file path with $1..$9"),
    ALIAS_ROW("Redirect", 1, 3, set_redirect, "[status] [URL-path] [URL]",
              "redirects a URL-path (and everything below it) to a URL"),
    ALIAS_ROW("RedirectMatch", 1, 3, set_redirect, "[status] regex [URL]",
              "redirects URL-paths matching a regex (PCRE) to a URL with $1..$9"),
    ALIAS_ROW("RedirectPermanent", 2, 2, set_redirect, "URL-path URL", "Redirect with status 301"),
    ALIAS_ROW("RedirectTemp", 2, 2, set_redirect, "URL-path URL", "Redirect with status 302"),
    SECTION_ROW("Redirect", 1, 3, "[status] [URL-path] [URL]",
                "in a section: redirects every request it covers to URL, or those below URL-path"),
    SECTION_ROW("RedirectMatch", 1, 3, "[status] regex [URL]",
                "in a section: redirects URL-paths matching a PCRE regex to a URL with $0..$9"),
    SECTION_ROW("RedirectPermanent", 2, 2, "URL-path URL", "in a section: Redirect with status 301"),
    SECTION_ROW("RedirectTemp", 2, 2, "URL-path URL", "in a section: Redirect with status 302"),
    { .name = NULL },
};

const module alias_module = {
    .name = "alias",
    .directives = alias_directives,
    .server_config_size = sizeof(alias_server_config),
    .dir_config_size = sizeof(alias_dir_config),
    .translate = alias_translate,
    .fixups = alias_fixups,
};
