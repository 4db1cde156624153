/*
 * expr.c — Apache's expression language, the common subset (see expr.h):
 * a recursive-descent parser into a tree in the configuration pool
 * (expr_internal.h); the evaluator is expr_eval.c.
 *
 * Grammar (ap_expr's, less what weft refuses):
 *   expr    := and ( ("||" | "or") and )*
 *   and     := unary ( ("&&" | "and") unary )*
 *   unary   := ("!" | "not") unary | "(" expr ")" | "true" | "false" | -X word | word binop
 *   binop   := (== != < <= > >=) word | (-eq -ne -lt -le -gt -ge, also without -) word
 *            | (=~ !~) regex | in "{" word ("," word)* "}"
 *            | (-ipmatch -strmatch -strcmatch -fnmatch) word
 *   word    := atom ("." atom)*
 *   atom    := digits | 'string' | "string" | %{VAR} | %{func:text} | $0..$9
 *            | func "(" word ")"
 *   regex   := /pattern/[i] | m<sep>pattern<sep>[i]
 * "!" binds tighter than "&&", which binds tighter than "||" (ap_expr's
 * bison precedences).
 */
#include "expr_internal.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buffer.h"

static const char *const function_names[] = { "tolower", "toupper", "escape", "unescape" };

static const char *const time_names[] = { "TIME_YEAR", "TIME_MON", "TIME_DAY", "TIME_HOUR",
                                          "TIME_MIN", "TIME_SEC", "TIME_WDAY", "TIME" };

/* Apache's request variables that weft can answer (request_vars.c). */
static const char *const variable_names[] = {
    "HTTP_ACCEPT", "HTTP_COOKIE", "HTTP_FORWARDED", "HTTP_HOST", "HTTP_PROXY_CONNECTION",
    "HTTP_REFERER", "HTTP_USER_AGENT", "REQUEST_METHOD", "REQUEST_SCHEME", "REQUEST_URI",
    "DOCUMENT_URI", "REQUEST_FILENAME", "SCRIPT_FILENAME", "QUERY_STRING", "THE_REQUEST",
    "REMOTE_ADDR", "REMOTE_PORT", "REMOTE_USER", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
    "SERVER_SOFTWARE", "DOCUMENT_ROOT", "HTTPS", "IPV6", "IS_SUBREQ", "CONN_REMOTE_ADDR",
    "REMOTE_HOST", "CONTENT_TYPE", "HANDLER", "REQUEST_STATUS", "AUTH_TYPE", "SERVER_ADMIN",
};
/* ---- parsing ------------------------------------------------------------ */

typedef struct {
    pool *pool;
    const char *text;
    const char *at;
    char *error;
    size_t error_size;
    bool failed;
    int depth;  /* recursion of the parser: '(', '!', functions, nested %{...} */
} parser;

/* Nesting and chains of &&, || and ! are bounded: the parser and the
 * evaluator recurse that deep, the evaluator on a worker thread's stack. */
#define EXPR_MAX_DEPTH 100

static bool fail(parser *ps, const char *at, const char *format, ...)
{
    if (ps->failed)
        return false;
    ps->failed = true;
    char reason[256];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof(reason), format, args);
    va_end(args);
    /* A long expression is cut short so that the reason still fits. */
    int shown = strlen(ps->text) > 160 ? 150 : (int)strlen(ps->text);
    snprintf(ps->error, ps->error_size, "syntax error at offset %d in expression '%.*s%s': %s",
             (int)(at - ps->text), shown, ps->text, ps->text[shown] ? "..." : "", reason);
    return false;
}

static void skip_space(parser *ps)
{
    while (*ps->at == ' ' || *ps->at == '\t' || *ps->at == '\r' || *ps->at == '\n')
        ps->at++;
}

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Does the text at ps->at start with the keyword (not followed by a name character)? */
static bool at_keyword(parser *ps, const char *keyword)
{
    size_t length = strlen(keyword);
    return strncmp(ps->at, keyword, length) == 0 && !is_name_char(ps->at[length]);
}

