/*
 * config_dump.c — the configuration printed back from the directive tables
 * (contract in config.h): `weft -D DUMP_CONFIG` and `weft -D
 * DUMP_DIRECTIVES`.
 *
 * A row prints through its own formatter when it has one; the generic
 * setters' rows print here by the field type their setter implies.  A row
 * with a custom setter and no formatter cannot be printed faithfully: it
 * shows as a comment, its default if it was not set.  The output is itself a
 * configuration (comments aside), so `weft -D DUMP_CONFIG > x.conf; weft -t
 * -f x.conf` reads back the same values.
 */
#include "config_internal.h"
#include "module.h"
#include "server.h"
#include "vhost.h"

#include <stdlib.h>
#include <string.h>

/* ---- quoting and lines -------------------------------------------------- */

static bool needs_quotes(const char *text)
{
    return !*text || strpbrk(text, " \t\"\\#'") != NULL;
}

static void print_argument(FILE *out, const char *text)
{
    if (!needs_quotes(text)) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fputc('\\', out);
        fputc(*c, out);
    }
    fputc('"', out);
}

void config_dump_line(FILE *out, const config_directive *directive, int argc, const char *const *argv)
{
    fputs(directive->name, out);
    for (int i = 0; i < argc; i++) {
        fputc(' ', out);
        print_argument(out, argv[i]);
    }
    fputc('\n', out);
}

static const void *field_of(const config_directive *directive, const void *base)
{
    return (const char *)base + directive->offset;
}

void config_format_string(FILE *out, const config_directive *directive, const void *base)
{
    const char *value = *(char *const *)field_of(directive, base);
    if (value)
        config_dump_line(out, directive, 1, &value);
}

void config_format_words(FILE *out, const config_directive *directive, const void *base)
{
    char *const *words = *(char **const *)field_of(directive, base);
    if (!words)
        return;
    int count = 0;
    while (words[count])
        count++;
    config_dump_line(out, directive, count, (const char *const *)words);
}

/* ---- the generic setters' types ------------------------------------------- */

static bool format_generic(FILE *out, const config_directive *d, const void *base)
{
    const void *field = field_of(d, base);
    char text[64];
    const char *argument = text;
    if (d->set == config_set_flag) {
        argument = *(const bool *)field ? "On" : "Off";
    } else if (d->set == config_set_integer || d->set == config_set_seconds) {
        snprintf(text, sizeof text, "%d", *(const int *)field);
    } else if (d->set == config_set_milliseconds) {
        int milliseconds = *(const int *)field;
        if (milliseconds % 1000 == 0)
            snprintf(text, sizeof text, "%d", milliseconds / 1000);
        else
            snprintf(text, sizeof text, "%dms", milliseconds);
    } else if (d->set == config_set_size) {
        snprintf(text, sizeof text, "%lld", (long long)*(const int64_t *)field);
    } else if (d->set == config_set_string || d->set == config_set_path) {
        config_format_string(out, d, base);
        return true;
    } else if (d->set == config_set_ignored || d->set == config_set_include ||
               d->set == config_set_define) {
        return true;  /* nothing to show: ignored, or already read in place */
    } else {
        return false;
    }
    config_dump_line(out, d, 1, &argument);
    return true;
}

/* Numbers nobody set and with no default are 0, meaning "not configured";
 * a value post_config derived (MaxClients from MaxRequestWorkers) is not. */
static bool is_derived_number(const config_directive *d, const void *base)
{
    return (d->set == config_set_integer || d->set == config_set_seconds) && *(const int *)field_of(d, base) != 0;
}

/* One row's lines; has_value: the file or the defaults gave it one. */
static void format_row(FILE *out, const config_directive *d, const void *base, bool has_value)
{
    /* Formatters see the struct the row's offset points into. */
    const void *fields = config_row_base(base, d);
    if (!fields)
        return;
    if (d->format) {
        d->format(out, d, fields);
        return;
    }
    if (!has_value && !is_derived_number(d, fields))
        return;
    if (format_generic(out, d, fields))
        return;
    if (config_was_set(base, d))
        fprintf(out, "# %s: set; its value cannot be shown (no formatter)\n", d->name);
    else
        fprintf(out, "%s %s\n", d->name, d->default_value);
}

static bool row_has_value(const config_directive *d, const void *base)
{
    return config_was_set(base, d) || d->default_value != NULL;
}

/* ---- sections and virtual hosts -------------------------------------------- */

static const char *section_name(section_kind kind)
{
    switch (kind) {
    case SECTION_DIRECTORY: return "Directory";
    case SECTION_DIRECTORY_MATCH: return "DirectoryMatch";
    case SECTION_FILES: return "Files";
    case SECTION_FILES_MATCH: return "FilesMatch";
    case SECTION_LOCATION: return "Location";
    case SECTION_LOCATION_MATCH: return "LocationMatch";
    case SECTION_IF: return "If";
    }
    return NULL;
}

