/*
 * htaccess.c — keeps .htaccess files parsed (core/htaccess.h), per child,
 * so that a request reads and parses none and stats none: Apache opens
 * every directory's file on every request.
 *
 * An entry is what one directory held for one server (virtual host) under
 * one AllowOverride: a parsed file, a broken one (its messages, logged by
 * every request that meets it, as Apache), none at all (most directories:
 * the negative entries), or "not a directory" (where the walk stops).
 *
 * Validity comes from inotify, not from looking: before a directory's file
 * is read, the directory and every directory above it are watched, and an
 * event that names the file, the directory or an entry on the way to it
 * drops the entries it concerns (a created, edited, renamed or deleted
 * .htaccess; a directory renamed, replaced or created).  Each walk first
 * reads the events already queued (one read(2) that usually returns
 * EAGAIN), so a change made before a request was sent is seen by that
 * request.  What inotify cannot see (network file systems changed from
 * another host, writes through a shared mapping) is not seen until the
 * entry is evicted or the child recycles.
 *
 * When a watch cannot be had (fs.inotify.max_user_watches reached, no
 * inotify), the entry is checked with stat(2) on every use instead: the
 * file's identity (device, inode, size, times) or its absence must be
 * unchanged, which is still no open, read or parse.
 *
 * Memory: AccessFileCacheSize bytes per child (the pools of the parsed
 * files and the entries), least recently used first out.  An entry in use
 * by a request stays alive until that request ends.  0 turns the cache
 * off: every request reads the files, as Apache.
 */
#include "../core/htaccess.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../core/server.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    int64_t cache_size;  /* AccessFileCacheSize */
} htaccess_config;

const module htaccess_module;

#define BUCKETS 1024
#define WATCH_BUCKETS 256
#define CHAIN_MAX 64             /* directories one entry watches: its own and those above */
#define WATCHES_KEPT 1024        /* unused watches are kept until there are this many */
/* On every directory of the way: an entry created, deleted or renamed
 * (a directory swapped, a file appearing where the walk stopped); on the
 * directory whose file it is, also a file's contents or permissions (the
 * .htaccess edited in place).  Not the latter above it: writes to the
 * files beside a site (logs) would wake the cache for nothing. */
#define PATH_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define CONTENT_EVENTS (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB)

typedef struct entry {
    struct entry *hash_next;
    struct entry *lru_newer, *lru_older;
    uint64_t hash;
    char *directory;
    const server_config *server;  /* key: the configuration it was parsed for (compared, never read) */
    char **names;                 /* its AccessFileName names, in pool */
    override_setting allowed;     /* key */
    char *const *list;            /* key */
    pool *pool;                   /* owns file */
    const htaccess_file *file;
    struct stat identity;         /* of the file read; st_ino 0 if none */
    int watches[CHAIN_MAX];
    int watch_count;              /* 0: not watched, checked with stat on every use */
    size_t bytes;
    int references;               /* the table's (while linked) and each request's */
    bool linked;
    bool stale;                   /* being read: an event concerned it meanwhile */
    struct entry *loading_next;
} entry;

/* One inotify watch: a directory some entries depend on, under each path
 * they reach it by. */
typedef struct watch {
    struct watch *next;
    int wd;
    int references;
    int path_count;
    char **paths;
} watch;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *buckets[BUCKETS];
static entry *newest, *oldest;
static size_t total_bytes;
static int64_t capacity;
static entry *loading;  /* entries being read: an event meanwhile makes them stale */
static int inotify_fd = -1;
static watch *watch_buckets[WATCH_BUCKETS];
static int watch_total;

/* ---- the table --------------------------------------------------------- */

static uint64_t hash_text(const char *text)
{
    uint64_t hash = 1469598103934665603ull;  /* FNV-1a */
    for (; *text; text++)
        hash = (hash ^ (unsigned char)*text) * 1099511628211ull;
    return hash;
}

static void lru_unlink(entry *e)
{
    if (e->lru_newer)
        e->lru_newer->lru_older = e->lru_older;
    else
        newest = e->lru_older;
    if (e->lru_older)
        e->lru_older->lru_newer = e->lru_newer;
    else
        oldest = e->lru_newer;
    e->lru_newer = e->lru_older = NULL;
}

static void lru_push(entry *e)
{
    e->lru_older = newest;
    e->lru_newer = NULL;
    if (newest)
        newest->lru_newer = e;
    newest = e;
    if (!oldest)
        oldest = e;
}

static watch **watch_slot(int wd)
{
    watch **link = &watch_buckets[(unsigned)wd % WATCH_BUCKETS];
    while (*link && (*link)->wd != wd)
        link = &(*link)->next;
    return link;
}

