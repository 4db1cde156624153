/*
 * rewrite_cond.c — mod_rewrite's test strings and conditions: expansion of
 * $N, %N, %{VAR} and ${map:key|default}, the server variables, and the
 * CondPattern forms (regex, lexicographic, integer and file tests).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "../http/request_vars.h"
#include "file_cache.h"
#include "file_open.h"
#include "rewrite_internal.h"

/* ---- escaping ------------------------------------------------------------ */

static const char hex_digits[] = "0123456789abcdef";

static char *put_hex(char *out, unsigned char c)
{
    *out++ = '%';
    *out++ = hex_digits[c >> 4];
    *out++ = hex_digits[c & 15];
    return out;
}

char *rewrite_escape_backref(pool *p, const char *text, size_t length, const char *only, bool no_plus, bool controls)
{
    char *copy = pool_alloc(p, 3 * length + 1);
    char *out = copy;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        bool candidate = controls ? (c <= ' ' || c == 127) : (!only || (c && strchr(only, c)));
        if (!candidate || isalnum(c) || c == '_')
            *out++ = (char)c;
        else if (c == ' ' && !no_plus)
            *out++ = '+';
        else
            out = put_hex(out, c);
    }
    *out = '\0';
    return copy;
}

char *rewrite_escape_uri(pool *p, const char *text)
{
    size_t length = strlen(text);
    char *copy = pool_alloc(p, 3 * length + 1);
    char *out = copy;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (isalnum(*c) || strchr("$-_.+!*'(),:;@&=/~", *c))
            *out++ = (char)*c;
        else
            out = put_hex(out, *c);
    }
    *out = '\0';
    return copy;
}

/* ---- variables ----------------------------------------------------------- */

/* A request header, noted for Vary unless it is Host (RFC 9110 12.5.5). */
static const char *header_value(rewrite_run *run, const char *name)
{
    char *variable = pool_printf(run->r->pool, "HTTP:%s", name);
    const char *value = request_expr_variable(run->r, variable, run->r->pool);
    if (value && strcasecmp(name, "Host") != 0)
        run->vary_this = run->vary_this ? pool_printf(run->r->pool, "%s, %s", run->vary_this, name)
                                        : pool_strdup(run->r->pool, name);
    return value;
}

static const char *time_variable(rewrite_run *run, const char *name)
{
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    pool *p = run->r->pool;
    if (strcmp(name, "TIME_YEAR") == 0)
        return pool_printf(p, "%04d", local.tm_year + 1900);
    if (strcmp(name, "TIME_MON") == 0)
        return pool_printf(p, "%02d", local.tm_mon + 1);
    if (strcmp(name, "TIME_DAY") == 0)
        return pool_printf(p, "%02d", local.tm_mday);
    if (strcmp(name, "TIME_HOUR") == 0)
        return pool_printf(p, "%02d", local.tm_hour);
    if (strcmp(name, "TIME_MIN") == 0)
        return pool_printf(p, "%02d", local.tm_min);
    if (strcmp(name, "TIME_SEC") == 0)
        return pool_printf(p, "%02d", local.tm_sec);
    if (strcmp(name, "TIME_WDAY") == 0)
        return pool_printf(p, "%d", local.tm_wday);
    if (strcmp(name, "TIME") == 0)
        return pool_printf(p, "%04d%02d%02d%02d%02d%02d", local.tm_year + 1900, local.tm_mon + 1, local.tm_mday,
                           local.tm_hour, local.tm_min, local.tm_sec);
    return NULL;
}

static const char *owner_variable(rewrite_run *run, bool group)
{
    struct stat info;
    if (!run->filename || stat(run->filename, &info) != 0)
        return "<unknown>";
    return pool_printf(run->r->pool, "%u", group ? (unsigned)info.st_gid : (unsigned)info.st_uid);
}

