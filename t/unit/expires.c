/* Unit tests for src/modules/expires.c: the expiry code syntax, rule
 * lookup by type and the fields it adds.  The configuration engine is not
 * linked: the few config_* functions expires.c names have stand-ins. */
#include "tap.h"

/* module_server_config / module_dir_config are defined below (module.h). */
#define WEFT_MODULE_CONFIG_STUBS

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/http/date.c"
#include "../../src/modules/expires.c"

/* A dir_config with the module's own struct beside it: module_dir_config
 * (core/config_merge.c, not linked) finds it there. */
typedef struct {
    dir_config dir;
    expires_dir_config expires;
} test_dir;

void *module_dir_config(const dir_config *dir, const module *m)
{
    return &((test_dir *)dir)->expires;
}

/* --- stand-ins for src/http/response.c (which drags in the whole
 * connection layer) --- */
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
};

int config_error(config_parse *parse, const char *format, ...)
{
    parse->errors++;
    return WEFT_ERROR;
}
pool *config_pool(config_parse *parse) { return parse->pool; }
int config_set_flag(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    *(bool *)target = strcasecmp(argv[0], "on") == 0;
    return WEFT_OK;
}

static void parses(const char *code, bool modification, int64_t seconds)
{
    bool got_modification = !modification;
    int64_t got_seconds = -1;
    const char *problem = NULL;
    int rc = expires_parse_code(code, &got_modification, &got_seconds, &problem);
    if (!ok(rc == WEFT_OK && got_modification == modification && got_seconds == seconds, "'%s' -> %s + %lld s",
            code, modification ? "modification" : "access", (long long)seconds))
        note("  rc %d, %s + %lld, problem %s", rc, got_modification ? "modification" : "access",
             (long long)got_seconds, problem ? problem : "-");
}

static void refuses(const char *code)
{
    bool modification;
    int64_t seconds;
    const char *problem = NULL;
    int rc = expires_parse_code(code, &modification, &seconds, &problem);
    ok(rc == WEFT_ERROR && problem, "'%s' is refused (%s)", code, problem ? problem : "no reason");
}

static void test_syntax(void)
{
    parses("access plus 1 hour", false, 3600);
    parses("access plus 1 month", false, 30 * 86400);
    parses("now plus 1 day", false, 86400);
    parses("modification plus 2 weeks", true, 14 * 86400);
    parses("access 1 year", false, 365 * 86400);
    parses("ACCESS PLUS 10 MINUTES", false, 600);
    parses("access plus 1 month 15 days 2 hours", false, 30 * 86400 + 15 * 86400 + 7200);
    parses("access plus 30 seconds", false, 30);
    parses("access plus 1 second", false, 1);
    parses("access plus 0 seconds", false, 0);
    parses("access", false, 0);
    parses("  access   plus  5   minutes  ", false, 300);
    parses("A3600", false, 3600);
    parses("M86400", true, 86400);
    parses("A0", false, 0);
    refuses("");
    refuses("later plus 1 hour");
    parses("access plus", false, 0);   /* as Apache: nothing after plus is zero */
    refuses("access plus 1");
    refuses("access plus hour");
    refuses("access plus 1 fortnight");
    refuses("access plus -1 hour");
    refuses("access plus 1.5 hours");
    refuses("access plus 1 hours 2");
    refuses("access plus 99999999999999999999 seconds");
    refuses("access plus 99999999 years");
    refuses("A");
    refuses("A-5");
    refuses("X3600");
    refuses("A12x");
}

static request *new_request(pool *p, dir_config *dir, int status, const char *type)
{
    request *r = pool_calloc(p, sizeof(*r));
    r->pool = p;
    r->dir = dir;
    r->status = status;
    r->content_type = type;
    r->start_seconds = 1800000000;   /* Fri, 15 Jan 2027 08:00:00 GMT */
    r->body_file = -1;
    return r;
}

