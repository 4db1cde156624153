/* Unit tests for the pure parts of the CGI module: ScriptAlias matching and
 * ScriptAliasMatch substitution (the translate hook; the shared rules
 * themselves are tested in match.c), AddHandler and the extension checks, the list merges, SetEnv/PassEnv/UnsetEnv, the command
 * line of an indexed query, and the environment's precedence rules.  The
 * request head is parsed by the real parser; the rest of the server is
 * replaced by the stand-ins below. */
#include "tap.h"

/* module_server_config / module_dir_config are defined below (module.h). */
#define WEFT_MODULE_CONFIG_STUBS

#include <stdlib.h>

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/match.c"
#include "../../src/core/regex.c"
#include "../../src/core/blocking.c"
#include "../../src/http/parser.c"
#include "../../src/modules/cgi.c"
#include "../../src/modules/cgi_env.c"

/* --- stand-ins --- */

struct config_parse {
    pool *pool;
    int error_count;
    int warning_count;
};

int config_error(config_parse *parse, const char *format, ...)
{
    parse->error_count++;
    return WEFT_ERROR;
}

void config_warning(config_parse *parse, const char *format, ...)
{
    parse->warning_count++;
}

pool *config_pool(config_parse *parse)
{
    return parse->pool;
}

weft_regex *config_compile_regex(config_parse *parse, const char *pattern, unsigned flags)
{
    char reason[200];
    weft_regex *regex = regex_compile(parse->pool, pattern, flags, reason, sizeof(reason));
    if (!regex)
        parse->error_count++;
    return regex;
}

char *config_resolve_path(config_parse *parse, const char *path)
{
    return path[0] == '/' ? pool_strdup(parse->pool, path) : pool_printf(parse->pool, "/root/%s", path);
}

int config_set_milliseconds(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    return WEFT_OK;
}

const char *mime_path_extension(const char *path, size_t *length)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || dot[1] == '\0')
        return NULL;
    *length = strlen(dot + 1);
    return dot + 1;
}

void log_module_message(int level, const char *tag, const char *format, ...) {}
int log_threshold = 0;

const char *connection_peer_address(const connection *c) { return "192.0.2.1"; }
int connection_peer_port(const connection *c) { return 40000; }
const char *connection_local_address(const connection *c) { return "192.0.2.2"; }
int connection_local_port(const connection *c) { return 8080; }

bool request_header_slice(const request *r, const char *name, slice *value)
{
    const http_field *field = http_find_field(&r->parser, r->head, name);
    if (!field)
        return false;
    value->data = r->head + field->value.offset;
    value->length = field->value.length;
    return true;
}

/* request.c's self-referential URL parts, for a request without ServerName. */
const char *request_scheme(request *r) { return "http"; }
const char *request_server_name(request *r) { return "192.0.2.2"; }
int request_server_port(request *r) { return 8080; }
char *response_signature(request *r, const char *prefix) { return ""; }
const char *request_remote_host(request *r) { return NULL; }

char *request_map_path(request *r, const char *url_path)
{
    return pool_printf(r->pool, "/docroot%s", url_path);
}

int cgi_spawn(const char *path, char *const argv[], char *const envp[], const char *directory,
              cgi_process *process)
{
    return ENOSYS;
}

int cgi_run(request *r, const cgi_script *script, cgi_process *process)
{
    return WEFT_ERROR;
}

/* A server_config / dir_config with the module's own struct beside it:
 * module_server_config and module_dir_config (core/config_merge.c, not
 * linked) find it there. */
typedef struct {
    server_config server;
    cgi_server_config cgi;
} test_server;

typedef struct {
    dir_config dir;
    cgi_dir_config cgi;
} test_dir;

