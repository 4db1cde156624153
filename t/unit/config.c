/*
 * Unit tests for the configuration engine (config.c and friends) and the
 * core directive table (core_module.c).  Configuration files are written
 * into a fresh mkdtemp() directory that serves as ServerRoot.
 *
 * modules.c is not linked: it names modules other engineers write.  This
 * test has its own weft_modules (core plus a fake module whose rows borrow
 * fields of other modules), under which modules/apache_modules.c answers.
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

#if __has_include("core/log.c")
#include "core/log.c"
#include "core/blocking.c"
#include "core/piped_log.c"
#else
int log_level_parse(const char *name)
{
    static const char *const names[] = { "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug" };
    for (int i = 0; i < (int)COUNT_OF(names); i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}
const char *log_level_name(int level) { return level >= 0 && level <= LOG_LEVEL_DEBUG ? "level" : "?"; }
#endif

#include <arpa/inet.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the fake module --------------------------------------------------- */

static int fake_post_config_calls;

static int fake_post_config(config_parse *parse, server_config *server)
{
    fake_post_config_calls++;
    if (server->start_servers == 13)
        return config_error(parse, "FakeInteger 13 is unlucky");
    return WEFT_OK;
}

/* The fake module's own directory struct (module.h); its server rows
 * borrow core fields. */
typedef struct {
    mime_addition *add_types;
} fake_dir_config;

static const module fake_module;

static mime_addition *fake_types(const dir_config *dir)
{
    return ((const fake_dir_config *)module_dir_config(dir, &fake_module))->add_types;
}

static int set_fake_add_type(config_parse *parse, const config_directive *d, void *target, int argc,
                             char **argv)
{
    mime_addition *entry = pool_calloc(config_pool(parse), sizeof(*entry));
    entry->extension = pool_strdup(config_pool(parse), argv[0]);
    entry->type = pool_strdup(config_pool(parse), argv[1]);
    entry->next = *(mime_addition **)target;
    *(mime_addition **)target = entry;
    return WEFT_OK;
}

/* The child's entries go in front of what is inherited, copied into p. */
static void merge_fake_add_types(void *merged, const void *child, pool *p)
{
    mime_addition *result = *(mime_addition **)merged;
    mime_addition *copies = NULL, **tail = &copies;
    for (const mime_addition *a = *(mime_addition *const *)child; a; a = a->next) {
        *tail = pool_alloc(p, sizeof(**tail));
        **tail = *a;
        tail = &(*tail)->next;
    }
    *tail = result;
    *(mime_addition **)merged = copies;
}

/* FakeRaw: what config_raw_arguments gave its setter. */
static char fake_raw[256];

static int set_fake_raw(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    const char *raw = config_raw_arguments(parse);
    snprintf(fake_raw, sizeof fake_raw, "%s", raw ? raw : "(none)");
    return WEFT_OK;
}

static const config_directive fake_directives[] = {
    { .name = "FakeString", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(group), .min_args = 1,
      .max_args = 1, .set = config_set_string, .help = "a string" },
    { .name = "FakeInteger", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(start_servers), .min_args = 1,
      .max_args = 1, .set = config_set_integer, .default_value = "3", .help = "an integer" },
    { .name = "FakeMilliseconds", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(min_spare_threads),
      .min_args = 1, .max_args = 1, .set = config_set_milliseconds, .help = "a duration" },
    { .name = "FakePath", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(scoreboard_file), .min_args = 1,
      .max_args = 1, .set = config_set_path, .default_value = "logs/fake.scoreboard", .help = "a path" },
    { .name = "FakeTwo", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER, .min_args = 2, .max_args = 2,
      .set = config_set_ignored, .help = "two words" },
    { .name = "FakeRaw", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER, .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_fake_raw, .help = "arguments as written" },
    { .name = "FakeIgnored", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_SERVER, .min_args = 0,
      .max_args = ARGS_UNLIMITED, .set = config_set_ignored, .help = "anything" },
    { .name = "FakeAddType", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(fake_dir_config, add_types), .size = sizeof(mime_addition *), .min_args = 2, .max_args = 2,
      .set = set_fake_add_type, .merge = merge_fake_add_types, .help = "an extension and a type" },
    { .name = NULL },
};

/* The handler names the tests set (the engine refuses unknown ones). */
static const char *const fake_handlers[] = { "server-status", "in", "included", "set", NULL };

static const module fake_module = {
    .name = "fake",
    .handlers = fake_handlers,
    .directives = fake_directives,
    .dir_config_size = sizeof(fake_dir_config),
    .post_config = fake_post_config,
};

const module *const weft_modules[] = { &core_module, &fake_module, NULL };

/* The real answers about Apache modules, over this test's weft_modules. */
#include "modules/apache_modules.c"

/* ---- helpers ----------------------------------------------------------- */

