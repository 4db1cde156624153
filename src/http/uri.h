/*
 * uri.h — request-target handling (RFC 9112 3.2, RFC 3986) and the escaping
 * a server needs when it puts a path back into a header or into HTML.
 *
 * Contract of uri_parse_target():
 *  - Accepted forms: origin-form "/path?query"; absolute-form
 *    "http://host[:port]/path?query" (scheme http or https, any case);
 *    asterisk-form "*" with OPTIONS only.  Authority-form and anything else
 *    is 400.
 *  - *query is everything after the first '?', not decoded (NULL when the
 *    target has no '?', "" when it ends with one).
 *  - *absolute_host is the host[:port] of an absolute-form target, which the
 *    caller uses instead of Host (RFC 9112 3.2.2); NULL for other forms.
 *  - *path is percent-decoded, then normalised: repeated slashes are merged
 *    into one (as nginx's merge_slashes does, so "//" can never name
 *    something different from "/" on the file system), "." segments are
 *    dropped and ".." removes the previous segment (RFC 3986 5.2.4).  It
 *    always starts with '/' ("*" for the asterisk-form) and keeps a trailing
 *    slash, also the one a final "." or ".." implies ("/a/b/.." -> "/a/").
 *  - Errors (*error_status): 400 for a bad escape (not %XX with two hex
 *    digits), an encoded NUL, a ".." that would climb above "/", control
 *    characters, spaces or '#' in the target, userinfo or an empty host in
 *    the absolute-form; 404 for an encoded slash (%2F), as Apache does with
 *    AllowEncodedSlashes Off.  When a target has both kinds of problem, 400
 *    wins.  Bytes >= 0x80 are accepted as they are (browsers send UTF-8 raw).
 *  - Everything returned is allocated in p; nothing is written on error
 *    except *error_status.
 */
#ifndef WEFT_HTTP_URI_H
#define WEFT_HTTP_URI_H

#include "../core/common.h"
#include "../core/pool.h"
#include "parser.h"

int uri_parse_target(pool *p, const char *target, size_t length, http_method method,
                     char **path, char **query, char **absolute_host, int *error_status);

/* Decodes and normalises a path (the part of a target before '?') exactly as
 * uri_parse_target does; raw must start with '/'.  For callers that build
 * paths from other sources (e.g. a Location header or a sub-request). */
int uri_normalize_path(pool *p, const char *raw, size_t length, char **path, int *error_status);

/* Percent-encodes every byte outside unreserved / sub-delims / ':' / '@' /
 * '/', so that a decoded path can be put into a Location header or an href. */
char *uri_escape_path(pool *p, const char *path);

/* Replaces & < > " ' by character references, for text put into HTML. */
char *html_escape(pool *p, const char *text);

#endif
