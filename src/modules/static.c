/*
 * static.c — the default handler: files under DocumentRoot for GET and HEAD.
 *
 * Safety rules:
 *  - Open first, then fstat the descriptor: never stat a name and open it
 *    afterwards, since the name may point elsewhere in between.
 *  - Without Options FollowSymLinks, no symbolic link below DocumentRoot is
 *    followed: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) relative to a
 *    descriptor of DocumentRoot lets the kernel enforce it for every path
 *    component atomically.  Kernels without openat2 get a walk, one
 *    component at a time with O_NOFOLLOW.  DocumentRoot itself may be a
 *    link: it comes from the configuration, not from the client.
 *    SymLinksIfOwnerMatch is treated as "no symlinks" (stricter, never
 *    looser, than Apache).
 *  - Files are opened O_NONBLOCK so that a FIFO below DocumentRoot cannot
 *    hang a worker in open(2); fstat then refuses it (403) like any other
 *    file that is neither regular nor a directory.  O_NOCTTY for the same
 *    reason with terminals.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#else
struct open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#endif
#ifndef SYS_openat2
#define SYS_openat2 437   /* the same number on every architecture */
#endif

#include "../core/log.h"
#include "../core/module.h"
#include "../http/request.h"
#include "../http/response.h"
#include "../http/uri.h"
#include "mime.h"

#define FILE_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* Set once the kernel says it has no openat2; a relaxed flag is enough,
 * since a thread that misses the update only pays one more ENOSYS. */
static atomic_bool openat2_missing;

/* The fallback for kernels before 5.6: each directory is opened O_PATH
 * without following, checked, and used as the base of the next step. */
static int open_by_walk(int base_fd, const char *relative)
{
    int current = base_fd;
    const char *cursor = relative;
    int result = -1;
    int error = 0;

    for (;;) {
        while (*cursor == '/')
            cursor++;
        const char *end = strchrnul(cursor, '/');
        size_t length = (size_t)(end - cursor);
        if (length == 0) {
            /* Empty relative path: the base itself is wanted. */
            result = openat(current, ".", FILE_OPEN_FLAGS);
            error = errno;
            break;
        }
        if (length > NAME_MAX) {
            error = ENAMETOOLONG;
            break;
        }
        char component[NAME_MAX + 1];
        memcpy(component, cursor, length);
        component[length] = '\0';
        /* Paths are normalised before they get here; refuse ".." anyway,
         * with the error openat2 gives for an escape. */
        if (strcmp(component, "..") == 0) {
            error = EXDEV;
            break;
        }
        const char *rest = end;
        while (*rest == '/')
            rest++;
        if (*rest == '\0') {
            /* A trailing slash means the name must be a directory. */
            int flags = FILE_OPEN_FLAGS | O_NOFOLLOW | (*end == '/' ? O_DIRECTORY : 0);
            result = openat(current, component, flags);
            error = errno;
            break;
        }
        int next = openat(current, component, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            error = errno;
            break;
        }
        struct stat info;
        if (fstat(next, &info) != 0) {
            error = errno;
            close(next);
            break;
        }
        if (!S_ISDIR(info.st_mode)) {
            error = S_ISLNK(info.st_mode) ? ELOOP : ENOTDIR;
            close(next);
            break;
        }
        if (current != base_fd)
            close(current);
        current = next;
        cursor = end;
    }
    if (current != base_fd)
        close(current);
    if (result < 0)
        errno = error;
    return result;
}

/* Opens relative (no leading slash needed) below base_fd without following
 * any symbolic link and without leaving base_fd's tree. */
