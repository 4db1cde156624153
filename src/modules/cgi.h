/*
 * cgi.h — the CGI module's parts (internal to src/modules/cgi*.c).
 *
 *   cgi.c        directives, ScriptAlias (translate hook), choosing the script
 *   cgi_env.c    the meta-variables (RFC 3875 4.1, as Apache sets them) and argv
 *   cgi_spawn.c  starting a script (posix_spawn) and stopping it (its process group)
 *   cgi_io.c     the exchange: body to stdin, stdout's header block and body to
 *                the client, stderr to the error log
 *
 * docs/cgi.md describes the behaviour and how it differs from Apache.
 */
#ifndef WEFT_MODULES_CGI_H
#define WEFT_MODULES_CGI_H

#include <sys/stat.h>
#include <sys/types.h>

#include "../core/module.h"
#include "../http/request.h"

#define CGI_HANDLER "cgi-script"

/* SetEnv / PassEnv (value captured when the configuration is read) /
 * UnsetEnv (value NULL), newest first: for a name, the first entry wins. */
typedef struct environment_setting {
    struct environment_setting *next;
    char *name;
    char *value;
} environment_setting;

/* The module's own configuration (module.h): ScriptAlias and
 * ScriptAliasMatch per server; AddHandler (extension -> handler name in
 * `type`), SetEnv/PassEnv/UnsetEnv (newest first) and CGIScriptTimeout
 * (0 = Timeout) per directory. */
typedef struct {
    struct script_alias *script_aliases;
} cgi_server_config;

typedef struct {
    mime_addition *add_handlers;
    environment_setting *environment;
    int cgi_script_timeout_ms;
} cgi_dir_config;

extern const module cgi_module;

static inline const cgi_dir_config *cgi_dir_settings(const dir_config *dir)
{
    return module_dir_config(dir, &cgi_module);
}

/* What the handler found out about the script. */
typedef struct {
    char *filename;      /* SCRIPT_FILENAME */
    char *name;          /* SCRIPT_NAME: the URL-path of the script */
    char *path_info;     /* "" when none */
    char *directory;     /* the working directory: the script's */
    const char *context_prefix;  /* CONTEXT_PREFIX: the ScriptAlias URL-path; NULL = "" */
    const char *context_root;    /* CONTEXT_DOCUMENT_ROOT: its directory; NULL = DocumentRoot */
    bool nph;            /* name starts with "nph-": output passed unmodified */
} cgi_script;

/* cgi.c, also for mod_proxy_fcgi's scripts (proxy.c): the longest leading
 * part of the absolute path full that exists (the script; the rest is
 * PATH_INFO), found by cutting full back at its slashes.  WEFT_OK with
 * *prefix (NUL-terminated, in r's pool), *prefix_length and its *info; else
 * 403 (EACCES on the way) or 404.  What may be a script is the caller's
 * choice. */
int cgi_find_existing_prefix(request *r, const char *full, char **prefix, size_t *prefix_length,
                             struct stat *info);

/* cgi_env.c: the environment and argument vector, in r's pool. */
char **cgi_build_environment(request *r, const cgi_script *script);
char **cgi_build_arguments(request *r, const cgi_script *script);

/* cgi_spawn.c */
typedef struct {
    pid_t pid;
    int pidfd;      /* readable when the script exits; -1 without pidfd_open */
    int input;      /* the script's stdin, our end (non-blocking); -1 once closed */
    int output;     /* its stdout */
    int errors;     /* its stderr */
    bool reaped;
} cgi_process;

/* Starts the script in its own process group, in directory, with pipes for
 * stdin/stdout/stderr and no other descriptor.  Returns 0, or the errno of
 * the failure (exec errors included: ENOENT, EACCES, ENOEXEC...). */
int cgi_spawn(const char *path, char *const argv[], char *const envp[], const char *directory,
              cgi_process *process);
/* Closes our ends of the pipes. */
void cgi_close_pipes(cgi_process *process);
/* Waits up to grace_ms for the script to exit by itself; then SIGTERM to
 * its process group, up to CGI_KILL_GRACE_MS more, then SIGKILL; always
 * reaps it (waitpid on its pid only).  grace_ms 0 kills at once.  Returns
 * the wait status, or -1. */
int cgi_stop(cgi_process *process, int grace_ms);

#define CGI_KILL_GRACE_MS 1000

/* cgi_io.c: runs the exchange with a started script and answers r.
 * Returns what a handler returns. */
int cgi_run(request *r, const cgi_script *script, cgi_process *process);

/* cgi_io.c, also for the header blocks of FastCGI and HTTP backends
 * (proxy_fcgi.c, proxy_http.c): */
/* An RFC 9110 token (a field name): not empty, no controls, spaces or
 * separators. */
bool cgi_is_token(const char *text, size_t length);
/* Whether the field name (length bytes, not NUL-terminated) is wanted,
 * ignoring case. */
bool cgi_field_is(const char *name, size_t length, const char *wanted);
/* Splits the next line off a header block [cursor, end): sets *line_end to
 * where its text ends (before its LF or CR LF; a last line without LF ends
 * at end) and returns where the following line starts. */
char *cgi_header_line(char *cursor, char *end, char **line_end);
/* A field's value: from after_colon to line_end without the spaces and
 * tabs around it.  Returns its start and sets *value_end. */
char *cgi_field_value(char *after_colon, char *line_end, char **value_end);

#endif