static void *node_new(parser *ps, node_kind kind)
{
    expr_node *node = pool_calloc(ps->pool, sizeof(*node));
    node->kind = kind;
    return node;
}

static expr_part *part_new(parser *ps, part_kind kind, const char *text, size_t length)
{
    expr_part *part = pool_calloc(ps->pool, sizeof(*part));
    part->kind = kind;
    part->text = text ? pool_strndup(ps->pool, text, length) : NULL;
    return part;
}

static int find_name(const char *const *names, size_t count, const char *name, size_t length)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(names[i]) == length && strncasecmp(names[i], name, length) == 0)
            return (int)i;
    return -1;
}

/* mod_ssl's variables (SSL_PROTOCOL, SSL_CLIENT_S_DN_CN, ...), answered by
 * a module (module.h `variable`, modules/ssl_vars.c).  As in Apache, any
 * name of the family parses; one mod_ssl does not define is unset. */
static bool is_ssl_variable(const char *name, size_t length)
{
    if (length <= 4 || strncmp(name, "SSL_", 4) != 0)
        return false;
    for (size_t i = 4; i < length; i++)
        if (!is_name_char(name[i]))
            return false;
    return true;
}

/* %{SSL:NAME}: NAME is an SSL_ variable or HTTPS. */
static expr_part *ssl_variable_part(parser *ps, const char *start, const char *name, size_t length)
{
    if (is_ssl_variable(name, length) || (length == 5 && strncmp(name, "HTTPS", 5) == 0))
        return part_new(ps, PART_VARIABLE, name, length);
    return fail(ps, start, "'%%{SSL:%.*s}' is not a mod_ssl variable weft knows (SSL_..., HTTPS)", (int)length,
                name), NULL;
}

/* %{NAME} or %{func:argument}; ps->at is at the '%'. */
static expr_part *parse_string_until(parser *ps, char quote);

static expr_part *parse_variable(parser *ps)
{
    const char *start = ps->at;
    const char *name = ps->at + 2;
    size_t name_length = strcspn(name, ":}");
    if (!name[name_length])
        return fail(ps, start, "'%%{' without a closing '}'"), NULL;
    const char *end = name + name_length;
    if (*end == ':') {
        size_t length = name_length;
        const char *argument = end + 1;
        int function = find_name(function_names, COUNT_OF(function_names), name, length);
        if (function >= 0) {
            /* %{tolower:text}: the text may hold variables of its own */
            expr_part *part = part_new(ps, PART_FUNCTION, NULL, 0);
            part->number = function;
            ps->at = argument;
            return (part->argument = parse_string_until(ps, '}')) ? part : NULL;
        }
        end = strchr(argument, '}');
        if (!end)
            return fail(ps, start, "'%%{' without a closing '}'"), NULL;
        size_t argument_length = (size_t)(end - argument);
        ps->at = end + 1;
        if (length == 3 && strncasecmp(name, "SSL", 3) == 0) {
            /* mod_ssl's %{SSL:SSL_CIPHER}: the variable itself */
            return ssl_variable_part(ps, start, argument, argument_length);
        }
        const char *prefix = NULL;
        if ((length == 4 && strncasecmp(name, "HTTP", 4) == 0) || (length == 3 && strncasecmp(name, "REQ", 3) == 0))
            prefix = "HTTP:";
        else if ((length == 3 && strncasecmp(name, "ENV", 3) == 0) || (length == 6 && strncasecmp(name, "REQENV", 6) == 0))
            prefix = "ENV:";
        if (!prefix)
            return fail(ps, start, "'%.*s:' is not a variable function weft supports (HTTP:, REQ:, ENV:, SSL:, "
                                   "REQENV:, tolower:, toupper:, escape:, unescape:)", (int)length, name), NULL;
        if (argument_length == 0)
            return fail(ps, start, "'%%{%.*s:}' needs a name", (int)length, name), NULL;
        if (memchr(argument, '%', argument_length))
            return fail(ps, start, "the name in '%%{%.*s:...}' must be constant", (int)length, name), NULL;
        expr_part *part = part_new(ps, PART_VARIABLE, NULL, 0);
        part->text = pool_printf(ps->pool, "%s%.*s", prefix, (int)argument_length, argument);
        return part;
    }
    ps->at = end + 1;
    size_t length = name_length;
    int time = find_name(time_names, COUNT_OF(time_names), name, length);
    if (time >= 0) {
        expr_part *part = part_new(ps, PART_TIME, NULL, 0);
        part->number = time;
        return part;
    }
    if (is_ssl_variable(name, length))
        return part_new(ps, PART_VARIABLE, name, length);
    int variable = find_name(variable_names, COUNT_OF(variable_names), name, length);
    if (variable < 0)
        return fail(ps, start, "variable '%.*s' is unknown or not supported by weft", (int)length, name), NULL;
    return part_new(ps, PART_VARIABLE, variable_names[variable], strlen(variable_names[variable]));
}

