/* Unit tests for src/http/range.c: Range syntax (valid, invalid, 30+
 * malformed fields), satisfiability, Apache's coalescing and limits, and
 * the exact bytes of a multipart/byteranges body. */
#include "tap.h"

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/http/range.c"

static pool *test_pool;
static const http_range_limits apache_limits = { 200, 20, 20 };

/* Parses value for a representation of length bytes; "expected" lists the
 * coalesced ranges as "a-b,c-d" (RANGE_PARTIAL), or is "ignore" or "416". */
static void check_limits(const char *value, int64_t length, const http_range_limits *limits,
                         const char *expected)
{
    http_byte_range *ranges;
    int count;
    http_range_result result = http_range_parse(slice_from_string(value), length, limits, test_pool,
                                                &ranges, &count);
    char got[512] = "";
    if (result == RANGE_IGNORE) {
        strcpy(got, "ignore");
    } else if (result == RANGE_UNSATISFIABLE) {
        strcpy(got, "416");
    } else {
        size_t at = 0;
        for (int i = 0; i < count && at < sizeof(got) - 48; i++)
            at += (size_t)snprintf(got + at, sizeof(got) - at, "%s%lld-%lld", i ? "," : "",
                                   (long long)ranges[i].first, (long long)ranges[i].last);
    }
    is_string(got, expected, "Range '%s' on %lld bytes", value, (long long)length);
}

static void check(const char *value, int64_t length, const char *expected)
{
    check_limits(value, length, &apache_limits, expected);
}

static void test_valid(void)
{
    check("bytes=0-0", 100, "0-0");
    check("bytes=0-9", 100, "0-9");
    check("bytes=10-", 100, "10-99");
    check("bytes=-10", 100, "90-99");
    check("bytes=-1", 100, "99-99");
    check("bytes=-100", 100, "0-99");
    check("bytes=-1000", 100, "0-99");
    check("bytes=0-", 100, "0-99");
    check("bytes=99-", 100, "99-99");
    check("bytes=90-1000", 100, "90-99");
    check("bytes=0-99999999999999999999999", 100, "0-99");
    check("BYTES=0-1", 100, "0-1");
    check("Bytes=0-1", 100, "0-1");
    check("bytes=0-1,5-6", 100, "0-1,5-6");
    check("bytes=0-1, 5-6", 100, "0-1,5-6");
    check("bytes=0-1 ,5-6", 100, "0-1,5-6");
    check("bytes=0-1,\t5-6", 100, "0-1,5-6");
    check("bytes=0-1,,5-6", 100, "0-1,5-6");
    check("bytes=,0-1", 100, "0-1");
    check("bytes=0-1,", 100, "0-1");
    check("bytes=0-1,-5", 100, "0-1,95-99");
    check("bytes=0-1,200-300", 100, "0-1");     /* the unsatisfiable one is dropped */
    check("bytes=200-300,5-5", 100, "5-5");
    check("bytes=007-008", 100, "7-8");
}

static void test_unsatisfiable(void)
{
    check("bytes=100-", 100, "416");
    check("bytes=100-200", 100, "416");
    check("bytes=1000-", 100, "416");
    check("bytes=-0", 100, "416");
    check("bytes=100-100,200-", 100, "416");
    check("bytes=99999999999999999999999-", 100, "416");
    check("bytes=-0,-0", 100, "416");
}

static void test_malformed(void)
{
    /* Each of these voids the field: 200 with the whole file. */
    const char *malformed[] = {
        "bytes",            "bytes=",           "bytes= ",          "bytes=,",
        "bytes=-",          "bytes=--5",        "bytes=5--6",       "bytes=5-6-7",
        "bytes=a-b",        "bytes=5-a",        "bytes=a-5",        "bytes=0x10-0x20",
        "bytes=+5-6",       "bytes=5-+6",       "bytes=-+5",        "bytes=5 -6",
        "bytes=5- 6",       "bytes=5",          "bytes=10-5",       "bytes=1.5-2",
        "bytes = 0-1",      "bytes =0-1",       "bytes:0-1",        "byte=0-1",
        "bites=0-1",        "items=0-1",        "0-1",              "=0-1",
        "bytes=0-1;5-6",    "bytes=0-1 5-6",    "bytes=0-1,5-6,x",  "bytes=0-1,10-5",
        "bytes=0-1\x01",    "bytes=\xff-1",     "bytes=-5-",        "bytes=5-6,-",
        "bytes= 0-1",       "bytes=\t0-1",      "bytes= ,0-1",
    };
    for (size_t i = 0; i < COUNT_OF(malformed); i++)
        check(malformed[i], 100, "ignore");
    /* Unsatisfiable parts do not rescue a malformed one. */
    check("bytes=200-300,x", 100, "ignore");
    /* An empty representation ignores Range, as Apache does. */
    check("bytes=0-1", 0, "ignore");
    check("bytes=-5", 0, "ignore");
}

