/*
 * fastcgi.c — FastCGI records (src/modules/fastcgi.c).  The encoder's
 * bytes are checked against the specification's layout; a stream of
 * records (STDOUT with padding, STDERR, an empty record, END_REQUEST) is
 * decoded whole, one byte per call, and split in two at every offset (each
 * prefix, then the rest): every way must report the same STDOUT and
 * STDERR bytes, the same record ends and the same END_REQUEST.  PARAMS
 * records hold whole name-value pairs; malformed input is refused.
 */
#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/modules/fastcgi.c"
#include "tap.h"

#include <stdlib.h>

typedef struct {
    buffer stdout_bytes;
    buffer stderr_bytes;
    int record_ends;
    int end_requests;
    uint32_t app_status;
    int protocol_status;
    bool error;
} outcome;

/* Feeds data to d in one call; the pieces go into out. */
static void feed(fcgi_decoder *d, const char *data, size_t length, outcome *out)
{
    size_t at = 0;
    for (int guard = 0; guard < 100000; guard++) {
        size_t consumed = 0;
        fcgi_piece piece;
        int rc = fcgi_decode(d, data + at, length - at, &consumed, &piece);
        at += consumed;
        if (rc == WEFT_ERROR) {
            out->error = true;
            return;
        }
        if (rc == WEFT_AGAIN) {
            if (at != length)
                out->error = true;  /* AGAIN must mean: all of it used */
            return;
        }
        if (piece.record_end) {
            out->record_ends++;
            if (piece.type == FCGI_END_REQUEST) {
                out->end_requests++;
                out->app_status = piece.app_status;
                out->protocol_status = piece.protocol_status;
            }
        } else if (piece.type == FCGI_STDOUT) {
            buffer_append(&out->stdout_bytes, piece.data, piece.length);
        } else if (piece.type == FCGI_STDERR) {
            buffer_append(&out->stderr_bytes, piece.data, piece.length);
        }
    }
    out->error = true;
}

static bool same(const outcome *a, const outcome *b)
{
    return a->error == b->error && a->record_ends == b->record_ends && a->end_requests == b->end_requests &&
           a->app_status == b->app_status && a->protocol_status == b->protocol_status &&
           a->stdout_bytes.length == b->stdout_bytes.length &&
           (a->stdout_bytes.length == 0 || memcmp(a->stdout_bytes.data, b->stdout_bytes.data, a->stdout_bytes.length) == 0) &&
           a->stderr_bytes.length == b->stderr_bytes.length &&
           (a->stderr_bytes.length == 0 || memcmp(a->stderr_bytes.data, b->stderr_bytes.data, a->stderr_bytes.length) == 0);
}

static void reset(outcome *o)
{
    buffer_free(&o->stdout_bytes);
    buffer_free(&o->stderr_bytes);
    memset(o, 0, sizeof(*o));
}

/* A record with padding, as php-fpm pads to 8 bytes. */
static void append_padded(buffer *b, int type, const char *content, size_t length, size_t padding)
{
    unsigned char header[8] = { 1, (unsigned char)type, 0, 1, (unsigned char)(length >> 8), (unsigned char)length,
                                (unsigned char)padding, 0 };
    buffer_append(b, header, 8);
    buffer_append(b, content, length);
    for (size_t i = 0; i < padding; i++)
        buffer_append_char(b, 0);
}

static void test_encoder(void)
{
    buffer b = { 0 };
    fcgi_append_begin(&b, 1, true);
    static const unsigned char begin[] = { 1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0 };
    ok(b.length == sizeof(begin) && memcmp(b.data, begin, sizeof(begin)) == 0, "BEGIN_REQUEST: responder, keep-conn");
    buffer_clear(&b);

    fcgi_append_pair(&b, "A", 1, "xyz", 3);
    static const unsigned char short_pair[] = { 1, 3, 'A', 'x', 'y', 'z' };
    ok(b.length == sizeof(short_pair) && memcmp(b.data, short_pair, sizeof(short_pair)) == 0,
       "a short pair: one-byte lengths");
    buffer_clear(&b);

    char *long_value = malloc(300);
    memset(long_value, 'v', 300);
    fcgi_append_pair(&b, "LONG", 4, long_value, 300);
    static const unsigned char long_head[] = { 4, 0x80, 0, 1, 44, 'L', 'O', 'N', 'G' };
    ok(b.length == sizeof(long_head) + 300 && memcmp(b.data, long_head, sizeof(long_head)) == 0,
       "a 300-byte value: a four-byte length with the high bit");
    buffer_clear(&b);

    /* PARAMS: whole pairs per record, then the empty record. */
    buffer pairs = { 0 };
    char *value = malloc(40000);
    memset(value, 'p', 40000);
    fcgi_append_pair(&pairs, "ONE", 3, value, 40000);
    fcgi_append_pair(&pairs, "TWO", 3, value, 40000);
    size_t first_pair = 1 + 4 + 3 + 40000;  /* name length, value length, name, value */
    ok(fcgi_append_params(&b, 1, pairs.data, pairs.length), "two 40 KB pairs as PARAMS");
    const unsigned char *p = (const unsigned char *)b.data;
    size_t first_length = ((size_t)p[4] << 8) | p[5];
    is_int(first_length, first_pair, "the first record holds the first pair whole");
    const unsigned char *second = p + 8 + first_length;
    is_int(((size_t)second[4] << 8) | second[5], first_pair, "the second record the second pair");
    const unsigned char *last = second + 8 + first_pair;
    ok(last[1] == FCGI_PARAMS && last[4] == 0 && last[5] == 0 && (size_t)(last + 8 - p) == b.length,
       "then the empty PARAMS record");
    buffer_clear(&b);
    buffer_clear(&pairs);
    char *huge = malloc(70000);
    memset(huge, 'h', 70000);
    fcgi_append_pair(&pairs, "HUGE", 4, huge, 70000);
    ok(!fcgi_append_params(&b, 1, pairs.data, pairs.length), "a pair larger than a record is refused");
    buffer_clear(&b);

    /* STDIN in records of at most 65535 bytes. */
    fcgi_append_stream(&b, FCGI_STDIN, 1, huge, 70000);
    p = (const unsigned char *)b.data;
    is_int(((size_t)p[4] << 8) | p[5], 65535, "a long stream: a full record first");
    const unsigned char *rest = p + 8 + 65535;
    is_int(((size_t)rest[4] << 8) | rest[5], 70000 - 65535, "then the rest");
    is_int(b.length, 16 + 70000, "and nothing else");
    free(long_value);
    free(value);
    free(huge);
    buffer_free(&b);
    buffer_free(&pairs);
}