static expr_part *backref_part(parser *ps)
{
    expr_part *part = part_new(ps, PART_BACKREF, NULL, 0);
    part->number = ps->at[1] - '0';
    ps->at += 2;
    return part;
}

/* 'text' or "text" with %{...} and $N inside; a backslash takes the next
 * character literally.  quote '\0': the whole rest of the text (a string
 * expression). */
static expr_part *parse_string(parser *ps)
{
    char quote = *ps->at++;
    return parse_string_until(ps, quote);
}

static expr_part *parse_string_until_bounded(parser *ps, char quote);

static bool enter(parser *ps)
{
    if (++ps->depth <= EXPR_MAX_DEPTH)
        return true;
    return fail(ps, ps->at, "nested more than %d levels deep", EXPR_MAX_DEPTH);
}

static expr_part *parse_string_until(parser *ps, char quote)
{
    expr_part *part = enter(ps) ? parse_string_until_bounded(ps, quote) : NULL;
    ps->depth--;
    return part;
}

static expr_part *parse_string_until_bounded(parser *ps, char quote)
{
    const char *start = quote ? ps->at - 1 : ps->at;
    expr_part *head = NULL, **tail = &head;
    buffer literal = { 0 };
    while (*ps->at != quote) {
        if (!*ps->at) {  /* quote is not '\0' here */
            buffer_free(&literal);
            return fail(ps, start, "string without its closing %c", quote), NULL;
        }
        expr_part *part = NULL;
        if (ps->at[0] == '%' && ps->at[1] == '{') {
            if (!(part = parse_variable(ps))) {
                buffer_free(&literal);
                return NULL;
            }
        } else if (ps->at[0] == '$' && isdigit((unsigned char)ps->at[1])) {
            part = backref_part(ps);
        } else {
            if (ps->at[0] == '\\' && ps->at[1])
                ps->at++;
            buffer_append(&literal, ps->at++, 1);
            continue;
        }
        if (literal.length) {
            *tail = part_new(ps, PART_TEXT, literal.data, literal.length);
            tail = &(*tail)->next;
            literal.length = 0;
        }
        *tail = part;
        tail = &part->next;
    }
    if (quote)
        ps->at++;
    if (literal.length || !head)
        *tail = part_new(ps, PART_TEXT, literal.data ? literal.data : "", literal.length);
    buffer_free(&literal);
    return head;
}

static expr_part *parse_word(parser *ps);

static expr_part *parse_atom_bounded(parser *ps);

static expr_part *parse_atom(parser *ps)
{
    expr_part *part = enter(ps) ? parse_atom_bounded(ps) : NULL;
    ps->depth--;
    return part;
}

