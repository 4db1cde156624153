/*
 * request_vars.h — what Apache's expression language (core/expr.h) reads
 * from a request: the variable callback for <If>, Header expr= and Require
 * expr.  An unset variable (no such header, no query) is NULL, which the
 * evaluator reads as "".
 */
#ifndef WEFT_HTTP_REQUEST_VARS_H
#define WEFT_HTTP_REQUEST_VARS_H

#include "../core/expr.h"
#include "../core/log.h"
#include "request.h"

/* expr_variable_lookup for a request (request_pointer is a request *). */
const char *request_expr_variable(void *request_pointer, const char *name, pool *p);

/* A variable one of the modules provides (module.h `variable`: mod_ssl's
 * SSL_* from ssl_vars), NULL when none knows it or it is unset. */
const char *request_module_variable(request *r, const char *name);

/* A context evaluating against r, allocating from r's pool. */
void request_expr_context(request *r, expr_context *context);

/* expr_evaluate against r; a run-time failure is logged (naming user, e.g.
 * "Header") and counts as false, as in Apache. */
bool request_expr_holds(request *r, const weft_expr *expr, const char *user);

#endif
