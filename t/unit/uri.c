/* Unit tests for src/http/uri.c: request-target forms, decoding, dot
 * segments, error statuses and the two escaping functions. */
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/http/uri.c"

static pool *test_pool;

static bool same_text(const char *a, const char *b)
{
    return (a && b) ? strcmp(a, b) == 0 : a == b;
}

/* One check: target parses and yields exactly path, query and host. */
static void accepts(const char *target, http_method method, const char *expected_path,
                    const char *expected_query, const char *expected_host)
{
    char *path = NULL, *query = NULL, *host = NULL;
    int status = 0;
    int result = uri_parse_target(test_pool, target, strlen(target), method, &path, &query,
                                  &host, &status);
    bool good = result == WEFT_OK && same_text(path, expected_path) &&
                same_text(query, expected_query) && same_text(host, expected_host);
    if (!ok(good, "'%s' -> path '%s'", target, expected_path)) {
        note("  result %d status %d path '%s' query '%s' host '%s'", result, status,
             path ? path : "(null)", query ? query : "(null)", host ? host : "(null)");
    }
}

static void refuses(const char *target, http_method method, int expected_status)
{
    char *path = NULL, *query = NULL, *host = NULL;
    int status = 0;
    int result = uri_parse_target(test_pool, target, strlen(target), method, &path, &query,
                                  &host, &status);
    if (!ok(result == WEFT_ERROR && status == expected_status, "'%s' -> %d", target,
            expected_status)) {
        note("  result %d status %d path '%s'", result, status, path ? path : "(null)");
    }
}

static void test_origin_form(void)
{
    http_method get = HTTP_METHOD_GET;
    accepts("/", get, "/", NULL, NULL);
    accepts("/index.html", get, "/index.html", NULL, NULL);
    accepts("/a/b/c", get, "/a/b/c", NULL, NULL);
    accepts("/dir/", get, "/dir/", NULL, NULL);
    accepts("/search?q=1", get, "/search", "q=1", NULL);
    accepts("/search?", get, "/search", "", NULL);
    accepts("/?a=1?b=2", get, "/", "a=1?b=2", NULL);
    accepts("/p?q=%zz", get, "/p", "q=%zz", NULL);
    accepts("/a%20b", get, "/a b", NULL, NULL);
    accepts("/%41%42%43", get, "/ABC", NULL, NULL);
    accepts("/%7e%7E", get, "/~~", NULL, NULL);
    accepts("/caf%C3%A9", get, "/caf\xc3\xa9", NULL, NULL);
    accepts("/raw\xc3\xa9", get, "/raw\xc3\xa9", NULL, NULL);
    accepts("/a%3Fb", get, "/a?b", NULL, NULL);
    accepts("/a%23b", get, "/a#b", NULL, NULL);
    accepts("/100%25", get, "/100%", NULL, NULL);
    accepts("/%2541", get, "/%41", NULL, NULL);
    accepts("/a+b", get, "/a+b", NULL, NULL);
}

static void test_decoding_errors(void)
{
    http_method get = HTTP_METHOD_GET;
    refuses("/%", get, 400);
    refuses("/%4", get, 400);
    refuses("/%zz", get, 400);
    refuses("/%4g", get, 400);
    refuses("/a%", get, 400);
    refuses("/%00", get, 400);
    refuses("/a%00.html", get, 400);
    refuses("/a%2Fb", get, 404);
    refuses("/a%2fb", get, 404);
    refuses("/%2F", get, 404);
    refuses("/a%2Fb/%zz", get, 400);
    refuses("/a%2Fb/%00", get, 400);
    refuses("/a b", get, 400);
    refuses("/a\tb", get, 400);
    refuses("/a\x7f", get, 400);
    refuses("/a#frag", get, 400);
    refuses("/a?q#frag", get, 400);
}