/* The handler names weft knows (modules/apache_modules.c): the CGI module's own. */
bool module_handler_exists(const char *name)
{
    return strcmp(name, "cgi-script") == 0 || strcmp(name, "application/x-httpd-cgi") == 0 ||
           strcmp(name, "default-handler") == 0 || strcasecmp(name, "None") == 0;
}
void module_handler_names(char *out, size_t size) { snprintf(out, size, "cgi-script"); }
const char *module_of_handler(const char *name, bool *source_is_secret)
{
    *source_is_secret = strcmp(name, "php-script") == 0;
    if (strcmp(name, "server-parsed") == 0)
        return "mod_include";
    return *source_is_secret ? "mod_php" : NULL;
}
void *module_server_config(const server_config *server, const module *m) { return &((test_server *)server)->cgi; }
void *module_dir_config(const dir_config *dir, const module *m) { return &((test_dir *)dir)->cgi; }

/* --- helpers --- */

static pool *p;
static config_parse parse;

static const config_directive *row(const char *name)
{
    for (const config_directive *d = cgi_directives; d->name; d++)
        if (strcasecmp(d->name, name) == 0)
            return d;
    return NULL;
}

static int apply(void *base, const char *name, int argc, const char **argv)
{
    const config_directive *d = row(name);
    return d->set(&parse, d, (char *)base + d->offset, argc, (char **)argv);
}

static const char *find_variable(char **variables, const char *name)
{
    size_t length = strlen(name);
    for (char **item = variables; *item; item++)
        if (strncmp(*item, name, length) == 0 && (*item)[length] == '=')
            return *item + length + 1;
    return NULL;
}

static int count_variable(char **variables, const char *name)
{
    int count = 0;
    size_t length = strlen(name);
    for (char **item = variables; *item; item++)
        count += strncmp(*item, name, length) == 0 && (*item)[length] == '=';
    return count;
}

/* --- tests --- */

static void test_script_alias_directives(void)
{
    test_server server = { 0 };
    const char *first[] = { "/cgi-bin/", "cgi" };
    const char *inner[] = { "/cgi-bin/x/", "/elsewhere/" };
    const char *bad_regex[] = { "^/(unclosed", "/x" };
    const char *relative_url[] = { "cgi-bin/", "/x" };
    is_int(apply(&server.cgi, "ScriptAlias", 2, first), WEFT_OK, "ScriptAlias");
    is_string(server.cgi.script_aliases->real, "/root/cgi", "a relative path is resolved against ServerRoot");
    int warnings = parse.warning_count;
    is_int(apply(&server.cgi, "ScriptAlias", 2, inner), WEFT_OK, "a ScriptAlias inside an earlier one is accepted");
    is_int(parse.warning_count, warnings + 1, "... with a warning that it will never match");
    int errors = parse.error_count;
    is_int(apply(&server.cgi, "ScriptAliasMatch", 2, bad_regex), WEFT_ERROR, "a bad regex is an error");
    is_int(apply(&server.cgi, "ScriptAlias", 2, relative_url), WEFT_ERROR, "a URL-path without '/' is an error");
    is_int(parse.error_count, errors + 2, "... both reported");
    ok(server.cgi.script_aliases->next && !server.cgi.script_aliases->next->next, "only the valid aliases are kept, in order");
}

static void test_substitute(void)
{
    char error[200];
    weft_regex *pattern = regex_compile(p, "^/m/([a-z]+)/?(.*)$", 0, error, sizeof(error));
    regex_group groups[MATCH_MAX_GROUPS];
    const char *subject = "/m/env/a/b";
    ok(pattern && regex_match(pattern, subject, strlen(subject), groups, MATCH_MAX_GROUPS), "the regex matches");
    is_string(regex_substitute(p, "/srv/$1.cgi/$2", subject, groups, MATCH_MAX_GROUPS), "/srv/env.cgi/a/b",
              "$1 and $2");
    is_string(regex_substitute(p, "/x$0", subject, groups, MATCH_MAX_GROUPS), "/x/m/env/a/b",
              "$0 is the whole match");
    is_string(regex_substitute(p, "/x/\\$1/$9", subject, groups, MATCH_MAX_GROUPS), "/x/$1/",
              "\\$ is a dollar, an unmatched group empty");
    is_string(regex_substitute(p, "/a\\b/$1", subject, groups, MATCH_MAX_GROUPS), "/ab/env",
              "a backslash takes any next character literally, as for AliasMatch (ap_pregsub)");
    is_string(regex_substitute(p, "/plain", subject, groups, MATCH_MAX_GROUPS), "/plain", "no reference: as written");
}

