/*
 * compress_cache.c — compressed variants of cached files (see compress.h).
 * First version: no variant is kept yet; every call compresses.
 */
#include "compress.h"

#include "../http/request.h"
#include "file_cache.h"

const void *compress_cache_lookup(struct request *r, const struct file_cache_entry *entry, content_coding coding,
                                  const gzip_settings *gzip, const brotli_settings *brotli, size_t *length)
{
    return NULL;
}

void compress_cache_insert(struct request *r, const struct file_cache_entry *entry, content_coding coding,
                           const gzip_settings *gzip, const brotli_settings *brotli, const void *data,
                           size_t length)
{
}

const void *compress_cache_variant(struct request *r, const struct file_cache_entry *entry, size_t entry_length,
                                   content_coding coding, const gzip_settings *gzip, const brotli_settings *brotli,
                                   size_t *length)
{
    compressor *z = compressor_create(r->pool, coding, gzip, brotli);
    buffer out = { 0 };
    if (!z || compressor_write(z, file_cache_data(entry), entry_length, true, &out) != WEFT_OK) {
        buffer_free(&out);
        return NULL;
    }
    char *copy = pool_alloc(r->pool, out.length + 1);
    memcpy(copy, out.data, out.length);
    *length = out.length;
    buffer_free(&out);
    return copy;
}
