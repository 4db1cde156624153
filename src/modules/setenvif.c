/*
 * setenvif.c — mod_setenvif: SetEnvIf, SetEnvIfNoCase, BrowserMatch and
 * BrowserMatchNoCase set variables of the request environment
 * (request_set_env) from what the request carries, as Apache 2.4 does.
 *
 *   SetEnvIf attribute regex [!]var[=value] ...
 *   BrowserMatch regex [!]var[=value] ...      (SetEnvIf User-Agent ...)
 *
 * attribute: Remote_Host, Remote_Addr, Server_Addr, Request_Method,
 * Request_Protocol, Request_URI (case-insensitive), else a request header
 * name, or when the request has no such header, a variable an earlier rule
 * set (a header sent several times counts as its values joined by ", ");
 * a name with characters other than letters, digits, '-' and '_' is a
 * regular expression matched against the header names as sent (the last
 * match counts; caseless only for the NoCase forms).  An absent value
 * matches as "" (so "^$" catches it).  "var" sets 1, "!var" unsets,
 * "var=value" sets value with $0..$9 taken from the match (unless regex is
 * a plain string, as in Apache).
 *
 * Rules outside any section run when the request head has been read
 * (Apache's post_read_request), the others once the directory
 * configuration is merged (Apache's header_parser), before access control,
 * so that Allow from env= and Require see them.  The fixups hook also puts
 * SetEnv/PassEnv/UnsetEnv into the request environment, as Apache's mod_env
 * does at that point, so that env= conditions and the expression language
 * see them.
 *
 * Special variables honoured elsewhere: nokeepalive and force-response-1.0
 * (http/connection.c, http/response.c), no-gzip and gzip-only-text/html
 * (deflate.c), force-no-vary (response.c drops Vary); downgrade-1.0 and
 * force-no-vary are applied here too, by answering the request as HTTP/1.0.
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "../core/match.h"
#include "../core/module.h"
#include "../core/regex.h"
#include "../http/request.h"
#include "cgi.h"

typedef enum {
    ATTRIBUTE_HEADER,        /* a request header, else a variable */
    ATTRIBUTE_HEADER_REGEX,  /* the last request header whose name matches */
    ATTRIBUTE_REMOTE_ADDR,   /* Remote_Host too: weft makes no lookups for it */
    ATTRIBUTE_SERVER_ADDR,
    ATTRIBUTE_METHOD,
    ATTRIBUTE_PROTOCOL,
    ATTRIBUTE_URI,
} attribute_kind;

typedef struct {
    const char *name;
    const char *value;  /* NULL: unset */
} setenvif_action;

typedef struct setenvif_rule {
    struct setenvif_rule *next;
    attribute_kind attribute;
    const char *name;              /* ATTRIBUTE_HEADER: the header (or variable) name */
    const weft_regex *name_regex;  /* ATTRIBUTE_HEADER_REGEX */
    const weft_regex *regex;       /* NULL when literal says it all */
    const char *literal;           /* a plain string (Apache's non-regex pattern, found anywhere)
                                    * or "^" and one (a prefix), unescaped; NULL: a regex */
    size_t literal_length;
    bool prefix;                   /* literal must start the value */
    bool caseless;
    bool literal_values;           /* the pattern is a plain string: no $N substitution */
    bool server_level;             /* outside any section: run at post_read */
    setenvif_action *actions;
    int action_count;
    const char *directive;         /* DUMP_CONFIG */
    char **arguments;
    int argument_count;
} setenvif_rule;

typedef struct {
    setenvif_rule *rules;
} setenvif_dir_config;

extern const module setenvif_module;

/* ---- request time --------------------------------------------------------- */

static const char *header_by_regex(const request *r, const weft_regex *name_regex, size_t *length)
{
    const char *value = NULL;
    for (uint32_t i = 0; r->head && i < r->parser.field_count; i++) {
        const http_field *field = &r->parser.fields[i];
        if (regex_match(name_regex, r->head + field->name.offset, field->name.length, NULL, 0)) {
            value = r->head + field->value.offset;
            *length = field->value.length;
        }
    }
    return value;
}