static void test_dot_segments(void)
{
    http_method get = HTTP_METHOD_GET;
    accepts("/./", get, "/", NULL, NULL);
    accepts("/.", get, "/", NULL, NULL);
    accepts("/a/./b", get, "/a/b", NULL, NULL);
    accepts("/a/.", get, "/a/", NULL, NULL);
    accepts("/a/b/..", get, "/a/", NULL, NULL);
    accepts("/a/b/../", get, "/a/", NULL, NULL);
    accepts("/a/..", get, "/", NULL, NULL);
    accepts("/a/../b", get, "/b", NULL, NULL);
    accepts("/a/b/../../c", get, "/c", NULL, NULL);
    accepts("/a/%2e%2e/b", get, "/b", NULL, NULL);
    accepts("/a/%2E%2E/b", get, "/b", NULL, NULL);
    accepts("/a/.%2e/b", get, "/b", NULL, NULL);
    accepts("/a/%2e/b", get, "/a/b", NULL, NULL);
    accepts("/a/.../b", get, "/a/.../b", NULL, NULL);
    accepts("/a/..b/c", get, "/a/..b/c", NULL, NULL);
    accepts("/.hidden", get, "/.hidden", NULL, NULL);
    accepts("/a/b/..?x=/../..", get, "/a/", "x=/../..", NULL);
    refuses("/..", get, 400);
    refuses("/../", get, 400);
    refuses("/../x", get, 400);
    refuses("/a/../../x", get, 400);
    refuses("/%2e%2e/etc/passwd", get, 400);
    refuses("/a/./../../x", get, 400);
    refuses("/..%2Fx", get, 404);
}

static void test_slashes(void)
{
    http_method get = HTTP_METHOD_GET;
    accepts("//", get, "/", NULL, NULL);
    accepts("//a", get, "/a", NULL, NULL);
    accepts("/a//b", get, "/a/b", NULL, NULL);
    accepts("/a///b//", get, "/a/b/", NULL, NULL);
    /* Merged before ".." is applied, as the file system would see it. */
    accepts("/a//../b", get, "/b", NULL, NULL);
}

static void test_absolute_form(void)
{
    http_method get = HTTP_METHOD_GET;
    accepts("http://example.com/x", get, "/x", NULL, "example.com");
    accepts("http://example.com", get, "/", NULL, "example.com");
    accepts("http://example.com?q=1", get, "/", "q=1", "example.com");
    accepts("http://example.com:8080/a/b?c=d", get, "/a/b", "c=d", "example.com:8080");
    accepts("HTTP://Example.COM/", get, "/", NULL, "Example.COM");
    accepts("https://example.com/s", get, "/s", NULL, "example.com");
    accepts("HtTpS://h/", get, "/", NULL, "h");
    accepts("http://127.0.0.1:80/", get, "/", NULL, "127.0.0.1:80");
    accepts("http://[::1]:8080/v6", get, "/v6", NULL, "[::1]:8080");
    accepts("http://[::1]/", get, "/", NULL, "[::1]");
    accepts("http://host:/", get, "/", NULL, "host:");
    accepts("http://h/a/../b%20c", get, "/b c", NULL, "h");
    refuses("http://", get, 400);
    refuses("http:///path", get, 400);
    refuses("http://:80/", get, 400);
    refuses("http://user@host/", get, 400);
    refuses("http://host:99999/", get, 400);
    refuses("http://host:8a/", get, 400);
    refuses("http://[::1/", get, 400);
    refuses("http://h/../x", get, 400);
    refuses("http://h/a%2Fb", get, 404);
    refuses("ftp://host/", get, 400);
    refuses("http:/host/", get, 400);
}