const char *rewrite_variable(rewrite_run *run, const char *name)
{
    request *r = run->r;
    const char *value = NULL;
    if (strncmp(name, "HTTP:", 5) == 0) {
        value = header_value(run, name + 5);
    } else if (strncmp(name, "ENV:", 4) == 0) {
        value = request_get_env(r, name + 4);
        if (!value)
            value = getenv(name + 4);
    } else if (strncmp(name, "SSL:", 4) == 0) {
        value = request_module_variable(r, name + 4);
    } else if (strncmp(name, "TIME", 4) == 0 && (name[4] == '\0' || name[4] == '_')) {
        value = time_variable(run, name);
    } else if (strcmp(name, "HTTP_HOST") == 0) {
        value = header_value(run, "Host");
    } else if (strcmp(name, "HTTP_USER_AGENT") == 0 || strcmp(name, "HTTP_REFERER") == 0 ||
               strcmp(name, "HTTP_COOKIE") == 0 || strcmp(name, "HTTP_FORWARDED") == 0 ||
               strcmp(name, "HTTP_PROXY_CONNECTION") == 0 || strcmp(name, "HTTP_ACCEPT") == 0) {
        char *field = pool_strdup(r->pool, name + 5);
        for (char *c = field; *c; c++)
            *c = *c == '_' ? '-' : *c;
        value = header_value(run, field);
    } else if (strcmp(name, "REQUEST_FILENAME") == 0 || strcmp(name, "SCRIPT_FILENAME") == 0) {
        value = run->filename;
    } else if (strcmp(name, "QUERY_STRING") == 0) {
        value = run->query;
    } else if (strcmp(name, "REQUEST_URI") == 0) {
        value = r->path;
    } else if (strcmp(name, "API_VERSION") == 0) {
        value = "20120211:0";
    } else if (strcmp(name, "PATH_INFO") == 0 || strcmp(name, "REMOTE_IDENT") == 0) {
        value = "";
    } else if (strcmp(name, "SERVER_ADDR") == 0) {
        value = r->connection ? connection_local_address(r->connection) : NULL;
    } else if (strcmp(name, "CONTEXT_PREFIX") == 0) {
        value = "";
    } else if (strcmp(name, "CONTEXT_DOCUMENT_ROOT") == 0) {
        value = r->server->document_root;
    } else if (strcmp(name, "SCRIPT_USER") == 0 || strcmp(name, "SCRIPT_GROUP") == 0) {
        value = owner_variable(run, name[7] == 'G');
    } else if (strcmp(name, "IS_SUBREQ") == 0) {
        value = r->lookup_depth > 0 ? "true" : "false";
    } else {
        value = request_expr_variable(r, name, r->pool);
    }
    return value ? value : "";
}

/* ---- expansion ----------------------------------------------------------- */

/* A string growing in the request pool (the old space is left to the pool). */
typedef struct {
    pool *p;
    char *data;
    size_t length;
    size_t capacity;
} growing_text;

static void text_append(growing_text *t, const char *data, size_t length)
{
    if (t->length + length + 1 > t->capacity) {
        size_t capacity = (t->capacity ? t->capacity * 2 : 64);
        while (capacity < t->length + length + 1)
            capacity *= 2;
        char *bigger = pool_alloc(t->p, capacity);
        if (t->length)
            memcpy(bigger, t->data, t->length);
        t->data = bigger;
        t->capacity = capacity;
    }
    memcpy(t->data + t->length, data, length);
    t->length += length;
    t->data[t->length] = '\0';
}

static void text_append_string(growing_text *t, const char *string)
{
    text_append(t, string, strlen(string));
}

/* The '}' that closes the brace opened just before text, nested braces
 * counted; NULL when there is none. */
static const char *closing_brace(const char *text)
{
    int depth = 1;
    for (const char *c = text; *c; c++) {
        if (*c == '\\' && c[1]) {
            c++;
        } else if (*c == '{') {
            depth++;
        } else if (*c == '}' && --depth == 0) {
            return c;
        }
    }
    return NULL;
}

static void expand_map(rewrite_run *run, growing_text *out, const char *inside, size_t length, const rewrite_rule *rule)
{
    char *spec = pool_strndup(run->r->pool, inside, length);
    char *colon = strchr(spec, ':');
    if (!colon) {  /* not a map reference: kept as written, as Apache */
        text_append_string(out, pool_printf(run->r->pool, "${%s}", spec));
        return;
    }
    *colon = '\0';
    char *key = colon + 1;
    char *fallback = NULL;
    /* The '|' that separates the default, outside nested references. */
    int depth = 0;
    for (char *c = key; *c; c++) {
        if (*c == '\\' && c[1])
            c++;
        else if (*c == '{')
            depth++;
        else if (*c == '}')
            depth--;
        else if (*c == '|' && depth == 0) {
            *c = '\0';
            fallback = c + 1;
            break;
        }
    }
    const char *expanded_key = rewrite_expand(run, key, rule);
    const char *value = rewrite_map_lookup(run, spec, expanded_key);
    rewrite_log(run, 5, "map lookup %s for %s:%s", value ? "OK" : "FAILED", spec, expanded_key);
    if (!value && fallback)
        value = rewrite_expand(run, fallback, rule);
    if (value)
        text_append(out, value, strlen(value));
}

