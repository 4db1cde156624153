/*
 * Unit tests for Define, UnDefine and ${VAR} (config.c, config_lexer.c),
 * <IfModule> and LoadModule against Apache's module names
 * (modules/apache_modules.c), the warning for skipped <IfModule> blocks,
 * handler names, LogLevel's module levels, the <VirtualHost> connection
 * directives and the messages for directives weft does not have.
 *
 * weft_modules here is the real core plus named stand-ins for the modules
 * whose Apache names are mapped (mpm_worker, cgi, log_config, status).
 */
#include "tap.h"

#include "core/buffer.c"
#include "core/config.c"
#include "core/config_sections.c"
#include "core/regex.c"
#include "core/expr.c"
#include "core/expr_eval.c"
#include "core/network.c"
#include "core/config_dump.c"
#include "core/config_lexer.c"
#include "core/config_merge.c"
#include "core/match.c"
#include "core/core_module.c"
#include "core/pool.c"
#include "core/vhost.c"
#include "core/log.c"
#include "core/blocking.c"
#include "core/piped_log.c"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const cgi_handlers[] = { "cgi-script", NULL };
static const char *const status_handlers[] = { "server-status", NULL };
static const module mpm_stand_in = { .name = "mpm_worker" };
static const module cgi_stand_in = { .name = "cgi", .handlers = cgi_handlers };
static const module log_stand_in = { .name = "log_config" };
static const module status_stand_in = { .name = "status", .handlers = status_handlers };
static const module file_cache_stand_in = { .name = "file_cache" };

const module *const weft_modules[] = {
    &core_module, &vhost_module, &mpm_stand_in, &cgi_stand_in, &log_stand_in, &status_stand_in,
    &file_cache_stand_in, NULL,
};

#include "modules/apache_modules.c"

static char root[PATH_MAX];
static config_messages errors, warnings;

static const char *text(const char *format, ...) PRINTF_LIKE(1, 2);
static const char *text(const char *format, ...)
{
    static char slots[8][1024];
    static int next;
    char *slot = slots[next++ % 8];
    va_list args;
    va_start(args, format);
    vsnprintf(slot, sizeof(slots[0]), format, args);
    va_end(args);
    return slot;
}

static server_config *load_with(const char *content, const char *const *defines, int define_count)
{
    FILE *file = fopen(text("%s/t.conf", root), "w");
    fputs(content, file);
    fclose(file);
    config_messages_free(&errors);
    config_messages_free(&warnings);
    config_options options = { .server_root = root, .config_file = "t.conf", .defines = defines,
                               .define_count = define_count };
    server_config *server = config_load(&options, &errors, &warnings);
    for (int i = 0; i < errors.count; i++)
        note("error: %s", errors.messages[i]);
    return server;
}

static server_config *load(const char *content)
{
    return load_with(content, NULL, 0);
}

static const char *at_line(int line, const char *message)
{
    return text("%s/t.conf:%d: %s", root, line, message);
}

static const char *warning_at(int index)
{
    return index < warnings.count ? warnings.messages[index] : "(none)";
}

static const char *error_at(int index)
{
    return index < errors.count ? errors.messages[index] : "(none)";
}

static const char *index_list(const server_config *server)
{
    static char list[256];
    list[0] = '\0';
    if (!server || !server->root_dir->directory_index)
        return "(unset)";
    for (char **name = server->root_dir->directory_index; *name; name++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? " " : "", *name);
    return list;
}

/* ---- the expansion itself ------------------------------------------------ */

static const char *test_lookup(void *context, const char *name)
{
    if (strcmp(name, "A") == 0)
        return "alpha";
    if (strcmp(name, "TWO") == 0)
        return "one two";
    if (strcmp(name, "REF") == 0)
        return "${A}";
    if (strcmp(name, "EMPTY") == 0)
        return "";
    return NULL;
}

static char undefined_names[256];

