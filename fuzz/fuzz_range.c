/*
 * fuzz_range.c — libFuzzer harness for the Range parser and the
 * multipart/byteranges layout (src/http/range.c).
 *
 * Invariants: a partial result has 1..max_ranges ranges, each inside the
 * representation (0 <= first <= last < length), adding up to no more bytes
 * than the representation has (a hostile Range never costs more than a
 * 200); Content-Range fits its 72-byte buffer; the multipart body's length
 * is the sum of its pieces.
 * Input: bytes 0-7 the representation length, byte 8 the limits, the rest
 * is the Range field value.
 */
#include "../src/core/buffer.c"
#include "../src/core/pool.c"
#include "../src/http/range.c"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(condition)                                                        \
    do {                                                                        \
        if (!(condition)) {                                                     \
            fprintf(stderr, "fuzz_range: check failed: %s (line %d)\n",         \
                    #condition, __LINE__);                                      \
            abort();                                                            \
        }                                                                       \
    } while (0)

static const http_range_limits limit_choices[] = {
    { 200, RANGE_UNLIMITED, RANGE_UNLIMITED },   /* Apache's defaults */
    { RANGE_UNLIMITED, RANGE_UNLIMITED, RANGE_UNLIMITED },
    { 1, 0, 0 },
    { 0, 0, 0 },
    { 5, 2, 1 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    uint64_t raw_length = 0;
    for (int i = 0; i < 8; i++)
        raw_length = raw_length << 8 | data[i];
    /* Mostly small lengths (where ranges land inside), sometimes any
     * length up to 2^63 - 1 (the sums in range.c once overflowed there:
     * fuzz/corpus/range/regress-multipart-sum-overflow). */
    int64_t length = (int64_t)(raw_length & INT64_MAX);
    if (!(raw_length >> 63))
        length %= 100000;
    const http_range_limits *limits = &limit_choices[data[8] % COUNT_OF(limit_choices)];
    size -= 9;
    char *value = malloc(size ? size : 1);
    memcpy(value, data + 9, size);
    pool *p = pool_create(1024);

    http_byte_range *ranges = NULL;
    int count = -1;
    http_range_result result = http_range_parse((slice){ value, size }, length, limits, p, &ranges, &count);
    if (result == RANGE_PARTIAL) {
        CHECK(count >= 1 && ranges);
        if (limits->max_ranges != RANGE_UNLIMITED)
            CHECK(count <= limits->max_ranges);
        int64_t total = 0;
        for (int i = 0; i < count; i++) {
            CHECK(ranges[i].first >= 0 && ranges[i].first <= ranges[i].last && ranges[i].last < length);
            total += ranges[i].last - ranges[i].first + 1;
            CHECK(total <= length);
            char text[72];
            size_t n = http_content_range(text, &ranges[i], length);
            CHECK(n < sizeof(text) && strlen(text) == n);
        }
        body_piece *pieces = NULL;
        int64_t body_total = 0;
        int piece_count = http_range_multipart(p, ranges, count, length, count % 2 ? "text/plain" : NULL,
                                               "0123456789abcdef", &pieces, &body_total);
        CHECK(piece_count == 2 * count + 1);
        int64_t sum = 0;
        for (int i = 0; i < piece_count; i++) {
            if (pieces[i].data)
                CHECK(memchr(pieces[i].data, '\0', pieces[i].length) == NULL);
            sum += (int64_t)pieces[i].length;
        }
        CHECK(sum == body_total);
    } else {
        CHECK(result == RANGE_IGNORE || result == RANGE_UNSATISFIABLE);
        CHECK(ranges == NULL && count == 0);
    }

    pool_destroy(p);
    free(value);
    return 0;
}
