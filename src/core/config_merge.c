/*
 * config_merge.c — directive bookkeeping (global indices, "set" bitmaps,
 * lookup by name) and the per-request merge of <Directory>/<Location>
 * sections into one dir_config.
 */
#include "config_internal.h"
#include "module.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Filled on first use.  Configuration is loaded single-threaded, so by the
 * time worker threads call config_was_set() the table is complete and only
 * read. */
static const config_directive *directives_by_index[CONFIG_MAX_DIRECTIVES];
static int directive_total = -1;

static void index_directives(void)
{
    if (directive_total >= 0)
        return;
    int count = 0;
    for (const module *const *m = weft_modules; *m; m++) {
        for (const config_directive *d = (*m)->directives; d && d->name; d++) {
            if (count == CONFIG_MAX_DIRECTIVES) {
                fprintf(stderr, "weft: more than %d directives; raise CONFIG_MAX_DIRECTIVES\n",
                        CONFIG_MAX_DIRECTIVES);
                abort();
            }
            directives_by_index[count++] = d;
        }
    }
    directive_total = count;
}

int config_directive_count(void)
{
    index_directives();
    return directive_total;
}

const config_directive *config_directive_at(int index)
{
    index_directives();
    return index >= 0 && index < directive_total ? directives_by_index[index] : NULL;
}

int config_directive_index(const config_directive *directive)
{
    index_directives();
    for (int i = 0; i < directive_total; i++)
        if (directives_by_index[i] == directive)
            return i;
    return -1;
}

const config_directive *config_find_directive(const char *name)
{
    index_directives();
    for (int i = 0; i < directive_total; i++)
        if (strcasecmp(directives_by_index[i]->name, name) == 0)
            return directives_by_index[i];
    return NULL;
}

unsigned char *config_set_bits(void *base, config_scope scope)
{
    return scope == SCOPE_SERVER ? ((server_config *)base)->set : ((dir_config *)base)->set;
}

bool config_was_set(const void *base, const config_directive *directive)
{
    int index = config_directive_index(directive);
    if (index < 0)
        return false;
    const unsigned char *bits = config_set_bits((void *)base, directive->scope);
    return bits[index / 8] & (1u << (index % 8));
}

/* ---- per-request merge ------------------------------------------------- */

/* <Directory /a> covers /a and /a/x but not /ab: whole path segments. */
static bool directory_contains(const char *directory, const char *file_path)
{
    if (strcmp(directory, "/") == 0)
        return file_path[0] == '/';
    size_t length = strlen(directory);
    return strncmp(file_path, directory, length) == 0
        && (file_path[length] == '/' || file_path[length] == '\0');
}

/* Apache compares <Location> (non-regex) with a plain prefix, so
 * <Location /server-status> also covers /server-statusx.  We follow it
 * rather than surprise people moving configurations over. */
static bool location_matches(const char *location, const char *url_path)
{
    return strncmp(url_path, location, strlen(location)) == 0;
}

static void merge_section(dir_config *merged, const dir_config *child, pool *p)
{
    for (size_t byte = 0; byte < sizeof(child->set); byte++) {
        unsigned bits = child->set[byte];
        while (bits) {
            int bit = __builtin_ctz(bits);
            bits &= bits - 1;
            const config_directive *d = config_directive_at((int)(byte * 8) + bit);
            if (!d || d->scope != SCOPE_DIRECTORY)
                continue;
            /* merge callbacks must build new values in p, never modify
             * `merged` in place through shared pointers: the inputs are
             * the read-only configuration. */
            char *target = (char *)merged + d->offset;
            const char *source = (const char *)child + d->offset;
            if (d->merge)
                d->merge(target, source, p);
            else
                memcpy(target, source, d->size);
        }
        merged->set[byte] |= child->set[byte];
    }
}

const dir_config *config_dir_for_request(const server_config *server, const char *file_path,
                                         const char *url_path, pool *p)
{
    const config_section **matches = NULL;
    int match_count = 0;

    for (int i = 0; i < server->section_count; i++) {
        const config_section *section = &server->sections[i];
        bool applies = section->kind == SECTION_DIRECTORY
                           ? file_path && directory_contains(section->path, file_path)
                           : url_path && location_matches(section->path, url_path);
        if (!applies)
            continue;
        if (!matches)
            matches = pool_alloc(p, sizeof(*matches) * (size_t)server->section_count);
        matches[match_count++] = section;
    }
    if (match_count == 0)
        return server->root_dir;

    /* Directories, shortest (outermost) first, before all Locations; the
     * insertion sort is stable so equal paths and Locations keep file order. */
    for (int i = 1; i < match_count; i++) {
        const config_section *current = matches[i];
        int j = i;
        while (j > 0) {
            const config_section *before = matches[j - 1];
            bool out_of_order = current->kind == SECTION_DIRECTORY
                && (before->kind == SECTION_LOCATION || strlen(before->path) > strlen(current->path));
            if (!out_of_order)
                break;
            matches[j] = before;
            j--;
        }
        matches[j] = current;
    }

    dir_config *merged = pool_alloc(p, sizeof(*merged));
    *merged = *server->root_dir;
    for (int i = 0; i < match_count; i++)
        merge_section(merged, matches[i]->config, p);
    return merged;
}
