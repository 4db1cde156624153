/*
 * expr_internal.h — the tree of a parsed expression, shared by the parser
 * (expr.c) and the evaluator (expr_eval.c).  Read-only once parsed.
 */
#ifndef WEFT_CORE_EXPR_INTERNAL_H
#define WEFT_CORE_EXPR_INTERNAL_H

#include "expr.h"
#include "network.h"
#include "regex.h"

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

typedef struct expr_node {
    node_kind kind;
    int op;
    bool negated;
    int depth;  /* of NOT, AND and OR nodes: the evaluator recurses that deep */
    struct expr_node *left, *right;
    expr_part *word, *other;
    expr_part **list;
    int list_count;
    weft_regex *regex;
    ip_network network;
} expr_node;

struct weft_expr {
    expr_node *root;      /* a condition */
    expr_part *string;    /* a string expression (expr_parse_string) */
    const char *text;
};

enum { FUNCTION_TOLOWER, FUNCTION_TOUPPER, FUNCTION_ESCAPE, FUNCTION_UNESCAPE };

/* -ipmatch networks (expr_eval.c): a.b.c.d[/nn | /m.m.m.m], a partial
 * a.b (whole octets), IPv6[/nn], as Apache's apr_ipsubnet_create takes
 * them; an IPv4-mapped IPv6 address is matched as IPv4. */

#endif
