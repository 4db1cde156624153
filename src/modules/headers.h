/*
 * headers.h — the last word on a response's header fields: mod_expires,
 * AddDefaultCharset and mod_headers, applied once per response just
 * before its head is serialized; and AddCharset for the static handler.
 *
 * Directives (headers_module, modules/headers.c):
 *   Header [onsuccess|always] set|append|add|merge|setifempty NAME VALUE
 *   Header [onsuccess|always] unset NAME
 *                         anywhere; a section's actions run after the
 *                         enclosing ones.  onsuccess (the default) acts on
 *                         2xx and 304 responses, always on every response.
 *                         VALUE may use %% and %t / %D (request time and
 *                         duration in microseconds, as Apache's %t / %D).
 *   AddCharset charset .ext ...       anywhere; any extension of the name.
 *   AddDefaultCharset On|Off|charset  anywhere (On = iso-8859-1); added to
 *                         text/plain and text/html without a charset.
 * The expires module (modules/expires.c) has its own response_head hook,
 * which runs first.
 */
#ifndef WEFT_MODULES_HEADERS_H
#define WEFT_MODULES_HEADERS_H

#include "../http/request.h"

/* The module's response_head hook: once per response, before it is
 * serialised.  Costs a few comparisons when nothing is configured. */
void headers_finalize_response(request *r);

/* AddCharset applies somewhere in dir. */
bool headers_have_charsets(const dir_config *dir);
/* type with "; charset=X" when AddCharset names one of name's extensions
 * and type has no charset yet; type itself otherwise (no allocation). */
const char *headers_type_with_charset(request *r, const char *type, const char *name);
/* type with AddDefaultCharset's charset when it applies; type otherwise. */
const char *headers_type_with_default_charset(request *r, const char *type);

#endif
