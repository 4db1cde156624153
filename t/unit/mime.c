/* Unit tests for src/modules/mime.c: the mime.types loader and table,
 * extension extraction, AddType (setter, precedence, merge callback) and
 * post_config's choice of types file.  The configuration engine is not
 * linked: the few config_* functions mime.c calls have stand-ins below. */
#include "tap.h"

/* module_server_config / module_dir_config are defined below (module.h). */
#define WEFT_MODULE_CONFIG_STUBS

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/modules/mime.c"

/* --- stand-ins for src/core/config.c --- */

struct config_parse {
    pool *pool;
    const char *server_root;
    char last_error[512];
    int error_count;
    int warning_count;
};

int config_error(config_parse *parse, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(parse->last_error, sizeof parse->last_error, format, args);
    va_end(args);
    parse->error_count++;
    return WEFT_ERROR;
}

void config_warning(config_parse *parse, const char *format, ...)
{
    parse->warning_count++;
}

pool *config_pool(config_parse *parse)
{
    return parse->pool;
}

char *config_resolve_path(config_parse *parse, const char *path)
{
    return path[0] == '/' ? pool_strdup(parse->pool, path)
                          : pool_printf(parse->pool, "%s/%s", parse->server_root, path);
}

void config_format_string(FILE *out, const config_directive *directive, const void *base) {}

int config_set_string(config_parse *parse, const config_directive *directive, void *target, int argc, char **argv)
{
    *(char **)target = pool_strdup(parse->pool, argv[0]);
    return WEFT_OK;
}

int config_set_path(config_parse *parse, const config_directive *directive, void *target,
                    int argc, char **argv)
{
    *(char **)target = config_resolve_path(parse, argv[0]);
    return WEFT_OK;
}

/* --- helpers --- */

static pool *test_pool;
static config_parse parse;

static char *write_temporary(const char *content)
{
    char *path = pool_strdup(test_pool, "/tmp/weft-mime-test-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
        note("cannot write %s: %s", path, strerror(errno));
        exit(1);
    }
    close(fd);
    return path;
}

static const config_directive *directive_named(const char *name)
{
    for (const config_directive *d = mime_module.directives; d->name; d++)
        if (strcasecmp(d->name, name) == 0)
            return d;
    return NULL;
}

/* A server_config / dir_config with the module's own struct beside it:
 * module_server_config and module_dir_config (core/config_merge.c, not
 * linked) find it there. */
typedef struct {
    server_config server;
    mime_server_config mime;
} test_server;

typedef struct {
    dir_config dir;
    mime_dir_config mime;
} test_dir;

void *module_server_config(const server_config *server, const module *m) { return &((test_server *)server)->mime; }
void *module_dir_config(const dir_config *dir, const module *m) { return &((test_dir *)dir)->mime; }

static int add_type(test_dir *dir, int argc, const char *const *arguments)
{
    const config_directive *row = directive_named("AddType");
    char **argv = pool_alloc(test_pool, sizeof(char *) * (size_t)argc);
    for (int i = 0; i < argc; i++)
        argv[i] = pool_strdup(test_pool, arguments[i]);
    return row->set(&parse, row, (char *)&dir->mime + row->offset, argc, argv);
}

static int apply(test_dir *dir, const char *name, int argc, const char *const *arguments)
{
    const config_directive *row = directive_named(name);
    char **argv = pool_alloc(test_pool, sizeof(char *) * (size_t)argc);
    for (int i = 0; i < argc; i++)
        argv[i] = pool_strdup(test_pool, arguments[i]);
    return row->set(&parse, row, (char *)&dir->mime + row->offset, argc, argv);
}

#define APPLY(dir, name, ...)                                                          \
    apply((dir), (name), (int)COUNT_OF(((const char *const[]){ __VA_ARGS__ })),       \
          (const char *const[]){ __VA_ARGS__ })

#define ADD_TYPE(dir, ...)                                                       \
    add_type((dir), (int)COUNT_OF(((const char *const[]){ __VA_ARGS__ })),    \
             (const char *const[]){ __VA_ARGS__ })

/* --- tests --- */

