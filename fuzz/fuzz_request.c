/*
 * fuzz_request.c — libFuzzer harness for the request-head parser
 * (src/http/parser.c).
 *
 * Differential: the same bytes are parsed whole in one call, and split at a
 * point the fuzzer chooses (two calls, the first on a buffer that ends
 * exactly at the split, so ASan sees any read past what was handed in).
 * parser.h promises that any split gives the result of one read; every
 * result field is compared.  Successful parses are also checked for
 * internal consistency (spans inside the head, framing rules).
 *
 * Input: byte 0 picks the limits, bytes 1-2 the split point, the rest is the
 * request.
 */
#include "../src/core/pool.c"
#include "../src/http/parser.c"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const http_limits limit_choices[] = {
    { 8190, 8190, 100, 65536 },  /* the defaults */
    { 40, 24, 4, 0 },            /* small: exercises the 414/431 paths */
    { 8190, 8190, 0, 0 },        /* no field count limit */
    { 1, 1, 1, 0 },
    { 8190, 8190, 100, 64 },     /* a head limit below the line limit */
};

#define CHECK(condition)                                                        \
    do {                                                                        \
        if (!(condition)) {                                                     \
            fprintf(stderr, "fuzz_request: check failed: %s (line %d)\n",       \
                    #condition, __LINE__);                                      \
            abort();                                                            \
        }                                                                       \
    } while (0)

static void check_span(http_span span, uint32_t limit)
{
    CHECK(span.offset <= limit);
    CHECK(span.length <= limit - span.offset);
}

static void check_consistent(const http_parser *parser, const char *request, size_t size)
{
    uint32_t head = parser->head_length;
    CHECK(head >= 4 && head <= size);
    CHECK(memcmp(request + head - 4, "\r\n\r\n", 4) == 0);
    check_span(parser->method_text, head);
    check_span(parser->target, head);
    CHECK(parser->method_text.length > 0);
    CHECK(parser->target.length > 0);
    CHECK(parser->version_major == 1);
    for (uint32_t i = 0; i < parser->field_count; i++) {
        check_span(parser->fields[i].name, head);
        check_span(parser->fields[i].value, head);
        CHECK(parser->fields[i].name.length > 0);
        /* Values never carry CR, LF or NUL: nothing can hide in them. */
        for (uint32_t j = 0; j < parser->fields[i].value.length; j++) {
            unsigned char c = (unsigned char)request[parser->fields[i].value.offset + j];
            CHECK(c != '\r' && c != '\n' && c != '\0');
        }
    }
    if (parser->limits.limit_request_fields)
        CHECK(parser->field_count <= parser->limits.limit_request_fields);
    /* Exactly one way to find the end of the body, or none. */
    CHECK(!(parser->chunked && parser->content_length >= 0));
    CHECK(parser->content_length >= -1);
    CHECK(!parser->chunked || parser->version_minor >= 1);
    if (parser->version_minor >= 1)
        CHECK(parser->has_host);
    if (parser->has_host)
        check_span(parser->host, head);
}

static bool spans_equal(http_span a, http_span b)
{
    return a.offset == b.offset && a.length == b.length;
}

static void compare(const http_parser *a, int rc_a, const http_parser *b, int rc_b)
{
    CHECK(rc_a == rc_b);
    if (rc_a == WEFT_ERROR) {
        CHECK(a->error_status == b->error_status);
        return;
    }
    if (rc_a != WEFT_OK)
        return;
    CHECK(a->head_length == b->head_length);
    CHECK(spans_equal(a->method_text, b->method_text));
    CHECK(a->method == b->method);
    CHECK(spans_equal(a->target, b->target));
    CHECK(a->version_major == b->version_major && a->version_minor == b->version_minor);
    CHECK(a->field_count == b->field_count);
    for (uint32_t i = 0; i < a->field_count; i++) {
        CHECK(spans_equal(a->fields[i].name, b->fields[i].name));
        CHECK(spans_equal(a->fields[i].value, b->fields[i].value));
    }
    CHECK(a->content_length == b->content_length);
    CHECK(a->chunked == b->chunked);
    CHECK(a->has_host == b->has_host);
    CHECK(!a->has_host || spans_equal(a->host, b->host));
    CHECK(a->connection_close == b->connection_close);
    CHECK(a->connection_keep_alive == b->connection_keep_alive);
    CHECK(a->expect_continue == b->expect_continue);
    CHECK(a->expect_other == b->expect_other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const http_limits *limits = &limit_choices[data[0] % COUNT_OF(limit_choices)];
    size_t split_choice = (size_t)data[1] << 8 | data[2];
    const char *request = (const char *)data + 3;
    size = size - 3;
    size_t split = size ? split_choice % (size + 1) : 0;

    pool *p = pool_create(4096);

    http_parser whole;
    http_parser_init(&whole, limits, p);
    int rc_whole = http_parse_request(&whole, request, size);
    if (rc_whole == WEFT_OK)
        check_consistent(&whole, request, size);
    if (rc_whole == WEFT_ERROR)
        CHECK(whole.error_status >= 400 && whole.error_status <= 505);

    /* The first part in its own allocation of exactly split bytes. */
    char *first = malloc(split ? split : 1);
    memcpy(first, request, split);
    http_parser parts;
    http_parser_init(&parts, limits, p);
    int rc_parts = http_parse_request(&parts, first, split);
    free(first);
    if (rc_parts == WEFT_AGAIN)
        rc_parts = http_parse_request(&parts, request, size);
    /* A head complete within the first part: the whole parse must agree.
     * A parser in a final state must keep returning it. */
    compare(&whole, rc_whole, &parts, rc_parts);
    CHECK(http_parse_request(&parts, request, size) == rc_parts);

    pool_destroy(p);
    return 0;
}
