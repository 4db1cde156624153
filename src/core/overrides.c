/*
 * overrides.c — AllowOverride and AllowOverrideList: which directives an
 * .htaccess file (AccessFileName) may hold in a directory, as in Apache
 * 2.4.  The directory walk (config_merge.c) reads a directory's file only
 * where one of them allows something; config_htaccess.c checks each line
 * of it against the categories (a row's `overrides`) and the list.
 */
#include <string.h>
#include <strings.h>

#include "config_internal.h"
#include "htaccess.h"
#include "module.h"
#include "server.h"

typedef struct {
    override_setting allow;     /* AllowOverride */
    char **list;                /* AllowOverrideList: NULL-terminated directive names; NULL = None */
} overrides_dir_config;

const module overrides_module;

static const struct {
    const char *name;
    unsigned bits;
} categories[] = {
    { "AuthConfig", OVERRIDE_AUTHCONFIG },
    { "FileInfo", OVERRIDE_FILEINFO },
    { "Indexes", OVERRIDE_INDEXES },
    { "Limit", OVERRIDE_LIMIT },
    { "Options", OVERRIDE_OPTIONS },
    { "All", OVERRIDE_ALL },
    { "None", 0 },
};

/* Apache 2.4: only in a <Directory> without a regular expression, never
 * in <DirectoryMatch>, <Files>, <Location> or <If>. */
static bool in_plain_directory(config_parse *parse, const config_directive *d)
{
    const config_section *section = config_current_section(parse);
    if (!section || section->kind != SECTION_DIRECTORY) {
        config_error(parse, "%s is only allowed in <Directory> sections without a regular expression", d->name);
        return false;
    }
    for (int i = parse->open_count - 1; i >= 0; i--) {
        const open_section *open = &parse->open[i];
        if (open->kind == OPEN_PATH && open->section) {
            if (open->section->kind == SECTION_IF) {
                config_error(parse, "%s is not allowed in <If> sections", d->name);
                return false;
            }
            break;
        }
    }
    return true;
}

/* Options=Indexes,FollowSymLinks: the options an .htaccess Options line
 * may name; plain "Options": all of them. */
static bool parse_option_list(config_parse *parse, const char *list, unsigned *options)
{
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {
        { "All", OPTION_ALL | OPTION_MULTIVIEWS },
        { "Indexes", OPTION_INDEXES },
        { "FollowSymLinks", OPTION_FOLLOW_SYMLINKS },
        { "SymLinksIfOwnerMatch", OPTION_SYMLINKS_IF_OWNER_MATCH },
        { "ExecCGI", OPTION_EXEC_CGI },
        { "Includes", OPTION_INCLUDES },
        { "IncludesNOEXEC", OPTION_INCLUDES },
        { "MultiViews", OPTION_MULTIVIEWS },
        { "None", 0 },
    };
    *options = 0;
    while (*list) {
        size_t length = strcspn(list, ",");
        size_t n = 0;
        while (n < COUNT_OF(names) && !(strlen(names[n].name) == length && strncasecmp(list, names[n].name, length) == 0))
            n++;
        if (n == COUNT_OF(names)) {
            config_error(parse, "Illegal option %.*s in AllowOverride Options=", (int)length, list);
            return false;
        }
        *options |= names[n].bits;
        list += length + (list[length] == ',');
    }
    return true;
}

static bool parse_nonfatal(config_parse *parse, const char *value, unsigned *nonfatal)
{
    if (strcasecmp(value, "Override") == 0)
        *nonfatal |= OVERRIDE_NONFATAL_OVERRIDE;
    else if (strcasecmp(value, "Unknown") == 0)
        *nonfatal |= OVERRIDE_NONFATAL_UNKNOWN;
    else if (strcasecmp(value, "All") == 0)
        *nonfatal |= OVERRIDE_NONFATAL_OVERRIDE | OVERRIDE_NONFATAL_UNKNOWN;
    else {
        config_error(parse, "AllowOverride Nonfatal=%s: takes Override, Unknown or All", value);
        return false;
    }
    return true;
}

static int set_allow_override(config_parse *parse, const config_directive *d, void *target, int argc, char **argv)
{
    if (!in_plain_directory(parse, d))
        return WEFT_ERROR;
    override_setting setting = { .options = OPTION_ALL | OPTION_MULTIVIEWS, .written = true };
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];
        if (strncasecmp(word, "Nonfatal=", 9) == 0) {
            if (!parse_nonfatal(parse, word + 9, &setting.nonfatal))
                return WEFT_ERROR;
            continue;
        }
        if (strncasecmp(word, "Options=", 8) == 0) {
            if (!parse_option_list(parse, word + 8, &setting.options))
                return WEFT_ERROR;
            setting.categories |= OVERRIDE_OPTIONS;
            continue;
        }
        size_t n = 0;
        while (n < COUNT_OF(categories) && strcasecmp(word, categories[n].name) != 0)
            n++;
        if (n == COUNT_OF(categories))
            return config_error(parse, "Illegal override option %s", word);
        /* As Apache: the words apply in order, None clears what came before. */
        if (categories[n].bits == 0)
            setting.categories = 0;
        setting.categories |= categories[n].bits;
    }
    *(override_setting *)target = setting;
    return WEFT_OK;
}