static void test_load_file(void)
{
    const char *content =
        "# a comment line\n"
        "\n"
        "text/html\t\thtml htm\n"
        "   text/plain   txt\tTEXT   # trailing comment ext\n"
        "application/x-nothing\n"
        "image/png .png\r\n"
        "text/old-css css\n"
        "text/css css\n"
        "#text/commented cmt\n"
        "application/wasm wasm";   /* no final newline */
    char *path = write_temporary(content);
    mime_table *table = mime_table_create(test_pool);
    is_int(mime_table_load(table, path), WEFT_OK, "temporary types file loads");
    unlink(path);

    is_string(mime_table_lookup(table, "html", 4), "text/html", "html");
    is_string(mime_table_lookup(table, "htm", 3), "text/html", "second extension on a line");
    is_string(mime_table_lookup(table, "txt", 3), "text/plain", "leading blanks, tab separators");
    is_string(mime_table_lookup(table, "text", 4), "text/plain", "upper-case extension in file");
    is_string(mime_table_lookup(table, "ext", 3), NULL, "comment after extensions ignored");
    is_string(mime_table_lookup(table, "png", 3), "image/png", "leading dot, CRLF line end");
    is_string(mime_table_lookup(table, "css", 3), "text/css", "a later line wins");
    is_string(mime_table_lookup(table, "cmt", 3), NULL, "commented-out line ignored");
    is_string(mime_table_lookup(table, "wasm", 4), "application/wasm", "last line without newline");
    is_string(mime_table_lookup(table, "HTML", 4), "text/html", "lookup is case-insensitive");
    is_string(mime_table_lookup(table, "HtM", 3), "text/html", "mixed case");
    is_string(mime_table_lookup(table, "htmlx", 3), "text/html", "length bounds the key");
    is_string(mime_table_lookup(table, "nothing", 7), NULL, "type without extensions adds nothing");
    is_string(mime_table_lookup(table, "", 0), NULL, "empty extension");
    is_int(mime_table_count(table), 7, "seven extensions");

    errno = 0;
    is_int(mime_table_load(table, "/nonexistent/mime.types"), WEFT_ERROR, "missing file fails");
    is_int(errno, ENOENT, "with ENOENT");
    is_int(mime_table_load(table, "/tmp"), WEFT_ERROR, "a directory fails");
    is_int(errno, EISDIR, "with EISDIR");
}

static void test_growth(void)
{
    mime_table *table = mime_table_create(test_pool);
    char extension[16], type[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(extension, sizeof extension, "E%d", i);
        snprintf(type, sizeof type, "x/t%d", i);
        mime_table_set(table, extension, type);
    }
    int wrong = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(extension, sizeof extension, "e%d", i);
        snprintf(type, sizeof type, "x/t%d", i);
        const char *found = mime_table_lookup(table, extension, strlen(extension));
        if (!found || strcmp(found, type) != 0)
            wrong++;
    }
    is_int(wrong, 0, "3000 extensions survive growth");
    is_int(mime_table_count(table), 3000, "count after growth");
    is_string(mime_table_lookup(table, "e3000", 5), NULL, "absent key after growth");
}

static void test_extensions(void)
{
    size_t length = 0;
    is_string(mime_path_extension("/a/b.html", &length), "html", "simple extension");
    is_int(length, 4, "its length");
    is_string(mime_path_extension("/a.tar.gz", &length), "gz", "last extension only");
    is_string(mime_path_extension("/dir.d/file", &length), NULL, "a dot in a directory is no extension");
    is_string(mime_path_extension("/dir.d/", &length), NULL, "directory path");
    is_string(mime_path_extension("/.bashrc", &length), NULL, "a dotfile has no extension");
    is_string(mime_path_extension("/a/.hidden.txt", &length), "txt", "dotfile with an extension");
    is_string(mime_path_extension("/file.", &length), NULL, "trailing dot");
    is_string(mime_path_extension("/README", &length), NULL, "no extension");
    is_string(mime_path_extension("style.CSS", &length), "CSS", "name without directory");
}

