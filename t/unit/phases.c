/*
 * Unit tests for the request phases of src/http/request.c (module.h,
 * docs/modules.md): the order post_read, translate, map_to_storage,
 * check_user, access, fixups, handler; the return conventions (WEFT_OK and
 * WEFT_DECLINED go on, WEFT_DONE ends with the response a hook set up, an
 * HTTP status answers with it, the first check_user OK ends that phase);
 * error_response only for failures; response_head and log run every module's
 * hook.  Modules here are test modules that record what ran.
 */
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/http/parser.c"
#include "../../src/http/request.c"

/* ---- stand-ins for what request.c calls beyond itself ------------------- */

int log_threshold;
void log_message(int level, const char *format, ...) {}
const char *connection_local_address(const connection *c) { return "127.0.0.1"; }
int connection_local_port(const connection *c) { return 80; }
bool vhost_needs_local_address(const server_config *main) { return false; }
const server_config *vhost_select(const server_config *main, const char *local_address, int local_port,
                                  const char *host, size_t length)
{
    return main;
}
const dir_config *config_dir_for_request(const server_config *server, const char *file_path,
                                         const char *url_path, pool *p)
{
    return server->root_dir;
}
const dir_config *config_merge_conditions(const server_config *server, const dir_config *merged,
                                          const char *file_path, const char *url_path,
                                          struct expr_context *context, pool *p)
{
    return merged;
}
int config_request_dir(const server_config *server, const char *file_path, const char *url_path,
                       struct expr_context *context, pool *p, const dir_config **result)
{
    *result = server->root_dir;
    return WEFT_OK;
}
void request_expr_context(request *r, expr_context *context) {}
void response_add_header(request *r, const char *name, const char *value) {}
int uri_parse_target(pool *pl, const char *target, size_t length, http_method method, char **path, char **query,
                     char **absolute_host, int *error_status)
{
    *path = pool_strndup(pl, target, length);
    *query = NULL;
    return WEFT_OK;
}
int uri_normalize_path(pool *pl, const char *raw, size_t length, char **path, int *error_status)
{
    *path = pool_strndup(pl, raw, length);
    return WEFT_OK;
}
char *uri_escape_path(pool *pl, const char *path)
{
    return pool_strdup(pl, path);
}
int response_set_error(request *r, int status)
{
    r->status = status;
    return WEFT_OK;
}

/* ---- test modules: each hook appends "module.phase" to the trace -------- */

static char trace[512];
static int answer[2][16];  /* per module, per phase: what the hook returns */

enum { P_POST_READ, P_TRANSLATE, P_MAP, P_CHECK_USER, P_ACCESS, P_FIXUPS, P_HANDLER, P_ERROR, P_COUNT };
static const char *const phase_names[] = { "post_read", "translate", "map", "user", "access", "fixups",
                                           "handler", "error" };

static int record(int module_number, int which, request *r)
{
    char entry[32];
    snprintf(entry, sizeof entry, "%s%c.%s", trace[0] ? " " : "", 'a' + module_number, phase_names[which]);
    strncat(trace, entry, sizeof trace - strlen(trace) - 1);
    int rc = answer[module_number][which];
    if (which == P_TRANSLATE && rc == WEFT_OK)
        r->file_path = "/translated";
    if (which == P_HANDLER && rc == WEFT_OK)
        r->status = 200;
    if (which == P_ERROR && rc == WEFT_OK)
        r->status = 299;  /* an answer of the hook's own, as ErrorDocument's redirect would be */
    return rc;
}

#define HOOKS(n, x)                                                                   \
    static int x##_post_read(request *r) { return record(n, P_POST_READ, r); }        \
    static int x##_translate(request *r) { return record(n, P_TRANSLATE, r); }        \
    static int x##_map(request *r) { return record(n, P_MAP, r); }                    \
    static int x##_user(request *r) { return record(n, P_CHECK_USER, r); }            \
    static int x##_access(request *r) { return record(n, P_ACCESS, r); }              \
    static int x##_fixups(request *r) { return record(n, P_FIXUPS, r); }              \
    static int x##_handler(request *r) { return record(n, P_HANDLER, r); }            \
    static int x##_error(request *r, int status) { return record(n, P_ERROR, r); }    \
    static int x##_heads, x##_logs;                                                   \
    static void x##_head(request *r) { x##_heads++; }                                 \
    static void x##_log(request *r) { x##_logs++; }                                   \
    static const module x##_module = {                                                \
        .name = #x, .post_read = x##_post_read, .translate = x##_translate,           \
        .map_to_storage = x##_map, .check_user = x##_user, .access = x##_access,      \
        .fixups = x##_fixups, .handler = x##_handler, .error_response = x##_error,    \
        .response_head = x##_head, .log = x##_log,                                    \
    };

HOOKS(0, first)
HOOKS(1, second)

/* A module with no hooks at all is simply skipped. */
static const module quiet_module = { .name = "quiet" };

const module *const weft_modules[] = { &first_module, &quiet_module, &second_module, NULL };

/* ---- helpers ------------------------------------------------------------ */

static pool *p;
static dir_config root_dir;
static server_config server = { .document_root = "/docroot", .root_dir = &root_dir,
                                .limit_request_line = 8190, .limit_request_field_size = 8190,
                                .limit_request_fields = 100 };

