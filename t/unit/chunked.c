/*
 * chunked.c — chunked transfer coding decoder vectors.  Each vector is fed
 * whole, one byte per call, and split in two at every offset; every segment
 * is copied to end right before a PROT_NONE page, so reading past a segment
 * faults.  All runs must decode the same body, consume the same bytes and
 * leave the bytes after the message alone.
 */
#include "../../src/core/pool.c"
#include "../../src/http/parser.c"
#include "tap.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum { VALID = 0, INCOMPLETE = 1, MALFORMED = 400 };

typedef struct {
    uint32_t line;
    uint32_t trailers;
} chunked_limits;

typedef struct {
    const char *name;
    const char *raw;
    size_t size;
    int expect;                    /* VALID, INCOMPLETE (AGAIN after all bytes) or MALFORMED */
    const char *body;              /* decoded body, for VALID and INCOMPLETE */
    size_t body_size;
    size_t after;                  /* bytes after the message: never consumed */
    const chunked_limits *limits;  /* NULL: default_limits */
} chunked_vector;

static const chunked_limits default_limits = { 4096, 8192 };
static const chunked_limits small_limits = { 16, 24 };
static const chunked_limits no_trailers = { 4096, 0 };

#define RAW(text) .raw = (text), .size = sizeof(text) - 1
#define BODY(text) .body = (text), .body_size = sizeof(text) - 1

