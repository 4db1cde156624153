/*
 * autoindex_layout.c — the three ways mod_autoindex writes a listing
 * (autoindex.h): Apache's table (FancyIndexing HTMLTable), its <pre>
 * layout (FancyIndexing) and its plain list, byte for byte.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../http/uri.h"
#include "autoindex_internal.h"

/* ---- output pieces --------------------------------------------------------- */

static void append_escaped(buffer *out, pool *p, const char *text)
{
    buffer_append_string(out, html_escape(p, text));
}

/* Apache's do_emit_plain: only <, > and & are replaced. */
void autoindex_append_plain(buffer *out, const char *text, size_t length)
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

void autoindex_table(listing *l, const sort_order *order, const listing_entry *parent,
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
        const char *blank = autoindex_find_rule(&l->config->icons, "^^BLANKICON^^", NULL, true, true);
        if (blank)
            append_icon(l, blank, "[ICO]", false);
        else
            buffer_append_string(out, "&nbsp;");
        buffer_append_string(out, "</th>");
    }
    /* Name always; the others unless IndexOptions suppresses them. */
    static const struct {
        unsigned suppressed_by;
        sort_column key;
        const char *title;
    } headings[] = {
        { 0, SORT_NAME, "Name" },
        { INDEX_SUPPRESS_LAST_MODIFIED, SORT_MODIFIED, "Last modified" },
        { INDEX_SUPPRESS_SIZE, SORT_SIZE, "Size" },
        { INDEX_SUPPRESS_DESCRIPTION, SORT_DESCRIPTION, "Description" },
    };
    for (size_t i = 0; i < COUNT_OF(headings); i++) {
        if (flags & headings[i].suppressed_by)
            continue;
        columns += headings[i].suppressed_by != 0;
        buffer_append_string(out, "<th>");
        append_sort_link(l, order, headings[i].key, headings[i].title);
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

void autoindex_pre(listing *l, const sort_order *order, const listing_entry *parent,
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
        const char *blank = autoindex_find_rule(&l->config->icons, "^^BLANKICON^^", NULL, true, true);
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
void autoindex_plain(listing *l, const listing_entry *parent, const listing_entry *entries, int count)
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
