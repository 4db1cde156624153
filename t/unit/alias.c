/*
 * Unit tests for src/modules/alias.c: whole-segment prefix matching, $N
 * substitution and the Location a Redirect builds.  The few functions of
 * other layers that alias.c calls only at request or configuration time are
 * stubbed: these tests never reach them.
 */
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/http/uri.c"
#include "../../src/modules/alias.c"

int response_set_redirect(request *r, int status, const char *location) { return WEFT_OK; }
bool request_header_slice(const request *r, const char *name, slice *value) { return false; }
int config_error(config_parse *parse, const char *format, ...) { return WEFT_ERROR; }
pool *config_pool(config_parse *parse) { return NULL; }
char *config_resolve_path(config_parse *parse, const char *path) { return (char *)path; }
regex_t *config_regex(config_parse *parse, const char *pattern, int flags) { return NULL; }
char *config_regex_prefix(config_parse *parse, const char *pattern) { return ""; }
void config_dump_line(FILE *out, const config_directive *directive, int argc, const char *const *argv) {}

static pool *p;

static void test_prefix_match(void)
{
    is_int(alias_prefix_match("/doc", "/doc"), 4, "/doc covers /doc");
    is_int(alias_prefix_match("/doc", "/doc/"), 4, "/doc covers /doc/");
    is_int(alias_prefix_match("/doc", "/doc/a/b"), 4, "/doc covers /doc/a/b");
    is_int(alias_prefix_match("/doc", "/docs"), 0, "/doc does not cover /docs");
    is_int(alias_prefix_match("/doc", "/do"), 0, "/doc does not cover /do");
    is_int(alias_prefix_match("/icons/", "/icons/a.png"), 7, "/icons/ covers /icons/a.png");
    is_int(alias_prefix_match("/icons/", "/icons"), 0, "/icons/ does not cover /icons");
    is_int(alias_prefix_match("/", "/anything"), 1, "/ covers everything");
}

static void substitutes(const char *pattern, const char *template, const char *subject, const char *expected)
{
    regex_t regex;
    regmatch_t match[10];
    if (regcomp(&regex, pattern, REG_EXTENDED) != 0) {
        ok(0, "regcomp %s", pattern);
        return;
    }
    bool matched = regexec(&regex, subject, 10, match, 0) == 0;
    const char *got = matched ? alias_substitute(p, template, subject, match, 10) : NULL;
    is_string(got, expected, "%s on %s with %s", pattern, subject, template);
    regfree(&regex);
}

static void test_substitute(void)
{
    substitutes("^/img/(.*)\\.png$", "/srv/images/$1.png", "/img/cat.png", "/srv/images/cat.png");
    substitutes("^/u/([a-z]+)/(.*)$", "/home/$1/www/$2", "/u/bob/a/b.html", "/home/bob/www/a/b.html");
    substitutes("^/x(.*)$", "$0|$1|$9", "/xyz", "/xyz|yz|");
    substitutes("^/a(b)?c$", "[$1]", "/ac", "[]");
    substitutes("^/(.*)$", "\\$1 costs \\\\ $1", "/five", "$1 costs \\ five");
    substitutes("^/(.*)$", "ends with $", "/x", "ends with $");
}

static void test_redirect_location(void)
{
    is_string(alias_redirect_location(p, "http://example.com/new", "", NULL, "h"), "http://example.com/new",
              "the target alone");
    is_string(alias_redirect_location(p, "http://example.com/new", "/a/b", "x=1&y=2", "h"),
              "http://example.com/new/a/b?x=1&y=2", "the rest of the path and the query");
    is_string(alias_redirect_location(p, "http://example.com/new", "/a b/\xc3\xa9\"<", NULL, "h"),
              "http://example.com/new/a%20b/%C3%A9%22%3C", "the rest escaped");
    is_string(alias_redirect_location(p, "http://example.com/o?fixed=1", "/x", "q=2", "h"),
              "http://example.com/o?fixed=1/x", "a target with a query keeps only its own (Apache)");
    is_string(alias_redirect_location(p, "/local", "/x", "", "host.example:8080"),
              "http://host.example:8080/local/x?", "a local target made absolute; an empty query kept");
    is_string(alias_redirect_location(p, "https://example.com", "/p", NULL, "h"), "https://example.com/p",
              "https target");
}

int main(void)
{
    p = pool_create(4096);
    test_prefix_match();
    test_substitute();
    test_redirect_location();
    pool_destroy(p);
    return done_testing();
}
