/*
 * apache_modules.c — what weft answers about Apache's modules: which ones
 * <IfModule> and LoadModule find built in, which module a directive weft
 * does not know comes from (so that the message can say so), and which
 * handler names SetHandler and AddHandler may use.
 *
 * An Apache module is present when weft implements its directives, whatever
 * weft's own module that does it is called (dir_module is the core's
 * DirectoryIndex, unixd_module the MPM's User and Group).  Apache spells a
 * module as its identifier ("rewrite_module") or its source file
 * ("mod_rewrite.c"); weft also takes "mod_rewrite" and "rewrite".
 */
#include "../core/module.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Apache's modules whose directives live under another weft module's name. */
static const struct {
    const char *apache;  /* Apache's short name: X of X_module and mod_X.c */
    const char *weft;    /* the weft module that implements them */
} built_in[] = {
    { "core", "core" },          /* also spelled core.c and http_core.c */
    { "http", "core" },
    { "so", "core" },            /* LoadModule */
    { "dir", "core" },           /* DirectoryIndex */
    { "unixd", "mpm_worker" },   /* User, Group, ChrootDir */
    { "mpm_worker", "mpm_worker" },
    { "cgi", "cgi" },
    { "cgid", "cgi" },
    { "env", "cgi" },            /* SetEnv, PassEnv, UnsetEnv */
    { "log_config", "log_config" },
    { "socache_shmcb", "ssl" },  /* SSLSessionCache shmcb: (modules/ssl_session.c) */
    { "authn_core", "auth_basic" },  /* AuthType, AuthName (modules/auth_basic.c) */
    { "authn_file", "auth_basic" },  /* AuthUserFile */
    { "authz_user", "auth_basic" },  /* Require user, valid-user (modules/authz.c) */
    { "authz_groupfile", "auth_basic" },  /* AuthGroupFile, Require group */
    { "authn_socache", "auth_basic" },    /* AuthnCacheTimeout: the built-in credential cache */
};

/* weft modules whose name is also an Apache module's, but which do not do
 * that module's work: weft's file_cache is not mod_file_cache (CacheFile). */
static const char *const not_apache[] = { "file_cache" };

/* Apache's modules weft replaces rather than lacks: their sections are
 * skipped without a warning (docs/migration.md). */
static const char *const replaced[] = { "mpm_event", "mpm_prefork" };

/* name without the spelling: "mod_rewrite.c", "rewrite_module", "mod_rewrite"
 * -> "rewrite"; the MPMs' source files (worker.c) -> "mpm_worker". */
static void short_name(const char *name, char *out, size_t size)
{
    static const struct {
        const char *file;
        const char *name;
    } source_files[] = {
        { "core.c", "core" }, { "http_core.c", "core" }, { "worker.c", "mpm_worker" },
        { "event.c", "mpm_event" }, { "prefork.c", "mpm_prefork" },
    };
    for (size_t i = 0; i < COUNT_OF(source_files); i++) {
        if (strcmp(name, source_files[i].file) == 0) {
            snprintf(out, size, "%s", source_files[i].name);
            return;
        }
    }
    size_t length = strlen(name);
    if (strncmp(name, "mod_", 4) == 0) {
        name += 4;
        length -= 4;
        if (length > 2 && strcmp(name + length - 2, ".c") == 0)
            length -= 2;
    } else if (length > 7 && strcmp(name + length - 7, "_module") == 0) {
        length -= 7;
    }
    snprintf(out, size, "%.*s", (int)length, name);
}

static bool weft_module_exists(const char *name)
{
    for (size_t i = 0; i < COUNT_OF(not_apache); i++)
        if (strcmp(name, not_apache[i]) == 0)
            return false;
    for (const module *const *m = weft_modules; *m; m++)
        if (strcmp((*m)->name, name) == 0)
            return true;
    return false;
}

/* Case matters, as in Apache. */
bool module_is_present(const char *name)
{
    char apache[128];
    short_name(name, apache, sizeof(apache));
    for (size_t i = 0; i < COUNT_OF(built_in); i++)
        if (strcmp(apache, built_in[i].apache) == 0 && weft_module_exists(built_in[i].weft))
            return true;
    return weft_module_exists(apache);
}

