/* Unit tests for src/modules/headers.c: every Header verb on ordinary and
 * special fields, onsuccess/always, the merge order of sections, the
 * setter's refusals, AddCharset and AddDefaultCharset.  The configuration
 * engine and response.c are not linked: stand-ins below. */
#include "tap.h"

/* module_server_config / module_dir_config are defined below (module.h). */
#define WEFT_MODULE_CONFIG_STUBS

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/match.c"
#include "../../src/core/regex.c"
#include "../../src/http/date.c"
#include "../../src/modules/expires.c"
#include "../../src/modules/headers.c"

/* A dir_config with the modules' own structs beside it: module_dir_config
 * (core/config_merge.c, not linked) finds them there. */
typedef struct {
    dir_config dir;
    headers_dir_config headers;
    expires_dir_config expires;
} test_dir;

const char *request_get_env(const request *r, const char *name) { return NULL; }
void *module_dir_config(const dir_config *dir, const module *m)
{
    test_dir *t = (test_dir *)dir;
    return m == &expires_module ? (void *)&t->expires : (void *)&t->headers;
}

/* --- stand-ins for src/http/response.c --- */
void response_add_header_constant(request *r, const char *name, const char *value)
{
    if (r->header_count == r->header_capacity) {
        int capacity = r->header_capacity ? r->header_capacity * 2 : 8;
        response_header *grown = pool_alloc(r->pool, sizeof(*grown) * (size_t)capacity);
        if (r->header_count)
            memcpy(grown, r->headers, sizeof(*grown) * (size_t)r->header_count);
        r->headers = grown;
        r->header_capacity = capacity;
    }
    r->headers[r->header_count].name = (char *)name;
    r->headers[r->header_count++].value = (char *)value;
}

void response_add_header(request *r, const char *name, const char *value)
{
    response_add_header_constant(r, pool_strdup(r->pool, name), pool_strdup(r->pool, value));
}

/* --- stand-ins for src/core/config.c --- */
struct config_parse {
    pool *pool;
    int errors;
    int warnings;
    bool set;   /* what config_was_set answers */
};

int config_error(config_parse *parse, const char *format, ...)
{
    parse->errors++;
    return WEFT_ERROR;
}
void config_warning(config_parse *parse, const char *format, ...) { parse->warnings++; }
/* expr= conditions are tested in t/unit/expr.c and t/85-if-expr.t */
weft_expr *config_compile_expr(struct config_parse *parse, const char *text) { parse->errors++; return NULL; }
bool request_expr_holds(request *r, const weft_expr *expr, const char *user) { return true; }
const char *request_expr_variable(void *request_pointer, const char *name, pool *p) { return NULL; }
pool *config_pool(config_parse *parse) { return parse->pool; }
weft_regex *config_compile_regex(config_parse *parse, const char *pattern, unsigned flags)
{
    char reason[200];
    weft_regex *regex = regex_compile(parse->pool, pattern, flags, reason, sizeof(reason));
    if (!regex)
        parse->errors++;
    return regex;
}
static config_parse *current_parse;
bool config_was_set_here(config_parse *parse, const config_directive *directive) { return current_parse->set; }
int config_set_flag(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    *(bool *)target = strcasecmp(argv[0], "on") == 0;
    return WEFT_OK;
}

static pool *test_pool;

/* Adds "Header ARGS" (split on spaces) to *list; returns the setter's code. */
static int header_line(config_parse *parse, header_action **list, const char *line)
{
    char copy[256];
    char *argv[8];
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *word = strtok(copy, " "); word && argc < 8; word = strtok(NULL, " "))
        argv[argc++] = word;
    current_parse = parse;
    int rc = set_header(parse, &headers_directives[0], list, argc, argv);
    parse->set = true;
    return rc;
}

static request *new_request(dir_config *dir, int status)
{
    request *r = pool_calloc(test_pool, sizeof(*r));
    r->pool = test_pool;
    r->dir = dir;
    r->status = status;
    r->body_file = -1;
    r->start_seconds = 1800000000;
    clock_gettime(CLOCK_MONOTONIC, &r->start_time);
    return r;
}

/* All values of name joined with " | ", or NULL. */
static const char *fields(request *r, const char *name)
{
    buffer out;
    buffer_init(&out, 64);
    for (int i = 0; i < r->header_count; i++) {
        if (strcasecmp(r->headers[i].name, name) != 0)
            continue;
        if (out.length)
            buffer_append_string(&out, " | ");
        buffer_append_string(&out, r->headers[i].value);
    }
    const char *result = out.length ? pool_strdup(test_pool, out.data) : NULL;
    buffer_free(&out);
    return result;
}

