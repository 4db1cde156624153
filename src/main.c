/*
 * main.c — the command line, as Apache httpd's:
 *
 *   weft [-f file] [-d serverroot] [-D name] [-C directive] [-c directive]
 *        [-k start|restart|graceful|graceful-stop|stop|upgrade] [-t] [-S] [-M] [-X] [-v] [-V] [-h]
 *
 * Dumps: -S (virtual hosts, core/vhost.c), -M or -D DUMP_MODULES (the
 * modules), -D DUMP_CONFIG (the effective configuration) and -D
 * DUMP_DIRECTIVES (every directive of every table, for the manuals; no
 * configuration is read) print to stdout and exit.
 *
 * The configuration is always read first, so a broken one stops -k restart
 * or -k graceful before any signal is sent.  -D FOREGROUND (or NO_DETACH)
 * keeps the control process attached to the terminal; -X (or -D DEBUG /
 * ONE_PROCESS) serves in a single process.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/module.h"
#include "core/server.h"
#include "core/vhost.h"
#include "mpm/control.h"

#ifndef WEFT_BUILD_DATE
#define WEFT_BUILD_DATE __DATE__ " " __TIME__
#endif
#ifndef WEFT_BUILD_CFLAGS
#define WEFT_BUILD_CFLAGS "unknown"
#endif

#define DEFAULT_SERVER_ROOT "."
#define DEFAULT_CONFIG_FILE "conf/weft.conf"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s [-D name] [-d directory] [-f file]\n"
            "            [-C \"directive\"] [-c \"directive\"]\n"
            "            [-k start|restart|graceful|graceful-stop|stop|upgrade]\n"
            "            [-v] [-V] [-h] [-t] [-S] [-M] [-X]\n"
            "Options:\n"
            "  -D name            : define a name for use in <IfDefine name> directives\n"
            "                       (FOREGROUND: do not detach from the terminal)\n"
            "  -d directory       : specify an alternate initial ServerRoot\n"
            "  -f file            : specify an alternate ServerConfigFile\n"
            "  -C \"directive\"     : process directive before reading config files\n"
            "  -c \"directive\"     : process directive after reading config files\n"
            "  -k command         : start, restart, graceful, graceful-stop, stop or upgrade the server\n"
            "  -v                 : show version number\n"
            "  -V                 : show compile settings\n"
            "  -h                 : list available command line options (this page)\n"
            "  -t                 : run syntax check for config files\n"
            "  -S                 : show parsed vhost settings (and the main ones)\n"
            "  -M                 : show all loaded modules\n"
            "  -D DUMP_CONFIG     : show the effective configuration, defaults included\n"
            "  -X                 : debug mode (only one worker process, do not detach)\n",
            WEFT_NAME);
}

static void print_version(void)
{
    printf("Server version: %s/%s (Unix)\n", WEFT_NAME, WEFT_VERSION);
    printf("Server built:   %s\n", WEFT_BUILD_DATE);
}

static void print_settings(void)
{
    print_version();
    printf("Architecture:   %zu-bit\n", sizeof(void *) * 8);
    printf("Server MPM:     worker\n");
    printf("  threaded:     yes (fixed thread count)\n");
    printf("    forked:     yes (variable process count)\n");
    printf("Server compiled with....\n");
    printf(" -D WEFT_BUILD_CFLAGS=\"%s\"\n", WEFT_BUILD_CFLAGS);
#ifdef __VERSION__
    printf(" -D COMPILER=\"gcc %s\"\n", __VERSION__);
#endif
    printf(" -D SERVER_ROOT=\"%s\"\n", DEFAULT_SERVER_ROOT);
    printf(" -D SERVER_CONFIG_FILE=\"%s\"\n", DEFAULT_CONFIG_FILE);
    printf(" -D DEFAULT_PIDLOG=\"logs/weft.pid\"\n");
    printf(" -D DEFAULT_ERRORLOG=\"logs/error_log\"\n");
}

/* httpd -M's layout; every weft module is compiled in. */
static void print_modules(void)
{
    printf("Loaded Modules:\n");
    for (const module *const *m = weft_modules; *m; m++)
        printf(" %s_module (static)\n", (*m)->name);
}

/* -d as an absolute path (and the working directory when absent), so that
 * re-reading the configuration after detaching (chdir "/") finds the same
 * files. */
static char *absolute_root(const char *root)
{
    if (root && root[0] == '/')
        return xstrdup(root);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return root ? xstrdup(root) : NULL;
    if (!root || strcmp(root, ".") == 0)
        return xstrdup(cwd);
    size_t length = strlen(cwd) + strlen(root) + 2;
    char *path = xmalloc(length);
    snprintf(path, length, "%s/%s", cwd, root);
    return path;
}

static bool defined(const char *const *defines, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (strcmp(defines[i], name) == 0)
            return true;
    return false;
}

