/*
 * match.h — the matching rules several directives share, kept in one place
 * so that they cannot drift apart.
 *
 * URL-path prefixes (Alias, Redirect, ScriptAlias, <Location>): Apache's
 * alias_matches.  The prefix covers whole path segments ("/doc" covers
 * /doc, /doc/ and /doc/x but not /docs; "/doc/" needs the slash), and a
 * run of slashes in either string matches a run of any length in the
 * other, at least one.
 *
 * $N substitution (AliasMatch, RedirectMatch, ScriptAliasMatch): Apache's
 * ap_pregsub.  "$0".."$9" are the groups (empty when unmatched); a
 * backslash takes the next character literally ("\$1" is "$1", "\\" one
 * backslash); anything else, a lone "$" included, is copied.  What a caller
 * does with the result differs as in Apache: RedirectMatch escapes it as a
 * URL (except its query), the others use it as a file path.
 */
#ifndef WEFT_CORE_MATCH_H
#define WEFT_CORE_MATCH_H

#include "common.h"
#include "pool.h"
#include "regex.h"

#define MATCH_MAX_GROUPS REGEX_MAX_GROUPS   /* $0..$9 */

/* How many characters of path the URL-path prefix covers (more than
 * strlen(prefix) when path has doubled slashes); 0 if it does not match.
 * An empty prefix matches nothing. */
size_t url_prefix_match(const char *prefix, const char *path);

/* template with $0..$9 replaced by the groups of subject in match, which
 * has match_count entries (regex_match's groups); allocated from p. */
char *regex_substitute(pool *p, const char *template, const char *subject, const regex_group *match,
                       size_t match_count);

/* Does subject start with prefix?  The cheap test of the literal text a
 * regular expression's matches must start with, before regex_match. */
static inline bool text_starts_with(const char *subject, const char *prefix)
{
    while (*prefix)
        if (*subject++ != *prefix++)
            return false;
    return true;
}

#endif
