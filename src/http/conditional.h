/*
 * conditional.h — entity-tag comparison and conditional requests
 * (RFC 9110 8.8.3 and 13), as pure functions of the request's fields and
 * the selected representation's validators.
 *
 * Contract:
 *  - Field values are slices into the request head (not NUL-terminated);
 *    an absent field is a slice with data NULL.
 *  - Entity tags (etag arguments) are as sent in the ETag field, quotes and
 *    any W/ prefix included, e.g. "\"1f-5e0c\"" or "W/\"1f-5e0c\"".
 *  - Malformed members of an If-Match / If-None-Match list are skipped; a
 *    date field that is not a valid HTTP-date (a list of dates included) is
 *    ignored, as RFC 9110 13.1.3 and 13.1.4 require.
 *  - The representation is assumed to exist (a file that was opened): "*"
 *    matches it.
 */
#ifndef WEFT_HTTP_CONDITIONAL_H
#define WEFT_HTTP_CONDITIONAL_H

#include <time.h>

#include "../core/buffer.h"
#include "parser.h"

/* The request fields that make a request conditional or partial.  Absent
 * fields have data == NULL. */
typedef struct {
    slice if_match;
    slice if_none_match;
    slice if_modified_since;
    slice if_unmodified_since;
    slice if_range;
    slice range;
} http_conditionals;

/* Strong comparison: both tags strong and their opaque parts equal. */
bool http_etag_strong_equal(slice a, slice b);
/* Weak comparison: opaque parts equal, W/ ignored on both sides. */
bool http_etag_weak_equal(slice a, slice b);
/* Does the If-Match / If-None-Match list name etag ("*" names any)? */
bool http_etag_list_matches(slice list, slice etag, bool weak_comparison);

/* Parses an HTTP-date held in a slice; -1 if absent or invalid. */
time_t http_parse_date_slice(slice text);

/* Steps 1 to 4 of RFC 9110 13.2.2 for an existing representation with the
 * given validators (etag NULL = none, last_modified -1 = none); now is the
 * request's time (a later If-Modified-Since is ignored, as in Apache).
 * Returns 0 (go on), 304 (Not Modified: GET/HEAD only) or 412. */
int http_evaluate_preconditions(const http_conditionals *fields, http_method method,
                                const char *etag, time_t last_modified, time_t now);

/* Step 5, If-Range (RFC 9110 13.1.5): true when the Range field is to be
 * honoured, i.e. If-Range is absent or names the current representation:
 * an entity tag by strong comparison, or a date equal to a Last-Modified
 * that is strong (at least one second older than now). */
bool http_if_range_holds(slice if_range, const char *etag, time_t last_modified, time_t now);

#endif