static void test_verbs(void)
{
    config_parse parse = { test_pool, 0, 0, false };
    test_dir dir = { 0 };
    header_line(&parse, &dir.headers.header_actions, "set X-Set one");
    header_line(&parse, &dir.headers.header_actions, "set X-Set two");
    header_line(&parse, &dir.headers.header_actions, "add X-Add a");
    header_line(&parse, &dir.headers.header_actions, "add X-Add b");
    header_line(&parse, &dir.headers.header_actions, "append X-Append a");
    header_line(&parse, &dir.headers.header_actions, "append X-Append b");
    header_line(&parse, &dir.headers.header_actions, "merge X-Merge gzip");
    header_line(&parse, &dir.headers.header_actions, "merge X-Merge GZIP");
    header_line(&parse, &dir.headers.header_actions, "merge X-Merge br");
    header_line(&parse, &dir.headers.header_actions, "setifempty X-Present no");
    header_line(&parse, &dir.headers.header_actions, "setifempty X-Absent yes");
    header_line(&parse, &dir.headers.header_actions, "unset X-Gone");
    header_line(&parse, &dir.headers.header_actions, "always set X-Always 1");
    header_line(&parse, &dir.headers.header_actions, "merge Vary Accept-Encoding");
    is_int(parse.errors, 0, "all lines accepted");

    request *r = new_request(&dir.dir, 200);
    response_add_header(r, "X-Present", "kept");
    response_add_header(r, "X-Gone", "1");
    response_add_header(r, "X-Gone", "2");
    response_add_header(r, "Vary", "Accept-Encoding");
    headers_finalize_response(r);
    is_string(fields(r, "X-Set"), "two", "set replaces");
    is_string(fields(r, "X-Add"), "a | b", "add adds");
    is_string(fields(r, "X-Append"), "a, b", "append joins");
    is_string(fields(r, "X-Merge"), "gzip, br", "merge skips members already there (any case)");
    is_string(fields(r, "X-Present"), "kept", "setifempty leaves a present field");
    is_string(fields(r, "X-Absent"), "yes", "setifempty sets an absent one");
    is_string(fields(r, "X-Gone"), NULL, "unset removes every instance");
    is_string(fields(r, "Vary"), "Accept-Encoding", "merge does not repeat an existing member");
    is_string(fields(r, "X-Always"), "1", "always on a 200");

    r = new_request(&dir.dir, 404);
    headers_finalize_response(r);
    is_string(fields(r, "X-Set"), NULL, "onsuccess skips a 404");
    is_string(fields(r, "X-Always"), "1", "always does not");
    r = new_request(&dir.dir, 304);
    headers_finalize_response(r);
    is_string(fields(r, "X-Set"), "two", "onsuccess acts on a 304");
    r = new_request(&dir.dir, 301);
    headers_finalize_response(r);
    is_string(fields(r, "X-Set"), NULL, "onsuccess skips a redirect");
}

static void test_special_fields(void)
{
    config_parse parse = { test_pool, 0, 0, false };
    test_dir dir = { 0 };
    header_line(&parse, &dir.headers.header_actions, "unset ETag");
    header_line(&parse, &dir.headers.header_actions, "append Content-Type q=1");
    header_line(&parse, &dir.headers.header_actions, "setifempty Last-Modified never");
    header_line(&parse, &dir.headers.header_actions, "append Last-Modified x");
    request *r = new_request(&dir.dir, 200);
    r->etag = "\"tag\"";
    r->content_type = "text/plain";
    r->last_modified = 1700000000;
    headers_finalize_response(r);
    ok(r->etag == NULL, "unset ETag clears the field");
    is_string(r->content_type, "text/plain, q=1", "append on Content-Type");
    ok(r->last_modified == 0, "Last-Modified becomes an ordinary field once touched");
    is_string(fields(r, "Last-Modified"), "Tue, 14 Nov 2023 22:13:20 GMT, x", "... and keeps its value first");

    config_parse managed = { test_pool, 0, 0, false };
    test_dir other = { 0 };
    header_line(&managed, &other.headers.header_actions, "set Server hidden");
    header_line(&managed, &other.headers.header_actions, "unset date");
    is_int(managed.warnings, 2, "Server and Date: a warning each");
    ok(other.headers.header_actions == NULL, "... and no action");
}