static char root[PATH_MAX];
static config_messages errors, warnings;

/* A few formatted strings alive at once, for expected messages. */
static const char *text(const char *format, ...) PRINTF_LIKE(1, 2);
static const char *text(const char *format, ...)
{
    static char slots[8][2048];
    static int next;
    char *slot = slots[next++ % 8];
    va_list args;
    va_start(args, format);
    vsnprintf(slot, sizeof(slots[0]), format, args);
    va_end(args);
    return slot;
}

static void make_directory(const char *relative)
{
    mkdir(text("%s/%s", root, relative), 0755);
}

static void write_file(const char *relative, const char *content)
{
    FILE *file = fopen(text("%s/%s", root, relative), "w");
    if (!file) {
        perror(relative);
        exit(2);
    }
    fputs(content, file);
    fclose(file);
}

static server_config *load_options(config_options *options)
{
    config_messages_free(&errors);
    config_messages_free(&warnings);
    if (!options->server_root)
        options->server_root = root;
    server_config *server = config_load(options, &errors, &warnings);
    for (int i = 0; i < errors.count; i++)
        note("error: %s", errors.messages[i]);
    return server;
}

static server_config *load_text(const char *content)
{
    write_file("t.conf", content);
    config_options options = { .config_file = "t.conf" };
    return load_options(&options);
}

static const char *error_at(int index)
{
    return index < errors.count ? errors.messages[index] : NULL;
}

