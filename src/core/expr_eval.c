/*
 * expr_eval.c — evaluating a parsed expression (expr.h) against a
 * request's variables, and the -ipmatch networks.  Nothing here writes to
 * the tree: threads evaluate one expression at once.
 */
#include "expr_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "buffer.h"

/* ---- networks ----------------------------------------------------------- */

static bool network_contains_text(const ip_network *network, const char *address_text)
{
    unsigned char address[16];
    int family;
    return address_text && ip_address_parse(address_text, &family, address)
        && ip_network_contains(network, family, address);
}

/* ---- evaluation --------------------------------------------------------- */

typedef struct {
    expr_context *context;
    const char *subject;  /* of the last regex that matched, for $0..$9 */
    regex_group groups[REGEX_MAX_GROUPS];
} evaluation;

static const char *time_value(evaluation *ev, int which)
{
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    pool *p = ev->context->pool;
    switch (which) {
    case 0: return pool_printf(p, "%04d", local.tm_year + 1900);
    case 1: return pool_printf(p, "%02d", local.tm_mon + 1);
    case 2: return pool_printf(p, "%02d", local.tm_mday);
    case 3: return pool_printf(p, "%02d", local.tm_hour);
    case 4: return pool_printf(p, "%02d", local.tm_min);
    case 5: return pool_printf(p, "%02d", local.tm_sec);
    case 6: return pool_printf(p, "%d", local.tm_wday);
    default:
        return pool_printf(p, "%04d%02d%02d%02d%02d%02d", local.tm_year + 1900, local.tm_mon + 1, local.tm_mday,
                           local.tm_hour, local.tm_min, local.tm_sec);
    }
}

static const char *word_value(evaluation *ev, const expr_part *word);

/* Apache's escape is ap_escape_uri: everything but unreserved and
 * path characters becomes %xx (lower-case hex, as Apache writes it). */
static const char *escape_text(pool *p, const char *text)
{
    static const char keep[] = "$-_.+!*'(),:@&=/~";
    char *out = pool_alloc(p, strlen(text) * 3 + 1), *o = out;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (isalnum(*c) || strchr(keep, *c)) {
            *o++ = (char)*c;
        } else {
            sprintf(o, "%%%02x", *c);
            o += 3;
        }
    }
    *o = '\0';
    return out;
}

static int hex_digit(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : isxdigit((unsigned char)c) ? (tolower((unsigned char)c) - 'a' + 10) : -1;
}