static void test_other_forms(void)
{
    accepts("*", HTTP_METHOD_OPTIONS, "*", NULL, NULL);
    refuses("*", HTTP_METHOD_GET, 400);
    refuses("*", HTTP_METHOD_HEAD, 400);
    refuses("*x", HTTP_METHOD_OPTIONS, 400);
    refuses("", HTTP_METHOD_GET, 400);
    refuses("index.html", HTTP_METHOD_GET, 400);
    refuses("example.com:443", HTTP_METHOD_CONNECT, 400);
    refuses("?q", HTTP_METHOD_GET, 400);
    refuses(".", HTTP_METHOD_GET, 400);
}

static void test_length_is_respected(void)
{
    char *path = NULL, *query = NULL, *host = NULL;
    int status = 0;
    /* The target is a span in a larger buffer: bytes after length do not count. */
    const char *request_line = "/abc?x HTTP/1.1";
    int result = uri_parse_target(test_pool, request_line, 6, HTTP_METHOD_GET, &path, &query, &host,
                                  &status);
    ok(result == WEFT_OK && same_text(path, "/abc") && same_text(query, "x"),
       "only length bytes of the target are read");
    result = uri_parse_target(test_pool, "/a%41", 4, HTTP_METHOD_GET, &path, &query, &host,
                              &status);
    ok(result == WEFT_ERROR && status == 400, "an escape cut by length is invalid");

    result = uri_normalize_path(test_pool, "/x/../y%20z", 11, &path, &status);
    ok(result == WEFT_OK && same_text(path, "/y z"), "uri_normalize_path on its own");
    result = uri_normalize_path(test_pool, "relative", 8, &path, &status);
    ok(result == WEFT_ERROR && status == 400, "uri_normalize_path needs a leading slash");
}

static void test_escaping(void)
{
    is_string(uri_escape_path(test_pool, "/a b/c"), "/a%20b/c", "space escaped");
    is_string(uri_escape_path(test_pool, "/plain-path_1.2~x"), "/plain-path_1.2~x",
              "unreserved kept");
    is_string(uri_escape_path(test_pool, "/!$&'()*+,;=:@"), "/!$&'()*+,;=:@",
              "sub-delims, ':' and '@' kept");
    is_string(uri_escape_path(test_pool, "/a?b#c%d"), "/a%3Fb%23c%25d", "? # %% escaped");
    is_string(uri_escape_path(test_pool, "/caf\xc3\xa9"), "/caf%C3%A9",
              "bytes >= 0x80 escaped in upper-case hex");
    is_string(uri_escape_path(test_pool, "/\"<>\\^`{|}"), "/%22%3C%3E%5C%5E%60%7B%7C%7D",
              "other ASCII punctuation escaped");
    is_string(uri_escape_path(test_pool, "/\n\x01"), "/%0A%01", "controls escaped");
    is_string(uri_escape_path(test_pool, ""), "", "empty path");

    char *path = NULL, *query = NULL, *host = NULL;
    int status = 0;
    const char *original = "/d\xc3\xa9j\xc3\xa0 vu/100%/a?b";
    char *escaped = uri_escape_path(test_pool, original);
    int result = uri_parse_target(test_pool, escaped, strlen(escaped), HTTP_METHOD_GET, &path,
                                  &query, &host, &status);
    ok(result == WEFT_OK && same_text(path, original) && query == NULL,
       "escape then parse gives the path back");

    is_string(html_escape(test_pool, "a & b < c > d \"e\" 'f'"),
              "a &amp; b &lt; c &gt; d &quot;e&quot; &#39;f&#39;", "html_escape all five");
    is_string(html_escape(test_pool, "plain text"), "plain text", "html_escape plain text");
    is_string(html_escape(test_pool, ""), "", "html_escape empty");
    is_string(html_escape(test_pool, "&amp;"), "&amp;amp;", "html_escape is not idempotent");
}

int main(void)
{
    test_pool = pool_create(4096);
    test_origin_form();
    test_decoding_errors();
    test_dot_segments();
    test_slashes();
    test_absolute_form();
    test_other_forms();
    test_length_is_respected();
    test_escaping();
    pool_destroy(test_pool);
    return done_testing();
}