static const chunked_vector vectors[] = {
    /* ---- valid ---- */
    { "one chunk", RAW("5\r\nhello\r\n0\r\n\r\n"), VALID, BODY("hello") },
    { "two chunks", RAW("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), VALID, BODY("hello world") },
    { "empty body", RAW("0\r\n\r\n"), VALID, BODY("") },
    { "uppercase hex size", RAW("A\r\n0123456789\r\n0\r\n\r\n"), VALID, BODY("0123456789") },
    { "lowercase hex size", RAW("b\r\n0123456789a\r\n0\r\n\r\n"), VALID, BODY("0123456789a") },
    { "two-digit hex size", RAW("1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"), VALID,
      BODY("abcdefghijklmnopqrstuvwxyz") },
    { "leading zeros", RAW("0005\r\nhello\r\n000\r\n\r\n"), VALID, BODY("hello") },
    { "one-byte chunks", RAW("1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n"), VALID, BODY("abc") },
    { "body holding CRLFs", RAW("4\r\n\r\n\r\n\r\n0\r\n\r\n"), VALID, BODY("\r\n\r\n") },
    { "body holding NUL and high bytes", RAW("4\r\n\0\xff\0\x80\r\n0\r\n\r\n"), VALID, BODY("\0\xff\0\x80") },
    { "extension name", RAW("5;foo\r\nhello\r\n0\r\n\r\n"), VALID, BODY("hello") },
    { "extension token value", RAW("5;foo=bar\r\nhello\r\n0\r\n\r\n"), VALID, BODY("hello") },
    { "extension quoted value", RAW("5;foo=\"bar baz\"\r\nhello\r\n0\r\n\r\n"), VALID, BODY("hello") },
    { "extension quoted pair", RAW("5;a=\"x\\\"y\\\\\"\r\nhello\r\n0\r\n\r\n"), VALID, BODY("hello") },
    { "extension quoted obs-text and tab", RAW("5;a=\"\xe9\t!\"\r\nhello\r\n0\r\n\r\n"), VALID, BODY("hello") },
    { "several extensions", RAW("5;a=1;b;c=\"2\"\r\nhello\r\n0\r\n\r\n"), VALID, BODY("hello") },
    { "extensions with BWS", RAW("5 ; a = 1 ;\tb\r\nhello\r\n0\r\n\r\n"), VALID, BODY("hello") },
    { "extension after quoted value and BWS", RAW("5;a=\"1\" ; b\r\nhello\r\n0\r\n\r\n"), VALID, BODY("hello") },
    { "extension with tchar specials", RAW("5;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~\r\nhello\r\n0\r\n\r\n"), VALID,
      BODY("hello") },
    { "extension on the last chunk", RAW("5\r\nhello\r\n0;done=yes\r\n\r\n"), VALID, BODY("hello") },
    { "trailer fields", RAW("5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:\t1 2 \r\n\r\n"), VALID, BODY("hello") },
    { "trailer with empty value", RAW("0\r\nX:\r\n\r\n"), VALID, BODY("") },
    { "trailer with obs-text", RAW("0\r\nX: caf\xc3\xa9\r\n\r\n"), VALID, BODY("") },
    { "next request is not consumed", RAW("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), VALID, BODY("hello"),
      .after = 16 },
    { "next chunk-like bytes are not consumed", RAW("0\r\n\r\n5\r\nhello\r\n"), VALID, BODY(""), .after = 10 },
    { "size line exactly at the limit", RAW("0000000000000005\r\nhello\r\n0\r\n\r\n"), VALID, BODY("hello"),
      .limits = &small_limits },
    { "extension line exactly at the limit", RAW("5;abcdefghijklmn\r\nhello\r\n0\r\n\r\n"), VALID,
      BODY("hello"), .limits = &small_limits },
    { "trailers exactly at the limit", RAW("0\r\nA: 1234567\r\nB: 1234567\r\n\r\n"), VALID, BODY(""),
      .limits = &small_limits },
    { "no trailers allowed, none sent", RAW("3\r\nabc\r\n0\r\n\r\n"), VALID, BODY("abc"), .limits = &no_trailers },
    { "largest chunk size, data still coming", RAW("7fffffffffffffff\r\nabc"), INCOMPLETE, BODY("abc") },
    { "chunk not yet complete", RAW("10\r\n0123456789"), INCOMPLETE, BODY("0123456789") },
    { "waiting for the trailer section", RAW("2\r\nab\r\n0\r\nX: 1\r\n"), INCOMPLETE, BODY("ab") },

    /* ---- malformed ---- */
    { "empty size line", RAW("\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "non-hex size", RAW("g\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "0x prefix", RAW("0x5\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "negative size", RAW("-5\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "plus sign", RAW("+5\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "whitespace before size", RAW(" 5\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "whitespace after size without extension", RAW("5 \r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "size 2^63", RAW("8000000000000000\r\n"), MALFORMED },
    { "size 2^64 - 1", RAW("ffffffffffffffff\r\n"), MALFORMED },
    { "size with 17 digits", RAW("10000000000000000\r\n"), MALFORMED },
    { "size far beyond 2^64", RAW("123456789abcdef0123456789\r\n"), MALFORMED },
    { "bare LF after size", RAW("5\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "bare CR after size", RAW("5\rhello\r\n0\r\n\r\n"), MALFORMED },
    { "data longer than the size", RAW("5\r\nhello!\r\n0\r\n\r\n"), MALFORMED },
    { "data shorter than the size", RAW("6\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "bare LF after data", RAW("5\r\nhello\n0\r\n\r\n"), MALFORMED },
    { "CR without LF after data", RAW("5\r\nhello\rX0\r\n\r\n"), MALFORMED },
    { "no CRLF after data", RAW("5\r\nhello0\r\n\r\n"), MALFORMED },
    { "bad size after a good chunk", RAW("5\r\nhello\r\nz\r\n"), MALFORMED },
    { "size line over the limit", RAW("00000000000000005\r\nhello\r\n0\r\n\r\n"), MALFORMED,
      .limits = &small_limits },
    { "extension over the limit", RAW("5;abcdefghijklmno\r\nhello\r\n0\r\n\r\n"), MALFORMED,
      .limits = &small_limits },
    { "endless extension", RAW("5;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), MALFORMED, .limits = &small_limits },
    { "extension without name", RAW("5;\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "extension with empty name", RAW("5;=1\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "extension with empty value", RAW("5;a=\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "extension with trailing BWS", RAW("5;a \r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "extension value with trailing BWS", RAW("5;a=1 \r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "extension name with a space", RAW("5;a b\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "extension value with a delimiter", RAW("5;a=b/c\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "extension with unterminated quote", RAW("5;a=\"bc\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "extension with control in quotes", RAW("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "extension with junk after quotes", RAW("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "extension with NUL", RAW("5;a\0\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "trailer folded", RAW("0\r\nX: 1\r\n 2\r\n\r\n"), MALFORMED },
    { "trailer space before colon", RAW("0\r\nX : 1\r\n\r\n"), MALFORMED },
    { "trailer bare LF", RAW("0\r\nX: 1\n\r\n"), MALFORMED },
    { "underscore in size", RAW("1_0\r\n0123456789abcdef\r\n0\r\n\r\n"), MALFORMED },
    { "a request where the trailer section should be",
      RAW("0\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"), MALFORMED },
    { "size 2^64 + 5 (longest-prefix trick)", RAW("10000000000000005\r\nhello\r\n0\r\n\r\n"), MALFORMED },
    { "trailer bare CR", RAW("0\r\nX: 1\r2\r\n\r\n"), MALFORMED },
    { "trailer without colon", RAW("0\r\nX\r\n\r\n"), MALFORMED },
    { "trailer with empty name", RAW("0\r\n: 1\r\n\r\n"), MALFORMED },
    { "trailer with NUL", RAW("0\r\nX: \0\r\n\r\n"), MALFORMED },
    { "trailers over the limit", RAW("0\r\nA: 1234567\r\nB: 12345678\r\n\r\n"), MALFORMED, .limits = &small_limits },
    { "trailer when none are allowed", RAW("0\r\nX: 1\r\n\r\n"), MALFORMED, .limits = &no_trailers },
    { "bare LF ends the message", RAW("0\r\n\n"), MALFORMED },
    { "CR and junk end the message", RAW("0\r\n\rX"), MALFORMED },
};

/* ---------------------------------------------------------------------- */

static char *guard_area;
static size_t guard_area_size;

static void guard_setup(size_t largest)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    guard_area_size = (largest + page - 1) / page * page;
    guard_area = mmap(NULL, guard_area_size + page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard_area == MAP_FAILED || mprotect(guard_area + guard_area_size, page, PROT_NONE) != 0) {
        perror("guard page");
        exit(1);
    }
}

/* Feeds the vector as segments ending at cuts[0] < cuts[1] < ... = size,
 * each given alone, the way a caller passes only new bytes. */
static bool run_segments(const chunked_vector *v, const size_t *cuts, size_t cut_count,
                         char *why, size_t why_size)
{
    const chunked_limits *limits = v->limits ? v->limits : &default_limits;
    http_chunked_decoder decoder;
    char *body = malloc(v->size + 1);
    size_t body_size = 0, start = 0, total_consumed = 0;
    int rc = WEFT_AGAIN;
    bool passed = false;

    http_chunked_init(&decoder, limits->line, limits->trailers);
    for (size_t i = 0; i < cut_count && rc == WEFT_AGAIN; i++) {
        size_t length = cuts[i] - start;
        char *segment = guard_area + guard_area_size - length;
        size_t consumed = 99999, decoded = 99999;
        memcpy(segment, v->raw + start, length);
        rc = http_chunked_decode(&decoder, segment, length, &consumed, &decoded);
        if (consumed > length || decoded > consumed) {
            snprintf(why, why_size, "segment at %zu: consumed %zu decoded %zu of %zu", start, consumed,
                     decoded, length);
            goto out;
        }
        if (rc == WEFT_AGAIN && consumed != length) {
            snprintf(why, why_size, "AGAIN left %zu bytes unconsumed", length - consumed);
            goto out;
        }
        if (memcmp(segment + consumed, v->raw + start + consumed, length - consumed) != 0) {
            snprintf(why, why_size, "bytes after the consumed ones were changed");
            goto out;
        }
        memcpy(body + body_size, segment, decoded);
        body_size += decoded;
        total_consumed += consumed;
        start = cuts[i];
    }

    if (v->expect == MALFORMED) {
        if (rc != WEFT_ERROR || decoder.error_status != 400)
            snprintf(why, why_size, "rc %d status %d, expected a 400", rc, decoder.error_status);
        else
            passed = true;
        goto out;
    }
    int expected_rc = v->expect == VALID ? WEFT_OK : WEFT_AGAIN;
    if (rc != expected_rc)
        snprintf(why, why_size, "rc %d, expected %d", rc, expected_rc);
    else if (total_consumed != v->size - v->after)
        snprintf(why, why_size, "consumed %zu, expected %zu", total_consumed, v->size - v->after);
    else if (body_size != v->body_size || memcmp(body, v->body, body_size) != 0)
        snprintf(why, why_size, "body of %zu bytes differs (expected %zu)", body_size, v->body_size);
    else
        passed = true;
out:
    free(body);
    return passed;
}

static void run_vector(const chunked_vector *v)
{
    char why[256] = "";
    size_t whole[] = { v->size };
    bool passed = run_segments(v, whole, 1, why, sizeof(why));
    ok(passed, "%s: whole", v->name);
    if (!passed)
        note("  %s", why);

    size_t *cuts = malloc((v->size + 1) * sizeof(*cuts));
    for (size_t i = 0; i < v->size; i++)
        cuts[i] = i + 1;
    passed = run_segments(v, cuts, v->size, why, sizeof(why));
    ok(passed, "%s: byte by byte", v->name);
    if (!passed)
        note("  %s", why);

    passed = true;
    for (size_t split = 0; split <= v->size && passed; split++) {
        size_t two[] = { split, v->size };
        passed = run_segments(v, two, 2, why, sizeof(why));
        if (!passed)
            note("  split at %zu: %s", split, why);
    }
    ok(passed, "%s: split in two at every offset", v->name);
    free(cuts);
}

static void test_finished_decoder(void)
{
    http_chunked_decoder decoder;
    char data[] = "0\r\n\r\nrest";
    size_t consumed, decoded;
    http_chunked_init(&decoder, 64, 64);
    is_int(http_chunked_decode(&decoder, data, sizeof(data) - 1, &consumed, &decoded), WEFT_OK, "finished: OK");
    is_int(consumed, 5, "finished: consumed the last chunk only");
    is_int(http_chunked_decode(&decoder, data + 5, 4, &consumed, &decoded), WEFT_OK, "finished: stays OK");
    ok(consumed == 0 && decoded == 0, "finished: consumes nothing more");

    char bad[] = "x\r\n";
    http_chunked_init(&decoder, 64, 64);
    is_int(http_chunked_decode(&decoder, bad, 3, &consumed, &decoded), WEFT_ERROR, "error: reported");
    is_int(http_chunked_decode(&decoder, bad, 3, &consumed, &decoded), WEFT_ERROR, "error: sticky");
}

static void test_empty_input(void)
{
    http_chunked_decoder decoder;
    size_t consumed = 1, decoded = 1;
    http_chunked_init(&decoder, 64, 64);
    is_int(http_chunked_decode(&decoder, guard_area + guard_area_size, 0, &consumed, &decoded), WEFT_AGAIN,
           "empty input: AGAIN");
    ok(consumed == 0 && decoded == 0, "empty input: nothing consumed or decoded");
}

int main(void)
{
    size_t largest = 1;
    for (size_t i = 0; i < COUNT_OF(vectors); i++)
        if (vectors[i].size > largest)
            largest = vectors[i].size;
    guard_setup(largest);

    note("%zu chunked vectors", COUNT_OF(vectors));
    for (size_t i = 0; i < COUNT_OF(vectors); i++)
        run_vector(&vectors[i]);
    test_finished_decoder();
    test_empty_input();
    return done_testing();
}
