/*
 * Unit tests for per-module configuration (module.h: server_config_size,
 * dir_config_size, module_server_config, module_dir_config): a module whose
 * rows write its own structs gets defaults, "set" bits, per-request merging
 * (copy on write: root_dir and the sections stay untouched), <VirtualHost>
 * inheritance and DUMP_CONFIG exactly as the core's fields do.
 */
#include "tap.h"

/* log.c before module.h: its parameters named "module" would shadow the type. */
#include "core/log.c"
#include "core/blocking.c"
#include "core/piped_log.c"
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

#include <ftw.h>
#include <unistd.h>

/* ---- a module with its own structs -------------------------------------- */

typedef struct {
    int level;
    char *name;
} owned_server;

typedef struct {
    bool active;
    char **words;  /* OwnedWord: each line adds, sections append */
    int64_t limit;
} owned_dir;

static int set_word(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    char ***list = target;
    int existing = 0;
    char **previous = config_was_set_here(parse, d) ? *list : NULL;
    while (previous && previous[existing])
        existing++;
    char **words = pool_alloc(config_pool(parse), sizeof(char *) * (size_t)(existing + 2));
    for (int i = 0; i < existing; i++)
        words[i] = previous[i];
    words[existing] = pool_strdup(config_pool(parse), argv[0]);
    words[existing + 1] = NULL;
    *list = words;
    return WEFT_OK;
}

static void merge_words(void *merged, const void *child, pool *p)
{
    char ***merged_list = merged;
    char **const *child_list = child;
    int before = 0, added = 0;
    while (*merged_list && (*merged_list)[before])
        before++;
    while (*child_list && (*child_list)[added])
        added++;
    char **combined = pool_alloc(p, sizeof(char *) * (size_t)(before + added + 1));
    if (before)
        memcpy(combined, *merged_list, sizeof(char *) * (size_t)before);
    if (added)
        memcpy(combined + before, *child_list, sizeof(char *) * (size_t)added);
    combined[before + added] = NULL;
    *merged_list = combined;
}

static const config_directive owned_directives[] = {
    { .name = "OwnedLevel", .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,
      .offset = offsetof(owned_server, level), .size = sizeof(int), .min_args = 1, .max_args = 1,
      .set = config_set_integer, .default_value = "7", .help = "a number" },
    { .name = "OwnedName", .contexts = CONTEXT_SERVER_OR_VHOST, .scope = SCOPE_SERVER,
      .offset = offsetof(owned_server, name), .size = sizeof(char *), .min_args = 1, .max_args = 1,
      .set = config_set_string, .help = "a name" },
    { .name = "OwnedActive", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(owned_dir, active), .size = sizeof(bool), .min_args = 1, .max_args = 1,
      .set = config_set_flag, .default_value = "Off", .help = "a flag" },
    { .name = "OwnedWord", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(owned_dir, words), .size = sizeof(char **), .min_args = 1, .max_args = 1,
      .set = set_word, .merge = merge_words, .help = "a word" },
    { .name = "OwnedLimit", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(owned_dir, limit), .size = sizeof(int64_t), .min_args = 1, .max_args = 1,
      .set = config_set_size, .help = "bytes" },
    { .name = NULL },
};

static const module owned_module = {
    .name = "owned",
    .directives = owned_directives,
    .server_config_size = sizeof(owned_server),
    .dir_config_size = sizeof(owned_dir),
};

/* A module without structs of its own: accessors answer NULL. */
static const module plain_module = { .name = "plain" };

const module *const weft_modules[] = { &core_module, &vhost_module, &plain_module, &owned_module, NULL };

/* The real answers about Apache modules, over this test's weft_modules. */
#include "modules/apache_modules.c"

static char root[] = "/tmp/weft-modconf-XXXXXX";

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

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove(path);
}

static const owned_dir *dir_for(const server_config *server, const char *url, pool *p)
{
    return module_dir_config(config_dir_for_request(server, NULL, url, p), &owned_module);
}

static void test_defaults_and_set(void)
{
    server_config *server = load("Listen 80\nOwnedName first\nOwnedWord a\nOwnedWord b\n");
    ok(server != NULL, "a configuration with module rows loads");
    if (!server)
        return;
    const owned_server *own = module_server_config(server, &owned_module);
    ok(own != NULL, "the module's server struct exists");
    is_int(own->level, 7, "a default lands in the module's server struct");
    is_string(own->name, "first", "a set row lands in the module's server struct");
    ok(config_was_set(server, config_find_directive("OwnedName")), "and is marked set");
    ok(!config_was_set(server, config_find_directive("OwnedLevel")), "a default is not marked set");
    const owned_dir *dir = module_dir_config(server->root_dir, &owned_module);
    ok(dir && !dir->active, "a dir default lands in the module's dir struct");
    ok(dir && dir->words && !strcmp(dir->words[0], "a") && !strcmp(dir->words[1], "b") && !dir->words[2],
       "config_was_set_here lets a second line extend a list");
    ok(module_server_config(server, &plain_module) == NULL && module_dir_config(server->root_dir, &plain_module) == NULL,
       "a module without structs has none");
    is_int(server->timeout, 60, "core fields unchanged");
    config_free(server);
}

