/*
 * range.h — byte ranges (RFC 9110 14): parsing a Range field against a
 * representation's length, and the multipart/byteranges body.
 *
 * Contract of http_range_parse():
 *  - Syntax: "bytes" (any case) "=" then a list of int-range "first-[last]"
 *    or suffix-range "-length", with optional whitespace around commas (not
 *    right after "=") and empty list elements skipped.  Anything else (another unit, spaces
 *    inside a range, signs, last < first, no range at all) makes the whole
 *    field invalid, and an invalid Range is ignored (RANGE_IGNORE: 200).
 *    Numbers too large for 63 bits saturate: such a first-pos is simply
 *    beyond the end.
 *  - Satisfiable ranges (first-pos below the length; suffix-length not 0)
 *    are clipped to the representation.  None satisfiable: RANGE_UNSATISFIABLE
 *    (416).  A representation of length 0 ignores Range, as Apache does.
 *  - Ranges are coalesced the way Apache's byterange filter does (each one
 *    against the run being built, in the order sent), counting overlaps and
 *    reversals (a range starting before the run it joins).  More coalesced
 *    ranges than max_ranges, more overlaps or reversals than allowed, or
 *    more bytes in total than the representation has: RANGE_IGNORE, so a
 *    hostile Range can never cost more than a plain 200.
 *  - *ranges is allocated in p only for RANGE_PARTIAL.
 */
#ifndef WEFT_HTTP_RANGE_H
#define WEFT_HTTP_RANGE_H

#include "../core/buffer.h"
#include "../core/pool.h"
#include "request.h"

#define RANGE_UNLIMITED (-1)

typedef struct {
    int max_ranges;      /* RANGE_UNLIMITED, or a count (0: Range is never honoured) */
    int max_overlaps;    /* RANGE_UNLIMITED or a count */
    int max_reversals;   /* RANGE_UNLIMITED or a count */
} http_range_limits;

typedef struct {
    int64_t first;       /* inclusive */
    int64_t last;        /* inclusive */
} http_byte_range;

typedef enum {
    RANGE_IGNORE,        /* send the whole representation */
    RANGE_PARTIAL,       /* 206 with the ranges */
    RANGE_UNSATISFIABLE, /* 416 */
} http_range_result;

http_range_result http_range_parse(slice value, int64_t length, const http_range_limits *limits,
                                   pool *p, http_byte_range **ranges, int *count);

/* "bytes FIRST-LAST/LENGTH" into out (at least 72 bytes); returns its length. */
size_t http_content_range(char *out, const http_byte_range *range, int64_t length);

/* The body of a multipart/byteranges response for ranges of a file of
 * length bytes, as pieces (memory parts and file ranges, request.h):
 *   "--B\r\nContent-Type: T\r\nContent-Range: bytes a-b/L\r\n\r\n" DATA "\r\n"
 * for every range (no Content-Type line when content_type is NULL), then
 * "--B--\r\n".  Everything is allocated in p; returns the piece count and
 * sets *total to the body length. */
int http_range_multipart(pool *p, const http_byte_range *ranges, int count, int64_t length,
                         const char *content_type, const char *boundary, body_piece **pieces,
                         int64_t *total);

#endif
