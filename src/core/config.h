/*
 * config.h — the Apache-syntax configuration engine.
 *
 * The engine knows the syntax (lines, quoting, continuation, sections,
 * <IfDefine>, <IfModule>, Include, Define and ${VAR}, which is replaced on
 * the whole line before it is split, as Apache's ap_resolve_env) and
 * nothing about individual directives:
 * each module declares its directives in one table of config_directive rows
 * (module.h), and the engine checks context and argument count, then calls
 * the row's setter on the field at `offset` of the struct the row's scope
 * names (server_config or dir_config, see server.h).
 *
 * A row whose name starts with '<' (e.g. "<RequireAll") defines a section
 * the engine does not know itself: its setter receives the arguments of the
 * opening line (the "set" bit is marked as for any row); inside, only rows
 * of the same module are allowed; the closing tag calls the setter of the
 * row named "</RequireAll", if there is one, with no arguments, also when
 * the section is closed by the end of its file.
 *
 * Contract:
 *  - config_load() reads everything and reports *every* error, each as
 *    "file:line: message" (no line for errors found after parsing), then
 *    returns NULL if there was at least one.  Nothing is half-applied: the
 *    caller keeps its old configuration on failure.
 *  - Defaults are the default_value column of the tables, applied after the
 *    files are read to every directive that was not set (so relative paths in
 *    defaults resolve against the final ServerRoot).  They are stated nowhere
 *    else.
 *  - Every directive a setter accepted is marked "set" in the struct it wrote;
 *    dir_config merging (config_merge_dir) copies exactly the set fields.
 *  - Each <VirtualHost> becomes a complete server_config (core/vhost.h): a
 *    copy of the main server after its post_config, with the SCOPE_SERVER
 *    fields the section set on top (copied, or combined by the row's merge
 *    callback), root_dir = the main one merged with the section's own, and
 *    sections = the main server's followed by its own.  Defaults apply to
 *    the main server only: what a vhost does not set, it inherits.
 *  - The resulting server_config and everything it points to lives in its
 *    own pool and is read-only after config_load returns; threads share it.
 */
#ifndef WEFT_CONFIG_H
#define WEFT_CONFIG_H

#include <stdio.h>

#include "common.h"
#include "pool.h"

/* Where a directive may appear. */
enum {
    CONTEXT_SERVER = 1 << 0,     /* top level of the configuration */
    CONTEXT_VHOST = 1 << 1,      /* inside <VirtualHost> */
    CONTEXT_DIRECTORY = 1 << 2,  /* inside <Directory>, <DirectoryMatch>, <Files>, <FilesMatch> */
    CONTEXT_LOCATION = 1 << 3,   /* inside <Location>, <LocationMatch> */
};
#define CONTEXT_SERVER_ONLY (CONTEXT_SERVER)
#define CONTEXT_SERVER_OR_VHOST (CONTEXT_SERVER | CONTEXT_VHOST)
#define CONTEXT_SECTIONS (CONTEXT_DIRECTORY | CONTEXT_LOCATION)
#define CONTEXT_ANYWHERE (CONTEXT_SERVER | CONTEXT_VHOST | CONTEXT_DIRECTORY | CONTEXT_LOCATION)

/* Which struct `offset` points into. */
typedef enum {
    SCOPE_SERVER,     /* server_config */
    SCOPE_DIRECTORY,  /* dir_config: merged per request across sections */
} config_scope;

#define ARGS_UNLIMITED (-1)

/* Which AllowOverride category lets a directive appear in an .htaccess file
 * (Apache's req_override, as its manual lists under "Override:").  0: never
 * in .htaccess.  A directive's row states it once, next to its contexts. */
enum {
    OVERRIDE_AUTHCONFIG = 1 << 0,  /* AuthType, AuthUserFile, Require, ... */
    OVERRIDE_FILEINFO = 1 << 1,    /* document types, ErrorDocument, Rewrite*, Header, ... */
    OVERRIDE_INDEXES = 1 << 2,     /* DirectoryIndex, autoindex's directives, ExpiresActive ... */
    OVERRIDE_LIMIT = 1 << 3,       /* Order, Allow, Deny */
    OVERRIDE_OPTIONS = 1 << 4,     /* Options, XBitHack */
};
#define OVERRIDE_ALL (OVERRIDE_AUTHCONFIG | OVERRIDE_FILEINFO | OVERRIDE_INDEXES | OVERRIDE_LIMIT | OVERRIDE_OPTIONS)

typedef struct config_parse config_parse;
typedef struct config_directive config_directive;

/* A setter parses argv into *target (the field at the row's offset).  It
 * returns WEFT_OK, or WEFT_ERROR after calling config_error().  The engine
 * has already checked the context and min/max argument counts. */
typedef int (*config_setter)(config_parse *parse, const config_directive *directive,
                             void *target, int argc, char **argv);

