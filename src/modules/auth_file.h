/*
 * auth_file.h — AuthUserFile and AuthGroupFile, read once and kept.
 *
 * Apache's mod_authn_file and mod_authz_groupfile open and read the whole
 * file on every request.  weft reads each file once per child process and
 * keeps it parsed (sorted, looked up by binary search); a request looks at
 * the file's stat(2) at most once a second per file, and a changed file
 * (another inode, size, mtime or ctime) is read again before the answer.
 * A file that can no longer be read is an error (500, as Apache), also when
 * an older copy is kept.
 *
 * Formats, as Apache reads them: user file lines "user:hash" (the hash ends
 * at the next ':', so htdigest's "user:realm:hash" lines do not match),
 * the first line of a user wins; group file lines "group: user user ...",
 * a group may have several lines.  Blank lines and lines starting with '#'
 * are skipped, leading and trailing blanks dropped.
 *
 * Thread-safe: one lock per process, held for a lookup (a binary search and
 * a copy) or a reload.
 */
#ifndef WEFT_MODULES_AUTH_FILE_H
#define WEFT_MODULES_AUTH_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/pool.h"

/* The user's hash from the user file at path: WEFT_OK with *hash (a copy in
 * p) or NULL when the user is not there; WEFT_ERROR when the file cannot be
 * read (logged).  *generation changes whenever the file is read again (the
 * credential cache's entries of an older reading are stale). */
int auth_file_user_hash(const char *path, const char *user, pool *p, const char **hash, uint64_t *generation);

/* Is user in one of the groups (NULL-terminated) of the group file at path:
 * WEFT_OK with *member, or WEFT_ERROR when it cannot be read (logged). */
int auth_file_user_in_groups(const char *path, const char *user, char *const *groups, bool *member);

#endif
