/*
 * autoindex.c — directory listings (see autoindex.h).
 */
#include "autoindex.h"

#include <ctype.h>
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
#include "../http/response.h"
#include "../http/uri.h"
#include "autoindex_internal.h"
#include "file_open.h"
#include "mime.h"

#define INSERT_LIMIT (1 << 20)   /* the most of a HeaderName/ReadmeName file put in a listing */

static bool ignored(const autoindex_dir_config *config, const char *name)
{
    for (char **pattern = config->index_ignore; pattern && *pattern; pattern++)
        if (fnmatch(*pattern, name, 0) == 0)
            return true;
    return false;
}

/* Reads the directory into *entries (in p).  Returns the count, or -1. */
static int read_entries(request *r, const autoindex_dir_config *config, int directory_fd, bool follow_symlinks,
                        listing_entry **entries)
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
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || ignored(config, name))
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
        bool is_directory = S_ISDIR(info.st_mode);
        char *copy = pool_strdup(r->pool, name);
        list[count++] = (listing_entry){ .name = copy,
                                         .sort_name = is_directory ? pool_printf(r->pool, "%s/", name) : copy,
                                         .directory = is_directory,
                                         .size = is_directory ? -1 : (int64_t)info.st_size,
                                         .modified = info.st_mtim.tv_sec };
    }
    closedir(directory);
    *entries = list;
    return count;
}

/* Apache's query: "C=N;O=D" (or with '&'); anything unknown is ignored. */
static void parse_sort_query(const char *query, sort_order *order)
{
    for (const char *at = query; at && *at;) {
        if ((at[0] == 'C' || at[0] == 'c') && at[1] == '=' && at[2] && strchr("NMSD", at[2]))
            order->column = (sort_column)at[2];
        else if ((at[0] == 'O' || at[0] == 'o') && at[1] == '=' && (at[2] == 'A' || at[2] == 'D'))
            order->descending = at[2] == 'D';
        at += strcspn(at, ";&");
        if (*at)
            at++;
    }
}

/* apr_strnatcmp's order: runs of digits compare as numbers. */
static int natural_compare(const char *a, const char *b, bool fold)
{
    for (;;) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t length_a = 0, length_b = 0;
            while (isdigit((unsigned char)a[length_a]))
                length_a++;
            while (isdigit((unsigned char)b[length_b]))
                length_b++;
            if (length_a != length_b)
                return length_a < length_b ? -1 : 1;
            int digits = strncmp(a, b, length_a);
            if (digits)
                return digits;
            a += length_a;
            b += length_b;
            continue;
        }
        int ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (fold) {
            ca = toupper(ca);
            cb = toupper(cb);
        }
        if (ca != cb || !ca)
            return ca - cb;
        a++;
        b++;
    }
}

static int compare_names(const char *a, const char *b, const sort_order *order)
{
    int result = 0;
    if (order->ignore_case)
        result = order->version_sort ? natural_compare(a, b, true) : strcasecmp(a, b);
    if (!result)
        result = order->version_sort ? natural_compare(a, b, false) : strcmp(a, b);
    return result;
}

/* qsort has no context argument: the order lives here for the one call. */
static _Thread_local sort_order current_order;

/* Apache's dsortf: FoldersFirst whatever the direction, then the column,
 * then the name in the same direction. */
static int compare_entries(const void *left, const void *right)
{
    const listing_entry *e1 = left, *e2 = right;
    if (current_order.folders_first && e1->directory != e2->directory)
        return e1->directory ? -1 : 1;
    const listing_entry *a = current_order.descending ? e2 : e1, *b = current_order.descending ? e1 : e2;
    switch (current_order.column) {
    case SORT_MODIFIED:
        if (a->modified != b->modified)
            return a->modified > b->modified ? 1 : -1;
        break;
    case SORT_SIZE:
        if (a->size != b->size)
            return a->size > b->size ? 1 : -1;
        break;
    case SORT_DESCRIPTION: {
        const char *da = a->description ? a->description : "", *db = b->description ? b->description : "";
        int result = current_order.version_sort ? natural_compare(da, db, false) : strcmp(da, db);
        if (result)
            return result;
        break;
    }
    case SORT_NAME:
        break;
    }
    return compare_names(a->sort_name, b->sort_name, &current_order);
}

/* ---- icons and descriptions ---------------------------------------------- */

static bool rule_matches(const icon_rule *rule, const char *path, const char *type, bool path_only)
{
    if (path[0] == '^' || rule->kind == ICON_BY_PATH)
        return fnmatch(rule->pattern, path, 0) == 0;
    /* weft sets no Content-Encoding from file names: encoding rules never match */
    if (path_only || rule->kind != ICON_BY_TYPE || !type)
        return false;
    return fnmatch(rule->pattern, type, FNM_CASEFOLD) == 0;
}

