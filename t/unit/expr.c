/*
 * expr.c — unit tests for core/expr.c: every operator, precedence, syntax
 * errors with their offsets, -ipmatch for IPv4 and IPv6, regex captures,
 * functions, evaluated against a fake variable callback.
 */
#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/regex.c"
#include "../../src/core/expr.c"
#include "../../src/core/expr_eval.c"
#include "../../src/core/network.c"
#include "tap.h"

#include <unistd.h>

static pool *test_pool;

static const char *const fake_variables[][2] = {
    { "HTTP_HOST", "www.example.com" },
    { "REQUEST_URI", "/products/42" },
    { "REQUEST_METHOD", "GET" },
    { "QUERY_STRING", "a=1&b=two" },
    { "REMOTE_ADDR", "10.1.2.3" },
    { "HTTPS", "off" },
    { "HTTP:User-Agent", "Mozilla/5.0 (X11)" },
    { "HTTP:X-Count", "12" },
    { "ENV:flag", "yes" },
    { "SERVER_PORT", "8080" },
    { "SSL_CLIENT_S_DN_CN", "alice" },
};

static const char *remote_override;

static const char *fake_lookup(void *request, const char *name, pool *p)
{
    (void)request;
    (void)p;
    if (remote_override && strcmp(name, "REMOTE_ADDR") == 0)
        return remote_override;
    for (size_t i = 0; i < COUNT_OF(fake_variables); i++)
        if (strcmp(fake_variables[i][0], name) == 0)
            return fake_variables[i][1];
    return NULL;
}

/* 1 true, 0 false, -1 parse error, -2 run-time error */
static int run(const char *text)
{
    char error[512] = "";
    weft_expr *expr = expr_parse(test_pool, text, error, sizeof(error));
    if (!expr) {
        note("%s", error);
        return -1;
    }
    expr_context context = { .variable = fake_lookup, .pool = test_pool };
    bool result = expr_evaluate(expr, &context);
    if (context.error) {
        note("run-time: %s", context.error);
        return -2;
    }
    return result;
}

static const char *parse_error(const char *text)
{
    static char error[512];
    error[0] = '\0';
    weft_expr *expr = expr_parse(test_pool, text, error, sizeof(error));
    return expr ? "(parsed)" : error;
}

static void test_string_comparisons(void)
{
    is_int(run("%{HTTP_HOST} == 'www.example.com'"), 1, "== true");
    is_int(run("%{HTTP_HOST} == \"example.com\""), 0, "== false");
    is_int(run("%{HTTP_HOST} != 'example.com'"), 1, "!=");
    is_int(run("'abc' < 'abd'"), 1, "<");
    is_int(run("'abc' <= 'abc'"), 1, "<=");
    is_int(run("'b' > 'abc'"), 1, "> compares strings");
    is_int(run("'b' >= 'c'"), 0, ">=");
    is_int(run("%{http_host} == 'www.example.com'"), 1, "variable names are case-insensitive");
    is_int(run("%{UNSET_LOOKING_VAR_IS_ERROR} == ''"), -1, "unknown variable is refused");
    is_int(run("%{DOCUMENT_ROOT} == ''"), 1, "an unset variable is empty");
    is_int(run("%{HTTP:User-Agent} =~ /Mozilla/"), 1, "%%{HTTP:header}");
    is_int(run("req('User-Agent') =~ /X11/"), 1, "req('header')");
    is_int(run("http('X-Count') -eq 12"), 1, "http('header') as an integer");
    is_int(run("%{ENV:flag} == 'yes' && reqenv('flag') == 'yes'"), 1, "ENV: and reqenv()");
    /* mod_ssl's variables, answered by a module (ssl_vars) */
    is_int(run("%{SSL_CLIENT_S_DN_CN} == 'alice'"), 1, "%%{SSL_CLIENT_S_DN_CN}");
    is_int(run("%{SSL:SSL_CLIENT_S_DN_CN} == 'alice' && %{SSL:HTTPS} == 'off'"), 1, "%%{SSL:NAME}, %%{SSL:HTTPS}");
    is_int(run("%{SSL_NOT_SET_HERE} == ''"), 1, "any SSL_ name parses, unset is empty (as mod_ssl)");
    is_int(run("%{SSL:REQUEST_URI} == ''"), -1, "%%{SSL:...} takes SSL_ names and HTTPS only");
    is_int(run("%{SSL_} == ''"), -1, "SSL_ alone is no variable");
    is_int(run("%{SSL_A-B} == ''"), -1, "nor a name with a '-'");
    is_int(run("'%{REQUEST_METHOD} %{REQUEST_URI}' == 'GET /products/42'"), 1, "interpolation in strings");
    is_int(run("'a' . %{REQUEST_METHOD} . 1 == 'aGET1'"), 1, "concatenation with '.'");
    is_int(run("'it\\'s' == \"it's\""), 1, "backslash escapes a quote");
}