static void test_undefined(void *context, const char *name)
{
    snprintf(undefined_names + strlen(undefined_names), sizeof(undefined_names) - strlen(undefined_names), "[%s]",
             name);
}

static const char *expand(pool *p, const char *line)
{
    undefined_names[0] = '\0';
    return config_expand_variables(p, line, test_lookup, NULL, test_undefined);
}

static void test_expansion(void)
{
    pool *p = pool_create(4096);
    const char *plain = "DocumentRoot /var/www $HOME {A}";
    ok(config_expand_variables(p, plain, test_lookup, NULL, test_undefined) == plain,
       "a line without ${ is returned as it is");
    is_string(expand(p, "x${A}y ${A}"), "xalphay alpha", "anywhere in a word, several times");
    is_string(expand(p, "Directive ${TWO}"), "Directive one two", "a value may hold several words");
    is_string(expand(p, "${REF}"), "${A}", "values are not expanded again");
    is_string(expand(p, "a${EMPTY}b"), "ab", "an empty value (of the environment) is empty");
    is_string(expand(p, "x ${NOPE} y"), "x ${NOPE} y", "an undefined variable stays as written");
    is_string(undefined_names, "[NOPE]", "... and is reported by name");
    is_string(expand(p, "RewriteRule ^ ${map:key}"), "RewriteRule ^ ${map:key}", "${map:key} stays");
    is_string(undefined_names, "", "... unreported (it is mod_rewrite's)");
    is_string(expand(p, "x ${A"), "x ${A", "an unterminated ${ stays");
    is_string(expand(p, "$${A}"), "$alpha", "$${A}: the first $ is literal (no escape in Apache)");
    is_string(expand(p, "${}"), "${}", "${} stays");
    is_string(undefined_names, "[]", "... reported, as Apache does");
    is_string(expand(p, "${A}${NOPE}${A}"), "alpha${NOPE}alpha", "adjacent variables");
    pool_destroy(p);
}

/* ---- Define, UnDefine, -D, the environment -------------------------------- */