char *rewrite_expand(rewrite_run *run, const char *text, const rewrite_rule *rule)
{
    growing_text out = { .p = run->r->pool };
    text_append(&out, "", 0);
    for (const char *c = text; *c;) {
        if (c[0] == '\\' && c[1]) {
            text_append(&out, c + 1, 1);
            c += 2;
            continue;
        }
        if ((c[0] == '$' || c[0] == '%') && c[1] == '{') {
            const char *end = closing_brace(c + 2);
            if (end) {
                if (c[0] == '$') {
                    expand_map(run, &out, c + 2, (size_t)(end - c - 2), rule);
                } else {
                    char *name = pool_strndup(run->r->pool, c + 2, (size_t)(end - c - 2));
                    const char *value = rewrite_variable(run, name);
                    text_append(&out, value, strlen(value));
                }
                c = end + 1;
                continue;
            }
        }
        if ((c[0] == '$' || c[0] == '%') && c[1] >= '0' && c[1] <= '9') {
            int n = c[1] - '0';
            const char *subject = c[0] == '$' ? run->rule_subject : run->cond_subject;
            const regex_group *groups = c[0] == '$' ? run->rule_groups : run->cond_groups;
            if (subject && groups[n].start >= 0 && groups[n].end > groups[n].start) {
                const char *start = subject + groups[n].start;
                size_t length = (size_t)(groups[n].end - groups[n].start);
                if (rule && (rule->flags & (RULE_ESCAPE_BACKREFS | RULE_BCTLS))) {
                    char *escaped = rewrite_escape_backref(run->r->pool, start, length, rule->escape_only,
                                                           rule->flags & RULE_NO_PLUS, rule->flags & RULE_BCTLS);
                    text_append(&out, escaped, strlen(escaped));
                } else {
                    text_append(&out, start, length);
                }
            }
            c += 2;
            continue;
        }
        text_append(&out, c, 1);
        c++;
    }
    return out.data;
}

/* ---- conditions ---------------------------------------------------------- */

/* Apache's compare_lexicography: the longer string is the greater; equal
 * lengths compare byte by byte. */
static int compare_lexically(const char *a, const char *b)
{
    size_t length_a = strlen(a), length_b = strlen(b);
    if (length_a != length_b)
        return length_a > length_b ? 1 : -1;
    return memcmp(a, b, length_a) == 0 ? 0 : (memcmp(a, b, length_a) > 0 ? 1 : -1);
}

static bool lookup_exists(rewrite_run *run, const char *target, bool is_url)
{
    struct stat info;
    if (!is_url)
        return stat(target, &info) == 0 && S_ISREG(info.st_mode);
    if (target[0] != '/')
        return false;
    char *file = request_map_path(run->r, target);
    return file && stat(file, &info) == 0;
}

/* -f and -s: a file the file cache holds (valid: inotify tells it of any
 * change) is a regular file with that size, without a system call; the
 * front controller's "!-f" on every static file costs no stat then. */
static bool regular_file(rewrite_run *run, const char *path, struct stat *info)
{
    request *r = run->r;
    if (r->dir && file_cache_enabled(r->server)) {
        bool follow = (file_effective_options(r->dir) & OPTION_FOLLOW_SYMLINKS) != 0;
        if (file_cache_lookup(r, path, follow, info))
            return true;
    }
    return stat(path, info) == 0 && S_ISREG(info->st_mode);
}

