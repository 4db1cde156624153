/*
 * Unit tests for the section merge order (config_merge.c): Directory
 * (shortest first) < DirectoryMatch < Files/FilesMatch < Location/
 * LocationMatch, file order within a group, a vhost's sections after the
 * main server's; the matching rules of each kind; and that a request no
 * section applies to gets root_dir itself.  SetHandler, one value per
 * section, shows which section merged last.
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

/* SetHandler marks which section applied; the engine accepts declared
 * handler names only. */
static const char *const marker_handlers[] = {
    "directory", "directory-deep", "directory-root", "directorymatch", "files", "files-tilde", "filesmatch", "location", "location-tilde", "location-wildcard", "locationmatch", "main-directory", "main-location", "nested", "root", "slash", "tilde", "vhost-directory", "vhost-location", "vhost-root", "wildcard",
    NULL,
};
static const module marker_module = { .name = "markers", .handlers = marker_handlers };

const module *const weft_modules[] = { &core_module, &vhost_module, &marker_module, NULL };

/* The real answers about Apache modules, over this test's weft_modules. */
#include "modules/apache_modules.c"

static char root[] = "/tmp/weft-sections-XXXXXX";
static pool *p;

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

/* The handler the merge ends with for a file under root and a URL. */
static const char *winner(const server_config *server, const char *file, const char *url)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s%s", root, file);
    const char *handler = config_dir_for_request(server, file ? path : NULL, url, p)->handler;
    return handler ? handler : "none";
}

/* Every kind written in the file in the reverse of the merge order. */
static const char order_config[] = "Listen 80\n"
                                   "DocumentRoot .\n"
                                   "SetHandler root\n"
                                   "<LocationMatch ^/a/>\n  SetHandler locationmatch\n</LocationMatch>\n"
                                   "<Location /a>\n  SetHandler location\n</Location>\n"
                                   "<FilesMatch \\.txt$>\n  SetHandler filesmatch\n</FilesMatch>\n"
                                   "<Files f.txt>\n  SetHandler files\n</Files>\n"
                                   "<DirectoryMatch /d/e/>\n  SetHandler directorymatch\n</DirectoryMatch>\n"
                                   "<Directory d/e>\n  SetHandler directory-deep\n</Directory>\n"
                                   "<Directory d>\n  SetHandler directory\n</Directory>\n"
                                   "<Directory />\n  SetHandler directory-root\n</Directory>\n";

static void test_order(void)
{
    server_config *server = load(order_config);
    ok(server != NULL, "the configuration loads");
    if (!server)
        return;
    is_int(server->section_count, 8, "eight sections");
    static const section_kind expected[] = { SECTION_DIRECTORY, SECTION_DIRECTORY, SECTION_DIRECTORY,
                                             SECTION_DIRECTORY_MATCH, SECTION_FILES_MATCH, SECTION_FILES,
                                             SECTION_LOCATION_MATCH, SECTION_LOCATION };
    bool kinds = true;
    for (int i = 0; i < 8; i++)
        kinds = kinds && server->merge_order[i]->kind == expected[i];
    ok(kinds, "merge_order: Directory, DirectoryMatch, Files group, Location group");
    ok(strcmp(server->merge_order[0]->path, "/") == 0 && server->merge_order[2]->depth > server->merge_order[1]->depth,
       "Directories shortest first");
    is_int(server->sections[0].kind, SECTION_LOCATION_MATCH, "sections stay in file order");

    is_string(winner(server, "/x/y", "/x/y"), "directory-root", "only <Directory />");
    is_string(winner(server, "/d/y", "/d/y"), "directory", "Directory d over /");
    is_string(winner(server, "/d/e/y", "/d/e/y"), "directorymatch", "DirectoryMatch over the deepest Directory");
    is_string(winner(server, "/d/e", "/d/e"), "directory-deep", "a DirectoryMatch /d/e/ needs the slash after e");
    is_string(winner(server, "/d/e/g.txt", "/z"), "filesmatch", "FilesMatch over DirectoryMatch");
    is_string(winner(server, "/d/e/f.txt", "/z"), "files", "Files and FilesMatch in file order");
    is_string(winner(server, "/d/e/f.txt", "/a"), "location", "Location over Files");
    is_string(winner(server, "/d/e/f.txt", "/a/b"), "location", "Location and LocationMatch in file order");
    is_string(winner(server, NULL, "/a/b"), "location", "no file path: only Locations");
    is_string(winner(server, NULL, "/ab"), "root", "Location /a does not cover /ab");
    ok(config_dir_for_request(server, NULL, "/nothing", p) == server->root_dir,
       "no section applies: root_dir itself, nothing allocated");
    config_free(server);
}

