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

#define DEFAULT_WIDTH 23         /* Apache's NameWidth and DescriptionWidth */
#define INSERT_LIMIT (1 << 20)   /* the most of a HeaderName/ReadmeName file put in a listing */

typedef struct {
    const char *name;        /* as on disk */
    const char *sort_name;   /* directories with their '/', as Apache sorts them */
    bool directory;
    int64_t size;
    time_t modified;
    const char *icon, *alt, *description;  /* FancyIndexing only */
} listing_entry;

typedef enum { SORT_NAME = 'N', SORT_MODIFIED = 'M', SORT_SIZE = 'S', SORT_DESCRIPTION = 'D' } sort_column;

typedef struct {
    sort_column column;
    bool descending;
    bool folders_first, ignore_case, version_sort;
} sort_order;

/* What one listing needs from the configuration. */
typedef struct {
    request *r;
    const autoindex_dir_config *config;
    unsigned flags;
    buffer *out;
} listing;

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
static const char *find_rule(const icon_rules *rules, const char *path, const char *type, bool path_only,
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
        entry->icon = find_rule(icons, full, NULL, true, true);
        if (!entry->icon)
            entry->icon = find_rule(icons, "^^DIRECTORY^^", NULL, true, true);
        entry->alt = find_rule(icons, full, NULL, true, false);
        if (!entry->alt)
            entry->alt = find_rule(icons, "^^DIRECTORY^^", NULL, true, false);
        if (!entry->alt)
            entry->alt = "DIR";
    } else {
        const char *type = mime_type_for_path(r->server, r->dir, entry->name);
        entry->icon = find_rule(icons, full, type, false, true);
        entry->alt = find_rule(icons, full, type, false, false);
    }
    entry->description = find_description(&l->config->descriptions, full, entry->name);
}

/* ---- output pieces --------------------------------------------------------- */

static void append_escaped(buffer *out, pool *p, const char *text)
{
    buffer_append_string(out, html_escape(p, text));
}

/* Apache's do_emit_plain: only <, > and & are replaced. */
static void append_plain(buffer *out, const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        switch (text[i]) {
        case '<': buffer_append_string(out, "&lt;"); break;
        case '>': buffer_append_string(out, "&gt;"); break;
        case '&': buffer_append_string(out, "&amp;"); break;
        default: buffer_append_char(out, text[i]); break;
        }
    }
}

/* apr_strfsize: four characters ("  6 ", "2.9K", "  - "). */
static void format_size(char out[8], int64_t size)
{
    static const char units[] = "KMGTPE";
    if (size < 0) {
        strcpy(out, "  - ");
        return;
    }
    if (size < 973) {
        snprintf(out, 8, "%3d ", (int)size);
        return;
    }
    const char *unit = units;
    for (;;) {
        int remain = (int)(size & 1023);
        size >>= 10;
        if (size >= 973) {
            unit++;
            continue;
        }
        if (size < 9 || (size == 9 && remain < 973)) {
            if ((remain = ((remain * 5) + 256) / 512) >= 10) {
                size++;
                remain = 0;
            }
            snprintf(out, 8, "%d.%d%c", (int)size, remain, *unit);
            return;
        }
        if (remain >= 512)
            size++;
        snprintf(out, 8, "%3d%c", (int)size, *unit);
        return;
    }
}

static void append_date(buffer *out, time_t when)
{
    struct tm parts;
    char text[32] = "";
    if (localtime_r(&when, &parts))
        strftime(text, sizeof text, "%Y-%m-%d %H:%M  ", &parts);
    buffer_append_string(out, text);
}

static void append_sort_link(listing *l, const sort_order *order, sort_column column, const char *label)
{
    if (l->flags & INDEX_SUPPRESS_COLUMN_SORTING) {
        buffer_append_string(l->out, label);
        return;
    }
    bool descending = order->column == column && !order->descending;
    buffer_printf(l->out, "<a href=\"?C=%c;O=%c\">%s</a>", (char)column, descending ? 'D' : 'A', label);
}

