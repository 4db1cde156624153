/*
 * compress.c — gzip and brotli compressors and the choice of a coding (see
 * compress.h).
 */
#include "compress.h"

#include <brotli/encode.h>
#include <pthread.h>
#include <stdlib.h>
#include <zlib.h>

#include "../core/log.h"
#include "../http/negotiate.h"

struct compressor {
    content_coding coding;
    bool started;     /* gzip: header written */
    bool finished;
    bool live;        /* native state initialised (and not yet released) */
    z_stream *zlib;   /* from spare_streams or made here; never moved (zlib points back at it) */
    gzip_settings zlib_settings;
    uLong crc;
    BrotliEncoderState *brotli;
};

/* What the buffer grows by while a compressor writes into it. */
#define OUTPUT_STEP 16384

/* ---- spare zlib streams ----------------------------------------------------
 * deflateInit2 allocates about 270 KiB (window, hash chains, pending
 * output).  Freed at the end of every response, glibc hands that memory of
 * a thread's arena back to the kernel (madvise), so the next response began
 * on cold, faulting pages: measured, a tenth of the CPU of a compressed
 * response went to the faults, the zeroing and the cache misses.  A few
 * streams per child are kept instead, reset (deflateReset: what zlib does
 * between two streams anyway) and taken again by a compressor with the same
 * settings.  Bounded, so that a child that compressed once keeps at most
 * SPARE_STREAMS of them. */
#define SPARE_STREAMS 4

static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    z_stream *stream;
    gzip_settings settings;
} spare_streams[SPARE_STREAMS];

static bool same_settings(const gzip_settings *a, const gzip_settings *b)
{
    return a->level == b->level && a->window_bits == b->window_bits && a->memory_level == b->memory_level;
}

static z_stream *take_spare_stream(const gzip_settings *settings)
{
    z_stream *stream = NULL;
    pthread_mutex_lock(&spare_lock);
    for (int i = 0; i < SPARE_STREAMS && !stream; i++) {
        if (spare_streams[i].stream && same_settings(&spare_streams[i].settings, settings)) {
            stream = spare_streams[i].stream;
            spare_streams[i].stream = NULL;
        }
    }
    pthread_mutex_unlock(&spare_lock);
    return stream;
}

static void give_back_stream(z_stream *stream, const gzip_settings *settings)
{
    bool kept = false;
    if (deflateReset(stream) == Z_OK) {
        pthread_mutex_lock(&spare_lock);
        for (int i = 0; i < SPARE_STREAMS && !kept; i++) {
            if (!spare_streams[i].stream) {
                spare_streams[i].stream = stream;
                spare_streams[i].settings = *settings;
                kept = true;
            }
        }
        pthread_mutex_unlock(&spare_lock);
    }
    if (!kept) {
        deflateEnd(stream);
        free(stream);
    }
}

static void release_compressor(void *data)
{
    compressor *z = data;
    if (!z->live)
        return;
    z->live = false;
    if (z->coding == CODING_GZIP)
        give_back_stream(z->zlib, &z->zlib_settings);
    else
        BrotliEncoderDestroyInstance(z->brotli);
}

static int clamp(int value, int low, int high)
{
    return value < low ? low : value > high ? high : value;
}

compressor *compressor_create(pool *p, content_coding coding, const gzip_settings *gzip,
                              const brotli_settings *brotli)
{
    compressor *z = pool_calloc(p, sizeof(*z));
    z->coding = coding;
    if (coding == CODING_GZIP) {
        gzip_settings settings = gzip ? *gzip
                                      : (gzip_settings){ GZIP_DEFAULT_LEVEL, GZIP_DEFAULT_WINDOW_BITS,
                                                         GZIP_DEFAULT_MEMORY_LEVEL };
        /* Raw deflate (negative bits): the gzip header and trailer are ours,
         * as Apache writes them.  zlib refuses a raw window of 8 bits and
         * would use 9 for it anyway. */
        settings.level = clamp(settings.level, 0, 9);
        settings.window_bits = clamp(settings.window_bits, 9, 15);
        settings.memory_level = clamp(settings.memory_level, 1, 9);
        z->zlib_settings = settings;
        z->zlib = take_spare_stream(&settings);
        if (!z->zlib) {
            z->zlib = calloc(1, sizeof(z_stream));
            int status = z->zlib ? deflateInit2(z->zlib, settings.level, Z_DEFLATED, -settings.window_bits,
                                                settings.memory_level, Z_DEFAULT_STRATEGY)
                                 : Z_MEM_ERROR;
            if (status != Z_OK) {
                log_module_message(LOG_LEVEL_ERROR, "deflate", "deflateInit2 failed (%d)", status);
                free(z->zlib);
                return NULL;
            }
        }
        z->crc = crc32(0, Z_NULL, 0);
    } else if (coding == CODING_BROTLI) {
        brotli_settings settings = brotli ? *brotli : (brotli_settings){ BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW };
        z->brotli = BrotliEncoderCreateInstance(NULL, NULL, NULL);
        if (!z->brotli ||
            !BrotliEncoderSetParameter(z->brotli, BROTLI_PARAM_QUALITY,
                                       (uint32_t)clamp(settings.quality, BROTLI_MIN_QUALITY, BROTLI_MAX_QUALITY)) ||
            !BrotliEncoderSetParameter(z->brotli, BROTLI_PARAM_LGWIN,
                                       (uint32_t)clamp(settings.window, BROTLI_MIN_WINDOW_BITS,
                                                       BROTLI_MAX_WINDOW_BITS))) {
            log_module_message(LOG_LEVEL_ERROR, "brotli", "cannot set up a brotli encoder");
            if (z->brotli)
                BrotliEncoderDestroyInstance(z->brotli);
            return NULL;
        }
    } else {
        log_module_message(LOG_LEVEL_ERROR, "deflate", "no compressor for coding %d", (int)coding);
        return NULL;
    }
    z->live = true;
    pool_cleanup_add(p, release_compressor, z);
    return z;
}

