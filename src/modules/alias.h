/*
 * alias.h — mod_alias: URL-paths mapped outside DocumentRoot, and redirects.
 *
 *   Alias URL-path file-path           /icons/x -> file-path/x (whole segments:
 *                                      "Alias /doc" covers /doc and /doc/x, not /docs)
 *   AliasMatch regex file-path         $1..$9 from the regex
 *   Redirect [status] URL-path [URL]   /old/x?q -> URL/x?q (the rest of the path,
 *                                      escaped, and the query unless URL has one)
 *   RedirectMatch [status] regex [URL]
 *   RedirectPermanent URL-path URL     301
 *   RedirectTemp URL-path URL          302
 * status: permanent (301), temp (302, the default), seeother (303), gone
 * (410), or a number: 3xx needs a URL (absolute, or a path on this
 * server), any other (4xx/5xx) must have none.  At server and vhost level
 * a vhost's rules are tried before the main server's (translate).
 *
 * In <Directory>, <Location> and their Match forms (and <Files>) the Redirect
 * family applies after the directory configuration is merged (fixups), an
 * inner section's rules first.  There, as in Apache 2.4, "Redirect [status]
 * URL" (no URL-path) and "Redirect gone" redirect every request the section
 * covers, to URL as written (escaped; no rest of the path appended); with a
 * URL-path the rule is matched against the request's URL-path as at server
 * level.  Apache's expression syntax in that URL (%{...}) is refused.
 * RedirectMatch in sections uses PCRE2 (core/regex.h).  Within a server,
 * every redirect is tried before any alias, then file order: the first
 * match wins (Apache's order).
 *
 * Regular expressions are PCRE2, as Apache's (core/regex.h): \d, lazy
 * quantifiers, (?i), (?:...) and look-around work as in Apache.  Prefixes
 * and the $0..$9 substitution follow core/match.h (Apache's rules).  A
 * relative file-path is relative to ServerRoot.
 */
#ifndef WEFT_MODULES_ALIAS_H
#define WEFT_MODULES_ALIAS_H

#include "../core/module.h"
#include "../core/pool.h"

extern const module alias_module;

/* The Location of a prefix Redirect: target (absolute URL, or a path made
 * absolute with base, "scheme://host[:port]" from request_self_url), then the escaped rest of the path, then
 * "?query" unless the result already has a '?'. */
char *alias_redirect_location(pool *p, const char *target, const char *rest, const char *query,
                              const char *base);

#endif