static void append_icon(listing *l, const char *icon, const char *alt_text, bool bracket)
{
    request *r = l->r;
    buffer_append_string(l->out, "<img src=\"");
    append_escaped(l->out, r->pool, icon);
    buffer_printf(l->out, bracket ? "\" alt=\"[%s]\"" : "\" alt=\"%s\"", alt_text);
    const index_options *options = &l->config->options;
    if (options->icon_width && options->icon_height)
        buffer_printf(l->out, " height=\"%d\" width=\"%d\"", options->icon_height, options->icon_width);
    buffer_append_string(l->out, ">");
}

/* An entry's link target: percent-encoded, then HTML-escaped; "./" in
 * front of a name with ':' so that it cannot read as a scheme. */
static const char *entry_href(pool *p, const listing_entry *entry)
{
    return pool_printf(p, "%s%s%s", strchr(entry->name, ':') ? "./" : "",
                       html_escape(p, uri_escape_path(p, entry->name)), entry->directory ? "/" : "");
}

/* ---- the three layouts -------------------------------------------------------- */

static void table_listing(listing *l, const sort_order *order, const listing_entry *parent,
                          const listing_entry *entries, int count)
{
    buffer *out = l->out;
    pool *p = l->r->pool;
    unsigned flags = l->flags;
    int columns = 1;
    buffer_append_string(out, "  <table>\n   <tr>");
    if (!(flags & INDEX_SUPPRESS_ICON)) {
        columns++;
        buffer_append_string(out, "<th valign=\"top\">");
        const char *blank = find_rule(&l->config->icons, "^^BLANKICON^^", NULL, true, true);
        if (blank)
            append_icon(l, blank, "[ICO]", false);
        else
            buffer_append_string(out, "&nbsp;");
        buffer_append_string(out, "</th>");
    }
    buffer_append_string(out, "<th>");
    append_sort_link(l, order, SORT_NAME, "Name");
    buffer_append_string(out, "</th>");
    if (!(flags & INDEX_SUPPRESS_LAST_MODIFIED)) {
        columns++;
        buffer_append_string(out, "<th>");
        append_sort_link(l, order, SORT_MODIFIED, "Last modified");
        buffer_append_string(out, "</th>");
    }
    if (!(flags & INDEX_SUPPRESS_SIZE)) {
        columns++;
        buffer_append_string(out, "<th>");
        append_sort_link(l, order, SORT_SIZE, "Size");
        buffer_append_string(out, "</th>");
    }
    if (!(flags & INDEX_SUPPRESS_DESCRIPTION)) {
        columns++;
        buffer_append_string(out, "<th>");
        append_sort_link(l, order, SORT_DESCRIPTION, "Description");
        buffer_append_string(out, "</th>");
    }
    char *rule = flags & INDEX_SUPPRESS_RULES ? ""
                 : pool_printf(p, "   <tr><th colspan=\"%d\"><hr></th></tr>\n", columns);
    buffer_append_string(out, "</tr>\n");
    buffer_append_string(out, rule);
    for (int i = parent ? -1 : 0; i < count; i++) {
        const listing_entry *entry = i < 0 ? parent : &entries[i];
        const char *href = i < 0 ? html_escape(p, entry->name) : entry_href(p, entry);
        const char *label = i < 0 ? "Parent Directory"
                                  : pool_printf(p, "%s%s", html_escape(p, entry->name), entry->directory ? "/" : "");
        buffer_append_string(out, "<tr>");
        if (!(flags & INDEX_SUPPRESS_ICON)) {
            buffer_append_string(out, "<td valign=\"top\">");
            const char *icon = entry->icon ? entry->icon : l->config->default_icon;
            if (flags & INDEX_ICONS_ARE_LINKS)
                buffer_printf(out, "<a href=\"%s\">", href);
            if (icon)
                append_icon(l, icon, entry->alt ? entry->alt : "   ", true);
            else
                buffer_append_string(out, "&nbsp;");
            if (flags & INDEX_ICONS_ARE_LINKS)
                buffer_append_string(out, "</a>");
            buffer_append_string(out, "</td>");
        }
        /* A NameWidth other than '*' cuts and pads the names here too. */
        int name_width = l->config->options.name_width ? l->config->options.name_width : DEFAULT_WIDTH;
        if (l->config->options.name_width == INDEX_WIDTH_AUTO) {
            buffer_printf(out, "<td><a href=\"%s\">%s</a></td>", href, label);
        } else {
            const char *name = i < 0 ? "Parent Directory" : entry->sort_name;
            int length = (int)strlen(name);
            if (length > name_width) {
                name = pool_printf(p, "%.*s..>", name_width - 3, name);
                length = name_width;
            }
            buffer_printf(out, "<td><a href=\"%s\">%s</a>%*s</td>", href, html_escape(p, name), name_width - length,
                          "");
        }
        if (!(flags & INDEX_SUPPRESS_LAST_MODIFIED)) {
            if (i < 0) {
                buffer_append_string(out, "<td>&nbsp;</td>");
            } else {
                buffer_append_string(out, "<td align=\"right\">");
                append_date(out, entry->modified);
                buffer_append_string(out, "</td>");
            }
        }
        if (!(flags & INDEX_SUPPRESS_SIZE)) {
            char size[8];
            format_size(size, entry->size);
            buffer_printf(out, "<td align=\"right\">%s</td>", size);
        }
        if (!(flags & INDEX_SUPPRESS_DESCRIPTION))
            buffer_printf(out, "<td>%s</td>", entry->description ? entry->description : "&nbsp;");
        buffer_append_string(out, "</tr>\n");
    }
    buffer_append_string(out, rule);
    buffer_append_string(out, "</table>\n");
}