static void test_translate(void)
{
    test_server server = { 0 };
    char error[200];
    weft_regex *pattern = regex_compile(p, "^/match/([a-z]+)(.*)$", 0, error, sizeof(error));
    script_alias second = { .fake = "^/match/", .real = "/scripts/$1.cgi$2", .pattern = pattern };
    script_alias first = { .next = &second, .fake = "/cgi-bin/", .real = "/usr/lib/cgi-bin/" };
    server.cgi.script_aliases = &first;
    request r = { .pool = p, .server = &server.server };

    r.path = "/cgi-bin/env.cgi/extra";
    is_int(cgi_translate(&r), WEFT_OK, "ScriptAlias maps /cgi-bin/...");
    is_string(r.file_path, "/usr/lib/cgi-bin/env.cgi/extra", "... to the directory");
    is_string(r.handler, "cgi-script", "... and marks the request as a script's");

    r = (request){ .pool = p, .server = &server.server, .path = "/match/env/x" };
    is_int(cgi_translate(&r), WEFT_OK, "ScriptAliasMatch maps /match/...");
    is_string(r.file_path, "/scripts/env.cgi/x", "... by substitution");

    r = (request){ .pool = p, .server = &server.server, .path = "/index.html" };
    is_int(cgi_translate(&r), WEFT_DECLINED, "other paths are declined");
    ok(!r.file_path && !r.handler, "... untouched");
}

static void test_add_handler(void)
{
    test_dir dir = { 0 };
    const char *args[] = { "cgi-script", ".CGI", "pl" };
    is_int(apply(&dir.cgi, "AddHandler", 3, args), WEFT_OK, "AddHandler cgi-script .CGI pl");
    ok(name_is_cgi(&dir.dir, "/a/b.cgi"), "b.cgi is a script (case-insensitive)");
    ok(name_is_cgi(&dir.dir, "/a/b.pl"), "b.pl is a script");
    ok(!name_is_cgi(&dir.dir, "/a/b.cgi.txt"), "b.cgi.txt is not: only the last extension counts");
    ok(!name_is_cgi(&dir.dir, "/a/.cgi"), ".cgi (a hidden file) has no extension");
    ok(path_may_be_cgi(&dir.dir, "/a/x.cgi/more/path"), "a script component with PATH_INFO after it");
    ok(!path_may_be_cgi(&dir.dir, "/a/x.txt/more.html"), "no component with a script extension");
    ok(!path_may_be_cgi(&dir.dir, "/a/.cgi/x"), "a hidden .cgi directory is not a script");
    const char *other[] = { "default-handler", "shtml" };
    apply(&dir.cgi, "AddHandler", 2, other);
    ok(!name_is_cgi(&dir.dir, "/a/b.shtml"), "another handler's extension is not cgi");
    const char *missing[] = { "server-parsed", "shtml" };
    int before = parse.error_count;
    is_int(apply(&dir.cgi, "AddHandler", 2, missing), WEFT_ERROR,
           "AddHandler of a handler of a module weft lacks (mod_include) is an error");
    is_int(parse.error_count, before + 1, "... reported");
    const char *bad[] = { "cgi-script", "tar.gz" };
    int errors = parse.error_count;
    is_int(apply(&dir.cgi, "AddHandler", 2, bad), WEFT_ERROR, "AddHandler with a two-part extension is an error");
    is_int(parse.error_count, errors + 1, "... reported");

    test_dir section = { 0 };
    const char *inner[] = { "default-handler", "cgi" };
    apply(&section.cgi, "AddHandler", 2, inner);
    test_dir merged = dir;
    merge_add_handlers(&merged.cgi.add_handlers, &section.cgi.add_handlers, p);
    ok(!name_is_cgi(&merged.dir, "/x.cgi"), "a section's own AddHandler wins over the inherited one");
    ok(name_is_cgi(&merged.dir, "/x.pl"), "... and the inherited ones still apply");
    ok(name_is_cgi(&dir.dir, "/x.cgi"), "the inherited list itself is unchanged");
}