static const char *field(request *r, const char *name)
{
    for (int i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void test_apply(void)
{
    pool *p = pool_create(4096);
    config_parse parse = { p, 0 };
    test_dir dir = { 0 };
    char *html[] = { "text/html", "access plus 1 hour" };
    char *image[] = { "image/*", "modification plus 1 day" };
    char *fallback[] = { "A60" };
    set_expires_by_type(&parse, &expires_directives[1], &dir.expires.expires_by_type, 2, html);
    set_expires_by_type(&parse, &expires_directives[1], &dir.expires.expires_by_type, 2, image);
    set_expires_default(&parse, &expires_directives[2], &dir.expires.expires_default, 1, fallback);
    is_int(parse.errors, 0, "the rules are accepted");
    char *bad_type[] = { "html", "A1" };
    set_expires_by_type(&parse, &expires_directives[1], &dir.expires.expires_by_type, 2, bad_type);
    char *bad_star[] = { "image/p*", "A1" };
    set_expires_by_type(&parse, &expires_directives[1], &dir.expires.expires_by_type, 2, bad_star);
    is_int(parse.errors, 2, "'html' and 'image/p*' are refused as types");

    request *r = new_request(p, &dir.dir, 200, "text/html; charset=utf-8");
    expires_apply(r);
    is_string(field(r, "Expires"), NULL, "nothing while ExpiresActive is off");

    dir.expires.expires_active = true;
    expires_apply(r);
    is_string(field(r, "Cache-Control"), "max-age=3600", "text/html: max-age");
    is_string(field(r, "Expires"), "Fri, 15 Jan 2027 09:00:00 GMT", "text/html: Expires an hour later");

    r = new_request(p, &dir.dir, 200, "TEXT/HTML");
    expires_apply(r);
    is_string(field(r, "Cache-Control"), "max-age=3600", "types match case-insensitively");

    r = new_request(p, &dir.dir, 200, "image/png");
    r->last_modified = 1800000000 - 3600;
    expires_apply(r);
    is_string(field(r, "Cache-Control"), "max-age=82800", "image/*: modification plus a day");

    r = new_request(p, &dir.dir, 200, "image/png");
    r->last_modified = 1800000000 - 2 * 86400;
    expires_apply(r);
    is_string(field(r, "Cache-Control"), "max-age=0", "an expiry in the past is clipped to now");
    is_string(field(r, "Expires"), "Fri, 15 Jan 2027 08:00:00 GMT", "... and Expires is now");

    r = new_request(p, &dir.dir, 200, "image/png");
    expires_apply(r);
    is_string(field(r, "Expires"), NULL, "a modification rule needs a Last-Modified");

    r = new_request(p, &dir.dir, 200, "application/json");
    expires_apply(r);
    is_string(field(r, "Cache-Control"), "max-age=60", "other types: ExpiresDefault");

    r = new_request(p, &dir.dir, 200, NULL);
    expires_apply(r);
    is_string(field(r, "Cache-Control"), "max-age=60", "no type: ExpiresDefault");

    r = new_request(p, &dir.dir, 304, "text/html");
    expires_apply(r);
    is_string(field(r, "Cache-Control"), "max-age=3600", "304 gets the fields too");

    r = new_request(p, &dir.dir, 404, "text/html");
    expires_apply(r);
    is_string(field(r, "Expires"), NULL, "errors do not");

    r = new_request(p, &dir.dir, 200, "text/html");
    response_add_header(r, "Cache-Control", "public");
    expires_apply(r);
    is_string(field(r, "Cache-Control"), "public, max-age=3600", "merged into an existing Cache-Control");

    r = new_request(p, &dir.dir, 200, "text/html");
    response_add_header(r, "Expires", "0");
    expires_apply(r);
    is_string(field(r, "Expires"), "0", "an existing Expires is left alone");
    is_string(field(r, "Cache-Control"), NULL, "... and so is Cache-Control");

    /* Merging: the section's rule for a type wins over the enclosing one. */
    test_dir section = { 0 };
    char *html_short[] = { "text/html", "access plus 5 minutes" };
    set_expires_by_type(&parse, &expires_directives[1], &section.expires.expires_by_type, 2, html_short);
    test_dir merged = dir;
    merge_expires_by_type(&merged.expires.expires_by_type, &section.expires.expires_by_type, p);
    r = new_request(p, &merged.dir, 200, "text/html");
    expires_apply(r);
    is_string(field(r, "Cache-Control"), "max-age=300", "the innermost ExpiresByType wins");
    r = new_request(p, &merged.dir, 200, "image/gif");
    r->last_modified = 1800000000;
    expires_apply(r);
    is_string(field(r, "Cache-Control"), "max-age=86400", "the enclosing rules still apply");
    ok(dir.expires.expires_by_type->seconds == 86400 || dir.expires.expires_by_type->next, "the enclosing list is not modified");
    pool_destroy(p);
}

int main(void)
{
    test_syntax();
    test_apply();
    return done_testing();
}
