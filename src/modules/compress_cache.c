/*
 * compress_cache.c — compressed variants of the file cache's entries (see
 * compress.h).
 *
 * A variant is keyed by its entry's identity (file_cache_entry_id: a number
 * no other entry of this process ever has, so a variant of a dropped entry
 * can never be found through a new one), the coding and the coding's
 * settings.  All variants of one entry hash to the same bucket, which makes
 * dropping them with the entry (compress_cache_forget, called by the file
 * cache under its own lock: lock order file cache, then this) one walk of
 * one chain.  Like the file cache's entries, a variant in use by a response
 * is reference-counted and outlives its removal from the table until the
 * response's pool is reset.
 */
#include "compress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../http/request.h"
#include "file_cache.h"

#define VARIANT_BUCKETS 512  /* power of two */

typedef struct variant variant;
struct variant {
    variant *hash_next;
    variant *lru_previous;
    variant *lru_next;
    uint64_t entry_id;
    content_coding coding;
    int settings[3];
    bool linked;      /* in the table; an unlinked variant dies with its last reference */
    int references;   /* guarded by the lock */
    size_t length;
    unsigned char data[];
};

static pthread_mutex_t variant_lock = PTHREAD_MUTEX_INITIALIZER;
static variant *variant_table[VARIANT_BUCKETS];
static variant *variant_newest;
static variant *variant_oldest;
static size_t variant_bytes;
static _Atomic size_t variant_count;  /* read without the lock: nothing to forget is the common case */

static size_t bucket_of(uint64_t entry_id)
{
    return (size_t)((entry_id * 0x9e3779b97f4a7c15u) >> 32) & (VARIANT_BUCKETS - 1);
}

static size_t variant_cost(const variant *v)
{
    return sizeof(*v) + v->length;
}

/* The key's settings: only those of the coding, defaults for NULL. */
static void settings_key(content_coding coding, const gzip_settings *gzip, const brotli_settings *brotli, int key[3])
{
    if (coding == CODING_GZIP) {
        key[0] = gzip ? gzip->level : GZIP_DEFAULT_LEVEL;
        key[1] = gzip ? gzip->window_bits : GZIP_DEFAULT_WINDOW_BITS;
        key[2] = gzip ? gzip->memory_level : GZIP_DEFAULT_MEMORY_LEVEL;
    } else {
        key[0] = brotli ? brotli->quality : BROTLI_DEFAULT_QUALITY;
        key[1] = brotli ? brotli->window : BROTLI_DEFAULT_WINDOW;
        key[2] = 0;
    }
}

/* The lock is held for the list and table helpers. */
static void variant_lru_unlink(variant *v)
{
    if (v->lru_previous)
        v->lru_previous->lru_next = v->lru_next;
    else
        variant_newest = v->lru_next;
    if (v->lru_next)
        v->lru_next->lru_previous = v->lru_previous;
    else
        variant_oldest = v->lru_previous;
    v->lru_previous = v->lru_next = NULL;
}

static void variant_lru_push(variant *v)
{
    v->lru_previous = NULL;
    v->lru_next = variant_newest;
    if (variant_newest)
        variant_newest->lru_previous = v;
    variant_newest = v;
    if (!variant_oldest)
        variant_oldest = v;
}

static void unlink_variant(variant *v)
{
    variant **link = &variant_table[bucket_of(v->entry_id)];
    while (*link && *link != v)
        link = &(*link)->hash_next;
    if (*link)
        *link = v->hash_next;
    variant_lru_unlink(v);
    v->linked = false;
    variant_bytes -= variant_cost(v);
    atomic_fetch_sub(&variant_count, 1);
    if (v->references == 0)
        free(v);
}

static variant *find_variant(uint64_t entry_id, content_coding coding, const int key[3])
{
    for (variant *v = variant_table[bucket_of(entry_id)]; v; v = v->hash_next)
        if (v->entry_id == entry_id && v->coding == coding && memcmp(v->settings, key, sizeof(v->settings)) == 0)
            return v;
    return NULL;
}

static void release_variant(void *data)
{
    variant *v = data;
    pthread_mutex_lock(&variant_lock);
    bool dead = --v->references == 0 && !v->linked;
    pthread_mutex_unlock(&variant_lock);
    if (dead)
        free(v);
}

