/*
 * file_open.c — opening what a request names, safely (see file_open.h).
 *
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
#include "file_open.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

unsigned file_effective_options(const dir_config *dir)
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

int file_open_path(request *r, const char *file_path, bool follow_symlinks)
{
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

int file_status_for_open_error(int error, const char *path)
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

int file_open_in_directory(int directory_fd, const char *name, bool follow_symlinks)
{
    return follow_symlinks ? openat(directory_fd, name, FILE_OPEN_FLAGS) : open_beneath(directory_fd, name);
}
