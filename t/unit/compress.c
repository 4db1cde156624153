/* Unit tests for src/modules/compress.c: gzip and brotli round trips, and
 * the choice of a coding from Accept-Encoding. */
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/core/log.c"
#include "../../src/core/blocking.c"
#include "../../src/core/piped_log.c"
#include "../../src/http/negotiate.c"
#include "../../src/modules/compress.c"

#include <brotli/decode.h>
#include <stdlib.h>

/* Text that compresses as HTML does, or noise that does not. */
static unsigned char *make_input(size_t length, bool compressible)
{
    unsigned char *data = malloc(length + 1);
    uint64_t state = 0x9e3779b97f4a7c15u;
    static const char *words[] = { "<p>", "the ", "server ", "weft ", "compresses ", "</p>\n", "<div class=\"x\">",
                                   "</div>", "request ", "response ", "filter ", "chain " };
    size_t at = 0;
    while (at < length) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        if (compressible) {
            const char *word = words[(state >> 33) % (sizeof(words) / sizeof(*words))];
            size_t n = strlen(word);
            for (size_t i = 0; i < n && at < length; i++)
                data[at++] = (unsigned char)word[i];
        } else {
            data[at++] = (unsigned char)(state >> 56);
        }
    }
    return data;
}

static bool gunzip(const buffer *in, buffer *out)
{
    /* The header must be mod_deflate's: no flags, no time, OS 3. */
    if (in->length < 18 || memcmp(in->data, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) != 0)
        return false;
    z_stream s = { 0 };
    if (inflateInit2(&s, 16 + 15) != Z_OK)
        return false;
    s.next_in = (Bytef *)in->data;
    s.avail_in = (uInt)in->length;
    int status;
    do {
        buffer_reserve(out, 65536);
        s.next_out = (Bytef *)out->data + out->length;
        s.avail_out = (uInt)(out->capacity - out->length);
        uInt before = s.avail_out;
        status = inflate(&s, Z_NO_FLUSH);
        out->length += before - s.avail_out;
    } while (status == Z_OK);
    bool whole = status == Z_STREAM_END && s.avail_in == 0;  /* one member, nothing after it */
    inflateEnd(&s);
    return whole;
}

