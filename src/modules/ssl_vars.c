/*
 * ssl_vars.c — module "ssl_vars" (see ssl_vars.h): SSLOptions, SSLRequire,
 * SSLRequireSSL, SSLUserName, and mod_ssl's variables for the rest of weft:
 *  - `variable` hook: %{SSL_*} in expressions, %{SSL_*}x in LogFormat,
 *    %{SSL_*}s in Header;
 *  - fixups: HTTPS=on in the environment of every request over TLS, the
 *    SSL_* variables with SSLOptions +StdEnvVars, the certificates with
 *    +ExportCertData (CGI reads the request's environment), r->user from
 *    SSLUserName;
 *  - access: SSLRequireSSL, then every SSLRequire, 403 when one fails.
 */
#include "ssl_vars.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/buffer.h"
#include "../core/config.h"
#include "../core/expr.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../http/connection.h"
#include "../http/request_vars.h"
#include "ssl.h"

/* SSLOptions: Apache's +/- rule, as core Options (a list without signs
 * replaces what is inherited, +X and -X change it): the same struct and
 * merge (config_options_combine). */
typedef options_setting ssl_options_setting;

typedef struct ssl_requirement {
    const weft_expr *expr;
    const char *text;  /* as written, for messages */
    struct ssl_requirement *next;
} ssl_requirement;

typedef struct {
    ssl_options_setting options;
    ssl_requirement *requirements;  /* all must hold */
    bool require_ssl;
    char *user_name;                /* SSLUserName: the variable that names r->user */
} ssl_vars_dir_config;

extern const module ssl_vars_module;

static const ssl_vars_dir_config *ssl_vars_settings(const dir_config *dir)
{
    return module_dir_config(dir, &ssl_vars_module);
}

static unsigned request_options(const request *r)
{
    if (!r->dir)
        return 0;
    const ssl_options_setting *o = &ssl_vars_settings(r->dir)->options;
    return o->relative ? o->add & ~o->remove : o->value;
}

static SSL *request_ssl(const request *r)
{
    return r->connection && connection_is_secure(r->connection) ? ssl_connection_handle(r->connection) : NULL;
}

/* ---- SSLOptions -------------------------------------------------------------- */

static int set_ssl_options(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        { "StdEnvVars", SSL_OPTION_STD_ENV_VARS },
        { "ExportCertData", SSL_OPTION_EXPORT_CERT_DATA },
        { "FakeBasicAuth", SSL_OPTION_FAKE_BASIC_AUTH },
        { "StrictRequire", SSL_OPTION_STRICT_REQUIRE },
        { "OptRenegotiate", SSL_OPTION_OPT_RENEGOTIATE },
        { "LegacyDNStringFormat", SSL_OPTION_LEGACY_DN_STRING_FORMAT },
    };
    ssl_options_setting parsed = { .relative = true };
    for (int i = 0; i < argc; i++) {
        char sign = argv[i][0] == '+' || argv[i][0] == '-' ? argv[i][0] : '\0';
        const char *word = argv[i] + (sign != '\0');
        size_t n = 0;
        while (n < COUNT_OF(names) && strcasecmp(word, names[n].name) != 0)
            n++;
        if (n == COUNT_OF(names))
            return config_error(parse, "SSLOptions: Illegal option '%s' (StdEnvVars, ExportCertData, "
                                       "FakeBasicAuth, StrictRequire, OptRenegotiate, LegacyDNStringFormat)", word);
        unsigned bit = names[n].bit;
        if (bit == SSL_OPTION_FAKE_BASIC_AUTH && sign != '-')
            config_warning(parse, "SSLOptions FakeBasicAuth has no effect in weft: it has no Basic "
                                  "authentication (mod_auth_basic) for the certificate's DN to pass");
        if (sign == '-') {
            parsed.remove |= bit;
            parsed.add &= ~bit;
            parsed.value &= ~bit;
        } else {
            parsed.add |= bit;
            parsed.remove &= ~bit;
            parsed.value |= bit;
            if (!sign)
                parsed.relative = false;  /* a plain word: the list replaces what is inherited */
        }
    }
    if (!parsed.relative)
        parsed.value = parsed.add;
    /* A second SSLOptions line in one place works on the first, as in mod_ssl. */
    const void *base = (const char *)target - d->offset;
    if (config_was_set(base, d))
        config_options_combine(target, &parsed);
    else
        *(ssl_options_setting *)target = parsed;
    return WEFT_OK;
}