/* Combines a section's field (child) into the field merged so far.  NULL
 * means: the child's value replaces it (a copy of `size` bytes).  Used for
 * SCOPE_DIRECTORY rows per request, and for SCOPE_SERVER rows when a
 * <VirtualHost> that set the directive inherits from the main server
 * (merged = the main server's value, child = the vhost's own). */
typedef void (*config_merger)(void *merged, const void *child, pool *p);

/* Prints a row's current value as configuration lines for `weft -D
 * DUMP_CONFIG`: "Name arguments\n", none when unset, one per entry for a
 * list.  base is the server_config or dir_config of the row's scope.  Rows
 * of the generic setters need none; config_dump_line quotes arguments. */
typedef void (*config_formatter)(FILE *out, const config_directive *directive, const void *base);

struct config_directive {
    const char *name;           /* as written in the file; matched case-insensitively */
    unsigned contexts;          /* CONTEXT_* mask */
    config_scope scope;
    int min_args;
    int max_args;               /* ARGS_UNLIMITED for "one or more" */
    config_setter set;
    size_t offset;              /* offsetof(server_config or dir_config, field) */
    size_t size;                /* sizeof the field, for merging and dumps; a list
                                 * with a count right after it spans both */
    config_merger merge;        /* NULL = replace */
    const char *default_value;  /* NULL = no default; else arguments as in a file */
    const char *syntax;         /* e.g. "On|Off", "seconds" (for -h, manuals) */
    const char *help;
    config_formatter format;    /* DUMP_CONFIG; NULL = by the generic setter (config_dump.c) */
    unsigned overrides;         /* OVERRIDE_* mask: where it may appear in .htaccess; 0 = not there */
};

/* What the command line contributes. */
typedef struct {
    const char *server_root;              /* -d; NULL = compiled-in default "." */
    const char *config_file;              /* -f; NULL = conf/weft.conf (built-in defaults if absent) */
    const char *const *defines;           /* -D names */
    int define_count;
    const char *const *directives_before; /* -C */
    int directives_before_count;
    const char *const *directives_after;  /* -c */
    int directives_after_count;
} config_options;

/* A list of messages (errors, warnings), each "file:line: text". */
typedef struct {
    char **messages;
    int count;
    int capacity;
} config_messages;

void config_messages_free(config_messages *messages);

struct server_config;

/* Reads the configuration.  On success returns the new server_config (its
 * pool owns everything) and fills warnings; on failure returns NULL with
 * every problem in errors. */
struct server_config *config_load(const config_options *options,
                                  config_messages *errors, config_messages *warnings);
void config_free(struct server_config *server);

/* Records an error at the current file and line.  Always returns WEFT_ERROR
 * so a setter can `return config_error(...)`. */
int config_error(config_parse *parse, const char *format, ...) PRINTF_LIKE(2, 3);
void config_warning(config_parse *parse, const char *format, ...) PRINTF_LIKE(2, 3);
/* The same at a position recorded earlier (a module that checks a file in
 * post_config reports the line that named it). */
int config_error_at(config_parse *parse, const char *file, int line, const char *format, ...) PRINTF_LIKE(4, 5);
void config_warning_at(config_parse *parse, const char *file, int line, const char *format, ...) PRINTF_LIKE(4, 5);
const char *config_file_name(const config_parse *parse);
int config_line_number(const config_parse *parse);
pool *config_pool(config_parse *parse);
struct server_config *config_server(config_parse *parse);
/* Resolves path against ServerRoot unless absolute (result in the config pool). */
char *config_resolve_path(config_parse *parse, const char *path);
bool config_is_defined(const config_parse *parse, const char *name);
/* For a setter: the directive's arguments as written, quotes and all
 * (Apache's RAW_ARGS, SSLRequire's expression); NULL when the row is not
 * being applied from a line (a default value). */
const char *config_raw_arguments(const config_parse *parse);

/* Was this directive set (by a file or -C/-c) in the struct at `base`?
 * base is a server_config or a dir_config, according to the row's scope. */
bool config_was_set(const void *base, const config_directive *directive);
/* For a setter: was the row already set in the struct it is writing now
 * (a second line that extends a list)?  Works for module structs too. */
bool config_was_set_here(config_parse *parse, const config_directive *directive);
/* A NULL-terminated word list with argv added: after the words already
 * there when this struct set the row before (Apache's DirectoryIndex and
 * LanguagePriority append a second line to the first), else argv alone.
 * Allocated in the configuration's pool. */
char **config_words_appended(config_parse *parse, const config_directive *directive, char **list, int argc,
                             char **argv);

/* <Limit method...> and <LimitExcept method...>: access-control rows
 * (Require, Allow, Deny, Order, Satisfy) record the methods they apply to;
 * every other directive inside applies to all methods, as in Apache.  One
 * bit per method; any method weft does not name shares CONFIG_METHOD_OTHER. */