static void test_kinds(void)
{
    server_config *server = load("Listen 80\nDocumentRoot .\n"
                                 "<Directory ~ \"/r[0-9]$\">\n  SetHandler tilde\n</Directory>\n"
                                 "<Directory \"w*/s?b\">\n  SetHandler wildcard\n</Directory>\n"
                                 "<Directory n>\n  <Files \"*.inc\">\n    SetHandler nested\n  </Files>\n</Directory>\n"
                                 "<Files ~ \"^t[0-9]$\">\n  SetHandler files-tilde\n</Files>\n"
                                 "<Location /loc/>\n  SetHandler slash\n</Location>\n"
                                 "<Location \"/w/*/end\">\n  SetHandler location-wildcard\n</Location>\n"
                                 "<Location ~ \"^/re$\">\n  SetHandler location-tilde\n</Location>\n");
    ok(server != NULL, "the configuration loads");
    if (!server)
        return;
    is_string(winner(server, "/x/r1", NULL), "tilde", "<Directory ~> against the whole path");
    is_string(winner(server, "/x/r1/f", NULL), "none", "... anchored with $");
    is_string(winner(server, "/wx/sub/f", NULL), "wildcard", "Directory wildcard, * and ?");
    is_string(winner(server, "/wx/sub", NULL), "wildcard", "... covers the directory itself");
    is_string(winner(server, "/wx/y/sub/f", NULL), "none", "... * stays in one component");
    is_string(winner(server, "/n/a.inc", NULL), "nested", "Files nested in a Directory");
    is_string(winner(server, "/n/deeper/a.inc", NULL), "nested", "... also below it");
    is_string(winner(server, "/m/a.inc", NULL), "none", "... not outside it");
    is_string(winner(server, "/x/t7", NULL), "files-tilde", "<Files ~> against the last component");
    is_string(winner(server, "/t7/x", NULL), "none", "... only the last component");
    is_string(winner(server, NULL, "/loc/x"), "slash", "<Location /loc/> covers /loc/x");
    is_string(winner(server, NULL, "/loc"), "none", "... not /loc");
    is_string(winner(server, NULL, "/w/a/end"), "location-wildcard", "Location wildcard");
    is_string(winner(server, NULL, "/w/a/b/end"), "none", "... * does not match /");
    is_string(winner(server, NULL, "/re"), "location-tilde", "<Location ~>");
    config_free(server);
}

static void test_vhost_sections(void)
{
    server_config *main = load("Listen 80\nDocumentRoot .\n"
                               "<Location /v>\n  SetHandler main-location\n</Location>\n"
                               "<VirtualHost *>\n"
                               "  ServerName one\n"
                               "  SetHandler vhost-root\n"
                               "  <Location /v>\n    SetHandler vhost-location\n  </Location>\n"
                               "  <Directory d>\n    SetHandler vhost-directory\n  </Directory>\n"
                               "</VirtualHost>\n"
                               "<Directory d>\n  SetHandler main-directory\n</Directory>\n");
    ok(main != NULL, "the configuration loads");
    if (!main)
        return;
    const server_config *vhost = vhost_server(main, 0);
    is_int(main->section_count, 2, "the main server has its own two sections");
    is_int(vhost->section_count, 4, "the vhost has the main server's, then its own");
    is_string(winner(vhost, "/d/f", NULL), "vhost-directory", "the vhost's Directory after the main one");
    is_string(winner(vhost, NULL, "/v"), "vhost-location", "the vhost's Location after the main one");
    is_string(winner(vhost, "/d/f", "/v"), "vhost-location", "Locations after Directories, in a vhost too");
    is_string(winner(vhost, NULL, "/other"), "vhost-root", "the vhost's own top-level SetHandler");
    is_string(winner(main, "/d/f", "/v"), "main-location", "the main server is unchanged");
    is_string(winner(main, NULL, "/other"), "none", "... also its root_dir");
    config_free(main);
}

static void test_regex_prefix(void)
{
    config_parse parse = { .pool = p };
    const struct {
        const char *pattern;
        const char *prefix;
    } cases[] = {
        { "^/img/(.*)$", "/img/" }, { "^/a\\.b", "/a.b" },  { "^/ab?", "/a" },     { "^/ab*", "/a" },
        { "^/ab+", "/ab" },         { "^/ab{2}", "/a" },       { "^/x[0-9]", "/x" },  { "^/a|^/b", "" },
        { "/img/", "" },            { "^\\d", "" },          { "^$", "" },          { "^.", "" },
        { "^/a(b|c)", "" },       { "^/a\\??", "/a" },     { "^/a\\d", "/a" },    { "^(?i)/a", "" },
        { "^/a\\Qb\\E", "/a" },
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++)
        is_string(config_regex_prefix(&parse, cases[i].pattern, 0), cases[i].prefix, "literal prefix of %s",
                  cases[i].pattern);
    is_string(config_regex_prefix(&parse, "^/admin", REGEX_CASELESS), "", "a caseless pattern has no prefix");
}

/* A plain <Location> uses the shared URL-path prefix rule (core/match.c). */
static void test_location_prefix(void)
{
    ok(location_matches("/a", "/a"), "<Location /a> covers /a");
    ok(location_matches("/a", "/a/"), "... /a/");
    ok(location_matches("/a", "/a/x"), "... /a/x");
    ok(!location_matches("/a", "/ab"), "... not /ab");
    ok(!location_matches("/a/", "/a"), "<Location /a/> does not cover /a");
    ok(location_matches("/a//b", "/a/b/c"), "doubled slashes in a Location collapse");
    ok(location_matches("/", "/anything"), "<Location /> covers everything");
    ok(location_matches("", "/anything"), "an empty Location covers everything, as before");
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(void)
{
    if (!mkdtemp(root))
        return 2;
    p = pool_create(4096);
    test_order();
    test_kinds();
    test_vhost_sections();
    test_regex_prefix();
    test_location_prefix();
    pool_destroy(p);
    nftw(root, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