static void test_integer_comparisons(void)
{
    is_int(run("10 -eq 10"), 1, "-eq");
    is_int(run("10 -ne 11"), 1, "-ne");
    is_int(run("9 -lt 10"), 1, "-lt is numeric ('9' > '10' as strings)");
    is_int(run("10 -le 10"), 1, "-le");
    is_int(run("10 -gt 9"), 1, "-gt");
    is_int(run("10 -ge 11"), 0, "-ge");
    is_int(run("10 eq 10 && 3 lt 4 && 4 gt 3 && 1 ne 2 && 1 le 1 && 2 ge 2"), 1, "without the dash");
    is_int(run("%{SERVER_PORT} -eq 8080"), 1, "a variable as an integer");
    is_int(run("%{HTTP_HOST} -eq 0 && '' -eq 0 && '5 ' -eq 5 && ' 5' -eq 5"), 1,
           "integers read as Apache's apr_atoi64 (a non-number is 0, trailing text ignored)");
    is_int(run("'-3' -lt 0 && '+3' -eq 3"), 1, "signs");
}

static void test_regex(void)
{
    is_int(run("%{REQUEST_URI} =~ m#^/products/(\\d+)$#"), 1, "=~ with m#...# and \\d");
    is_int(run("%{REQUEST_URI} !~ /^\\/admin/"), 1, "!~ with an escaped separator");
    is_int(run("%{HTTP_HOST} =~ /EXAMPLE/i"), 1, "i flag");
    is_int(run("%{HTTP_HOST} =~ /EXAMPLE/"), 0, "case-sensitive without it");
    is_int(run("%{REQUEST_URI} =~ m#^/products/(\\d+)$# && $1 == '42'"), 1, "$1 after a match");
    is_int(run("%{REQUEST_URI} =~ m#^/(\\w+)/(\\d+)# && '$2-$1' == '42-products'"), 1, "$N in strings");
    is_int(run("%{REQUEST_URI} =~ m#^/products/(\\d+)$# && $0 == '/products/42'"), 1, "$0 is the whole match");
    is_int(run("%{QUERY_STRING} =~ /a=(.*?)&/ && $1 == '1'"), 1, "lazy quantifier (PCRE)");
    is_int(run("$1 == ''"), 1, "$N with no match is empty");
    is_int(run("'ab' =~ /(a)/ && 'xy' =~ /(z)/ || $1 == ''"), 1, "a failed match empties $N (as Apache)");
    is_string(parse_error("%{REQUEST_URI} =~ /(unclosed/"),
              "syntax error at offset 18 in expression '%{REQUEST_URI} =~ /(unclosed/': regular expression: "
              "missing closing parenthesis at offset 9", "a bad regex is a parse error with its position");
    ok(strstr(parse_error("'a' =~ /x/q"), "offset 10") != NULL, "unknown regex flag at its offset");
    ok(strstr(parse_error("'a' =~ 'x'"), "expected a regular expression") != NULL, "=~ needs a regex");
}