/* Apache's terminate_description: at most max visible characters (a tag
 * takes none, an entity one); a longer text ends in '>' at the cut.
 * Without DescriptionWidth, the columns left out widen it. */
static const char *cut_description(pool *p, const char *text, int max)
{
    char *copy = pool_strdup(p, text);
    int x;
    for (x = 0; copy[x] && (max > 0 || copy[x] == '<'); x++) {
        if (copy[x] == '<') {
            while (copy[x] != '>') {
                if (!copy[x]) {
                    max = 0;
                    break;
                }
                x++;
            }
            if (!copy[x])
                break;
        } else if (copy[x] == '&') {
            max--;
            for (; copy[x] != ';'; x++) {
                if (!copy[x]) {
                    max = 0;
                    break;
                }
            }
            if (!copy[x])
                break;
        } else {
            max--;
        }
    }
    if (!max && copy[x] && x > 0) {
        copy[x - 1] = '>';
        copy[x] = '\0';
    }
    return copy;
}

static void pre_listing(listing *l, const sort_order *order, const listing_entry *parent,
                        const listing_entry *entries, int count)
{
    buffer *out = l->out;
    pool *p = l->r->pool;
    unsigned flags = l->flags;
    int name_width = l->config->options.name_width ? l->config->options.name_width : DEFAULT_WIDTH;
    int description_width = l->config->options.description_width;
    if (description_width == INDEX_WIDTH_AUTO) {
        description_width = DEFAULT_WIDTH;
        for (int i = 0; i < count; i++)
            if (entries[i].description && (int)strlen(entries[i].description) > description_width)
                description_width = (int)strlen(entries[i].description);
    } else if (description_width == 0) {
        description_width = DEFAULT_WIDTH + (flags & INDEX_SUPPRESS_ICON ? 6 : 0) +
                            (flags & INDEX_SUPPRESS_LAST_MODIFIED ? 19 : 0) + (flags & INDEX_SUPPRESS_SIZE ? 7 : 0);
    }
    if (name_width == INDEX_WIDTH_AUTO) {
        name_width = DEFAULT_WIDTH;
        for (int i = 0; i < count; i++) {
            int length = (int)strlen(entries[i].sort_name);
            if (length > name_width)
                name_width = length;
        }
    }
    buffer_append_string(out, "<pre>");
    if (!(flags & INDEX_SUPPRESS_ICON)) {
        const char *blank = find_rule(&l->config->icons, "^^BLANKICON^^", NULL, true, true);
        if (blank)
            append_icon(l, blank, "Icon ", false);
        else
            buffer_append_string(out, "      ");
        buffer_append_char(out, ' ');
    }
    append_sort_link(l, order, SORT_NAME, "Name");
    buffer_printf(out, "%*s ", name_width - 4, "");
    if (!(flags & INDEX_SUPPRESS_LAST_MODIFIED)) {
        append_sort_link(l, order, SORT_MODIFIED, "Last modified");
        buffer_append_string(out, "      ");
    }
    if (!(flags & INDEX_SUPPRESS_SIZE)) {
        append_sort_link(l, order, SORT_SIZE, "Size");
        buffer_append_string(out, "  ");
    }
    if (!(flags & INDEX_SUPPRESS_DESCRIPTION))
        append_sort_link(l, order, SORT_DESCRIPTION, "Description");
    buffer_append_string(out, flags & INDEX_SUPPRESS_RULES ? "\n" : "<hr>");
    for (int i = parent ? -1 : 0; i < count; i++) {
        const listing_entry *entry = i < 0 ? parent : &entries[i];
        const char *href = i < 0 ? html_escape(p, entry->name) : entry_href(p, entry);
        const char *name = i < 0 ? "Parent Directory" : entry->sort_name;
        if (!(flags & INDEX_SUPPRESS_ICON)) {
            const char *icon = entry->icon ? entry->icon : l->config->default_icon;
            if (flags & INDEX_ICONS_ARE_LINKS)
                buffer_printf(out, "<a href=\"%s\">", href);
            if (icon)
                append_icon(l, icon, entry->alt ? entry->alt : "   ", true);
            else
                buffer_append_string(out, "     ");
            buffer_append_string(out, flags & INDEX_ICONS_ARE_LINKS ? "</a> " : " ");
        }
        int length = (int)strlen(name);
        const char *shown = name;
        if (length > name_width) {
            shown = pool_printf(p, "%.*s..>", name_width - 3, name);
            length = name_width;
        }
        buffer_printf(out, "<a href=\"%s\">%s</a>%*s ", href, html_escape(p, shown), name_width - length, "");
        if (!(flags & INDEX_SUPPRESS_LAST_MODIFIED)) {
            if (i < 0)
                buffer_append_string(out, "                   ");  /* 19, as Apache */
            else
                append_date(out, entry->modified);
        }
        if (!(flags & INDEX_SUPPRESS_SIZE)) {
            char size[8];
            format_size(size, entry->size);
            buffer_append_string(out, size);
            buffer_append_string(out, "  ");
        }
        if (!(flags & INDEX_SUPPRESS_DESCRIPTION) && entry->description)
            buffer_append_string(out, cut_description(p, entry->description, description_width));
        buffer_append_char(out, '\n');
    }
    buffer_append_string(out, flags & INDEX_SUPPRESS_RULES ? "</pre>\n" : "<hr></pre>\n");
}