static void test_environment_directives(void)
{
    test_dir outer = { 0 }, inner = { 0 };
    const char *set_a[] = { "A", "1" };
    const char *set_b[] = { "B" };
    const char *set_path[] = { "PATH", "/opt/bin" };
    apply(&outer.cgi, "SetEnv", 2, set_a);
    apply(&outer.cgi, "SetEnv", 1, set_b);
    apply(&outer.cgi, "SetEnv", 2, set_path);
    setenv("WEFT_UNIT_PASS", "passed", 1);
    const char *pass[] = { "WEFT_UNIT_PASS", "WEFT_UNIT_UNDEFINED" };
    int warnings = parse.warning_count;
    is_int(apply(&outer.cgi, "PassEnv", 2, pass), WEFT_OK, "PassEnv");
    is_int(parse.warning_count, warnings + 1, "an undefined PassEnv variable is a warning");
    const char *unset[] = { "A" };
    apply(&inner.cgi, "UnsetEnv", 1, unset);
    const char *bad[] = { "A=B", "x" };
    is_int(apply(&inner.cgi, "SetEnv", 2, bad), WEFT_ERROR, "a name with '=' is refused");

    test_dir merged = outer;
    merge_environment(&merged.cgi.environment, &inner.cgi.environment, p);
    /* The same list merged twice (rows sharing the field) changes nothing. */
    merge_environment(&merged.cgi.environment, &inner.cgi.environment, p);

    static char head[] = "GET /cgi-bin/s.cgi/p?q=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nProxy: http://p/\r\n"
                         "X_B: under\r\nAuthorization: Basic x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                         "X-Configured: header\r\n\r\nabc";
    server_config server = { .document_root = "/docroot", .server_header = "weft/0.1.0 (Unix)" };
    request r = { .pool = p, .server = &server, .dir = &merged.dir, .head = head, .target = "/cgi-bin/s.cgi/p?q=1",
                  .path = "/cgi-bin/s.cgi/p", .query = "q=1", .method_name = "POST", .version_major = 1,
                  .version_minor = 1 };
    http_limits limits = { 8190, 8190, 100, 0 };
    http_parser_init(&r.parser, &limits, p);
    is_int(http_parse_request(&r.parser, head, sizeof(head) - 1), WEFT_OK, "the test head parses");
    const char *set_configured[] = { "HTTP_X_CONFIGURED", "configured" };
    const char *set_server[] = { "SERVER_NAME", "configured" };
    apply(&merged.cgi, "SetEnv", 2, set_configured);
    apply(&merged.cgi, "SetEnv", 2, set_server);
    cgi_script script = { .filename = "/srv/s.cgi", .name = "/cgi-bin/s.cgi", .path_info = "/p" };
    char **variables = cgi_build_environment(&r, &script);

    is_string(find_variable(variables, "B"), "", "SetEnv without a value: empty");
    ok(!find_variable(variables, "A"), "UnsetEnv in a section removes an inherited SetEnv");
    is_string(find_variable(variables, "WEFT_UNIT_PASS"), "passed", "PassEnv");
    is_string(find_variable(variables, "PATH"), "/opt/bin", "SetEnv PATH replaces the default PATH");
    is_string(find_variable(variables, "SERVER_NAME"), "h", "SetEnv cannot change SERVER_NAME");
    is_string(find_variable(variables, "HTTP_X_CONFIGURED"), "configured", "SetEnv HTTP_* wins over the header");
    is_string(find_variable(variables, "HTTP_X_A"), "1, 2", "a repeated field: one variable, values joined");
    is_int(count_variable(variables, "HTTP_X_A"), 1, "... once");
    ok(!find_variable(variables, "HTTP_PROXY"), "no HTTP_PROXY (httpoxy)");
    ok(!find_variable(variables, "HTTP_X_B"), "no variable for a name with '_'");
    ok(!find_variable(variables, "HTTP_AUTHORIZATION"), "no credentials");
    is_string(find_variable(variables, "CONTENT_TYPE"), "text/plain", "CONTENT_TYPE");
    is_string(find_variable(variables, "CONTENT_LENGTH"), "3", "CONTENT_LENGTH");
    ok(!find_variable(variables, "HTTP_CONTENT_TYPE") && !find_variable(variables, "HTTP_CONTENT_LENGTH"),
       "not again as HTTP_*");
    is_string(find_variable(variables, "PATH_INFO"), "/p", "PATH_INFO");
    is_string(find_variable(variables, "PATH_TRANSLATED"), "/docroot/p", "PATH_TRANSLATED maps PATH_INFO");
    is_string(find_variable(variables, "SERVER_PORT"), "8080", "SERVER_PORT: the connection's without a port in Host");
    is_string(find_variable(variables, "REMOTE_ADDR"), "192.0.2.1", "REMOTE_ADDR");
    is_string(find_variable(variables, "REMOTE_PORT"), "40000", "REMOTE_PORT");
    is_string(find_variable(variables, "SERVER_ADDR"), "192.0.2.2", "SERVER_ADDR");
    is_string(find_variable(variables, "SCRIPT_NAME"), "/cgi-bin/s.cgi", "SCRIPT_NAME");
    is_string(find_variable(variables, "REQUEST_METHOD"), "POST", "REQUEST_METHOD");
    is_string(find_variable(variables, "QUERY_STRING"), "q=1", "QUERY_STRING");
    int duplicates = 0;
    for (char **a = variables; *a; a++)
        for (char **b = a + 1; *b; b++)
            duplicates += strcspn(*a, "=") == strcspn(*b, "=") && strncmp(*a, *b, strcspn(*a, "=")) == 0;
    is_int(duplicates, 0, "no variable twice");
}

