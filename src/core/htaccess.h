/*
 * htaccess.h — per-directory configuration files (AccessFileName,
 * ".htaccess"), as Apache 2.4 reads them.
 *
 * The directory walk (config_merge.c, config_request_dir) goes from "/"
 * down to the request's file.  At each level, after the <Directory>
 * sections of that directory, it asks the reader for the level's file when
 * AllowOverride or AllowOverrideList allows anything there (so under
 * AllowOverride None nothing is opened), and merges what the file set
 * before the next level.  The file's <Files>/<FilesMatch> sections merge
 * after the configuration's, its <If> sections after the configuration's.
 *
 * The file is parsed by the configuration engine itself, as a <Directory>
 * of its directory (config_current_section), line by line against the
 * rows' `overrides` (config.h) and AllowOverrideList: a line they do not
 * allow, a syntax error or an unknown directive makes the request a 500,
 * with every message ("file:line: text") in the error log, as Apache.
 *
 * The reader is core's (open, read and parse on every request, Apache's
 * way) unless a module registers a better one: modules/htaccess.c keeps
 * parsed files per child, validated by inotify.
 */
#ifndef WEFT_HTACCESS_H
#define WEFT_HTACCESS_H

#include "server.h"

/* AllowOverride Nonfatal= */
enum {
    OVERRIDE_NONFATAL_OVERRIDE = 1 << 0,  /* a directive not allowed is skipped with a warning */
    OVERRIDE_NONFATAL_UNKNOWN = 1 << 1,   /* an unknown directive is skipped with a warning */
};

/* AllowOverride as set (overrides.c). */
typedef struct {
    unsigned categories;  /* OVERRIDE_* */
    unsigned options;     /* OPTION_* an .htaccess Options line may name (Options=...) */
    unsigned nonfatal;    /* OVERRIDE_NONFATAL_* */
    bool written;         /* by a line (DUMP_CONFIG shows only those) */
} override_setting;

/* AllowOverride and AllowOverrideList (*list, NULL-terminated, NULL = None)
 * in a merged directory configuration. */
const override_setting *config_overrides_in_force(const dir_config *dir, char *const **list);
/* Does any section of server set an AllowOverride or AllowOverrideList
 * that allows something?  Without one no request reads a file. */
bool config_overrides_possible(const server_config *server);

typedef enum {
    HTACCESS_ABSENT,         /* the directory has none of the AccessFileName files */
    HTACCESS_PARSED,         /* read and parsed: merge it */
    HTACCESS_FAILED,         /* syntax error, directive not allowed: the request is a 500 */
    HTACCESS_FORBIDDEN,      /* there but unreadable (EACCES): a 403, as Apache */
    HTACCESS_NOT_DIRECTORY,  /* the path is no directory: the walk stops here */
} htaccess_state;

typedef struct htaccess_file {
    htaccess_state state;
    const char *path;                   /* the file (or the first name tried) */
    config_section directory;           /* a <Directory> of its directory; config: what the file set */
    const config_section **files;       /* its <Files> and <FilesMatch> sections, in file order */
    int file_count;
    const config_section **conditions;  /* its <If>, <ElseIf>, <Else> sections, in file order */
    int condition_count;
    const char *messages;               /* "file:line: text" lines: errors (FAILED, FORBIDDEN) or
                                         * warnings (Nonfatal=); NULL if none */
    bool symlink;                       /* the directory is reached through a symbolic link */
} htaccess_file;

/* For the Options setter: the options an Options line may name where it
 * is (AllowOverride Options=...); every one outside .htaccess files. */
unsigned config_options_allowed(const config_parse *parse);

/* Parses text as the file `path` of `directory` for `server` under the
 * given AllowOverride and AllowOverrideList.  Everything lives in p. */
htaccess_file *htaccess_parse(const server_config *server, const char *directory, const char *path,
                              const char *text, size_t length, const override_setting *allowed,
                              char *const *list, pool *p);

/* Looks for the directory's AccessFileName files (the first that exists
 * counts, as Apache), reads and parses it.  *identity (may be NULL) gets
 * the stat(2) of the file read, or st_ino 0.  Everything lives in p. */
struct stat;
htaccess_file *htaccess_load(const server_config *server, const char *directory, const override_setting *allowed,
                             char *const *list, pool *p, struct stat *identity);

/* How the walk obtains a directory's file.  begin runs once per walk
 * before the first lookup (may be NULL); lookup returns what `directory`
 * holds; the result must stay valid until `p` (the request's pool) is
 * reset or destroyed. */
typedef struct {
    void (*begin)(void);
    const htaccess_file *(*lookup)(const server_config *server, const char *directory,
                                   const override_setting *allowed, char *const *list, pool *p);
} htaccess_reader;

/* NULL: core's own (htaccess_load on every request).  Set before the
 * children start (a module's post_config). */
void htaccess_set_reader(const htaccess_reader *reader);

/* The directory configuration of a request: config_dir_for_request with
 * the .htaccess files of the walk merged in, then config_merge_conditions
 * (the configuration's <If> sections, then the files').  WEFT_OK with
 * *result set, or an HTTP status (500 for a broken file, 403 for an
 * unreadable one or a request for an AccessFileName file itself), after
 * logging why. */
struct expr_context;
int config_request_dir(const server_config *server, const char *file_path, const char *url_path,
                       struct expr_context *context, pool *p, const dir_config **result);

#endif
