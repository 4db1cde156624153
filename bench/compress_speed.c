/*
 * compress_speed.c — how fast weft's compressors (src/modules/compress.c)
 * compress a file, per gzip level and brotli quality: MB/s of input and the
 * ratio.  One thread, the whole file per stream, as a compressed response
 * of a cached file is made.  Rates are per second of this process's CPU
 * time (CLOCK_PROCESS_CPUTIME_ID), so other load on the machine matters
 * less than it would to wall-clock rates.
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -pthread -Isrc -o build/compress_speed \
 *      bench/compress_speed.c -lz -lbrotlienc
 *   build/compress_speed FILE [SECONDS_PER_SETTING]
 */
#include "../src/core/buffer.c"
#include "../src/core/pool.c"
#include "../src/core/log.c"
#include "../src/core/blocking.c"
#include "../src/core/piped_log.c"
#include "../src/http/negotiate.c"
#include "../src/modules/compress.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void measure(const char *label, content_coding coding, const gzip_settings *gzip,
                    const brotli_settings *brotli, const char *data, size_t length, double seconds)
{
    pool *p = pool_create(4096);
    buffer out = { 0 };
    size_t streams = 0, produced = 0;
    double start = now(), elapsed;
    do {
        compressor *z = compressor_create(p, coding, gzip, brotli);
        out.length = 0;
        if (!z || compressor_write(z, data, length, true, &out) != WEFT_OK) {
            fprintf(stderr, "%s: compression failed\n", label);
            exit(1);
        }
        produced = out.length;
        streams++;
        pool_reset(p);
        elapsed = now() - start;
    } while (elapsed < seconds);
    printf("%-22s %9.1f MB/s  %8.0f µs CPU/stream  %8zu -> %7zu bytes (%.2f:1)\n", label,
           (double)length * (double)streams / elapsed / 1e6, elapsed / (double)streams * 1e6, length, produced,
           produced ? (double)length / (double)produced : 0.0);
    buffer_free(&out);
    pool_destroy(p);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [SECONDS_PER_SETTING]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 0.5;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    buffer data = { 0 };
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buffer_append(&data, chunk, n);
    fclose(f);
    char label[64];
    for (int level = 1; level <= 9; level++) {
        gzip_settings g = { level, 15, 9 };
        snprintf(label, sizeof(label), "gzip level %d", level);
        measure(label, CODING_GZIP, &g, NULL, data.data, data.length, seconds);
    }
    for (int quality = 0; quality <= 11; quality++) {
        brotli_settings b = { quality, 18 };
        snprintf(label, sizeof(label), "brotli quality %d", quality);
        measure(label, CODING_BROTLI, NULL, &b, data.data, data.length, seconds);
    }
    buffer_free(&data);
    return 0;
}