/* A request header as Apache's headers_in table has it: the values of a
 * field sent several times joined by ", ". */
static const char *header_value(request *r, const char *name, size_t *length)
{
    const char *value = NULL;
    for (uint32_t i = 0; r->head && i < r->parser.field_count; i++) {
        const http_field *field = &r->parser.fields[i];
        slice field_name = { r->head + field->name.offset, field->name.length };
        if (!slice_equal_string_nocase(field_name, name))
            continue;
        const char *this_value = r->head + field->value.offset;
        if (!value) {
            value = this_value;
            *length = field->value.length;
        } else {
            value = pool_printf(r->pool, "%.*s, %.*s", (int)*length, value, (int)field->value.length, this_value);
            *length = strlen(value);
        }
    }
    return value;
}

/* Apache's r->uri when its post_read_request hook runs the server-level
 * rules: the path of the request-target as received, not yet decoded
 * ("%20" stays); the rules in sections see the decoded path. */
static const char *raw_path(request *r)
{
    const char *path = r->target;
    if (path && path[0] != '/') {  /* absolute-form: the path after the authority */
        const char *authority = strstr(path, "://");
        path = authority ? strchr(authority + 3, '/') : NULL;
    }
    if (!path)
        return r->path;
    return pool_strndup(r->pool, path, strcspn(path, "?#"));
}

/* *from_header: the value is a request header's (fixed for the request). */
static const char *attribute_value(request *r, const setenvif_rule *rule, size_t *length, bool *from_header)
{
    const char *value = NULL;
    *length = 0;
    *from_header = false;
    switch (rule->attribute) {
    case ATTRIBUTE_HEADER: {
        const char *header = header_value(r, rule->name, length);
        *from_header = header != NULL;
        if (header)
            return header;
        value = request_get_env(r, rule->name);
        break;
    }
    case ATTRIBUTE_HEADER_REGEX:
        return header_by_regex(r, rule->name_regex, length);
    case ATTRIBUTE_REMOTE_ADDR:
        value = request_client_address(r);
        break;
    case ATTRIBUTE_SERVER_ADDR:
        value = connection_local_address(r->connection);
        break;
    case ATTRIBUTE_METHOD:
        value = r->method_name;
        break;
    case ATTRIBUTE_PROTOCOL:
        value = pool_printf(r->pool, "HTTP/%d.%d", r->version_major, r->version_minor);
        break;
    case ATTRIBUTE_URI:
        value = rule->server_level ? raw_path(r) : r->path;
        break;
    }
    if (value)
        *length = strlen(value);
    return value;
}

static bool same_bytes(const char *a, const char *b, size_t length, bool caseless)
{
    return caseless ? strncasecmp(a, b, length) == 0 : memcmp(a, b, length) == 0;
}

/* Most patterns in the wild (Debian's BrowserMatch lines) are plain strings
 * or "^" and one: a byte search answers them without the regex engine, as
 * Apache's apr_strmatch does.  groups[0] is the match, for $0. */
static bool rule_matches(const setenvif_rule *rule, const char *value, size_t length, regex_group *groups)
{
    if (!rule->literal)
        return regex_match(rule->regex, value, length, groups, REGEX_MAX_GROUPS);
    for (int i = 0; i < REGEX_MAX_GROUPS; i++)
        groups[i] = (regex_group){ -1, -1 };
    size_t wanted = rule->literal_length;
    if (wanted > length)
        return false;
    const char *found = NULL;
    if (rule->prefix || wanted == 0) {
        found = same_bytes(value, rule->literal, wanted, rule->caseless) ? value : NULL;
    } else if (!rule->caseless) {
        /* The first byte by memchr, then the rest: user agents rarely repeat it. */
        const char *end = value + length - wanted + 1;
        for (const char *at = value; at < end && !found; at++) {
            at = memchr(at, rule->literal[0], (size_t)(end - at));
            if (!at)
                break;
            if (memcmp(at + 1, rule->literal + 1, wanted - 1) == 0)
                found = at;
        }
    } else {
        int first = tolower((unsigned char)rule->literal[0]);
        for (size_t at = 0; at + wanted <= length && !found; at++)
            if (tolower((unsigned char)value[at]) == first && same_bytes(value + at, rule->literal, wanted, true))
                found = value + at;
    }
    if (!found)
        return false;
    groups[0] = (regex_group){ (int)(found - value), (int)(found - value + (ptrdiff_t)wanted) };
    return true;
}