static void test_define(void)
{
    setenv("WEFT_UNIT_ENV", "from-env", 1);
    setenv("WEFT_UNIT_BOTH", "env-loses", 1);
    unsetenv("WEFT_UNIT_UNSET");
    server_config *server = load("Listen 80\n"
                                 "Define WEFT_UNIT_BOTH define-wins\n"
                                 "ServerName ${WEFT_UNIT_ENV}.${WEFT_UNIT_BOTH}\n"
                                 "Define INDEX \"DirectoryIndex first.html second.html\"\n"
                                 "${INDEX}\n");
    ok(server != NULL, "Define and ${VAR} load");
    is_string(server ? server->server_name : NULL, "from-env.define-wins",
              "the environment, and a Define before it");
    is_string(index_list(server), "first.html second.html", "a variable may be a whole line of several words");
    is_int(warnings.count, 0, "no warnings");
    config_free(server);

    server = load("Listen 80\n"
                  "ServerName ${WEFT_UNIT_UNSET}\n"
                  "<IfDefine NEVER>\n"
                  "ServerName ${WEFT_UNIT_UNSET_TOO}\n"
                  "</IfDefine>\n");
    ok(server != NULL, "an undefined variable is not an error");
    is_string(server ? server->server_name : NULL, "${WEFT_UNIT_UNSET}", "... it is left as written");
    is_int(warnings.count, 1, "one warning: none inside a skipped block");
    is_string(warning_at(0), at_line(2, "Config variable ${WEFT_UNIT_UNSET} is not defined"), "Apache's warning");
    config_free(server);

    server = load("Listen 80\n"
                  "Define NAME_ONLY\n"
                  "Define EMPTY \"\"\n"
                  "<IfDefine NAME_ONLY>\n"
                  "<IfDefine EMPTY>\n"
                  "ServerName ${NAME_ONLY}${EMPTY}\n"
                  "</IfDefine>\n"
                  "</IfDefine>\n");
    is_string(server ? server->server_name : NULL, "${NAME_ONLY}${EMPTY}",
              "a name without a value (or an empty one) is defined for <IfDefine> only");
    is_int(warnings.count, 2, "... and ${} of it warns");
    config_free(server);

    const char *defines[] = { "FROM_D", "OTHER" };
    server = load_with("Listen 80\n"
                       "<Directory />\n"
                       "  Define IN_DIRECTORY dir\n"
                       "</Directory>\n"
                       "<VirtualHost *:80>\n"
                       "  Define IN_VHOST vhost\n"
                       "</VirtualHost>\n"
                       "UnDefine OTHER\n"
                       "UnDefine NEVER_DEFINED\n"
                       "<IfDefine FROM_D>\n"
                       "<IfDefine !OTHER>\n"
                       "ServerName ${IN_DIRECTORY}-${IN_VHOST}\n"
                       "</IfDefine>\n"
                       "</IfDefine>\n",
                       defines, 2);
    is_string(server ? server->server_name : NULL, "dir-vhost",
              "-D names, UnDefine of one, and Defines inside sections are global");
    config_free(server);

    server = load("Listen 80\nDefine A:B 1\nDefine\nUnDefine A B\n");
    ok(server == NULL, "Define's mistakes are errors");
    is_string(error_at(0), at_line(2, "Variable name must not contain ':'"), "a ':' in the name (Apache's words)");
    is_string(error_at(1), at_line(3, "Define takes one or two arguments, defines a name for <IfDefine> and, with "
                                      "a value, ${name} in the lines that follow"), "Define without a name");
    is_string(error_at(2), at_line(4, "UnDefine takes one argument, forgets a name Define or -D defined"),
              "UnDefine with two");
    config_free(server);

    server = load("Listen 80\n"
                  "Define SECTION IfDefine\n"
                  "Define WHAT DirectoryIndex\n"
                  "<${SECTION} SECTION>\n"
                  "${WHAT} from-section.html\n"
                  "</${SECTION}>\n");
    is_string(index_list(server), "from-section.html", "section lines are expanded too");
    config_free(server);
}

/* ---- <IfModule>, LoadModule --------------------------------------------- */

static void test_module_names(void)
{
    static const char *const present[] = {
        "dir_module", "mod_dir.c", "mod_dir", "dir", "unixd_module", "mod_unixd.c", "env_module", "mod_env.c",
        "cgi_module", "cgid_module", "mod_cgid.c", "log_config_module", "mod_log_config.c", "so_module",
        "mod_so.c", "core_module", "core.c", "http_core.c", "mpm_worker_module", "worker.c", "status_module",
        "mod_status.c", "mod_status", "status",
    };
    for (size_t i = 0; i < COUNT_OF(present); i++)
        ok(module_is_present(present[i]), "<IfModule %s> is true", present[i]);
    static const char *const absent[] = {
        "rewrite_module", "mod_rewrite.c", "mpm_event_module", "mpm_prefork_module",
        "prefork.c", "event.c", "php7_module", "mod_php.c", "proxy_module", "auth_basic_module",
        "authn_file_module", "authz_user_module", "file_cache_module", "mod_file_cache.c", "Dir_module",
        "dir_module.c", "",
    };
    for (size_t i = 0; i < COUNT_OF(absent); i++)
        ok(!module_is_present(absent[i]), "<IfModule %s> is false", absent[i]);
    ok(module_is_replaced("mpm_event_module") && module_is_replaced("prefork.c") &&
       !module_is_replaced("rewrite_module"), "the MPMs weft replaces");
    char name[64];
    module_apache_name("rewrite_module", name, sizeof(name));
    is_string(name, "mod_rewrite", "rewrite_module is called mod_rewrite");
    module_apache_name("mod_ssl.c", name, sizeof(name));
    is_string(name, "mod_ssl", "mod_ssl.c is called mod_ssl");
    module_apache_name("php7", name, sizeof(name));
    is_string(name, "mod_php7", "php7 is called mod_php7");
    module_apache_name("mod_rewrite.c", name, 6);
    is_string(name, "mod_r", "a short buffer is cut, terminated");
}