static void dump_sections(FILE *out, const server_config *server)
{
    for (int i = 0; i < server->section_count; i++) {
        const config_section *section = &server->sections[i];
        const char *name = section_name(section->kind);
        if (!name) {
            fprintf(out, "# a section of kind %d (%s:%d) is not shown\n", (int)section->kind,
                    section->file ? section->file : "?", section->line);
            continue;
        }
        const section_condition *condition = section->condition;
        if (condition)  /* the enclosing sections are not shown: see the file and line */
            name = !condition->expr ? "Else" : condition->continues_chain ? "ElseIf" : "If";
        fprintf(out, "\n# %s:%d\n<%s", section->file ? section->file : "?", section->line, name);
        if (!condition || condition->expr) {
            fputc(' ', out);
            print_argument(out, section->path);
        }
        fputs(">\n", out);
        for (int index = 0; index < config_directive_count(); index++) {
            const config_directive *d = config_directive_at(index);
            if (d->scope != SCOPE_DIRECTORY || !config_was_set(section->config, d))
                continue;
            fputs("    ", out);
            format_row(out, d, section->config, true);
        }
        fprintf(out, "</%s>\n", name);
    }
}

static char *format_to_string(const config_directive *d, const void *base, bool set)
{
    char *text = NULL;
    size_t length = 0;
    FILE *memory = open_memstream(&text, &length);
    if (!memory)
        return NULL;
    format_row(memory, d, base, set);
    fclose(memory);
    return text;
}

/* A virtual host: the rows a vhost may set whose value differs from the
 * main server's (its own, or computed from its own). */
static void dump_vhost(FILE *out, const server_config *main, const server_config *vhost, int number)
{
    fprintf(out, "\n# <VirtualHost> %d: %s\n", number, vhost->server_name ? vhost->server_name : "(no ServerName)");
    for (int index = 0; index < config_directive_count(); index++) {
        const config_directive *d = config_directive_at(index);
        if (d->scope != SCOPE_SERVER || !(d->contexts & CONTEXT_VHOST))
            continue;
        char *mine = format_to_string(d, vhost, row_has_value(d, vhost));
        char *theirs = format_to_string(d, main, row_has_value(d, main));
        if (mine && *mine && (!theirs || strcmp(mine, theirs) != 0)) {
            for (char *line = strtok(mine, "\n"); line; line = strtok(NULL, "\n"))
                fprintf(out, "#   %s\n", line);
        }
        free(mine);
        free(theirs);
    }
}

void config_dump(FILE *out, const server_config *server)
{
    fputs("# weft -D DUMP_CONFIG: the effective configuration, every directive with a value,\n"
          "# defaults included, in the order of the directive tables (weft -D DUMP_DIRECTIVES).\n", out);
    for (const module *const *m = weft_modules; *m; m++) {
        bool header = false;
        for (const config_directive *d = (*m)->directives; d && d->name; d++) {
            const void *base = d->scope == SCOPE_SERVER ? (const void *)server : (const void *)server->root_dir;
            char *text = format_to_string(d, base, row_has_value(d, base));
            if (text && *text) {
                if (!header)
                    fprintf(out, "\n# %s\n", (*m)->name);
                header = true;
                fputs(text, out);
            }
            free(text);
        }
    }
    dump_sections(out, server);
    for (int i = 0; i < vhost_count(server); i++)
        dump_vhost(out, server, vhost_server(server, i), i + 1);
}

/* ---- the tables themselves ----------------------------------------------------- */

/* Apache's "Override:" line: the AllowOverride categories that admit a
 * directive in .htaccess files ("All" when any of them does). */
static void print_overrides(FILE *out, unsigned overrides)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        { OVERRIDE_AUTHCONFIG, "AuthConfig" }, { OVERRIDE_FILEINFO, "FileInfo" }, { OVERRIDE_INDEXES, "Indexes" },
        { OVERRIDE_LIMIT, "Limit" },           { OVERRIDE_OPTIONS, "Options" },
    };
    if ((overrides & OVERRIDE_ALL) == OVERRIDE_ALL) {
        fputs("All", out);
        return;
    }
    bool first = true;
    for (size_t i = 0; i < COUNT_OF(names); i++) {
        if (overrides & names[i].bit) {
            fprintf(out, "%s%s", first ? "" : ", ", names[i].name);
            first = false;
        }
    }
}

static void print_contexts(FILE *out, unsigned contexts)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        { CONTEXT_SERVER, "server config" },
        { CONTEXT_VHOST, "virtual host" },
        { CONTEXT_DIRECTORY, "directory" },
        { CONTEXT_LOCATION, "location" },
    };
    bool first = true;
    for (size_t i = 0; i < COUNT_OF(names); i++) {
        if (contexts & names[i].bit) {
            fprintf(out, "%s%s", first ? "" : ", ", names[i].name);
            first = false;
        }
    }
}

/* Tabs and newlines would break the record format. */
static void print_field(FILE *out, const char *text)
{
    for (const char *c = text ? text : ""; *c; c++)
        fputc(*c == '\t' || *c == '\n' ? ' ' : *c, out);
}

void config_dump_directives(FILE *out)
{
    for (const module *const *m = weft_modules; *m; m++) {
        for (const config_directive *d = (*m)->directives; d && d->name; d++) {
            print_field(out, d->name);
            fputc('\t', out);
            print_field(out, (*m)->name);
            fputc('\t', out);
            print_contexts(out, d->contexts);
            if (d->overrides)
                fputs(", .htaccess", out);
            fputc('\t', out);
            print_field(out, d->syntax);
            fputc('\t', out);
            print_field(out, d->default_value);
            fputc('\t', out);
            print_field(out, d->help);
            fputc('\t', out);
            print_overrides(out, d->overrides);
            fputc('\n', out);
        }
    }
}
