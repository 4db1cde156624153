/*
 * autoindex_config.c — mod_autoindex's directives (see autoindex.h):
 * IndexIgnore, IndexOptions, AddIcon*, AddAlt*, DefaultIcon,
 * AddDescription, HeaderName, ReadmeName, IndexOrderDefault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "autoindex_internal.h"

#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(autoindex_dir_config, field), \
                         .size = sizeof(((autoindex_dir_config *)0)->field)

/* ---- IndexIgnore ---------------------------------------------------------- */

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

/* ---- IndexOptions --------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned bit;
} index_flags[] = {
    { "FancyIndexing", INDEX_FANCY },
    { "HTMLTable", INDEX_HTML_TABLE },
    { "VersionSort", INDEX_VERSION_SORT },
    { "IgnoreCase", INDEX_IGNORE_CASE },
    { "FoldersFirst", INDEX_FOLDERS_FIRST },
    { "SuppressColumnSorting", INDEX_SUPPRESS_COLUMN_SORTING },
    { "SuppressLastModified", INDEX_SUPPRESS_LAST_MODIFIED },
    { "SuppressSize", INDEX_SUPPRESS_SIZE },
    { "SuppressDescription", INDEX_SUPPRESS_DESCRIPTION },
    { "SuppressIcon", INDEX_SUPPRESS_ICON },
    { "SuppressHTMLPreamble", INDEX_SUPPRESS_HTML_PREAMBLE },
    { "SuppressRules", INDEX_SUPPRESS_RULES },
    { "IconsAreLinks", INDEX_ICONS_ARE_LINKS },
    { "IgnoreClient", INDEX_IGNORE_CLIENT },
    { "ScanHTMLTitles", INDEX_SCAN_HTML_TITLES },
    { "ShowForbidden", INDEX_SHOW_FORBIDDEN },
    { "TrackModified", INDEX_TRACK_MODIFIED },
    { "XHTML", INDEX_XHTML },
    { "AddAltClass", INDEX_ADD_ALT_CLASS },
    { "SuppressIconLinks", INDEX_SUPPRESS_ICON_LINKS },
};

/* NameWidth=n|*, DescriptionWidth=n|*; "-NameWidth" restores the default. */
static int parse_width(config_parse *parse, const char *keyword, const char *value, char sign, int *width)
{
    if (sign == '-') {
        *width = 0;
        return WEFT_OK;
    }
    if (!value)
        return config_error(parse, "IndexOptions: %s needs =n or =*", keyword);
    if (strcmp(value, "*") == 0) {
        *width = INDEX_WIDTH_AUTO;
        return WEFT_OK;
    }
    char *end;
    long number = strtol(value, &end, 10);
    /* Apache's limits: a name column narrower than 5 cannot hold "..>". */
    long minimum = strcasecmp(keyword, "NameWidth") == 0 ? 5 : 12;
    if (*end || number < minimum || number > 4096)
        return config_error(parse, "IndexOptions: %s=%s: need a number from %ld to 4096, or *", keyword,
                            value, minimum);
    *width = (int)number;
    return WEFT_OK;
}

static int parse_valued(config_parse *parse, index_options *out, const char *word, char sign)
{
    const char *equals = strchr(word, '=');
    size_t length = equals ? (size_t)(equals - word) : strlen(word);
    char *keyword = pool_strndup(config_pool(parse), word, length);
    const char *value = equals ? equals + 1 : NULL;
    if (strcasecmp(keyword, "NameWidth") == 0)
        return parse_width(parse, keyword, value, sign, &out->name_width);
    if (strcasecmp(keyword, "DescriptionWidth") == 0)
        return parse_width(parse, keyword, value, sign, &out->description_width);
    if (strcasecmp(keyword, "Charset") == 0 || strcasecmp(keyword, "Type") == 0) {
        if (!value || !*value || strpbrk(value, " \t\r\n;\""))
            return config_error(parse, "IndexOptions: %s needs =value", keyword);
        if (strcasecmp(keyword, "Charset") == 0)
            out->charset = pool_strdup(config_pool(parse), value);
        return WEFT_OK;  /* Type= is accepted: weft's listings are always HTML */
    }
    if (strcasecmp(keyword, "IconWidth") == 0 || strcasecmp(keyword, "IconHeight") == 0) {
        int number = 0;
        if (value) {
            char *end;
            long parsed = strtol(value, &end, 10);
            if (*end || parsed < 1 || parsed > 4096)
                return config_error(parse, "IndexOptions: %s=%s: need a number of pixels", keyword, value);
            number = (int)parsed;
        } else if (sign != '-') {
            number = strcasecmp(keyword, "IconWidth") == 0 ? 20 : 22;  /* Apache's icons */
        }
        *(strcasecmp(keyword, "IconWidth") == 0 ? &out->icon_width : &out->icon_height) = number;
        return WEFT_OK;
    }
    return config_error(parse, "Invalid directory indexing option '%s'", word);
}

