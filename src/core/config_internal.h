/*
 * config_internal.h — what the pieces of the configuration engine share
 * (config.c, config_sections.c, config_lexer.c, config_merge.c).  Modules use
 * config.h only.
 */
#ifndef WEFT_CONFIG_INTERNAL_H
#define WEFT_CONFIG_INTERNAL_H

#include "buffer.h"
#include "config.h"
#include "htaccess.h"
#include "pool.h"
#include "server.h"

/* Hands out logical lines of a configuration text: continuations joined,
 * CR before LF dropped, blanks at both ends trimmed.  Comments and blank
 * lines are returned too (the caller skips them) so numbering stays simple. */
typedef struct {
    const char *text;
    size_t length;
    size_t position;
    int next_line;  /* number of the physical line at position */
} config_reader;

void config_reader_init(config_reader *reader, const char *text, size_t length, int first_line);
/* Fills line with the next logical line and *line_number with the number of
 * its first physical line; false at the end of the text. */
bool config_reader_next(config_reader *reader, buffer *line, int *line_number);

/* Splits text into arguments (quotes, escapes).  Returns the count and a
 * NULL-terminated *argv allocated in p, or -1 with *problem set. */
int config_split_words(pool *p, const char *text, char ***argv, const char **problem);

/* The value of a variable, NULL if it has none. */
typedef const char *(*config_variable_lookup)(void *context, const char *name);
/* Replaces every ${NAME} in text by lookup's value (Apache's ap_resolve_env);
 * undefined (may be NULL) hears of each name left as written.  Returns text
 * itself when it holds no "${", else a copy in p. */
char *config_expand_variables(pool *p, const char *text, config_variable_lookup lookup, void *context,
                              void (*undefined)(void *context, const char *name));

/* Directive rows by global index, 0..config_directive_count()-1. */
int config_directive_count(void);
const config_directive *config_directive_at(int index);

/* The "set" bitmap of the struct a row of this scope writes. */
unsigned char *config_set_bits(void *base, config_scope scope);

struct module;
/* The module whose table holds the row. */
const struct module *config_directive_module(const config_directive *directive);

struct server_config;
/* The main server (config_server() is a vhost's own struct inside one). */
struct server_config *config_main_server(config_parse *parse);
/* Where the next messages point (for checks made after parsing). */
void config_set_position(config_parse *parse, const char *file, int line);
/* The struct a row's offset points into: base (a server_config or a
 * dir_config, per the row's scope) itself for the core's rows, or the
 * module's own struct in it for a module that declared one. */
void *config_row_base(const void *base, const config_directive *directive);
/* Gives a fresh server_config or dir_config its modules' structs (zeroed). */
void config_create_module_configs(void *base, config_scope scope, pool *p);
/* After `*vhost = *main`: the vhost gets copies of main's module structs. */
void config_copy_server_modules(struct server_config *server, pool *p);
/* A dir_config copy that will be merged into: it shares the original's
 * module structs until config_merge_dir writes one (copy on write). */
void config_copy_dir(void *copy, const void *original);
/* Merges child's set fields into merged (the per-request rule, merge
 * callbacks included); new values are allocated in p. */
void config_merge_dir(void *merged, const void *child, pool *p);
/* Does a section apply to the request's file and URL path? */
bool config_section_applies(const config_section *section, const char *file_path, const char *url_path);
/* A section's place in the merge order: 0 Directory, 1 DirectoryMatch,
 * 2 Files, 3 Location, 4 If. */
int config_merge_group(const config_section *section);
/* Merges the <If> chains of list (in order) that apply into a copy of
 * merged (shared: merged is the configuration's own, else the request's);
 * the copy, or NULL when none applied. */
struct expr_context;
dir_config *config_merge_condition_list(const config_section *const *list, int count, const dir_config *merged,
                                        bool shared, const char *file_path, const char *url_path,
                                        struct expr_context *context, pool *p);
/* Fills server->merge_order from server->sections (config_merge.c). */
void config_order_sections(struct server_config *server, pool *p);

/* ---- the parse (config.c, config_sections.c) ---------------------------- */

#define SECTION_DEPTH_MAX 64