static void test_add_type(void)
{
    test_dir dir = { 0 };
    is_int(ADD_TYPE(&dir, "text/x-one", ".One", "two"), WEFT_OK, "AddType with and without dot");
    is_string(dir.mime.add_types ? dir.mime.add_types->extension : NULL, "two", "stored without dot");
    is_string(dir.mime.add_types && dir.mime.add_types->next ? dir.mime.add_types->next->extension : NULL, "one",
              "stored in lower case");
    is_int(ADD_TYPE(&dir, "text/x-later", "TWO"), WEFT_OK, "second AddType");

    test_server server = { .server = { .pool = test_pool }, .mime = { .mime_types = mime_table_create(test_pool) } };
    mime_table_set(server.mime.mime_types, "two", "text/x-table");
    mime_table_set(server.mime.mime_types, "three", "text/x-table");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/x/a.ONE"), "text/x-one", "AddType, any case");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/x/a.two"), "text/x-later",
              "the later AddType wins, and over the table");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/x/a.three"), "text/x-table", "table fallback");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/x/a.four"), NULL, "unknown extension");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/x/one"), NULL, "no extension, no type");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/x/.one"), NULL, "dotfile named like an extension");
    is_string(mime_type_for_path(&server.server, NULL, "/a.three"), "text/x-table", "dir may be NULL");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/a.three.one"), "text/x-one",
              "last extension decides");

    is_int(ADD_TYPE(&dir, "text/html; charset=UTF-8", "page"), WEFT_OK, "type with parameters");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/p.page"), "text/html; charset=UTF-8",
              "kept as written");
    parse.error_count = 0;
    is_int(ADD_TYPE(&dir, "nonsense", "x"), WEFT_ERROR, "a type needs a slash");
    is_string(parse.last_error, "AddType: 'nonsense' is not a media type (type/subtype)",
              "error message");
    is_int(ADD_TYPE(&dir, "/x", "x"), WEFT_ERROR, "empty type part");
    is_int(ADD_TYPE(&dir, "text/", "x"), WEFT_ERROR, "empty subtype");
    is_int(ADD_TYPE(&dir, "text/plain", "."), WEFT_ERROR, "empty extension");
    is_int(ADD_TYPE(&dir, "text/plain", "tar.gz"), WEFT_ERROR, "multi-part extension refused");
    is_int(ADD_TYPE(&dir, "text/plain", "a/b"), WEFT_ERROR, "slash in extension refused");
}

/* Apache's classification: every extension, languages and encodings,
 * RemoveType, ForceType, DefaultLanguage. */
static void test_classify(void)
{
    test_dir dir = { 0 };
    test_server server = { .server = { .pool = test_pool }, .mime = { .mime_types = mime_table_create(test_pool) } };
    mime_table_set(server.mime.mime_types, "html", "text/html");
    mime_table_set(server.mime.mime_types, "gz", "application/gzip");
    mime_table_set(server.mime.mime_types, "es", "application/ecmascript");
    ok(!mime_has_variants(&dir.dir), "no AddLanguage/AddEncoding: the old rule");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/d/a.html.bak"), NULL, "... last extension only");
    is_int(APPLY(&dir, "AddLanguage", "en", ".en"), WEFT_OK, "AddLanguage");
    is_int(APPLY(&dir, "AddLanguage", "es", "es"), WEFT_OK, "AddLanguage es");
    is_int(APPLY(&dir, "AddEncoding", "x-gzip", ".gz"), WEFT_OK, "AddEncoding x-gzip");
    ok(mime_has_variants(&dir.dir), "now every extension counts");
    mime_info info;
    mime_classify(&server.server, &dir.dir, "/d/doc.html.en.gz", &info);
    is_string(info.type, "application/gzip", ".gz is a type and an encoding at once, as in Apache");
    is_string(info.encoding, "gzip", "x- is dropped from the coding");
    ok(info.language_count == 1 && strcmp(info.languages[0], "en") == 0, "the language");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/d/a.html.bak"), "text/html", "an unknown extension is skipped");
    mime_classify(&server.server, &dir.dir, "/d/doc.html.es", &info);
    is_string(info.type, "application/ecmascript", "es: a type from the table too");
    is_int(APPLY(&dir, "RemoveType", "es"), WEFT_OK, "RemoveType");
    mime_classify(&server.server, &dir.dir, "/d/doc.html.es", &info);
    is_string(info.type, "text/html", "RemoveType es: only a language now");
    is_int(APPLY(&dir, "DefaultLanguage", "de"), WEFT_OK, "DefaultLanguage");
    mime_classify(&server.server, &dir.dir, "/d/x.html", &info);
    ok(info.language_count == 1 && strcmp(info.languages[0], "de") == 0, "DefaultLanguage without a language extension");
    is_int(APPLY(&dir, "ForceType", "text/plain"), WEFT_OK, "ForceType");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/d/x.html"), "text/plain", "ForceType wins");
    is_int(APPLY(&dir, "ForceType", "None"), WEFT_OK, "ForceType None");
    is_string(mime_type_for_path(&server.server, &dir.dir, "/d/x.html"), "text/html", "None: the extension again");
    parse.error_count = 0;
    is_int(APPLY(&dir, "ForceType", "nonsense"), WEFT_ERROR, "ForceType needs a media type");
    is_int(APPLY(&dir, "AddLanguage", "en", "a.b"), WEFT_ERROR, "AddLanguage: one extension at a time");
}