static int parse_index_options(config_parse *parse, int argc, char **argv, index_options *out)
{
    for (int i = 0; i < argc; i++) {
        char sign = argv[i][0] == '+' || argv[i][0] == '-' ? argv[i][0] : '\0';
        const char *word = argv[i] + (sign != '\0');
        unsigned bit = 0;
        if (strcasecmp(word, "None") == 0) {
            if (sign)
                return config_error(parse, "IndexOptions: None cannot take + or -");
            bit = INDEX_NONE;
        } else {
            size_t n = 0;
            while (n < COUNT_OF(index_flags) && strcasecmp(word, index_flags[n].name) != 0)
                n++;
            if (n < COUNT_OF(index_flags))
                bit = index_flags[n].bit;
            else if (parse_valued(parse, out, word, sign) != WEFT_OK)
                return WEFT_ERROR;
        }
        if (!sign) {
            out->opts |= bit;
            out->incremented = out->decremented = 0;
        } else if (sign == '+') {
            out->incremented |= bit;
            out->decremented &= ~bit;
        } else {
            out->decremented |= bit;
            out->incremented &= ~bit;
        }
    }
    if ((out->opts & INDEX_NONE) && (out->opts & ~INDEX_NONE))
        return config_error(parse, "Cannot combine other IndexOptions keywords with 'None'");
    return WEFT_OK;
}

/* Apache's merge_autoindex_configs. */
static void combine_index_options(index_options *base, const index_options *child)
{
    if (child->opts == INDEX_NONE) {
        base->opts = INDEX_NONE;
        base->incremented = base->decremented = 0;
    } else {
        if (child->opts == 0) {
            base->incremented = (base->incremented | child->incremented) & ~child->decremented;
            base->decremented |= child->decremented;
            base->opts &= ~INDEX_NONE;
        } else {
            base->opts = child->opts;
            base->incremented = child->incremented;
            base->decremented = child->decremented;
        }
        base->opts |= base->incremented;
        base->opts &= ~base->decremented;
    }
    if (child->name_width)
        base->name_width = child->name_width;
    if (child->description_width)
        base->description_width = child->description_width;
    if (child->charset)
        base->charset = child->charset;
    if (child->icon_width)
        base->icon_width = child->icon_width;
    if (child->icon_height)
        base->icon_height = child->icon_height;
}

static int set_index_options(config_parse *parse, const config_directive *d, void *target, int argc,
                             char **argv)
{
    index_options *options = target;
    /* Lines in one place add up: start from what this section has so far. */
    index_options parsed = config_was_set_here(parse, d) ? *options : (index_options){ 0 };
    if (parse_index_options(parse, argc, argv, &parsed) != WEFT_OK)
        return WEFT_ERROR;
    *options = parsed;
    return WEFT_OK;
}

static void merge_index_options(void *merged, const void *child, pool *p)
{
    combine_index_options(merged, child);
}

unsigned autoindex_option_flags(const index_options *options)
{
    return ((options->opts | options->incremented) & ~options->decremented) & ~INDEX_NONE;
}

/* ---- AddIcon*, AddAlt*, AddDescription -------------------------------------- */