static void test_arguments(void)
{
    cgi_script script = { .filename = "/srv/s.cgi" };
    request r = { .pool = p };
    r.query = "a+b%20c+x%3By+%41%2";
    char **argv = cgi_build_arguments(&r, &script);
    is_string(argv[0], "/srv/s.cgi", "argv[0] is the script");
    is_string(argv[1], "a", "words split at '+'");
    is_string(argv[2], "b c", "... percent-decoded");
    is_string(argv[3], "x\\;y", "... shell characters escaped");
    is_string(argv[4], "A%2", "... an incomplete escape kept");
    ok(argv[5] == NULL, "... and no more");
    r.query = "a=b+c";
    argv = cgi_build_arguments(&r, &script);
    ok(argv[1] == NULL, "a query with '=' gives no arguments");
    r.query = NULL;
    argv = cgi_build_arguments(&r, &script);
    ok(argv[1] == NULL, "no query, no arguments");
    char many[1024];
    memset(many, '+', 600);
    many[600] = '\0';
    r.query = many;
    argv = cgi_build_arguments(&r, &script);
    int count = 0;
    while (argv[count])
        count++;
    is_int(count, MAX_ARGUMENTS + 1, "at most 256 arguments");
}

int main(void)
{
    p = pool_create(4096);
    parse.pool = p;
    test_script_alias_directives();
    test_substitute();
    test_translate();
    test_add_handler();
    test_environment_directives();
    test_arguments();
    pool_destroy(p);
    return done_testing();
}
