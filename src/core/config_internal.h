/*
 * config_internal.h — what the pieces of the configuration engine share
 * (config.c, config_lexer.c, config_merge.c).  Modules use config.h only.
 */
#ifndef WEFT_CONFIG_INTERNAL_H
#define WEFT_CONFIG_INTERNAL_H

#include "buffer.h"
#include "config.h"
#include "pool.h"

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
/* Fills server->merge_order from server->sections (config_merge.c). */
void config_order_sections(struct server_config *server, pool *p);

#endif
