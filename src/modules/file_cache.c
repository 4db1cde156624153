/*
 * file_cache.c — see file_cache.h.
 */
#include "file_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/module.h"

#define BUCKETS 1024  /* power of two */

struct file_cache_entry {
    file_cache_entry *hash_next;
    file_cache_entry *lru_previous;
    file_cache_entry *lru_next;
    uint64_t hash;
    bool follow_symlinks;
    bool linked;               /* in the table; an unlinked entry dies with its last reference */
    int references;            /* guarded by the cache lock */
    dev_t device;
    ino_t inode;
    off_t size;
    struct timespec modified;
    struct timespec changed;
    char *path;
    char data[];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static file_cache_entry *buckets[BUCKETS];
static file_cache_entry *lru_newest;
static file_cache_entry *lru_oldest;
static size_t cache_bytes;

static uint64_t hash_path(const char *path, bool follow_symlinks)
{
    uint64_t hash = 1469598103934665603u ^ (uint64_t)follow_symlinks;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        hash = (hash ^ *p) * 1099511628211u;
    return hash;
}

static bool same_file(const file_cache_entry *entry, const struct stat *info)
{
    return entry->device == info->st_dev && entry->inode == info->st_ino && entry->size == info->st_size &&
           entry->modified.tv_sec == info->st_mtim.tv_sec && entry->modified.tv_nsec == info->st_mtim.tv_nsec &&
           entry->changed.tv_sec == info->st_ctim.tv_sec && entry->changed.tv_nsec == info->st_ctim.tv_nsec;
}

static size_t entry_cost(const file_cache_entry *entry)
{
    return sizeof(*entry) + (size_t)entry->size + strlen(entry->path) + 1;
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
    if (r->server->file_cache_size == 0)
        return NULL;
    uint64_t hash = hash_path(path, follow_symlinks);
    pthread_mutex_lock(&cache_lock);
    file_cache_entry *entry = buckets[hash & (BUCKETS - 1)];
    while (entry && !(entry->hash == hash && entry->follow_symlinks == follow_symlinks &&
                      strcmp(entry->path, path) == 0))
        entry = entry->hash_next;
    if (entry)
        entry->references++;  /* keeps it alive while we check it without the lock */
    pthread_mutex_unlock(&cache_lock);
    if (!entry)
        return NULL;  /* a miss costs no system call */

    bool valid = fstatat(AT_FDCWD, path, info, follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW) == 0 &&
                 same_file(entry, info);
    pthread_mutex_lock(&cache_lock);
    if (valid && entry->linked) {
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
    if (server->file_cache_size == 0 || !S_ISREG(info->st_mode) || info->st_size > server->file_cache_max_file ||
        (int64_t)info->st_size > server->file_cache_size)
        return NULL;
    file_cache_entry *entry = malloc(sizeof(*entry) + (size_t)info->st_size);
    if (!entry)
        return NULL;
    entry->path = strdup(path);
    if (!entry->path || !read_whole(fd, entry->data, info->st_size)) {
        free(entry->path);
        free(entry);
        return NULL;
    }
    entry->hash = hash_path(path, follow_symlinks);
    entry->follow_symlinks = follow_symlinks;
    entry->references = 0;
    entry->device = info->st_dev;
    entry->inode = info->st_ino;
    entry->size = info->st_size;
    entry->modified = info->st_mtim;
    entry->changed = info->st_ctim;

    pthread_mutex_lock(&cache_lock);
    /* Another thread may have cached the same path meanwhile: replace it. */
    file_cache_entry **link = &buckets[entry->hash & (BUCKETS - 1)];
    for (file_cache_entry *old = *link; old; old = old->hash_next) {
        if (old->hash == entry->hash && old->follow_symlinks == follow_symlinks && strcmp(old->path, path) == 0) {
            unlink_entry(old);
            break;
        }
    }
    size_t cost = entry_cost(entry);
    while (lru_oldest && cache_bytes + cost > (size_t)server->file_cache_size)
        unlink_entry(lru_oldest);
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

/* ---- configuration ------------------------------------------------------ */

#define SERVER_FIELD(field) .scope = SCOPE_SERVER, .offset = offsetof(server_config, field), \
                            .size = sizeof(((server_config *)0)->field)

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
    { .name = NULL },
};

const module file_cache_module = {
    .name = "file_cache",
    .directives = file_cache_directives,
};