static void merge_ssl_options(void *merged, const void *child, pool *p)
{
    config_options_combine(merged, child);
}

static void format_ssl_options(FILE *out, const config_directive *d, const void *base)
{
    /* in the order of the bits */
    static const char *const names[][3] = {
        { "StdEnvVars", "+StdEnvVars", "-StdEnvVars" },
        { "ExportCertData", "+ExportCertData", "-ExportCertData" },
        { "FakeBasicAuth", "+FakeBasicAuth", "-FakeBasicAuth" },
        { "StrictRequire", "+StrictRequire", "-StrictRequire" },
        { "OptRenegotiate", "+OptRenegotiate", "-OptRenegotiate" },
        { "LegacyDNStringFormat", "+LegacyDNStringFormat", "-LegacyDNStringFormat" },
    };
    const ssl_options_setting *o = (const ssl_options_setting *)((const char *)base + d->offset);
    const char *argv[COUNT_OF(names)];
    int argc = 0;
    for (size_t i = 0; i < COUNT_OF(names); i++) {
        unsigned bit = 1u << i;
        if (o->relative && (o->add & bit))
            argv[argc++] = names[i][1];
        else if (o->relative && (o->remove & bit))
            argv[argc++] = names[i][2];
        else if (!o->relative && (o->value & bit))
            argv[argc++] = names[i][0];
    }
    if (argc)
        config_dump_line(out, d, argc, argv);
}

/* ---- SSLRequire ------------------------------------------------------------------ */

static int set_ssl_require(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    /* mod_ssl reads the rest of the line as written: its strings keep their quotes */
    const char *text = config_raw_arguments(parse);
    if (!text) {
        buffer joined = { 0 };
        for (int i = 0; i < argc; i++) {
            buffer_append_string(&joined, i ? " " : "");
            buffer_append_string(&joined, argv[i]);
        }
        text = pool_strdup(config_pool(parse), joined.data);
        buffer_free(&joined);
    }
    /* One quoted argument is the expression (SSLRequire "%{...} eq 'x'"). */
    size_t length = strlen(text);
    if (argc == 1 && length >= 2 && (text[0] == '"' || text[0] == '\'') && text[length - 1] == text[0])
        text = argv[0];
    char reason[512];
    char *converted = ssl_require_to_expr(config_pool(parse), text, reason, sizeof reason);
    if (!converted)
        return config_error(parse, "SSLRequire: %s in '%s'", reason, text);
    char error[768];
    weft_expr *expr = expr_parse(config_pool(parse), converted, error, sizeof error);
    if (!expr)
        return config_error(parse, "SSLRequire, rewritten into an expression (eq as ==): %s", error);
    ssl_requirement *requirement = pool_calloc(config_pool(parse), sizeof *requirement);
    requirement->expr = expr;
    requirement->text = pool_strdup(config_pool(parse), text);
    /* Several SSLRequire lines in one place must all hold. */
    ssl_requirement **list = target;
    if (config_was_set_here(parse, d))
        requirement->next = *list;
    *list = requirement;
    return WEFT_OK;
}

/* A section's requirements come on top of the inherited ones (mod_ssl
 * appends them): both must hold. */
static void merge_ssl_requirements(void *merged, const void *child, pool *p)
{
    ssl_requirement **merged_list = merged;
    ssl_requirement *head = NULL, **tail = &head;
    for (const ssl_requirement *r = *(ssl_requirement *const *)child; r; r = r->next) {
        ssl_requirement *copy = pool_alloc(p, sizeof *copy);
        *copy = *r;
        *tail = copy;
        tail = &copy->next;
    }
    *tail = *merged_list;
    *merged_list = head;
}

static void format_ssl_requirements(FILE *out, const config_directive *d, const void *base)
{
    /* one line (the dump indents a directive's first line only): all of
     * them must hold, so they are one conjunction */
    const ssl_requirement *list = *(ssl_requirement *const *)((const char *)base + d->offset);
    if (!list)
        return;
    fprintf(out, "%s ", d->name);
    for (const ssl_requirement *r = list; r; r = r->next)
        fprintf(out, list->next ? "%s(%s)" : "%s%s", r == list ? "" : " and ", r->text);
    fputc('\n', out);
}

static int set_require_ssl(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    *(bool *)target = true;
    return WEFT_OK;
}

static void format_require_ssl(FILE *out, const config_directive *d, const void *base)
{
    if (*(const bool *)((const char *)base + d->offset))
        config_dump_line(out, d, 0, NULL);
}