static const char *unescape_text(pool *p, const char *text)
{
    char *out = pool_strdup(p, text), *o = out;
    for (const char *c = text; *c; c++) {
        int high, low;
        /* %2F stays encoded: Apache's unescape keeps encoded slashes */
        if (*c == '%' && (high = hex_digit(c[1])) >= 0 && (low = hex_digit(c[2])) >= 0
            && !(high == 2 && low == 15)) {
            *o++ = (char)(high * 16 + low);
            c += 2;
        } else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

static const char *part_value(evaluation *ev, const expr_part *part)
{
    expr_context *context = ev->context;
    switch (part->kind) {
    case PART_TEXT:
        return part->text;
    case PART_VARIABLE: {
        const char *value = context->variable ? context->variable(context->request, part->text, context->pool) : NULL;
        return value ? value : "";
    }
    case PART_TIME:
        return time_value(ev, part->number);
    case PART_BACKREF: {
        const regex_group *group = &ev->groups[part->number];
        if (!ev->subject || group->start < 0)
            return "";
        return pool_strndup(context->pool, ev->subject + group->start, (size_t)(group->end - group->start));
    }
    case PART_FUNCTION: {
        const char *argument = word_value(ev, part->argument);
        switch (part->number) {
        case FUNCTION_TOLOWER:
        case FUNCTION_TOUPPER: {
            char *copy = pool_strdup(context->pool, argument);
            for (char *c = copy; *c; c++)
                *c = (char)(part->number == FUNCTION_TOLOWER ? tolower((unsigned char)*c) : toupper((unsigned char)*c));
            return copy;
        }
        case FUNCTION_ESCAPE:
            return escape_text(context->pool, argument);
        default:
            return unescape_text(context->pool, argument);
        }
    }
    }
    return "";
}

static const char *word_value(evaluation *ev, const expr_part *word)
{
    if (!word->next)
        return part_value(ev, word);
    buffer text = { 0 };
    buffer_append(&text, "", 0);
    for (; word; word = word->next)
        buffer_append_string(&text, part_value(ev, word));
    char *value = pool_strdup(ev->context->pool, text.data);
    buffer_free(&text);
    return value;
}

/* As Apache (apr_atoi64): leading digits count, anything else is 0. */
static long long integer_value(const char *text)
{
    return strtoll(text, NULL, 10);
}

static bool compare(int op, int order)
{
    switch (op) {
    case COMPARE_EQ: return order == 0;
    case COMPARE_NE: return order != 0;
    case COMPARE_LT: return order < 0;
    case COMPARE_LE: return order <= 0;
    case COMPARE_GT: return order > 0;
    default: return order >= 0;
    }
}

static bool file_test(int op, const char *path)
{
    struct stat info;
    if (!*path)
        return false;
    if (op == 'L' || op == 'h')
        return lstat(path, &info) == 0 && S_ISLNK(info.st_mode);
    if (stat(path, &info) != 0)
        return false;
    switch (op) {
    case 'd': return S_ISDIR(info.st_mode);
    case 'f': return S_ISREG(info.st_mode);
    case 's': return info.st_size > 0;
    default: return true;  /* -e */
    }
}

static bool evaluate_node(evaluation *ev, const expr_node *node)
{
    switch (node->kind) {
    case NODE_TRUE:
        return true;
    case NODE_FALSE:
        return false;
    case NODE_NOT:
        return !evaluate_node(ev, node->left);
    case NODE_AND:
        return evaluate_node(ev, node->left) && evaluate_node(ev, node->right);
    case NODE_OR:
        return evaluate_node(ev, node->left) || evaluate_node(ev, node->right);
    case NODE_STRING_COMPARE: {
        const char *left = word_value(ev, node->word);
        return compare(node->op, strcmp(left, word_value(ev, node->other)));
    }
    case NODE_INTEGER_COMPARE: {
        long long left = integer_value(word_value(ev, node->word));
        long long right = integer_value(word_value(ev, node->other));
        return compare(node->op, left < right ? -1 : left > right);
    }
    case NODE_REGEX: {
        const char *subject = word_value(ev, node->word);
        regex_group groups[REGEX_MAX_GROUPS];
        bool matched = regex_match(node->regex, subject, strlen(subject), groups, REGEX_MAX_GROUPS);
        /* as Apache: $N refer to the last match attempted; after a
         * failed one they are empty */
        ev->subject = matched ? subject : NULL;
        if (matched)
            memcpy(ev->groups, groups, sizeof(groups));
        return matched != node->negated;
    }
    case NODE_IN: {
        const char *value = word_value(ev, node->word);
        for (int i = 0; i < node->list_count; i++)
            if (strcmp(value, word_value(ev, node->list[i])) == 0)
                return true;
        return false;
    }
    case NODE_IPMATCH:
        return network_contains_text(&node->network, word_value(ev, node->word));
    case NODE_FNMATCH: {
        const char *value = word_value(ev, node->word);
        return fnmatch(word_value(ev, node->other), value, node->op) == 0;
    }
    case NODE_UNARY: {
        const char *value = word_value(ev, node->word);
        switch (node->op) {
        case 'n': return *value != '\0';
        case 'z': return *value == '\0';
        case 'T':
            return *value && strcmp(value, "0") != 0 && strcasecmp(value, "off") != 0
                && strcasecmp(value, "false") != 0 && strcasecmp(value, "no") != 0;
        default:
            return file_test(node->op, value);
        }
    }
    }
    return false;
}

bool expr_evaluate(const weft_expr *expr, expr_context *context)
{
    evaluation ev = { .context = context };
    context->error = NULL;
    return expr->root ? evaluate_node(&ev, expr->root) : false;
}

const char *expr_evaluate_string(const weft_expr *expr, expr_context *context)
{
    evaluation ev = { .context = context };
    context->error = NULL;
    return expr->string ? word_value(&ev, expr->string) : "";
}