static int set_allow_override_list(config_parse *parse, const config_directive *d, void *target, int argc,
                                   char **argv)
{
    if (!in_plain_directory(parse, d))
        return WEFT_ERROR;
    if (argc == 1 && strcasecmp(argv[0], "None") == 0) {
        *(char ***)target = NULL;
        return WEFT_OK;
    }
    char **names = pool_alloc(config_pool(parse), sizeof(char *) * (size_t)(argc + 1));
    for (int i = 0; i < argc; i++) {
        if (strcasecmp(argv[i], "None") == 0)
            return config_error(parse, "AllowOverrideList None cannot be combined with directive names");
        names[i] = pool_strdup(config_pool(parse), argv[i]);
    }
    names[argc] = NULL;
    *(char ***)target = names;
    return WEFT_OK;
}

static void format_allow_override(FILE *out, const config_directive *d, const void *base)
{
    const override_setting *setting = (const override_setting *)((const char *)base + d->offset);
    if (!setting->written)
        return;
    const char *words[COUNT_OF(categories) + 2];
    int count = 0;
    if ((setting->categories & OVERRIDE_ALL) == OVERRIDE_ALL) {
        words[count++] = "All";
    } else {
        for (size_t i = 0; i < COUNT_OF(categories) && categories[i].bits != OVERRIDE_ALL; i++)
            if (categories[i].bits && (setting->categories & categories[i].bits))
                words[count++] = categories[i].name;
    }
    if (count == 0)
        words[count++] = "None";
    static const char *const nonfatal[] = { NULL, "Nonfatal=Override", "Nonfatal=Unknown", "Nonfatal=All" };
    if (setting->nonfatal & 3)
        words[count++] = nonfatal[setting->nonfatal & 3];
    config_dump_line(out, d, count, words);
}

static const config_directive override_directives[] = {
    { .name = "AllowOverride", .contexts = CONTEXT_DIRECTORY, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(overrides_dir_config, allow), .size = sizeof(override_setting), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_allow_override, .format = format_allow_override,
      .syntax = "All|None|AuthConfig|FileInfo|Indexes|Limit|Options[=option,...] ... [Nonfatal=Override|Unknown|All]",
      .help = "which categories of directives the AccessFileName (.htaccess) files of this directory and "
              "below may hold; None (the default): they are not even read" },
    { .name = "AllowOverrideList", .contexts = CONTEXT_DIRECTORY, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(overrides_dir_config, list), .size = sizeof(char **), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_allow_override_list, .format = config_format_words,
      .syntax = "None|directive ...",
      .help = "single directives .htaccess files may hold here besides AllowOverride's categories" },
    { .name = NULL },
};

/* Whether any section of a server lets .htaccess files in: a request of
 * a server where none does walks no directories (config_walk.c). */
typedef struct {
    bool any;
} overrides_server_config;

static bool sections_allow_any(const server_config *server)
{
    for (int i = 0; i < server->section_count; i++) {
        const overrides_dir_config *config = module_dir_config(server->sections[i].config, &overrides_module);
        if (config && (config->allow.categories || config->list))
            return true;
    }
    return false;
}

static int overrides_post_config(config_parse *parse, server_config *server)
{
    ((overrides_server_config *)module_server_config(server, &overrides_module))->any = sections_allow_any(server);
    return WEFT_OK;
}

static int overrides_vhost_config(config_parse *parse, const server_config *main, server_config *vhost)
{
    ((overrides_server_config *)module_server_config(vhost, &overrides_module))->any = sections_allow_any(vhost);
    return WEFT_OK;
}

const module overrides_module = {
    .name = "overrides",
    .directives = override_directives,
    .server_config_size = sizeof(overrides_server_config),
    .dir_config_size = sizeof(overrides_dir_config),
    .post_config = overrides_post_config,
    .vhost_config = overrides_vhost_config,
};

bool config_overrides_possible(const server_config *server)
{
    const overrides_server_config *config = module_server_config(server, &overrides_module);
    return config && config->any;
}

const override_setting *config_overrides_in_force(const dir_config *dir, char *const **list)
{
    static const override_setting none;
    const overrides_dir_config *config = module_dir_config(dir, &overrides_module);
    if (!config) {
        *list = NULL;
        return &none;
    }
    *list = config->list;
    return &config->allow;
}
