/*
 * config_walk.c — a request's directory configuration with the .htaccess
 * files of its path (htaccess.h), in Apache's order: per directory level
 * from "/" down, the <Directory> sections of that level, then the level's
 * file; then <DirectoryMatch>; <Files> and <FilesMatch> (the
 * configuration's, then the files'); <Location>; <If> (the
 * configuration's, then the files').
 */
#include "config_internal.h"
#include "expr.h"
#include "htaccess.h"
#include "log.h"
#include "module.h"
#include "server.h"

#include <string.h>

/* Deeper paths read no .htaccess files below this many levels (their
 * <Directory> sections still apply). */
#define WALK_LEVELS_MAX 128

static const htaccess_reader *registered_reader;

void htaccess_set_reader(const htaccess_reader *reader)
{
    registered_reader = reader;
}

static const htaccess_file *read_every_time(const server_config *server, const char *directory,
                                            const override_setting *allowed, char *const *list, pool *p)
{
    return htaccess_load(server, directory, allowed, list, p, NULL);
}

static const htaccess_reader core_reader = { .lookup = read_every_time };

typedef struct {
    const server_config *server;
    const char *file_path;
    const char *url_path;
    pool *pool;
    dir_config *merged;  /* NULL while nothing applied: root_dir */
} walk;

static void merge_into(walk *w, const dir_config *config)
{
    if (!w->merged) {
        w->merged = pool_alloc(w->pool, sizeof(*w->merged));
        config_copy_dir(w->merged, w->server->root_dir);
    }
    config_merge_dir(w->merged, config, w->pool);
}

static const dir_config *current(const walk *w)
{
    return w->merged ? w->merged : w->server->root_dir;
}

/* The files configure the server: whatever else the configuration says,
 * they are not content (Apache leaves this to <Files ".ht*">). */
static bool names_access_file(const server_config *server, const char *file_path)
{
    const char *slash = strrchr(file_path, '/');
    const char *name = slash ? slash + 1 : file_path;
    for (char *const *names = server->access_file_names; names && *names; names++)
        if (strcmp(*names, name) == 0)
            return true;
    return false;
}

static void log_lines(int level, const char *messages)
{
    while (messages && *messages) {
        size_t length = strcspn(messages, "\n");
        log_message(level, "%.*s", (int)length, messages);
        messages += length + (messages[length] == '\n');
    }
}

/* As static files see them (modules/file_open.c): a relative form applied. */
static unsigned effective_options(const dir_config *dir)
{
    const options_setting *setting = &dir->options;
    if (!setting->relative)
        return setting->value;
    return (setting->value | setting->add) & ~setting->remove;
}

/* What one level's file does to the walk: WEFT_OK, WEFT_DONE (stop
 * reading files: no directory here) or an HTTP status. */
static int apply_file(walk *w, const htaccess_file *file, const htaccess_file **applied, int *applied_count)
{
    /* Not applied through a link Options forbids (static files refuse
     * the request then), as Apache's walk, which stops there with a 403. */
    if (file->symlink && !(effective_options(current(w)) & OPTION_FOLLOW_SYMLINKS))
        return WEFT_DONE;
    switch (file->state) {
    case HTACCESS_ABSENT:
        return WEFT_OK;
    case HTACCESS_NOT_DIRECTORY:
        return WEFT_DONE;
    case HTACCESS_FORBIDDEN:
        log_lines(LOG_LEVEL_CRIT, file->messages);
        return 403;
    case HTACCESS_FAILED:
        log_lines(LOG_LEVEL_ALERT, file->messages);
        return 500;
    case HTACCESS_PARSED:
        break;
    }
    log_lines(LOG_LEVEL_WARN, file->messages);
    merge_into(w, file->directory.config);
    applied[(*applied_count)++] = file;
    return WEFT_OK;
}

static void merge_file_sections(walk *w, const htaccess_file *const *applied, int applied_count)
{
    for (int i = 0; i < applied_count; i++)
        for (int j = 0; j < applied[i]->file_count; j++)
            if (config_section_applies(applied[i]->files[j], w->file_path, w->url_path))
                merge_into(w, applied[i]->files[j]->config);
}

int config_request_dir(const server_config *server, const char *file_path, const char *url_path,
                       struct expr_context *context, pool *p, const dir_config **result)
{
    walk w = { .server = server, .file_path = file_path, .url_path = url_path, .pool = p };
    const config_section *const *order = server->merge_order;
    int count = server->section_count;
    int next = 0;
    const htaccess_file **applied = NULL;
    int applied_count = 0;

    if (file_path && file_path[0] == '/' && names_access_file(server, file_path)) {
        log_message(LOG_LEVEL_ERROR, "%s is an AccessFileName file: never served", file_path);
        return 403;
    }
    /* Without a section that lets files in, the sections merge in their
     * order below, with no walk. */
    if (file_path && file_path[0] == '/' && config_overrides_possible(server)) {
        const htaccess_reader *reader = registered_reader ? registered_reader : &core_reader;
        bool began = false, walking = true;
        size_t length = strlen(file_path);
        while (length > 1 && file_path[length - 1] == '/')
            length--;
        size_t end = 0;  /* the level's directory is file_path[0, end), "/" at level 0 */
        for (int level = 0;; level++) {
            for (; next < count && config_merge_group(order[next]) == 0 && order[next]->depth <= level; next++)
                if (config_section_applies(order[next], file_path, url_path))
                    merge_into(&w, order[next]->config);
            char *const *list = NULL;
            const override_setting *allowed = walking ? config_overrides_in_force(current(&w), &list) : NULL;
            if (allowed && (allowed->categories || list)) {
                if (!applied)
                    applied = pool_alloc(p, sizeof(*applied) * WALK_LEVELS_MAX);
                if (!began && reader->begin)
                    reader->begin();
                began = true;
                const char *directory = level == 0 ? "/" : pool_strndup(p, file_path, end);
                int rc = apply_file(&w, reader->lookup(server, directory, allowed, list, p), applied,
                                    &applied_count);
                if (rc == WEFT_DONE)
                    walking = false;
                else if (rc != WEFT_OK)
                    return rc;
            }
            if (length <= 1 || end >= length || level + 1 >= WALK_LEVELS_MAX)
                break;
            size_t following = end + 1;
            while (following < length && file_path[following] != '/')
                following++;
            end = following;
        }
    }

    bool files_merged = false;
    for (; next < count; next++) {
        const config_section *section = order[next];
        if (!files_merged && config_merge_group(section) >= 3) {
            merge_file_sections(&w, applied, applied_count);
            files_merged = true;
        }
        if (config_section_applies(section, file_path, url_path))
            merge_into(&w, section->config);
    }
    if (!files_merged)
        merge_file_sections(&w, applied, applied_count);

    const dir_config *dir = current(&w);
    if (context) {
        dir = config_merge_conditions(server, dir, file_path, url_path, context, p);
        for (int i = 0; i < applied_count; i++) {
            if (!applied[i]->condition_count)
                continue;
            dir_config *merged = config_merge_condition_list(applied[i]->conditions, applied[i]->condition_count, dir,
                                                             dir == server->root_dir, file_path, url_path, context, p);
            if (merged)
                dir = merged;
        }
    }
    *result = dir;
    return WEFT_OK;
}
