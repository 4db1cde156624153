/*
 * expr.c — Apache's expression language, the common subset (see expr.h):
 * a recursive-descent parser into a tree in the configuration pool, and an
 * evaluator over that tree.
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
#include "expr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "buffer.h"
#include "regex.h"

/* ---- the tree ----------------------------------------------------------- */

typedef enum {
    PART_TEXT,      /* text */
    PART_VARIABLE,  /* text: canonical name for the lookup callback */
    PART_TIME,      /* number: which TIME_* */
    PART_BACKREF,   /* number: $0..$9 */
    PART_FUNCTION,  /* number: which function, argument */
} part_kind;

typedef struct expr_part {
    part_kind kind;
    const char *text;
    int number;
    struct expr_part *argument;
    struct expr_part *next;
} expr_part;

typedef enum {
    NODE_TRUE,
    NODE_FALSE,
    NODE_NOT,
    NODE_AND,
    NODE_OR,
    NODE_STRING_COMPARE,   /* op: COMPARE_* */
    NODE_INTEGER_COMPARE,  /* op: COMPARE_* */
    NODE_REGEX,            /* negated for !~ */
    NODE_IN,
    NODE_IPMATCH,          /* word (the address), network */
    NODE_FNMATCH,          /* op: fnmatch flags */
    NODE_UNARY,            /* op: the letter of -d, -e, -f, -s, -L, -h, -n, -z, -T */
} node_kind;

enum { COMPARE_EQ, COMPARE_NE, COMPARE_LT, COMPARE_LE, COMPARE_GT, COMPARE_GE };

typedef struct {
    int family;
    unsigned char address[16];
    int prefix;
} expr_network;

typedef struct expr_node {
    node_kind kind;
    int op;
    bool negated;
    struct expr_node *left, *right;
    expr_part *word, *other;
    expr_part **list;
    int list_count;
    weft_regex *regex;
    expr_network network;
} expr_node;

struct weft_expr {
    expr_node *root;      /* a condition */
    expr_part *string;    /* a string expression (expr_parse_string) */
    const char *text;
};

static const char *const function_names[] = { "tolower", "toupper", "escape", "unescape" };
enum { FUNCTION_TOLOWER, FUNCTION_TOUPPER, FUNCTION_ESCAPE, FUNCTION_UNESCAPE };

static const char *const time_names[] = { "TIME_YEAR", "TIME_MON", "TIME_DAY", "TIME_HOUR",
                                          "TIME_MIN", "TIME_SEC", "TIME_WDAY", "TIME" };

/* Apache's request variables that weft can answer (request_vars.c). */
static const char *const variable_names[] = {
    "HTTP_ACCEPT", "HTTP_COOKIE", "HTTP_FORWARDED", "HTTP_HOST", "HTTP_PROXY_CONNECTION",
    "HTTP_REFERER", "HTTP_USER_AGENT", "REQUEST_METHOD", "REQUEST_SCHEME", "REQUEST_URI",
    "DOCUMENT_URI", "REQUEST_FILENAME", "SCRIPT_FILENAME", "QUERY_STRING", "THE_REQUEST",
    "REMOTE_ADDR", "REMOTE_PORT", "REMOTE_USER", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
    "SERVER_SOFTWARE", "DOCUMENT_ROOT", "HTTPS", "IPV6", "IS_SUBREQ", "CONN_REMOTE_ADDR",
    "REMOTE_HOST", "CONTENT_TYPE", "HANDLER", "REQUEST_STATUS", "AUTH_TYPE",
};

/* ---- parsing ------------------------------------------------------------ */

