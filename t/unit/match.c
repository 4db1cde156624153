/*
 * Unit tests for src/core/match.c: the URL-path prefix rule (Alias,
 * Redirect, ScriptAlias, <Location>) and the $N substitution (AliasMatch,
 * RedirectMatch, ScriptAliasMatch), both Apache's.
 */
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/match.c"
#include "../../src/core/regex.c"

static pool *p;

static void test_prefix(void)
{
    is_int(url_prefix_match("/doc", "/doc"), 4, "/doc covers /doc");
    is_int(url_prefix_match("/doc", "/doc/"), 4, "/doc covers /doc/");
    is_int(url_prefix_match("/doc", "/doc/a/b"), 4, "/doc covers /doc/a/b");
    is_int(url_prefix_match("/doc", "/docs"), 0, "/doc does not cover /docs (whole segments)");
    is_int(url_prefix_match("/doc", "/do"), 0, "/doc does not cover /do");
    is_int(url_prefix_match("/icons/", "/icons/a.png"), 7, "/icons/ covers /icons/a.png");
    is_int(url_prefix_match("/icons/", "/icons"), 0, "/icons/ does not cover /icons");
    is_int(url_prefix_match("/", "/anything"), 1, "/ covers everything");
    is_int(url_prefix_match("/cgi-bin/", "/cgi-bin/x.cgi"), 9, "/cgi-bin/ covers /cgi-bin/x.cgi");
    is_int(url_prefix_match("/cgi-bin", "/cgi-binx"), 0, "/cgi-bin does not cover /cgi-binx");
    is_int(url_prefix_match("/cgi-bin/", "/other"), 0, "unrelated paths do not match");
    is_int(url_prefix_match("/a/b", "/a//b/c"), 5, "doubled slashes in the path are collapsed (5 characters covered)");
    is_int(url_prefix_match("/a//b/", "/a/b/c"), 5, "doubled slashes in the prefix are collapsed");
    is_int(url_prefix_match("/a/", "/a///x"), 5, "a run of slashes after the prefix is covered whole");
    is_int(url_prefix_match("/a/b", "/ab"), 0, "a slash in the prefix needs at least one in the path");
    is_int(url_prefix_match("", "/x"), 0, "an empty prefix matches nothing");
    is_int(url_prefix_match("/doc", ""), 0, "nothing is not covered");
}

static void substitutes(const char *pattern, const char *template, const char *subject, const char *expected)
{
    char error[200];
    weft_regex *regex = regex_compile(p, pattern, 0, error, sizeof(error));
    regex_group match[MATCH_MAX_GROUPS];
    if (!regex) {
        ok(0, "compile %s: %s", pattern, error);
        return;
    }
    bool matched = regex_match(regex, subject, strlen(subject), match, MATCH_MAX_GROUPS);
    const char *got = matched ? regex_substitute(p, template, subject, match, MATCH_MAX_GROUPS) : NULL;
    is_string(got, expected, "%s on %s with %s", pattern, subject, template);
}

static void test_substitute(void)
{
    substitutes("^/img/(.*)\\.png$", "/srv/images/$1.png", "/img/cat.png", "/srv/images/cat.png");
    substitutes("^/u/([a-z]+)/(.*)$", "/home/$1/www/$2", "/u/bob/a/b.html", "/home/bob/www/a/b.html");
    substitutes("^/x(.*)$", "$0|$1|$9", "/xyz", "/xyz|yz|");
    substitutes("^/a(b)?c$", "[$1]", "/ac", "[]");
    substitutes("^/(.*)$", "\\$1 costs \\\\ $1", "/five", "$1 costs \\ five");
    substitutes("^/(.*)$", "\\a\\&\\/$1", "/q", "a&/q");
    substitutes("^/(.*)$", "ends with $", "/x", "ends with $");
    substitutes("^/(.*)$", "trailing \\", "/x", "trailing \\");
    substitutes("^/(.*)$", "$a$$1", "/x", "$a$x");
    substitutes("^/(.*)$", "/plain", "/x", "/plain");
    substitutes("^/(.*)$", "", "/x", "");

    /* Fewer groups than referenced: the missing ones are empty. */
    char error[200];
    weft_regex *regex = regex_compile(p, "^/(a)(b)$", 0, error, sizeof(error));
    regex_group match[2];
    ok(regex && regex_match(regex, "/ab", 3, match, 2), "matches with room for two groups");
    is_string(regex_substitute(p, "$1$2$3", "/ab", match, 2), "a", "groups beyond match_count are empty");

    /* Perl syntax, as Apache's PCRE: \d, lazy quantifiers, (?i). */
    substitutes("^/products/(\\d+)$", "/p?id=$1", "/products/42", "/p?id=42");
    substitutes("^/(.*?)/(.*)$", "$1|$2", "/a/b/c", "a|b/c");
    substitutes("(?i)^/DOCS/(.*)$", "/d/$1", "/docs/x", "/d/x");
}

int main(void)
{
    p = pool_create(4096);
    test_prefix();
    test_substitute();
    pool_destroy(p);
    return done_testing();
}