static void test_other_operators(void)
{
    is_int(run("%{REQUEST_METHOD} in { 'GET', 'HEAD' }"), 1, "in {...}");
    is_int(run("%{REQUEST_METHOD} in {'POST','PUT'}"), 0, "in {...} false");
    is_int(run("%{REQUEST_URI} -strmatch '/prod*'"), 1, "-strmatch");
    is_int(run("%{REQUEST_URI} -strmatch '/PROD*'"), 0, "-strmatch is case-sensitive");
    is_int(run("%{REQUEST_URI} -strcmatch '/PROD*'"), 1, "-strcmatch is not");
    is_int(run("%{REQUEST_URI} -fnmatch '/*'"), 0, "-fnmatch: * does not match /");
    is_int(run("-n %{HTTP_HOST}"), 1, "-n");
    is_int(run("-z %{DOCUMENT_ROOT}"), 1, "-z");
    is_int(run("-T 'off'") || run("-T '0'") || run("-T ''"), 0, "-T false values");
    is_int(run("-T 'on'"), 1, "-T true");
    is_int(run("-d '/'"), 1, "-d");
    is_int(run("-f '/'"), 0, "-f on a directory");
    is_int(run("-e '/nonexistent/weft-expr'"), 0, "-e");
    char path[] = "/tmp/weft-expr-XXXXXX";
    int fd = mkstemp(path);
    is_int(run(pool_printf(test_pool, "-f '%s' && !(-s '%s')", path, path)), 1, "-f and -s on an empty file");
    if (fd >= 0) {
        (void)!write(fd, "x", 1);
        close(fd);
    }
    is_int(run(pool_printf(test_pool, "-s '%s' && -e '%s'", path, path)), 1, "-s on a non-empty file");
    unlink(path);
    is_int(run("tolower(%{HTTP_HOST}) == 'www.example.com' && toupper('ab') == 'AB'"), 1, "tolower/toupper");
    is_int(run("escape('a b/c?') == 'a%20b/c%3f' && unescape('a%20b') == 'a b'"), 1, "escape/unescape");
    is_int(run("unescape('a%2fb%2F') == 'a%2fb%2F'"), 1, "unescape keeps encoded slashes");
    is_int(run("%{tolower:ABC} == 'abc'"), 1, "%%{func:argument}");
}

static void test_ipmatch(void)
{
    is_int(run("%{REMOTE_ADDR} -ipmatch '10.0.0.0/8'"), 1, "-ipmatch v4 CIDR");
    is_int(run("%{REMOTE_ADDR} -ipmatch '10.1.2.0/255.255.255.0'"), 1, "-ipmatch v4 netmask");
    is_int(run("%{REMOTE_ADDR} -ipmatch '10.2'"), 0, "-ipmatch partial address");
    is_int(run("%{REMOTE_ADDR} -ipmatch '10.1'"), 1, "-ipmatch partial address matching");
    is_int(run("-R '10.1.2.3'"), 1, "-R with a single address");
    is_int(run("-R '192.168.0.0/16'"), 0, "-R false");
    remote_override = "2001:db8::7";
    is_int(run("-R '2001:db8::/32'"), 1, "v6 CIDR");
    is_int(run("-R '2001:db9::/32'"), 0, "v6 CIDR false");
    is_int(run("-R '10.0.0.0/8'"), 0, "v6 address against a v4 network");
    remote_override = "::ffff:127.0.0.1";
    is_int(run("-R '127.0.0.0/8'"), 1, "v4-mapped v6 address");
    remote_override = NULL;
    ok(strstr(parse_error("%{REMOTE_ADDR} -ipmatch '10.0.0.0/33'"), "offset 24") != NULL, "bad network at -t");
    ok(strstr(parse_error("-R %{HTTP_HOST}"), "constant network") != NULL, "network must be constant");
}

static void test_logic_and_precedence(void)
{
    is_int(run("true"), 1, "true");
    is_int(run("false"), 0, "false");
    is_int(run("!false"), 1, "!");
    is_int(run("true || false && false"), 1, "&& binds tighter than ||");
    is_int(run("(true || false) && false"), 0, "parentheses");
    is_int(run("!true && false || true"), 1, "! binds tighter than &&");
    is_int(run("!(true && false)"), 1, "! of a parenthesised expression");
    is_int(run("! %{HTTP_HOST} == 'x'"), 1, "! before a comparison");
    is_int(run("true and not false"), 1, "and, not");
    is_int(run("false or true and false"), 0, "or, and: and binds tighter");
    is_int(run("notable == 'x'"), -1, "'not' only as a whole word");
}

