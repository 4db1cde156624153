/*
 * output_filter.h — which output filters a request gets (Apache's
 * SetOutputFilter, AddOutputFilter, AddOutputFilterByType; the module is
 * called "filter" so that <IfModule mod_filter.c> holds, as in Apache 2.4,
 * where AddOutputFilterByType belongs to mod_filter).
 *
 * The fixups hook adds to the request's chain (http/filter.h) every filter
 * SetOutputFilter or a matching AddOutputFilter extension names, and every
 * filter some AddOutputFilterByType names; the latter only apply when the
 * response's media type turns out to be one of theirs, which the filter
 * asks with output_filter_type_allowed() from its start().
 */
#ifndef WEFT_MODULES_OUTPUT_FILTER_H
#define WEFT_MODULES_OUTPUT_FILTER_H

#include "../http/filter.h"

/* Whether f may run for r's response as far as how it was configured is
 * concerned: always for SetOutputFilter/AddOutputFilter, for
 * AddOutputFilterByType when r->content_type (without parameters) is one
 * of the types listed for f's name. */
bool output_filter_type_allowed(const request *r, const output_filter *f);

/* The filter types modules provide, by name (case-insensitive); NULL if
 * none. */
const output_filter_type *output_filter_type_named(const char *name, size_t length);

/* The value of an environment variable of the request (Apache's
 * subprocess_env: no-gzip, gzip-only-text/html), set by SetEnvIf or
 * BrowserMatch (request_get_env) or by SetEnv, or NULL. */
const char *output_filter_environment(const request *r, const char *name);

#endif