static void test_merge(void)
{
    const config_directive *row = directive_named("AddType");
    test_dir parent = { 0 }, child = { 0 }, grandchild = { 0 };
    ADD_TYPE(&parent, "text/x-parent", "foo", "bar");
    ADD_TYPE(&child, "text/x-child", "foo", "baz");
    ADD_TYPE(&grandchild, "text/x-grandchild", "BAZ");
    test_server server = { .server = { .pool = test_pool }, .mime = { .mime_types = mime_table_create(test_pool) } };

    test_dir merged = parent;
    row->merge((char *)&merged.mime + row->offset, (char *)&child.mime + row->offset, test_pool);
    is_string(mime_type_for_path(&server.server, &merged.dir, "/a.foo"), "text/x-child", "child wins");
    is_string(mime_type_for_path(&server.server, &merged.dir, "/a.bar"), "text/x-parent", "parent inherited");
    is_string(mime_type_for_path(&server.server, &merged.dir, "/a.baz"), "text/x-child", "child's own");
    is_string(mime_type_for_path(&server.server, &parent.dir, "/a.foo"), "text/x-parent",
              "the parent's list is not modified");
    is_string(mime_type_for_path(&server.server, &child.dir, "/a.bar"), NULL,
              "the child's list is not modified");

    row->merge((char *)&merged.mime + row->offset, (char *)&grandchild.mime + row->offset, test_pool);
    is_string(mime_type_for_path(&server.server, &merged.dir, "/a.baz"), "text/x-grandchild",
              "innermost of three wins");
    is_string(mime_type_for_path(&server.server, &merged.dir, "/a.foo"), "text/x-child", "middle kept");
    is_string(mime_type_for_path(&server.server, &merged.dir, "/a.bar"), "text/x-parent", "outer kept");

    test_dir empty_parent = { 0 };
    row->merge((char *)&empty_parent.mime + row->offset, (char *)&child.mime + row->offset, test_pool);
    ok(empty_parent.mime.add_types == child.mime.add_types, "empty parent takes the child's list as is");
    test_dir empty_child = { 0 };
    merged = parent;
    row->merge((char *)&merged.mime + row->offset, (char *)&empty_child.mime + row->offset, test_pool);
    ok(merged.mime.add_types == parent.mime.add_types, "empty child leaves the parent's list");
}

static void test_post_config(void)
{
    char *path = write_temporary("text/x-temp tmpx\n");
    test_server server = { .server = { .pool = test_pool }, .mime = { .types_config = path } };
    parse.error_count = 0;
    is_int(mime_module.post_config(&parse, &server.server), WEFT_OK, "explicit TypesConfig loads");
    is_string(mime_table_lookup(server.mime.mime_types, "tmpx", 4), "text/x-temp", "its content");
    is_string(server.mime.types_config, path, "types_config unchanged");
    unlink(path);

    test_server missing = { .server = { .pool = test_pool }, .mime = { .types_config = "/nonexistent/types" } };
    is_int(mime_module.post_config(&parse, &missing.server), WEFT_ERROR, "unreadable TypesConfig fails");
    is_string(parse.last_error,
              "TypesConfig: cannot open '/nonexistent/types': No such file or directory",
              "error message names the file and the reason");

    test_server directory = { .server = { .pool = test_pool }, .mime = { .types_config = "/tmp" } };
    is_int(mime_module.post_config(&parse, &directory.server), WEFT_ERROR, "a directory fails");

    test_server automatic = { .server = { .pool = test_pool } };
    is_int(mime_module.post_config(&parse, &automatic.server), WEFT_OK, "no TypesConfig: a default is found");
    if (access("/etc/mime.types", R_OK) == 0) {
        is_string(automatic.mime.types_config, "/etc/mime.types", "the system file comes first");
    } else {
        char *bundled = pool_printf(test_pool, "%s/conf/mime.types", parse.server_root);
        is_string(automatic.mime.types_config, bundled, "the bundled file is the fallback");
    }
    ok(mime_table_count(automatic.mime.mime_types) > 100, "the default table is not empty");

    parse.server_root = "/nonexistent";
    test_server neither = { .server = { .pool = test_pool } };
    int warnings = parse.warning_count;
    bool system_file = access("/etc/mime.types", R_OK) == 0;
    is_int(mime_module.post_config(&parse, &neither.server), WEFT_OK, "a missing fallback is not fatal");
    is_int(parse.warning_count - warnings, system_file ? 0 : 1, "warned only if nothing was found");
    parse.server_root = ".";
}

