/*
 * mime.c — TypesConfig / AddType and the extension -> media type table.
 *
 * The table is an open-addressing hash table (linear probing, power-of-two
 * size, at most half full) keyed by the lower-case extension.  It is built
 * once per configuration generation and only read afterwards, so it needs
 * no deletion and no lock.
 */
#include "mime.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The system's list is far more complete than anything we could ship; the
 * bundled file is only the fallback for systems without one. */
#define SYSTEM_TYPES_FILE "/etc/mime.types"
#define BUNDLED_TYPES_FILE "conf/mime.types"

#define INITIAL_CAPACITY 256

typedef struct {
    const char *extension;   /* lower case; NULL = empty slot */
    size_t length;
    const char *type;
} mime_entry;

struct mime_table {
    pool *pool;
    mime_entry *entries;
    size_t capacity;         /* a power of two */
    size_t count;
};

/* FNV-1a over the lower-cased bytes, so that lookups need no copy. */
static size_t hash_extension(const char *extension, size_t length)
{
    uint64_t hash = 1469598103934665603ULL;
    for (size_t i = 0; i < length; i++) {
        hash ^= (unsigned char)tolower((unsigned char)extension[i]);
        hash *= 1099511628211ULL;
    }
    return (size_t)hash;
}

mime_table *mime_table_create(pool *p)
{
    mime_table *table = pool_calloc(p, sizeof *table);
    table->pool = p;
    table->capacity = INITIAL_CAPACITY;
    table->entries = pool_calloc(p, table->capacity * sizeof *table->entries);
    return table;
}

static mime_entry *find_slot(mime_entry *entries, size_t capacity, const char *extension,
                             size_t length)
{
    size_t mask = capacity - 1;
    size_t index = hash_extension(extension, length) & mask;
    while (entries[index].extension) {
        if (entries[index].length == length &&
            strncasecmp(entries[index].extension, extension, length) == 0)
            break;
        index = (index + 1) & mask;
    }
    return &entries[index];
}

static void grow(mime_table *table)
{
    /* The old array stays in the pool: tables are built once per
     * configuration, so the waste is bounded and short-lived. */
    size_t capacity = table->capacity * 2;
    mime_entry *entries = pool_calloc(table->pool, capacity * sizeof *entries);
    for (size_t i = 0; i < table->capacity; i++) {
        const mime_entry *old = &table->entries[i];
        if (old->extension)
            *find_slot(entries, capacity, old->extension, old->length) = *old;
    }
    table->entries = entries;
    table->capacity = capacity;
}