/* One header value for consecutive rules on the same header (Debian's
 * fourteen BrowserMatch lines look at User-Agent once); a value that came
 * from the environment is not kept, since a rule may change it. */
typedef struct {
    const char *name;
    const char *value;
    size_t length;
} header_cache;

static void apply_rule(request *r, const setenvif_rule *rule, header_cache *cache)
{
    size_t length;
    const char *value;
    if (rule->attribute == ATTRIBUTE_HEADER && cache->name
        && (cache->name == rule->name || strcasecmp(cache->name, rule->name) == 0)) {
        value = cache->value;
        length = cache->length;
    } else {
        bool from_header;
        value = attribute_value(r, rule, &length, &from_header);
        *cache = from_header ? (header_cache){ rule->name, value, length } : (header_cache){ 0 };
    }
    if (!value)
        value = "";  /* as Apache: an absent field matches as empty */
    regex_group groups[REGEX_MAX_GROUPS];
    if (!rule_matches(rule, value, length, groups))
        return;
    const char *subject = NULL;
    for (int i = 0; i < rule->action_count; i++) {
        const setenvif_action *action = &rule->actions[i];
        if (!action->value) {
            request_unset_env(r, action->name);
        } else if (rule->literal_values || !strpbrk(action->value, "$\\")) {
            request_set_env(r, action->name, action->value);
        } else {
            if (!subject)  /* the groups point into it; the header slice is not NUL-terminated */
                subject = pool_strndup(r->pool, value, length);
            request_set_env(r, action->name, regex_substitute(r->pool, action->value, subject, groups, REGEX_MAX_GROUPS));
        }
    }
}

/* downgrade-1.0: the request is answered as HTTP/1.0 would be (no
 * chunking, keep-alive only if asked for), as Apache lowers proto_num. */
static void apply_downgrade(request *r)
{
    if (!r->env_count)
        return;
    /* force-no-vary implies force-response-1.0 for any request (Apache's
     * header filter); response.c drops Vary. */
    bool no_vary = request_get_env(r, "force-no-vary") != NULL;
    if (no_vary && !request_get_env(r, "force-response-1.0"))
        request_set_env(r, "force-response-1.0", "1");
    if (r->version_major == 1 && r->version_minor == 1 && (no_vary || request_get_env(r, "downgrade-1.0")))
        r->version_minor = 0;
}

static int run_rules(request *r, const dir_config *dir, bool server_level)
{
    const setenvif_dir_config *config = module_dir_config(dir, &setenvif_module);
    header_cache cache = { 0 };
    for (const setenvif_rule *rule = config->rules; rule; rule = rule->next)
        if (rule->server_level == server_level)
            apply_rule(r, rule, &cache);
    apply_downgrade(r);
    return WEFT_DECLINED;
}

static int setenvif_post_read(request *r)
{
    return run_rules(r, r->server->root_dir, true);
}

static int setenvif_map_to_storage(request *r)
{
    return run_rules(r, r->dir, false);
}

/* Apache's mod_env at fixups: SetEnv and PassEnv set, UnsetEnv unsets (the
 * newest entry for a name decides). */
static int setenvif_fixups(request *r)
{
    const cgi_dir_config *cgi = cgi_dir_settings(r->dir);
    const environment_setting *first = cgi ? cgi->environment : NULL;
    if (!first)
        return WEFT_DECLINED;
    for (const environment_setting *s = first; s; s = s->next) {
        bool decided = false;
        for (const environment_setting *earlier = first; earlier != s && !decided; earlier = earlier->next)
            decided = strcmp(earlier->name, s->name) == 0;
        if (decided)
            continue;
        if (s->value)
            request_set_env(r, s->name, s->value);
        else
            request_unset_env(r, s->name);
    }
    apply_downgrade(r);
    return WEFT_DECLINED;
}

