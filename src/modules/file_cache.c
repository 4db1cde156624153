/*
 * file_cache.c — see file_cache.h.
 */
#include "file_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/module.h"
#include "compress.h"
#include "file_watch.h"

/* FileCacheSize, FileCacheMaxFile (bytes; size 0 = off), FileCacheWatch */
typedef struct {
    int64_t file_cache_size;
    int64_t file_cache_max_file;
    bool file_cache_watch;  /* inotify instead of a stat per hit (file_watch.h) */
    int64_t compressed_cache_size;  /* CompressedCacheSize (compress_cache.c); 0 = off */
} file_cache_config;

extern const module file_cache_module;

static const file_cache_config *file_cache_settings(const server_config *server)
{
    return module_server_config(server, &file_cache_module);
}

bool file_cache_enabled(const server_config *server)
{
    return file_cache_settings(server)->file_cache_size > 0;
}

size_t file_cache_variant_bound(const server_config *server)
{
    const file_cache_config *settings = file_cache_settings(server);
    return settings->file_cache_size > 0 ? (size_t)settings->compressed_cache_size : 0;
}

#define BUCKETS 1024  /* power of two */

struct file_cache_entry {
    file_cache_entry *hash_next;
    file_cache_entry *lru_previous;
    file_cache_entry *lru_next;
    uint64_t hash;
    uint64_t id;               /* file_cache_entry_id */
    bool follow_symlinks;
    bool linked;               /* in the table; an unlinked entry dies with its last reference */
    int references;            /* guarded by the cache lock */
    struct stat info;          /* as when it was read (or last checked) */
    int64_t validated_ms;      /* last known to match the file (monotonic); 0: check first */
    int watch_count;           /* inotify watches it holds (file_watch.h); 0: stat every time */
    int *watches;
    char *path;
    char data[];
};

/* A watched entry is trusted without stat(2) for this long after it was
 * last known good; inotify reports ordinary changes at once, this bounds
 * what it cannot see (file_watch.h). */
#define RECHECK_MS 1000

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t change_generation;  /* counts the flushes inotify caused */
static _Atomic int draining;        /* threads reading change events right now */
static file_cache_entry *buckets[BUCKETS];
static file_cache_entry *lru_newest;
static file_cache_entry *lru_oldest;
static size_t cache_bytes;
static uint64_t last_id;

static uint64_t hash_path(const char *path, bool follow_symlinks)
{
    uint64_t hash = 1469598103934665603u ^ (uint64_t)follow_symlinks;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        hash = (hash ^ *p) * 1099511628211u;
    return hash;
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}


static size_t entry_cost(const file_cache_entry *entry)
{
    return sizeof(*entry) + (size_t)entry->info.st_size + strlen(entry->path) + 1;
}

/* The lock is held for all the list and table helpers. */
static void lru_unlink(file_cache_entry *entry)
{
    if (entry->lru_previous)
        entry->lru_previous->lru_next = entry->lru_next;
    else
        lru_newest = entry->lru_next;
    if (entry->lru_next)
        entry->lru_next->lru_previous = entry->lru_previous;
    else
        lru_oldest = entry->lru_previous;
    entry->lru_previous = entry->lru_next = NULL;
}

static void lru_push(file_cache_entry *entry)
{
    entry->lru_previous = NULL;
    entry->lru_next = lru_newest;
    if (lru_newest)
        lru_newest->lru_previous = entry;
    lru_newest = entry;
    if (!lru_oldest)
        lru_oldest = entry;
}

static void destroy(file_cache_entry *entry)
{
    file_watch_release(entry->watches, entry->watch_count);
    free(entry->watches);
    free(entry->path);
    free(entry);
}

static void unlink_entry(file_cache_entry *entry)
{
    file_cache_entry **link = &buckets[entry->hash & (BUCKETS - 1)];
    while (*link && *link != entry)
        link = &(*link)->hash_next;
    if (*link)
        *link = entry->hash_next;
    lru_unlink(entry);
    entry->linked = false;
    cache_bytes -= entry_cost(entry);
    compress_cache_forget(entry->id);  /* its compressed variants go with it */
    if (entry->references == 0)
        destroy(entry);
}

static void release(void *data)
{
    file_cache_entry *entry = data;
    pthread_mutex_lock(&cache_lock);
    bool dead = --entry->references == 0 && !entry->linked;
    pthread_mutex_unlock(&cache_lock);
    if (dead)
        destroy(entry);
}

static void reference_for(request *r, file_cache_entry *entry)
{
    entry->references++;  /* under the lock */
    pool_cleanup_add(r->pool, release, entry);
}