static void test_merging(void)
{
    server_config *server = load("Listen 80\nOwnedWord top\nOwnedLimit 10\n"
                                 "<Location /a>\n  OwnedActive On\n  OwnedWord a\n</Location>\n"
                                 "<Location /a/b>\n  OwnedLimit 20\n  OwnedWord b\n</Location>\n"
                                 "<Location /c>\n  LimitRequestBody 5\n</Location>\n");
    ok(server != NULL, "sections with module rows load");
    if (!server)
        return;
    pool *p = pool_create(4096);
    const owned_dir *root_owned = module_dir_config(server->root_dir, &owned_module);
    const owned_dir *a = dir_for(server, "/a/x", p);
    ok(a->active, "a section's flag applies");
    is_int(a->limit, 10, "an unset field stays inherited");
    ok(a->words && !strcmp(a->words[0], "top") && !strcmp(a->words[1], "a") && !a->words[2],
       "the row's merge callback combines");
    const owned_dir *ab = dir_for(server, "/a/b/x", p);
    ok(ab->active && ab->limit == 20, "nested sections merge in order");
    ok(ab->words && ab->words[2] && !strcmp(ab->words[2], "b") && !ab->words[3], "lists grow section by section");
    ok(!root_owned->active && root_owned->limit == 10 && root_owned->words && !root_owned->words[1],
       "merging leaves root_dir's module struct unchanged");
    const owned_dir *section_a = module_dir_config(server->sections[0].config, &owned_module);
    ok(section_a->words && !section_a->words[1], "and the section's own struct unchanged");
    const dir_config *c = config_dir_for_request(server, NULL, "/c", p);
    ok(c != server->root_dir && module_dir_config(c, &owned_module) == root_owned,
       "a section that sets no row of the module shares root_dir's struct (no copy)");
    ok(dir_for(server, "/z", p) == root_owned, "no section: root_dir's struct");
    pool_destroy(p);
    config_free(server);
}

static void test_vhosts(void)
{
    server_config *server = load("Listen 80\nOwnedName main\nOwnedLevel 3\n"
                                 "<VirtualHost *:80>\n  ServerName one\n  OwnedLevel 9\n  OwnedWord v\n</VirtualHost>\n"
                                 "<VirtualHost *:80>\n  ServerName two\n</VirtualHost>\n");
    ok(server != NULL, "vhosts with module rows load");
    if (!server)
        return;
    const server_config *one = vhost_server(server, 0), *two = vhost_server(server, 1);
    const owned_server *main_owned = module_server_config(server, &owned_module);
    const owned_server *one_owned = module_server_config(one, &owned_module);
    const owned_server *two_owned = module_server_config(two, &owned_module);
    is_int(one_owned->level, 9, "a vhost's own value");
    is_string(one_owned->name, "main", "what a vhost does not set it inherits");
    is_int(two_owned->level, 3, "another vhost inherits the main server's");
    is_int(main_owned->level, 3, "the main server's struct is not changed by a vhost");
    ok(one_owned != main_owned, "each vhost has its own struct");
    const owned_dir *one_dir = module_dir_config(one->root_dir, &owned_module);
    ok(one_dir->words && !strcmp(one_dir->words[0], "v"), "a vhost's dir row reaches its root_dir");
    ok(!((const owned_dir *)module_dir_config(server->root_dir, &owned_module))->words,
       "and not the main server's");

    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    config_dump(out, server);
    fclose(out);
    ok(text && strstr(text, "\nOwnedLevel 3\n") && strstr(text, "\nOwnedName main\n") && strstr(text, "\nOwnedActive Off\n"),
       "DUMP_CONFIG shows the module's fields");
    ok(text && strstr(text, "#   OwnedLevel 9\n"), "DUMP_CONFIG shows a vhost's own module value");
    free(text);
    config_free(server);
}

int main(void)
{
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 2;
    }
    char www[PATH_MAX];
    snprintf(www, sizeof www, "%s/www", root);
    mkdir(www, 0755);
    test_defaults_and_set();
    test_merging();
    test_vhosts();
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