bool module_is_replaced(const char *name)
{
    char apache[128];
    short_name(name, apache, sizeof(apache));
    for (size_t i = 0; i < COUNT_OF(replaced); i++)
        if (strcmp(apache, replaced[i]) == 0)
            return true;
    return false;
}

void module_apache_name(const char *name, char *out, size_t size)
{
    if (size < 5) {
        if (size)
            out[0] = '\0';
        return;
    }
    memcpy(out, "mod_", 4);
    short_name(name, out + 4, size - 4);
}

/* ---- directives of Apache modules ----------------------------------------- */

#define DIRECTIVES_PER_MODULE 32

/* Apache directives weft does not implement, by module, so that a
 * configuration written for Apache learns why a line is refused.  A
 * directive weft implements is found in its tables first and never looked
 * up here; "<Name" rows are sections. */
static const struct {
    const char *module;
    const char *const directives[DIRECTIVES_PER_MODULE];  /* NULL-terminated */
} apache_directives[] = {
    /* Modules weft has, directives it may not (yet) implement. */
    { "core", { "ServerAdmin", "ServerSignature", "HostnameLookups", "UseCanonicalName",
                "UseCanonicalPhysicalPort", "AccessFileName", "DefaultRuntimeDir", "Mutex", "ServerPath",
                "ContentDigest", "ErrorLogFormat", "ForceType", "LimitXMLRequestBody",
                "MergeTrailers", "RLimitCPU", "RLimitMEM", "RLimitNPROC", "AcceptPathInfo",
                "HttpProtocolOptions", "QualifyRedirectURL", "SetInputFilter",
                "<If" } },
    { "mod_mime", { "AddLanguage", "AddEncoding", "RemoveType", "RemoveHandler", "RemoveCharset",
                    "RemoveEncoding", "RemoveLanguage", "RemoveInputFilter", "RemoveOutputFilter",
                    "AddInputFilter", "DefaultLanguage", "ModMimeUsePathInfo", "MultiviewsMatch" } },
    { "mod_autoindex", { "AddIcon", "AddIconByType", "AddIconByEncoding", "AddAlt", "AddAltByType",
                         "AddAltByEncoding", "AddDescription", "DefaultIcon", "HeaderName", "ReadmeName",
                         "IndexOptions", "IndexOrderDefault", "IndexStyleSheet", "IndexHeadInsert" } },
    { "mod_dir", { "FallbackResource", "DirectorySlash", "DirectoryCheckHandler" } },
    { "mod_negotiation", { "LanguagePriority", "ForceLanguagePriority", "CacheNegotiatedDocs" } },
    { "mod_setenvif", { "SetEnvIf", "SetEnvIfNoCase", "BrowserMatch", "BrowserMatchNoCase", "SetEnvIfExpr" } },
    { "mod_access_compat", { "Order", "Allow", "Deny", "Satisfy" } },
    { "mod_authz_core", { "<AuthzProviderAlias", "<Limit", "<LimitExcept" } },
    { "mod_headers", { "RequestHeader" } },
    { "mod_deflate", { "DeflateCompressionLevel", "DeflateMemLevel", "DeflateWindowSize",
                       "DeflateFilterNote", "DeflateInflateLimitRequestBody" } },
    { "mod_log_config", { "BufferedLogs", "GlobalLog" } },
    { "mod_status", { "SeeRequestTail" } },
    { "mod_cgi", { "ScriptLog", "ScriptLogLength", "ScriptLogBuffer" } },
    { "mod_cgid", { "ScriptSock", "CGIDScriptTimeout" } },
    { "mod_mpm_event", { "AsyncRequestWorkerFactor" } },
    { "mod_mpm_worker", { "MaxMemFree", "ThreadStackSize" } },
    { "mod_ssl", { "SSLProxyEngine", "SSLCARevocationFile", "SSLCARevocationPath", "SSLProxyVerify",
                   "SSLProxyCACertificateFile", "SSLInsecureRenegotiation" } },
    /* Modules weft does not have. */
    { "mod_proxy", { "ProxyPassReverseCookieDomain", "ProxyPassReverseCookiePath", "ProxyPassMatch",
                     "ProxyVia", "ProxyErrorOverride", "ProxySet", "BalancerMember",
                     "ProxyBadHeader", "NoProxy", "ProxyRemote", "<Proxy",
                     "<ProxyMatch" } },
    { "mod_auth_basic", { "AuthBasicFake", "AuthBasicUseDigestAlgorithm" } },
    { "mod_authn_core", { "<AuthnProviderAlias" } },
    { "mod_auth_digest", { "AuthDigestProvider", "AuthDigestDomain", "AuthDigestAlgorithm" } },
    { "mod_php", { "php_value", "php_flag", "php_admin_value", "php_admin_flag" } },
    { "mod_security2", { "SecRuleEngine", "SecRule", "SecAction", "SecRequestBodyAccess",
                         "SecResponseBodyAccess", "SecAuditEngine", "SecAuditLog", "SecDataDir",
                         "SecTmpDir", "SecDefaultAction", "SecRuleRemoveById" } },
    { "mod_include", { "XBitHack", "SSIErrorMsg", "SSITimeFormat", "SSIUndefinedEcho", "SSIEndTag",
                       "SSIStartTag", "SSILegacyExprParser", "SSIETag", "SSILastModified" } },
    { "mod_userdir", { "UserDir" } },
    { "mod_actions", { "Action", "Script" } },
    { "mod_cache", { "CacheEnable", "CacheDisable", "CacheDefaultExpire", "CacheMaxExpire",
                     "CacheIgnoreHeaders", "CacheLock", "CacheQuickHandler", "CacheIgnoreNoLastMod",
                     "CacheHeader" } },
    { "mod_cache_disk", { "CacheRoot", "CacheDirLevels", "CacheDirLength", "CacheMaxFileSize" } },
    { "mod_file_cache", { "CacheFile", "MMapFile" } },
    { "mod_http2", { "Protocols", "ProtocolsHonorOrder", "H2Direct", "H2Push", "H2MaxSessionStreams",
                     "H2WindowSize", "H2StreamMaxMemSize", "H2ModernTLSOnly", "H2Upgrade" } },
    { "mod_info", { "AddModuleInfo" } },
    { "mod_macro", { "<Macro", "Use", "UndefMacro" } },
    { "mod_version", { "<IfVersion" } },
    { "mod_ratelimit", { "RateLimit" } },
    { "mod_unique_id", { "UniqueIdHeader" } },
    { "mod_logio", { "LogIOTrackTTFB" } },
    { "mod_dav", { "Dav", "DavDepthInfinity", "DavMinTimeout" } },
    { "mod_dav_fs", { "DavLockDB" } },
    { "mod_speling", { "CheckSpelling", "CheckCaseOnly" } },
    { "mod_substitute", { "Substitute", "SubstituteMaxLineLength" } },
    { "mod_evasive", { "DOSHashTableSize", "DOSPageCount", "DOSSiteCount", "DOSBlockingPeriod" } },
    { "mod_wsgi", { "WSGIScriptAlias", "WSGIDaemonProcess", "WSGIProcessGroup", "WSGIApplicationGroup" } },
    { "mod_fcgid", { "FcgidMaxRequestLen", "FcgidWrapper", "FcgidConnectTimeout", "FcgidIOTimeout" } },
    { "mod_suexec", { "SuexecUserGroup" } },
    { "mod_lua", { "LuaHookTranslateName", "LuaMapHandler", "LuaRoot", "LuaScope" } },
    { "mod_ldap", { "LDAPSharedCacheSize", "LDAPCacheEntries", "LDAPTrustedGlobalCert" } },
    { "mod_authnz_ldap", { "AuthLDAPURL", "AuthLDAPBindDN", "AuthLDAPBindPassword" } },
    { "mod_session", { "Session", "SessionCookieName", "SessionMaxAge" } },
    { "mod_usertrack", { "CookieTracking", "CookieName", "CookieExpires", "CookieDomain", "CookieStyle" } },
    { "mod_charset_lite", { "CharsetSourceEnc", "CharsetDefault", "CharsetOptions" } },
    { "mod_sed", { "OutputSed", "InputSed" } },
    { "mod_buffer", { "BufferSize" } },
    { "mod_mime_magic", { "MimeMagicFile" } },
    { "mod_ident", { "IdentityCheck", "IdentityCheckTimeout" } },
    { "mod_imagemap", { "ImapMenu", "ImapDefault", "ImapBase" } },
    { "mod_log_forensic", { "ForensicLog" } },
    { "mod_dumpio", { "DumpIOInput", "DumpIOOutput" } },
    { "mod_watchdog", { "WatchdogInterval" } },
    { "mod_heartbeat", { "HeartbeatAddress", "HeartbeatListen", "HeartbeatMaxServers" } },
};

