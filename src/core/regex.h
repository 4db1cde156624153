/*
 * regex.h — regular expressions as Apache has them: PCRE2 (Perl syntax:
 * \d, lazy quantifiers, (?i), (?:...), look-around), compiled once at
 * configuration time and JIT-compiled when the platform allows it.
 *
 * Options are Apache 2.4's defaults (RegexDefaultOptions DOTALL
 * DOLLAR_ENDONLY): "." also matches a newline, "$" only the very end.
 *
 * Matching takes no lock: each thread keeps its own match data (created at
 * its first match, freed at its exit), so all threads of a child match the
 * same compiled pattern at once.  A compiled regex is read-only after
 * regex_compile returns.
 *
 * Groups are numbered as in Apache: group 0 is the whole match, 1..9 the
 * parenthesised groups that $1..$9 (or %1..%9) substitute.  An unmatched
 * group has start == end == -1.
 */
#ifndef WEFT_CORE_REGEX_H
#define WEFT_CORE_REGEX_H

#include "common.h"
#include "pool.h"

/* Flags of regex_compile. */
enum {
    REGEX_CASELESS = 1 << 0,  /* Apache's [NC], SetEnvIfNoCase, "~*" */
    REGEX_NO_GROUPS = 1 << 1, /* only whether it matches is wanted (cheaper) */
};

#define REGEX_MAX_GROUPS 10   /* $0..$9 */

typedef struct weft_regex weft_regex;

typedef struct {
    int start;  /* byte offsets into the subject; -1 when the group did not take part */
    int end;
} regex_group;

/* Compiles pattern (NUL-terminated).  On failure returns NULL and writes
 * "reason at offset N" into error (at most error_size bytes).  The regex is
 * freed with p (a pool cleanup). */
weft_regex *regex_compile(pool *p, const char *pattern, unsigned flags, char *error, size_t error_size);

/* Matches subject (length bytes, need not be NUL-terminated).  Returns
 * true on a match and, when groups is not NULL, fills groups[0..capacity-1]
 * (unused ones with -1).  A match that fails for a resource limit (a
 * pathological pattern) counts as no match. */
bool regex_match(const weft_regex *regex, const char *subject, size_t length, regex_group *groups,
                 int capacity);

/* The pattern as written, and the number of capturing groups it has. */
const char *regex_pattern(const weft_regex *regex);
int regex_group_count(const weft_regex *regex);

/* Is the regex JIT-compiled (for tests and `weft -V`)? */
bool regex_is_jit(const weft_regex *regex);

#endif