/* Without FancyIndexing: Apache's plain list. */
static void plain_listing(listing *l, const listing_entry *parent, const listing_entry *entries, int count)
{
    buffer *out = l->out;
    pool *p = l->r->pool;
    buffer_append_string(out, "<ul>");
    if (parent)
        buffer_printf(out, "<li><a href=\"%s\"> Parent Directory</a></li>\n", html_escape(p, parent->name));
    for (int i = 0; i < count; i++)
        buffer_printf(out, "<li><a href=\"%s\"> %s</a></li>\n", entry_href(p, &entries[i]),
                      html_escape(p, entries[i].sort_name));
    buffer_append_string(out, "</ul>\n");
}

/* ---- HeaderName and ReadmeName ------------------------------------------------ */

typedef enum { INSERT_NONE, INSERT_HTML, INSERT_TEXT } insert_kind;

/* The file name names, in the listed directory (or a URL-path through the
 * server's mapping), if it is a regular file of a text type. */
static insert_kind read_insert(request *r, int directory_fd, const char *name, char **content, size_t *length)
{
    if (!name)
        return INSERT_NONE;
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
        append_plain(l->out, content, length);
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
        append_plain(l->out, content, length);
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
            parent_entry.icon = find_rule(&config->icons, "..", NULL, true, true);
            parent_entry.alt = find_rule(&config->icons, "..", NULL, true, false);
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
        plain_listing(&l, parent, entries, count);
    else if (flags & INDEX_HTML_TABLE)
        table_listing(&l, &order, parent, entries, count);
    else
        pre_listing(&l, &order, parent, entries, count);
    emit_tail(&l, directory_fd);

    if (r->status == 0)
        r->status = 200;
    r->content_type = config->options.charset
                          ? pool_printf(r->pool, "text/html;charset=%s", config->options.charset)
                          : "text/html;charset=UTF-8";
    response_set_body_memory(r, out->data, out->length);
    return WEFT_OK;
}