static void test_syntax_errors(void)
{
    is_string(parse_error("%{HTTP_HOST} = 'x'"),
              "syntax error at offset 13 in expression '%{HTTP_HOST} = 'x'': expected an operator "
              "(==, !=, <, =~, !~, -eq, in, -ipmatch, ...)", "single = is refused");
    ok(strstr(parse_error("%{HTTP_HOST}"), "offset 12") && strstr(parse_error("%{HTTP_HOST}"), "alone is not"),
       "a bare string is not a condition");
    ok(strstr(parse_error("(true"), "offset 5") != NULL, "missing ) at the end");
    ok(strstr(parse_error("true false"), "offset 5") != NULL, "trailing text");
    ok(strstr(parse_error("'abc"), "offset 0") != NULL, "unclosed string at its start");
    ok(strstr(parse_error("%{HTTP_HOST"), "offset 0") != NULL, "unclosed variable");
    ok(strstr(parse_error("true && %{FOO_BAR} == 'x'"), "offset 8") != NULL, "unknown variable at its offset");
    ok(strstr(parse_error("-X 'a'"), "unary operator '-X'") != NULL, "unknown unary operator");
    ok(strstr(parse_error("'a' -foo 'b'"), "binary operator '-foo'") != NULL, "unknown binary operator");
    ok(strstr(parse_error("md5('a') == 'b'"), "function 'md5'") != NULL, "unknown function");
    ok(strstr(parse_error("%{HTTP_HOST} in split(/,/, 'a,b')"), "list functions") != NULL, "list functions");
    ok(strstr(parse_error("-F '/x'"), "unary operator '-F'") != NULL, "-F (sub-request) refused");
    ok(strstr(parse_error("%{X:y} == 'a'"), "variable function") != NULL, "unknown %%{func:}");
    ok(strstr(parse_error(""), "offset 0") != NULL, "empty expression");
    ok(strstr(parse_error("true &&"), "offset 7") != NULL, "&& without a right side");
}

/* text made of count copies of unit between prefix and suffix */
static char *repeated(const char *prefix, const char *unit, int count, const char *middle, const char *suffix,
                      int suffix_count)
{
    buffer text = { 0 };
    buffer_append_string(&text, prefix);
    for (int i = 0; i < count; i++)
        buffer_append_string(&text, unit);
    buffer_append_string(&text, middle);
    for (int i = 0; i < suffix_count; i++)
        buffer_append_string(&text, suffix);
    char *copy = pool_strdup(test_pool, text.data);
    buffer_free(&text);
    return copy;
}

/* Hostile nesting is refused at parse time: the parser and the evaluator
 * (on a worker thread's 512 KiB stack) recurse as deep as the tree. */
static void test_depth(void)
{
    is_int(run(repeated("", "!", 50, "true", "", 0)), 1, "50 nested ! evaluate");
    is_int(run(repeated("", "(", 90, "true", ")", 90)), 1, "90 nested parentheses evaluate");
    is_int(run(repeated("true", " && true", 90, "", "", 0)), 1, "a chain of 90 && evaluates");
    ok(strstr(parse_error(repeated("", "!", 200000, "true", "", 0)), "levels deep") != NULL,
       "200000 nested ! are refused, not a stack overflow");
    ok(strstr(parse_error(repeated("", "(", 200000, "true", ")", 200000)), "levels deep") != NULL,
       "200000 nested parentheses are refused");
    ok(strstr(parse_error(repeated("true", " && true", 200000, "", "", 0)), "chained") != NULL,
       "a chain of 200000 && is refused (the evaluator would recurse that deep)");
    ok(strstr(parse_error(repeated("true", " || !true", 200000, "", "", 0)), "chained") != NULL,
       "a chain of 200000 || is refused");
    ok(strstr(parse_error(repeated("", "tolower(", 200000, "'a'", ")", 200000)), "levels deep") != NULL,
       "200000 nested function calls are refused");
    ok(strstr(parse_error(repeated("'", "%{tolower:", 200000, "a", "}", 200000)), "levels deep") != NULL,
       "200000 nested %%{tolower:...} are refused");
}