static expr_part *parse_atom_bounded(parser *ps)
{
    skip_space(ps);
    const char *start = ps->at;
    char c = *ps->at;
    if (c == '\'' || c == '"')
        return parse_string(ps);
    if (c == '%' && ps->at[1] == '{')
        return parse_variable(ps);
    if (c == '$' && isdigit((unsigned char)ps->at[1]))
        return backref_part(ps);
    if (isdigit((unsigned char)c)) {
        while (isdigit((unsigned char)*ps->at))
            ps->at++;
        return part_new(ps, PART_TEXT, start, (size_t)(ps->at - start));
    }
    if (isalpha((unsigned char)c)) {
        while (is_name_char(*ps->at))
            ps->at++;
        size_t length = (size_t)(ps->at - start);
        skip_space(ps);
        if (*ps->at != '(')
            return fail(ps, start, "expected a string, a number, a variable or a function, not '%.*s'",
                        (int)length, start), NULL;
        expr_part *part;
        int function = find_name(function_names, COUNT_OF(function_names), start, length);
        if (function >= 0) {
            part = part_new(ps, PART_FUNCTION, NULL, 0);
            part->number = function;
        } else if ((length == 3 && strncasecmp(start, "req", 3) == 0) || (length == 4 && strncasecmp(start, "http", 4) == 0)) {
            part = part_new(ps, PART_VARIABLE, "HTTP:", 5);
        } else if (length == 6 && strncasecmp(start, "reqenv", 6) == 0) {
            part = part_new(ps, PART_VARIABLE, "ENV:", 4);
        } else {
            return fail(ps, start, "function '%.*s' is unknown or not supported by weft "
                                   "(tolower, toupper, escape, unescape, req, http, reqenv)",
                        (int)length, start), NULL;
        }
        ps->at++;
        expr_part *argument = parse_word(ps);
        if (!argument)
            return NULL;
        skip_space(ps);
        if (*ps->at != ')')
            return fail(ps, ps->at, "expected ')' after the argument of '%.*s'", (int)length, start), NULL;
        ps->at++;
        if (part->kind == PART_VARIABLE) {
            /* req('X') names a header: the name must be known now */
            for (expr_part *a = argument; a; a = a->next)
                if (a->kind != PART_TEXT)
                    return fail(ps, start, "the argument of '%.*s' must be a constant string", (int)length, start), NULL;
            buffer name = { 0 };
            buffer_append_string(&name, part->text);
            for (expr_part *a = argument; a; a = a->next)
                buffer_append_string(&name, a->text);
            part->text = pool_strdup(ps->pool, name.data);
            buffer_free(&name);
        } else {
            part->argument = argument;
        }
        return part;
    }
    if (!c)
        return fail(ps, start, "unexpected end of the expression, expected a string, a number or a variable"), NULL;
    return fail(ps, start, "expected a string, a number or a variable, not '%c'", c), NULL;
}

static expr_part *parse_word(parser *ps)
{
    expr_part *head = parse_atom(ps);
    if (!head)
        return NULL;
    expr_part **tail = &head;
    for (;;) {
        while (*tail)
            tail = &(*tail)->next;
        skip_space(ps);
        if (*ps->at != '.')
            return head;
        ps->at++;
        if (!(*tail = parse_atom(ps)))
            return NULL;
    }
}

static bool word_is_constant(const expr_part *word)
{
    for (; word; word = word->next)
        if (word->kind != PART_TEXT)
            return false;
    return true;
}

static char *constant_text(parser *ps, const expr_part *word)
{
    buffer text = { 0 };
    buffer_append(&text, "", 0);
    for (; word; word = word->next)
        buffer_append_string(&text, word->text);
    char *copy = pool_strdup(ps->pool, text.data ? text.data : "");
    buffer_free(&text);
    return copy;
}