static void forget_watch(watch **link)
{
    watch *w = *link;
    *link = w->next;
    for (int i = 0; i < w->path_count; i++)
        free(w->paths[i]);
    free(w->paths);
    free(w);
    watch_total--;
}

/* The lock is held. */
static void release_watches(entry *e)
{
    for (int i = 0; i < e->watch_count; i++) {
        watch **link = watch_slot(e->watches[i]);
        if (!*link || --(*link)->references > 0 || watch_total <= WATCHES_KEPT)
            continue;
        int wd = (*link)->wd;
        forget_watch(link);
        inotify_rm_watch(inotify_fd, wd);  /* its IN_IGNORED names a watch we no longer know */
    }
    e->watch_count = 0;
}

static void destroy(entry *e)
{
    pool_destroy(e->pool);
    free(e->directory);
    free(e);
}

/* Takes e out of the table (requests using it keep it).  The lock is held;
 * returns true when the caller must destroy it after unlocking. */
static bool unlink_entry(entry *e)
{
    entry **link = &buckets[e->hash % BUCKETS];
    while (*link != e)
        link = &(*link)->hash_next;
    *link = e->hash_next;
    lru_unlink(e);
    release_watches(e);
    e->linked = false;
    total_bytes -= e->bytes;
    return --e->references == 0;
}

/* ---- watches ----------------------------------------------------------- */

/* One reference to a watch on directory, known under path.  The lock is
 * held.  -1 if there is none to be had. */
static int take_watch(const char *path, uint32_t mask)
{
    int wd = inotify_add_watch(inotify_fd, path, mask | IN_MASK_ADD);
    if (wd < 0)
        return -1;
    watch **link = watch_slot(wd);
    if (!*link) {
        watch *w = calloc(1, sizeof(*w));
        if (!w)
            return -1;
        w->wd = wd;
        *link = w;
        watch_total++;
    }
    watch *w = *link;
    bool known = false;
    for (int i = 0; i < w->path_count && !known; i++)
        known = strcmp(w->paths[i], path) == 0;
    if (!known) {
        char **paths = realloc(w->paths, sizeof(char *) * (size_t)(w->path_count + 1));
        char *copy = strdup(path);
        if (!paths || !copy) {
            free(copy);
            if (paths)
                w->paths = paths;
            return -1;
        }
        w->paths = paths;
        w->paths[w->path_count++] = copy;
    }
    w->references++;
    return wd;
}

/* Watches directory (when it is one) and every directory above it; false
 * when one could not be watched: then e keeps none.  The lock is held. */
static bool watch_chain(entry *e)
{
    if (inotify_fd < 0)
        return false;
    char path[PATH_MAX];
    size_t length = strlen(e->directory);
    if (length >= sizeof(path))
        return false;
    memcpy(path, e->directory, length + 1);
    for (bool first = true;; first = false) {
        if (e->watch_count == CHAIN_MAX)
            break;
        int wd = take_watch(path, first ? PATH_EVENTS | CONTENT_EVENTS : PATH_EVENTS);
        if (wd >= 0)
            e->watches[e->watch_count++] = wd;
        else if (!first || (errno != ENOTDIR && errno != ENOENT))
            break;  /* only the path itself may be no directory (its parent's events tell) */
        if (length <= 1)
            return true;
        char *slash = strrchr(path, '/');
        length = slash == path ? 1 : (size_t)(slash - path);
        path[length] = '\0';
    }
    release_watches(e);
    return false;
}

/* ---- events ------------------------------------------------------------ */

static bool under(const char *directory, const char *path, size_t length)
{
    if (length == 1)
        return true;  /* "/" */
    return strncmp(directory, path, length) == 0 && (directory[length] == '\0' || directory[length] == '/');
}

static bool is_access_name(const entry *e, const char *name)
{
    for (char *const *names = e->names; *names; names++)
        if (strcmp(*names, name) == 0)
            return true;
    return false;
}

/* Drops the entries of path and below; with name, those of path/name and
 * below and those of path whose file is called so (only the latter when
 * content: a file changed in place, the paths are the same).  Collects
 * the ones to destroy in *dead. */