/* Sized so that icons_set_here can see the table before its definition. */
#define AUTOINDEX_ROWS 18
static const config_directive autoindex_directives[AUTOINDEX_ROWS];

/* The rows that share the `icons` field: a second one in the same section
 * appends to the section's list instead of starting a new one. */
static bool icons_set_here(config_parse *parse)
{
    for (const config_directive *d = autoindex_directives; d->name; d++)
        if (d->offset == offsetof(autoindex_dir_config, icons) && config_was_set_here(parse, d))
            return true;
    return false;
}

static void append_rule(config_parse *parse, icon_rules *list, icon_rule rule)
{
    pool *p = config_pool(parse);
    icon_rule *grown = pool_alloc(p, sizeof(*grown) * (size_t)(list->count + 1));
    if (list->count)
        memcpy(grown, list->rules, sizeof(*grown) * (size_t)list->count);
    grown[list->count] = rule;
    list->rules = grown;
    list->count++;
}

/* A name without wildcards matches at the end of the path, as in Apache
 * (".gz" is "*.gz", "README" is "*README"). */
static const char *path_pattern(config_parse *parse, const char *name)
{
    if (strpbrk(name, "*?"))
        return pool_strdup(config_pool(parse), name);
    return pool_printf(config_pool(parse), "*%s", name);
}

static int add_rules(config_parse *parse, const config_directive *d, void *target, int argc, char **argv,
                     int kind, bool alt_only)
{
    icon_rules *list = target;
    if (!icons_set_here(parse))
        *list = (icon_rules){ 0 };
    const char *icon = NULL, *alt = NULL;
    if (alt_only) {
        alt = pool_strdup(config_pool(parse), argv[0]);
    } else if (argv[0][0] == '(') {
        /* "(ALT,/icons/x.gif)" */
        const char *comma = strchr(argv[0], ',');
        size_t length = strlen(argv[0]);
        if (!comma || argv[0][length - 1] != ')')
            return config_error(parse, "%s: '%s': write (alt,icon-url) or icon-url", d->name, argv[0]);
        alt = pool_strndup(config_pool(parse), argv[0] + 1, (size_t)(comma - argv[0] - 1));
        icon = pool_strndup(config_pool(parse), comma + 1, (size_t)(argv[0] + length - 1 - comma - 1));
    } else {
        icon = pool_strdup(config_pool(parse), argv[0]);
    }
    for (int i = 1; i < argc; i++) {
        const char *pattern = kind == ICON_BY_PATH ? path_pattern(parse, argv[i])
                                                   : pool_strdup(config_pool(parse), argv[i]);
        append_rule(parse, list, (icon_rule){ kind, pattern, icon, alt });
    }
    return WEFT_OK;
}

static int set_add_icon(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    return add_rules(parse, d, target, argc, argv, ICON_BY_PATH, false);
}

static int set_add_icon_by_type(config_parse *parse, const config_directive *d, void *target, int argc,
                                char **argv)
{
    return add_rules(parse, d, target, argc, argv, ICON_BY_TYPE, false);
}

static int set_add_icon_by_encoding(config_parse *parse, const config_directive *d, void *target, int argc,
                                    char **argv)
{
    return add_rules(parse, d, target, argc, argv, ICON_BY_ENCODING, false);
}

static int set_add_alt(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    return add_rules(parse, d, target, argc, argv, ICON_BY_PATH, true);
}

static int set_add_alt_by_type(config_parse *parse, const config_directive *d, void *target, int argc,
                               char **argv)
{
    return add_rules(parse, d, target, argc, argv, ICON_BY_TYPE, true);
}

static int set_add_alt_by_encoding(config_parse *parse, const config_directive *d, void *target, int argc,
                                   char **argv)
{
    return add_rules(parse, d, target, argc, argv, ICON_BY_ENCODING, true);
}