/* /pattern/[i] or m<sep>pattern<sep>[i] */
static bool parse_regex(parser *ps, expr_node *node)
{
    skip_space(ps);
    const char *start = ps->at;
    char separator;
    if (*ps->at == '/') {
        separator = '/';
        ps->at++;
    } else if (*ps->at == 'm' && ps->at[1] && !isalnum((unsigned char)ps->at[1]) && !isspace((unsigned char)ps->at[1])) {
        separator = ps->at[1];
        ps->at += 2;
    } else {
        return fail(ps, start, "expected a regular expression (/regex/ or m#regex#)");
    }
    buffer pattern = { 0 };
    buffer_append(&pattern, "", 0);
    while (*ps->at != separator) {
        if (!*ps->at) {
            buffer_free(&pattern);
            return fail(ps, start, "regular expression without its closing %c", separator);
        }
        if (ps->at[0] == '\\' && ps->at[1] == separator)
            ps->at++;  /* an escaped separator is the character itself */
        else if (ps->at[0] == '\\' && ps->at[1])
            buffer_append(&pattern, ps->at++, 1);
        buffer_append(&pattern, ps->at++, 1);
    }
    ps->at++;
    unsigned flags = 0;
    while (isalpha((unsigned char)*ps->at)) {
        if (*ps->at != 'i') {
            buffer_free(&pattern);
            return fail(ps, ps->at, "unknown regular expression flag '%c' (only i)", *ps->at);
        }
        flags |= REGEX_CASELESS;
        ps->at++;
    }
    char reason[200];
    node->regex = regex_compile(ps->pool, pattern.data, flags, reason, sizeof(reason));
    buffer_free(&pattern);
    if (!node->regex)
        return fail(ps, start, "regular expression: %s", reason);
    return true;
}

/* a.b.c.d[/nn | /m.m.m.m], a partial a.b (whole octets), IPv6[/nn]:
 * what Apache's -ipmatch (apr_ipsubnet_create) takes. */static bool parse_ipmatch(parser *ps, expr_node *node, const expr_part *word, const char *at)
{
    if (!word_is_constant(word))
        return fail(ps, at, "-ipmatch needs a constant network, like '10.0.0.0/8'");
    const char *text = constant_text(ps, word);
    if (!ip_network_parse(text, &node->network))
        return fail(ps, at, "'%s' is not an IP address or network (a.b.c.d, a.b, a.b.c.d/nn, "
                            "a.b.c.d/m.m.m.m, IPv6[/nn])", text);
    return true;
}

static expr_node *parse_or(parser *ps);

static const struct {
    const char *name;
    node_kind kind;
    int op;
} binary_operators[] = {
    { "==", NODE_STRING_COMPARE, COMPARE_EQ }, { "!=", NODE_STRING_COMPARE, COMPARE_NE },
    { "<=", NODE_STRING_COMPARE, COMPARE_LE }, { ">=", NODE_STRING_COMPARE, COMPARE_GE },
    { "<", NODE_STRING_COMPARE, COMPARE_LT },  { ">", NODE_STRING_COMPARE, COMPARE_GT },
    { "=~", NODE_REGEX, 0 },                   { "!~", NODE_REGEX, 1 },
    { "-eq", NODE_INTEGER_COMPARE, COMPARE_EQ }, { "-ne", NODE_INTEGER_COMPARE, COMPARE_NE },
    { "-lt", NODE_INTEGER_COMPARE, COMPARE_LT }, { "-le", NODE_INTEGER_COMPARE, COMPARE_LE },
    { "-gt", NODE_INTEGER_COMPARE, COMPARE_GT }, { "-ge", NODE_INTEGER_COMPARE, COMPARE_GE },
    { "eq", NODE_INTEGER_COMPARE, COMPARE_EQ },  { "ne", NODE_INTEGER_COMPARE, COMPARE_NE },
    { "lt", NODE_INTEGER_COMPARE, COMPARE_LT },  { "le", NODE_INTEGER_COMPARE, COMPARE_LE },
    { "gt", NODE_INTEGER_COMPARE, COMPARE_GT },  { "ge", NODE_INTEGER_COMPARE, COMPARE_GE },
    { "in", NODE_IN, 0 },
    { "-ipmatch", NODE_IPMATCH, 0 },
    { "-strmatch", NODE_FNMATCH, 0 },
    { "-strcmatch", NODE_FNMATCH, FNM_CASEFOLD },
    { "-fnmatch", NODE_FNMATCH, FNM_PATHNAME },
};