/* "<root>/t.conf:<line>: <message>" */
static const char *at_line(int line, const char *message)
{
    return line > 0 ? text("%s/t.conf:%d: %s", root, line, message) : text("%s/t.conf: %s", root, message);
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* ---- tests ------------------------------------------------------------- */

static void test_full_configuration(void)
{
    make_directory("docs");
    server_config *server = load_text("# every core directive\n"
                                      "   # an indented comment\n"
                                      "\n"
                                      "ServerName www.example.com\n"
                                      "DocumentRoot docs/\n"
                                      "PidFile run/weft.pid\n"
                                      "Timeout 30\n"
                                      "keepalive off\n"
                                      "KeepAliveTimeout 250ms\n"
                                      "MaxKeepAliveRequests 0\n"
                                      "LimitRequestLine 4096\n"
                                      "LimitRequestFieldSize 2048\n"
                                      "LimitRequestFields 50\n"
                                      "LimitRequestBody 1048576\n"
                                      "ServerTokens Prod\n"
                                      "Options Indexes FollowSymLinks\n"
                                      "DirectoryIndex index.html index.htm\n"
                                      "SetHandler None\n"
                                      "ErrorLog logs/err.log\n"
                                      "LogLevel debug\n"
                                      "Listen 8080\n"
                                      "Listen 127.0.0.1:8081 http\n"
                                      "IncludeOptional nothing/*.conf\n"
                                      "<Location /status>\n"
                                      "    SetHandler server-status\n"
                                      "</Location>\n");
    ok(server != NULL, "a configuration using every core directive loads");
    if (!server)
        return;
    is_int(errors.count, 0, "no errors");
    is_int(warnings.count, 0, "no warnings");
    is_string(server->server_root, root, "ServerRoot is -d made absolute");
    is_string(server->server_name, "www.example.com", "ServerName");
    is_string(server->document_root, text("%s/docs", root), "DocumentRoot relative, trailing slash dropped");
    is_string(server->pid_file, text("%s/run/weft.pid", root), "PidFile resolved against ServerRoot");
    is_int(server->timeout, 30, "Timeout");
    ok(!server->keep_alive, "KeepAlive off (directive names are case-insensitive)");
    is_int(server->keep_alive_timeout_ms, 250, "KeepAliveTimeout 250ms");
    is_int(server->max_keep_alive_requests, 0, "MaxKeepAliveRequests 0");
    is_int(server->limit_request_line, 4096, "LimitRequestLine");
    is_int(server->limit_request_field_size, 2048, "LimitRequestFieldSize");
    is_int(server->limit_request_fields, 50, "LimitRequestFields");
    is_int(server->root_dir->limit_request_body, 1048576, "LimitRequestBody at top level goes to root_dir");
    is_int(server->server_tokens, SERVER_TOKENS_PROD, "ServerTokens Prod");
    is_string(server->server_header, "weft", "Server header for Prod");
    is_int(server->root_dir->options.value, OPTION_INDEXES | OPTION_FOLLOW_SYMLINKS, "Options");
    ok(server->root_dir->directory_index && !strcmp(server->root_dir->directory_index[0], "index.html")
           && !strcmp(server->root_dir->directory_index[1], "index.htm") && !server->root_dir->directory_index[2],
       "DirectoryIndex list");
    ok(server->root_dir->handler == NULL, "SetHandler None");
    is_string(server->error_log, text("%s/logs/err.log", root), "ErrorLog resolved");
    is_int(server->log_level, LOG_LEVEL_DEBUG, "LogLevel debug");
    is_int(server->listen_count, 2, "two Listen");
    is_int(server->section_count, 1, "one section");
    is_string(server->sections[0].config->handler, "server-status", "SetHandler in <Location>");
    ok(config_was_set(server, config_find_directive("timeout")), "Timeout was set");
    ok(!config_was_set(server, config_find_directive("ServerRoot")), "ServerRoot was not set");
    ok(config_was_set(server->sections[0].config, config_find_directive("SetHandler")),
       "SetHandler set in the section's dir_config");
    ok(!config_was_set(server->sections[0].config, config_find_directive("Options")),
       "Options not set in the section");
    is_int(fake_post_config_calls > 0, 1, "post_config of the other module ran");
    config_free(server);
}

static void test_defaults(void)
{
    server_config *server = load_text("Listen 80\n");
    ok(server != NULL, "a one-line configuration loads");
    if (!server)
        return;
    is_string(server->document_root, text("%s/www", root), "DocumentRoot default");
    is_string(server->pid_file, text("%s/logs/weft.pid", root), "PidFile default");
    is_string(server->error_log, text("%s/logs/error_log", root), "ErrorLog default");
    is_int(server->timeout, 60, "Timeout default");
    ok(server->keep_alive, "KeepAlive default On");
    is_int(server->keep_alive_timeout_ms, 5000, "KeepAliveTimeout default 5 s");
    is_int(server->max_keep_alive_requests, 100, "MaxKeepAliveRequests default");
    is_int(server->limit_request_line + server->limit_request_field_size, 2 * 8190, "request limits default");
    is_int(server->limit_request_fields, 100, "LimitRequestFields default");
    is_int(server->root_dir->limit_request_body, 1073741824, "LimitRequestBody default");
    is_string(server->server_header, "weft/" WEFT_VERSION " (Unix)", "ServerTokens default Full");
    is_int(server->root_dir->options.value, OPTION_FOLLOW_SYMLINKS, "Options default");
    ok(server->root_dir->directory_index && !strcmp(server->root_dir->directory_index[0], "index.html")
           && !server->root_dir->directory_index[1], "DirectoryIndex default");
    is_int(server->log_level, LOG_LEVEL_WARN, "LogLevel default");
    is_int(server->start_servers, 3, "another module's default");
    is_string(server->scoreboard_file, text("%s/logs/fake.scoreboard", root), "another module's path default");
    ok(!config_was_set(server, config_find_directive("Timeout")), "a default does not count as set");
    config_free(server);
}

static void test_server_tokens(void)
{
    static const struct {
        const char *value;
        const char *header;
    } cases[] = {
        { "ProductOnly", "weft" }, { "Major", "weft/0" }, { "Minor", "weft/0.1" },
        { "Min", "weft/0.1.0" },   { "OS", "weft/0.1.0 (Unix)" },
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        server_config *server = load_text(text("Listen 80\nServerTokens %s\n", cases[i].value));
        is_string(server ? server->server_header : NULL, cases[i].header, "ServerTokens %s", cases[i].value);
        config_free(server);
    }
}

/* Apache's RAW_ARGS: the arguments as written, quotes and all, after
 * ${VAR} and continuation lines (SSLRequire, Require expr). */
static void test_raw_arguments(void)
{
    server_config *server = load_text("Listen 80\nDefine who alice\n"
                                      "FakeRaw   %{A} eq \"x  y\" and \\\n  'z' == '${who}'\n");
    ok(server != NULL, "a line for a raw-arguments row loads");
    is_string(fake_raw, "%{A} eq \"x  y\" and   'z' == 'alice'",
              "config_raw_arguments: the rest of the line as written");
    config_free(server);
}

static void test_error_classes(void)
{
    static const struct {
        const char *config;
        int line;
        const char *message;
    } cases[] = {
        { "Listen 80\nFoo bar\n", 2,
          "Invalid command 'Foo': weft has no such directive (misspelled?)" },
        { "Listen 80\n\nKeepAlive On Off\n", 3,
          "KeepAlive takes one argument, whether a connection may carry more than one request" },
        { "Listen\n", 1, "Listen takes one or two arguments, an address and port to accept connections on "
                         "(repeatable)" },
        { "Listen 80\nFakeTwo a\n", 2, "FakeTwo takes two arguments, two words" },
        { "Listen 80\nOptions\n", 2, "Options requires at least one argument, None, All, Indexes, FollowSymLinks, "
                                     "SymLinksIfOwnerMatch, ExecCGI, Includes, MultiViews" },
        { "Listen 80\nTimeout 10x\n", 2, "Timeout requires a non-negative number of seconds, not '10x'" },
        { "Listen 80\nMaxKeepAliveRequests -1\n", 2,
          "MaxKeepAliveRequests requires a non-negative integer, not '-1'" },
        { "Listen 80\nLimitRequestFields 99999999999\n", 2,
          "LimitRequestFields requires a non-negative integer, not '99999999999'" },
        { "Listen 80\nKeepAlive yes\n", 2, "KeepAlive must be On or Off" },
        { "Listen 80\nKeepAliveTimeout 5s\n", 2,
          "KeepAliveTimeout requires seconds or milliseconds (like 5 or 300ms), not '5s'" },
        { "Listen 80\nLimitRequestBody 1k\n", 2,
          "LimitRequestBody requires a non-negative number of bytes, not '1k'" },
        { "Listen 80\nServerTokens Tiny\n", 2,
          "ServerTokens takes Prod, Major, Minor, Minimal, OS or Full, not 'Tiny'" },
        { "Listen 80\nLogLevel loud\n", 2, "LogLevel requires level keyword: one of "
                                          "emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8, or module:level, not 'loud'" },
        { "Listen 80\n<Directory www>\n  KeepAlive On\n</Directory>\n", 3, "KeepAlive not allowed here" },
        { "Listen 80\n<Location />\n<Directory www>\n</Directory>\n</Location>\n", 3,
          "<Directory> cannot occur within <Location> section" },
        { "Listen 80\n<Location /a>\n<Location /b>\n</Location>\n</Location>\n", 3,
          "<Location> cannot occur within <Location> section" },
        { "Listen 80\n\n<Directory www>\nOptions None\n", 3, "<Directory> was not closed." },
        { "Listen 80\n</Location>\n", 2, "</Location> without matching <Location> section" },
        { "Listen 80\nServerName \"abc\n", 2, "Unterminated quoted string: missing closing \"" },
        { "Listen 80\n<VirtualHost localhost:80>\nBogus\n</VirtualHost>\n", 2,
          "Invalid address 'localhost:80' in <VirtualHost>: weft needs a numeric address or * (it makes no "
          "DNS lookups)" },
        { "Listen 80\n<Filez x>\nBogus\n</Filez>\n", 2,
          "Invalid section '<Filez>': weft has no such section (misspelled?)" },
        { "Listen 80\n<Directory www\n</Directory>\n", 2, "<Directory> directive missing closing '>'" },
        { "Listen 80\n<IfDefine>\n</IfDefine>\n", 2, "<IfDefine> takes one argument, a [!]parameter name" },
        { "Listen 80\nOptions +Indexes FollowSymLinks\n", 2,
          "Either all Options must start with + or -, or no Option may." },
        { "Listen 80\nOptions Sideways\n", 2, "Illegal option Sideways" },
        { "Listen 80\nDirectoryIndex a.html disabled\n", 2,
          "DirectoryIndex 'disabled' must be the only argument" },
        { "Listen 80\nServerRoot nowhere\n", 2, "ServerRoot must be a valid directory, not 'nowhere'" },
        { "Listen 80\nInclude missing.conf\n", 2, NULL /* built below: names the absolute path */ },
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        server_config *server = load_text(cases[i].config);
        const char *message = cases[i].message;
        if (!message)
            message = text("Could not open configuration file %s/missing.conf: No such file or directory", root);
        ok(server == NULL, "error case %zu fails", i + 1);
        is_string(error_at(0), at_line(cases[i].line, message), "error case %zu reports file:line: message",
                  i + 1);
        config_free(server);
    }
}

static void test_many_errors(void)
{
    server_config *server = load_text("Listen 80\n"
                                      "Bogus 1\n"
                                      "<Directory www>\n"
                                      "  Timeout 5\n"
                                      "</Location>\n"
                                      "Options Sideways\n"
                                      "Listen 80\n");
    ok(server == NULL, "several errors: load fails");
    is_int(errors.count, 6, "all six errors are reported");
    is_string(error_at(0), at_line(2, "Invalid command 'Bogus': weft has no such directive (misspelled?)"), "first error");
    is_string(error_at(1), at_line(4, "Timeout not allowed here"), "second error");
    is_string(error_at(2), at_line(5, "Expected </Directory> but saw </Location>"), "third error");
    is_string(error_at(3), at_line(6, "Illegal option Sideways"), "a stray close tag leaves the section open");
    is_string(error_at(4), at_line(7, "Listen not allowed here"), "fifth error");
    is_string(error_at(5), at_line(3, "<Directory> was not closed."), "unclosed section reported at its line");

    server = load_text("Listen 80\n<Directory www>\n<IfDefine X>\n</Directory>\n</Directory>\n");
    is_int(errors.count, 2, "a mismatched nested close tag closes the outer section once");
    is_string(error_at(0), at_line(4, "Expected </IfDefine> but saw </Directory>"), "mismatch reported");
    is_string(error_at(1), at_line(5, "</Directory> without matching <Directory> section"), "then stray");
    config_free(server);
}

static void test_post_config_errors(void)
{
    server_config *server = load_text("DocumentRoot nope\nFakeInteger 13\n");
    ok(server == NULL, "post_config failures fail the load");
    is_int(errors.count, 3, "every post_config error is reported");
    is_string(error_at(0), at_line(0, text("DocumentRoot '%s/nope' is not a directory", root)),
              "DocumentRoot check, without a line number");
    is_string(error_at(1), at_line(0, "no Listen directive: weft needs at least one address to listen on"),
              "missing Listen");
    is_string(error_at(2), at_line(0, "FakeInteger 13 is unlucky"), "another module's post_config ran too");
}

static void test_lexer(void)
{
    write_file("crlf.conf", "Listen 80\r\nServerName crlf.example\r\n");
    config_options options = { .config_file = "crlf.conf" };
    server_config *server = load_options(&options);
    is_string(server ? server->server_name : NULL, "crlf.example", "CR before LF is tolerated");
    config_free(server);

    server = load_text("Listen 80\n"
                       "ServerName \\\n"
                       "    continued.example\n"
                       "DirectoryIndex \"my index.html\" 'single quoted' \"say \\\"hi\\\"\" "
                       "\"back\\\\slash\" plain\\path \"\" \\\n"
                       "   last\n"
                       "FakeString a#b\n");
    ok(server != NULL, "continuations and quoting load");
    if (server) {
        char **list = server->root_dir->directory_index;
        is_string(server->server_name, "continued.example", "a backslash at the end of a line continues it");
        is_string(list[0], "my index.html", "double quotes keep spaces");
        is_string(list[1], "single quoted", "single quotes keep spaces");
        is_string(list[2], "say \"hi\"", "\\\" inside double quotes");
        is_string(list[3], "back\\slash", "\\\\ inside quotes");
        is_string(list[4], "plain\\path", "a backslash outside quotes is an ordinary character");
        is_string(list[5], "", "an empty quoted argument");
        is_string(list[6], "last", "a continued line keeps its arguments");
        is_string(server->group, "a#b", "# inside a line is an ordinary character");
    }
    config_free(server);

    server = load_text("Listen 80\nServerName \\\n  x\nBogus\n");
    is_string(error_at(0), at_line(4, "Invalid command 'Bogus': weft has no such directive (misspelled?)"),
              "line numbers count the physical lines of continuations");
}

static void test_conditions(void)
{
    const char *const defines[] = { "FOO" };
    write_file("t.conf", "Listen 80\n"
                         "<IfDefine FOO>\n Timeout 10\n</IfDefine>\n"
                         "<IfDefine !FOO>\n Timeout 20\n</IfDefine>\n"
                         "<IfDefine BAR>\n Bogus\n <Directory /x>\n <Unknown>\n </Unknown>\n"
                         " </Directory>\n</IfDefine>\n"
                         "<IfDefine !BAR>\n MaxKeepAliveRequests 7\n</IfDefine>\n"
                         "<IfDefine FOO>\n <ifdefine !BAR>\n  LimitRequestFields 9\n </IfDefine>\n</IfDefine>\n"
                         "<IfModule mod_fake.c>\n LimitRequestLine 1000\n</IfModule>\n"
                         "<IfModule fake_module>\n LimitRequestFieldSize 1001\n</IfModule>\n"
                         "<IfModule nosuch>\n Bogus\n</IfModule>\n"
                         "<IfModule !mod_nosuch>\n FakeString notthere\n</IfModule>\n"
                         "<IfModule core>\n <IfModule fake>\n  ServerName both\n </IfModule>\n</IfModule>\n");
    config_options options = { .config_file = "t.conf", .defines = defines, .define_count = 1 };
    server_config *server = load_options(&options);
    ok(server != NULL, "IfDefine/IfModule configuration loads (false sections are not checked)");
    if (!server)
        return;
    is_int(server->timeout, 10, "<IfDefine FOO> applies, <IfDefine !FOO> does not");
    is_int(server->max_keep_alive_requests, 7, "<IfDefine !BAR> applies");
    is_int(server->limit_request_fields, 9, "nested IfDefine");
    is_int(server->limit_request_line, 1000, "<IfModule mod_fake.c>");
    is_int(server->limit_request_field_size, 1001, "<IfModule fake_module>");
    is_string(server->group, "notthere", "<IfModule !mod_nosuch>");
    is_string(server->server_name, "both", "nested IfModule");
    is_int(server->section_count, 0, "a skipped <Directory> is not recorded");
    config_free(server);
}

static void test_include(void)
{
    make_directory("conf.d");
    write_file("conf.d/b.conf", "DirectoryIndex b.html\nServerName from-b\n");
    write_file("conf.d/a.conf", "DirectoryIndex a.html\nServerName from-a\n");
    write_file("conf.d/c.txt", "Bogus\n");
    make_directory("dir.d");
    make_directory("dir.d/sub");
    write_file("dir.d/2.conf", "FakeAddType two 2/2\n");
    write_file("dir.d/1.conf", "FakeAddType one 1/1\n");
    write_file("dir.d/sub/3.conf", "FakeAddType three 3/3\n");
    write_file("section.conf", "SetHandler included\n");
    server_config *server = load_text("Listen 80\n"
                                      "Include conf.d/*.conf\n"
                                      "IncludeOptional nothing/*.conf\n"
                                      "IncludeOptional missing.conf\n"
                                      "Include dir.d\n"
                                      "<Location /x>\n"
                                      "Include section.conf\n"
                                      "</Location>\n");
    ok(server != NULL, "Include of a wildcard and a directory, IncludeOptional of nothing");
    if (server) {
        char **list = server->root_dir->directory_index;
        ok(list && !strcmp(list[0], "a.html") && !strcmp(list[1], "b.html") && !list[2],
           "wildcard matches are read in alphabetical order");
        is_string(server->server_name, "from-b", "the last file read wins");
        mime_addition *types = fake_types(server->root_dir);
        ok(types && !strcmp(types->extension, "three") && !strcmp(types->next->extension, "two")
               && !strcmp(types->next->next->extension, "one"),
           "a directory is read sorted, subdirectories included");
        is_string(server->sections[0].config->handler, "included",
                  "an Include inside a section writes into it");
    }
    config_free(server);

    server = load_text("Listen 80\nInclude nothing/*.conf\n");
    ok(server == NULL, "Include of a wildcard that matches nothing fails");
    is_string(error_at(0), at_line(2, text("No matches for the wildcard '%s/nothing/*.conf', failing "
                                          "(use IncludeOptional if that is fine)", root)),
              "with a message naming the pattern");

    write_file("bad.conf", "\nTimeout forever\n");
    server = load_text("Listen 80\nInclude bad.conf\n");
    is_string(error_at(0), text("%s/bad.conf:2: Timeout requires a non-negative number of seconds, not 'forever'",
                                root), "errors in included files name that file and line");

    write_file("loop.conf", "Include loop.conf\n");
    server = load_text("Listen 80\nInclude loop.conf\n");
    ok(server == NULL && errors.count == 1, "an Include loop is one error");
    ok(error_at(0) && strstr(error_at(0), "nests deeper than 16 levels"), "which explains the recursion");
}

static void test_command_line_directives(void)
{
    const char *const before[] = { "Timeout 11", "ServerName before" };
    const char *const after[] = { "Timeout 12" };
    write_file("t.conf", "Listen 80\nServerName file\nTimeout 30\n");
    config_options options = { .config_file = "t.conf",
                               .directives_before = before, .directives_before_count = 2,
                               .directives_after = after, .directives_after_count = 1 };
    server_config *server = load_options(&options);
    is_string(server ? server->server_name : NULL, "file", "-C is processed before the file");
    is_int(server ? server->timeout : -1, 12, "-c is processed after the file");
    config_free(server);

    const char *const bad_before[] = { "ServerName ok", "Bogus" };
    const char *const bad_after[] = { "Listen 80" };
    options = (config_options){ .config_file = "t.conf", .directives_before = bad_before,
                                .directives_before_count = 2, .directives_after = bad_after,
                                .directives_after_count = 1 };
    server = load_options(&options);
    is_string(error_at(0), "-C:2: Invalid command 'Bogus': weft has no such directive (misspelled?)", "-C errors are reported as -C:<index>");
    is_string(error_at(1), "-c:1: Cannot define multiple Listeners on the same IP:port",
              "-c errors as -c:<index>");
}

static void test_server_root_and_builtin(void)
{
    make_directory("sub");
    make_directory("sub/www");
    server_config *server = load_text("ServerRoot sub\nListen 80\nPidFile p.pid\nErrorLog /dev/stderr\n");
    ok(server != NULL, "ServerRoot relative to -d");
    if (server) {
        is_string(server->server_root, text("%s/sub", root), "ServerRoot changes");
        is_string(server->pid_file, text("%s/sub/p.pid", root), "later paths resolve against it");
        is_string(server->document_root, text("%s/sub/www", root),
                  "defaults resolve against the final ServerRoot");
        is_string(server->error_log, "/dev/stderr", "ErrorLog /dev/stderr is kept as is");
    }
    config_free(server);

    config_options options = { .server_root = text("%s/sub", root) };
    server = load_options(&options);
    ok(server != NULL, "without conf/weft.conf the built-in defaults are used");
    if (server) {
        is_int(server->listen_count, 1, "built-in Listen");
        is_int(ntohs(((struct sockaddr_in *)&server->listens[0].address)->sin_port), 8080, "on port 8080");
        is_string(server->error_log, "/dev/stderr", "built-in ErrorLog");
    }
    config_free(server);

    options = (config_options){ .config_file = "missing.conf" };
    server = load_options(&options);
    ok(server == NULL, "an explicit -f file that does not exist is an error");
    is_string(error_at(0),
              text("%s/missing.conf: Could not open configuration file: No such file or directory", root),
              "naming the file");
}

static unsigned options_for(const server_config *server, const char *file, const char *url, pool *p)
{
    return config_dir_for_request(server, file ? text("%s/%s", root, file) : NULL, url, p)->options.value;
}

static void test_sections_and_merging(void)
{
    make_directory("srv");
    server_config *server = load_text("Listen 80\n"
                                      "Options Indexes\n"
                                      "FakeAddType txt text/plain\n"
                                      "<Directory srv/a/b/>\n"
                                      "  Options +Indexes\n"
                                      "</Directory>\n"
                                      "<Directory \"srv\">\n"
                                      "  Options +ExecCGI -Indexes\n"
                                      "  FakeAddType md text/markdown\n"
                                      "</Directory>\n"
                                      "<Directory srv/a>\n"
                                      "  Options FollowSymLinks\n"
                                      "  Options +MultiViews\n"
                                      "</Directory>\n"
                                      "<Location /status>\n"
                                      "  SetHandler server-status\n"
                                      "  Options -Indexes +IncludesNOEXEC\n"
                                      "</Location>\n"
                                      "<Location /status/x>\n"
                                      "  LimitRequestBody 5\n"
                                      "  Options All\n"
                                      "</Location>\n");
    ok(server != NULL, "sections load");
    if (!server)
        return;
    pool *p = pool_create(4096);
    is_int(server->section_count, 5, "five sections");
    is_string(server->sections[0].path, text("%s/srv/a/b", root),
              "Directory path resolved, trailing slash gone");
    is_string(server->sections[3].path, "/status", "Location path as written");
    is_int(server->sections[3].line, 15, "section line recorded");

    const dir_config *plain = config_dir_for_request(server, text("%s/other/file", root), "/other", p);
    ok(plain == server->root_dir, "no matching section: root_dir itself");
    ok(config_dir_for_request(server, text("%s/srvx/f", root), "/", p) == server->root_dir,
       "<Directory srv> does not cover srvx");
    is_int(options_for(server, "srv/f", "/", p), OPTION_EXEC_CGI, "+ExecCGI -Indexes over Indexes");
    is_int(options_for(server, "srv", "/", p), OPTION_EXEC_CGI, "a Directory covers its own path");
    is_int(options_for(server, "srv/a/f", "/", p), OPTION_FOLLOW_SYMLINKS | OPTION_MULTIVIEWS,
           "an absolute Options replaces, a second line in the section adds");
    is_int(options_for(server, "srv/a/b/f", "/", p),
           OPTION_FOLLOW_SYMLINKS | OPTION_MULTIVIEWS | OPTION_INDEXES,
           "shortest Directory first, whatever the file order");

    const dir_config *status = config_dir_for_request(server, text("%s/srv/f", root), "/status", p);
    is_string(status->handler, "server-status", "Location sets the handler");
    is_int(status->options.value, OPTION_EXEC_CGI | OPTION_INCLUDES, "Locations merge after Directories");
    is_int(status->limit_request_body, 1073741824, "unset fields stay inherited");
    is_string(config_dir_for_request(server, NULL, "/statusx", p)->handler, NULL,
              "Location matches whole segments, as in Apache 2.4: /status does not cover /statusx");
    const dir_config *deep = config_dir_for_request(server, NULL, "/status/x/y", p);
    is_int(deep->limit_request_body, 5, "nested Locations apply in file order");
    is_int(deep->options.value, OPTION_ALL, "Options All is everything but MultiViews");
    ok(config_was_set(deep, config_find_directive("SetHandler")), "merged set bits are OR-ed");

    const dir_config *typed = config_dir_for_request(server, text("%s/srv/f", root), NULL, p);
    ok(fake_types(typed) && !strcmp(fake_types(typed)->extension, "md") && fake_types(typed)->next
               && !strcmp(fake_types(typed)->next->extension, "txt"),
       "merge callbacks combine instead of replacing");
    ok(fake_types(server->root_dir) && !fake_types(server->root_dir)->next, "merging leaves root_dir unchanged");
    pool_destroy(p);
    config_free(server);

    server = load_text("Listen 80\nOptions +Indexes\n");
    is_int(server ? server->root_dir->options.value : 0, OPTION_FOLLOW_SYMLINKS | OPTION_INDEXES,
           "a relative Options at top level applies to the default");
    ok(server && !server->root_dir->options.relative, "and root_dir ends up absolute");
    config_free(server);
    server = load_text("Listen 80\nOptions None\n");
    is_int(server ? server->root_dir->options.value : 99, 0, "Options None");
    config_free(server);
}

static void test_listen(void)
{
    server_config *server = load_text("Listen 8080\nListen 127.0.0.1:81\nListen [::1]:82 http\n"
                                      "Listen [::]:8080\nListen *:83\n");
    ok(server != NULL, "Listen forms load");
    if (!server)
        return;
    is_int(server->listen_count, 5, "five listeners");
    const struct sockaddr_in *any = (const struct sockaddr_in *)&server->listens[0].address;
    ok(any->sin_family == AF_INET && any->sin_addr.s_addr == htonl(INADDR_ANY) && ntohs(any->sin_port) == 8080,
       "a port alone is 0.0.0.0:port");
    const struct sockaddr_in *local = (const struct sockaddr_in *)&server->listens[1].address;
    ok(local->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(local->sin_port) == 81, "address:port");
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&server->listens[2].address;
    ok(v6->sin6_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) && ntohs(v6->sin6_port) == 82
           && server->listens[2].address_length == sizeof(struct sockaddr_in6), "[v6]:port");
    ok(server->listens[3].address.ss_family == AF_INET6, "[::]:8080 next to 8080 is no duplicate");
    is_string(server->listens[4].text, "*:83", "text kept as written");
    is_string(server->listens[2].file, text("%s/t.conf", root), "file recorded");
    is_int(server->listens[2].line, 3, "line recorded");
    config_free(server);

    static const struct {
        const char *config;
        const char *message;
    } bad[] = {
        { "Listen 0\n", "Invalid port in Listen '0': must be a number from 1 to 65535" },
        { "Listen 65536\n", "Invalid port in Listen '65536': must be a number from 1 to 65535" },
        { "Listen 10.0.0.1:\n", "Invalid port in Listen '10.0.0.1:': must be a number from 1 to 65535" },
        { "Listen localhost:80\n", "Invalid address in Listen 'localhost:80': weft needs a numeric IPv4 "
                                   "address or a bracketed IPv6 address" },
        { "Listen ::1:80\n",
          "Invalid address in Listen '::1:80': IPv6 addresses go in brackets, like [::1]:8080" },
        { "Listen [::g]:80\n", "Invalid IPv6 address in Listen '[::g]:80'" },
        { "Listen 80 gopher\n", "Listen protocol must be http or https, not 'gopher'" },
        { "Listen 0.0.0.0:80\nListen 80\n", "Cannot define multiple Listeners on the same IP:port" },
    };
    for (size_t i = 0; i < COUNT_OF(bad); i++) {
        server = load_text(bad[i].config);
        int line = strchr(bad[i].config, '\n')[1] ? 2 : 1;
        is_string(error_at(0), at_line(line, bad[i].message), "Listen error %zu", i + 1);
        config_free(server);
    }
}

