/*
 * parser.h — strict, incremental HTTP/1.1 request-head parser and chunked
 * body decoder (RFC 9112).
 *
 * Contract:
 *  - Zero copy: results are (offset, length) spans into the caller's buffer,
 *    measured from the first byte of the request, so the caller may grow or
 *    move the buffer between calls (realloc) without invalidating them.
 *  - Incremental: the caller calls http_parse_request() with the whole
 *    request so far (same start, more bytes each time); the parser resumes
 *    where it stopped and looks at each byte once.  Any split of the input
 *    into reads gives the same result as one read.
 *  - Strict: CRLF only (a bare LF or bare CR is an error), no obs-fold, no
 *    whitespace between field name and colon, tokens per RFC 9110 5.6.2,
 *    field values without CTLs other than HTAB, exactly one Host for
 *    HTTP/1.1, Content-Length digits only and never two different values,
 *    Transfer-Encoding must end in "chunked" (and we support only
 *    "chunked"), never both Content-Length and Transfer-Encoding.
 *  - Leading empty lines before the request line (RFC 9112 2.2) are skipped;
 *    they count toward the limit of the request line.
 *  - Never reads past `length`; never writes to the buffer.
 *
 * Error statuses (error_status when WEFT_ERROR is returned):
 *   400 malformed syntax or framing, 414 request line longer than
 *   limit_request_line (or than limit_request_head), 431 a field longer
 *   than limit_request_field_size, more than limit_request_fields fields or
 *   a head longer than limit_request_head, 501 Transfer-Encoding other than
 *   chunked, 505 HTTP major version other than 1.
 */
#ifndef WEFT_HTTP_PARSER_H
#define WEFT_HTTP_PARSER_H

#include "../core/common.h"
#include "../core/pool.h"

typedef struct {
    uint32_t offset;
    uint32_t length;
} http_span;

typedef struct {
    http_span name;
    http_span value;   /* leading and trailing whitespace removed */
} http_field;

typedef enum {
    HTTP_METHOD_UNKNOWN = 0,  /* syntactically valid token we do not know */
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_CONNECT,
    HTTP_METHOD_OPTIONS,
    HTTP_METHOD_TRACE,
    HTTP_METHOD_PATCH,
} http_method;

typedef struct {
    uint32_t limit_request_line;        /* bytes of method SP target SP version */
    uint32_t limit_request_field_size;  /* bytes of one "name: value" line */
    uint32_t limit_request_fields;      /* 0 = unlimited */
    uint32_t limit_request_head;        /* bytes of the whole head, final CRLF included; 0 = unlimited */
} http_limits;

typedef struct {
    /* --- private state --- */
    int state;
    uint32_t position;      /* bytes consumed so far */
    uint32_t line_start;    /* start of the line being parsed */
    uint32_t mark;          /* start of the token being parsed */
    uint32_t value_end;     /* end of a field value without trailing whitespace */
    http_limits limits;
    pool *pool;             /* grows fields */
    uint32_t field_capacity;

    /* --- results, valid once WEFT_OK is returned --- */
    uint32_t head_length;   /* bytes of the whole head including the final CRLF CRLF */
    http_span method_text;
    http_method method;
    http_span target;       /* request-target as sent */
    int version_major;
    int version_minor;
    http_field *fields;
    uint32_t field_count;

    /* Framing and connection facts derived from the fields. */
    int64_t content_length;   /* -1 if absent */
    bool chunked;             /* Transfer-Encoding: chunked */
    bool has_host;
    http_span host;           /* valid if has_host */
    bool connection_close;    /* Connection contains "close" */
    bool connection_keep_alive; /* Connection contains "keep-alive" */
    bool expect_continue;     /* Expect: 100-continue */
    bool expect_other;        /* Expect with any other value */

    /* --- error, valid once WEFT_ERROR is returned --- */
    int error_status;
    const char *error_reason;  /* short static text for the log */
} http_parser;

void http_parser_init(http_parser *parser, const http_limits *limits, pool *p);

/* data points at the first byte of the request, length bytes are valid.
 * Returns WEFT_OK (head complete; head_length tells how much it used),
 * WEFT_AGAIN (need more bytes) or WEFT_ERROR (see error_status). */
int http_parse_request(http_parser *parser, const char *data, size_t length);

/* Value of the first field named name (case-insensitive), or NULL. */
const http_field *http_find_field(const http_parser *parser, const char *data, const char *name);

const char *http_method_name(http_method method);

/* Chunked transfer coding decoder, in place: chunk framing is removed and the
 * body bytes are moved to the front of the buffer it is given. */
typedef struct {
    int state;
    uint64_t chunk_remaining;
    uint32_t line_length;     /* bytes in the current size or trailer line */
    uint32_t trailer_bytes;   /* total trailer bytes, bounded */
    uint32_t limit_line;      /* longest chunk-size line (with extensions) accepted */
    uint32_t limit_trailers;  /* total trailer bytes accepted */
    int error_status;
} http_chunked_decoder;

void http_chunked_init(http_chunked_decoder *decoder, uint32_t limit_line, uint32_t limit_trailers);

/* Decodes data[0..*length).  On return *consumed is how many input bytes were
 * used, and the first *decoded bytes of data are body bytes.  Returns
 * WEFT_OK when the last chunk and the trailer section are complete (bytes
 * after *consumed belong to the next request), WEFT_AGAIN when more input is
 * needed, WEFT_ERROR (error_status 400, or 413 never: size limits are the
 * caller's) on malformed framing or a chunk size that overflows 2^63. */
int http_chunked_decode(http_chunked_decoder *decoder, char *data, size_t length,
                        size_t *consumed, size_t *decoded);

#endif