static void reset(void)
{
    trace[0] = '\0';
    for (int m = 0; m < 2; m++)
        for (int which = 0; which < P_COUNT; which++)
            answer[m][which] = WEFT_DECLINED;
}

/* Runs one GET through request_handle; returns the final status. */
static int run(const char *target)
{
    static char head[256];
    snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", target);
    static request r;
    connection *c = NULL;
    memset(&r, 0, sizeof r);
    r.pool = p;
    r.connection = c;
    r.server = &server;
    r.dir = &root_dir;
    r.head = head;
    r.body_file = -1;
    http_limits limits = { 8190, 8190, 100, 0 };
    http_parser_init(&r.parser, &limits, p);
    if (http_parse_request(&r.parser, head, strlen(head)) != WEFT_OK)
        return -1;
    request_handle(&r);
    return r.status;
}

/* ---- tests -------------------------------------------------------------- */

static void test_order(void)
{
    reset();
    answer[1][P_HANDLER] = WEFT_OK;
    is_int(run("/x"), 200, "the second module's handler answers");
    is_string(trace,
              "a.post_read b.post_read a.translate b.translate a.map b.map a.user b.user a.access b.access "
              "a.fixups b.fixups a.handler b.handler",
              "every phase in the documented order, each in weft_modules order");
}

static void test_conventions(void)
{
    reset();
    answer[0][P_TRANSLATE] = WEFT_OK;
    answer[1][P_HANDLER] = WEFT_OK;
    run("/x");
    ok(strstr(trace, "a.translate a.map") != NULL, "translate ends at the first WEFT_OK");

    reset();
    answer[0][P_CHECK_USER] = WEFT_OK;
    answer[0][P_ACCESS] = WEFT_OK;
    answer[1][P_HANDLER] = WEFT_OK;
    run("/x");
    ok(strstr(trace, "a.user a.access b.access") != NULL,
       "check_user ends at the first WEFT_OK; access goes on after WEFT_OK");

    reset();
    answer[1][P_ACCESS] = 403;
    is_int(run("/x"), 403, "a status from access answers");
    ok(strstr(trace, "b.access a.error b.error") && !strstr(trace, "fixups") && !strstr(trace, "handler"),
       "nothing after the refusal runs but the error_response hooks");

    reset();
    answer[0][P_POST_READ] = WEFT_DONE;
    answer[0][P_FIXUPS] = WEFT_OK;
    is_int(run("/x"), 200, "WEFT_DONE from post_read: the hook's response (200 when it set none)");
    is_string(trace, "a.post_read", "and no other phase runs");

    reset();
    answer[0][P_MAP] = WEFT_DONE;
    run("/x");
    is_string(trace, "a.post_read b.post_read a.translate b.translate a.map", "WEFT_DONE from map_to_storage");

    reset();
    answer[1][P_FIXUPS] = 500;
    answer[0][P_ERROR] = WEFT_OK;
    is_int(run("/x"), 299, "a status from fixups, answered by an error_response hook");
    ok(strstr(trace, "b.fixups a.error") && !strstr(trace, "b.error"),
       "the first error_response hook that answers ends that phase");

    reset();
    is_int(run("/x"), 404, "no handler answers: 404");
    ok(strstr(trace, "a.handler b.handler a.error b.error") != NULL, "error_response hooks see the 404");
}

static void test_head_and_log(void)
{
    first_heads = second_heads = first_logs = second_logs = 0;
    request r = { .pool = p, .server = &server, .dir = &root_dir };
    request_run_response_head(&r);
    request_run_log(&r);
    request_run_log(&r);
    ok(first_heads == 1 && second_heads == 1, "response_head runs every module's hook once");
    ok(first_logs == 2 && second_logs == 2, "log runs every module's hook");
}

/* The request environment: nothing allocated until a variable is set;
 * names case-insensitive; set replaces; unset keeps the others in order. */
static void test_environment(void)
{
    request r;
    memset(&r, 0, sizeof(r));
    r.pool = p;
    ok(request_get_env(&r, "anything") == NULL && r.env == NULL, "an empty environment allocates nothing");
    request_unset_env(&r, "anything");
    ok(r.env == NULL, "unsetting in an empty environment allocates nothing");
    char name[32], value[32];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "var%d", i);
        snprintf(value, sizeof(value), "value %d", i);
        request_set_env(&r, name, value);
    }
    is_int(r.env_count, 20, "twenty variables (the array grows)");
    is_string(request_get_env(&r, "VAR7"), "value 7", "names compare case-insensitively (Apache's tables)");
    snprintf(value, sizeof(value), "%s", "copied");
    request_set_env(&r, "var3", value);
    value[0] = 'X';
    is_string(request_get_env(&r, "var3"), "copied", "set copies the value and replaces the old one");
    is_int(r.env_count, 20, "replacing adds no entry");
    request_unset_env(&r, "Var0");
    ok(request_get_env(&r, "var0") == NULL, "unset removes it");
    is_int(r.env_count, 19, "... and only it");
    is_string(r.env[0].name, "var1", "the others keep their order");
    is_string(request_get_env(&r, "var19"), "value 19", "the last one is still there");
}

int main(void)
{
    p = pool_create(4096);
    test_environment();
    test_order();
    test_conventions();
    test_head_and_log();
    pool_destroy(p);
    return done_testing();
}