typedef struct {
    const char **defines;
    int define_count;
    const char **before;
    int before_count;
    const char **after;
    int after_count;
    const char *server_root;
    const char *config_file;
    const char *command;
    bool test, single, version, settings, help, dump_vhosts, dump_modules;
} command_line;

/* Returns 0, or 1 after a usage error has been printed. */
static int parse_command_line(int argc, char **argv, command_line *line)
{
    line->defines = xcalloc((size_t)argc + 1, sizeof(char *));
    line->before = xcalloc((size_t)argc + 1, sizeof(char *));
    line->after = xcalloc((size_t)argc + 1, sizeof(char *));
    opterr = 0;
    int option;
    while ((option = getopt(argc, argv, ":f:d:D:C:c:k:tSMXvVh")) != -1) {
        switch (option) {
        case 'f': line->config_file = optarg; break;
        case 'd': line->server_root = optarg; break;
        case 'D': line->defines[line->define_count++] = optarg; break;
        case 'C': line->before[line->before_count++] = optarg; break;
        case 'c': line->after[line->after_count++] = optarg; break;
        case 'k': line->command = optarg; break;
        case 't': line->test = true; break;
        case 'S': line->dump_vhosts = true; break;
        case 'M': line->dump_modules = true; break;
        case 'X': line->single = true; break;
        case 'v': line->version = true; break;
        case 'V': line->settings = true; break;
        case 'h': line->help = true; break;
        case ':':
            fprintf(stderr, "%s: option requires an argument -- %c\n", WEFT_NAME, optopt);
            usage(stderr);
            return 1;
        default:
            fprintf(stderr, "%s: illegal option -- %c\n", WEFT_NAME, optopt);
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", WEFT_NAME, argv[optind]);
        usage(stderr);
        return 1;
    }
    return 0;
}

static void free_command_line(command_line *line)
{
    free(line->defines);
    free(line->before);
    free(line->after);
}

static int run(command_line *line)
{
    if (line->help) {
        usage(stdout);
        return 0;
    }
    if (line->settings) {
        print_settings();
        return 0;
    }
    if (line->version) {
        print_version();
        return 0;
    }

    if (defined(line->defines, line->define_count, "DUMP_DIRECTIVES")) {
        config_dump_directives(stdout);
        return 0;
    }

    char *root = absolute_root(line->server_root);
    config_options options = {
        .server_root = root,
        .config_file = line->config_file,
        .defines = line->defines,
        .define_count = line->define_count,
        .directives_before = line->before,
        .directives_before_count = line->before_count,
        .directives_after = line->after,
        .directives_after_count = line->after_count,
    };
    config_messages errors = { 0 }, warnings = { 0 };
    server_config *server = config_load(&options, &errors, &warnings);
    for (int i = 0; i < warnings.count; i++)
        fprintf(stderr, "WARNING: %s\n", warnings.messages[i]);
    for (int i = 0; i < errors.count; i++)
        fprintf(stderr, "%s\n", errors.messages[i]);
    config_messages_free(&errors);
    config_messages_free(&warnings);
    if (!server) {
        free(root);
        return 1;
    }

    int rc;
    bool dump_modules = line->dump_modules || defined(line->defines, line->define_count, "DUMP_MODULES");
    bool dump_config = defined(line->defines, line->define_count, "DUMP_CONFIG");
    if (dump_modules || dump_config) {
        if (dump_modules)
            print_modules();
        if (dump_config)
            config_dump(stdout, server);
        config_free(server);
        rc = 0;
    } else if (line->dump_vhosts) {
        vhost_dump(stdout, server, line->defines, line->define_count);
        config_free(server);
        rc = 0;
    } else if (line->test) {
        char capacity[160];
        mpm_describe_capacity(server, capacity, sizeof capacity);
        printf("%s\nSyntax OK\n", capacity);
        config_free(server);
        rc = 0;
    } else {
        rc = control_signal_command(line->command ? line->command : "start", server);
        if (rc != CONTROL_START) {
            config_free(server);
        } else {
            int flags = 0;
            if (line->single || defined(line->defines, line->define_count, "DEBUG") ||
                defined(line->defines, line->define_count, "ONE_PROCESS"))
                flags |= CONTROL_SINGLE_PROCESS;
            if (defined(line->defines, line->define_count, "FOREGROUND") ||
                defined(line->defines, line->define_count, "NO_DETACH"))
                flags |= CONTROL_FOREGROUND;
            fflush(stdout);
            rc = control_run(&options, server, flags);  /* frees server */
        }
    }
    free(root);
    return rc;
}

int main(int argc, char **argv)
{
    command_line line = { 0 };
    int rc = parse_command_line(argc, argv, &line);
    if (rc == 0)
        rc = run(&line);
    free_command_line(&line);
    return rc;
}