static void test_refusals(void)
{
    const char *bad[] = {
        "set",           "frob X a",   "set X",        "set X a b",  "set X\x01 a",  "set X %{HOME}x",
        "set X a env=!", "edit X a", "edit X (a b", "echo X",       "always",     "set X a early", "set X(y) a",
    };
    for (size_t i = 0; i < COUNT_OF(bad); i++) {
        config_parse parse = { test_pool, 0, 0, false };
        header_action *list = NULL;
        ok(header_line(&parse, &list, bad[i]) == WEFT_ERROR && parse.errors == 1, "Header %s is refused", bad[i]);
    }
}

static void test_merge_order(void)
{
    config_parse parse = { test_pool, 0, 0, false };
    test_dir outer = { 0 }, inner = { 0 };
    header_line(&parse, &outer.headers.header_actions, "set X-Order outer");
    header_line(&parse, &outer.headers.header_actions, "append X-Trail o");
    parse.set = false;
    header_line(&parse, &inner.headers.header_actions, "set X-Order inner");
    header_line(&parse, &inner.headers.header_actions, "append X-Trail i");
    header_action *outer_head = outer.headers.header_actions;
    test_dir merged = outer;
    merge_header_actions(&merged.headers.header_actions, &inner.headers.header_actions, test_pool);
    request *r = new_request(&merged.dir, 200);
    headers_finalize_response(r);
    is_string(fields(r, "X-Order"), "inner", "a section's actions run after the enclosing ones");
    is_string(fields(r, "X-Trail"), "o, i", "... in that order");
    ok(outer.headers.header_actions == outer_head && outer_head->next->next == NULL, "the enclosing list is left as it was");
}

static void test_charsets(void)
{
    config_parse parse = { test_pool, 0, 0, false };
    test_dir dir = { 0 };
    char *utf8[] = { "UTF-8", ".utf8" };
    char *euc[] = { "EUC-JP", "euc", ".jis" };
    set_add_charset(&parse, &headers_directives[1], &dir.headers.add_charsets, 2, utf8);
    set_add_charset(&parse, &headers_directives[1], &dir.headers.add_charsets, 3, euc);
    char *bad_name[] = { "UTF 8", ".x" };
    char *bad_extension[] = { "UTF-8", ".tar.gz" };
    is_int(set_add_charset(&parse, &headers_directives[1], &dir.headers.add_charsets, 2, bad_name), WEFT_ERROR,
           "a charset with a space is refused");
    is_int(set_add_charset(&parse, &headers_directives[1], &dir.headers.add_charsets, 2, bad_extension), WEFT_ERROR,
           "a dotted extension is refused");
    request *r = new_request(&dir.dir, 200);
    is_string(headers_type_with_charset(r, "text/html", "/www/page.utf8.html"), "text/html; charset=UTF-8",
              "any extension of the name counts");
    is_string(headers_type_with_charset(r, "text/html", "/www/a.utf8.jis.html"), "text/html; charset=EUC-JP",
              "the last one naming a charset wins");
    is_string(headers_type_with_charset(r, "text/html", "/www.utf8/page.html"), "text/html",
              "directories' dots do not count");
    is_string(headers_type_with_charset(r, "text/html", "/www/utf8"), "text/html", "the name itself is no extension");
    is_string(headers_type_with_charset(r, "text/html; charset=x", "/p.utf8"), "text/html; charset=x",
              "a charset already there stays");

    char *on[] = { "On" }, *named[] = { "utf-8" }, *off[] = { "Off" };
    set_default_charset(&parse, &headers_directives[2], &dir.headers.default_charset, 1, on);
    is_string(headers_type_with_default_charset(r, "text/html"), "text/html; charset=iso-8859-1", "On: iso-8859-1");
    set_default_charset(&parse, &headers_directives[2], &dir.headers.default_charset, 1, named);
    is_string(headers_type_with_default_charset(r, "TEXT/PLAIN"), "TEXT/PLAIN; charset=utf-8", "text/plain, any case");
    is_string(headers_type_with_default_charset(r, "text/html;level=1"), "text/html;level=1; charset=utf-8",
              "with other parameters");
    is_string(headers_type_with_default_charset(r, "text/html; Charset=x"), "text/html; Charset=x",
              "not when a charset is there");
    is_string(headers_type_with_default_charset(r, "text/css"), "text/css", "not text/css");
    is_string(headers_type_with_default_charset(r, "text/htmlx"), "text/htmlx", "not text/htmlx");
    set_default_charset(&parse, &headers_directives[2], &dir.headers.default_charset, 1, off);
    is_string(headers_type_with_default_charset(r, "text/html"), "text/html", "Off");
}

int main(void)
{
    test_pool = pool_create(4096);
    test_verbs();
    test_special_fields();
    test_refusals();
    test_merge_order();
    test_charsets();
    pool_destroy(test_pool);
    return done_testing();
}
