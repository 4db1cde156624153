/* Unit tests for src/modules/compress_cache.c: compressed variants of file
 * cache entries — hits, keys, the byte bound, invalidation, and many
 * threads at once.  The file cache itself is replaced by a stand-in. */
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/log.c"
#include "../../src/core/blocking.c"
#include "../../src/core/piped_log.c"
#include "../../src/http/negotiate.c"
#include "../../src/modules/compress.c"
#include "../../src/modules/compress_cache.c"

#include <zlib.h>

/* The stand-in for file_cache.c's entries. */
struct file_cache_entry {
    uint64_t id;
    _Atomic bool current;
    char *data;
};

uint64_t file_cache_entry_id(const file_cache_entry *entry)
{
    return entry->id;
}

bool file_cache_entry_current(const file_cache_entry *entry)
{
    return atomic_load(&entry->current);
}

const char *file_cache_data(const file_cache_entry *entry)
{
    return entry->data;
}

static size_t variant_bound;  /* CompressedCacheSize */

size_t file_cache_variant_bound(const server_config *server)
{
    return variant_bound;
}

static server_config server;

static void start_request(request *r)
{
    memset(r, 0, sizeof(*r));
    r->pool = pool_create(4096);
    r->server = &server;
}

static void end_request(request *r)
{
    pool_destroy(r->pool);
}

static const gzip_settings gzip6 = { 6, 15, 9 }, gzip1 = { 1, 15, 9 };
static const brotli_settings brotli5 = { 5, 18 };

static void basics(void)
{
    file_cache_entry entry = { .id = 1, .current = true, .data = "hello hello hello hello hello" };
    request r;
    size_t length = 0;
    start_request(&r);
    ok(compress_cache_lookup(&r, &entry, CODING_GZIP, &gzip6, NULL, &length) == NULL, "empty: a miss");
    compress_cache_insert(&r, &entry, CODING_GZIP, &gzip6, NULL, "GZIPPED", 7);
    const char *hit = compress_cache_lookup(&r, &entry, CODING_GZIP, &gzip6, NULL, &length);
    ok(hit && length == 7 && memcmp(hit, "GZIPPED", 7) == 0, "inserted, then a hit with the same bytes");
    ok(compress_cache_lookup(&r, &entry, CODING_GZIP, NULL, NULL, &length) != NULL,
       "NULL settings are the defaults (level 6, window 15, memory 9)");
    ok(compress_cache_lookup(&r, &entry, CODING_GZIP, &gzip1, NULL, &length) == NULL, "another level: a miss");
    ok(compress_cache_lookup(&r, &entry, CODING_BROTLI, NULL, &brotli5, &length) == NULL, "another coding: a miss");
    file_cache_entry other = { .id = 2, .current = true, .data = entry.data };
    ok(compress_cache_lookup(&r, &other, CODING_GZIP, &gzip6, NULL, &length) == NULL, "another entry: a miss");
    compress_cache_insert(&r, &entry, CODING_GZIP, &gzip6, NULL, "REPLACED", 8);
    hit = compress_cache_lookup(&r, &entry, CODING_GZIP, &gzip6, NULL, &length);
    ok(hit && length == 8 && memcmp(hit, "REPLACED", 8) == 0, "a second insert replaces the first");
    is_int(atomic_load(&variant_count), 1, "one variant kept");

    /* Invalidation: the file cache drops the entry. */
    compress_cache_insert(&r, &entry, CODING_BROTLI, NULL, &brotli5, "BROTLI", 6);
    compress_cache_insert(&r, &other, CODING_BROTLI, NULL, &brotli5, "OTHER", 5);
    is_int(atomic_load(&variant_count), 3, "three variants");
    compress_cache_forget(1);
    ok(compress_cache_lookup(&r, &entry, CODING_GZIP, &gzip6, NULL, &length) == NULL &&
           compress_cache_lookup(&r, &entry, CODING_BROTLI, NULL, &brotli5, &length) == NULL,
       "forgetting the entry drops all its variants");
    ok(hit && memcmp(hit, "REPLACED", 8) == 0, "a variant in use stays readable until the request ends");
    ok(compress_cache_lookup(&r, &other, CODING_BROTLI, NULL, &brotli5, &length) != NULL,
       "the other entry's variant stays");
    is_int(atomic_load(&variant_count), 1, "one variant left");
    entry.current = false;
    compress_cache_insert(&r, &entry, CODING_GZIP, &gzip6, NULL, "STALE", 5);
    ok(compress_cache_lookup(&r, &entry, CODING_GZIP, &gzip6, NULL, &length) == NULL,
       "no variant is kept for an entry already dropped");
    compress_cache_forget(2);
    is_int(variant_bytes, 0, "nothing accounted once all are forgotten");
    end_request(&r);
}

