/*
 * file_open.h — how the static handler and directory listings open what a
 * request names, under the symbolic-link rules of Options (file_open.c
 * explains them).
 *
 * Contract: every function returns a descriptor opened O_RDONLY |
 * O_CLOEXEC | O_NONBLOCK | O_NOCTTY (the caller fstats it and closes it),
 * or -1 with errno set; file_status_for_open_error() turns that errno into
 * the HTTP status to answer.
 */
#ifndef WEFT_MODULES_FILE_OPEN_H
#define WEFT_MODULES_FILE_OPEN_H

#include "../core/server.h"
#include "../http/request.h"

#define FILE_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* Options in force for dir, with a relative form applied (0 for NULL). */
unsigned file_effective_options(const dir_config *dir);

/* Opens file_path, an absolute path; without follow_symlinks no symbolic
 * link below DocumentRoot (below "/" for paths outside it) is followed. */
int file_open_path(request *r, const char *file_path, bool follow_symlinks);

/* Opens name (no '/') in an open directory, with the same rule. */
int file_open_in_directory(int directory_fd, const char *name, bool follow_symlinks);

/* 404, 403, or WEFT_ERROR (logged) for an errno of the functions above. */
int file_status_for_open_error(int error, const char *path);

#endif
