/*
 * Unit tests for src/core/vhost.c: host names out of Host values, wildcard
 * matching, and vhost_select over configurations read by the real engine
 * (address groups, exact address beats "*", exact port beats any port,
 * names, the default, IPv4-mapped local addresses, inheritance).
 */
#include "tap.h"

/* log.c before module.h: its parameters named "module" would shadow the type. */
#include "core/log.c"
#if __has_include("core/piped_log.c")
#include "core/blocking.c"
#include "core/piped_log.c"
#endif
#include "core/buffer.c"
#include "core/config.c"
#include "core/config_sections.c"
#include "core/regex.c"
#include "core/expr.c"
#include "core/expr_eval.c"
#include "core/network.c"
#if __has_include("core/config_dump.c")
#include "core/config_dump.c"
#endif
#include "core/config_lexer.c"
#include "core/config_merge.c"
#include "core/match.c"
#include "core/core_module.c"
#include "core/pool.c"
#include "core/vhost.c"

#include <ftw.h>
#include <unistd.h>

const module *const weft_modules[] = { &core_module, &vhost_module, NULL };

/* The real answers about Apache modules, over this test's weft_modules. */
#include "modules/apache_modules.c"

static char root[] = "/tmp/weft-vhost-XXXXXX";

static server_config *load(const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/t.conf", root);
    FILE *file = fopen(path, "w");
    fputs(text, file);
    fclose(file);
    config_options options = { .server_root = root, .config_file = "t.conf" };
    config_messages errors = { 0 }, warnings = { 0 };
    server_config *server = config_load(&options, &errors, &warnings);
    for (int i = 0; i < errors.count; i++)
        note("error: %s", errors.messages[i]);
    config_messages_free(&errors);
    config_messages_free(&warnings);
    return server;
}

static void test_host_name(void)
{
    const struct {
        const char *host;
        const char *name;
    } cases[] = {
        { "example.com", "example.com" },    { "example.com:8080", "example.com" },
        { "Example.COM.", "Example.COM" },   { "example.com.:80", "example.com" },
        { "[::1]", "::1" },                  { "[::1]:8080", "::1" },
        { "[2001:db8::7]:1", "2001:db8::7" }, { "127.0.0.1:80", "127.0.0.1" },
        { "", "" },                          { ":80", "" },
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        const char *name;
        size_t length = vhost_host_name(cases[i].host, strlen(cases[i].host), &name);
        char got[64];
        snprintf(got, sizeof(got), "%.*s", (int)length, name);
        is_string(got, cases[i].name, "host name of '%s'", cases[i].host);
    }
}

static void test_wildcards(void)
{
    const struct {
        const char *pattern;
        const char *name;
        bool matches;
    } cases[] = {
        { "example.com", "example.com", true },     { "example.com", "EXAMPLE.Com", true },
        { "example.com", "example.co", false },     { "example.com", "example.comm", false },
        { "*.example.com", "www.example.com", true }, { "*.example.com", "a.b.example.com", true },
        { "*.example.com", "example.com", false },  { "*.example.com", ".example.com", true },
        { "www.*.com", "www.x.com", true },         { "www.*.com", "www.com", false },
        { "?.example", "a.example", true },         { "?.example", "ab.example", false },
        { "??", "ab", true },                       { "??", "a", false },
        { "*", "", true },                          { "*", "anything.at.all", true },
        { "a*b*c", "aXXbYYc", true },               { "a*b*c", "aXXcYYb", false },
        { "*x*", "abc", false },                    { "**.com", "x.com", true },
        { "", "", true },                           { "", "a", false },
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++)
        ok(vhost_name_matches(cases[i].pattern, cases[i].name, strlen(cases[i].name)) == cases[i].matches,
           "'%s' %s '%s'", cases[i].pattern, cases[i].matches ? "matches" : "does not match", cases[i].name);
    ok(vhost_name_matches("abc", "abcdef", 3), "only length bytes of the name count");
}

static const char *picked(const server_config *main, const char *local, int port, const char *host)
{
    const server_config *s = vhost_select(main, local, port, host, host ? strlen(host) : 0);
    return s == main ? "main" : s->server_name;
}

