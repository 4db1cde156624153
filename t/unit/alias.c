/*
 * Unit tests for src/modules/alias.c: the Location a Redirect builds (its
 * prefix matching and $N substitution are core/match.c's, tested in
 * t/unit/match.c).  The few functions of other layers that alias.c calls
 * only at request or configuration time are stubbed: these tests never
 * reach them.
 */
#include "tap.h"

/* module_server_config / module_dir_config are defined below (module.h). */
#define WEFT_MODULE_CONFIG_STUBS

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/match.c"
#include "../../src/core/regex.c"
#include "../../src/http/uri.c"
#include "../../src/modules/alias.c"

int response_set_redirect(request *r, int status, const char *location) { return WEFT_OK; }
bool request_header_slice(const request *r, const char *name, slice *value) { return false; }
int config_error(config_parse *parse, const char *format, ...) { return WEFT_ERROR; }
pool *config_pool(config_parse *parse) { return NULL; }
char *config_resolve_path(config_parse *parse, const char *path) { return (char *)path; }
weft_regex *config_compile_regex(config_parse *parse, const char *pattern, unsigned flags) { return NULL; }
char *config_regex_prefix(config_parse *parse, const char *pattern, unsigned flags) { return ""; }
void config_dump_line(FILE *out, const config_directive *directive, int argc, const char *const *argv) {}
void *module_server_config(const server_config *server, const module *m) { return NULL; }
void *module_dir_config(const dir_config *dir, const module *m) { return NULL; }
char *request_self_url(request *r, const char *path) { return (char *)path; }

static pool *p;

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
    is_string(alias_redirect_location(p, "/local", "/x", "", "http://host.example:8080"),
              "http://host.example:8080/local/x?", "a local target made absolute (base: scheme://host); an empty query kept");
    is_string(alias_redirect_location(p, "https://example.com", "/p", NULL, "h"), "https://example.com/p",
              "https target");
}

int main(void)
{
    p = pool_create(4096);
    test_redirect_location();
    pool_destroy(p);
    return done_testing();
}