static void test_skipped_blocks(void)
{
    server_config *server = load("Listen 80\n"                               /* 1 */
                                 "<IfModule mod_rewrite.c>\n"                 /* 2 */
                                 "  RewriteEngine On\n"                       /* 3 */
                                 "  <IfModule ssl_module>\n"                  /* 4 */
                                 "    SSLEngine on\n"                         /* 5 */
                                 "    Whatever ${WEFT_UNIT_UNSET}\n"          /* 6 */
                                 "  </IfModule>\n"                            /* 7 */
                                 "</IfModule>\n"                              /* 8 */
                                 "<IfModule !dir_module>\n"                   /* 9 */
                                 "  DirectoryIndex never.html\n"              /* 10 */
                                 "</IfModule>\n"                              /* 11 */
                                 "<IfModule mpm_prefork_module>\n"            /* 12 */
                                 "  MaxRequestWorkers 150\n"                  /* 13 */
                                 "</IfModule>\n"                              /* 14 */
                                 "<IfModule mod_php.c>\n"                     /* 15 */
                                 "</IfModule>\n"                              /* 16 */
                                 "<IfModule dir_module>\n"                    /* 17 */
                                 "  DirectoryIndex index.php index.html\n"    /* 18 */
                                 "</IfModule>\n"                              /* 19 */
                                 "<IfModule mod_headers.c>\n"                 /* 20 */
                                 "  Header set X-A b\n"                       /* 21 */
                                 "</IfModule>\n");                            /* 22 */
    ok(server != NULL, "skipped blocks load");
    is_string(index_list(server), "index.php index.html", "<IfModule dir_module> applies");
    is_int(warnings.count, 2, "a warning per skipped block that held directives, not nested ones");
    is_string(warning_at(0), at_line(2, text("mod_rewrite is not built into weft; 3 directives in %s/t.conf:2-8 "
                                             "are skipped", root)),
              "the module, the count and the range");
    is_string(warning_at(1), at_line(20, text("mod_headers is not built into weft; 1 directive in %s/t.conf:20-22 "
                                              "is skipped", root)),
              "one directive (headers is not among this test's modules)");
    config_free(server);

    server = load("Listen 80\n<IfModule mod_proxy.c>\nListen 443\n");
    ok(server == NULL, "an unclosed block is still an error");
    is_string(warning_at(0), at_line(2, text("mod_proxy is not built into weft; 1 directive in %s/t.conf:2-2 is "
                                             "skipped", root)),
              "... and its skipped directives are still reported");
    config_free(server);
}

static void test_load_module(void)
{
    server_config *server = load("Listen 80\n"
                                 "LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so\n"
                                 "LoadModule cgid_module /nonexistent/mod_cgid.so\n"
                                 "LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so\n"
                                 "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n");
    ok(server != NULL, "LoadModule loads (files are not opened)");
    is_int(warnings.count, 2, "modules weft has are silent");
    is_string(warning_at(0), at_line(4, "LoadModule rewrite_module: mod_rewrite is not built into weft; its "
                                        "directives will be refused"), "a module weft lacks is named");
    is_string(warning_at(1), at_line(5, "LoadModule mpm_event_module: weft has its own MPM (worker-style threads "
                                        "with an event loop) and ignores mod_mpm_event; its <IfModule> sections "
                                        "are skipped"), "the MPM weft replaces");
    config_free(server);

    server = load("<VirtualHost *:80>\nLoadModule dir_module x.so\n</VirtualHost>\nLoadModule a\n");
    ok(server == NULL, "LoadModule's mistakes");
    is_string(error_at(0), at_line(2, "LoadModule not allowed here"), "server context only");
    is_string(error_at(1), at_line(4, "LoadModule takes two arguments, Apache's: accepted for a module weft has "
                                      "built in (the file is not opened), a warning for one it lacks"),
              "two arguments");
    config_free(server);
}