bool rewrite_cond_holds(rewrite_run *run, const rewrite_cond *cond)
{
    char *input = cond->kind == COND_EXPR ? (char *)"expr" : rewrite_expand(run, cond->test, NULL);
    struct stat info;
    bool holds = false;
    switch (cond->kind) {
    case COND_REGEX: {
        regex_group groups[REGEX_MAX_GROUPS];
        holds = regex_match(cond->regex, input, strlen(input), groups, REGEX_MAX_GROUPS);
        if (holds && !cond->negate) {
            run->cond_subject = input;
            memcpy(run->cond_groups, groups, sizeof(groups));
        }
        break;
    }
    case COND_STRING_EQ:
        holds = cond->nocase ? strcasecmp(input, cond->pattern) == 0 : strcmp(input, cond->pattern) == 0;
        break;
    case COND_STRING_LT: holds = compare_lexically(input, cond->pattern) < 0; break;
    case COND_STRING_LE: holds = compare_lexically(input, cond->pattern) <= 0; break;
    case COND_STRING_GT: holds = compare_lexically(input, cond->pattern) > 0; break;
    case COND_STRING_GE: holds = compare_lexically(input, cond->pattern) >= 0; break;
    case COND_INT_EQ: holds = atoll(input) == atoll(cond->pattern); break;
    case COND_INT_NE: holds = atoll(input) != atoll(cond->pattern); break;
    case COND_INT_LT: holds = atoll(input) < atoll(cond->pattern); break;
    case COND_INT_LE: holds = atoll(input) <= atoll(cond->pattern); break;
    case COND_INT_GT: holds = atoll(input) > atoll(cond->pattern); break;
    case COND_INT_GE: holds = atoll(input) >= atoll(cond->pattern); break;
    case COND_IS_FILE: holds = regular_file(run, input, &info); break;
    case COND_IS_DIRECTORY: holds = stat(input, &info) == 0 && S_ISDIR(info.st_mode); break;
    case COND_IS_SYMLINK: holds = lstat(input, &info) == 0 && S_ISLNK(info.st_mode); break;
    case COND_HAS_SIZE: holds = regular_file(run, input, &info) && info.st_size > 0; break;
    case COND_IS_EXECUTABLE:
        holds = stat(input, &info) == 0 && (info.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
        break;
    case COND_FILE_LOOKUP: holds = lookup_exists(run, input, false); break;
    case COND_URL_LOOKUP: holds = lookup_exists(run, input, true); break;
    case COND_EXPR: holds = request_expr_holds(run->r, cond->expr, "RewriteCond"); break;
    }
    if (cond->negate)
        holds = !holds;
    rewrite_log(run, 4, "RewriteCond: input='%s' pattern='%s%s'%s => %s", input, cond->negate ? "!" : "",
                cond->pattern, cond->nocase ? " [NC]" : "", holds ? "matched" : "not-matched");
    return holds;
}

int rewrite_parse_cond_pattern(config_parse *parse, rewrite_cond *cond, const char *pattern)
{
    if (pattern[0] == '!') {
        cond->negate = true;
        pattern++;
    }
    cond->kind = COND_REGEX;
    size_t length = strlen(pattern);
    if (length >= 2 && pattern[0] == '-') {
        if (length == 2) {
            switch (pattern[1]) {
            case 'f': cond->kind = COND_IS_FILE; break;
            case 'd': cond->kind = COND_IS_DIRECTORY; break;
            case 's': cond->kind = COND_HAS_SIZE; break;
            case 'x': cond->kind = COND_IS_EXECUTABLE; break;
            case 'l': case 'L': case 'h': cond->kind = COND_IS_SYMLINK; break;
            case 'F': cond->kind = COND_FILE_LOOKUP; break;
            case 'U': cond->kind = COND_URL_LOOKUP; break;
            default: break;
            }
        } else if (length > 3) {
            static const struct {
                const char *op;
                rewrite_cond_kind kind;
            } integers[] = { { "-eq", COND_INT_EQ }, { "-ne", COND_INT_NE }, { "-lt", COND_INT_LT },
                             { "-le", COND_INT_LE }, { "-gt", COND_INT_GT }, { "-ge", COND_INT_GE } };
            for (size_t i = 0; i < COUNT_OF(integers); i++) {
                if (strncmp(pattern, integers[i].op, 3) == 0) {
                    cond->kind = integers[i].kind;
                    pattern += 3;
                    break;
                }
            }
        }
    } else if (length >= 2 && (pattern[0] == '<' || pattern[0] == '>' || pattern[0] == '=')) {
        char op = pattern[0];
        pattern++;
        bool or_equal = pattern[0] == '=';
        if (or_equal)
            pattern++;
        if (op == '=') {
            cond->kind = COND_STRING_EQ;
            if (strcmp(pattern, "\"\"") == 0)
                pattern = "";  /* ="" tests for the empty string */
        } else if (op == '<') {
            cond->kind = or_equal ? COND_STRING_LE : COND_STRING_LT;
        } else {
            cond->kind = or_equal ? COND_STRING_GE : COND_STRING_GT;
        }
    }
    cond->pattern = pool_strdup(config_pool(parse), pattern);
    if (cond->kind == COND_REGEX) {
        unsigned flags = cond->nocase ? REGEX_CASELESS : 0;
        cond->regex = config_compile_regex(parse, pattern, flags);
        if (!cond->regex)
            return WEFT_ERROR;
    }
    return WEFT_OK;
}