static void test_bundled_file(void)
{
    mime_table *table = mime_table_create(test_pool);
    is_int(mime_table_load(table, "conf/mime.types"), WEFT_OK, "conf/mime.types loads");
    ok(mime_table_count(table) >= 120, "at least 120 extensions (%zu)", mime_table_count(table));
    static const char *const expected[][2] = {
        { "html", "text/html" }, { "htm", "text/html" }, { "shtml", "text/html" },
        { "css", "text/css" }, { "js", "text/javascript" }, { "mjs", "text/javascript" },
        { "json", "application/json" }, { "txt", "text/plain" }, { "xml", "application/xml" },
        { "svg", "image/svg+xml" }, { "png", "image/png" }, { "jpg", "image/jpeg" },
        { "jpeg", "image/jpeg" }, { "gif", "image/gif" }, { "webp", "image/webp" },
        { "ico", "image/x-icon" }, { "avif", "image/avif" }, { "woff", "font/woff" },
        { "woff2", "font/woff2" }, { "ttf", "font/ttf" }, { "otf", "font/otf" },
        { "pdf", "application/pdf" }, { "zip", "application/zip" }, { "gz", "application/gzip" },
        { "tar", "application/x-tar" }, { "mp4", "video/mp4" }, { "webm", "video/webm" },
        { "mp3", "audio/mpeg" }, { "ogg", "audio/ogg" }, { "wav", "audio/wav" },
        { "wasm", "application/wasm" }, { "csv", "text/csv" }, { "md", "text/markdown" },
    };
    for (size_t i = 0; i < COUNT_OF(expected); i++) {
        const char *extension = expected[i][0];
        is_string(mime_table_lookup(table, extension, strlen(extension)), expected[i][1],
                  "bundled: %s", extension);
    }
    int with_charset = 0;
    for (size_t i = 0; i < table->capacity; i++) {
        if (table->entries[i].extension && strstr(table->entries[i].type, "charset"))
            with_charset++;
    }
    is_int(with_charset, 0, "no type in the bundled file carries a charset");
}

static void test_directive_table(void)
{
    const config_directive *types_config = directive_named("TypesConfig");
    const config_directive *add_type_row = directive_named("AddType");
    is_string(mime_module.name, "mime", "module name");
    ok(types_config && types_config->contexts == CONTEXT_SERVER_ONLY &&
           types_config->scope == SCOPE_SERVER && types_config->default_value == NULL,
       "TypesConfig: server only, no default row");
    ok(add_type_row && add_type_row->contexts == CONTEXT_ANYWHERE &&
           add_type_row->scope == SCOPE_DIRECTORY && add_type_row->merge &&
           add_type_row->min_args == 2 && add_type_row->max_args == ARGS_UNLIMITED,
       "AddType: anywhere, directory scope, merged, 2+ arguments");
}

int main(void)
{
    test_pool = pool_create(4096);
    parse.pool = test_pool;
    parse.server_root = ".";   /* prove runs from the repository root */
    test_load_file();
    test_growth();
    test_extensions();
    test_add_type();
    test_classify();
    test_merge();
    test_post_config();
    test_bundled_file();
    test_directive_table();
    pool_destroy(test_pool);
    return done_testing();
}
