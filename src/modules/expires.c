/*
 * expires.c — ExpiresActive, ExpiresByType, ExpiresDefault (see expires.h).
 */
#include "expires.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/module.h"
#include "../http/response.h"

/* ExpiresActive, ExpiresByType, ExpiresDefault */
typedef struct {
    bool expires_active;
    expires_rule *expires_by_type;
    expires_rule *expires_default;
} expires_dir_config;

extern const module expires_module;

static const expires_dir_config *expires_settings(const dir_config *dir)
{
    return module_dir_config(dir, &expires_module);
}

/* Long enough for anything sensible, short enough that base + seconds
 * cannot overflow a time_t. */
#define EXPIRES_MAX_SECONDS ((int64_t)1 << 40)

static int64_t unit_seconds(const char *word)
{
    static const struct {
        const char *name;
        int64_t seconds;
    } units[] = {
        { "year", 365 * 86400 }, { "month", 30 * 86400 }, { "week", 7 * 86400 }, { "day", 86400 },
        { "hour", 3600 },        { "minute", 60 },        { "second", 1 },
    };
    size_t length = strlen(word);
    for (size_t i = 0; i < COUNT_OF(units); i++) {
        size_t unit_length = strlen(units[i].name);
        if (strncasecmp(word, units[i].name, unit_length) == 0 &&
            (length == unit_length || (length == unit_length + 1 && tolower((unsigned char)word[length - 1]) == 's')))
            return units[i].seconds;
    }
    return -1;
}

static bool all_digits(const char *text)
{
    if (!*text)
        return false;
    for (const char *c = text; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return true;
}

/* Decimal digits into *value, false if more than EXPIRES_MAX_SECONDS. */
static bool read_count(const char *text, int64_t *value)
{
    int64_t number = 0;
    for (const char *c = text; *c; c++) {
        number = number * 10 + (*c - '0');
        if (number > EXPIRES_MAX_SECONDS)
            return false;
    }
    *value = number;
    return true;
}

int expires_parse_code(const char *code, bool *from_modification, int64_t *seconds, const char **problem)
{
    *seconds = 0;
    /* The short form: A3600, M86400. */
    if ((code[0] == 'A' || code[0] == 'M') && all_digits(code + 1)) {
        *from_modification = code[0] == 'M';
        if (!read_count(code + 1, seconds)) {
            *problem = "the time is too long";
            return WEFT_ERROR;
        }
        return WEFT_OK;
    }
    char words[32][32];
    int count = 0;
    for (const char *at = code; *at;) {
        while (*at == ' ' || *at == '\t')
            at++;
        if (!*at)
            break;
        size_t length = strcspn(at, " \t");
        if (count == 32 || length >= sizeof(words[0])) {
            *problem = "too long";
            return WEFT_ERROR;
        }
        memcpy(words[count], at, length);
        words[count++][length] = '\0';
        at += length;
    }
    if (count == 0) {
        *problem = "empty";
        return WEFT_ERROR;
    }
    if (strcasecmp(words[0], "access") == 0 || strcasecmp(words[0], "now") == 0) {
        *from_modification = false;
    } else if (strcasecmp(words[0], "modification") == 0) {
        *from_modification = true;
    } else {
        *problem = "the base must be access, now or modification";
        return WEFT_ERROR;
    }
    int at = 1;
    if (at < count && strcasecmp(words[at], "plus") == 0)
        at++;
    int64_t total = 0;
    for (; at < count; at += 2) {
        int64_t number;
        if (!all_digits(words[at]) || !read_count(words[at], &number)) {
            *problem = "expected a number of units";
            return WEFT_ERROR;
        }
        if (at + 1 >= count) {
            *problem = "a number is missing its unit";
            return WEFT_ERROR;
        }
        int64_t unit = unit_seconds(words[at + 1]);
        if (unit < 0) {
            *problem = "the unit must be years, months, weeks, days, hours, minutes or seconds";
            return WEFT_ERROR;
        }
        if (number > EXPIRES_MAX_SECONDS / unit || total + number * unit > EXPIRES_MAX_SECONDS) {
            *problem = "the time is too long";
            return WEFT_ERROR;
        }
        total += number * unit;
    }
    *seconds = total;
    return WEFT_OK;
}

/* ---- applying ----------------------------------------------------------- */

static const expires_rule *find_rule(const dir_config *dir, const char *content_type)
{
    if (content_type) {
        size_t length = strcspn(content_type, "; \t");
        const char *slash = memchr(content_type, '/', length);
        for (const expires_rule *rule = expires_settings(dir)->expires_by_type; rule; rule = rule->next)
            if (strlen(rule->type) == length && strncasecmp(rule->type, content_type, length) == 0)
                return rule;
        if (slash) {
            size_t major = (size_t)(slash - content_type) + 1;
            for (const expires_rule *rule = expires_settings(dir)->expires_by_type; rule; rule = rule->next)
                if (strlen(rule->type) == major + 1 && rule->type[major] == '*' &&
                    strncasecmp(rule->type, content_type, major) == 0)
                    return rule;
        }
    }
    return expires_settings(dir)->expires_default;
}

void expires_apply(request *r)
{
    const dir_config *dir = r->dir;
    if (!dir || !expires_settings(dir)->expires_active || r->status >= 400 || r->status < 200)
        return;
    for (int i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, "Expires") == 0)
            return;
    const expires_rule *rule = find_rule(dir, r->content_type);
    if (!rule)
        return;
    if (rule->from_modification && r->last_modified <= 0)
        return;
    time_t now = r->start_seconds;
    time_t expires = (rule->from_modification ? r->last_modified : now) + (time_t)rule->seconds;
    if (expires < now)
        expires = now;

    char max_age[40];
    snprintf(max_age, sizeof(max_age), "max-age=%lld", (long long)(expires - now));
    bool merged = false;
    for (int i = 0; i < r->header_count; i++) {
        if (strcasecmp(r->headers[i].name, "Cache-Control") == 0) {
            r->headers[i].value = pool_printf(r->pool, "%s, %s", r->headers[i].value, max_age);
            merged = true;
            break;
        }
    }
    if (!merged)
        response_add_header(r, "Cache-Control", max_age);
    char *date = pool_alloc(r->pool, 32);
    http_format_date(date, expires);
    response_add_header_constant(r, "Expires", date);
}

