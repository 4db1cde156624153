/*
 * headers.c — Header, AddCharset and AddDefaultCharset, and the one place
 * where a response's fields get their final form (see headers.h).
 *
 * Header acts on the extra fields of the response (request.h headers) and
 * on the three fields the response keeps apart: Content-Type, ETag and
 * Last-Modified (which, once a Header action touches it, becomes an
 * ordinary field).  Date, Server, Content-Length, Transfer-Encoding,
 * Connection and Keep-Alive are weft's own: a Header line naming one is
 * refused with a warning, as Apache ignores most of them silently.
 */
#include "headers.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../core/buffer.h"
#include "../core/match.h"
#include "../core/module.h"
#include "../core/regex.h"
#include "../http/request_vars.h"
#include "../http/response.h"

/* Header actions in order; AddCharset (extension -> charset in `type`);
 * AddDefaultCharset (NULL = Off) */
typedef struct {
    struct header_action *header_actions;
    mime_addition *add_charsets;
    char *default_charset;
} headers_dir_config;

extern const module headers_module;

static const headers_dir_config *headers_settings(const dir_config *dir)
{
    return module_dir_config(dir, &headers_module);
}

bool headers_have_charsets(const dir_config *dir)
{
    return headers_settings(dir)->add_charsets != NULL;
}

typedef enum {
    HEADER_SET,
    HEADER_APPEND,
    HEADER_ADD,
    HEADER_MERGE,
    HEADER_SETIFEMPTY,
    HEADER_UNSET,
    HEADER_EDIT,      /* edit: the first match of the regex in each value */
    HEADER_EDIT_ALL,  /* edit*: every match */
} header_verb;

typedef enum {
    FIELD_EXTRA,          /* in r->headers */
    FIELD_CONTENT_TYPE,   /* r->content_type */
    FIELD_ETAG,           /* r->etag */
    FIELD_LAST_MODIFIED,  /* r->last_modified until touched */
} field_kind;

typedef struct header_action {
    struct header_action *next;
    header_verb verb;
    bool always;          /* else only 2xx and 304 ("onsuccess") */
    field_kind field;
    const char *name;
    const char *value;    /* NULL for unset; edit: the replacement ($0..$9) */
    const weft_regex *pattern;  /* edit, edit*: what is replaced */
    bool formatted;       /* value holds %t, %D or %% */
    const char *env;      /* env=[!]variable: only when it is set (unset); NULL = always */
    bool env_negated;
    const weft_expr *condition;  /* expr=...: acts only when it holds; NULL = always */
} header_action;

/* ---- applying Header ---------------------------------------------------- */

/* Microseconds since the epoch when the request began. */
static int64_t request_time_us(const request *r, int64_t *duration_us)
{
    struct timespec wall, monotonic;
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_gettime(CLOCK_MONOTONIC, &monotonic);
    int64_t elapsed = (int64_t)(monotonic.tv_sec - r->start_time.tv_sec) * 1000000 +
                      (monotonic.tv_nsec - r->start_time.tv_nsec) / 1000;
    *duration_us = elapsed > 0 ? elapsed : 0;
    return (int64_t)wall.tv_sec * 1000000 + wall.tv_nsec / 1000 - *duration_us;
}

static const char *expand_value(request *r, const header_action *action)
{
    if (!action->formatted)
        return action->value;
    int64_t duration;
    int64_t start = request_time_us(r, &duration);
    buffer out;
    buffer_init(&out, strlen(action->value) + 48);
    for (const char *c = action->value; *c; c++) {
        if (*c != '%') {
            buffer_append_char(&out, *c);
            continue;
        }
        c++;
        if (*c == '{') {
            /* %{VAR}e (the setter checked the form), or %{VAR}s, mod_ssl's
             * variables (SSL_CLIENT_S_DN_CN): "(null)" when unset, as Apache */
            const char *end = strchr(c, '}');
            char *name = pool_strndup(r->pool, c + 1, (size_t)(end - c - 1));
            const char *value = end[1] == 's' ? request_expr_variable(r, name, r->pool) : request_get_env(r, name);
            buffer_append_string(&out, value ? value : "(null)");
            c = end + 1;
        } else if (*c == 't')
            buffer_printf(&out, "t=%lld", (long long)start);
        else if (*c == 'D')
            buffer_printf(&out, "D=%lld", (long long)duration);
        else
            buffer_append_char(&out, '%');   /* "%%"; the setter allows nothing else */
    }
    char *value = pool_strndup(r->pool, out.data, out.length);
    buffer_free(&out);
    return value;
}

