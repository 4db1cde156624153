/*
 * file_watch.h — change notification for the file cache, with inotify.
 *
 * A cached file is trusted without a stat(2) only while nothing that could
 * change what its path leads to has changed: the file itself (contents,
 * attributes, deletion, replacement), and every directory on the way to it
 * (an entry created, deleted, renamed, or a permission changed), along the
 * path as written and, when symbolic links are followed, along the path
 * they resolve to.  file_watch_add() puts inotify watches on all of them;
 * any event on any watch makes file_watch_drain() report a change, and the
 * cache then drops everything (coarse, but never wrong; refilling is cheap).
 *
 * inotify does not see everything: writes through a shared mapping, changes
 * made by another host to a network file system, a mount over a watched
 * directory.  The cache therefore still checks every entry with stat(2) at
 * least once a second (file_cache.c); those cases are seen within a second,
 * every ordinary change at once.
 *
 * One inotify instance per child process, opened in the child.  Watches are
 * reference-counted by the entries that need them.  Thread-safe.
 */
#ifndef WEFT_MODULES_FILE_WATCH_H
#define WEFT_MODULES_FILE_WATCH_H

#include <stdbool.h>

#define FILE_WATCH_MAX_PER_FILE 64  /* watches one cached file may need */

/* Opens this process's inotify instance (non-blocking); its descriptor, or
 * -1 (then nothing is watched and the cache stats every time). */
int file_watch_open(void);

/* Watches everything path depends on.  Fills wds with the watches taken
 * (each one reference) and returns their number, or -1 if the path cannot
 * be watched completely (too deep, out of watches): then nothing is kept. */
int file_watch_add(const char *path, bool follow_symlinks, int *wds, int capacity);

/* Gives back the references file_watch_add() took. */
void file_watch_release(const int *wds, int count);

/* Reads the pending events; true if any reported a change (or the event
 * queue overflowed). */
bool file_watch_drain(void);

#endif