static void invalidate(const char *path, const char *name, bool content, entry **dead)
{
    char full[PATH_MAX];
    const char *prefix = path;
    if (name) {
        if ((size_t)snprintf(full, sizeof(full), "%s%s%s", path, strcmp(path, "/") == 0 ? "" : "/", name) >= sizeof(full))
            name = NULL;  /* cannot name it: drop everything below path */
        else
            prefix = full;
    }
    size_t length = strlen(prefix);
    content = content && name;
    for (entry *e = loading; e; e = e->loading_next)
        if ((!content && under(e->directory, prefix, length))
            || (name && strcmp(e->directory, path) == 0 && is_access_name(e, name)))
            e->stale = true;
    /* Contents changed: only path's own entries can be concerned, and they
     * share a bucket. */
    entry *first = content ? buckets[hash_text(path) % BUCKETS] : oldest;
    for (entry *e = first, *next; e; e = next) {
        next = content ? e->hash_next : e->lru_newer;
        bool stale = (!content && under(e->directory, prefix, length))
            || (name && strcmp(e->directory, path) == 0 && is_access_name(e, name));
        if (stale && unlink_entry(e)) {
            e->hash_next = *dead;
            *dead = e;
        }
    }
}

static void flush_all(entry **dead)
{
    for (entry *e = loading; e; e = e->loading_next)
        e->stale = true;
    while (oldest) {
        entry *e = oldest;
        if (unlink_entry(e)) {
            e->hash_next = *dead;
            *dead = e;
        }
    }
}

/* Reads every queued event.  The lock is held. */
static void drain_locked(entry **dead)
{
    char events[32 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
        __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t got = inotify_fd >= 0 ? read(inotify_fd, events, sizeof(events)) : -1;
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return;
        for (char *p = events; p < events + got;) {
            const struct inotify_event *event = (const struct inotify_event *)p;
            p += sizeof(*event) + event->len;
            if (event->mask & IN_Q_OVERFLOW) {
                flush_all(dead);
                continue;
            }
            watch **link = watch_slot(event->wd);
            if (!*link)
                continue;
            watch *w = *link;
            bool self = event->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF);
            bool content = !(event->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO));
            for (int i = 0; i < w->path_count; i++)
                invalidate(w->paths[i], self || event->len == 0 ? NULL : event->name, content && !self, dead);
            if (event->mask & IN_IGNORED)
                forget_watch(link);  /* the kernel dropped it: its entries are gone above */
        }
    }
}

static void destroy_all(entry *dead)
{
    while (dead) {
        entry *next = dead->hash_next;
        destroy(dead);
        dead = next;
    }
}

static void drain(void)
{
    if (inotify_fd < 0)
        return;
    entry *dead = NULL;
    pthread_mutex_lock(&lock);
    drain_locked(&dead);
    pthread_mutex_unlock(&lock);
    destroy_all(dead);
}

/* ---- lookups ----------------------------------------------------------- */

static bool same_identity(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
           a->st_mode == b->st_mode;
}

/* An unwatched entry: does the directory still hold what it held? */
static bool still_same(const entry *e)
{
    const char *separator = strcmp(e->directory, "/") == 0 ? "" : "/";
    for (char *const *names = e->names; *names; names++) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof(path), "%s%s%s", e->directory, separator, *names) >= sizeof(path))
            return false;
        struct stat info;
        if (stat(path, &info) == 0)
            return e->identity.st_ino != 0 && same_identity(&info, &e->identity);
        if (errno == ENOTDIR)
            return e->file->state == HTACCESS_NOT_DIRECTORY;
        if (errno != ENOENT)
            return false;
    }
    struct stat info;
    bool directory = stat(e->directory, &info) == 0 && S_ISDIR(info.st_mode);
    return e->file->state == (directory ? HTACCESS_ABSENT : HTACCESS_NOT_DIRECTORY);
}

static void release(void *data)
{
    entry *e = data;
    pthread_mutex_lock(&lock);
    bool dead = --e->references == 0;
    pthread_mutex_unlock(&lock);
    if (dead)
        destroy(e);
}

static bool same_key(const entry *e, uint64_t hash, const char *directory, const server_config *server,
                     const override_setting *allowed, char *const *list)
{
    return e->hash == hash && e->server == server && e->list == list && e->allowed.categories == allowed->categories &&
           e->allowed.options == allowed->options && e->allowed.nonfatal == allowed->nonfatal &&
           strcmp(e->directory, directory) == 0;
}

/* The lock is held.  Over capacity: the least recently used go. */
static void evict(entry **dead)
{
    while (oldest && (int64_t)total_bytes > capacity) {
        entry *e = oldest;
        if (unlink_entry(e)) {
            e->hash_next = *dead;
            *dead = e;
        }
    }
}