/* The section's rules, then the inherited ones (Apache's order). */
static void merge_icons(void *merged, const void *child, pool *p)
{
    icon_rules *base = merged;
    const icon_rules *added = child;
    if (!base->count || !added->count) {
        if (added->count)
            *base = *added;
        return;
    }
    icon_rule *combined = pool_alloc(p, sizeof(*combined) * (size_t)(base->count + added->count));
    memcpy(combined, added->rules, sizeof(*combined) * (size_t)added->count);
    memcpy(combined + added->count, base->rules, sizeof(*combined) * (size_t)base->count);
    *base = (icon_rules){ combined, base->count + added->count };
}

static int set_add_description(config_parse *parse, const config_directive *d, void *target, int argc,
                               char **argv)
{
    description_rules *list = target;
    if (!config_was_set_here(parse, d))
        *list = (description_rules){ 0 };
    pool *p = config_pool(parse);
    description_rule *grown = pool_alloc(p, sizeof(*grown) * (size_t)(list->count + argc - 1));
    if (list->count)
        memcpy(grown, list->rules, sizeof(*grown) * (size_t)list->count);
    for (int i = 1; i < argc; i++) {
        bool full_path = strchr(argv[i], '/') != NULL;
        grown[list->count++] = (description_rule){ .pattern = pool_strdup(p, argv[i]),
                                                   .text = pool_strdup(p, argv[0]),
                                                   .wildcards = full_path || strpbrk(argv[i], "*?[") != NULL,
                                                   .full_path = full_path };
    }
    list->rules = grown;
    return WEFT_OK;
}

static void merge_descriptions(void *merged, const void *child, pool *p)
{
    description_rules *base = merged;
    const description_rules *added = child;
    if (!base->count || !added->count) {
        if (added->count)
            *base = *added;
        return;
    }
    description_rule *combined = pool_alloc(p, sizeof(*combined) * (size_t)(base->count + added->count));
    memcpy(combined, added->rules, sizeof(*combined) * (size_t)added->count);
    memcpy(combined + added->count, base->rules, sizeof(*combined) * (size_t)base->count);
    *base = (description_rules){ combined, base->count + added->count };
}

/* ---- IndexOrderDefault ------------------------------------------------------ */

static int set_order_default(config_parse *parse, const config_directive *d, void *target, int argc,
                             char **argv)
{
    autoindex_dir_config *config = (autoindex_dir_config *)((char *)target - d->offset);
    static const struct {
        const char *name;
        char column;
    } columns[] = { { "Name", 'N' }, { "Date", 'M' }, { "Size", 'S' }, { "Description", 'D' } };
    bool descending = strcasecmp(argv[0], "Descending") == 0;
    if (!descending && strcasecmp(argv[0], "Ascending") != 0)
        return config_error(parse, "IndexOrderDefault: first argument must be Ascending or Descending");
    for (size_t i = 0; i < COUNT_OF(columns); i++) {
        if (strcasecmp(argv[1], columns[i].name) == 0) {
            config->sort_column = columns[i].column;
            config->sort_descending = descending;
            return WEFT_OK;
        }
    }
    return config_error(parse, "IndexOrderDefault: second argument must be Name, Date, Size or Description");
}

static void merge_order_default(void *merged, const void *child, pool *p)
{
    autoindex_dir_config *base = (autoindex_dir_config *)((char *)merged - offsetof(autoindex_dir_config,
                                                                                     sort_column));
    const autoindex_dir_config *added =
        (const autoindex_dir_config *)((const char *)child - offsetof(autoindex_dir_config, sort_column));
    base->sort_column = added->sort_column;
    base->sort_descending = added->sort_descending;
}

/* ---- printing values back (weft -D DUMP_CONFIG) ------------------------------ */

typedef struct {
    char words[COUNT_OF(index_flags) * 2 + 8][48];
    const char *argv[COUNT_OF(index_flags) * 2 + 8];
    int argc;
} word_list;

static void add_word(word_list *list, const char *prefix, const char *name, const char *value)
{
    snprintf(list->words[list->argc], sizeof list->words[0], "%s%s%s", prefix, name, value);
    list->argv[list->argc] = list->words[list->argc];
    list->argc++;
}