static void bound(void)
{
    request r;
    size_t length;
    start_request(&r);
    variant_bound = 10 * 1024;
    static char payload[1000];
    memset(payload, 'z', sizeof(payload));
    file_cache_entry entries[30];
    for (int i = 0; i < 30; i++) {
        entries[i] = (file_cache_entry){ .id = 100 + (uint64_t)i, .current = true, .data = payload };
        compress_cache_insert(&r, &entries[i], CODING_GZIP, NULL, NULL, payload, sizeof(payload));
        if (i == 5) /* keep the first entry's variant in use: the LRU order puts it last */
            ok(compress_cache_lookup(&r, &entries[0], CODING_GZIP, NULL, NULL, &length) != NULL, "entry 0 used");
    }
    ok(variant_bytes <= 10 * 1024, "the bound holds: %zu bytes kept of 10 KiB", variant_bytes);
    ok(atomic_load(&variant_count) >= 8, "and it is used: %zu variants", (size_t)atomic_load(&variant_count));
    ok(compress_cache_lookup(&r, &entries[29], CODING_GZIP, NULL, NULL, &length) != NULL, "the newest is kept");
    ok(compress_cache_lookup(&r, &entries[1], CODING_GZIP, NULL, NULL, &length) == NULL, "the oldest went first");
    static char large[20 * 1024];
    file_cache_entry big = { .id = 200, .current = true, .data = large };
    compress_cache_insert(&r, &big, CODING_GZIP, NULL, NULL, large, sizeof(large));
    ok(compress_cache_lookup(&r, &big, CODING_GZIP, NULL, NULL, &length) == NULL,
       "a variant larger than the bound is not kept");
    ok(compress_cache_lookup(&r, &entries[29], CODING_GZIP, NULL, NULL, &length) != NULL,
       "and evicted nothing");

    variant_bound = 0;
    ok(compress_cache_lookup(&r, &entries[29], CODING_GZIP, NULL, NULL, &length) == NULL,
       "CompressedCacheSize 0: no hits");
    compress_cache_insert(&r, &entries[28], CODING_BROTLI, NULL, NULL, payload, 10);
    variant_bound = 10 * 1024;
    ok(compress_cache_lookup(&r, &entries[28], CODING_BROTLI, NULL, NULL, &length) == NULL,
       "CompressedCacheSize 0: nothing inserted");
    for (int i = 0; i < 30; i++)
        compress_cache_forget(entries[i].id);
    is_int(variant_bytes, 0, "all forgotten");
    end_request(&r);
}

static bool gunzip_equals(const void *data, size_t length, const char *expected, size_t expected_length)
{
    char out[100000];
    z_stream s = { 0 };
    inflateInit2(&s, 16 + 15);
    s.next_in = (Bytef *)data;
    s.avail_in = (uInt)length;
    s.next_out = (Bytef *)out;
    s.avail_out = sizeof(out);
    int status = inflate(&s, Z_FINISH);
    size_t produced = sizeof(out) - s.avail_out;
    inflateEnd(&s);
    return status == Z_STREAM_END && produced == expected_length && memcmp(out, expected, produced) == 0;
}