/* Is value already one of the comma-separated members of list? */
static bool list_has_member(const char *list, const char *value)
{
    size_t length = strlen(value);
    for (const char *at = list; *at;) {
        while (*at == ' ' || *at == '\t' || *at == ',')
            at++;
        const char *end = at;
        bool quoted = false;
        while (*end && (quoted || *end != ',')) {
            if (*end == '"')
                quoted = !quoted;
            end++;
        }
        const char *last = end;
        while (last > at && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        if ((size_t)(last - at) == length && strncasecmp(at, value, length) == 0)
            return true;
        at = end;
    }
    return false;
}

static const char *joined(request *r, const char *old, const char *value)
{
    return pool_printf(r->pool, "%s, %s", old, value);
}

/* The new value of a single field (Content-Type, ETag) whose current value
 * is current (NULL: absent); NULL removes it. */
/* Header edit/edit*: as Apache's process_regexp, each later match is
 * looked for in the rest of the value after the previous one (so "^" can
 * match there too); an empty match copies one character before going on,
 * so that the loop always ends. */
static const char *edited(request *r, const header_action *action, const char *current, const char *replacement)
{
    if (!current)
        return NULL;
    buffer out;
    buffer_init(&out, strlen(current) + 32);
    const char *rest = current;
    bool matched = false;
    for (;;) {
        regex_group groups[REGEX_MAX_GROUPS];
        if (!regex_match(action->pattern, rest, strlen(rest), groups, REGEX_MAX_GROUPS))
            break;
        matched = true;
        buffer_append(&out, rest, (size_t)groups[0].start);
        const char *with = regex_substitute(r->pool, replacement, rest, groups, REGEX_MAX_GROUPS);
        buffer_append(&out, with, strlen(with));
        const char *after = rest + groups[0].end;
        bool empty = groups[0].end == groups[0].start;
        if (empty && !*after) {
            rest = after;
            break;
        }
        if (empty)
            buffer_append_char(&out, *after++);
        rest = after;
        if (action->verb != HEADER_EDIT_ALL)
            break;
    }
    buffer_append(&out, rest, strlen(rest));
    char *value = matched ? pool_strndup(r->pool, out.data ? out.data : "", out.length) : (char *)current;
    buffer_free(&out);
    return value;
}

static const char *single_field_value(request *r, const header_action *action, const char *current,
                                      const char *value)
{
    switch (action->verb) {
    case HEADER_EDIT:
    case HEADER_EDIT_ALL:
        return edited(r, action, current, value);
    case HEADER_SET:
        return value;
    case HEADER_UNSET:
        return NULL;
    case HEADER_SETIFEMPTY:
        return current ? current : value;
    case HEADER_MERGE:
        if (current && list_has_member(current, value))
            return current;
        return current ? joined(r, current, value) : value;
    case HEADER_APPEND:
    case HEADER_ADD:
        return current ? joined(r, current, value) : value;
    }
    return current;
}

static void remove_extra_fields(request *r, const char *name)
{
    int kept = 0;
    for (int i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) != 0)
            r->headers[kept++] = r->headers[i];
    r->header_count = kept;
}