static bool parse_list(parser *ps, expr_node *node)
{
    skip_space(ps);
    if (*ps->at != '{')
        return fail(ps, ps->at, "'in' needs a list: { 'a', 'b' } (list functions are not supported by weft)");
    ps->at++;
    int capacity = 4;
    node->list = pool_alloc(ps->pool, sizeof(*node->list) * (size_t)capacity);
    for (;;) {
        expr_part *word = parse_word(ps);
        if (!word)
            return false;
        if (node->list_count == capacity) {
            expr_part **bigger = pool_alloc(ps->pool, sizeof(*bigger) * (size_t)capacity * 2);
            memcpy(bigger, node->list, sizeof(*bigger) * (size_t)capacity);
            node->list = bigger;
            capacity *= 2;
        }
        node->list[node->list_count++] = word;
        skip_space(ps);
        if (*ps->at == '}') {
            ps->at++;
            return true;
        }
        if (*ps->at != ',')
            return fail(ps, ps->at, "expected ',' or '}' in the list");
        ps->at++;
    }
}

static expr_node *parse_comparison(parser *ps)
{
    expr_part *left = parse_word(ps);
    if (!left)
        return NULL;
    skip_space(ps);
    const char *at = ps->at;
    size_t chosen = COUNT_OF(binary_operators);
    for (size_t i = 0; i < COUNT_OF(binary_operators) && chosen == COUNT_OF(binary_operators); i++) {
        const char *name = binary_operators[i].name;
        bool word_like = is_name_char(name[strlen(name) - 1]);
        if (word_like ? at_keyword(ps, name) : strncmp(at, name, strlen(name)) == 0)
            chosen = i;
    }
    if (chosen == COUNT_OF(binary_operators)) {
        if (*at == '-' && isalpha((unsigned char)at[1])) {
            int length = 1;
            while (is_name_char(at[length]))
                length++;
            return fail(ps, at, "binary operator '%.*s' is unknown or not supported by weft", length, at), NULL;
        }
        if (!*at)
            return fail(ps, at, "a string alone is not a condition: compare it with an operator "
                                "(==, =~, in, -ipmatch, ...)"), NULL;
        return fail(ps, at, "expected an operator (==, !=, <, =~, !~, -eq, in, -ipmatch, ...)"), NULL;
    }
    ps->at += strlen(binary_operators[chosen].name);
    expr_node *node = node_new(ps, binary_operators[chosen].kind);
    node->op = binary_operators[chosen].op;
    node->word = left;
    switch (node->kind) {
    case NODE_REGEX:
        node->negated = node->op == 1;
        return parse_regex(ps, node) ? node : NULL;
    case NODE_IN:
        return parse_list(ps, node) ? node : NULL;
    default:
        break;
    }
    skip_space(ps);
    const char *right_at = ps->at;
    if (!(node->other = parse_word(ps)))
        return NULL;
    if (node->kind == NODE_IPMATCH && !parse_ipmatch(ps, node, node->other, right_at))
        return NULL;
    return node;
}

static expr_node *parse_unary_bounded(parser *ps);

static expr_node *parse_unary(parser *ps)
{
    expr_node *node = enter(ps) ? parse_unary_bounded(ps) : NULL;
    ps->depth--;
    return node;
}

/* A NOT, AND or OR node over its operands, within EXPR_MAX_DEPTH. */
static expr_node *operator_node(parser *ps, node_kind kind, expr_node *left, expr_node *right)
{
    int depth = left->depth;
    if (right && right->depth > depth)
        depth = right->depth;
    if (depth + 1 > EXPR_MAX_DEPTH)
        return fail(ps, ps->at, "more than %d operators (&&, ||, !) nested or chained", EXPR_MAX_DEPTH), NULL;
    expr_node *node = node_new(ps, kind);
    node->left = left;
    node->right = right;
    node->depth = depth + 1;
    return node;
}

