/*
 * modules.c — the compiled-in modules, in the order their hooks run.
 */
#include "../core/module.h"

#include <string.h>

extern const module core_module;
extern const module mpm_module;
extern const module mime_module;
extern const module vhost_module;
extern const module overrides_module;
extern const module error_document_module;
extern const module alias_module;
extern const module authz_core_module;
extern const module authz_host_module;
extern const module cgi_module;
extern const module static_module;
extern const module negotiation_module;
extern const module dir_module;
extern const module trace_module;
extern const module autoindex_module;
extern const module headers_module;
extern const module expires_module;
extern const module access_log_module;
extern const module status_module;
extern const module reqtimeout_module;
extern const module file_cache_module;
extern const module filter_module;
extern const module deflate_module;
extern const module brotli_module;

const module *const weft_modules[] = {
    &core_module,
    &mpm_module,
    &mime_module,
    &vhost_module,
    &overrides_module,
    &error_document_module,
    &alias_module,        /* translate: Alias and Redirect before DocumentRoot */
    &authz_core_module,   /* access: Require, before every handler */
    &authz_host_module,
    &trace_module,      /* before every content handler: TRACE is answered whatever the handler */
    &cgi_module,          /* translate: ScriptAlias; handler: before static files */
    &negotiation_module,  /* fixups: MultiViews, before FallbackResource (Apache's type_checker) */
    &dir_module,          /* fixups: FallbackResource; DirectorySlash for static.c */
    &static_module,
    &autoindex_module,
    &expires_module,      /* response_head: Expires before Header, which may change what it set */
    &headers_module,
    &access_log_module,
    &status_module,
    &reqtimeout_module,
    &file_cache_module,
    &filter_module,       /* SetOutputFilter & co.: adds output filters before the handler */
    &deflate_module,      /* the DEFLATE and BROTLI_COMPRESS filters' settings */
    &brotli_module,
    NULL,
};

/* Apache configurations name modules in several ways (<IfModule status>,
 * mod_status, mod_status.c, status_module); all of them should work here.
 * Case matters, as in Apache. */
static bool module_answers_to(const module *m, const char *name)
{
    size_t length = strlen(m->name);
    if (strcmp(name, m->name) == 0)
        return true;
    if (strncmp(name, "mod_", 4) == 0 && strncmp(name + 4, m->name, length) == 0)
        return name[4 + length] == '\0' || strcmp(name + 4 + length, ".c") == 0;
    return strncmp(name, m->name, length) == 0 && strcmp(name + length, "_module") == 0;
}

bool module_is_present(const char *name)
{
    /* Apache's worker MPM source file, as old configurations test for it. */
    if (strcmp(name, "worker.c") == 0)
        return true;
    for (const module *const *m = weft_modules; *m; m++)
        if (module_answers_to(*m, name))
            return true;
    return false;
}
