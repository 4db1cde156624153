/*
 * file_watch.c — inotify watches for the file cache (see file_watch.h).
 */
#include "file_watch.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* What changes a cached file, seen on the file itself... */
#define FILE_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVE_SELF | IN_DELETE_SELF)
/* ...and on each directory on its way: an entry added, removed or renamed
 * (the file replaced, a directory or link swapped), a permission changed. */
#define DIRECTORY_EVENTS (IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MOVE_SELF | \
                          IN_DELETE_SELF)
/* Watches nobody needs any more are kept (a flushed cache takes them again
 * at once) until there are this many watches in all. */
#define WATCHES_KEPT 1024
#define BUCKETS 256

/* A watch, and which of its events matter.  The watch on a cached file
 * itself, or on a directory reached through a link, cares about every
 * event; one on a directory above cares only about events that name the
 * entry on the way down (so files coming and going beside the path, in
 * /tmp say, do not empty the cache) and about itself. */
typedef struct watch {
    struct watch *next;
    int wd;
    int references;
    bool whole;          /* every event matters */
    int name_count;
    char **names;        /* the entries on the way down from this directory */
} watch;

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static int watch_fd = -1;
static watch *buckets[BUCKETS];
static int watch_count;

static watch **slot_of(int wd)
{
    watch **link = &buckets[(unsigned)wd % BUCKETS];
    while (*link && (*link)->wd != wd)
        link = &(*link)->next;
    return link;
}

int file_watch_open(void)
{
    pthread_mutex_lock(&watch_lock);
    if (watch_fd < 0)
        watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    int fd = watch_fd;
    pthread_mutex_unlock(&watch_lock);
    return fd;
}

static void forget(watch *w)
{
    for (int i = 0; i < w->name_count; i++)
        free(w->names[i]);
    free(w->names);
    free(w);
}

/* Marks `name` (NULL: every event) as mattering to watch wd. */
static bool note_name(int wd, const char *name)
{
    watch *w = *slot_of(wd);
    if (!w)
        return false;
    if (!name) {
        w->whole = true;
        return true;
    }
    for (int i = 0; i < w->name_count; i++)
        if (strcmp(w->names[i], name) == 0)
            return true;
    char **names = realloc(w->names, (size_t)(w->name_count + 1) * sizeof(char *));
    if (!names)
        return false;
    w->names = names;
    if (!(names[w->name_count] = strdup(name)))
        return false;
    w->name_count++;
    return true;
}

/* Does an event on watch w matter to the cache?  The lock is held. */
static bool matters(const watch *w, const struct inotify_event *event)
{
    if (w->whole || event->len == 0 || (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF)))
        return true;
    for (int i = 0; i < w->name_count; i++)
        if (strcmp(w->names[i], event->name) == 0)
            return true;
    return false;
}

/* Takes one reference to a watch on path.  The lock is held. */
static int take(const char *path, uint32_t mask)
{
    int wd = inotify_add_watch(watch_fd, path, mask | IN_MASK_ADD);
    if (wd < 0)
        return -1;
    watch **link = slot_of(wd);
    if (!*link) {
        watch *w = calloc(1, sizeof(*w));
        if (!w) {
            inotify_rm_watch(watch_fd, wd);
            return -1;
        }
        w->wd = wd;
        *link = w;
        watch_count++;
    }
    (*link)->references++;
    return wd;
}

static void give_back(int wd)
{
    watch **link = slot_of(wd);
    watch *w = *link;
    if (!w || --w->references > 0)
        return;
    if (watch_count <= WATCHES_KEPT)
        return;
    *link = w->next;
    forget(w);
    watch_count--;
    inotify_rm_watch(watch_fd, wd);  /* its IN_IGNORED then names an unknown wd: not a change */
}

/* Watches path (following links or not) and every directory above it.
 * Appends to wds; false when one could not be taken or there is no room. */
static bool watch_chain(const char *path, bool follow_symlinks, int *wds, int capacity, int *count)
{
    char copy[PATH_MAX];
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof(copy) || path[0] != '/')
        return false;
    memcpy(copy, path, length + 1);
    uint32_t mask = FILE_EVENTS | (follow_symlinks ? 0 : IN_DONT_FOLLOW);
    char name[NAME_MAX + 1];
    const char *below = NULL;  /* the entry of copy on the way down; NULL for the file itself */
    for (;;) {
        int wd = take(copy, mask);
        if (wd < 0)
            return false;
        bool seen = false;
        for (int i = 0; i < *count && !seen; i++)
            seen = wds[i] == wd;
        if (seen) {
            give_back(wd);
        } else {
            if (*count == capacity) {
                give_back(wd);
                return false;
            }
            wds[(*count)++] = wd;
        }
        if (!note_name(wd, below))
            return false;
        if (length == 1)
            return true;  /* "/" done */
        char *slash = strrchr(copy, '/');
        if (strlen(slash + 1) > NAME_MAX)
            return false;
        strcpy(name, slash + 1);
        below = name;
        length = slash == copy ? 1 : (size_t)(slash - copy);
        copy[length] = '\0';
        mask = DIRECTORY_EVENTS | IN_ONLYDIR;
    }
}

int file_watch_add(const char *path, bool follow_symlinks, int *wds, int capacity)
{
    pthread_mutex_lock(&watch_lock);
    int count = 0;
    bool ok = watch_fd >= 0 && watch_chain(path, follow_symlinks, wds, capacity, &count);
    if (ok && follow_symlinks) {
        /* Links along the path: the directories they lead to matter too. */
        char real[PATH_MAX];
        if (!realpath(path, real))
            ok = false;
        else if (strcmp(real, path) != 0)
            ok = watch_chain(real, true, wds, capacity, &count);
    }
    if (!ok) {
        for (int i = 0; i < count; i++)
            give_back(wds[i]);
        count = -1;
    }
    pthread_mutex_unlock(&watch_lock);
    return count;
}

void file_watch_release(const int *wds, int count)
{
    pthread_mutex_lock(&watch_lock);
    for (int i = 0; i < count; i++)
        give_back(wds[i]);
    pthread_mutex_unlock(&watch_lock);
}

bool file_watch_drain(void)
{
    char events[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
        __attribute__((aligned(__alignof__(struct inotify_event))));
    bool changed = false;
    pthread_mutex_lock(&watch_lock);
    for (;;) {
        ssize_t got = watch_fd >= 0 ? read(watch_fd, events, sizeof(events)) : -1;
        if (got <= 0) {
            if (got < 0 && errno == EINTR)
                continue;
            break;
        }
        for (char *p = events; p < events + got;) {
            const struct inotify_event *event = (const struct inotify_event *)p;
            p += sizeof(*event) + event->len;
            if (event->mask & IN_Q_OVERFLOW) {
                changed = true;
                continue;
            }
            watch **link = slot_of(event->wd);
            if (!*link)
                continue;  /* a watch we removed */
            if (event->mask & IN_IGNORED) {
                /* The kernel dropped the watch: its inode is gone. */
                watch *w = *link;
                *link = w->next;
                forget(w);
                watch_count--;
                changed = true;
            } else if (matters(*link, event)) {
                changed = true;
            }
        }
    }
    pthread_mutex_unlock(&watch_lock);
    return changed;
}