/* For the unit test: every row keeps its terminating NULL. */
static inline bool directive_rows_terminated(void)
{
    for (size_t i = 0; i < COUNT_OF(apache_directives); i++)
        if (apache_directives[i].directives[DIRECTIVES_PER_MODULE - 1])
            return false;
    return true;
}

const char *module_of_directive(const char *directive)
{
    for (size_t i = 0; i < COUNT_OF(apache_directives); i++)
        for (const char *const *name = apache_directives[i].directives; *name; name++)
            if (strcasecmp(*name, directive) == 0)
                return apache_directives[i].module;
    return NULL;
}

/* ---- handlers ------------------------------------------------------------- */

/* Handlers of Apache modules weft lacks, to name the module in the -t
 * error (a file whose handler is missing would be served as it is: a
 * disclosure for a script's source, the flag says so in the message). */
static const struct {
    const char *name;     /* a trailing ':' matches as a prefix (proxy:fcgi://...) */
    const char *module;
    bool source_is_secret;
} apache_handlers[] = {
    { "type-map", "mod_negotiation", false },
    { "send-as-is", "mod_asis", false },
    { "imap-file", "mod_imagemap", false },
    { "server-parsed", "mod_include", false },
    { "server-info", "mod_info", false },
    { "balancer-manager", "mod_proxy_balancer", false },
    { "ldap-status", "mod_ldap", false },
    { "proxy:balancer:", "mod_proxy_balancer", true },
    { "proxy:http:", "mod_proxy_http's SetHandler form (ProxyPass is built)", true },
    { "proxy:", "mod_proxy", true },
    { "application/x-httpd-php", "mod_php", true },
    { "application/x-httpd-php-source", "mod_php", true },
    { "php-script", "mod_php", true },
    { "fcgid-script", "mod_fcgid", true },
    { "perl-script", "mod_perl", true },
    { "wsgi-script", "mod_wsgi", true },
    { "lua-script", "mod_lua", true },
};

