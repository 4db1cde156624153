/*
 * fuzz_chunked.c — libFuzzer harness for the chunked transfer-coding
 * decoder (http_chunked_decode in src/http/parser.c).
 *
 * Differential: the same body is decoded three ways that must agree on the
 * result, the error, the bytes consumed and the decoded body: in one call;
 * one byte per call (every state boundary becomes a call boundary); and in
 * pieces whose sizes the fuzzer picks.  Each call gets its own allocation of
 * exactly the bytes it is handed, so ASan sees any read past them.
 *
 * Input: byte 0 picks the limits, byte 1 seeds the piece sizes, the rest is
 * the body as it follows a request head.
 */
#include "../src/core/pool.c"
#include "../src/http/parser.c"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(condition)                                                        \
    do {                                                                        \
        if (!(condition)) {                                                     \
            fprintf(stderr, "fuzz_chunked: check failed: %s (line %d)\n",       \
                    #condition, __LINE__);                                      \
            abort();                                                            \
        }                                                                       \
    } while (0)

static const uint32_t limit_choices[][2] = {
    { 4096, 8192 },   /* line, trailers */
    { 8, 16 },
    { 1, 1 },
    { 100000, 100000 },
};

typedef struct {
    int rc;
    int error_status;
    size_t consumed;     /* input bytes used up to WEFT_OK (all of them otherwise) */
    char *body;
    size_t body_length;
} outcome;

/* Feeds input in pieces: piece_size(i) bytes for the i-th call (0 = all
 * that is left).  Stops at WEFT_OK or WEFT_ERROR, as a caller would. */
static outcome decode_in_pieces(const char *input, size_t size, const uint32_t *limits,
                                uint8_t seed, int mode)
{
    outcome result = { WEFT_AGAIN, 0, 0, malloc(size + 1), 0 };
    http_chunked_decoder decoder;
    http_chunked_init(&decoder, limits[0], limits[1]);
    size_t at = 0;
    unsigned call = 0;
    while (at < size) {
        size_t piece = size - at;
        if (mode == 1)
            piece = 1;
        else if (mode == 2) {
            size_t wanted = (size_t)((seed * 7u + call * 13u) % 17u) + 1;
            piece = wanted < piece ? wanted : piece;
        }
        call++;
        char *copy = malloc(piece);
        memcpy(copy, input + at, piece);
        size_t consumed = 0, decoded = 0;
        int rc = http_chunked_decode(&decoder, copy, piece, &consumed, &decoded);
        CHECK(consumed <= piece);
        CHECK(decoded <= consumed);
        memcpy(result.body + result.body_length, copy, decoded);
        result.body_length += decoded;
        free(copy);
        at += consumed;
        result.rc = rc;
        if (rc == WEFT_ERROR) {
            result.error_status = decoder.error_status;
            break;
        }
        if (rc == WEFT_OK)
            break;
        /* WEFT_AGAIN means: everything handed in was used. */
        CHECK(rc == WEFT_AGAIN && consumed == piece);
    }
    result.consumed = at;
    /* A decoder in a final state keeps saying so and takes nothing more. */
    if (result.rc != WEFT_AGAIN) {
        char spare = 'x';
        size_t consumed = 1, decoded = 1;
        CHECK(http_chunked_decode(&decoder, &spare, 1, &consumed, &decoded) == result.rc);
        CHECK(consumed == 0 && decoded == 0);
    }
    return result;
}

static void compare(const outcome *a, const outcome *b)
{
    CHECK(a->rc == b->rc);
    CHECK(a->error_status == b->error_status);
    /* Also on error: where it is found depends on the bytes alone. */
    CHECK(a->consumed == b->consumed);
    CHECK(a->body_length == b->body_length);
    CHECK(memcmp(a->body, b->body, a->body_length) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const uint32_t *limits = limit_choices[data[0] % COUNT_OF(limit_choices)];
    uint8_t seed = data[1];
    const char *input = (const char *)data + 2;
    size -= 2;

    outcome whole = decode_in_pieces(input, size, limits, seed, 0);
    outcome bytes = decode_in_pieces(input, size, limits, seed, 1);
    outcome pieces = decode_in_pieces(input, size, limits, seed, 2);
    compare(&whole, &bytes);
    compare(&whole, &pieces);
    if (whole.rc == WEFT_ERROR)
        CHECK(whole.error_status == 400);
    /* The body can never be longer than what carried it. */
    CHECK(whole.body_length <= whole.consumed);
    free(whole.body);
    free(bytes.body);
    free(pieces.body);
    return 0;
}
