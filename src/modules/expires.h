/*
 * expires.h — Expires and Cache-Control: max-age from the configuration
 * (Apache's mod_expires, module "expires").
 *
 * Directives (expires_module):
 *   ExpiresActive On|Off          anywhere, default Off
 *   ExpiresByType type code       anywhere; the type may be a major type and
 *                                 a star for its whole subtype ("image/" "*"); the
 *                                 innermost section's rule for a type wins
 *   ExpiresDefault code           anywhere
 * where code is Apache's "<base> [plus] {<number> <unit>}..." with base
 * access, now (= access) or modification, and unit year(s), month(s)
 * (30 days), week(s), day(s), hour(s), minute(s), second(s) (a year is 365
 * days); or the short form A<seconds> / M<seconds>.
 *
 * Applied (its response_head hook, before Header) to responses from
 * 200 to 399 that have no Expires field yet: the rule for the Content-Type
 * (parameters aside, case-insensitive), else the rule for its major type
 * with a star, else ExpiresDefault.  A modification-based rule needs a
 * file (Last-Modified).  Expires is the base plus the time, never earlier
 * than the request; Cache-Control gets "max-age=N" (merged into an existing
 * Cache-Control, as Apache does).
 */
#ifndef WEFT_MODULES_EXPIRES_H
#define WEFT_MODULES_EXPIRES_H

#include "../http/request.h"

typedef struct expires_rule {
    struct expires_rule *next;
    char *type;               /* ExpiresByType, lower case as written; NULL for ExpiresDefault */
    bool from_modification;   /* base: the file's modification time, else the request's */
    int64_t seconds;
} expires_rule;

/* Parses an expiry code; WEFT_OK, or WEFT_ERROR with *problem set. */
int expires_parse_code(const char *code, bool *from_modification, int64_t *seconds, const char **problem);

void expires_apply(request *r);

#endif
