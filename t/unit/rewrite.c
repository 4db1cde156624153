/*
 * rewrite.c — unit tests for mod_rewrite's engine (src/modules/rewrite_cond.c,
 * rewrite_apply.c, rewrite_config.c): expansion of $N, %N, %{VAR}, ${map:key}
 * and backslashes, [B]'s and the redirect's escaping, CondPattern parsing and
 * evaluation, RewriteRule flag parsing, and rule lists: the query string
 * (QSA, QSD, QSL), C, S, N and its limit, the per-directory prefix.  The
 * request layer and the configuration engine are not linked: the few
 * functions the engine calls have stand-ins here.
 */
#include "tap.h"

#define WEFT_MODULE_CONFIG_STUBS

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/regex.c"
#include "../../src/modules/rewrite_apply.c"
#include "../../src/modules/rewrite_cond.c"
#include "../../src/modules/rewrite_config.c"

static pool *test_pool;

/* ---- stand-ins ------------------------------------------------------------ */

void *module_server_config(const server_config *server, const module *m) { (void)server; (void)m; return NULL; }
void *module_dir_config(const dir_config *dir, const module *m) { (void)dir; (void)m; return NULL; }

static const char *variables[][2] = {
    { "HTTP:Host", "www.example.com" }, { "HTTP:User-Agent", "Mobile Safari" }, { "REMOTE_ADDR", "192.0.2.7" },
    { "REQUEST_METHOD", "GET" },        { "HTTPS", "off" },
};

const char *request_expr_variable(void *request_pointer, const char *name, pool *p)
{
    (void)request_pointer;
    (void)p;
    for (size_t i = 0; i < COUNT_OF(variables); i++)
        if (strcasecmp(variables[i][0], name) == 0)
            return variables[i][1];
    return NULL;
}
const char *request_module_variable(request *r, const char *name) { (void)r; (void)name; return NULL; }

