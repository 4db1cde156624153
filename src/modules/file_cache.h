/*
 * file_cache.h — the contents of small, hot files, kept in each child's
 * memory so that serving one costs a single fstatat(2) instead of open,
 * fstat, sendfile and close, and the response goes out in one writev with
 * its head.
 *
 * Correctness: an entry is used only while fstatat() on the same path
 * (following symbolic links only when the request may) reports the same
 * device, inode, size, modification and change times as when it was read.
 * A changed, replaced, moved or chmod-ed file therefore misses at once and
 * is read again; nothing is ever stale.  The cache never widens access:
 * entries are only made from descriptors the static handler opened under
 * the symbolic-link rules, and a hit means the path still leads to that
 * very file (same device and inode).
 *
 * Directives (file_cache_module, server context):
 *   FileCacheSize bytes      per child; 0 turns the cache off (default 8M)
 *   FileCacheMaxFile bytes   largest file kept (default 64K)
 *
 * Threads of a child share one cache (a mutex around a hash table and an
 * LRU list); a response holds a reference to its entry until the request
 * pool is reset.
 */
#ifndef WEFT_MODULES_FILE_CACHE_H
#define WEFT_MODULES_FILE_CACHE_H

#include <sys/stat.h>

#include "../http/request.h"

typedef struct file_cache_entry file_cache_entry;

/* A valid entry for path, with *info its current stat, or NULL.  On
 * success the entry is referenced until r's pool is reset. */
const file_cache_entry *file_cache_lookup(request *r, const char *path, bool follow_symlinks,
                                          struct stat *info);
/* Offers the open regular file fd (with its fstat) to the cache; returns
 * the new entry (referenced for r) or NULL if it does not qualify.  The
 * caller keeps fd. */
const file_cache_entry *file_cache_insert(request *r, const char *path, bool follow_symlinks, int fd,
                                          const struct stat *info);
const char *file_cache_data(const file_cache_entry *entry);

#endif