static void variants(void)
{
    request r;
    size_t length = 0, again_length = 0;
    variant_bound = 1024 * 1024;
    char *text = malloc(50000);
    for (size_t i = 0; i < 50000; i++)
        text[i] = "<html><body>weft compressed variant cache</body></html>\n"[i % 56];
    file_cache_entry entry = { .id = 300, .current = true, .data = text };
    start_request(&r);
    const void *first = compress_cache_variant(&r, &entry, 50000, CODING_GZIP, NULL, NULL, &length);
    ok(first && gunzip_equals(first, length, text, 50000), "a miss compresses (%zu bytes)", length);
    const void *again = compress_cache_variant(&r, &entry, 50000, CODING_GZIP, NULL, NULL, &again_length);
    ok(again == first && again_length == length, "the second request is a hit on the same bytes");
    end_request(&r);
    start_request(&r);
    ok(compress_cache_lookup(&r, &entry, CODING_GZIP, NULL, NULL, &length) == first, "kept across requests");
    compress_cache_forget(300);
    const void *fresh = compress_cache_variant(&r, &entry, 50000, CODING_GZIP, NULL, NULL, &length);
    ok(fresh && gunzip_equals(fresh, length, text, 50000), "after invalidation it is compressed again");
    variant_bound = 0;
    const void *uncached = compress_cache_variant(&r, &entry, 50000, CODING_GZIP, &gzip1, NULL, &length);
    ok(uncached && gunzip_equals(uncached, length, text, 50000), "with the cache off the bytes come from the pool");
    variant_bound = 1024 * 1024;
    end_request(&r);
    compress_cache_forget(300);
    free(text);
}

/* Many threads hit, insert and forget the same few entries; ASan (and TSan
 * when built so) check the references. */
#define THREADS 4
#define ROUNDS 3000
static file_cache_entry shared[8];

static void *worker(void *argument)
{
    unsigned seed = (unsigned)(uintptr_t)argument;
    bool good = true;
    for (int i = 0; i < ROUNDS; i++) {
        request r;
        start_request(&r);
        seed = seed * 1103515245u + 12345u;
        file_cache_entry *entry = &shared[(seed >> 16) % 8];
        size_t length;
        const char *data = compress_cache_lookup(&r, entry, CODING_GZIP, NULL, NULL, &length);
        if (data && (length != 64 || data[0] != (char)entry->id))
            good = false;
        if (!data) {
            char bytes[64];
            memset(bytes, (char)entry->id, sizeof(bytes));
            compress_cache_insert(&r, entry, CODING_GZIP, NULL, NULL, bytes, sizeof(bytes));
        }
        if ((seed >> 8) % 16 == 0)
            compress_cache_forget(entry->id);
        end_request(&r);
    }
    return good ? argument : NULL;
}

static void threads(void)
{
    variant_bound = 2000;  /* small: eviction runs all the time */
    for (int i = 0; i < 8; i++)
        shared[i] = (file_cache_entry){ .id = 400 + (uint64_t)i, .current = true, .data = "" };
    pthread_t ids[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&ids[i], NULL, worker, (void *)(i + 1));
    bool good = true;
    for (uintptr_t i = 0; i < THREADS; i++) {
        void *result;
        pthread_join(ids[i], &result);
        good = good && result == (void *)(i + 1);
    }
    ok(good, "%d threads x %d requests: every hit had its own entry's bytes", THREADS, ROUNDS);
    ok(variant_bytes <= 2000, "the bound held (%zu bytes)", variant_bytes);
    for (int i = 0; i < 8; i++)
        compress_cache_forget(shared[i].id);
    is_int(variant_bytes, 0, "all forgotten");
}

int main(void)
{
    log_threshold = LOG_LEVEL_CRIT;
    variant_bound = 16 * 1024 * 1024;
    basics();
    bound();
    variants();
    threads();
    return done_testing();
}
