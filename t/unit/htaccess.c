/*
 * Unit tests for .htaccess files: parsing one with the configuration
 * engine under AllowOverride and AllowOverrideList (config_htaccess.c,
 * config.c, config_sections.c), the directory walk that merges them
 * (config_walk.c), and the per-child cache with its inotify validation
 * (modules/htaccess.c).  Files live in a fresh mkdtemp() tree.
 */
#include "tap.h"

#include "core/log.c"
#include "core/blocking.c"
#include "core/piped_log.c"
#include "core/buffer.c"
#include "core/config.c"
#include "core/config_sections.c"
#include "core/config_htaccess.c"
#include "core/config_walk.c"
#include "core/regex.c"
#include "core/expr.c"
#include "core/expr_eval.c"
#include "core/network.c"
#include "core/config_dump.c"
#include "core/config_lexer.c"
#include "core/config_merge.c"
#include "core/match.c"
#include "core/core_module.c"
#include "core/overrides.c"
#include "core/pool.c"
#include "core/vhost.c"
#define WEFT_HTACCESS_TEST_HOOKS
#include "modules/htaccess.c"

#include <ftw.h>
#include <unistd.h>

/* FakeInfo (FileInfo) records the section config_current_section gives
 * it; FakeAuth is AuthConfig; FakeServer is no .htaccess directive. */
static char current_path[PATH_MAX];
static int current_kind = -1;

typedef struct {
    char *info;
} fake_dir_config;

static const module fake_module;

static int set_fake_info(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    const config_section *section = config_current_section(parse);
    snprintf(current_path, sizeof(current_path), "%s", section ? section->path : "(none)");
    current_kind = section ? (int)section->kind : -1;
    return config_set_string(parse, d, target, argc, argv);
}

static const config_directive fake_directives[] = {
    { .name = "FakeInfo", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(fake_dir_config, info), .size = sizeof(char *), .min_args = 1, .max_args = 1,
      .set = set_fake_info, .help = "a FileInfo string", .overrides = OVERRIDE_FILEINFO },
    { .name = "FakeAuth", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(fake_dir_config, info), .size = sizeof(char *), .min_args = 1, .max_args = 1,
      .set = config_set_string, .help = "an AuthConfig string", .overrides = OVERRIDE_AUTHCONFIG },
    { .name = "FakeServer", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_SERVER, .min_args = 0,
      .max_args = ARGS_UNLIMITED, .set = config_set_ignored, .help = "not in .htaccess" },
    { .name = NULL },
};

static const module fake_module = {
    .name = "fake",
    .directives = fake_directives,
    .dir_config_size = sizeof(fake_dir_config),
};

const module *const weft_modules[] = { &core_module, &vhost_module, &overrides_module, &htaccess_module,
                                       &fake_module, NULL };

#include "modules/apache_modules.c"

static char root[] = "/tmp/weft-htaccess-XXXXXX";
static pool *p;

static const char *info_of(const dir_config *dir)
{
    const char *info = ((const fake_dir_config *)module_dir_config(dir, &fake_module))->info;
    return info ? info : "none";
}

static void write_text(const char *relative, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, relative);
    FILE *file = fopen(path, "w");
    fputs(text, file);
    fclose(file);
}

static server_config *load(const char *text)
{
    write_text("t.conf", text);
    config_options options = { .server_root = root, .config_file = "t.conf" };
    config_messages errors = { 0 }, warnings = { 0 };
    server_config *server = config_load(&options, &errors, &warnings);
    for (int i = 0; i < errors.count; i++)
        note("error: %s", errors.messages[i]);
    config_messages_free(&errors);
    config_messages_free(&warnings);
    return server;
}

static htaccess_file *parse(const server_config *server, const char *text, unsigned wanted, unsigned nonfatal,
                            char *const *list)
{
    override_setting allowed = { .categories = wanted, .options = OPTION_ALL, .nonfatal = nonfatal };
    char directory[PATH_MAX];
    snprintf(directory, sizeof(directory), "%s/d", root);
    return htaccess_parse(server, directory, "/x/.htaccess", text, strlen(text), &allowed, list, p);
}