static response_header *find_extra_field(request *r, const char *name)
{
    for (int i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return &r->headers[i];
    return NULL;
}

static void apply_to_extra_field(request *r, const header_action *action, const char *value)
{
    response_header *existing = find_extra_field(r, action->name);
    switch (action->verb) {
    case HEADER_SET:
        remove_extra_fields(r, action->name);
        response_add_header_constant(r, action->name, value);
        break;
    case HEADER_UNSET:
        remove_extra_fields(r, action->name);
        break;
    case HEADER_EDIT:
    case HEADER_EDIT_ALL:
        /* Every field of that name, as Apache edits each value. */
        for (int i = 0; i < r->header_count; i++)
            if (strcasecmp(r->headers[i].name, action->name) == 0)
                r->headers[i].value = (char *)edited(r, action, r->headers[i].value, value);
        break;
    case HEADER_ADD:
        response_add_header_constant(r, action->name, value);
        break;
    case HEADER_SETIFEMPTY:
        if (!existing)
            response_add_header_constant(r, action->name, value);
        break;
    case HEADER_MERGE:
        if (existing && list_has_member(existing->value, value))
            break;
        /* fall through */
    case HEADER_APPEND:
        if (existing)
            existing->value = (char *)joined(r, existing->value, value);
        else
            response_add_header_constant(r, action->name, value);
        break;
    }
}

static void apply_action(request *r, const header_action *action)
{
    const char *value = action->value ? expand_value(r, action) : NULL;
    switch (action->field) {
    case FIELD_CONTENT_TYPE:
        r->content_type = single_field_value(r, action, r->content_type, value);
        return;
    case FIELD_ETAG:
        r->etag = (char *)single_field_value(r, action, r->etag, value);
        return;
    case FIELD_LAST_MODIFIED:
        /* From here on an ordinary field, so that every verb works on it. */
        if (r->last_modified > 0) {
            char *date = pool_alloc(r->pool, 32);
            http_format_date(date, r->last_modified);
            r->last_modified = 0;
            response_add_header_constant(r, "Last-Modified", date);
        }
        break;
    case FIELD_EXTRA:
        break;
    }
    apply_to_extra_field(r, action, value);
}

/* ---- charsets ----------------------------------------------------------- */

static bool has_charset(const char *type)
{
    const char *parameters = strchr(type, ';');
    return parameters && strcasestr(parameters, "charset=") != NULL;
}

static const char *with_charset(request *r, const char *type, const char *charset)
{
    return pool_printf(r->pool, "%s; charset=%s", type, charset);
}

const char *headers_type_with_charset(request *r, const char *type, const char *name)
{
    if (!type || has_charset(type))
        return type;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    /* As mod_mime: every extension counts ("page.utf8.html"), the last
     * one that names a charset wins; the part before the first dot is the
     * name itself. */
    const char *charset = NULL;
    const char *extension = strchr(base, '.');
    while (extension) {
        extension++;
        size_t length = strcspn(extension, ".");
        for (const mime_addition *entry = headers_settings(r->dir)->add_charsets; entry; entry = entry->next) {
            if (strlen(entry->extension) == length && strncasecmp(entry->extension, extension, length) == 0) {
                charset = entry->type;
                break;
            }
        }
        extension = strchr(extension, '.');
    }
    return charset ? with_charset(r, type, charset) : type;
}

/* text/plain and text/html, parameters aside, as Apache's core checks. */
static bool wants_default_charset(const char *type)
{
    size_t length = strcspn(type, "; \t");
    return (length == 10 && strncasecmp(type, "text/plain", 10) == 0) ||
           (length == 9 && strncasecmp(type, "text/html", 9) == 0);
}

const char *headers_type_with_default_charset(request *r, const char *type)
{
    const char *charset = r->dir ? headers_settings(r->dir)->default_charset : NULL;
    if (!charset || !type || !wants_default_charset(type) || has_charset(type))
        return type;
    return with_charset(r, type, charset);
}

/* ---- the hook ----------------------------------------------------------- */

void headers_finalize_response(request *r)
{
    const dir_config *dir = r->dir;
    if (!dir)
        return;
    const headers_dir_config *config = headers_settings(dir);
    if (config->default_charset && r->content_type)
        r->content_type = headers_type_with_default_charset(r, r->content_type);
    bool success = (r->status >= 200 && r->status < 300) || r->status == 304;
    for (const header_action *action = config->header_actions; action; action = action->next)
        if ((action->always || success)
            && (!action->env || (request_get_env(r, action->env) != NULL) != action->env_negated)
            && (!action->condition || request_expr_holds(r, action->condition, "Header")))
            apply_action(r, action);
}

/* ---- configuration ------------------------------------------------------ */

static bool header_name_valid(const char *name)
{
    if (!*name)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *c)))
            return false;
    return true;
}