static expr_node *parse_unary_bounded(parser *ps)
{
    skip_space(ps);
    const char *at = ps->at;
    if ((*at == '!' && at[1] != '=' && at[1] != '~') || at_keyword(ps, "not")) {
        ps->at += *at == '!' ? 1 : 3;
        expr_node *operand = parse_unary(ps);
        return operand ? operator_node(ps, NODE_NOT, operand, NULL) : NULL;
    }
    if (*at == '(') {
        ps->at++;
        expr_node *inner = parse_or(ps);
        if (!inner)
            return NULL;
        skip_space(ps);
        if (*ps->at != ')')
            return fail(ps, ps->at, "expected ')' to close the '(' at offset %d", (int)(at - ps->text)), NULL;
        ps->at++;
        return inner;
    }
    if (at_keyword(ps, "true") || at_keyword(ps, "false")) {
        bool value = *at == 't';
        ps->at += value ? 4 : 5;
        return node_new(ps, value ? NODE_TRUE : NODE_FALSE);
    }
    if (*at == '-' && isalpha((unsigned char)at[1])) {
        int length = 1;
        while (is_name_char(at[length]))
            length++;
        if (length != 2 || !strchr("defsLhnzTR", at[1]))
            return fail(ps, at, "unary operator '%.*s' is unknown or not supported by weft "
                                "(-d, -e, -f, -s, -L, -h, -n, -z, -T, -R)", length, at), NULL;
        ps->at += 2;
        skip_space(ps);
        const char *word_at = ps->at;
        expr_part *word = parse_word(ps);
        if (!word)
            return NULL;
        if (at[1] == 'R') {
            /* -R 'net' is %{REMOTE_ADDR} -ipmatch 'net' */
            expr_node *node = node_new(ps, NODE_IPMATCH);
            node->word = part_new(ps, PART_VARIABLE, "REMOTE_ADDR", 11);
            return parse_ipmatch(ps, node, word, word_at) ? node : NULL;
        }
        expr_node *node = node_new(ps, NODE_UNARY);
        node->op = at[1];
        node->word = word;
        return node;
    }
    return parse_comparison(ps);
}

static expr_node *parse_and(parser *ps)
{
    expr_node *left = parse_unary(ps);
    while (left) {
        skip_space(ps);
        if (strncmp(ps->at, "&&", 2) != 0 && !at_keyword(ps, "and"))
            return left;
        ps->at += *ps->at == '&' ? 2 : 3;
        expr_node *right = parse_unary(ps);
        if (!right)
            return NULL;
        left = operator_node(ps, NODE_AND, left, right);
    }
    return NULL;
}

static expr_node *parse_or(parser *ps)
{
    expr_node *left = parse_and(ps);
    while (left) {
        skip_space(ps);
        if (strncmp(ps->at, "||", 2) != 0 && !at_keyword(ps, "or"))
            return left;
        ps->at += 2;
        expr_node *right = parse_and(ps);
        if (!right)
            return NULL;
        left = operator_node(ps, NODE_OR, left, right);
    }
    return NULL;
}

weft_expr *expr_parse(pool *p, const char *text, char *error, size_t error_size)
{
    parser ps = { .pool = p, .text = text, .at = text, .error = error, .error_size = error_size };
    expr_node *root = parse_or(&ps);
    if (root) {
        skip_space(&ps);
        if (*ps.at) {
            fail(&ps, ps.at, "unexpected '%s' after a complete condition (missing && or ||?)", ps.at);
            root = NULL;
        }
    } else if (!ps.failed) {
        fail(&ps, ps.at, "not a condition");
    }
    if (!root)
        return NULL;
    weft_expr *expr = pool_alloc(p, sizeof(*expr));
    expr->root = root;
    expr->text = pool_strdup(p, text);
    return expr;
}

weft_expr *expr_parse_string(pool *p, const char *text, char *error, size_t error_size)
{
    parser ps = { .pool = p, .text = text, .at = text, .error = error, .error_size = error_size };
    expr_part *string = parse_string_until(&ps, '\0');
    if (!string)
        return NULL;
    weft_expr *expr = pool_calloc(p, sizeof(*expr));
    expr->string = string;
    expr->text = pool_strdup(p, text);
    return expr;
}

const char *expr_text(const weft_expr *expr)
{
    return expr->text;
}