static char *lower_case_copy(pool *p, const char *text, size_t length)
{
    char *copy = pool_strndup(p, text, length);
    for (char *c = copy; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return copy;
}

/* type must already live in the table's pool. */
static void table_set_interned(mime_table *table, const char *extension, size_t length,
                               const char *type)
{
    if ((table->count + 1) * 2 > table->capacity)
        grow(table);
    mime_entry *slot = find_slot(table->entries, table->capacity, extension, length);
    if (!slot->extension) {
        slot->extension = lower_case_copy(table->pool, extension, length);
        slot->length = length;
        table->count++;
    }
    slot->type = type;
}

void mime_table_set(mime_table *table, const char *extension, const char *type)
{
    table_set_interned(table, extension, strlen(extension), pool_strdup(table->pool, type));
}

const char *mime_table_lookup(const mime_table *table, const char *extension, size_t length)
{
    if (!table || length == 0)
        return NULL;
    const mime_entry *slot = find_slot(table->entries, table->capacity, extension, length);
    return slot->extension ? slot->type : NULL;
}

size_t mime_table_count(const mime_table *table)
{
    return table ? table->count : 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* One "type ext ext ..." line.  A later line naming an extension again
 * replaces the earlier mapping, as Apache's mod_mime does. */
static void load_line(mime_table *table, char *line)
{
    const char *type = NULL;
    char *cursor = line;
    for (;;) {
        while (is_blank(*cursor))
            cursor++;
        if (*cursor == '\0' || *cursor == '#')
            return;
        char *token = cursor;
        while (*cursor && !is_blank(*cursor))
            cursor++;
        size_t length = (size_t)(cursor - token);
        if (!type) {
            type = pool_strndup(table->pool, token, length);
            continue;
        }
        if (token[0] == '.') {
            token++;
            length--;
        }
        if (length > 0)
            table_set_interned(table, token, length, type);
    }
}

int mime_table_load(mime_table *table, const char *path)
{
    FILE *file = fopen(path, "re");
    if (!file)
        return WEFT_ERROR;
    char *line = NULL;
    size_t line_capacity = 0;
    while (getline(&line, &line_capacity, file) >= 0)
        load_line(table, line);
    /* getline also fails at end of file; only ferror tells a read error
     * (EISDIR when path is a directory) from the end. */
    int read_error = ferror(file) ? errno : 0;
    free(line);
    fclose(file);
    if (read_error) {
        errno = read_error;
        return WEFT_ERROR;
    }
    return WEFT_OK;
}

const char *mime_path_extension(const char *path, size_t *length)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    const char *dot = strrchr(name, '.');
    /* ".profile" is a hidden file without an extension, and "name." has an
     * empty one: neither has a type. */
    if (!dot || dot == name || dot[1] == '\0')
        return NULL;
    *length = strlen(dot + 1);
    return dot + 1;
}

static mime_server_config *mime_server_settings(const server_config *server)
{
    return module_server_config(server, &mime_module);
}

static const mime_dir_config *mime_dir_settings(const dir_config *dir)
{
    return module_dir_config(dir, &mime_module);
}

static const char *addition_lookup(const mime_addition *list, const char *extension, size_t length)
{
    for (const mime_addition *addition = list; addition; addition = addition->next)
        if (strlen(addition->extension) == length && strncasecmp(addition->extension, extension, length) == 0)
            return addition->type;
    return NULL;
}

bool mime_has_variants(const dir_config *dir)
{
    const mime_dir_config *settings = dir ? mime_dir_settings(dir) : NULL;
    return settings && (settings->add_languages || settings->add_encodings || settings->default_language);
}

static const char *type_for_extension(const server_config *server, const dir_config *dir, const char *extension,
                                      size_t length)
{
    const char *type = dir ? addition_lookup(mime_dir_settings(dir)->add_types, extension, length) : NULL;
    if (type)
        return *type ? type : NULL;  /* "": RemoveType */
    return mime_table_lookup(server ? mime_server_settings(server)->mime_types : NULL, extension, length);
}

bool mime_classify_extension(const server_config *server, const dir_config *dir, const char *extension,
                             size_t length, mime_info *out)
{
    const mime_dir_config *settings = dir ? mime_dir_settings(dir) : NULL;
    bool known = false;
    const char *found;
    if (length == 0)
        return false;
    /* As Apache's mod_mime, one extension may give a language, an encoding
     * and a type at once ("x.gz" with AddEncoding gzip .gz: application/gzip,
     * encoded with gzip). */
    if (settings && (found = addition_lookup(settings->add_languages, extension, length))) {
        if (out->language_count < MIME_MAX_LANGUAGES)
            out->languages[out->language_count++] = found;
        known = true;
    }
    if (settings && (found = addition_lookup(settings->add_encodings, extension, length))) {
        out->encoding = found;
        known = true;
    }
    if ((found = type_for_extension(server, dir, extension, length))) {
        out->type = found;
        known = true;
    }
    return known;
}

void mime_classify(const server_config *server, const dir_config *dir, const char *path, mime_info *out)
{
    memset(out, 0, sizeof(*out));
    const mime_dir_config *settings = dir ? mime_dir_settings(dir) : NULL;
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    /* The first dot of a hidden file's name starts no extension. */
    const char *cursor = name[0] == '.' ? name + 1 : name;
    cursor = strchr(cursor, '.');
    while (cursor) {
        const char *extension = cursor + 1;
        const char *next = strchr(extension, '.');
        size_t length = next ? (size_t)(next - extension) : strlen(extension);
        mime_classify_extension(server, dir, extension, length, out);
        cursor = next;
    }
    if (settings && settings->force_type)
        out->type = settings->force_type;
    if (settings && settings->default_language && out->language_count == 0)
        out->languages[out->language_count++] = settings->default_language;
}

const char *mime_type_for_path(const server_config *server, const dir_config *dir,
                               const char *path)
{
    if (dir && mime_dir_settings(dir)->force_type)
        return mime_dir_settings(dir)->force_type;
    if (mime_has_variants(dir)) {
        mime_info info;
        mime_classify(server, dir, path, &info);
        return info.type;
    }
    size_t length;
    const char *extension = mime_path_extension(path, &length);
    if (!extension)
        return NULL;
    for (const mime_addition *addition = dir ? mime_dir_settings(dir)->add_types : NULL; addition;
         addition = addition->next) {
        if (strlen(addition->extension) == length &&
            strncasecmp(addition->extension, extension, length) == 0)
            return *addition->type ? addition->type : NULL;  /* "": RemoveType */
    }
    return mime_table_lookup(server ? mime_server_settings(server)->mime_types : NULL, extension, length);
}

/* --- configuration --- */

/* "type/subtype" with optional parameters; nothing stricter, because
 * Apache accepts e.g. "text/html; charset=UTF-8" here and people use it. */
static bool media_type_valid(const char *type)
{
    const char *slash = strchr(type, '/');
    if (!slash || slash == type || slash[1] == '\0' || slash[1] == ';')
        return false;
    for (const char *c = type; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return false;
    }
    return true;
}

/* AddType media-type ext [ext ...].  New entries go to the front of the
 * list, so the most recent AddType for an extension is the one found. */
static int set_add_type(config_parse *parse, const config_directive *directive, void *target,
                        int argc, char **argv)
{
    mime_addition **list = target;
    pool *p = config_pool(parse);
    if (!media_type_valid(argv[0]))
        return config_error(parse, "AddType: '%s' is not a media type (type/subtype)", argv[0]);
    char *type = pool_strdup(p, argv[0]);
    for (int i = 1; i < argc; i++) {
        const char *extension = argv[i][0] == '.' ? argv[i] + 1 : argv[i];
        if (extension[0] == '\0' || strchr(extension, '/'))
            return config_error(parse, "AddType: '%s' is not a file name extension", argv[i]);
        /* Only the last extension of a name is looked up, so "tar.gz" could
         * never match: say so instead of ignoring it silently. */
        if (strchr(extension, '.'))
            return config_error(parse,
                                "AddType: '%s': only the last extension of a file name counts",
                                argv[i]);
        mime_addition *addition = pool_alloc(p, sizeof *addition);
        addition->extension = lower_case_copy(p, extension, strlen(extension));
        addition->type = type;
        addition->next = *list;
        *list = addition;
    }
    return WEFT_OK;
}

/* The section's own entries, then everything inherited: a lookup walks the
 * list front to back, so the innermost AddType wins.  The inherited list is
 * shared, not copied; lists are never modified after configuration. */
static void merge_add_types(void *merged, const void *child, pool *p)
{
    mime_addition **merged_list = merged;
    mime_addition *const *child_list = child;
    if (!*child_list)
        return;
    if (!*merged_list) {
        *merged_list = *child_list;
        return;
    }
    mime_addition *head = NULL;
    mime_addition **tail = &head;
    for (const mime_addition *entry = *child_list; entry; entry = entry->next) {
        mime_addition *copy = pool_alloc(p, sizeof *copy);
        *copy = *entry;
        *tail = copy;
        tail = &copy->next;
    }
    *tail = *merged_list;
    *merged_list = head;
}

/* RemoveType ext...: an entry with the empty type in front of the AddType
 * list hides what AddType said for the extension in enclosing sections, and
 * the TypesConfig mapping too (Apache's effect: Debian's "RemoveType es"
 * leaves .es a language only); an AddType in an inner section (or a later
 * line) gives the type again. */
static int set_remove_type(config_parse *parse, const config_directive *directive, void *target, int argc,
                           char **argv)
{
    mime_addition **list = target;
    pool *p = config_pool(parse);
    for (int i = 0; i < argc; i++) {
        const char *extension = argv[i][0] == '.' ? argv[i] + 1 : argv[i];
        if (extension[0] == '\0' || strchr(extension, '/'))
            return config_error(parse, "RemoveType: '%s' is not a file name extension", argv[i]);
        mime_addition *addition = pool_alloc(p, sizeof *addition);
        addition->extension = lower_case_copy(p, extension, strlen(extension));
        addition->type = "";
        addition->next = *list;
        *list = addition;
    }
    return WEFT_OK;
}

static int set_force_type(config_parse *parse, const config_directive *directive, void *target, int argc,
                          char **argv)
{
    if (strcasecmp(argv[0], "None") == 0) {
        *(char **)target = NULL;
        return WEFT_OK;
    }
    if (!media_type_valid(argv[0]))
        return config_error(parse, "ForceType: '%s' is not a media type (type/subtype)", argv[0]);
    *(char **)target = pool_strdup(config_pool(parse), argv[0]);
    return WEFT_OK;
}

/* AddLanguage tag ext..., AddEncoding coding ext...: as AddType, the most
 * recent line for an extension wins.  Encodings are kept as written, less
 * Apache's "x-" prefix ("x-gzip" is sent as gzip, as Apache does). */
static int set_add_value(config_parse *parse, const config_directive *directive, void *target, int argc,
                         char **argv)
{
    mime_addition **list = target;
    pool *p = config_pool(parse);
    const char *value = argv[0];
    bool encoding = strcasecmp(directive->name, "AddEncoding") == 0;
    if (encoding && strncasecmp(value, "x-", 2) == 0)
        value += 2;
    if (!*value || strpbrk(value, " \t/;,"))
        return config_error(parse, "%s: '%s' is not a %s", directive->name, argv[0],
                            encoding ? "content coding" : "language tag");
    char *stored = encoding ? lower_case_copy(p, value, strlen(value)) : pool_strdup(p, value);
    for (int i = 1; i < argc; i++) {
        const char *extension = argv[i][0] == '.' ? argv[i] + 1 : argv[i];
        if (extension[0] == '\0' || strchr(extension, '/') || strchr(extension, '.'))
            return config_error(parse, "%s: '%s' is not a file name extension", directive->name, argv[i]);
        mime_addition *addition = pool_alloc(p, sizeof *addition);
        addition->extension = lower_case_copy(p, extension, strlen(extension));
        addition->type = stored;
        addition->next = *list;
        *list = addition;
    }
    return WEFT_OK;
}

static int load_into_new_table(server_config *server, const char *path)
{
    mime_table *table = mime_table_create(server->pool);
    if (mime_table_load(table, path) != WEFT_OK)
        return WEFT_ERROR;
    mime_server_settings(server)->mime_types = table;
    return WEFT_OK;
}

static int mime_post_config(config_parse *parse, server_config *server)
{
    if (mime_server_settings(server)->types_config) {
        if (load_into_new_table(server, mime_server_settings(server)->types_config) != WEFT_OK)
            return config_error(parse, "TypesConfig: cannot open '%s': %s", mime_server_settings(server)->types_config,
                                strerror(errno));
        return WEFT_OK;
    }

    const char *candidates[] = { SYSTEM_TYPES_FILE, config_resolve_path(parse, BUNDLED_TYPES_FILE) };
    for (size_t i = 0; i < COUNT_OF(candidates); i++) {
        if (load_into_new_table(server, candidates[i]) == WEFT_OK) {
            mime_server_settings(server)->types_config = pool_strdup(server->pool, candidates[i]);
            return WEFT_OK;
        }
    }
    /* Not fatal: AddType still works, and a response without Content-Type
     * is legal (the client sniffs or treats it as application/octet-stream). */
    config_warning(parse, "TypesConfig: neither %s nor %s can be read; only AddType sets Content-Type",
                   candidates[0], candidates[1]);
    mime_server_settings(server)->mime_types = mime_table_create(server->pool);
    return WEFT_OK;
}

static const config_directive mime_directives[] = {
    {
        .name = "TypesConfig",
        .contexts = CONTEXT_SERVER_ONLY,
        .scope = SCOPE_SERVER,
        .min_args = 1,
        .max_args = 1,
        .set = config_set_path,
        .offset = offsetof(mime_server_config, types_config),
        .size = sizeof(char *),
        .syntax = "file",
        .help = "the mime.types file mapping extensions to media types "
                "(default: /etc/mime.types if readable, else conf/mime.types)",
    },
    {
        .name = "AddType",
        .contexts = CONTEXT_ANYWHERE,
        .scope = SCOPE_DIRECTORY,
        .min_args = 2,
        .max_args = ARGS_UNLIMITED,
        .set = set_add_type,
        .offset = offsetof(mime_dir_config, add_types),
        .size = sizeof(mime_addition *),
        .merge = merge_add_types,
        .syntax = "media-type extension [extension ...]",
        .help = "maps file name extensions to a media type, before TypesConfig",
        .overrides = OVERRIDE_FILEINFO,
    },
    { .name = "RemoveType", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY, .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_remove_type, .offset = offsetof(mime_dir_config, add_types),
      .size = sizeof(mime_addition *), .merge = merge_add_types, .syntax = "extension [extension ...]",
      .help = "undoes AddType and the TypesConfig mapping for these extensions here and below",
      .overrides = OVERRIDE_FILEINFO },
    { .name = "ForceType", .contexts = CONTEXT_SECTIONS, .scope = SCOPE_DIRECTORY, .min_args = 1, .max_args = 1,
      .set = set_force_type, .offset = offsetof(mime_dir_config, force_type), .size = sizeof(char *),
      .format = config_format_string, .syntax = "media-type|None",
      .help = "the media type of every file here, whatever its name (None: the extension decides again)",
      .overrides = OVERRIDE_FILEINFO },
    { .name = "AddLanguage", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY, .min_args = 2,
      .max_args = ARGS_UNLIMITED, .set = set_add_value, .offset = offsetof(mime_dir_config, add_languages),
      .size = sizeof(mime_addition *), .merge = merge_add_types, .syntax = "language-tag extension [extension ...]",
      .help = "the Content-Language of files with these extensions (and their language for MultiViews)",
      .overrides = OVERRIDE_FILEINFO },
    { .name = "DefaultLanguage", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY, .min_args = 1, .max_args = 1,
      .set = config_set_string, .offset = offsetof(mime_dir_config, default_language), .size = sizeof(char *),
      .syntax = "language-tag", .help = "the Content-Language of files without a language extension",
      .overrides = OVERRIDE_FILEINFO },
    { .name = "AddEncoding", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY, .min_args = 2,
      .max_args = ARGS_UNLIMITED, .set = set_add_value, .offset = offsetof(mime_dir_config, add_encodings),
      .size = sizeof(mime_addition *), .merge = merge_add_types, .syntax = "content-coding extension [extension ...]",
      .help = "the Content-Encoding of files with these extensions (and their encoding for MultiViews)",
      .overrides = OVERRIDE_FILEINFO },
    { .name = NULL },
};

const module mime_module = {
    .name = "mime",
    .directives = mime_directives,
    .post_config = mime_post_config,
    .server_config_size = sizeof(mime_server_config),
    .dir_config_size = sizeof(mime_dir_config),
};