static int set_header(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    static const struct {
        const char *name;
        header_verb verb;
    } verbs[] = {
        { "set", HEADER_SET },     { "append", HEADER_APPEND },         { "add", HEADER_ADD },
        { "merge", HEADER_MERGE }, { "setifempty", HEADER_SETIFEMPTY }, { "unset", HEADER_UNSET },
        { "edit", HEADER_EDIT },   { "edit*", HEADER_EDIT_ALL },
    };
    static const char *const managed[] = {
        "Date", "Server", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
    };
    int at = 0;
    bool always = false;
    if (strcasecmp(argv[0], "always") == 0 || strcasecmp(argv[0], "onsuccess") == 0) {
        always = strcasecmp(argv[0], "always") == 0;
        at++;
    }
    if (at >= argc)
        return config_error(parse, "Header requires an action (set, append, add, merge, setifempty, unset, edit or edit*)");
    size_t v = 0;
    while (v < COUNT_OF(verbs) && strcasecmp(argv[at], verbs[v].name) != 0)
        v++;
    if (v == COUNT_OF(verbs)) {
        if (strcasecmp(argv[at], "echo") == 0 || strcasecmp(argv[at], "note") == 0)
            return config_error(parse, "Header %s is not supported by weft", argv[at]);
        return config_error(parse, "Unknown Header action '%s': use set, append, add, merge, setifempty, unset, edit or edit*",
                            argv[at]);
    }
    header_verb verb = verbs[v].verb;
    at++;
    if (at >= argc || !header_name_valid(argv[at]))
        return config_error(parse, "Header %s needs a valid field name", verbs[v].name);
    const char *name = argv[at++];
    const char *value = NULL;
    const weft_regex *pattern = NULL;
    if (verb == HEADER_EDIT || verb == HEADER_EDIT_ALL) {
        if (at + 1 >= argc)
            return config_error(parse, "Header %s %s needs a regular expression and a replacement", verbs[v].name,
                                name);
        if (!(pattern = config_compile_regex(parse, argv[at++], 0)))
            return WEFT_ERROR;
    }
    if (verb != HEADER_UNSET) {
        if (at >= argc)
            return config_error(parse, "Header %s %s needs a value", verbs[v].name, name);
        value = argv[at++];
    }
    if (value && strncasecmp(value, "expr=", 5) == 0)
        return config_error(parse, "Header %s %s: a value computed by an expression (expr=) is not "
                                   "supported by weft", verbs[v].name, name);
    /* The condition, as Apache's: env=[!]variable or expr=expression. */
    const char *env = NULL;
    const weft_expr *condition = NULL;
    if (at < argc && strncasecmp(argv[at], "env=", 4) == 0 && argv[at][4 + (argv[at][4] == '!')]) {
        env = argv[at++] + 4;
    } else if (at < argc && strncasecmp(argv[at], "expr=", 5) == 0) {
        if (!(condition = config_compile_expr(parse, argv[at] + 5)))
            return WEFT_ERROR;
        at++;
    }
    if (at < argc) {
        if (strncasecmp(argv[at], "env=", 4) == 0 || strcasecmp(argv[at], "early") == 0)
            return config_error(parse, "Header: '%s' conditions are not supported by weft", argv[at]);
        return config_error(parse, "Header: unexpected argument '%s'", argv[at]);
    }
    bool formatted = false;
    for (const char *c = value; c && *c; c++) {
        if (*c != '%')
            continue;
        c++;
        if (*c == '{') {
            const char *end = strchr(c, '}');
            if (end && end > c + 1 && (end[1] == 'e' || end[1] == 's')) {
                c = end + 1;
                formatted = true;
                continue;
            }
        }
        if (*c != '%' && *c != 't' && *c != 'D')
            return config_error(parse, "Header value '%s': weft understands %%%%, %%t, %%D, %%{VAR}e and %%{VAR}s only",
                                value);
        formatted = true;
    }
    for (const char *c = value; c && *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t')
            return config_error(parse, "Header value for %s contains a control character", name);
    for (size_t i = 0; i < COUNT_OF(managed); i++) {
        if (strcasecmp(name, managed[i]) == 0) {
            config_warning(parse, "Header %s %s ignored: weft writes %s itself", verbs[v].name, name, name);
            return WEFT_OK;
        }
    }

    pool *p = config_pool(parse);
    header_action *action = pool_calloc(p, sizeof(*action));
    action->verb = verb;
    action->always = always;
    action->name = pool_strdup(p, name);
    action->value = value ? pool_strdup(p, value) : NULL;
    action->formatted = formatted;
    action->pattern = pattern;
    if (env) {
        action->env_negated = env[0] == '!';
        action->env = pool_strdup(p, env + action->env_negated);
    }
    action->condition = condition;
    action->field = strcasecmp(name, "Content-Type") == 0    ? FIELD_CONTENT_TYPE
                    : strcasecmp(name, "ETag") == 0          ? FIELD_ETAG
                    : strcasecmp(name, "Last-Modified") == 0 ? FIELD_LAST_MODIFIED
                                                             : FIELD_EXTRA;
    /* In file order: appended to what this section already has. */
    header_action **tail = target;
    if (!config_was_set_here(parse, d))
        *tail = NULL;
    while (*tail)
        tail = &(*tail)->next;
    *tail = action;
    return WEFT_OK;
}

/* The enclosing actions, then the section's: the enclosing list is copied
 * (the configuration is shared and read-only), the section's is shared as
 * the tail. */
static void merge_header_actions(void *merged, const void *child, pool *p)
{
    header_action **merged_list = merged;
    header_action *const *child_list = child;
    if (!*child_list)
        return;
    header_action *head = NULL;
    header_action **tail = &head;
    for (const header_action *action = *merged_list; action; action = action->next) {
        header_action *copy = pool_alloc(p, sizeof(*copy));
        *copy = *action;
        *tail = copy;
        tail = &copy->next;
    }
    *tail = *child_list;
    *merged_list = head;
}

static int set_add_charset(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    mime_addition **list = target;
    pool *p = config_pool(parse);
    for (const char *c = argv[0]; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-_.:+", *c)))
            return config_error(parse, "AddCharset: '%s' is not a charset name", argv[0]);
    char *charset = pool_strdup(p, argv[0]);
    for (int i = 1; i < argc; i++) {
        const char *extension = argv[i][0] == '.' ? argv[i] + 1 : argv[i];
        if (!*extension || strchr(extension, '.') || strchr(extension, '/'))
            return config_error(parse, "AddCharset: '%s' is not a file name extension", argv[i]);
        mime_addition *entry = pool_alloc(p, sizeof(*entry));
        entry->extension = pool_strdup(p, extension);
        entry->type = charset;
        entry->next = *list;
        *list = entry;
    }
    return WEFT_OK;
}

/* The section's entries in front of the enclosing ones (the first match
 * wins, so the innermost AddCharset does). */
static void merge_add_charsets(void *merged, const void *child, pool *p)
{
    mime_addition **merged_list = merged;
    mime_addition *const *child_list = child;
    if (!*child_list)
        return;
    mime_addition *head = NULL;
    mime_addition **tail = &head;
    for (const mime_addition *entry = *child_list; entry; entry = entry->next) {
        mime_addition *copy = pool_alloc(p, sizeof(*copy));
        *copy = *entry;
        *tail = copy;
        tail = &copy->next;
    }
    *tail = *merged_list;
    *merged_list = head;
}

static int set_default_charset(config_parse *parse, const config_directive *d, void *target, int argc,
                               char **argv)
{
    char **charset = target;
    if (strcasecmp(argv[0], "Off") == 0)
        *charset = NULL;
    else if (strcasecmp(argv[0], "On") == 0)
        *charset = "iso-8859-1";   /* Apache's default charset name */
    else
        *charset = pool_strdup(config_pool(parse), argv[0]);
    return WEFT_OK;
}

#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(headers_dir_config, field), \
                         .size = sizeof(((headers_dir_config *)0)->field)

static const config_directive headers_directives[] = {
    { .name = "Header", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(header_actions), .min_args = 2,
      .max_args = 6, .set = set_header, .merge = merge_header_actions,
      .syntax = "[onsuccess|always] set|append|add|merge|setifempty|unset|edit|edit* name [regex] [value] [env=[!]variable|expr=expression]",
      .help = "changes a response header field", .overrides = OVERRIDE_FILEINFO },
    { .name = "AddCharset", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(add_charsets), .min_args = 2,
      .max_args = ARGS_UNLIMITED, .set = set_add_charset, .merge = merge_add_charsets,
      .syntax = "charset extension [extension ...]",
      .help = "adds charset to the Content-Type of files with these extensions", .overrides = OVERRIDE_FILEINFO },
    { .name = "AddDefaultCharset", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(default_charset), .min_args = 1,
      .max_args = 1, .set = set_default_charset, .default_value = "Off", .syntax = "On|Off|charset",
      .help = "adds a charset to text/plain and text/html responses that have none", .overrides = OVERRIDE_FILEINFO },
    { .name = NULL },
};
#undef DIR_FIELD

const module headers_module = {
    .name = "headers",
    .directives = headers_directives,
    .dir_config_size = sizeof(headers_dir_config),
    .response_head = headers_finalize_response,
};
