/*
 * autoindex.c — directory listings (see autoindex.h).
 */
#include "autoindex.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/module.h"
#include "../http/response.h"
#include "../http/uri.h"
#include "file_open.h"

typedef struct {
    char **index_ignore;  /* IndexIgnore wildcards, NULL-terminated */
} autoindex_dir_config;

extern const module autoindex_module;

typedef struct {
    const char *name;
    bool directory;
    int64_t size;
    time_t modified;
} listing_entry;

typedef enum { SORT_NAME = 'N', SORT_MODIFIED = 'M', SORT_SIZE = 'S' } sort_column;

typedef struct {
    sort_column column;
    bool descending;
} sort_order;

static bool ignored(const dir_config *dir, const char *name)
{
    const autoindex_dir_config *config = module_dir_config(dir, &autoindex_module);
    for (char **pattern = config->index_ignore; pattern && *pattern; pattern++)
        if (fnmatch(*pattern, name, 0) == 0)
            return true;
    return false;
}

/* Reads the directory into *entries (in p).  Returns the count, or -1. */
static int read_entries(request *r, int directory_fd, bool follow_symlinks, listing_entry **entries)
{
    int fd = openat(directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *directory = fd >= 0 ? fdopendir(fd) : NULL;
    if (!directory) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int count = 0, capacity = 0;
    listing_entry *list = NULL;
    struct dirent *item;
    while ((item = readdir(directory)) != NULL) {
        const char *name = item->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || ignored(r->dir, name))
            continue;
        struct stat info;
        if (fstatat(dirfd(directory), name, &info, follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (!S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode))
            continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 32;
            listing_entry *grown = pool_alloc(r->pool, sizeof(*grown) * (size_t)capacity);
            if (count)
                memcpy(grown, list, sizeof(*grown) * (size_t)count);
            list = grown;
        }
        list[count++] = (listing_entry){ pool_strdup(r->pool, name), S_ISDIR(info.st_mode),
                                         (int64_t)info.st_size, info.st_mtim.tv_sec };
    }
    closedir(directory);
    *entries = list;
    return count;
}

/* Apache's query: "C=N;O=D" (or with '&'); anything unknown is ignored. */
static sort_order parse_sort_order(const char *query)
{
    sort_order order = { SORT_NAME, false };
    for (const char *at = query; at && *at;) {
        if ((at[0] == 'C' || at[0] == 'c') && at[1] == '=' && at[2] && strchr("NMS", at[2]))
            order.column = (sort_column)at[2];
        else if ((at[0] == 'O' || at[0] == 'o') && at[1] == '=' && (at[2] == 'A' || at[2] == 'D'))
            order.descending = at[2] == 'D';
        at += strcspn(at, ";&");
        if (*at)
            at++;
    }
    return order;
}

/* qsort has no context argument: the order lives here for the one call. */
static _Thread_local sort_order current_order;

static int compare_entries(const void *left, const void *right)
{
    const listing_entry *a = left, *b = right;
    int result = 0;
    switch (current_order.column) {
    case SORT_MODIFIED:
        result = (a->modified > b->modified) - (a->modified < b->modified);
        break;
    case SORT_SIZE: {
        /* Directories have no size: they sort before every file. */
        int64_t size_a = a->directory ? -1 : a->size, size_b = b->directory ? -1 : b->size;
        result = (size_a > size_b) - (size_a < size_b);
        break;
    }
    case SORT_NAME:
        break;
    }
    if (result == 0)
        result = strcmp(a->name, b->name);
    return current_order.descending ? -result : result;
}

static void append_escaped(buffer *out, pool *p, const char *text)
{
    buffer_append_string(out, html_escape(p, text));
}

static void append_column_head(buffer *out, const sort_order *order, sort_column column, const char *label)
{
    bool descending = order->column == column && !order->descending;
    buffer_printf(out, "<th><a href=\"?C=%c;O=%c\">%s</a></th>", (char)column, descending ? 'D' : 'A', label);
}

static void append_entry(buffer *out, pool *p, const listing_entry *entry)
{
    const char *slash = entry->directory ? "/" : "";
    char *href = uri_escape_path(p, entry->name);
    /* "a:b" would read as a URL with scheme "a"; "./a:b" cannot. */
    const char *prefix = strchr(entry->name, ':') ? "./" : "";
    buffer_append_string(out, "<tr><td><a href=\"");
    buffer_append_string(out, prefix);
    append_escaped(out, p, href);
    buffer_append_string(out, slash);
    buffer_append_string(out, "\">");
    append_escaped(out, p, entry->name);
    buffer_append_string(out, slash);
    buffer_append_string(out, "</a></td><td>");
    struct tm when;
    char date[32] = "";
    if (gmtime_r(&entry->modified, &when))
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &when);
    buffer_append_string(out, date);
    buffer_append_string(out, "</td><td align=\"right\">");
    if (entry->directory)
        buffer_append_char(out, '-');
    else
        buffer_append_unsigned(out, (uint64_t)entry->size);
    buffer_append_string(out, "</td></tr>\n");
}

