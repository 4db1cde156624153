/*
 * fuzz_proxy_protocol.c — libFuzzer harness for the PROXY protocol header
 * parser (src/http/proxy_protocol.c), the first bytes weft reads from a
 * balancer's connection, before TLS and HTTP.
 *
 * Invariants, for every input:
 *  - feeding it whole and feeding it in pieces give the same verdict, the
 *    same number of header bytes and the same header;
 *  - AGAIN uses every byte; OK and ERROR never use more than given;
 *  - a header accepted is complete on its own: its bytes alone, fed to a
 *    fresh parser, give OK with the same length (the parser never needed
 *    what followed); a v1 header is at most 107 bytes, a v2 one at most
 *    16 + 65535;
 *  - the family is AF_INET, AF_INET6 or AF_UNSPEC; ERROR has a reason.
 * Input: byte 0 is the piece size (0: 1 byte, else its value), the rest the
 * bytes on the wire.
 */
#include "../src/http/proxy_protocol.c"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(condition)                                                              \
    do {                                                                              \
        if (!(condition)) {                                                           \
            fprintf(stderr, "fuzz_proxy_protocol: check failed: %s (line %d)\n",      \
                    #condition, __LINE__);                                            \
            abort();                                                                  \
        }                                                                             \
    } while (0)

static int parse_in_pieces(proxy_parser *p, const uint8_t *data, size_t size, size_t piece, size_t *total)
{
    proxy_parser_init(p);
    *total = 0;
    int rc = WEFT_AGAIN;
    for (size_t at = 0; at < size && rc == WEFT_AGAIN;) {
        size_t n = size - at < piece ? size - at : piece;
        size_t used = 0;
        rc = proxy_parse(p, data + at, n, &used);
        CHECK(used <= n);
        if (rc == WEFT_AGAIN)
            CHECK(used == n);
        *total += used;
        at += n;
    }
    return rc;
}

static bool same_header(const proxy_header *a, const proxy_header *b)
{
    return a->version == b->version && a->local == b->local && a->family == b->family &&
           memcmp(a->source, b->source, 16) == 0 && memcmp(a->destination, b->destination, 16) == 0 &&
           a->source_port == b->source_port && a->destination_port == b->destination_port;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = data[0] ? data[0] : 1;
    data++;
    size--;

    static proxy_parser whole, pieces, alone;
    size_t whole_used, pieces_used, alone_used;
    int whole_rc = parse_in_pieces(&whole, data, size, size ? size : 1, &whole_used);
    int pieces_rc = parse_in_pieces(&pieces, data, size, piece, &pieces_used);
    CHECK(whole_rc == pieces_rc);
    CHECK(whole_used == pieces_used);
    CHECK(whole_used <= size);
    if (whole_rc == WEFT_ERROR) {
        CHECK(whole.error && pieces.error);
        return 0;
    }
    if (whole_rc == WEFT_AGAIN) {
        CHECK(whole_used == size);
        return 0;
    }
    CHECK(whole_rc == WEFT_OK);
    CHECK(same_header(&whole.header, &pieces.header));
    CHECK(whole.header.family == AF_INET || whole.header.family == AF_INET6 || whole.header.family == AF_UNSPEC);
    CHECK(whole.header.version == 1 || whole.header.version == 2);
    if (whole.header.version == 1)
        CHECK(whole_used <= PROXY_V1_MAX_LENGTH);
    else
        CHECK(whole_used >= PROXY_V2_HEAD_LENGTH && whole_used <= PROXY_V2_HEAD_LENGTH + 65535);
    int alone_rc = parse_in_pieces(&alone, data, whole_used, whole_used, &alone_used);
    CHECK(alone_rc == WEFT_OK && alone_used == whole_used);
    CHECK(same_header(&whole.header, &alone.header));
    return 0;
}