static bool messages_have(const htaccess_file *file, const char *text)
{
    return file->messages && strstr(file->messages, text);
}

static void test_parse(const server_config *server)
{
    char directory[PATH_MAX];
    snprintf(directory, sizeof(directory), "%s/d", root);
    htaccess_file *file = parse(server, "# comment\nFakeInfo yes\n", OVERRIDE_FILEINFO, 0, NULL);
    is_int(file->state, HTACCESS_PARSED, "a FileInfo line under FileInfo: parsed");
    is_string(info_of(file->directory.config), "yes", "... and set in the file's dir_config");
    is_string(current_path, directory, "config_current_section: a <Directory> of the file's directory");
    is_int(current_kind, SECTION_DIRECTORY, "... of kind Directory");

    file = parse(server, "FakeInfo a\nFakeAuth b\n", OVERRIDE_FILEINFO, 0, NULL);
    is_int(file->state, HTACCESS_FAILED, "an AuthConfig line under FileInfo: failed");
    ok(messages_have(file, "/x/.htaccess:2: FakeAuth not allowed here"), "... file:line: not allowed here");
    char *list[] = { "fakeauth", NULL };
    file = parse(server, "FakeInfo a\nFakeAuth b\n", OVERRIDE_FILEINFO, 0, list);
    is_int(file->state, HTACCESS_PARSED, "AllowOverrideList names it (any case): parsed");
    file = parse(server, "FakeAuth b\n", 0, 0, list);
    is_int(file->state, HTACCESS_PARSED, "AllowOverride None with the list: the listed directive alone");
    file = parse(server, "FakeAuth b\nFakeInfo a\n", OVERRIDE_AUTHCONFIG, OVERRIDE_NONFATAL_OVERRIDE, NULL);
    is_int(file->state, HTACCESS_PARSED, "Nonfatal=Override: parsed");
    is_string(info_of(file->directory.config), "b", "... the line not allowed is skipped");
    ok(messages_have(file, ":2: FakeInfo not allowed here; skipped"), "... with a warning");
    file = parse(server, "NoSuch thing\n", OVERRIDE_ALL, 0, NULL);
    ok(file->state == HTACCESS_FAILED && messages_have(file, ":1: Invalid command 'NoSuch'"), "an unknown directive");
    file = parse(server, "NoSuch thing\nFakeInfo c\n", OVERRIDE_ALL, OVERRIDE_NONFATAL_UNKNOWN, NULL);
    ok(file->state == HTACCESS_PARSED && !strcmp(info_of(file->directory.config), "c"), "Nonfatal=Unknown");
    file = parse(server, "FakeServer\n", OVERRIDE_ALL, 0, NULL);
    ok(file->state == HTACCESS_FAILED && messages_have(file, "FakeServer not allowed here"),
       "a directive of no category, under All");
    file = parse(server, "Listen 80\n", OVERRIDE_ALL, OVERRIDE_NONFATAL_OVERRIDE, NULL);
    ok(file->state == HTACCESS_FAILED, "a server directive is refused by its context, Nonfatal or not");
    file = parse(server, "<Directory />\nFakeInfo x\n</Directory>\n", OVERRIDE_ALL, 0, NULL);
    ok(file->state == HTACCESS_FAILED && messages_have(file, ":1: <Directory not allowed here"), "<Directory>");
    file = parse(server, "<VirtualHost *:80>\n</VirtualHost>\n", OVERRIDE_ALL, 0, NULL);
    ok(file->state == HTACCESS_FAILED && messages_have(file, "<VirtualHost not allowed here"), "<VirtualHost>");
    file = parse(server, "<Files a.txt>\nFakeInfo f\n</Files>\n<FilesMatch \\.b$>\nFakeInfo g\n</FilesMatch>\n",
                 OVERRIDE_FILEINFO, 0, NULL);
    ok(file->state == HTACCESS_PARSED && file->file_count == 2, "<Files> and <FilesMatch>: two sections");
    ok(file->file_count == 2 && file->files[0]->within && !strcmp(file->files[0]->within->path, directory),
       "... within the file's directory");
    file = parse(server, "<Files a.txt>\nFakeInfo f\n</Files>\n", 0, 0, list);
    ok(file->state == HTACCESS_FAILED && messages_have(file, "<Files not allowed here"),
       "<Files> needs a category, not only a list");
    file = parse(server, "<Limit GET>\nFakeInfo x\n</Limit>\n", OVERRIDE_FILEINFO, 0, NULL);
    ok(file->state == HTACCESS_FAILED && messages_have(file, "<Limit not allowed here"), "<Limit> under FileInfo");
    file = parse(server, "<If \"true\">\nFakeInfo i\n</If>\n<Else>\nFakeInfo e\n</Else>\n", OVERRIDE_FILEINFO, 0, NULL);
    ok(file->state == HTACCESS_PARSED && file->condition_count == 2, "<If> and <Else>: two conditions");
    file = parse(server, "FakeInfo a\n<Files x>\nFakeInfo b\n", OVERRIDE_FILEINFO, 0, NULL);
    ok(file->state == HTACCESS_FAILED && messages_have(file, ":2: <Files> was not closed"), "an unclosed section");
    override_setting options_only = { .categories = OVERRIDE_OPTIONS, .options = OPTION_INDEXES };
    const char *text = "Options +Indexes -ExecCGI\n";
    file = htaccess_parse(server, directory, "/x/.htaccess", text, strlen(text), &options_only, NULL, p);
    ok(file->state == HTACCESS_FAILED && messages_have(file, "Option ExecCGI not allowed here"),
       "Options=Indexes: naming ExecCGI fails");
}