static void add_flags(word_list *list, unsigned bits, const char *prefix)
{
    for (size_t i = 0; i < COUNT_OF(index_flags); i++)
        if (bits & index_flags[i].bit)
            add_word(list, prefix, index_flags[i].name, "");
}

/* Plain keywords, then the valued ones, then the signed ones: read back,
 * a plain keyword after a signed one would make it forgotten. */
static void format_index_options(FILE *out, const config_directive *d, const void *base)
{
    const index_options *options = (const index_options *)((const char *)base + d->offset);
    word_list list = { .argc = 0 };
    if (options->opts & INDEX_NONE)
        add_word(&list, "", "None", "");
    add_flags(&list, options->opts, "");
    const struct {
        const char *name;
        int value;
    } widths[] = { { "NameWidth=", options->name_width }, { "DescriptionWidth=", options->description_width },
                   { "IconWidth=", options->icon_width }, { "IconHeight=", options->icon_height } };
    for (size_t i = 0; i < COUNT_OF(widths); i++) {
        char number[16];
        snprintf(number, sizeof number, "%d", widths[i].value);
        if (widths[i].value)
            add_word(&list, "", widths[i].name, widths[i].value == INDEX_WIDTH_AUTO ? "*" : number);
    }
    if (options->charset)
        add_word(&list, "", "Charset=", options->charset);
    add_flags(&list, options->incremented, "+");
    add_flags(&list, options->decremented, "-");
    if (list.argc)
        config_dump_line(out, d, list.argc, list.argv);
}

/* All rules in their order, each under its own directive's name, from the
 * first of the rows that share the list (the order is their precedence). */
static void format_icon_rules(FILE *out, const config_directive *d, const void *base)
{
    if (strcmp(d->name, "AddIcon") != 0)
        return;
    const icon_rules *rules = (const icon_rules *)((const char *)base + d->offset);
    static const char *const names[2][3] = {
        { "AddIcon", "AddIconByType", "AddIconByEncoding" },
        { "AddAlt", "AddAltByType", "AddAltByEncoding" },
    };
    for (int i = 0; i < rules->count; i++) {
        const icon_rule *rule = &rules->rules[i];
        const char *name = names[rule->icon == NULL][rule->kind];
        const config_directive *row = d;
        while (row->name && strcmp(row->name, name) != 0)
            row++;
        if (!row->name)
            continue;
        char first[512];
        if (!rule->icon)
            snprintf(first, sizeof first, "%s", rule->alt);
        else if (rule->alt)
            snprintf(first, sizeof first, "(%s,%s)", rule->alt, rule->icon);
        else
            snprintf(first, sizeof first, "%s", rule->icon);
        const char *argv[2] = { first, rule->pattern };
        config_dump_line(out, row, 2, argv);
    }
}

static void format_descriptions(FILE *out, const config_directive *d, const void *base)
{
    const description_rules *rules = (const description_rules *)((const char *)base + d->offset);
    for (int i = 0; i < rules->count; i++) {
        const char *argv[2] = { rules->rules[i].text, rules->rules[i].pattern };
        config_dump_line(out, d, 2, argv);
    }
}

static void format_order_default(FILE *out, const config_directive *d, const void *base)
{
    const autoindex_dir_config *config = (const autoindex_dir_config *)((const char *)base + d->offset -
                                                                          offsetof(autoindex_dir_config, sort_column));
    const char *column = config->sort_column == 'M' ? "Date" : config->sort_column == 'S' ? "Size"
                         : config->sort_column == 'D' ? "Description" : "Name";
    const char *argv[2] = { config->sort_descending ? "Descending" : "Ascending", column };
    if (config->sort_column)
        config_dump_line(out, d, 2, argv);
}

/* ---- the table ---------------------------------------------------------------- */

#define ICON_ROW(directive, setter, syntax_text, help_text)                                              \
    { .name = directive, .contexts = CONTEXT_ANYWHERE, DIR_FIELD(icons), .min_args = 2,                  \
      .max_args = ARGS_UNLIMITED, .set = setter, .merge = merge_icons, .format = format_icon_rules, .syntax = syntax_text,            \
      .help = help_text, .overrides = OVERRIDE_INDEXES }