static const char *string_value(const char *text)
{
    char error[512] = "";
    weft_expr *expr = expr_parse_string(test_pool, text, error, sizeof(error));
    if (!expr)
        return pool_strdup(test_pool, error);
    expr_context context = { .variable = fake_lookup, .pool = test_pool };
    return expr_evaluate_string(expr, &context);
}

static void test_string_expressions(void)
{
    is_string(string_value("Not here: %{REQUEST_URI}"), "Not here: /products/42", "string expression");
    is_string(string_value("/errors/%{tolower:ABC}.html?%{QUERY_STRING}"), "/errors/abc.html?a=1&b=two",
              "functions and several variables");
    is_string(string_value("100% sure, 'quoted' \"too\""), "100% sure, 'quoted' \"too\"",
              "quotes and a lone %% are text");
    is_string(string_value(""), "", "empty");
    is_string(string_value("/e/%{tolower:%{HTTP_HOST}-X}.html"), "/e/www.example.com-x.html",
              "a variable inside %%{func:...}");
    ok(strstr(string_value("%{tolower:abc"), "closing }") != NULL, "%%{func: without its }");
    ok(strstr(string_value("%{HTTP:%{HTTP_HOST}}"), "must be constant") != NULL, "%%{HTTP:name} is constant");
    ok(strstr(string_value("a %{BADVAR}"), "offset 2") != NULL, "unknown variable refused at its offset");
    ok(strstr(string_value("a %{"), "without a closing") != NULL, "unterminated variable");
    char error[200];
    weft_expr *string = expr_parse_string(test_pool, "x", error, sizeof(error));
    expr_context context = { .variable = fake_lookup, .pool = test_pool };
    is_int(expr_evaluate(string, &context), 0, "a string expression is no condition");
}

/* Every prefix and every one-byte deletion of some long expressions: the
 * parser must refuse or accept each without reading past the text (the
 * ASan build checks that), and evaluate what it accepts. */
static void test_truncations(void)
{
    static const char *const texts[] = {
        "%{REQUEST_URI} =~ m#^/(\\w+)/(\\d+)# && '$2-$1' == '42-products' || !(%{HTTP:X} in { 'a', \"b\" })",
        "-R '10.0.0.0/8' && %{REMOTE_ADDR} -ipmatch '2001:db8::/32' or not -f %{REQUEST_FILENAME}",
        "tolower(%{HTTP_HOST}) . %{tolower:%{HTTP_HOST}x} -strmatch '*.example.*' and 12 -ge %{SERVER_PORT}",
        "req('User-Agent') =~ /a\\/b/i && reqenv('x') != '' && %{ENV:y} == \"%{TIME_HOUR}\"",
    };
    int parsed = 0, total = 0;
    char error[512];
    for (size_t t = 0; t < COUNT_OF(texts); t++) {
        size_t length = strlen(texts[t]);
        for (size_t cut = 0; cut <= length; cut++) {
            for (int deletion = 0; deletion < 2; deletion++) {
                char *text = pool_strdup(test_pool, texts[t]);
                if (deletion) {
                    if (cut == length)
                        continue;
                    memmove(text + cut, text + cut + 1, length - cut);
                } else {
                    text[cut] = '\0';
                }
                total++;
                weft_expr *expr = expr_parse(test_pool, text, error, sizeof(error));
                weft_expr *string = expr_parse_string(test_pool, text, error, sizeof(error));
                expr_context context = { .variable = fake_lookup, .pool = test_pool };
                if (expr) {
                    parsed++;
                    expr_evaluate(expr, &context);
                }
                if (string)
                    expr_evaluate_string(string, &context);
            }
        }
    }
    ok(total > 500 && parsed > 0 && parsed < total, "%d truncated or damaged expressions: %d parsed, none crashed",
       total, parsed);
}

int main(void)
{
    test_pool = pool_create(4096);
    test_string_comparisons();
    test_integer_comparisons();
    test_regex();
    test_other_operators();
    test_ipmatch();
    test_logic_and_precedence();
    test_syntax_errors();
    test_depth();
    test_string_expressions();
    test_truncations();
    pool_destroy(test_pool);
    return done_testing();
}