static void test_coalescing(void)
{
    check("bytes=0-5,3-8", 100, "0-8");             /* overlap */
    check("bytes=0-5,6-8", 100, "0-8");             /* adjacent */
    check("bytes=0-5,7-8", 100, "0-5,7-8");         /* a gap of one byte stays */
    check("bytes=5-8,0-4", 100, "0-8");             /* a reversal that joins */
    check("bytes=10-20,0-5", 100, "10-20,0-5");     /* order is kept when they do not touch */
    check("bytes=0-10,2-3", 100, "0-10");           /* contained */
    check("bytes=0-1,0-1", 100, "0-1");
    check("bytes=-10,90-", 100, "90-99");
    /* Apache coalesces against the run being built only, so a range that
     * repeats an earlier run stays separate; the total may then exceed the
     * file and the field is ignored. */
    check("bytes=0-59,70-79,0-59", 100, "ignore");
    check("bytes=0-9,20-29,0-9", 100, "0-9,20-29,0-9");
}

static void test_limits(void)
{
    /* 201 separate ranges > MaxRanges 200: ignored; 200 are fine. */
    char value[4096] = "bytes=";
    for (int i = 0; i < 201; i++)
        snprintf(value + strlen(value), sizeof(value) - strlen(value), "%s%d-%d", i ? "," : "", i * 3, i * 3);
    check(value, 1000, "ignore");
    char *last_comma = strrchr(value, ',');
    *last_comma = '\0';
    http_byte_range *ranges;
    int count;
    ok(http_range_parse(slice_from_string(value), 1000, &apache_limits, test_pool, &ranges, &count) ==
           RANGE_PARTIAL && count == 200, "200 ranges are served");

    http_range_limits two = { 2, RANGE_UNLIMITED, RANGE_UNLIMITED };
    check_limits("bytes=0-1,3-4", 100, &two, "0-1,3-4");
    check_limits("bytes=0-1,3-4,6-7", 100, &two, "ignore");
    check_limits("bytes=0-1,1-2,2-3,3-4", 100, &two, "0-4");   /* coalesced first, then counted */

    http_range_limits none = { 0, 20, 20 };
    check_limits("bytes=0-1", 100, &none, "ignore");

    /* 21 overlaps > 20: ignored; 20 are fine. */
    strcpy(value, "bytes=0-10");
    for (int i = 0; i < 20; i++)
        strcat(value, ",0-10");
    check(value, 100, "0-10");
    strcat(value, ",0-10");
    check(value, 100, "ignore");
    http_range_limits no_overlaps = { 200, 0, RANGE_UNLIMITED };
    check_limits("bytes=0-10,5-6", 100, &no_overlaps, "ignore");

    /* Reversals: each range starting before the run and joining it. */
    strcpy(value, "bytes=80-80");
    for (int i = 79; i >= 59; i--)
        snprintf(value + strlen(value), sizeof(value) - strlen(value), ",%d-%d", i, i);
    check(value, 100, "ignore");  /* 21 reversals */
    http_range_limits unlimited = { RANGE_UNLIMITED, RANGE_UNLIMITED, RANGE_UNLIMITED };
    check_limits(value, 100, &unlimited, "59-80");
}

static void test_content_range(void)
{
    char out[80];
    http_byte_range range = { 0, 9 };
    size_t length = http_content_range(out, &range, 100);
    is_string(out, "bytes 0-9/100", "Content-Range text");
    is_int(length, 13, "its length");
    range = (http_byte_range){ INT64_MAX - 1, INT64_MAX - 1 };
    http_content_range(out, &range, INT64_MAX);
    is_string(out, "bytes 9223372036854775806-9223372036854775806/9223372036854775807",
              "Content-Range with the largest numbers fits");
}

static void test_multipart(void)
{
    http_byte_range ranges[] = { { 0, 1 }, { 5, 6 } };
    body_piece *pieces;
    int64_t total;
    int count = http_range_multipart(test_pool, ranges, 2, 49, "text/plain", "B0UND", &pieces, &total);
    is_int(count, 5, "two ranges: head, file, head, file, tail");
    /* Render with a stand-in for the file: 'f' repeated. */
    char rendered[1024];
    size_t at = 0;
    for (int i = 0; i < count; i++) {
        if (pieces[i].data) {
            memcpy(rendered + at, pieces[i].data, pieces[i].length);
        } else {
            char digits[8];
            snprintf(digits, sizeof(digits), "%lld", (long long)pieces[i].offset);
            memset(rendered + at, digits[0], pieces[i].length);
        }
        at += pieces[i].length;
    }
    rendered[at] = '\0';
    is_string(rendered,
              "--B0UND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/49\r\n\r\n00\r\n"
              "--B0UND\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/49\r\n\r\n55\r\n"
              "--B0UND--\r\n",
              "the exact multipart body");
    is_int(total, (long long)at, "total is the sum of the pieces");
    ok(pieces[1].data == NULL && pieces[1].offset == 0 && pieces[1].length == 2, "first file piece");
    ok(pieces[3].data == NULL && pieces[3].offset == 5 && pieces[3].length == 2, "second file piece");

    count = http_range_multipart(test_pool, ranges, 2, 49, NULL, "x", &pieces, &total);
    ok(count == 5 && strncmp(pieces[0].data, "--x\r\nContent-Range: bytes 0-1/49\r\n\r\n", pieces[0].length) == 0 &&
           pieces[0].length == strlen("--x\r\nContent-Range: bytes 0-1/49\r\n\r\n"),
       "no Content-Type line without a type");
}

int main(void)
{
    test_pool = pool_create(4096);
    test_valid();
    test_unsatisfiable();
    test_malformed();
    test_coalescing();
    test_limits();
    test_content_range();
    test_multipart();
    pool_destroy(test_pool);
    return done_testing();
}