static int open_beneath(int base_fd, const char *relative)
{
    if (!atomic_load_explicit(&openat2_missing, memory_order_relaxed)) {
        struct open_how how = {
            .flags = FILE_OPEN_FLAGS,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, base_fd, relative[0] ? relative : ".", &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        if (errno == ENOSYS)
            atomic_store_explicit(&openat2_missing, true, memory_order_relaxed);
        /* Container seccomp profiles of some vintages answer EPERM for
         * system calls they do not know: let the walk give the real answer. */
        else if (errno != EPERM && errno != E2BIG)
            return -1;
    }
    return open_by_walk(base_fd, relative);
}

static unsigned effective_options(const dir_config *dir)
{
    if (!dir)
        return 0;
    const options_setting *setting = &dir->options;
    /* Applying a relative form again is idempotent, so this is right
     * whether or not the merge has already folded it into value. */
    if (!setting->relative)
        return setting->value;
    return (setting->value | setting->add) & ~setting->remove;
}

/* Opens the request's file_path: a descriptor, or -1 with errno set. */
static int open_request_file(request *r, bool follow_symlinks)
{
    const char *file_path = r->file_path;
    if (follow_symlinks)
        return open(file_path, FILE_OPEN_FLAGS);

    /* The part below DocumentRoot is checked; a path outside it (an Alias,
     * later) is checked from "/" so that nothing is ever followed unchecked. */
    const char *root = r->server->document_root ? r->server->document_root : "/";
    size_t root_length = strlen(root);
    while (root_length > 0 && root[root_length - 1] == '/')
        root_length--;
    const char *relative;
    const char *base;
    if (strncmp(file_path, root, root_length) == 0 &&
        (file_path[root_length] == '/' || file_path[root_length] == '\0')) {
        base = root_length ? pool_strndup(r->pool, root, root_length) : "/";
        relative = file_path + root_length;
    } else {
        base = "/";
        relative = file_path;
    }
    while (*relative == '/')
        relative++;

    int base_fd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (base_fd < 0)
        return -1;
    int fd = open_beneath(base_fd, relative);
    int error = errno;
    close(base_fd);
    errno = error;
    return fd;
}

static int status_for_open_error(int error, const char *path)
{
    switch (error) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return 404;
    case ELOOP:
    case EXDEV:
        if (log_enabled(LOG_LEVEL_INFO))
            log_error_number(LOG_LEVEL_INFO, error,
                             "static: %s: symbolic link refused (Options lacks FollowSymLinks)",
                             path);
        return 403;
    case EACCES:
    case EPERM:
        return 403;
    default:
        log_error_number(LOG_LEVEL_ERROR, error, "static: cannot open %s", path);
        return WEFT_ERROR;
    }
}

/* Does the If-Match / If-None-Match list name etag?  Weak comparison ignores
 * W/ on both sides; strong comparison needs both tags strong (RFC 9110
 * 8.8.3.2).  Malformed members are skipped rather than fatal. */
static bool etag_list_matches(const char *list, const char *etag, bool weak_comparison)
{
    size_t etag_length = strlen(etag);
    const char *cursor = list;
    for (;;) {
        while (*cursor == ' ' || *cursor == '\t' || *cursor == ',')
            cursor++;
        if (*cursor == '\0')
            return false;
        if (*cursor == '*')
            return true;   /* "any current representation": the file exists */
        bool weak = false;
        if (cursor[0] == 'W' && cursor[1] == '/') {
            weak = true;
            cursor += 2;
        }
        if (*cursor != '"') {
            cursor += strcspn(cursor, ",");
            continue;
        }
        const char *close_quote = strchr(cursor + 1, '"');
        if (!close_quote)
            return false;
        size_t length = (size_t)(close_quote - cursor) + 1;
        if ((weak_comparison || !weak) && length == etag_length &&
            memcmp(cursor, etag, length) == 0)
            return true;
        cursor = close_quote + 1;
    }
}

/* RFC 9110 13.2.2 order.  Returns 0 (serve), 304 or 412. */
static int evaluate_preconditions(request *r, time_t modified)
{
    const char *if_match = request_header(r, "If-Match");
    if (if_match) {
        if (!etag_list_matches(if_match, r->etag, false))
            return 412;
    } else {
        /* An invalid date makes the field be ignored (13.1.4). */
        time_t unmodified_since = http_parse_date(request_header(r, "If-Unmodified-Since"));
        if (unmodified_since != -1 && modified > unmodified_since)
            return 412;
    }

    const char *if_none_match = request_header(r, "If-None-Match");
    if (if_none_match)
        return etag_list_matches(if_none_match, r->etag, true) ? 304 : 0;

    time_t modified_since = http_parse_date(request_header(r, "If-Modified-Since"));
    /* A date in the future cannot be a Last-Modified we sent: ignored, as
     * in Apache, so a client with a fast clock never gets a stale 304. */
    time_t now = r->start_seconds ? r->start_seconds : time(NULL);
    if (modified_since != -1 && modified_since <= now && modified <= modified_since)
        return 304;
    return 0;
}