typedef enum {
    OPEN_PATH,       /* <Directory>, <Files>, <Location> and their Match forms */
    OPEN_VHOST,      /* <VirtualHost> */
    OPEN_MODULE,     /* a section a module defines (a "<Name" row), e.g. <RequireAll> */
    OPEN_CONDITION,  /* <IfDefine>, <IfModule> */
    OPEN_LIMIT,      /* <Limit>, <LimitExcept>: only narrows the methods access control applies to */
    OPEN_BROKEN,     /* its opening line was wrong: contents skipped */
} open_kind;

typedef struct {
    open_kind kind;
    const char *name;  /* "Directory", or as written for unknown sections */
    int line;
    const config_section *section;        /* OPEN_PATH: copy of the section, for nested <Files> */
    const config_directive *module_row;   /* OPEN_MODULE: the "<Name" row */
    const char *missing_module;  /* <IfModule X> skipped because X is not built in */
    int skipped_directives;      /* directive lines inside it */
    unsigned saved_context;
    server_config *saved_server;
    dir_config *saved_dir;
    const config_directive *saved_module_row;
    bool saved_skipping;
    unsigned saved_limit;
} open_section;

struct config_parse {
    server_config *main;    /* the main server: ServerRoot, the vhost table */
    server_config *server;  /* where SCOPE_SERVER rows write: main, or a vhost's own */
    pool *pool;     /* the server's: whatever outlives config_load */
    pool *scratch;  /* argument vectors and other parse-time garbage */
    const config_options *options;
    config_messages *errors;
    config_messages *warnings;
    int error_count;

    const char *file;
    int line;
    unsigned context;  /* CONTEXT_SERVER, _VHOST, _DIRECTORY or _LOCATION */
    dir_config *dir;   /* where SCOPE_DIRECTORY rows write */
    const config_directive *module_row;  /* inside a module's section: only its rows are allowed */
    bool skipping;     /* inside a false <IfDefine>/<IfModule> or a broken section */
    unsigned limit;    /* inside <Limit>/<LimitExcept>: CONFIG_METHOD_* bits; else CONFIG_METHODS_ALL */

    open_section open[SECTION_DEPTH_MAX];
    int open_count;
    /* per scope (nesting level, <IfDefine>/<IfModule> not counted): the
     * <If>/<ElseIf> an <ElseIf>/<Else> there continues */
    const section_condition *last_condition[SECTION_DEPTH_MAX + 1];
    int open_base;     /* sections never span files: the current file's first slot */
    int include_depth;

    /* Define, UnDefine and -D: names, each with a value or NULL. */
    char **variable_names;
    char **variable_values;
    int variable_count;
    int variable_capacity;
    int counting;      /* the open <IfModule> whose skipped directives are counted, or -1 */
    const char *raw_line;  /* the directive line being applied (config_raw_arguments), NULL if none */
    /* Reading an .htaccess file (config_htaccess.c): what AllowOverride
     * and AllowOverrideList allow there; NULL for the configuration. */
    const override_setting *htaccess;
    char *const *override_list;
};

/* config.c: parses a text (a file's contents) as the lines of `name`. */
void config_parse_text(config_parse *parse, const char *name, const char *text, size_t length, int first_line);
/* config_htaccess.c: may the row appear in the .htaccess file being read?
 * true outside one.  Otherwise reports it (an error, or a warning under
 * AllowOverride Nonfatal=Override) and returns false. */
bool config_htaccess_allows(config_parse *parse, const config_directive *d, const char *name);
/* config_htaccess.c: may a section of this name open in the .htaccess
 * file being read?  true outside one; else false after an error. */
bool config_htaccess_allows_section(config_parse *parse, const char *name);
/* config.c: applies a directive row to the struct it writes (context,
 * argument count, setter, "set" bit); false after an error. */
bool config_apply_row(config_parse *parse, const config_directive *d, const char *name, int count, char **args);
/* An unknown directive or section: names its Apache module if it has one. */
void config_report_unknown(config_parse *parse, const char *name, const char *what, const char *lookup);
int config_call_setter(config_parse *parse, const config_directive *d, void *base, int argc, char **argv);
/* The struct the row writes in the current context: the server's or the
 * directory's. */
void *config_parse_row_base(config_parse *parse, const config_directive *d);

/* config_sections.c: a line "<Name args>" or "</Name>", and closing the
 * innermost open section (also at the end of a file that left it open). */
void config_open_section_line(config_parse *parse, const char *line);
void config_close_section_line(config_parse *parse, const char *line);
void config_pop_section(config_parse *parse);

#endif