static void test_decoder(void)
{
    buffer stream = { 0 };
    append_padded(&stream, FCGI_STDOUT, "Status: 200\r\nContent-Type: text/plain\r\n\r\n", 41, 7);
    append_padded(&stream, FCGI_STDERR, "warning: x\n", 11, 5);
    append_padded(&stream, FCGI_STDOUT, "body bytes", 10, 0);
    append_padded(&stream, FCGI_STDOUT, "", 0, 0);
    append_padded(&stream, FCGI_STDERR, "", 0, 0);
    static const char end[8] = { 0, 0, 1, 2, 0, 0, 0, 0 };
    append_padded(&stream, FCGI_END_REQUEST, end, 8, 0);

    outcome whole = { 0 };
    fcgi_decoder d;
    fcgi_decoder_init(&d);
    feed(&d, stream.data, stream.length, &whole);
    ok(!whole.error, "a record stream decodes");
    is_int(whole.stdout_bytes.length, 51, "STDOUT's bytes");
    ok(whole.stdout_bytes.length == 51 &&
       memcmp(whole.stdout_bytes.data, "Status: 200\r\nContent-Type: text/plain\r\n\r\nbody bytes", 51) == 0,
       "STDOUT in order, padding dropped");
    is_int(whole.stderr_bytes.length, 11, "STDERR's bytes");
    is_int(whole.record_ends, 6, "six record ends (empty records too)");
    is_int(whole.end_requests, 1, "one END_REQUEST");
    is_int(whole.app_status, 258, "its application status");
    is_int(whole.protocol_status, FCGI_REQUEST_COMPLETE, "its protocol status");

    outcome bytes = { 0 };
    fcgi_decoder_init(&d);
    for (size_t i = 0; i < stream.length; i++)
        feed(&d, stream.data + i, 1, &bytes);
    ok(same(&whole, &bytes), "byte by byte: the same");
    reset(&bytes);

    int split_failures = 0;
    for (size_t split = 0; split <= stream.length; split++) {
        outcome parts = { 0 };
        fcgi_decoder_init(&d);
        feed(&d, stream.data, split, &parts);
        feed(&d, stream.data + split, stream.length - split, &parts);
        if (!same(&whole, &parts))
            split_failures++;
        reset(&parts);
    }
    is_int(split_failures, 0, "every prefix, then the rest (%zu splits): the same", stream.length + 1);

    /* Each proper prefix alone reports no END_REQUEST and no error. */
    int prefix_failures = 0;
    for (size_t length = 0; length < stream.length; length++) {
        outcome prefix = { 0 };
        fcgi_decoder_init(&d);
        feed(&d, stream.data, length, &prefix);
        if (prefix.error || prefix.end_requests)
            prefix_failures++;
        reset(&prefix);
    }
    is_int(prefix_failures, 0, "no prefix ends the request or fails");
    reset(&whole);

    /* Malformed. */
    outcome bad = { 0 };
    static const char wrong_version[] = { 2, 6, 0, 1, 0, 0, 0, 0 };
    fcgi_decoder_init(&d);
    feed(&d, wrong_version, sizeof(wrong_version), &bad);
    ok(bad.error, "a version other than 1 is refused");
    reset(&bad);
    static const char short_end[] = { 1, 3, 0, 1, 0, 4, 0, 0, 0, 0, 0, 0 };
    fcgi_decoder_init(&d);
    feed(&d, short_end, sizeof(short_end), &bad);
    ok(bad.error, "an END_REQUEST of 4 bytes is refused");
    reset(&bad);
    buffer_free(&stream);
}

int main(void)
{
    test_encoder();
    test_decoder();
    return done_testing();
}
