/*
 * config_htaccess.c — reading one .htaccess file with the configuration
 * engine (htaccess.h): the file is a <Directory> section of its directory
 * whose lines are checked against AllowOverride and AllowOverrideList.
 * The walk that merges the files is in config_merge.c.
 */
#include "config_internal.h"
#include "htaccess.h"
#include "module.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Setters may keep state between the lines of one parse in statics (the
 * configuration is read by one thread: authz's nesting of <RequireAll>),
 * so the worker threads of a child parse one file at a time.  With the
 * cache (modules/htaccess.c) that is once per file and change. */
static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;

/* A larger file is refused (a 500): no site needs one, and each child
 * would keep it parsed. */
#define HTACCESS_SIZE_MAX (1024 * 1024)

static int directory_depth(const char *path)
{
    int depth = 0;
    if (strcmp(path, "/") != 0)
        for (const char *c = path; *c; c++)
            depth += *c == '/';
    return depth;
}

static const char *join_messages(const config_messages *messages, pool *p)
{
    if (messages->count == 0)
        return NULL;
    size_t length = 0;
    for (int i = 0; i < messages->count; i++)
        length += strlen(messages->messages[i]) + 1;
    char *text = pool_alloc(p, length);
    char *end = text;
    for (int i = 0; i < messages->count; i++) {
        size_t n = strlen(messages->messages[i]);
        memcpy(end, messages->messages[i], n);
        end[n] = '\n';
        end += n + 1;
    }
    end[-1] = '\0';
    return text;
}

htaccess_file *htaccess_parse(const server_config *server, const char *directory, const char *path,
                              const char *text, size_t length, const override_setting *allowed,
                              char *const *list, pool *p)
{
    htaccess_file *file = pool_calloc(p, sizeof(*file));
    file->path = pool_strdup(p, path);
    dir_config *dir = pool_calloc(p, sizeof(dir_config));
    config_create_module_configs(dir, SCOPE_DIRECTORY, p);
    file->directory = (config_section){
        .kind = SECTION_DIRECTORY,
        .path = pool_strdup(p, directory),
        .depth = directory_depth(directory),
        .config = dir,
        .file = file->path,
    };
    /* Sections the file opens (<Files>, <If>) are added to a server of
     * its own; what setters read of the server is the real one's. */
    server_config *own = pool_alloc(p, sizeof(*own));
    *own = *server;
    own->sections = NULL;
    own->section_count = 0;

    static const config_options no_options;
    config_messages errors = { 0 }, warnings = { 0 };
    config_parse parse = {
        .main = own,
        .server = own,
        .pool = p,
        .scratch = pool_create(4096),
        .options = &no_options,
        .errors = &errors,
        .warnings = &warnings,
        .context = CONTEXT_DIRECTORY,
        .dir = dir,
        .limit = CONFIG_METHODS_ALL,
        .counting = -1,
        .htaccess = allowed,
        .override_list = list,
    };
    /* The file reads as if inside <Directory "directory">: below the
     * parse's base, so the end of the file does not close it. */
    parse.open[0] = (open_section){
        .kind = OPEN_PATH,
        .name = "Directory",
        .section = &file->directory,
        .saved_context = CONTEXT_SERVER,
        .saved_server = own,
        .saved_dir = own->root_dir,
        .saved_limit = CONFIG_METHODS_ALL,
    };
    parse.open_count = 1;
    pthread_mutex_lock(&parse_lock);
    config_parse_text(&parse, file->path, text, length, 1);
    pthread_mutex_unlock(&parse_lock);

    file->state = errors.count ? HTACCESS_FAILED : HTACCESS_PARSED;
    file->messages = join_messages(errors.count ? &errors : &warnings, p);
    config_messages_free(&errors);
    config_messages_free(&warnings);
    pool_destroy(parse.scratch);

    int count = own->section_count;
    file->files = pool_alloc(p, sizeof(*file->files) * (size_t)(count ? count : 1));
    file->conditions = pool_alloc(p, sizeof(*file->conditions) * (size_t)(count ? count : 1));
    for (int i = 0; i < count; i++) {
        const config_section *section = &own->sections[i];
        if (section->kind == SECTION_IF)
            file->conditions[file->condition_count++] = section;
        else
            file->files[file->file_count++] = section;
    }
    return file;
}