const file_cache_entry *file_cache_lookup(request *r, const char *path, bool follow_symlinks,
                                          struct stat *info)
{
    if (file_cache_settings(r->server)->file_cache_size == 0)
        return NULL;
    uint64_t hash = hash_path(path, follow_symlinks);
    int64_t now = monotonic_ms();
    pthread_mutex_lock(&cache_lock);
    file_cache_entry *entry = buckets[hash & (BUCKETS - 1)];
    while (entry && !(entry->hash == hash && entry->follow_symlinks == follow_symlinks &&
                      strcmp(entry->path, path) == 0))
        entry = entry->hash_next;
    if (!entry) {
        pthread_mutex_unlock(&cache_lock);
        return NULL;  /* a miss costs no system call */
    }
    entry->references++;  /* keeps it alive, also while we check it without the lock */
    if (entry->watch_count > 0 && now - entry->validated_ms < RECHECK_MS && atomic_load(&draining) == 0) {
        /* Watched and nothing reported: a hit costs no system call either. */
        *info = entry->info;
        lru_unlink(entry);
        lru_push(entry);
        pool_cleanup_add(r->pool, release, entry);
        pthread_mutex_unlock(&cache_lock);
        return entry;
    }
    pthread_mutex_unlock(&cache_lock);

    bool valid = fstatat(AT_FDCWD, path, info, follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW) == 0 &&
                 same_stat(&entry->info, info);
    pthread_mutex_lock(&cache_lock);
    if (valid && entry->linked) {
        entry->validated_ms = now;
        lru_unlink(entry);
        lru_push(entry);
        pool_cleanup_add(r->pool, release, entry);  /* the reference taken above */
        pthread_mutex_unlock(&cache_lock);
        return entry;
    }
    if (entry->linked)
        unlink_entry(entry);
    bool dead = --entry->references == 0 && !entry->linked;
    pthread_mutex_unlock(&cache_lock);
    if (dead)
        destroy(entry);
    return NULL;
}

static bool read_whole(int fd, char *out, off_t size)
{
    off_t done = 0;
    while (done < size) {
        ssize_t count = pread(fd, out + done, (size_t)(size - done), done);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0)
            return false;
        done += count;
    }
    return true;
}

const file_cache_entry *file_cache_insert(request *r, const char *path, bool follow_symlinks, int fd,
                                          const struct stat *info)
{
    const server_config *server = r->server;
    if (file_cache_settings(server)->file_cache_size == 0 || !S_ISREG(info->st_mode) || info->st_size > file_cache_settings(server)->file_cache_max_file ||
        (int64_t)info->st_size > file_cache_settings(server)->file_cache_size)
        return NULL;
    /* Watches first, then a look at the path: a change after the look is
     * reported, and one before it shows in the comparison (the path may no
     * longer lead to the file the caller opened). */
    pthread_mutex_lock(&cache_lock);
    uint64_t generation = change_generation;
    pthread_mutex_unlock(&cache_lock);
    int watches[FILE_WATCH_MAX_PER_FILE];
    int watch_count = 0;
    if (file_cache_settings(server)->file_cache_watch) {
        struct stat current;
        watch_count = file_watch_add(path, follow_symlinks, watches, FILE_WATCH_MAX_PER_FILE);
        if (watch_count < 0)
            watch_count = 0;  /* not watchable: this entry is checked with stat every time */
        else if (fstatat(AT_FDCWD, path, &current, follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW) != 0 ||
                 !same_stat(info, &current)) {
            file_watch_release(watches, watch_count);
            return NULL;
        }
    }
    file_cache_entry *entry = malloc(sizeof(*entry) + (size_t)info->st_size);
    int *kept = watch_count ? malloc((size_t)watch_count * sizeof(int)) : NULL;
    if (!entry || (watch_count && !kept)) {
        file_watch_release(watches, watch_count);
        free(entry);
        free(kept);
        return NULL;
    }
    entry->path = strdup(path);
    if (!entry->path || !read_whole(fd, entry->data, info->st_size)) {
        file_watch_release(watches, watch_count);
        free(kept);
        free(entry->path);
        free(entry);
        return NULL;
    }
    if (watch_count)
        memcpy(kept, watches, (size_t)watch_count * sizeof(int));
    entry->watches = kept;
    entry->watch_count = watch_count;
    entry->hash = hash_path(path, follow_symlinks);
    entry->follow_symlinks = follow_symlinks;
    entry->references = 0;
    entry->info = *info;

    pthread_mutex_lock(&cache_lock);
    /* A change reported since we looked may concern this file: then its
     * first use checks it with stat. */
    entry->validated_ms = change_generation == generation ? monotonic_ms() : 0;
    /* Another thread may have cached the same path meanwhile: replace it. */
    file_cache_entry **link = &buckets[entry->hash & (BUCKETS - 1)];
    for (file_cache_entry *old = *link; old; old = old->hash_next) {
        if (old->hash == entry->hash && old->follow_symlinks == follow_symlinks && strcmp(old->path, path) == 0) {
            unlink_entry(old);
            break;
        }
    }
    size_t cost = entry_cost(entry);
    while (lru_oldest && cache_bytes + cost > (size_t)file_cache_settings(server)->file_cache_size)
        unlink_entry(lru_oldest);
    entry->id = ++last_id;
    entry->hash_next = *link;
    *link = entry;
    entry->linked = true;
    lru_push(entry);
    cache_bytes += cost;
    reference_for(r, entry);
    pthread_mutex_unlock(&cache_lock);
    return entry;
}