/* ---- messages ----------------------------------------------------------- */

static void test_unknown_directives(void)
{
    ok(module_of_directive("XBitHack") && strcmp(module_of_directive("xbithack"), "mod_include") == 0,
       "XBitHack is mod_include's (names are case-insensitive)");
    is_string(module_of_directive("SSLProxyEngine"), "mod_ssl", "SSLProxyEngine: mod_ssl");
    is_string(module_of_directive("<Proxy"), "mod_proxy", "<Proxy>: mod_proxy");
    is_string(module_of_directive("php_admin_flag"), "mod_php", "php_admin_flag: mod_php");
    ok(module_of_directive("NoSuchDirective") == NULL, "an unknown name has no module");
    ok(directive_rows_terminated(), "every row of the table ends with NULL");
    is_string(module_of_directive("AddLanguage"), "mod_mime", "AddLanguage: mod_mime");
    is_string(module_of_directive("ServerAdmin"), "core", "ServerAdmin: core");
    is_string(module_of_directive("AuthDigestProvider"), "mod_auth_digest", "AuthDigestProvider: mod_auth_digest");

    server_config *server = load("Listen 80\n"
                                 "XBitHack on\n"
                                 "CacheFile /etc/hosts\n"
                                 "<IfVersion >= 2.4>\n"
                                 "</IfVersion>\n"
                                 "Colour blue\n"
                                 "<Colour>\n"
                                 "</Colour>\n");
    ok(server == NULL, "unknown directives fail");
    is_string(error_at(0), at_line(2, "XBitHack is a directive of mod_include, which is not built into weft"),
              "a directive of a module weft lacks");
    is_string(error_at(1), at_line(3, "CacheFile is a directive of mod_file_cache, which is not built into weft"),
              "weft's own file_cache is not Apache's mod_file_cache");
    is_string(error_at(2), at_line(4, "<IfVersion> is a section of mod_version, which is not built into weft"),
              "a section of a module weft lacks");
    is_string(error_at(3), at_line(6, "Invalid command 'Colour': weft has no such directive (misspelled?)"),
              "a name nobody knows");
    is_string(error_at(4), at_line(7, "Invalid section '<Colour>': weft has no such section (misspelled?)"),
              "a section nobody knows");
    config_free(server);
}

static void test_handlers(void)
{
    ok(module_handler_exists("cgi-script") && module_handler_exists("SERVER-STATUS"), "declared handlers exist");
    ok(module_handler_exists("None") && module_handler_exists("default-handler"), "None and default-handler too");
    ok(!module_handler_exists("server-info") && !module_handler_exists("type-map"), "others do not");
    char names[256];
    module_handler_names(names, sizeof(names));
    is_string(names, "default-handler, cgi-script, server-status", "the list a message gives");

    server_config *server = load("Listen 80\n"
                                 "<Location /status>\n SetHandler server-status\n</Location>\n"
                                 "<Location /plain>\n SetHandler None\n</Location>\n"
                                 "<Location /info>\n SetHandler server-info\n</Location>\n");
    ok(server == NULL, "an unknown handler fails");
    is_int(errors.count, 1, "only the unknown one");
    is_string(error_at(0), at_line(9, "SetHandler server-info: that is a handler of mod_info, which is not built "
                                      "into weft; weft has default-handler, cgi-script, server-status, or None"),
              "the message names the module and lists what weft has");
    config_free(server);

    server = load("Listen 80\n<Location /x>\n SetHandler colour\n</Location>\n");
    is_string(error_at(0), at_line(3, "SetHandler colour: no handler of that name in weft; weft has "
                                      "default-handler, cgi-script, server-status, or None"),
              "a name nobody knows");
    config_free(server);

    bool secret = true;
    is_string(module_of_handler("type-map", &secret), "mod_negotiation", "type-map: mod_negotiation");
    ok(!secret, "... its files may be served as they are");
    is_string(module_of_handler("proxy:fcgi://127.0.0.1:9000", &secret), "mod_proxy", "proxy:...: mod_proxy");
    ok(secret, "... a script's source must not be");
    ok(module_of_handler("colour", NULL) == NULL, "an unknown handler has no module");
}