typedef struct {
    pool *pool;
    const char *text;
    const char *at;
    char *error;
    size_t error_size;
    bool failed;
} parser;

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
    snprintf(ps->error, ps->error_size, "syntax error at offset %d in expression '%s': %s",
             (int)(at - ps->text), ps->text, reason);
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
        const char *prefix = NULL;
        if ((length == 4 && strncasecmp(name, "HTTP", 4) == 0) || (length == 3 && strncasecmp(name, "REQ", 3) == 0))
            prefix = "HTTP:";
        else if ((length == 3 && strncasecmp(name, "ENV", 3) == 0) || (length == 6 && strncasecmp(name, "REQENV", 6) == 0))
            prefix = "ENV:";
        if (!prefix)
            return fail(ps, start, "'%.*s:' is not a variable function weft supports (HTTP:, REQ:, ENV:, "
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

static expr_part *parse_string_until(parser *ps, char quote)
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

static expr_part *parse_atom(parser *ps)
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
 * what Apache's -ipmatch (apr_ipsubnet_create) takes. */
static bool parse_network(const char *text, expr_network *network)
{
    memset(network, 0, sizeof(*network));
    char copy[INET6_ADDRSTRLEN + 32];
    if (strlen(text) >= sizeof(copy))
        return false;
    strcpy(copy, text);
    char *slash = strchr(copy, '/');
    if (slash)
        *slash++ = '\0';
    int maximum;
    if (strchr(copy, ':')) {
        if (inet_pton(AF_INET6, copy, network->address) != 1)
            return false;
        network->family = AF_INET6;
        maximum = 128;
    } else if (inet_pton(AF_INET, copy, network->address) == 1) {
        network->family = AF_INET;
        maximum = 32;
    } else {
        /* partial: "10.2" */
        int octets = 0;
        for (char *c = copy; *c; octets++) {
            char *end;
            if (octets == 4 || !isdigit((unsigned char)*c))
                return false;
            long value = strtol(c, &end, 10);
            if (value > 255 || end - c > 3 || (*end && *end != '.') || (*end == '.' && !end[1]))
                return false;
            network->address[octets] = (unsigned char)value;
            c = *end ? end + 1 : end;
        }
        if (octets == 0 || slash)
            return false;
        network->family = AF_INET;
        network->prefix = octets * 8;
        return true;
    }
    network->prefix = maximum;
    if (slash) {
        char *end;
        struct in_addr mask;
        if (isdigit((unsigned char)*slash) && strlen(slash) <= 3 && (network->prefix = (int)strtol(slash, &end, 10), !*end)) {
            if (network->prefix > maximum)
                return false;
        } else if (network->family == AF_INET && inet_pton(AF_INET, slash, &mask) == 1) {
            uint32_t bits = ntohl(mask.s_addr);
            int ones = bits == 0xffffffffu ? 32 : __builtin_clz(~bits);
            if (bits != (ones ? 0xffffffffu << (32 - ones) : 0))
                return false;
            network->prefix = ones;
        } else {
            return false;
        }
    }
    for (int i = 0; i < 16; i++) {
        int keep = network->prefix - i * 8;
        network->address[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
    }
    return true;
}

static bool network_contains(const expr_network *network, const char *address_text)
{
    unsigned char address[16];
    int family;
    if (!address_text)
        return false;
    if (inet_pton(AF_INET, address_text, address) == 1) {
        family = AF_INET;
    } else if (inet_pton(AF_INET6, address_text, address) == 1) {
        static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
        family = AF_INET6;
        if (memcmp(address, mapped, sizeof(mapped)) == 0) {
            memmove(address, address + 12, 4);
            family = AF_INET;
        }
    } else {
        return false;
    }
    if (family != network->family)
        return false;
    int whole = network->prefix / 8, rest = network->prefix % 8;
    if (memcmp(address, network->address, (size_t)whole) != 0)
        return false;
    return rest == 0 || (address[whole] & (unsigned char)(0xff << (8 - rest))) == network->address[whole];
}

static bool parse_ipmatch(parser *ps, expr_node *node, const expr_part *word, const char *at)
{
    if (!word_is_constant(word))
        return fail(ps, at, "-ipmatch needs a constant network, like '10.0.0.0/8'");
    const char *text = constant_text(ps, word);
    if (!parse_network(text, &node->network))
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

static expr_node *parse_unary(parser *ps)
{
    skip_space(ps);
    const char *at = ps->at;
    if ((*at == '!' && at[1] != '=' && at[1] != '~') || at_keyword(ps, "not")) {
        ps->at += *at == '!' ? 1 : 3;
        expr_node *node = node_new(ps, NODE_NOT);
        return (node->left = parse_unary(ps)) ? node : NULL;
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
        expr_node *node = node_new(ps, NODE_AND);
        node->left = left;
        if (!(node->right = parse_unary(ps)))
            return NULL;
        left = node;
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
        expr_node *node = node_new(ps, NODE_OR);
        node->left = left;
        if (!(node->right = parse_and(ps)))
            return NULL;
        left = node;
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
        return network_contains(&node->network, word_value(ev, node->word));
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