/* The first rule giving an icon (want_icon) or an alt text that matches. */
const char *autoindex_find_rule(const icon_rules *rules, const char *path, const char *type, bool path_only,
                             bool want_icon)
{
    for (int i = 0; i < rules->count; i++) {
        const icon_rule *rule = &rules->rules[i];
        const char *value = want_icon ? rule->icon : rule->alt;
        if (value && rule_matches(rule, path, type, path_only))
            return value;
    }
    return NULL;
}

static const char *find_description(const description_rules *rules, const char *full_path, const char *name)
{
    for (int i = 0; i < rules->count; i++) {
        const description_rule *rule = &rules->rules[i];
        const char *subject = rule->full_path ? full_path : name;
        bool found = rule->wildcards ? fnmatch(rule->pattern, subject, 0) == 0 : strstr(subject, rule->pattern) != NULL;
        if (found)
            return rule->text;
    }
    return NULL;
}

static void describe_entry(listing *l, const char *directory_path, listing_entry *entry)
{
    request *r = l->r;
    const icon_rules *icons = &l->config->icons;
    const char *full = pool_printf(r->pool, "%s/%s", directory_path, entry->name);
    if (entry->directory) {
        entry->icon = autoindex_find_rule(icons, full, NULL, true, true);
        if (!entry->icon)
            entry->icon = autoindex_find_rule(icons, "^^DIRECTORY^^", NULL, true, true);
        entry->alt = autoindex_find_rule(icons, full, NULL, true, false);
        if (!entry->alt)
            entry->alt = autoindex_find_rule(icons, "^^DIRECTORY^^", NULL, true, false);
        if (!entry->alt)
            entry->alt = "DIR";
    } else {
        const char *type = mime_type_for_path(r->server, r->dir, entry->name);
        entry->icon = autoindex_find_rule(icons, full, type, false, true);
        entry->alt = autoindex_find_rule(icons, full, type, false, false);
    }
    entry->description = find_description(&l->config->descriptions, full, entry->name);
}

/* ---- HeaderName and ReadmeName ------------------------------------------------ */

typedef enum { INSERT_NONE, INSERT_HTML, INSERT_TEXT } insert_kind;

/* The file name names, in the listed directory (or a URL-path through the
 * server's mapping), if it is a regular file of a text type. */