static const htaccess_file *lookup(const server_config *server, const char *directory,
                                   const override_setting *allowed, char *const *list, pool *p)
{
    if (capacity <= 0)
        return htaccess_load(server, directory, allowed, list, p, NULL);
    uint64_t hash = hash_text(directory);
    entry *dead = NULL;
    pthread_mutex_lock(&lock);
    entry *e = buckets[hash % BUCKETS];
    while (e && !same_key(e, hash, directory, server, allowed, list))
        e = e->hash_next;
    if (e) {
        e->references++;
        lru_unlink(e);
        lru_push(e);
        bool watched = e->watch_count > 0;
        pthread_mutex_unlock(&lock);
        if (watched || still_same(e)) {
            pool_cleanup_add(p, release, e);
            return e->file;
        }
        pthread_mutex_lock(&lock);
        if (e->linked && unlink_entry(e))
            abort();  /* our reference is still held */
        bool gone = --e->references == 0;
        pthread_mutex_unlock(&lock);
        if (gone)
            destroy(e);
    } else {
        pthread_mutex_unlock(&lock);
    }

    e = calloc(1, sizeof(*e));
    char *copy = strdup(directory);
    if (!e || !copy) {
        free(e);
        free(copy);
        return htaccess_load(server, directory, allowed, list, p, NULL);
    }
    e->directory = copy;
    e->hash = hash;
    e->server = server;
    e->allowed = *allowed;
    e->list = list;
    e->pool = pool_create(1024);
    e->references = 1;  /* this request's */
    int name_count = 0;
    while (server->access_file_names && server->access_file_names[name_count])
        name_count++;
    e->names = pool_alloc(e->pool, sizeof(char *) * (size_t)(name_count + 1));
    for (int i = 0; i < name_count; i++)
        e->names[i] = pool_strdup(e->pool, server->access_file_names[i]);
    e->names[name_count] = NULL;
    /* Watches before reading: a change after this point is an event. */
    pthread_mutex_lock(&lock);
    bool watched = watch_chain(e);
    e->loading_next = loading;
    loading = e;
    pthread_mutex_unlock(&lock);

    e->file = htaccess_load(server, directory, allowed, list, e->pool, &e->identity);
    e->bytes = sizeof(*e) + strlen(directory) + pool_footprint(e->pool);

    pthread_mutex_lock(&lock);
    drain_locked(&dead);
    entry **link = &loading;
    while (*link != e)
        link = &(*link)->loading_next;
    *link = e->loading_next;
    bool keep = !e->stale && (int64_t)e->bytes <= capacity && (watched || e->file->state != HTACCESS_FORBIDDEN);
    if (keep) {
        entry **bucket = &buckets[hash % BUCKETS];
        e->hash_next = *bucket;
        *bucket = e;
        lru_push(e);
        e->linked = true;
        e->references++;
        total_bytes += e->bytes;
        evict(&dead);
    } else {
        release_watches(e);
    }
    pthread_mutex_unlock(&lock);
    destroy_all(dead);
    pool_cleanup_add(p, release, e);
    return e->file;
}

static const htaccess_reader cached_reader = { .begin = drain, .lookup = lookup };

/* ---- module ------------------------------------------------------------ */

static int post_config(config_parse *parse, server_config *server)
{
    const htaccess_config *config = module_server_config(server, &htaccess_module);
    capacity = config->cache_size;
    htaccess_set_reader(capacity > 0 ? &cached_reader : NULL);
    return WEFT_OK;
}

static int event_fd(const server_config *server)
{
    if (capacity <= 0)
        return -1;
    pthread_mutex_lock(&lock);
    if (inotify_fd < 0)
        inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    int fd = inotify_fd;
    pthread_mutex_unlock(&lock);
    if (fd < 0)
        log_message(LOG_LEVEL_WARN, "inotify_init1: %s; .htaccess files are checked with stat(2) on every use",
                    strerror(errno));
    return fd;
}

static const config_directive htaccess_directives[] = {
    { .name = "AccessFileCacheSize", .contexts = CONTEXT_SERVER_ONLY, .scope = SCOPE_SERVER,
      .offset = offsetof(htaccess_config, cache_size), .size = sizeof(int64_t), .min_args = 1, .max_args = 1,
      .set = config_set_size, .default_value = "4194304", .syntax = "bytes",
      .help = "memory each child may use to keep .htaccess files parsed (and which directories have none), "
              "validated by inotify; 0: read every file on every request, as Apache" },
    { .name = NULL },
};

const module htaccess_module = {
    .name = "htaccess",
    .directives = htaccess_directives,
    .server_config_size = sizeof(htaccess_config),
    .post_config = post_config,
    .child_event_fd = event_fd,
    .child_event = drain,
};

#ifdef WEFT_HTACCESS_TEST_HOOKS
/* For t/unit/htaccess.c. */
static size_t htaccess_cache_bytes(void) { return total_bytes; }
static void htaccess_cache_flush(void)
{
    entry *dead = NULL;
    pthread_mutex_lock(&lock);
    flush_all(&dead);
    pthread_mutex_unlock(&lock);
    destroy_all(dead);
}
static void htaccess_cache_open_watches(void) { inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }
#endif
