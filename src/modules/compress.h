/*
 * compress.h — the compression engine behind the DEFLATE and
 * BROTLI_COMPRESS output filters: streaming gzip (zlib) and brotli
 * (libbrotlienc) compressors, the choice of a content coding from
 * Accept-Encoding, and a cache of compressed variants of the files the file
 * cache holds (compress_cache.c).
 *
 * gzip output is one gzip member (RFC 1952) as Apache's mod_deflate sends
 * it: its own 10-byte header (no name, no time, OS byte 3 "Unix"), raw
 * deflate, CRC-32 and length trailer.  brotli output is one brotli stream
 * (RFC 7932).
 */
#ifndef WEFT_MODULES_COMPRESS_H
#define WEFT_MODULES_COMPRESS_H

#include "../core/buffer.h"
#include "../core/pool.h"

typedef enum { CODING_IDENTITY = 0, CODING_GZIP, CODING_BROTLI } content_coding;

/* DeflateCompressionLevel (1-9, default 6 as zlib's), DeflateWindowSize
 * (1-15, default 15; below 9 zlib uses 9), DeflateMemLevel (1-9, default 9). */
typedef struct {
    int level;
    int window_bits;
    int memory_level;
} gzip_settings;

/* BrotliCompressionQuality (0-11, default 5), BrotliWindowSize (10-24,
 * default 18), as Apache's mod_brotli. */
typedef struct {
    int quality;
    int window;
} brotli_settings;

#define GZIP_DEFAULT_LEVEL 6
#define GZIP_DEFAULT_WINDOW_BITS 15
#define GZIP_DEFAULT_MEMORY_LEVEL 9
#define BROTLI_DEFAULT_QUALITY 5
#define BROTLI_DEFAULT_WINDOW 18

typedef struct compressor compressor;

/* A compressor for coding (gzip or brotli; the other settings pointer may be
 * NULL).  Its native state is released by a cleanup on p.  NULL on failure
 * (logged): bad settings or no memory. */
compressor *compressor_create(pool *p, content_coding coding, const gzip_settings *gzip,
                              const brotli_settings *brotli);

/* Compresses length bytes and appends what it produced to out; finish=true
 * ends the stream (gzip trailer / brotli last block), after which the
 * compressor takes nothing more.  Output the compressor keeps back between
 * calls is only what its format needs to (no flush is forced).  WEFT_OK or
 * WEFT_ERROR (logged). */
int compressor_write(compressor *z, const void *data, size_t length, bool finish, buffer *out);

/* The coding to use for a request's Accept-Encoding value (NULL = header
 * absent: identity), given which codings are allowed.  q-values are
 * honoured: q=0 refuses a coding, "*" stands for every coding not listed,
 * the highest weight wins, brotli over gzip on equal weights.  Identity
 * (RFC 9110 12.5.3) is acceptable unless refused; it is chosen over the
 * codings only when listed with a higher weight than the best of them
 * ("gzip;q=0.5, identity").  A malformed member is ignored.  When nothing
 * allowed is acceptable the answer is CODING_IDENTITY, even if the client
 * refused identity too (Apache's behaviour: send the body as it is). */
content_coding compress_choose(const char *accept_encoding, bool gzip_allowed, bool brotli_allowed);

/* "gzip" / "br"; "identity" for CODING_IDENTITY. */
const char *content_coding_name(content_coding coding);

/* ---- compressed variants of cached files (compress_cache.c) -------------
 *
 * A file the file cache holds (file_cache.h) may also have its compressed
 * forms kept, one per coding and settings, so that a hot compressed file
 * costs no compression at all.  A variant belongs to one file cache entry
 * and goes when the entry does (a change to the file, reported by inotify or
 * seen by stat, or the entry's eviction).  Bounded in bytes per child by
 * CompressedCacheSize (0 turns it off), least recently used variants going
 * first.  Thread-safe: one short lock around a table, compression outside
 * it (two threads missing the same variant at once both compress; the
 * second insert replaces the first). */

struct file_cache_entry;
struct request;

/* The compressed body of entry for coding and settings (only the settings
 * of coding are looked at), or NULL; on success *length is its length and
 * the bytes stay valid until r's pool is reset. */
const void *compress_cache_lookup(struct request *r, const struct file_cache_entry *entry, content_coding coding,
                                  const gzip_settings *gzip, const brotli_settings *brotli, size_t *length);

/* Keeps a copy of length bytes as that variant if the cache is on, the
 * entry still current and the variant fits the bound. */
void compress_cache_insert(struct request *r, const struct file_cache_entry *entry, content_coding coding,
                           const gzip_settings *gzip, const brotli_settings *brotli, const void *data,
                           size_t length);

/* Lookup, or on a miss compress the entry's whole contents (length bytes,
 * at file_cache_data(entry)) and insert: the one call a filter needs for a
 * response whose body is a file cache entry.  NULL if compression failed;
 * the bytes stay valid until r's pool is reset (they may come from r's
 * pool when the cache is off or the variant does not fit). */
const void *compress_cache_variant(struct request *r, const struct file_cache_entry *entry, size_t entry_length,
                                   content_coding coding, const gzip_settings *gzip, const brotli_settings *brotli,
                                   size_t *length);

/* Drops every variant of the file cache entry with this identity (the
 * file cache calls it when the entry leaves its table). */
void compress_cache_forget(uint64_t entry_id);

#endif
