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
extern const module rewrite_module;
extern const module authz_core_module;
extern const module authz_host_module;
extern const module access_compat_module;
extern const module auth_basic_module;
extern const module setenvif_module;
extern const module proxy_module;
extern const module proxy_fcgi_module;
extern const module proxy_http_module;
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
extern const module health_module;
extern const module reqtimeout_module;
extern const module file_cache_module;
extern const module htaccess_module;
extern const module filter_module;
extern const module deflate_module;
extern const module brotli_module;
extern const module ssl_module;
extern const module ssl_stapling_module;
extern const module ssl_session_module;
extern const module ssl_vars_module;
extern const module remoteip_module;

const module *const weft_modules[] = {
    &core_module,
    &mpm_module,
    &ssl_module,          /* TLS: its contexts are built before the modules that attach to them */
    &ssl_stapling_module, /* attaches its status callback to the ssl module's contexts */
    &ssl_session_module,  /* config_complete: the shared session cache and ticket keys */
    &ssl_vars_module,     /* access: SSLRequireSSL, SSLRequire; fixups: HTTPS, SSL_* for CGI */
    &remoteip_module,     /* connection_open after ssl's (the PROXY header comes before TLS);
                           * post_read before setenvif and every access check */
    &mime_module,
    &vhost_module,
    &overrides_module,
    &error_document_module,
    &setenvif_module,     /* post_read, map_to_storage: SetEnvIf before anything tests a variable */
    &rewrite_module,      /* translate: server-context rules before Alias; fixups: per-directory rules */
    &alias_module,        /* translate: Alias and Redirect before DocumentRoot */
    &authz_core_module,   /* access: Require, before every handler */
    &authz_host_module,
    &access_compat_module, /* Order, Allow, Deny: authz_core's access hook asks it first */
    &auth_basic_module,   /* AuthType Basic, AuthUserFile: authz_core's access hook asks it for a user */
    &trace_module,      /* before every content handler: TRACE is answered whatever the handler */
    &proxy_module,        /* translate: ProxyPass; handler: SetHandler proxy:..., before CGI and static files */
    &proxy_fcgi_module,
    &proxy_http_module,
    &cgi_module,          /* translate: ScriptAlias; handler: before static files */
    &negotiation_module,  /* fixups: MultiViews, before FallbackResource (Apache's type_checker) */
    &dir_module,          /* fixups: FallbackResource; DirectorySlash for static.c */
    &static_module,
    &autoindex_module,
    &expires_module,      /* response_head: Expires before Header, which may change what it set */
    &headers_module,
    &access_log_module,
    &status_module,
    &health_module,       /* SetHandler health-check: 200, or 503 while draining */
    &reqtimeout_module,
    &file_cache_module,
    &htaccess_module,     /* keeps .htaccess files parsed for the directory walk (core/htaccess.h) */
    &filter_module,       /* SetOutputFilter & co.: adds output filters before the handler */
    &deflate_module,      /* the DEFLATE and BROTLI_COMPRESS filters' settings */
    &brotli_module,
    NULL,
};