/* ---- configuration ------------------------------------------------------ */

static expires_rule *parse_rule(config_parse *parse, const char *directive, const char *type, const char *code)
{
    bool from_modification;
    int64_t seconds;
    const char *problem = NULL;
    if (expires_parse_code(code, &from_modification, &seconds, &problem) != WEFT_OK) {
        config_error(parse, "%s: bad expiry code '%s': %s", directive, code, problem);
        return NULL;
    }
    expires_rule *rule = pool_calloc(config_pool(parse), sizeof(*rule));
    rule->type = type ? pool_strdup(config_pool(parse), type) : NULL;
    rule->from_modification = from_modification;
    rule->seconds = seconds;
    return rule;
}

static int set_expires_by_type(config_parse *parse, const config_directive *d, void *target, int argc,
                               char **argv)
{
    const char *type = argv[0];
    const char *slash = strchr(type, '/');
    if (!slash || slash == type || !slash[1] || strchr(type, ';') || strchr(type, ' '))
        return config_error(parse, "ExpiresByType: '%s' is not a media type (type/subtype or type/*)", type);
    if (strchr(slash + 1, '*') && strcmp(slash + 1, "*") != 0)
        return config_error(parse, "ExpiresByType: '%s': only a whole subtype can be '*'", type);
    expires_rule *rule = parse_rule(parse, d->name, type, argv[1]);
    if (!rule)
        return WEFT_ERROR;
    /* Newest first, so that a later line for the same type wins. */
    expires_rule **list = target;
    rule->next = *list;
    *list = rule;
    return WEFT_OK;
}

/* The section's rules in front of the enclosing ones. */
static void merge_expires_by_type(void *merged, const void *child, pool *p)
{
    expires_rule **merged_list = merged;
    expires_rule *const *child_list = child;
    if (!*child_list)
        return;
    expires_rule *head = NULL;
    expires_rule **tail = &head;
    for (const expires_rule *rule = *child_list; rule; rule = rule->next) {
        expires_rule *copy = pool_alloc(p, sizeof(*copy));
        *copy = *rule;
        *tail = copy;
        tail = &copy->next;
    }
    *tail = *merged_list;
    *merged_list = head;
}

static int set_expires_default(config_parse *parse, const config_directive *d, void *target, int argc,
                               char **argv)
{
    expires_rule *rule = parse_rule(parse, d->name, NULL, argv[0]);
    if (!rule)
        return WEFT_ERROR;
    *(expires_rule **)target = rule;
    return WEFT_OK;
}

#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(expires_dir_config, field), \
                         .size = sizeof(((expires_dir_config *)0)->field)

static const config_directive expires_directives[] = {
    { .name = "ExpiresActive", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(expires_active), .min_args = 1,
      .max_args = 1, .set = config_set_flag, .default_value = "Off", .syntax = "On|Off",
      .help = "whether Expires and Cache-Control: max-age are added", .overrides = OVERRIDE_INDEXES },
    { .name = "ExpiresByType", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(expires_by_type), .min_args = 2,
      .max_args = 2, .set = set_expires_by_type, .merge = merge_expires_by_type,
      .syntax = "media-type \"<base> [plus] <number> <unit> ...\"",
      .help = "the expiry time of responses of one media type", .overrides = OVERRIDE_INDEXES },
    { .name = "ExpiresDefault", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(expires_default), .min_args = 1,
      .max_args = 1, .set = set_expires_default, .syntax = "\"<base> [plus] <number> <unit> ...\"",
      .help = "the expiry time of responses no ExpiresByType covers", .overrides = OVERRIDE_INDEXES },
    { .name = NULL },
};
#undef DIR_FIELD

const module expires_module = {
    .name = "expires",
    .directives = expires_directives,
    .dir_config_size = sizeof(expires_dir_config),
    .response_head = expires_apply,
};