static insert_kind read_insert(request *r, int directory_fd, const char *name, char **content, size_t *length)
{
    if (!name)
        return INSERT_NONE;
    /* As Apache's sub-request: a file its <Files>, Require or Order/Deny
     * refuse to a client is not shown in the listing either. */
    size_t path_length = strlen(r->path);
    const char *url = name[0] == '/' ? name
                      : pool_printf(r->pool, "%s%s%s", r->path,
                                    path_length && r->path[path_length - 1] == '/' ? "" : "/", name);
    request_mapping previous;
    if (request_lookup(r, url, &previous) != WEFT_OK)
        return INSERT_NONE;
    request_restore(r, &previous);
    int fd;
    const char *type_path = name;
    if (name[0] == '/') {
        char *path = request_map_path(r, name);
        if (!path)
            return INSERT_NONE;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        type_path = path;
    } else {
        if (strstr(name, "..") || strchr(name, '/'))
            return INSERT_NONE;
        fd = openat(directory_fd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    }
    if (fd < 0)
        return INSERT_NONE;
    struct stat info;
    const char *type = mime_type_for_path(r->server, r->dir, type_path);
    insert_kind kind = !type                                  ? INSERT_NONE
                       : strncasecmp(type, "text/html", 9) == 0 ? INSERT_HTML
                       : strncasecmp(type, "text/", 5) == 0    ? INSERT_TEXT
                                                               : INSERT_NONE;
    if (kind == INSERT_NONE || fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        close(fd);
        return INSERT_NONE;
    }
    size_t size = info.st_size > INSERT_LIMIT ? INSERT_LIMIT : (size_t)info.st_size;
    char *data = pool_alloc(r->pool, size + 1);
    size_t done = 0;
    while (done < size) {
        ssize_t got = read(fd, data + done, size - done);
        if (got <= 0)
            break;
        done += (size_t)got;
    }
    close(fd);
    data[done] = '\0';
    *content = data;
    *length = done;
    return kind;
}

static void append_preamble(listing *l, const char *title)
{
    buffer_printf(l->out, "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
                          "\"http://www.w3.org/TR/html4/strict.dtd\">\n<html>\n <head>\n  <title>Index of %s</title>\n",
                  title);
    if (l->config->style_sheet)
        buffer_printf(l->out, "  <link rel=\"stylesheet\" href=\"%s\" type=\"text/css\">\n", l->config->style_sheet);
    if (l->config->head_insert)
        buffer_printf(l->out, "%s\n", l->config->head_insert);
    buffer_append_string(l->out, " </head>\n <body>\n");
}

/* Apache's emit_head. */
static void emit_head(listing *l, int directory_fd, const char *title)
{
    char *content;
    size_t length;
    insert_kind kind = read_insert(l->r, directory_fd, l->config->header_name, &content, &length);
    if (kind == INSERT_HTML) {
        if (!(l->flags & INDEX_SUPPRESS_HTML_PREAMBLE))
            append_preamble(l, title);
        buffer_append(l->out, content, length);
        return;
    }
    append_preamble(l, title);
    if (kind == INSERT_TEXT) {
        buffer_append_string(l->out, "<pre>\n");
        autoindex_append_plain(l->out, content, length);
        buffer_append_string(l->out, "</pre>\n");
        return;
    }
    buffer_printf(l->out, "<h1>Index of %s</h1>\n", title);
}

/* Apache's emit_tail: the readme replaces the signature. */
static void emit_tail(listing *l, int directory_fd)
{
    char *content;
    size_t length;
    insert_kind kind = read_insert(l->r, directory_fd, l->config->readme_name, &content, &length);
    if (kind == INSERT_HTML) {
        buffer_append(l->out, content, length);
        if (l->flags & INDEX_SUPPRESS_HTML_PREAMBLE)
            return;
    } else if (kind == INSERT_TEXT) {
        buffer_append_string(l->out, "<pre>\n");
        autoindex_append_plain(l->out, content, length);
        buffer_append_string(l->out, "</pre>\n");
    } else {
        buffer_append_string(l->out, response_signature(l->r, ""));
    }
    buffer_append_string(l->out, "</body></html>\n");
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
    const autoindex_dir_config *config = module_dir_config(r->dir, &autoindex_module);
    listing_entry *entries = NULL;
    int count = read_entries(r, config, directory_fd, follow_symlinks, &entries);
    if (count < 0) {
        int error = errno;
        log_error_number(LOG_LEVEL_ERROR, error, "autoindex: cannot read directory %s", r->file_path);
        return error == EACCES ? 403 : WEFT_ERROR;
    }
    unsigned flags = autoindex_option_flags(&config->options);
    bool fancy = flags & INDEX_FANCY;
    listing l = { .r = r, .config = config, .flags = flags };

    /* The directory's path on disk without its trailing slash, for icon rules. */
    size_t path_length = strlen(r->file_path);
    while (path_length > 1 && r->file_path[path_length - 1] == '/')
        path_length--;
    const char *directory_path = pool_strndup(r->pool, r->file_path, path_length);
    if (fancy)
        for (int i = 0; i < count; i++)
            describe_entry(&l, directory_path, &entries[i]);

    sort_order order = { .column = config->sort_column ? (sort_column)config->sort_column : SORT_NAME,
                         .descending = config->sort_descending,
                         .folders_first = fancy && (flags & INDEX_FOLDERS_FIRST),
                         .ignore_case = flags & INDEX_IGNORE_CASE,
                         .version_sort = flags & INDEX_VERSION_SORT };
    if (!(flags & INDEX_IGNORE_CLIENT))
        parse_sort_query(r->query, &order);
    current_order = order;
    if (count > 1)
        qsort(entries, (size_t)count, sizeof(*entries), compare_entries);

    /* "Index of /a/b", the path without its trailing slash, as Apache. */
    size_t title_length = strlen(r->path);
    while (title_length > 1 && r->path[title_length - 1] == '/')
        title_length--;
    char *title = html_escape(r->pool, pool_strndup(r->pool, r->path, title_length));

    listing_entry parent_entry = { 0 }, *parent = NULL;
    if (title_length > 1) {
        size_t parent_length = title_length;
        while (parent_length > 0 && r->path[parent_length - 1] != '/')
            parent_length--;
        parent_entry.name = uri_escape_path(r->pool, pool_strndup(r->pool, r->path, parent_length));
        parent_entry.directory = true;
        parent_entry.size = -1;
        if (fancy) {
            parent_entry.icon = autoindex_find_rule(&config->icons, "..", NULL, true, true);
            parent_entry.alt = autoindex_find_rule(&config->icons, "..", NULL, true, false);
            if (!parent_entry.alt)
                parent_entry.alt = "PARENTDIR";
        }
        parent = &parent_entry;
    }

    buffer *out = pool_alloc(r->pool, sizeof(*out));
    buffer_init(out, 1024 + (size_t)count * (fancy ? 320 : 160));
    pool_cleanup_add(r->pool, free_buffer, out);
    l.out = out;
    emit_head(&l, directory_fd, title);
    if (!fancy)
        autoindex_plain(&l, parent, entries, count);
    else if (flags & INDEX_HTML_TABLE)
        autoindex_table(&l, &order, parent, entries, count);
    else
        autoindex_pre(&l, &order, parent, entries, count);
    emit_tail(&l, directory_fd);

    if (r->status == 0)
        r->status = 200;
    r->content_type = config->options.charset
                          ? pool_printf(r->pool, "text/html;charset=%s", config->options.charset)
                          : "text/html;charset=UTF-8";
    response_set_body_memory(r, out->data, out->length);
    return WEFT_OK;
}
