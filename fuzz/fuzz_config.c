/*
 * fuzz_config.c — libFuzzer harness for the configuration engine: the
 * lexer (logical lines, quoting, continuation), sections, <IfDefine>,
 * <IfModule>, every module's directive setters, defaults, post_config and
 * virtual hosts, through config_load() on a file holding the fuzz input.
 *
 * config_load() reads files named by the configuration, so the harness
 * confines it to a private temporary ServerRoot (made once, holding the
 * input as fuzz.conf and an empty www/): an input is skipped when a
 * directive that reads a file while the configuration loads (Include,
 * IncludeOptional, TypesConfig) or moves the root (ServerRoot) has an
 * argument that could leave that directory (absolute, "..", "~", a pipe).
 * The check runs the engine's own lexer over the input, so it sees the
 * arguments exactly as the engine will.  A module that starts reading a
 * file at load time must add its directive to file_directives below.
 * Nothing is opened for writing and no process is started: log files and
 * pipes are opened by the control process (control.c), not by config_load.
 */
#include "../src/core/buffer.h"
#include "../src/core/config_internal.h"
#include "../src/core/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];
static char config_path[96];

static void remove_root(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/www", root);
    rmdir(path);
    unlink(config_path);
    rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/weft-fuzz-config-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("fuzz_config: mkdtemp");
        exit(1);
    }
    char www[128];
    snprintf(www, sizeof www, "%s/www", root);
    mkdir(www, 0755);
    snprintf(config_path, sizeof config_path, "%s/fuzz.conf", root);
    atexit(remove_root);
    return 0;
}

static const char *const file_directives[] = { "Include", "IncludeOptional", "TypesConfig", "ServerRoot" };

static bool is_file_directive(const char *name)
{
    for (size_t i = 0; i < COUNT_OF(file_directives); i++)
        if (strcasecmp(name, file_directives[i]) == 0)
            return true;
    return false;
}

static bool argument_may_escape(const char *argument)
{
    return argument[0] == '/' || argument[0] == '~' || argument[0] == '|' || strstr(argument, "..") != NULL;
}

/* True when every file the input can make config_load read is inside root.
 * At most one Include line: the input file is the only one there, so two
 * would include it 2^16 times (the nesting limit), which is slow, not wrong. */
static bool confined(const char *text, size_t length)
{
    pool *scratch = pool_create(4096);
    config_reader reader;
    buffer line = { 0 };
    int number;
    int includes = 0;
    bool ok = true;
    config_reader_init(&reader, text, length, 1);
    while (ok && config_reader_next(&reader, &line, &number)) {
        char **argv;
        const char *problem;
        int argc = config_split_words(scratch, line.data, &argv, &problem);
        if (argc < 1)
            continue;   /* the engine reports the line and runs nothing */
        if (!is_file_directive(argv[0]))
            continue;
        if (strncasecmp(argv[0], "Include", 7) == 0 && ++includes > 1)
            ok = false;
        for (int i = 1; i < argc; i++)
            if (argument_may_escape(argv[i]))
                ok = false;
    }
    buffer_free(&line);
    pool_destroy(scratch);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A NUL ends the text for the lexer's C-string steps but not for the
     * file reader: both see it the same way, so keep such inputs. */
    if (size > 65536 || !confined((const char *)data, size))
        return 0;
    FILE *file = fopen(config_path, "wb");
    if (!file)
        abort();
    if (size && fwrite(data, 1, size, file) != size)
        abort();
    fclose(file);

    static const char *const defines[] = { "FUZZ", "FOREGROUND" };
    static const char *const before[] = { "Listen 127.0.0.1:1" };
    config_options options = {
        .server_root = root,
        .config_file = "fuzz.conf",
        .defines = defines,
        .define_count = 2,
        .directives_before = before,
        .directives_before_count = (size & 1) ? 1 : 0,
    };
    config_messages errors = { 0 }, warnings = { 0 };
    struct server_config *server = config_load(&options, &errors, &warnings);
    if (!server && errors.count == 0) {
        fprintf(stderr, "fuzz_config: config_load failed without an error message\n");
        abort();
    }
    for (int i = 0; i < errors.count; i++)
        if (!errors.messages[i] || !*errors.messages[i])
            abort();
    if (server) {
        /* The same text as an .htaccess file of www (parsed at request
         * time, under AllowOverride All, Nonfatal or not). */
        override_setting allowed = { .categories = OVERRIDE_ALL, .options = ~0u,
                                     .nonfatal = (size & 2) ? OVERRIDE_NONFATAL_OVERRIDE | OVERRIDE_NONFATAL_UNKNOWN : 0 };
        char directory[128];
        snprintf(directory, sizeof directory, "%s/www", root);
        pool *p = pool_create(4096);
        htaccess_file *htaccess = htaccess_parse(server, directory, config_path, (const char *)data, size, &allowed,
                                                 NULL, p);
        if (htaccess->state == HTACCESS_FAILED && !htaccess->messages)
            abort();
        pool_destroy(p);
    }
    config_free(server);
    config_messages_free(&errors);
    config_messages_free(&warnings);
    return 0;
}