static htaccess_file *without_file(htaccess_state state, const char *directory, const char *path,
                                   const char *message, pool *p)
{
    htaccess_file *file = pool_calloc(p, sizeof(*file));
    file->state = state;
    file->path = pool_strdup(p, path);
    file->directory = (config_section){ .kind = SECTION_DIRECTORY, .path = pool_strdup(p, directory) };
    file->messages = message ? pool_strdup(p, message) : NULL;
    return file;
}

static bool read_all(int fd, char *out, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t count = read(fd, out + done, size - done);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0)
            return false;
        done += (size_t)count;
    }
    return true;
}

static htaccess_file *find_and_parse(const server_config *server, const char *directory,
                                     const override_setting *allowed, char *const *list, pool *p,
                                     struct stat *identity);

htaccess_file *htaccess_load(const server_config *server, const char *directory, const override_setting *allowed,
                             char *const *list, pool *p, struct stat *identity)
{
    htaccess_file *file = find_and_parse(server, directory, allowed, list, p, identity);
    /* Options without FollowSymLinks: the walk must not read a file
     * through a link (config_walk.c). */
    struct stat link;
    file->symlink = file->state != HTACCESS_NOT_DIRECTORY && lstat(directory, &link) == 0 && S_ISLNK(link.st_mode);
    return file;
}

static htaccess_file *find_and_parse(const server_config *server, const char *directory,
                                     const override_setting *allowed, char *const *list, pool *p,
                                     struct stat *identity)
{
    if (identity)
        memset(identity, 0, sizeof(*identity));
    const char *separator = strcmp(directory, "/") == 0 ? "" : "/";
    char *const *names = server->access_file_names;
    const char *first = NULL;
    for (int i = 0; names && names[i]; i++) {
        char *path = pool_printf(p, "%s%s%s", directory, separator, names[i]);
        if (!first)
            first = path;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 && errno == ENOENT)
            continue;
        if (fd < 0 && errno == ENOTDIR)
            return without_file(HTACCESS_NOT_DIRECTORY, directory, path, NULL, p);
        if (fd < 0) {
            /* Apache's words: the file may hold access rules, so not
             * being able to read it refuses the request. */
            return without_file(HTACCESS_FORBIDDEN, directory, path,
                                pool_printf(p, "%s: %s: unable to check htaccess file, ensure it is readable "
                                               "and that '%s' is executable", path, strerror(errno), directory), p);
        }
        struct stat info;
        if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
            close(fd);
            return without_file(HTACCESS_FORBIDDEN, directory, path,
                                pool_printf(p, "%s: not a regular file", path), p);
        }
        if (info.st_size > HTACCESS_SIZE_MAX) {
            close(fd);
            return without_file(HTACCESS_FAILED, directory, path,
                                pool_printf(p, "%s: larger than %d bytes", path, HTACCESS_SIZE_MAX), p);
        }
        char *text = pool_alloc(p, (size_t)info.st_size + 1);
        bool ok = read_all(fd, text, (size_t)info.st_size);
        close(fd);
        if (!ok)
            return without_file(HTACCESS_FORBIDDEN, directory, path,
                                pool_printf(p, "%s: could not be read", path), p);
        text[info.st_size] = '\0';
        if (identity)
            *identity = info;
        return htaccess_parse(server, directory, path, text, (size_t)info.st_size, allowed, list, p);
    }
    /* None there: is the directory one at all?  A file or a missing
     * name ends the walk (a path's PATH_INFO part is never a directory). */
    struct stat info;
    htaccess_state state = stat(directory, &info) == 0 && S_ISDIR(info.st_mode) ? HTACCESS_ABSENT
                                                                                : HTACCESS_NOT_DIRECTORY;
    return without_file(state, directory, first ? first : directory, NULL, p);
}