static struct { char name[32]; char value[64]; } env[8];
static int env_count;
const char *request_get_env(const request *r, const char *name)
{
    (void)r;
    for (int i = 0; i < env_count; i++)
        if (strcmp(env[i].name, name) == 0)
            return env[i].value;
    return NULL;
}
void request_set_env(request *r, const char *name, const char *value)
{
    (void)r;
    if (env_count < 8) {
        snprintf(env[env_count].name, sizeof(env[0].name), "%s", name);
        snprintf(env[env_count].value, sizeof(env[0].value), "%s", value);
        env_count++;
    }
}
void request_unset_env(request *r, const char *name) { (void)r; (void)name; }
char *request_map_path(request *r, const char *url_path) { (void)r; (void)url_path; return NULL; }
const file_cache_entry *file_cache_lookup(request *r, const char *path, bool follow, struct stat *info)
{
    (void)r; (void)path; (void)follow; (void)info;
    return NULL;
}
bool file_cache_enabled(const server_config *server) { (void)server; return false; }
unsigned file_effective_options(const dir_config *dir) { (void)dir; return OPTION_FOLLOW_SYMLINKS; }
const char *connection_local_address(const connection *c) { (void)c; return "127.0.0.1"; }
const char *request_scheme(request *r) { (void)r; return "http"; }
const char *request_server_name(request *r) { (void)r; return "www.example.com"; }
int request_server_port(request *r) { (void)r; return 80; }
char *request_self_url(request *r, const char *path) { return pool_printf(r->pool, "http://www.example.com%s", path); }
void response_add_header(request *r, const char *name, const char *value) { (void)r; (void)name; (void)value; }
const char *http_status_reason(int status) { return status >= 300 && status < 600 && status != 299 ? "Reason" : ""; }
void log_module_message(int level, const char *module_name, const char *format, ...) { (void)level; (void)module_name; (void)format; }
void rewrite_log(const rewrite_run *run, int level, const char *format, ...) { (void)run; (void)level; (void)format; }
static rewrite_note the_note;
rewrite_note *rewrite_request_note(request *r) { (void)r; return &the_note; }
const char *rewrite_map_lookup(rewrite_run *run, const char *name, const char *key)
{
    if (strcmp(name, "lower") != 0)
        return NULL;
    char *copy = pool_strdup(run->r->pool, key);
    for (char *c = copy; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return strcmp(copy, "missing") == 0 ? NULL : copy;
}
int rewrite_map_define(config_parse *parse, rewrite_conf *conf, int argc, char **argv)
{
    (void)parse; (void)conf; (void)argc; (void)argv;
    return WEFT_OK;
}

/* The configuration engine, as much as the setters use. */
struct config_parse {
    pool *pool;
    char error[256];
    const char *raw;
};
int config_error(config_parse *parse, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(parse->error, sizeof(parse->error), format, args);
    va_end(args);
    return WEFT_ERROR;
}
void config_warning(config_parse *parse, const char *format, ...) { (void)parse; (void)format; }
pool *config_pool(config_parse *parse) { return parse->pool; }
const char *config_raw_arguments(const config_parse *parse) { return parse->raw; }
const struct config_section *config_current_section(const config_parse *parse) { (void)parse; return NULL; }
const char *config_file_name(const config_parse *parse) { (void)parse; return "test.conf"; }
int config_line_number(const config_parse *parse) { (void)parse; return 1; }
char *config_resolve_path(config_parse *parse, const char *path) { return pool_strdup(parse->pool, path); }
weft_expr *config_compile_expr(struct config_parse *parse, const char *text)
{
    (void)parse; (void)text;
    return NULL;
}
bool request_expr_holds(request *r, const weft_expr *expr, const char *user)
{
    (void)r; (void)expr; (void)user;
    return false;
}
struct weft_regex *config_compile_regex(config_parse *parse, const char *pattern, unsigned flags)
{
    char error[200];
    weft_regex *regex = regex_compile(parse->pool, pattern, flags, error, sizeof(error));
    if (!regex)
        config_error(parse, "bad regex '%s': %s", pattern, error);
    return regex;
}

/* ---- helpers -------------------------------------------------------------- */

static request test_request;
static server_config test_server;

static rewrite_run new_run(const char *filename, const char *query, const char *perdir)
{
    test_server.limit_request_line = 8190;
    test_request = (request){ .pool = test_pool, .server = &test_server, .path = (char *)"/x" };
    rewrite_run run = { .r = &test_request, .perdir = perdir };
    run.filename = pool_strdup(test_pool, filename);
    run.query = query ? pool_strdup(test_pool, query) : NULL;
    return run;
}

/* A configuration from lines, as a section would have it. */
static rewrite_conf *configure(const char *const *lines, char *error, size_t error_size)
{
    config_parse parse = { .pool = test_pool };
    rewrite_slot slot = { NULL };
    static const config_directive server_cond = { .name = "RewriteCond", .scope = SCOPE_SERVER };
    static const config_directive server_rule = { .name = "RewriteRule", .scope = SCOPE_SERVER };
    for (const char *const *line = lines; *line; line++) {
        bool cond = strncmp(*line, "RewriteCond ", 12) == 0;
        parse.raw = *line + 12;
        int rc = cond ? set_cond(&parse, &server_cond, &slot, 0, NULL) : set_rule(&parse, &server_rule, &slot, 0, NULL);
        if (rc != WEFT_OK) {
            snprintf(error, error_size, "%s", parse.error);
            return NULL;
        }
    }
    return slot.conf;
}

static char last_error[256];

static int run_lines(const char *const *lines, const char *filename, const char *query, const char *perdir,
                     rewrite_run *run)
{
    rewrite_conf *conf = configure(lines, last_error, sizeof(last_error));
    if (!conf) {
        note("configuration refused: %s", last_error);
        return -1;
    }
    *run = new_run(filename, query, perdir);
    return rewrite_apply_list(run, conf->rules, conf->rule_count);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_expansion(void)
{
    rewrite_run run = new_run("/blog/2024/post", "a=1", NULL);
    regex_group groups[REGEX_MAX_GROUPS];
    weft_regex *regex = regex_compile(test_pool, "^/blog/(\\d+)/(.*)$", 0, NULL, 0);
    ok(regex_match(regex, run.filename, strlen(run.filename), groups, REGEX_MAX_GROUPS), "the rule matches");
    run.rule_subject = run.filename;
    memcpy(run.rule_groups, groups, sizeof(groups));
    is_string(rewrite_expand(&run, "/y/$1/$2?$3", NULL), "/y/2024/post?", "$N, and an unmatched group is empty");
    is_string(rewrite_expand(&run, "\\$1 costs \\%1", NULL), "$1 costs %1", "a backslash keeps the next character");
    is_string(rewrite_expand(&run, "%{REMOTE_ADDR}-%{QUERY_STRING}-%{NO_SUCH}-", NULL), "192.0.2.7-a=1--",
              "%%{VAR}, an unknown one is empty");
    is_string(rewrite_expand(&run, "%{HTTP_HOST}|%{HTTP:User-Agent}", NULL), "www.example.com|Mobile Safari",
              "request headers");
    is_string(rewrite_expand(&run, "${lower:ABC$1}", NULL), "abc2024", "a map with a back-reference in its key");
    is_string(rewrite_expand(&run, "${lower:missing|fall-$1}", NULL), "fall-2024", "a map's default");
    is_string(rewrite_expand(&run, "${nomap}", NULL), "${nomap}", "no colon: not a map reference");
    is_string(rewrite_expand(&run, "50% off %{", NULL), "50% off %{", "unclosed braces and lone %% stay");

    weft_regex *cond = regex_compile(test_pool, "^www\\.(.+)$", 0, NULL, 0);
    rewrite_cond c = { .test = "%{HTTP_HOST}", .pattern = "^www\\.(.+)$", .regex = cond };
    ok(rewrite_cond_holds(&run, &c), "a condition on HTTP_HOST");
    is_string(rewrite_expand(&run, "https://%1/$2", NULL), "https://example.com/post", "%%N from the condition");
    rewrite_cond negated = c;
    negated.negate = true;
    negated.test = "other.host";
    ok(rewrite_cond_holds(&run, &negated), "a negated condition holds when it does not match");
    is_string(rewrite_expand(&run, "%1", NULL), "example.com", "... and keeps the earlier %%N");
}

static void test_escaping(void)
{
    is_string(rewrite_escape_backref(test_pool, "a b&c/d", 7, NULL, false, false), "a+b%26c%2fd", "B");
    is_string(rewrite_escape_backref(test_pool, "a b&c", 5, NULL, true, false), "a%20b%26c", "BNP");
    is_string(rewrite_escape_backref(test_pool, "a b&c?", 6, "&?", false, false), "a b%26c%3f", "B=&?");
    is_string(rewrite_escape_backref(test_pool, "a b\x01&", 5, NULL, false, true), "a+b%01&", "BCTLS");
    is_string(rewrite_escape_uri(test_pool, "/a b/100%/é#x;y"), "/a%20b/100%25/%c3%a9%23x;y",
              "a redirect's path: Apache's ap_escape_uri");
    bool query;
    is_int((int)rewrite_absolute_uri("HTTPS://x/", &query), 8, "https:// is absolute");
    ok(query, "... with a query");
    is_int((int)rewrite_absolute_uri("mailto:a@b", &query), 7, "mailto: is absolute");
    ok(!query, "... without a query");
    is_int((int)rewrite_absolute_uri("/local", NULL), 0, "a URL-path is not");
}

static bool cond_result(const char *test, const char *pattern, bool nocase)
{
    config_parse parse = { .pool = test_pool };
    rewrite_cond cond = { .test = test, .nocase = nocase };
    if (rewrite_parse_cond_pattern(&parse, &cond, pattern) != WEFT_OK) {
        note("refused: %s", parse.error);
        return false;
    }
    rewrite_run run = new_run("/tmp", NULL, NULL);
    return rewrite_cond_holds(&run, &cond);
}

static void test_conditions(void)
{
    ok(cond_result("abc", "=abc", false), "=");
    ok(!cond_result("ABC", "=abc", false) && cond_result("ABC", "=abc", true), "= with NC");
    ok(cond_result("", "=\"\"", false) && !cond_result("x", "=\"\"", false), "=\"\" is the empty string");
    ok(cond_result("b", ">a", false) && !cond_result("a", ">a", false) && cond_result("a", ">=a", false), "> and >=");
    ok(cond_result("zz", ">aaa", false) == false, "lexicographic: the longer string is the greater (Apache)");
    ok(cond_result("0700", "<0800", false) && cond_result("0800", "<=0800", false), "< and <=");
    ok(cond_result("11", "-gt10", false) && !cond_result("10", "-gt10", false), "-gt");
    ok(cond_result("7", "-eq7", false) && cond_result("7", "-ne8", false) && cond_result("3", "-lt5", false), "-eq -ne -lt");
    ok(cond_result("5", "-le5", false) && cond_result("5", "-ge5", false), "-le -ge");
    ok(cond_result("/tmp", "-d", false) && !cond_result("/tmp", "-f", false), "-d, -f");
    ok(cond_result("/nonexistent/x", "!-f", false), "!-f");
    ok(cond_result("-", "-", false), "a single '-' is a regex");
    ok(cond_result("Mobile", "^mob", true) && !cond_result("Mobile", "^mob", false), "a regex, NC");
}

static void test_flags(void)
{
    config_parse parse = { .pool = test_pool };
    rewrite_rule rule = { 0 };
    ok(parse_rule_flag(&parse, &rule, "R=301") == WEFT_OK && rule.status == 301 && (rule.flags & RULE_REDIRECT),
       "R=301");
    rule = (rewrite_rule){ 0 };
    ok(parse_rule_flag(&parse, &rule, "redirect=permanent") == WEFT_OK && rule.status == 301, "redirect=permanent");
    rule = (rewrite_rule){ 0 };
    ok(parse_rule_flag(&parse, &rule, "R=410") == WEFT_OK && (rule.flags & RULE_STATUS) &&
       (rule.flags & RULE_NO_SUBSTITUTION), "R=410 answers 410 and drops the substitution");
    rule = (rewrite_rule){ 0 };
    ok(parse_rule_flag(&parse, &rule, "R=200") == WEFT_ERROR, "R=200 is refused");
    rule = (rewrite_rule){ 0 };
    ok(parse_rule_flag(&parse, &rule, "F") == WEFT_OK && rule.status == 403, "F");
    ok(parse_rule_flag(&parse, &rule, "G") == WEFT_OK && rule.status == 410, "G");
    ok(parse_rule_flag(&parse, &rule, "S=3") == WEFT_OK && rule.skip == 3, "S=3");
    ok(parse_rule_flag(&parse, &rule, "N=9") == WEFT_OK && rule.max_rounds == 9, "N=9");
    ok(parse_rule_flag(&parse, &rule, "E=A:b") == WEFT_OK && rule.env_count == 1, "E=");
    ok(parse_rule_flag(&parse, &rule, "CO=n:v:d") == WEFT_OK && rule.cookie_count == 1, "CO=");
    ok(parse_rule_flag(&parse, &rule, "T=text/x") == WEFT_OK && strcmp(rule.type, "text/x") == 0, "T=");
    ok(parse_rule_flag(&parse, &rule, "B=&") == WEFT_OK && strcmp(rule.escape_only, "&") == 0, "B=&");
    ok(parse_rule_flag(&parse, &rule, "qsappend") == WEFT_OK && (rule.flags & RULE_QS_APPEND), "long names");
    ok(parse_rule_flag(&parse, &rule, "P") == WEFT_ERROR && strstr(parse.error, "mod_proxy"), "P names mod_proxy");
    ok(parse_rule_flag(&parse, &rule, "XYZ") == WEFT_ERROR, "an unknown flag");

    char *out[3];
    parse.raw = "^GET\\ /x \"/a b\" [L]";
    is_int(split_rewrite_line(&parse, 0, NULL, out), 3, "a line with an escaped blank and quotes");
    is_string(out[0], "^GET\\ /x", "... the escaped blank stays in the argument");
    is_string(out[1], "/a b", "... a quoted argument");
}

static void test_lists(void)
{
    rewrite_run run;
    static const char *const qsa[] = { "RewriteRule ^/s/(\\w+)$ /find?q=$1 [QSA]", NULL };
    is_int(run_lines(qsa, "/s/cat", "page=2", NULL, &run), REWRITE_CHANGED, "QSA rewrites");
    is_string(run.filename, "/find", "... the path");
    is_string(run.query, "q=cat&page=2", "... the new query first");
    static const char *const qsd[] = { "RewriteRule ^/s/ /clean [QSD]", NULL };
    run_lines(qsd, "/s/x", "utm=1", NULL, &run);
    ok(run.query == NULL, "QSD drops the query");
    static const char *const drop[] = { "RewriteRule ^/s/ /clean?", NULL };
    run_lines(drop, "/s/x", "utm=1", NULL, &run);
    ok(run.query == NULL && strcmp(run.filename, "/clean") == 0, "a lone ? drops the query");
    static const char *const qsl[] = { "RewriteRule ^/s/ /a?b?c=d [QSL]", NULL };
    run_lines(qsl, "/s/x", NULL, NULL, &run);
    is_string(run.filename, "/a?b", "QSL splits at the last ?");
    is_string(run.query, "c=d", "... the query");

    static const char *const chain[] = { "RewriteRule ^/c/a - [C]", "RewriteRule ^/c/(.*)$ /chained-$1 [L]",
                                         "RewriteRule ^/c/(.*)$ /unchained-$1", NULL };
    run_lines(chain, "/c/a", NULL, NULL, &run);
    is_string(run.filename, "/chained-a", "C: the chain continues when the link matches");
    run_lines(chain, "/c/b", NULL, NULL, &run);
    is_string(run.filename, "/unchained-b", "C: a failed link skips the rest of the chain");

    static const char *const skip[] = { "RewriteRule ^/k/x - [S=1]", "RewriteRule ^/k/ /skipped [L]",
                                        "RewriteRule ^/k/ /after [L]", NULL };
    run_lines(skip, "/k/x", NULL, NULL, &run);
    is_string(run.filename, "/after", "S=1");

    static const char *const next[] = { "RewriteRule ^/n/(.*)-(.*)$ /n/$1_$2 [N]", NULL };
    run_lines(next, "/n/a-b-c", NULL, NULL, &run);
    is_string(run.filename, "/n/a_b_c", "N repeats the list");
    static const char *const loop[] = { "RewriteRule ^/l/(.*)$ /l/$1 [N=4]", NULL };
    is_int(run_lines(loop, "/l/x", NULL, NULL, &run), REWRITE_STATUS, "N=4 stops a loop");
    is_int(run.status, 500, "... with 500");

    static const char *const cond_or[] = { "RewriteCond %{HTTP:X-None} =yes [OR]",
                                           "RewriteCond %{HTTP_USER_AGENT} Mobile",
                                           "RewriteRule ^/m$ /mobile", NULL };
    run_lines(cond_or, "/m", NULL, NULL, &run);
    is_string(run.filename, "/mobile", "OR: the second condition holds");

    static const char *const perdir[] = { "RewriteRule ^page/(\\d+)$ show.php?id=$1 [L]", NULL };
    run_lines(perdir, "/srv/www/app/page/7", NULL, "/srv/www/app/", &run);
    is_string(run.filename, "/srv/www/app/show.php", "per-directory: the prefix is stripped and added back");
    is_string(run.query, "id=7", "... the query");

    static const char *const redirect[] = { "RewriteRule ^/old/(.*)$ /new/$1 [R=301,L]", NULL };
    run_lines(redirect, "/old/x", NULL, NULL, &run);
    is_string(run.filename, "http://www.example.com/new/x", "R: made absolute");
    is_int(run.status, 301, "... its status");
    static const char *const reduce[] = { "RewriteRule ^/self$ http://www.example.com/local", NULL };
    run_lines(reduce, "/self", NULL, NULL, &run);
    is_string(run.filename, "/local", "an absolute URL to this server is reduced to its path");

    static const char *const env_rule[] = { "RewriteRule ^/e - [E=SEEN:%{REQUEST_METHOD}]", NULL };
    is_int(run_lines(env_rule, "/e", NULL, NULL, &run), REWRITE_UNCHANGED, "'-' changes nothing");
    is_string(request_get_env(&test_request, "SEEN"), "GET", "... but E= sets the variable");

    static const char *const bad[] = { "RewriteRule ^/x /y [P]", NULL };
    ok(configure(bad, last_error, sizeof(last_error)) == NULL, "[P] is refused");
}

int main(void)
{
    test_pool = pool_create(4096);
    test_expansion();
    test_escaping();
    test_conditions();
    test_flags();
    test_lists();
    pool_destroy(test_pool);
    return done_testing();
}