static void test_lookup_and_warnings(void)
{
    const config_directive *timeout = config_find_directive("TIMEOUT");
    ok(timeout && strcmp(timeout->name, "Timeout") == 0, "config_find_directive is case-insensitive");
    ok(config_find_directive("NoSuchThing") == NULL, "unknown names are not found");
    ok(config_directive_index(timeout) != config_directive_index(config_find_directive("KeepAlive")),
       "directives have distinct indices");
    is_int(config_directive_index(config_find_directive("FakeString")), COUNT_OF(core_directives) - 1,
           "indices continue across modules in order");
    ok(config_find_directive("Include") && config_find_directive("IncludeOptional"), "Include is in the table");

    server_config *server = load_text("Listen 80\nFakeIgnored whatever\nFakeMilliseconds 2\n");
    is_int(warnings.count, 1, "one warning");
    is_string(warnings.count ? warnings.messages[0] : NULL,
              at_line(2, "FakeIgnored is accepted but not needed by weft"), "ignored directives warn");
    is_int(server ? server->min_spare_threads : -1, 2000, "milliseconds: a plain number is seconds");
    config_free(server);
}

int main(void)
{
    char template[] = "/tmp/weft-config-XXXXXX";
    if (!mkdtemp(template) || !realpath(template, root)) {
        perror("mkdtemp");
        return 2;
    }
    make_directory("www");

    test_full_configuration();
    test_defaults();
    test_server_tokens();
    test_raw_arguments();
    test_error_classes();
    test_many_errors();
    test_post_config_errors();
    test_lexer();
    test_conditions();
    test_include();
    test_command_line_directives();
    test_server_root_and_builtin();
    test_sections_and_merging();
    test_listen();
    test_lookup_and_warnings();

    config_messages_free(&errors);
    config_messages_free(&warnings);
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