const void *compress_cache_lookup(struct request *r, const struct file_cache_entry *entry, content_coding coding,
                                  const gzip_settings *gzip, const brotli_settings *brotli, size_t *length)
{
    if (atomic_load(&variant_count) == 0 || file_cache_variant_bound(r->server) == 0)
        return NULL;
    int key[3];
    settings_key(coding, gzip, brotli, key);
    pthread_mutex_lock(&variant_lock);
    variant *v = find_variant(file_cache_entry_id(entry), coding, key);
    if (v) {
        v->references++;
        variant_lru_unlink(v);
        variant_lru_push(v);
    }
    pthread_mutex_unlock(&variant_lock);
    if (!v)
        return NULL;
    pool_cleanup_add(r->pool, release_variant, v);
    *length = v->length;
    return v->data;
}

/* The variant kept (referenced for r), or NULL if it was not kept. */
static variant *insert_variant(struct request *r, const struct file_cache_entry *entry, content_coding coding,
                       const gzip_settings *gzip, const brotli_settings *brotli, const void *data, size_t length)
{
    size_t bound = file_cache_variant_bound(r->server);
    if (bound == 0 || sizeof(variant) + length > bound || coding == CODING_IDENTITY)
        return NULL;
    /* An entry dropped meanwhile can no longer be found, and neither could
     * its variant: do not spend the budget on it.  (Dropped between this
     * look and the insertion below, the variant merely waits for eviction.) */
    if (!file_cache_entry_current(entry))
        return NULL;
    variant *v = malloc(sizeof(*v) + length);
    if (!v)
        return NULL;
    v->entry_id = file_cache_entry_id(entry);
    v->coding = coding;
    settings_key(coding, gzip, brotli, v->settings);
    v->length = length;
    memcpy(v->data, data, length);
    v->references = 1;
    v->linked = true;

    pthread_mutex_lock(&variant_lock);
    variant *old = find_variant(v->entry_id, coding, v->settings);  /* another thread compressed it too */
    if (old)
        unlink_variant(old);
    while (variant_oldest && variant_bytes + variant_cost(v) > bound)
        unlink_variant(variant_oldest);
    variant **link = &variant_table[bucket_of(v->entry_id)];
    v->hash_next = *link;
    *link = v;
    variant_lru_push(v);
    variant_bytes += variant_cost(v);
    atomic_fetch_add(&variant_count, 1);
    pthread_mutex_unlock(&variant_lock);
    pool_cleanup_add(r->pool, release_variant, v);
    return v;
}

void compress_cache_insert(struct request *r, const struct file_cache_entry *entry, content_coding coding,
                           const gzip_settings *gzip, const brotli_settings *brotli, const void *data,
                           size_t length)
{
    insert_variant(r, entry, coding, gzip, brotli, data, length);
}

const void *compress_cache_variant(struct request *r, const struct file_cache_entry *entry, size_t entry_length,
                                   content_coding coding, const gzip_settings *gzip, const brotli_settings *brotli,
                                   size_t *length)
{
    const void *cached = compress_cache_lookup(r, entry, coding, gzip, brotli, length);
    if (cached)
        return cached;
    /* Compressed without any lock held: another thread may be doing the
     * same; the later insert replaces the earlier. */
    compressor *z = compressor_create(r->pool, coding, gzip, brotli);
    buffer out = { 0 };
    if (!z || compressor_write(z, file_cache_data(entry), entry_length, true, &out) != WEFT_OK) {
        buffer_free(&out);
        return NULL;
    }
    variant *v = insert_variant(r, entry, coding, gzip, brotli, out.data, out.length);
    const void *bytes;
    if (v) {
        bytes = v->data;
    } else {
        char *copy = pool_alloc(r->pool, out.length + 1);
        memcpy(copy, out.data, out.length);
        bytes = copy;
    }
    *length = out.length;
    buffer_free(&out);
    return bytes;
}

void compress_cache_forget(uint64_t entry_id)
{
    if (atomic_load(&variant_count) == 0)
        return;
    pthread_mutex_lock(&variant_lock);
    variant **link = &variant_table[bucket_of(entry_id)];
    while (*link) {
        variant *v = *link;
        if (v->entry_id == entry_id)
            unlink_variant(v);  /* takes it off the chain: *link is now its successor */
        else
            link = &v->hash_next;
    }
    pthread_mutex_unlock(&variant_lock);
}