static void put_le32(unsigned char *out, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        out[i] = (unsigned char)(value >> (8 * i));
}

static int write_gzip(compressor *z, const void *data, size_t length, bool finish, buffer *out)
{
    if (!z->started) {
        /* ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=3 (Unix), as mod_deflate. */
        static const unsigned char header[10] = { 0x1f, 0x8b, Z_DEFLATED, 0, 0, 0, 0, 0, 0, 3 };
        buffer_append(out, header, sizeof(header));
        z->started = true;
    }
    const unsigned char *in = data;
    size_t left = length;
    /* avail_in is 32 bits wide: feed very large writes in slices. */
    do {
        uInt slice_length = left > (1u << 30) ? (1u << 30) : (uInt)left;
        bool last_slice = slice_length == left;
        int flush = finish && last_slice ? Z_FINISH : Z_NO_FLUSH;
        z->zlib->next_in = (Bytef *)in;
        z->zlib->avail_in = slice_length;
        if (slice_length)
            z->crc = crc32(z->crc, in, slice_length);
        int status;
        do {
            buffer_reserve(out, OUTPUT_STEP);
            size_t room = out->capacity - out->length;
            uInt avail = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
            z->zlib->next_out = (Bytef *)out->data + out->length;
            z->zlib->avail_out = avail;
            status = deflate(z->zlib, flush);
            out->length += avail - z->zlib->avail_out;
            if (status == Z_STREAM_ERROR) {
                log_module_message(LOG_LEVEL_ERROR, "deflate", "deflate failed");
                out->data[out->length] = '\0';
                return WEFT_ERROR;
            }
        } while (z->zlib->avail_out == 0 || z->zlib->avail_in > 0 || (flush == Z_FINISH && status != Z_STREAM_END));
        in += slice_length;
        left -= slice_length;
    } while (left > 0);
    if (finish) {
        unsigned char trailer[8];
        put_le32(trailer, (uint32_t)z->crc);
        put_le32(trailer + 4, (uint32_t)z->zlib->total_in);  /* ISIZE: the length modulo 2^32 */
        buffer_append(out, trailer, sizeof(trailer));
    }
    out->data[out->length] = '\0';
    return WEFT_OK;
}

static int write_brotli(compressor *z, const void *data, size_t length, bool finish, buffer *out)
{
    const uint8_t *next_in = data;
    size_t avail_in = length;
    BrotliEncoderOperation operation = finish ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS;
    while (avail_in > 0 || BrotliEncoderHasMoreOutput(z->brotli) || (finish && !BrotliEncoderIsFinished(z->brotli))) {
        buffer_reserve(out, OUTPUT_STEP);
        size_t avail_out = out->capacity - out->length;
        uint8_t *next_out = (uint8_t *)out->data + out->length;
        size_t before = avail_out;
        if (!BrotliEncoderCompressStream(z->brotli, operation, &avail_in, &next_in, &avail_out, &next_out, NULL)) {
            log_module_message(LOG_LEVEL_ERROR, "brotli", "BrotliEncoderCompressStream failed");
            out->data[out->length] = '\0';
            return WEFT_ERROR;
        }
        out->length += before - avail_out;
    }
    out->data[out->length] = '\0';
    return WEFT_OK;
}

int compressor_write(compressor *z, const void *data, size_t length, bool finish, buffer *out)
{
    if (!z->live || z->finished) {
        if (length == 0 && !finish)
            return WEFT_OK;
        log_module_message(LOG_LEVEL_ERROR, "deflate", "compressor written to after the end of its stream");
        return WEFT_ERROR;
    }
    int status = z->coding == CODING_GZIP ? write_gzip(z, data, length, finish, out)
                                          : write_brotli(z, data, length, finish, out);
    if (status != WEFT_OK || finish) {
        z->finished = true;
        release_compressor(z);  /* the native state is large: give it back as soon as it is done */
    }
    return status;
}

content_coding compress_choose(const char *accept_encoding, bool gzip_allowed, bool brotli_allowed)
{
    if (!accept_encoding || (!gzip_allowed && !brotli_allowed))
        return CODING_IDENTITY;
    slice field = slice_from_string(accept_encoding);
    int brotli = brotli_allowed ? http_encoding_weight(field, "br") : -1;
    int gzip = gzip_allowed ? http_encoding_weight(field, "gzip") : -1;
    content_coding best = brotli >= gzip ? CODING_BROTLI : CODING_GZIP;
    int weight = brotli >= gzip ? brotli : gzip;
    if (weight <= 0)
        return CODING_IDENTITY;
    /* Identity's own weight counts only where the client wrote one for it
     * (or for "*"): unlisted, it is merely acceptable, never preferred. */
    int identity = http_encoding_weight(field, "identity");
    return identity > weight ? CODING_IDENTITY : best;
}

const char *content_coding_name(content_coding coding)
{
    switch (coding) {
    case CODING_GZIP:
        return "gzip";
    case CODING_BROTLI:
        return "br";
    default:
        return "identity";
    }
}
