/*
 * autoindex_internal.h — mod_autoindex's configuration and one listing,
 * shared by the listing (autoindex.c), its layouts (autoindex_layout.c) and
 * its directives (autoindex_config.c).
 */
#ifndef WEFT_MODULES_AUTOINDEX_INTERNAL_H
#define WEFT_MODULES_AUTOINDEX_INTERNAL_H

#include "../core/module.h"
#include "../http/request.h"

/* IndexOptions keywords that are on/off flags. */
enum {
    INDEX_FANCY = 1u << 0,
    INDEX_HTML_TABLE = 1u << 1,
    INDEX_VERSION_SORT = 1u << 2,
    INDEX_IGNORE_CASE = 1u << 3,
    INDEX_FOLDERS_FIRST = 1u << 4,
    INDEX_SUPPRESS_COLUMN_SORTING = 1u << 5,
    INDEX_SUPPRESS_LAST_MODIFIED = 1u << 6,
    INDEX_SUPPRESS_SIZE = 1u << 7,
    INDEX_SUPPRESS_DESCRIPTION = 1u << 8,
    INDEX_SUPPRESS_ICON = 1u << 9,
    INDEX_SUPPRESS_HTML_PREAMBLE = 1u << 10,
    INDEX_SUPPRESS_RULES = 1u << 11,
    INDEX_ICONS_ARE_LINKS = 1u << 12,
    INDEX_IGNORE_CLIENT = 1u << 13,
    /* accepted, no effect in weft (docs/migration.md) */
    INDEX_SCAN_HTML_TITLES = 1u << 14,
    INDEX_SHOW_FORBIDDEN = 1u << 15,
    INDEX_TRACK_MODIFIED = 1u << 16,
    INDEX_XHTML = 1u << 17,
    INDEX_ADD_ALT_CLASS = 1u << 18,
    INDEX_SUPPRESS_ICON_LINKS = 1u << 19,
    INDEX_NONE = 1u << 31,  /* "IndexOptions None" */
};

#define INDEX_WIDTH_AUTO (-1)  /* NameWidth=* / DescriptionWidth=* */

/* Apache's bookkeeping, quirks included: a plain flag keyword ("A") goes
 * into opts, which then replaces what encloses the section; "+A"/"-B" go
 * into incremented/decremented, applied on top.  Any plain keyword, a
 * valued one ("Charset=X") too, forgets the +/- seen before it in the same
 * section.  The valued keywords are inherited unless set. */
typedef struct {
    unsigned opts, incremented, decremented;
    int name_width;         /* 0 = unset (23), INDEX_WIDTH_AUTO, or characters */
    int description_width;  /* the same */
    const char *charset;    /* NULL = UTF-8 */
    int icon_width, icon_height;  /* 0 = unset */
} index_options;

enum { ICON_BY_PATH, ICON_BY_TYPE, ICON_BY_ENCODING };

/* One AddIcon* or AddAlt* rule: pattern is matched (wildcards) against the
 * file's full path, media type or encoding; "^^DIRECTORY^^" and
 * "^^BLANKICON^^" stand for directories and the header's blank icon. */
typedef struct {
    int kind;
    const char *pattern;
    const char *icon;  /* NULL for AddAlt* */
    const char *alt;   /* NULL when none given */
} icon_rule;

typedef struct {
    const char *pattern;
    const char *text;
    bool wildcards;   /* else a substring of the name matches, as in Apache */
    bool full_path;   /* the pattern has a '/': matched against the full path */
} description_rule;

/* A section's rules first, then the inherited ones: the first match wins. */
typedef struct {
    const icon_rule *rules;
    int count;
} icon_rules;

typedef struct {
    const description_rule *rules;
    int count;
} description_rules;

typedef struct {
    char **index_ignore;           /* IndexIgnore wildcards, NULL-terminated */
    index_options options;         /* IndexOptions */
    icon_rules icons;              /* AddIcon, AddIconByType, AddIconByEncoding, AddAlt* */
    description_rules descriptions;  /* AddDescription */
    const char *default_icon;      /* DefaultIcon */
    const char *header_name;       /* HeaderName */
    const char *readme_name;       /* ReadmeName */
    const char *style_sheet;       /* IndexStyleSheet */
    const char *head_insert;       /* IndexHeadInsert */
    char sort_column;              /* IndexOrderDefault: 'N', 'M', 'S', 'D'; 0 = unset */
    bool sort_descending;
} autoindex_dir_config;

extern const module autoindex_module;

#define DEFAULT_WIDTH 23  /* Apache's NameWidth and DescriptionWidth */

/* ---- one listing (autoindex.c builds it, autoindex_layout.c writes it) ---- */

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

/* The first rule giving an icon (want_icon) or an alternative text that
 * matches path ("^^DIRECTORY^^", "^^BLANKICON^^", "..") or type. */
const char *autoindex_find_rule(const icon_rules *rules, const char *path, const char *type, bool path_only,
                                bool want_icon);

/* Apache's three layouts (autoindex_layout.c): FancyIndexing with
 * HTMLTable, FancyIndexing without it, and the plain list.  parent is NULL
 * at "/". */
void autoindex_table(listing *l, const sort_order *order, const listing_entry *parent,
                     const listing_entry *entries, int count);
void autoindex_pre(listing *l, const sort_order *order, const listing_entry *parent,
                   const listing_entry *entries, int count);
void autoindex_plain(listing *l, const listing_entry *parent, const listing_entry *entries, int count);

/* Text for a <pre> block: only <, > and & replaced, as Apache's. */
void autoindex_append_plain(buffer *out, const char *text, size_t length);

/* The options in effect for a merged dir (relative ones applied to the
 * default: none). */
unsigned autoindex_option_flags(const index_options *options);

#endif