static const char *walk_info(const server_config *server, const char *relative)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, relative);
    const dir_config *dir = NULL;
    int rc = config_request_dir(server, path, "/", NULL, p, &dir);
    if (rc != WEFT_OK)
        return rc == 500 ? "500" : rc == 403 ? "403" : "other";
    return info_of(dir);
}

/* The module's post_config registered the cache, but no inotify
 * descriptor is open yet: these walks also check the stat(2) fallback. */
static void test_walk(void)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "Listen 80\nDocumentRoot .\n"
             "<Directory %s/d>\n  AllowOverride FileInfo\n  FakeInfo section-d\n</Directory>\n"
             "<Directory %s/d/e>\n  FakeInfo section-e\n</Directory>\n"
             "<Directory %s/d/none>\n  AllowOverride None\n</Directory>\n"
             "<Files z.txt>\n  FakeInfo files\n</Files>\n",
             root, root, root);
    server_config *server = load(text);
    ok(server != NULL, "the walk's configuration loads");
    if (!server)
        return;
    is_string(walk_info(server, "d/x.txt"), "section-d", "no .htaccess: the <Directory>");
    write_text("d/.htaccess", "FakeInfo htaccess-d\n");
    is_string(walk_info(server, "d/x.txt"), "htaccess-d", "the file merges after its directory's section");
    is_string(walk_info(server, "d/e/x.txt"), "section-e", "... and before a deeper section");
    write_text("d/e/.htaccess", "FakeInfo htaccess-e\n");
    is_string(walk_info(server, "d/e/x.txt"), "htaccess-e", "the deeper file last");
    is_string(walk_info(server, "d/e/z.txt"), "files", "the configuration's <Files> after the files");
    write_text("d/e/.htaccess", "<Files z.txt>\nFakeInfo htaccess-files\n</Files>\n");
    is_string(walk_info(server, "d/e/z.txt"), "htaccess-files", "the files' <Files> after the configuration's");
    write_text("d/none/.htaccess", "Broken line\n");
    is_string(walk_info(server, "d/none/x.txt"), "htaccess-d", "AllowOverride None deeper: its file is not read");
    write_text("d/e/.htaccess", "FakeAuth no\n");
    is_string(walk_info(server, "d/e/x.txt"), "500", "a line not allowed: 500");
    is_string(walk_info(server, "d/.htaccess"), "403", "the file itself is never served");
    unlink(strcat(strcpy(text, root), "/d/e/.htaccess"));
    unlink(strcat(strcpy(text, root), "/d/none/.htaccess"));
    htaccess_cache_flush();  /* its entries name this configuration */
    config_free(server);
}