static const config_directive autoindex_directives[AUTOINDEX_ROWS] = {
    { .name = "IndexIgnore", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(index_ignore), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_index_ignore, .merge = merge_index_ignore,
      .syntax = "wildcard ...", .help = "names that directory listings leave out", .overrides = OVERRIDE_INDEXES },
    { .name = "IndexOptions", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(options), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_index_options, .merge = merge_index_options, .format = format_index_options,
      .syntax = "[+|-]option ...",
      .help = "how listings look: FancyIndexing, HTMLTable, VersionSort, IgnoreCase, FoldersFirst, "
              "Suppress*, IconsAreLinks, NameWidth=, DescriptionWidth=, Charset=, IconWidth, IconHeight "
              "(others accepted without effect)", .overrides = OVERRIDE_INDEXES },
    ICON_ROW("AddIcon", set_add_icon, "icon|(alt,icon) name ...",
             "the icon FancyIndexing shows for names ending so (or wildcards; ^^DIRECTORY^^, ^^BLANKICON^^)"),
    ICON_ROW("AddIconByType", set_add_icon_by_type, "icon|(alt,icon) media-type ...",
             "the icon for files of these media types (wildcards allowed)"),
    ICON_ROW("AddIconByEncoding", set_add_icon_by_encoding, "icon|(alt,icon) encoding ...",
             "the icon for files with these content encodings"),
    ICON_ROW("AddAlt", set_add_alt, "text name ...", "the icon's alternative text for names ending so"),
    ICON_ROW("AddAltByType", set_add_alt_by_type, "text media-type ...",
             "the icon's alternative text for these media types"),
    ICON_ROW("AddAltByEncoding", set_add_alt_by_encoding, "text encoding ...",
             "the icon's alternative text for these content encodings"),
    { .name = "DefaultIcon", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(default_icon), .min_args = 1,
      .max_args = 1, .set = config_set_string, .syntax = "url-path",
      .help = "the icon for files no AddIcon* rule matches", .overrides = OVERRIDE_INDEXES },
    { .name = "AddDescription", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(descriptions), .min_args = 2,
      .max_args = ARGS_UNLIMITED, .set = set_add_description, .merge = merge_descriptions, .format = format_descriptions,
      .syntax = "text name ...", .help = "the Description column's text for matching files (HTML allowed)",
      .overrides = OVERRIDE_INDEXES },
    { .name = "HeaderName", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(header_name), .min_args = 1,
      .max_args = 1, .set = config_set_string, .syntax = "filename|url-path",
      .help = "a file put at the top of listings (text/html as is, other text/* in <pre>)",
      .overrides = OVERRIDE_INDEXES },
    { .name = "ReadmeName", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(readme_name), .min_args = 1,
      .max_args = 1, .set = config_set_string, .syntax = "filename|url-path",
      .help = "a file put at the foot of listings (text/html as is, other text/* in <pre>)",
      .overrides = OVERRIDE_INDEXES },
    { .name = "IndexStyleSheet", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(style_sheet), .min_args = 1,
      .max_args = 1, .set = config_set_string, .syntax = "url-path",
      .help = "a style sheet the listing's head links to", .overrides = OVERRIDE_INDEXES },
    { .name = "IndexHeadInsert", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(head_insert), .min_args = 1,
      .max_args = 1, .set = config_set_string, .syntax = "\"markup\"",
      .help = "markup put into the listing's <head>", .overrides = OVERRIDE_INDEXES },
    { .name = "IndexOrderDefault", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(sort_column), .min_args = 2,
      .max_args = 2, .set = set_order_default, .merge = merge_order_default, .format = format_order_default,
      .syntax = "Ascending|Descending Name|Date|Size|Description",
      .help = "the listing's order when the query asks for none", .overrides = OVERRIDE_INDEXES },
    { .name = NULL },
};

const module autoindex_module = {
    .name = "autoindex",
    .directives = autoindex_directives,
    .dir_config_size = sizeof(autoindex_dir_config),
};