static void free_buffer(void *data)
{
    buffer_free(data);
}

int autoindex_serve_directory(request *r, int directory_fd, bool follow_symlinks)
{
    if (!(file_effective_options(r->dir) & OPTION_INDEXES)) {
        if (log_enabled(LOG_LEVEL_INFO))
            log_message(LOG_LEVEL_INFO, "autoindex: %s: directory index forbidden by Options directive",
                        r->file_path);
        return 403;
    }
    listing_entry *entries = NULL;
    int count = read_entries(r, directory_fd, follow_symlinks, &entries);
    if (count < 0) {
        int error = errno;
        log_error_number(LOG_LEVEL_ERROR, error, "autoindex: cannot read directory %s", r->file_path);
        return error == EACCES ? 403 : WEFT_ERROR;
    }
    sort_order order = parse_sort_order(r->query);
    current_order = order;
    if (count > 1)
        qsort(entries, (size_t)count, sizeof(*entries), compare_entries);

    /* "Index of /a/b", the path without its trailing slash, as Apache. */
    size_t title_length = strlen(r->path);
    while (title_length > 1 && r->path[title_length - 1] == '/')
        title_length--;
    char *title = html_escape(r->pool, pool_strndup(r->pool, r->path, title_length));

    buffer *out = pool_alloc(r->pool, sizeof(*out));
    buffer_init(out, 1024 + (size_t)count * 160);
    pool_cleanup_add(r->pool, free_buffer, out);
    buffer_printf(out, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
                       "<title>Index of %s</title>\n</head>\n<body>\n<h1>Index of %s</h1>\n<table>\n<tr>",
                  title, title);
    append_column_head(out, &order, SORT_NAME, "Name");
    append_column_head(out, &order, SORT_MODIFIED, "Last modified");
    append_column_head(out, &order, SORT_SIZE, "Size");
    buffer_append_string(out, "</tr>\n");
    if (title_length > 1) {
        size_t parent_length = title_length;
        while (parent_length > 0 && r->path[parent_length - 1] != '/')
            parent_length--;
        char *parent = uri_escape_path(r->pool, pool_strndup(r->pool, r->path, parent_length));
        buffer_append_string(out, "<tr><td><a href=\"");
        append_escaped(out, r->pool, parent);
        buffer_append_string(out, "\">Parent Directory</a></td><td></td><td align=\"right\">-</td></tr>\n");
    }
    for (int i = 0; i < count; i++)
        append_entry(out, r->pool, &entries[i]);
    buffer_append_string(out, "</table>\n</body>\n</html>\n");

    if (r->status == 0)
        r->status = 200;
    r->content_type = "text/html;charset=UTF-8";
    response_set_body_memory(r, out->data, out->length);
    return WEFT_OK;
}

/* ---- configuration ------------------------------------------------------ */

static int set_index_ignore(config_parse *parse, const config_directive *d, void *target, int argc,
                            char **argv)
{
    char ***list = target;
    int existing = 0;
    char **previous = config_was_set_here(parse, d) ? *list : NULL;
    while (previous && previous[existing])
        existing++;
    char **patterns = pool_alloc(config_pool(parse), sizeof(char *) * (size_t)(existing + argc + 1));
    for (int i = 0; i < existing; i++)
        patterns[i] = previous[i];
    for (int i = 0; i < argc; i++) {
        if (strchr(argv[i], '/'))
            return config_error(parse, "IndexIgnore: '%s': weft matches names only, without '/'", argv[i]);
        patterns[existing + i] = pool_strdup(config_pool(parse), argv[i]);
    }
    patterns[existing + argc] = NULL;
    *list = patterns;
    return WEFT_OK;
}

/* The enclosing patterns, then the section's (a new array: the inputs are
 * the shared configuration). */
static void merge_index_ignore(void *merged, const void *child, pool *p)
{
    char ***merged_list = merged;
    char **const *child_list = child;
    int before = 0, added = 0;
    while (*merged_list && (*merged_list)[before])
        before++;
    while (*child_list && (*child_list)[added])
        added++;
    if (before == 0) {
        *merged_list = *child_list;
        return;
    }
    char **combined = pool_alloc(p, sizeof(char *) * (size_t)(before + added + 1));
    memcpy(combined, *merged_list, sizeof(char *) * (size_t)before);
    if (added)
        memcpy(combined + before, *child_list, sizeof(char *) * (size_t)added);
    combined[before + added] = NULL;
    *merged_list = combined;
}

static const config_directive autoindex_directives[] = {
    { .name = "IndexIgnore", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(autoindex_dir_config, index_ignore), .size = sizeof(char **), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_index_ignore, .merge = merge_index_ignore,
      .syntax = "wildcard ...", .help = "names that directory listings leave out" },
    { .name = NULL },
};

const module autoindex_module = {
    .name = "autoindex",
    .directives = autoindex_directives,
    .dir_config_size = sizeof(autoindex_dir_config),
};