/* ---- configuration -------------------------------------------------------- */

/* Apache's non_regex_pattern: no metacharacter outside a backslash escape. */
static bool is_plain_string(const char *pattern)
{
    bool escaped = false;
    for (const char *c = pattern; *c; c++) {
        if (strchr("^.$|()[]*+?{}", *c)) {
            if (!escaped)
                return false;
            escaped = false;
        } else if (*c == '\\') {
            escaped = !escaped;
        } else if (escaped) {
            return false;
        }
    }
    return true;
}

/* A plain string as written, its backslash escapes removed. */
static char *unescape(pool *p, const char *text)
{
    char *out = pool_alloc(p, strlen(text) + 1), *to = out;
    for (const char *c = text; *c; c++)
        *to++ = *c == '\\' && c[1] ? *++c : *c;
    *to = '\0';
    return out;
}

static bool is_header_name(const char *name)
{
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(name);
}

/* argv: regex and actions; written/written_count: the line as written. */
static int add_rule(config_parse *parse, const config_directive *d, void *target, const char *attribute,
                    int argc, char **argv, char **written, int written_count)
{
    pool *p = config_pool(parse);
    bool caseless = strcasestr(d->name, "NoCase") != NULL;
    setenvif_rule *rule = pool_calloc(p, sizeof(*rule));
    static const struct {
        const char *name;
        attribute_kind kind;
    } specials[] = {
        { "Remote_Host", ATTRIBUTE_REMOTE_ADDR }, { "Remote_Addr", ATTRIBUTE_REMOTE_ADDR },
        { "Server_Addr", ATTRIBUTE_SERVER_ADDR }, { "Request_Method", ATTRIBUTE_METHOD },
        { "Request_Protocol", ATTRIBUTE_PROTOCOL }, { "Request_URI", ATTRIBUTE_URI },
    };
    rule->attribute = ATTRIBUTE_HEADER;
    for (size_t i = 0; i < COUNT_OF(specials); i++)
        if (strcasecmp(attribute, specials[i].name) == 0)
            rule->attribute = specials[i].kind;
    if (rule->attribute == ATTRIBUTE_HEADER && !is_header_name(attribute)) {
        rule->attribute = ATTRIBUTE_HEADER_REGEX;
        /* As Apache: caseless for the NoCase forms only, against the names
         * as the client wrote them. */
        rule->name_regex = config_compile_regex(parse, attribute, (caseless ? REGEX_CASELESS : 0) | REGEX_NO_GROUPS);
        if (!rule->name_regex)
            return WEFT_ERROR;
    }
    rule->name = pool_strdup(p, attribute);
    rule->caseless = caseless;
    rule->literal_values = is_plain_string(argv[0]);
    bool prefix = argv[0][0] == '^' && argv[0][1] && is_plain_string(argv[0] + 1);
    if (rule->literal_values || prefix) {
        rule->prefix = prefix;
        rule->literal = unescape(p, argv[0] + prefix);
        rule->literal_length = strlen(rule->literal);
    } else {
        rule->regex = config_compile_regex(parse, argv[0], caseless ? REGEX_CASELESS : 0);
        if (!rule->regex)
            return WEFT_ERROR;
    }
    rule->actions = pool_calloc(p, sizeof(*rule->actions) * (size_t)(argc > 1 ? argc - 1 : 1));
    for (int i = 1; i < argc; i++) {
        setenvif_action *action = &rule->actions[rule->action_count++];
        const char *feature = argv[i];
        const char *equals = strchr(feature, '=');
        if (feature[0] == '!') {
            action->name = pool_strdup(p, feature + 1);
        } else if (equals) {
            action->name = pool_strndup(p, feature, (size_t)(equals - feature));
            action->value = pool_strdup(p, equals + 1);
        } else {
            action->name = pool_strdup(p, feature);
            action->value = "1";
        }
        if (!action->name[0])
            return config_error(parse, "%s: '%s' names no environment variable", d->name, feature);
    }
    /* Outside any section (the server's or a virtual host's own top level)
     * the rule runs as soon as the head is read. */
    const setenvif_dir_config *top = module_dir_config(config_server(parse)->root_dir, &setenvif_module);
    rule->server_level = (const void *)&top->rules == target;
    rule->directive = d->name;
    rule->argument_count = written_count;
    rule->arguments = pool_alloc(p, sizeof(char *) * (size_t)written_count);
    for (int i = 0; i < written_count; i++)
        rule->arguments[i] = pool_strdup(p, written[i]);

    /* In file order, after what this section already has; one name string
     * for a run of rules on the same attribute, so that the header cache
     * recognises it by its address. */
    setenvif_rule **tail = target;
    const setenvif_rule *previous = NULL;
    while (*tail) {
        previous = *tail;
        tail = &(*tail)->next;
    }
    if (previous && strcasecmp(previous->name, rule->name) == 0)
        rule->name = previous->name;
    *tail = rule;
    return WEFT_OK;
}