static void test_log_level(void)
{
    server_config *server = load("Listen 80\nLogLevel info proxy:warn core:debug status:error\n");
    ok(server != NULL, "LogLevel with module levels loads");
    is_int(server ? server->log_level : -1, LOG_LEVEL_INFO, "the plain level is the log's");
    is_int(warnings.count, 1, "one warning, for the module weft lacks");
    is_string(warning_at(0), at_line(2, "LogLevel proxy:warn: mod_proxy is not built into weft; ignored"),
              "... naming it");
    config_free(server);

    server = load("Listen 80\nLogLevel core:debug\n");
    is_int(server ? server->log_level : -1, LOG_LEVEL_WARN, "only module levels: the default stays");
    config_free(server);

    server = load("Listen 80\nLogLevel error\nLogLevel core:info\n");
    is_int(server ? server->log_level : -1, LOG_LEVEL_ERROR, "... and so does an earlier level");
    config_free(server);

    server = load("Listen 80\nLogLevel warn ssl:loud\n");
    ok(server == NULL, "a module's level is checked");
    config_free(server);
}

static void test_vhost_connection_directives(void)
{
    server_config *server = load("Listen 80\n"
                                 "KeepAliveTimeout 3\n"
                                 "<VirtualHost *:80>\n"
                                 "  ServerName a.example\n"
                                 "  KeepAlive Off\n"
                                 "  KeepAliveTimeout 3\n"
                                 "  MaxKeepAliveRequests 5\n"
                                 "  LimitRequestLine 100\n"
                                 "  LimitRequestFieldSize 100\n"
                                 "  LimitRequestFields 10\n"
                                 "  Timeout 10\n"
                                 "  LimitRequestBody 10\n"
                                 "</VirtualHost>\n");
    ok(server != NULL, "connection directives in <VirtualHost> load");
    is_int(warnings.count, 7, "a warning for each one weft takes from the main server, none at top level");
    is_string(warning_at(1), at_line(6, "KeepAliveTimeout in <VirtualHost> is ignored: weft applies it per "
                                        "listening address, from the main server"), "KeepAliveTimeout");
    is_string(warning_at(2), at_line(7, "MaxKeepAliveRequests in <VirtualHost> is ignored: weft applies it per "
                                        "listening address, from the main server"), "MaxKeepAliveRequests");
    is_string(warning_at(3), at_line(8, "LimitRequestLine in <VirtualHost> is ignored: the request head is read "
                                        "before its host is known, with the main server's limits"),
              "LimitRequestLine");
    is_string(warning_at(6), at_line(11, "Timeout in <VirtualHost> applies only to request bodies, streamed "
                                         "responses and CGI scripts: reading request heads and waiting to send "
                                         "use the main server's Timeout"), "Timeout, partly applied");
    config_free(server);
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(void)
{
    char template[] = "/tmp/weft-config-macros-XXXXXX";
    if (!mkdtemp(template) || !realpath(template, root)) {
        perror("mkdtemp");
        return 2;
    }
    mkdir(text("%s/www", root), 0755);
    mkdir(text("%s/logs", root), 0755);

    test_expansion();
    test_define();
    test_module_names();
    test_skipped_blocks();
    test_load_module();
    test_unknown_directives();
    test_handlers();
    test_log_level();
    test_vhost_connection_directives();

    config_messages_free(&errors);
    config_messages_free(&warnings);
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
