/*
 * file_cache.h — the contents of small, hot files, kept in each child's
 * memory so that serving one costs no system call but the response's
 * writev (instead of open, fstat, sendfile and close), head and body in one.
 *
 * Correctness: an entry is only used while it is known to match the file.
 * With FileCacheWatch On (the default), inotify watches the file and every
 * directory on its path (and on the path its links resolve to); any change
 * to any of them drops the whole cache before the requests that follow it
 * are served (file_watch.h, and the child's event loop runs those events
 * first), and an entry is still checked with fstatat(2) once a second for
 * what inotify cannot see.  With FileCacheWatch Off, or when a path cannot
 * be watched, every hit is checked with fstatat() on the same path
 * (following symbolic links only when the request may): same device,
 * inode, size, modification and change times as when it was read.  Either
 * way a changed, replaced, moved or chmod-ed file misses at once and is
 * read again.  The cache never widens access: entries are only made from
 * descriptors the static handler opened under the symbolic-link rules, and
 * a hit means the path still leads to that very file.
 *
 * Directives (file_cache_module, server context):
 *   FileCacheSize bytes      per child; 0 turns the cache off (default 8M)
 *   FileCacheMaxFile bytes   largest file kept (default 64K)
 *   FileCacheWatch On|Off    inotify instead of a stat per hit (default On)
 *   CompressedCacheSize bytes  per child, for compressed variants of the
 *                            cached files (compress.h); 0 turns it off (16M)
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
/* FileCacheSize is not 0. */
bool file_cache_enabled(const server_config *server);
/* A number no other entry of this process ever has (compress_cache.c keys
 * an entry's compressed variants by it). */
uint64_t file_cache_entry_id(const file_cache_entry *entry);
/* Is the entry still in the cache (not dropped for a change or evicted)? */
bool file_cache_entry_current(const file_cache_entry *entry);
/* CompressedCacheSize: the bytes compressed variants may take (0: keep
 * none; also 0 while the file cache itself is off). */
size_t file_cache_variant_bound(const server_config *server);

#endif