/* The cache: hits give the same parse, a change (seen through inotify
 * after a drain) a new one; directories without a file are remembered;
 * the capacity holds. */
static void test_cache(void)
{
    char text[4096];
    snprintf(text, sizeof(text), "Listen 80\nDocumentRoot .\n<Directory %s/d>\n  AllowOverride FileInfo\n</Directory>\n",
             root);
    server_config *server = load(text);
    ok(server != NULL, "the cache's configuration loads");
    if (!server)
        return;
    htaccess_cache_open_watches();
    capacity = 1 << 20;
    char directory[PATH_MAX];
    snprintf(directory, sizeof(directory), "%s/d", root);
    char *const *list;
    const override_setting *allowed = config_overrides_in_force(server->sections[0].config, &list);
    write_text("d/.htaccess", "FakeInfo one\n");
    pool *request = pool_create(4096);
    drain();
    const htaccess_file *first = lookup(server, directory, allowed, list, request);
    const htaccess_file *second = lookup(server, directory, allowed, list, request);
    ok(first == second, "a second lookup: the same parse (a hit)");
    is_string(info_of(first->directory.config), "one", "... of the file");
    ok(htaccess_cache_bytes() > 0, "the cache holds bytes");
    write_text("d/.htaccess", "FakeInfo two\n");
    drain();
    const htaccess_file *third = lookup(server, directory, allowed, list, request);
    ok(third != first, "after an edit and a drain: a new parse");
    is_string(info_of(third->directory.config), "two", "... of the new contents");
    is_string(info_of(first->directory.config), "one", "the old parse lives while a request holds it");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/d/.htaccess", root);
    unlink(path);
    drain();
    const htaccess_file *gone = lookup(server, directory, allowed, list, request);
    is_int(gone->state, HTACCESS_ABSENT, "a deleted file: absent at once");
    ok(lookup(server, directory, allowed, list, request) == gone, "... and that is remembered");
    write_text("d/.htaccess", "FakeInfo three\n");
    drain();
    const htaccess_file *created = lookup(server, directory, allowed, list, request);
    ok(created->state == HTACCESS_PARSED && !strcmp(info_of(created->directory.config), "three"),
       "a created file: parsed at once");
    pool_destroy(request);  /* releases the entries the lookups held */
    capacity = 1;
    request = pool_create(4096);
    const htaccess_file *big = lookup(server, directory, allowed, list, request);
    ok(big->state == HTACCESS_PARSED, "a file larger than the capacity is still parsed for the request");
    pool_destroy(request);
    entry *dead = NULL;
    pthread_mutex_lock(&lock);
    evict(&dead);
    pthread_mutex_unlock(&lock);
    destroy_all(dead);
    is_int((int)htaccess_cache_bytes(), 0, "... but not kept: the cache stays within its capacity");
    unlink(path);
    htaccess_cache_flush();
    config_free(server);
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(void)
{
    if (!mkdtemp(root))
        return 1;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/d/e", root);
    mkdir(strcat(strcpy(path, root), "/d"), 0755);
    mkdir(strcat(strcpy(path, root), "/d/e"), 0755);
    mkdir(strcat(strcpy(path, root), "/d/none"), 0755);
    p = pool_create(4096);
    char text[512];
    snprintf(text, sizeof(text), "Listen 80\nDocumentRoot .\n");
    server_config *server = load(text);
    ok(server != NULL, "a configuration loads");
    if (server) {
        test_parse(server);
        config_free(server);
    }
    test_walk();
    test_cache();
    pool_destroy(p);
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