enum {
    CONFIG_METHOD_GET = 1u << 0,  /* and HEAD requests */
    CONFIG_METHOD_POST = 1u << 1,
    CONFIG_METHOD_PUT = 1u << 2,
    CONFIG_METHOD_DELETE = 1u << 3,
    CONFIG_METHOD_CONNECT = 1u << 4,
    CONFIG_METHOD_OPTIONS = 1u << 5,
    CONFIG_METHOD_TRACE = 1u << 6,
    CONFIG_METHOD_PATCH = 1u << 7,
    CONFIG_METHOD_OTHER = 1u << 8,
};
#define CONFIG_METHODS_ALL 0x1ffu
#define CONFIG_METHOD_COUNT 9
/* The methods the enclosing <Limit>/<LimitExcept> names, CONFIG_METHODS_ALL
 * outside one. */
unsigned config_limit_methods(const config_parse *parse);
/* The innermost <Directory>, <Files> or <Location> section (or Match form)
 * the directive being applied is in, <If> skipped; NULL at server or
 * virtual-host level.  Per-directory mod_rewrite strips and re-adds its
 * path.  An .htaccess file reads as a <Directory> of its own directory. */
const struct config_section *config_current_section(const config_parse *parse);
/* A method name's bit (case matters, as in Apache; HEAD is GET). */
unsigned config_method_bit(const char *method);

/* Compiles a PCRE2 regular expression (core/regex.h flags) that lives as
 * long as the configuration; NULL after config_error(), which names the
 * position and the reason. */
struct weft_regex *config_compile_regex(config_parse *parse, const char *pattern, unsigned flags);
/* The literal text every match of pattern starts with ("^/img/(.*)" ->
 * "/img/"), "" if none is certain: a subject without it cannot match, which
 * a strncmp tells far more cheaply than regex_match.  "" for a caseless
 * pattern (flags as config_compile_regex's). */
char *config_regex_prefix(config_parse *parse, const char *pattern, unsigned flags);

/* Generic setters.  Target types: flag -> bool; integer, seconds -> int
 * (non-negative); size -> int64_t (non-negative bytes); milliseconds -> int
 * ("5" = 5 s, "500ms"); string -> char *; path -> char * resolved against
 * ServerRoot; ignored -> nothing, logs a warning that weft does not need it. */
int config_set_flag(config_parse *, const config_directive *, void *, int, char **);
int config_set_integer(config_parse *, const config_directive *, void *, int, char **);
int config_set_seconds(config_parse *, const config_directive *, void *, int, char **);
int config_set_milliseconds(config_parse *, const config_directive *, void *, int, char **);
int config_set_size(config_parse *, const config_directive *, void *, int, char **);
int config_set_string(config_parse *, const config_directive *, void *, int, char **);
int config_set_path(config_parse *, const config_directive *, void *, int, char **);
int config_set_ignored(config_parse *, const config_directive *, void *, int, char **);

/* Applies a relative "Options"-style setting on top of another one
 * (Apache's merge rule: +X/-X modify what is inherited, a plain list
 * replaces it); core Options and SSLOptions both merge this way. */
struct options_setting;
void config_options_combine(struct options_setting *base, const struct options_setting *child);

/* A TCP port written in a file: 1 to 65535, decimal digits only. */
bool config_parse_port(const char *text, int *port);
/* Include / IncludeOptional: the engine reads the named files, directories
 * or wildcard matches in place (the core table's rows point here). */
int config_set_include(config_parse *, const config_directive *, void *, int, char **);
/* Define name [value] / UnDefine name (the row's name tells which): the
 * engine's variables, for <IfDefine> and ${name}; they take effect at once. */
int config_set_define(config_parse *, const config_directive *, void *, int, char **);

#define CONFIG_MAX_DIRECTIVES 512

/* Looks up a row by name across all modules (case-insensitive); NULL if none. */
const config_directive *config_find_directive(const char *name);
/* The same for a line in `context` (CONTEXT_*): a directive may have one row
 * for server and vhost level and another, with another scope, for sections
 * (Redirect); the first row allowed there, else the first of that name. */
const config_directive *config_find_directive_for(const char *name, unsigned context);
/* The row's global index (0..CONFIG_MAX_DIRECTIVES-1), for "set" bitmaps. */
int config_directive_index(const config_directive *directive);

/* config_dump.c: `weft -D DUMP_CONFIG` (the effective configuration, every
 * directive with a value, defaults included, as configuration text) and
 * `weft -D DUMP_DIRECTIVES` (every row of every table, one per line:
 * name, module, contexts, syntax, default, help, override (Apache's
 * "Override:", the AllowOverride categories), separated by tabs; the
 * manuals are made from it). */
struct server_config;
void config_dump(FILE *out, const struct server_config *server);
void config_dump_directives(FILE *out);
/* For formatters: one line "Name arg1 arg2 ...", quoting what needs it. */
void config_dump_line(FILE *out, const config_directive *directive, int argc, const char *const *argv);
/* Formatters for common field types: a char * (nothing when NULL), and a
 * NULL-terminated char ** printed as the arguments of one line. */
void config_format_string(FILE *out, const config_directive *directive, const void *base);
void config_format_words(FILE *out, const config_directive *directive, const void *base);

#endif