/* Takes ownership of fd on every path.  type_name is the name whose
 * extension decides the Content-Type. */
static int serve_file(request *r, int fd, const struct stat *info, const char *type_name)
{
    uint64_t modified_microseconds =
        (uint64_t)info->st_mtim.tv_sec * 1000000u + (uint64_t)info->st_mtim.tv_nsec / 1000u;
    /* Apache 2.4's default FileETag "MTime Size": size-mtime, both in hex,
     * so ETags survive a move from Apache to weft. */
    r->etag = pool_printf(r->pool, "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)info->st_size,
                          modified_microseconds);
    r->last_modified = info->st_mtim.tv_sec;

    int precondition = evaluate_preconditions(r, info->st_mtim.tv_sec);
    if (precondition != 0) {
        close(fd);
        if (precondition == 412)
            return 412;
        r->status = 304;
        return WEFT_OK;
    }

    r->status = 200;
    r->content_type = mime_type_for_path(r->server, r->dir, type_name);
    response_set_body_file(r, fd, 0, (int64_t)info->st_size);
    return WEFT_OK;
}

static int redirect_to_directory(request *r)
{
    const char *host = request_header(r, "Host");
    if (!host || !*host)
        host = r->server->server_name && *r->server->server_name ? r->server->server_name
                                                                  : "localhost";
    const char *location = pool_printf(r->pool, "http://%s%s/%s%s", host,
                                       uri_escape_path(r->pool, r->path),
                                       r->query ? "?" : "", r->query ? r->query : "");
    return response_set_redirect(r, 301, location);
}

/* directory_fd is the opened directory; the caller closes it. */
static int serve_directory(request *r, int directory_fd, bool follow_symlinks)
{
    size_t path_length = strlen(r->path);
    if (path_length == 0 || r->path[path_length - 1] != '/')
        return redirect_to_directory(r);

    for (char **entry = r->dir ? r->dir->directory_index : NULL; entry && *entry; entry++) {
        const char *name = *entry;
        /* Apache also allows a URL here ("/cgi-bin/index.pl"); that needs
         * internal redirects, so such entries are skipped for now. */
        if (!*name || strchr(name, '/'))
            continue;
        int fd = follow_symlinks ? openat(directory_fd, name, FILE_OPEN_FLAGS)
                                 : open_beneath(directory_fd, name);
        if (fd < 0)
            continue;
        struct stat info;
        if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode))
            return serve_file(r, fd, &info, name);
        close(fd);
    }
    /* No index and no listings (yet): Apache answers 403 here too. */
    return 403;
}

static bool handler_is_default(const dir_config *dir)
{
    const char *handler = dir ? dir->handler : NULL;
    return !handler || strcasecmp(handler, "default-handler") == 0 ||
           strcasecmp(handler, "none") == 0;
}

static int static_handler(request *r)
{
    if (!handler_is_default(r->dir) || !r->file_path)
        return WEFT_DECLINED;
    if (r->method != HTTP_METHOD_GET && r->method != HTTP_METHOD_HEAD) {
        response_add_header(r, "Allow", "GET, HEAD, OPTIONS");
        return 405;
    }

    bool follow_symlinks = (effective_options(r->dir) & OPTION_FOLLOW_SYMLINKS) != 0;
    int fd = open_request_file(r, follow_symlinks);
    if (fd < 0)
        return status_for_open_error(errno, r->file_path);

    struct stat info;
    if (fstat(fd, &info) != 0) {
        int error = errno;
        close(fd);
        log_error_number(LOG_LEVEL_ERROR, error, "static: cannot fstat %s", r->file_path);
        return WEFT_ERROR;
    }
    if (S_ISDIR(info.st_mode)) {
        int result = serve_directory(r, fd, follow_symlinks);
        close(fd);
        return result;
    }
    size_t path_length = strlen(r->path);
    if (!S_ISREG(info.st_mode) || (path_length > 0 && r->path[path_length - 1] == '/')) {
        /* "/file.html/" names a directory that is not there. */
        bool not_found = S_ISREG(info.st_mode);
        close(fd);
        return not_found ? 404 : 403;
    }
    return serve_file(r, fd, &info, r->file_path);
}

const module static_module = {
    .name = "static",
    .directives = NULL,
    .post_config = NULL,
    .handler = static_handler,
};