/* ---- the hooks -------------------------------------------------------------------- */

static const char *ssl_vars_variable(request *r, const char *name)
{
    if (strncmp(name, "SSL_", 4) != 0)
        return NULL;  /* HTTPS is the http layer's own */
    return ssl_vars_lookup(r->pool, request_ssl(r), name, request_options(r));
}

static void add_to_request(void *context, const char *name, const char *value)
{
    request_set_env(context, name, value);
}

static int ssl_vars_fixups(request *r)
{
    SSL *ssl = request_ssl(r);
    if (!ssl)
        return WEFT_DECLINED;
    request_set_env(r, "HTTPS", "on");  /* always, as mod_ssl */
    unsigned options = request_options(r);
    ssl_vars_environment(r->pool, ssl, options, add_to_request, r);
    /* SSLUserName: REMOTE_USER for CGI, %u in the log (mod_ssl's fixup) */
    const char *user_name = r->dir ? ssl_vars_settings(r->dir)->user_name : NULL;
    if (user_name) {
        const char *user = request_expr_variable(r, user_name, r->pool);
        if (user && *user)
            r->user = pool_strdup(r->pool, user);
        else
            log_message(LOG_LEVEL_INFO, "Failed to set r->user to '%s' for %s", user_name, r->path ? r->path : "-");
    }
    return WEFT_OK;
}

static int ssl_vars_access(request *r)
{
    if (!r->dir)
        return WEFT_DECLINED;
    const ssl_vars_dir_config *settings = ssl_vars_settings(r->dir);
    if (!settings->require_ssl && !settings->requirements)
        return WEFT_DECLINED;
    if (settings->require_ssl && !request_ssl(r)) {
        log_message(LOG_LEVEL_ERROR, "access to %s failed, reason: SSL connection required (client %s)",
                    r->path ? r->path : "-", r->connection ? request_client_address(r) : "-");
        return 403;
    }
    for (const ssl_requirement *requirement = settings->requirements; requirement; requirement = requirement->next) {
        if (!request_expr_holds(r, requirement->expr, "SSLRequire")) {
            log_message(LOG_LEVEL_ERROR, "access to %s denied (client %s), reason: SSL requirement expression "
                                         "not fulfilled: %s", r->path ? r->path : "-",
                        r->connection ? request_client_address(r) : "-", requirement->text);
            return 403;
        }
    }
    return WEFT_OK;
}

#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(ssl_vars_dir_config, field), \
                         .size = sizeof(((ssl_vars_dir_config *)0)->field)

static const config_directive ssl_vars_directives[] = {
    { .name = "SSLOptions", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(options), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_ssl_options, .merge = merge_ssl_options, .format = format_ssl_options,
      .syntax = "[+|-]option ...",
      .help = "StdEnvVars (SSL_* variables for CGI), ExportCertData (the certificates too), LegacyDNStringFormat; "
              "StrictRequire, OptRenegotiate and FakeBasicAuth are accepted without effect",
      .overrides = OVERRIDE_OPTIONS },
    { .name = "SSLRequire", .contexts = CONTEXT_SECTIONS, DIR_FIELD(requirements), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_ssl_require, .merge = merge_ssl_requirements,
      .format = format_ssl_requirements, .syntax = "expression",
      .help = "access only when the expression (mod_ssl's language: eq, ne, in {...}, =~, and, or, !) holds, else 403",
      .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "SSLRequireSSL", .contexts = CONTEXT_SECTIONS, DIR_FIELD(require_ssl), .min_args = 0,
      .max_args = 0, .set = set_require_ssl, .format = format_require_ssl,
      .syntax = "",
      .help = "403 for a request that did not come over TLS", .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "SSLUserName", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(user_name), .min_args = 1, .max_args = 1,
      .set = config_set_string, .format = config_format_string, .syntax = "variable",
      .help = "the variable (SSL_CLIENT_S_DN_CN, ...) whose value becomes the request's user: REMOTE_USER, %u",
      .overrides = OVERRIDE_AUTHCONFIG },
    { .name = NULL },
};
#undef DIR_FIELD

const module ssl_vars_module = {
    .name = "ssl_vars",
    .directives = ssl_vars_directives,
    .dir_config_size = sizeof(ssl_vars_dir_config),
    .access = ssl_vars_access,
    .fixups = ssl_vars_fixups,
    .variable = ssl_vars_variable,
};