static void test_select(void)
{
    server_config *main = load("Listen 80\n"
                               "ServerName main\n"
                               "DocumentRoot .\n"
                               "Timeout 7\n"
                               "<VirtualHost *:80>\n"
                               "  ServerName any80-first\n"
                               "</VirtualHost>\n"
                               "<VirtualHost *:80 *:81>\n"
                               "  ServerName any80-second\n"
                               "  ServerAlias *.second second2\n"
                               "  Timeout 9\n"
                               "</VirtualHost>\n"
                               "<VirtualHost 10.0.0.1:80>\n"
                               "  ServerName exact\n"
                               "</VirtualHost>\n"
                               "<VirtualHost 10.0.0.2>\n"
                               "  ServerName exact-any-port\n"
                               "</VirtualHost>\n"
                               "<VirtualHost 10.0.0.2:80>\n"
                               "  ServerName exact-80\n"
                               "</VirtualHost>\n"
                               "<VirtualHost [::1]:80>\n"
                               "  ServerName six\n"
                               "</VirtualHost>\n"
                               "<VirtualHost _default_:*>\n"
                               "  ServerName anything\n"
                               "</VirtualHost>\n");
    ok(main != NULL, "the configuration loads");
    if (!main)
        return;
    is_int(vhost_count(main), 7, "seven vhosts");
    ok(vhost_needs_local_address(main), "addresses and ports need the local address");
    is_string(picked(main, "192.0.2.1", 80, "any80-second"), "any80-second", "name on *:80");
    is_string(picked(main, "192.0.2.1", 80, "ANY80-SECOND.:80"), "any80-second", "case, dot and port ignored");
    is_string(picked(main, "192.0.2.1", 80, "x.second"), "any80-second", "wildcard alias");
    is_string(picked(main, "192.0.2.1", 80, "second2"), "any80-second", "plain alias");
    is_string(picked(main, "192.0.2.1", 80, "unknown"), "any80-first", "unknown name: the first of *:80");
    is_string(picked(main, "192.0.2.1", 80, NULL), "any80-first", "no Host: the first of *:80");
    is_string(picked(main, "192.0.2.1", 81, "whatever"), "any80-second", "*:81 has one vhost");
    is_string(picked(main, "192.0.2.1", 82, "any80-second"), "anything", "_default_:* for other ports");
    is_string(picked(main, "10.0.0.1", 80, "any80-second"), "exact", "an exact address beats *, whatever the name");
    is_string(picked(main, "10.0.0.1", 81, "x"), "any80-second", "... but only on its port");
    is_string(picked(main, "10.0.0.2", 80, NULL), "exact-80", "exact address and port beat exact address, any port");
    is_string(picked(main, "10.0.0.2", 8080, NULL), "exact-any-port", "exact address, any port");
    is_string(picked(main, "::1", 80, NULL), "six", "an IPv6 address");
    is_string(picked(main, "::ffff:10.0.0.1", 80, NULL), "exact", "an IPv4-mapped local address");
    is_string(picked(main, NULL, 0, "any80-second"), "anything", "local address unknown: only wildcards apply");

    const server_config *second = vhost_select(main, "192.0.2.1", 81, NULL, 0);
    is_int(second->timeout, 9, "a vhost's own Timeout");
    is_int(vhost_select(main, "192.0.2.1", 80, NULL, 0)->timeout, 7, "another inherits the main server's");
    is_string(second->document_root, main->document_root, "DocumentRoot inherited");
    ok(second->server_header && strcmp(second->server_header, main->server_header) == 0,
       "values post_config derived are inherited too");
    ok(second->vhosts == NULL, "a vhost has no vhosts of its own");
    config_free(main);

    main = load("Listen 80\nDocumentRoot .\n<VirtualHost *>\nServerName a\n</VirtualHost>\n"
                "<VirtualHost *>\nServerName b\n</VirtualHost>\n");
    ok(main && !vhost_needs_local_address(main), "only * with any port: no local address needed");
    if (main)
        is_string(picked(main, NULL, 0, "b"), "b", "and names still choose");
    config_free(main);

    main = load("Listen 80\nDocumentRoot .\n");
    ok(main && main->vhosts == NULL && vhost_count(main) == 0, "no vhosts: no table");
    if (main)
        ok(vhost_select(main, "1.2.3.4", 80, "x", 1) == main, "no vhosts: the main server");
    config_free(main);
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(void)
{
    if (!mkdtemp(root))
        return 2;
    test_host_name();
    test_wildcards();
    test_select();
    nftw(root, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