static bool unbrotli(const buffer *in, buffer *out)
{
    BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    const uint8_t *next_in = (const uint8_t *)in->data;
    size_t avail_in = in->length;
    BrotliDecoderResult result;
    do {
        buffer_reserve(out, 65536);
        uint8_t *next_out = (uint8_t *)out->data + out->length;
        size_t avail_out = out->capacity - out->length, before = avail_out;
        result = BrotliDecoderDecompressStream(d, &avail_in, &next_in, &avail_out, &next_out, NULL);
        out->length += before - avail_out;
    } while (result == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
    BrotliDecoderDestroyInstance(d);
    return result == BROTLI_DECODER_RESULT_SUCCESS && avail_in == 0;
}

static void round_trip(content_coding coding, size_t length, bool compressible, size_t piece)
{
    pool *p = pool_create(4096);
    unsigned char *input = make_input(length, compressible);
    compressor *z = compressor_create(p, coding, NULL, NULL);
    buffer compressed = { 0 }, plain = { 0 };
    bool written = z != NULL;
    if (piece == 0) {
        written = written && compressor_write(z, input, length, true, &compressed) == WEFT_OK;
    } else {
        for (size_t at = 0; written && at < length; at += piece) {
            size_t n = length - at < piece ? length - at : piece;
            written = compressor_write(z, input + at, n, false, &compressed) == WEFT_OK;
        }
        written = written && compressor_write(z, NULL, 0, true, &compressed) == WEFT_OK;
    }
    bool decoded = written && (coding == CODING_GZIP ? gunzip(&compressed, &plain) : unbrotli(&compressed, &plain));
    ok(decoded && plain.length == length && (length == 0 || memcmp(plain.data, input, length) == 0),
       "%s: %zu %s bytes in %s -> %zu bytes, decompressed intact", content_coding_name(coding), length,
       compressible ? "text" : "random", piece ? "pieces" : "one write", compressed.length);
    if (compressible && length >= 4096)
        ok(compressed.length < length / 3, "  and text shrank (%zu of %zu)", compressed.length, length);
    if (z)
        ok(compressor_write(z, "x", 1, false, &compressed) == WEFT_ERROR, "  nothing is taken after the end");
    buffer_free(&compressed);
    buffer_free(&plain);
    free(input);
    pool_destroy(p);
}

static void settings(void)
{
    pool *p = pool_create(4096);
    unsigned char *input = make_input(100 * 1024, true);
    size_t sizes[3];
    const gzip_settings levels[3] = { { 1, 15, 9 }, { 6, 15, 9 }, { 9, 8, 1 } };
    for (int i = 0; i < 3; i++) {
        compressor *z = compressor_create(p, CODING_GZIP, &levels[i], NULL);
        buffer out = { 0 }, plain = { 0 };
        ok(z && compressor_write(z, input, 100 * 1024, true, &out) == WEFT_OK && gunzip(&out, &plain) &&
               plain.length == 100 * 1024 && memcmp(plain.data, input, plain.length) == 0,
           "gzip level %d window %d memory %d round trip", levels[i].level, levels[i].window_bits,
           levels[i].memory_level);
        sizes[i] = out.length;
        buffer_free(&out);
        buffer_free(&plain);
    }
    ok(sizes[1] <= sizes[0], "level 6 is no larger than level 1 (%zu, %zu)", sizes[1], sizes[0]);
    const brotli_settings qualities[3] = { { 0, 10 }, { 5, 18 }, { 11, 24 } };
    for (int i = 0; i < 3; i++) {
        compressor *z = compressor_create(p, CODING_BROTLI, NULL, &qualities[i]);
        buffer out = { 0 }, plain = { 0 };
        ok(z && compressor_write(z, input, 100 * 1024, true, &out) == WEFT_OK && unbrotli(&out, &plain) &&
               plain.length == 100 * 1024 && memcmp(plain.data, input, plain.length) == 0,
           "brotli quality %d window %d round trip (%zu bytes)", qualities[i].quality, qualities[i].window,
           out.length);
        buffer_free(&out);
        buffer_free(&plain);
    }
    ok(compressor_create(p, CODING_IDENTITY, NULL, NULL) == NULL, "no compressor for identity");
    /* A compressor abandoned mid-stream is released with its pool (ASan
     * reports the leak otherwise). */
    compressor *z = compressor_create(p, CODING_BROTLI, NULL, NULL);
    buffer out = { 0 };
    ok(z && compressor_write(z, input, 5000, false, &out) == WEFT_OK, "an unfinished stream");
    z = compressor_create(p, CODING_GZIP, NULL, NULL);
    ok(z && compressor_write(z, input, 5000, false, &out) == WEFT_OK, "an unfinished gzip stream");
    buffer_free(&out);
    free(input);
    pool_destroy(p);
}

/* Streams given back at the end of a response are reset and taken again,
 * only by a compressor with the same settings: alternating level 1 and 9,
 * every round's output is byte-for-byte the first round's of its level. */
static void spare_streams_reused(void)
{
    unsigned char *input = make_input(100 * 1024, true);
    buffer first[2] = { { 0 }, { 0 } };
    bool all_intact = true, all_same = true;
    for (int round = 0; round < 12; round++) {
        const gzip_settings level = round % 2 ? (gzip_settings){ 9, 15, 9 } : (gzip_settings){ 1, 15, 9 };
        pool *p = pool_create(4096);
        compressor *z = compressor_create(p, CODING_GZIP, &level, NULL);
        buffer out = { 0 }, plain = { 0 };
        /* An abandoned stream every third round: given back mid-stream. */
        if (round % 3 == 2) {
            compressor *abandoned = compressor_create(p, CODING_GZIP, &level, NULL);
            all_intact = all_intact && abandoned && compressor_write(abandoned, input, 3000, false, &out) == WEFT_OK;
            out.length = 0;
        }
        all_intact = all_intact && z && compressor_write(z, input, 100 * 1024, true, &out) == WEFT_OK &&
                     gunzip(&out, &plain) && plain.length == 100 * 1024 && memcmp(plain.data, input, plain.length) == 0;
        if (round < 2)
            buffer_append(&first[round], out.data, out.length);
        else
            all_same = all_same && out.length == first[round % 2].length &&
                       memcmp(out.data, first[round % 2].data, out.length) == 0;
        buffer_free(&out);
        buffer_free(&plain);
        pool_destroy(p);
    }
    ok(all_intact, "12 responses through given-back streams decompress intact");
    ok(all_same && first[0].length != first[1].length,
       "each is the first response of its level to the byte (level 1: %zu bytes, level 9: %zu)", first[0].length,
       first[1].length);
    buffer_free(&first[0]);
    buffer_free(&first[1]);
    free(input);
}

static void choose(const char *field, bool gzip, bool brotli, content_coding expected)
{
    content_coding got = compress_choose(field, gzip, brotli);
    ok(got == expected, "Accept-Encoding: %s (gzip %s, br %s) -> %s", field ? field : "(absent)",
       gzip ? "allowed" : "not allowed", brotli ? "allowed" : "not allowed", content_coding_name(expected));
    if (got != expected)
        note("  got %s", content_coding_name(got));
}

static void choices(void)
{
    choose(NULL, true, true, CODING_IDENTITY);
    choose("", true, true, CODING_IDENTITY);
    choose("gzip", true, true, CODING_GZIP);
    choose("br", true, true, CODING_BROTLI);
    choose("gzip, br", true, true, CODING_BROTLI);
    choose("br, gzip", true, true, CODING_BROTLI);
    choose("gzip, deflate, br, zstd", true, true, CODING_BROTLI);
    choose("gzip, br", true, false, CODING_GZIP);
    choose("gzip, br", false, true, CODING_BROTLI);
    choose("gzip, br", false, false, CODING_IDENTITY);
    choose("br", true, false, CODING_IDENTITY);
    choose("gzip;q=1.0, br;q=0.5", true, true, CODING_GZIP);
    choose("gzip;q=0.5, br;q=0.501", true, true, CODING_BROTLI);
    choose("gzip;q=0.8, br;q=0.8", true, true, CODING_BROTLI);
    choose("gzip;q=0", true, true, CODING_IDENTITY);
    choose("gzip;q=0, br", true, true, CODING_BROTLI);
    choose("br;q=0, gzip", true, true, CODING_GZIP);
    choose("br;q=0, gzip;q=0", true, true, CODING_IDENTITY);
    choose("*", true, true, CODING_BROTLI);
    choose("*", true, false, CODING_GZIP);
    choose("*;q=0", true, true, CODING_IDENTITY);
    choose("*;q=0.5, gzip", true, true, CODING_GZIP);
    choose("*, br;q=0", true, true, CODING_GZIP);
    choose("gzip;q=0, *", true, true, CODING_BROTLI);
    choose("gzip;q=0, *", true, false, CODING_IDENTITY);
    choose("identity;q=0", true, true, CODING_IDENTITY);     /* nothing else acceptable: sent as it is */
    choose("identity;q=0, gzip", true, true, CODING_GZIP);
    choose("gzip;q=0.5, identity", true, true, CODING_IDENTITY);
    choose("gzip;q=0.5, identity;q=0.5", true, true, CODING_GZIP);
    choose("identity, gzip", true, true, CODING_GZIP);
    choose("GZIP", true, true, CODING_GZIP);
    choose("Br", true, true, CODING_BROTLI);
    choose("x-gzip", true, true, CODING_GZIP);
    choose("gzip;Q=0", true, true, CODING_IDENTITY);
    choose("  gzip  ;  q=0.3 ,\tbr ; q=0.2 ", true, true, CODING_GZIP);
    choose(" , ,gzip,, ", true, true, CODING_GZIP);
    choose("gzip;q=2", true, true, CODING_IDENTITY);          /* malformed members are ignored */
    choose("gzip;q=, br", true, true, CODING_BROTLI);
    choose("gzip;q=2, br;q=0.1", true, true, CODING_BROTLI);
    choose("gzip br", true, true, CODING_IDENTITY);
    choose("br;q=abc, gzip", true, true, CODING_GZIP);
    choose(";;;", true, true, CODING_IDENTITY);
    choose("brotli, gzipped", true, true, CODING_IDENTITY);
    is_string(content_coding_name(CODING_GZIP), "gzip", "gzip's name");
    is_string(content_coding_name(CODING_BROTLI), "br", "brotli's name");
}

int main(void)
{
    log_threshold = LOG_LEVEL_CRIT;  /* the refusals tested below are logged as errors */
    const size_t sizes[] = { 0, 1, 4095, 4096, 100 * 1024 };
    for (int coding = CODING_GZIP; coding <= CODING_BROTLI; coding++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
            round_trip((content_coding)coding, sizes[i], true, 0);
            round_trip((content_coding)coding, sizes[i], true, 7);
        }
        round_trip((content_coding)coding, 1024 * 1024, false, 0);
        round_trip((content_coding)coding, 1024 * 1024, false, 1000);
        round_trip((content_coding)coding, 1024 * 1024, true, 65536);
    }
    settings();
    spare_streams_reused();
    choices();
    return done_testing();
}