const char *module_of_handler(const char *name, bool *source_is_secret)
{
    for (size_t i = 0; i < COUNT_OF(apache_handlers); i++) {
        size_t length = strlen(apache_handlers[i].name);
        bool prefix = apache_handlers[i].name[length - 1] == ':';
        if (prefix ? strncasecmp(name, apache_handlers[i].name, length) == 0
                   : strcasecmp(name, apache_handlers[i].name) == 0) {
            if (source_is_secret)
                *source_is_secret = apache_handlers[i].source_is_secret;
            return apache_handlers[i].module;
        }
    }
    return NULL;
}

bool module_handler_exists(const char *name)
{
    if (strcasecmp(name, "None") == 0 || strcasecmp(name, "default-handler") == 0)
        return true;
    for (const module *const *m = weft_modules; *m; m++) {
        for (const char *const *handler = (*m)->handlers; handler && *handler; handler++) {
            /* A name ending in ':' is a prefix: "proxy:" takes proxy:fcgi://... */
            size_t length = strlen(*handler);
            if (length && (*handler)[length - 1] == ':' ? strncasecmp(*handler, name, length) == 0
                                                        : strcasecmp(*handler, name) == 0)
                return true;
        }
    }
    return false;
}

void module_handler_names(char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "default-handler");
    for (const module *const *m = weft_modules; *m; m++)
        for (const char *const *handler = (*m)->handlers; handler && *handler; handler++)
            if (used < size)
                used += (size_t)snprintf(out + used, size - used, ", %s", *handler);
}
