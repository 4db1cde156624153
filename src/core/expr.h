/*
 * expr.h — Apache's expression language (ap_expr, httpd's "expr.html"), the
 * common subset: <If>/<ElseIf>, Header ... expr=, Require expr.
 *
 * An expression is parsed once, at configuration time, into a tree in the
 * configuration's pool; evaluating it allocates only from the pool it is
 * given and changes nothing shared, so all threads evaluate one tree at once.
 *
 * The core knows no request: variables are asked through a callback with a
 * canonical name ("HTTP_HOST", "REQUEST_URI", "HTTP:User-Agent" for
 * %{HTTP:User-Agent} and req('User-Agent'), "ENV:x" for %{ENV:x} and
 * reqenv('x'), "REMOTE_ADDR" also for -R, "SSL_CIPHER" also for
 * %{SSL:SSL_CIPHER}; any SSL_ name parses, as with mod_ssl).  NULL means
 * "not set" and reads as the empty string, as in Apache.  TIME_* variables
 * are the evaluator's.
 *
 * What is parsed is exactly what is evaluated: anything of ap_expr outside
 * the subset (an unknown variable, function or operator) is a parse error,
 * never an expression that is silently false.
 *
 * Nothing in the subset fails at run time (integers are read as Apache's
 * apr_atoi64 reads them, a regex that runs out of resources does not
 * match); context->error is there for what could (the expression is then
 * false and the caller logs the error, as Apache does).
 */
#ifndef WEFT_CORE_EXPR_H
#define WEFT_CORE_EXPR_H

#include "common.h"
#include "pool.h"

typedef struct weft_expr weft_expr;

typedef const char *(*expr_variable_lookup)(void *request, const char *name, pool *p);

typedef struct expr_context {
    expr_variable_lookup variable;  /* NULL: every variable is unset */
    void *request;                  /* passed back to variable() */
    pool *pool;                     /* strings built while evaluating */
    const char *error;              /* set by expr_evaluate on a run-time failure (none yet) */
} expr_context;

/* Parses text.  On failure returns NULL and writes "syntax error at offset N
 * in expression '...': reason" into error. */
weft_expr *expr_parse(pool *p, const char *text, char *error, size_t error_size);

/* true or false; a run-time failure is false with context->error set. */
bool expr_evaluate(const weft_expr *expr, expr_context *context);

/* Apache's string expressions (ErrorDocument's argument): text in which
 * %{VAR}, %{func:text} and $0..$9 are replaced and a backslash takes the
 * next character literally. */
weft_expr *expr_parse_string(pool *p, const char *text, char *error, size_t error_size);
const char *expr_evaluate_string(const weft_expr *expr, expr_context *context);

/* The expression as written (for messages and DUMP_CONFIG). */
const char *expr_text(const weft_expr *expr);

/* For configuration setters: expr_parse with the error reported through
 * config_error (file:line); NULL then (config.c). */
struct config_parse;
weft_expr *config_compile_expr(struct config_parse *parse, const char *text);

#endif