const char *file_cache_data(const file_cache_entry *entry)
{
    return entry->data;
}

uint64_t file_cache_entry_id(const file_cache_entry *entry)
{
    return entry->id;  /* set before the entry was published, never changed */
}

bool file_cache_entry_current(const file_cache_entry *entry)
{
    pthread_mutex_lock(&cache_lock);
    bool linked = entry->linked;
    pthread_mutex_unlock(&cache_lock);
    return linked;
}

/* ---- configuration ------------------------------------------------------ */

#define SERVER_FIELD(field) .scope = SCOPE_SERVER, .offset = offsetof(file_cache_config, field), \
                            .size = sizeof(((file_cache_config *)0)->field)

static int set_bytes(config_parse *parse, const config_directive *directive, void *target, int argc,
                     char **argv)
{
    /* Like config_set_size, with the K and M suffixes cache sizes are
     * usually written with. */
    char *end;
    errno = 0;
    unsigned long long value = strtoull(argv[0], &end, 10);
    unsigned long long scale = 1;
    if (*end == 'K' || *end == 'k')
        scale = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        scale = 1024 * 1024, end++;
    if (errno || end == argv[0] || *end || argv[0][0] == '-' || value > (1ull << 40) / scale)
        return config_error(parse, "%s requires a size in bytes (with an optional K or M), not '%s'",
                            directive->name, argv[0]);
    *(int64_t *)target = (int64_t)(value * scale);
    (void)argc;
    return WEFT_OK;
}

static const config_directive file_cache_directives[] = {
    { .name = "FileCacheSize", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(file_cache_size), .min_args = 1,
      .max_args = 1, .set = set_bytes, .default_value = "8M", .syntax = "bytes[K|M]",
      .help = "memory each child may use to keep small files' contents; 0 turns the cache off" },
    { .name = "FileCacheMaxFile", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(file_cache_max_file),
      .min_args = 1, .max_args = 1, .set = set_bytes, .default_value = "64K", .syntax = "bytes[K|M]",
      .help = "largest file the cache keeps; larger files are sent with sendfile" },
    { .name = "FileCacheWatch", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(file_cache_watch), .min_args = 1,
      .max_args = 1, .set = config_set_flag, .default_value = "On", .syntax = "On|Off",
      .help = "On: a cached file is served without a stat() until inotify reports a change to it or to a "
              "directory on its path (and at least once a second); Off: stat() on every hit" },
    { .name = "CompressedCacheSize", .contexts = CONTEXT_SERVER_ONLY, SERVER_FIELD(compressed_cache_size),
      .min_args = 1, .max_args = 1, .set = set_bytes, .default_value = "16M", .syntax = "bytes[K|M]",
      .help = "memory each child may use to keep compressed variants (gzip, brotli) of the files the file "
              "cache holds, so that serving one again costs no compression; 0 turns it off" },
    { .name = NULL },
};
#undef SERVER_FIELD

/* ---- change notification ------------------------------------------------ */

static int watch_descriptor(const server_config *server)
{
    if (file_cache_settings(server)->file_cache_size == 0 || !file_cache_settings(server)->file_cache_watch)
        return -1;
    return file_watch_open();
}

/* Something a cached file depends on changed: drop every entry (responses
 * in progress keep theirs until they end). */
static void on_watch_event(void)
{
    /* While events are being read, hits are checked with stat: a request
     * another thread serves meanwhile may already depend on them. */
    atomic_fetch_add(&draining, 1);
    if (file_watch_drain()) {
        pthread_mutex_lock(&cache_lock);
        change_generation++;
        while (lru_oldest)
            unlink_entry(lru_oldest);
        pthread_mutex_unlock(&cache_lock);
    }
    atomic_fetch_sub(&draining, 1);
}

const module file_cache_module = {
    .name = "file_cache",
    .directives = file_cache_directives,
    .server_config_size = sizeof(file_cache_config),
    .child_event_fd = watch_descriptor,
    .child_event = on_watch_event,
};