static int set_setenvif(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    return add_rule(parse, d, target, argv[0], argc - 1, argv + 1, argv, argc);
}

static int set_browser_match(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    return add_rule(parse, d, target, "User-Agent", argc, argv, argv, argc);
}

/* The enclosing rules, then the section's (copied: the configuration is
 * shared and read-only; the section's list is shared as the tail). */
static void merge_rules(void *merged, const void *child, pool *p)
{
    setenvif_rule **merged_list = merged;
    setenvif_rule *const *child_list = child;
    if (!*child_list || *merged_list == *child_list)
        return;
    setenvif_rule *head = NULL;
    setenvif_rule **tail = &head;
    for (const setenvif_rule *rule = *merged_list; rule; rule = rule->next) {
        setenvif_rule *copy = pool_alloc(p, sizeof(*copy));
        *copy = *rule;
        *tail = copy;
        tail = &copy->next;
    }
    *tail = *child_list;
    *merged_list = head;
}

/* All four rows share the list, in file order: the row of the first rule
 * (certainly set where the list is) prints them all. */
static void format_rules(FILE *out, const config_directive *d, const void *base)
{
    const setenvif_rule *rules = *(setenvif_rule *const *)((const char *)base + d->offset);
    if (!rules || strcasecmp(rules->directive, d->name) != 0)
        return;
    for (const setenvif_rule *rule = rules; rule; rule = rule->next) {
        const config_directive *row = config_find_directive(rule->directive);
        config_dump_line(out, row ? row : d, rule->argument_count, (const char *const *)rule->arguments);
    }
}

#define SETENVIF_ROW(row_name, minimum, setter, row_syntax, row_help)                                     \
    { .name = row_name, .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,                          \
      .offset = offsetof(setenvif_dir_config, rules), .size = sizeof(setenvif_rule *),                    \
      .min_args = minimum, .max_args = ARGS_UNLIMITED, .set = setter, .merge = merge_rules,              \
      .syntax = row_syntax, .help = row_help, .format = format_rules, .overrides = OVERRIDE_FILEINFO }

static const config_directive setenvif_directives[] = {
    SETENVIF_ROW("SetEnvIf", 2, set_setenvif, "attribute regex [!]env-variable[=value] ...",
                 "sets environment variables of the request when an attribute of it matches"),
    SETENVIF_ROW("SetEnvIfNoCase", 2, set_setenvif, "attribute regex [!]env-variable[=value] ...",
                 "SetEnvIf with a case-insensitive regular expression"),
    SETENVIF_ROW("BrowserMatch", 1, set_browser_match, "regex [!]env-variable[=value] ...",
                 "sets environment variables of the request when its User-Agent matches"),
    SETENVIF_ROW("BrowserMatchNoCase", 1, set_browser_match, "regex [!]env-variable[=value] ...",
                 "BrowserMatch with a case-insensitive regular expression"),
    { .name = NULL },
};

const module setenvif_module = {
    .name = "setenvif",
    .directives = setenvif_directives,
    .dir_config_size = sizeof(setenvif_dir_config),
    .post_read = setenvif_post_read,
    .map_to_storage = setenvif_map_to_storage,
    .fixups = setenvif_fixups,
};
