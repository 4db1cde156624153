/*
 * fastcgi.h — FastCGI records (the FastCGI 1.0 specification), as
 * mod_proxy_fcgi exchanges them with an application server (php-fpm).
 *
 * Encoding appends whole records to a buffer.  Decoding is incremental:
 * the decoder takes whatever bytes arrived, in pieces of any size, and
 * reports the content of STDOUT and STDERR records as it comes (a piece at
 * a time, without copying), and the end of each record; END_REQUEST's
 * body is collected and reported with the record's end.
 */
#ifndef WEFT_MODULES_FASTCGI_H
#define WEFT_MODULES_FASTCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/buffer.h"

enum {
    FCGI_VERSION = 1,
    FCGI_HEADER_LENGTH = 8,
    FCGI_MAX_CONTENT = 65535,
};

enum {
    FCGI_BEGIN_REQUEST = 1,
    FCGI_ABORT_REQUEST = 2,
    FCGI_END_REQUEST = 3,
    FCGI_PARAMS = 4,
    FCGI_STDIN = 5,
    FCGI_STDOUT = 6,
    FCGI_STDERR = 7,
    FCGI_DATA = 8,
    FCGI_GET_VALUES = 9,
    FCGI_GET_VALUES_RESULT = 10,
    FCGI_UNKNOWN_TYPE = 11,
};

enum { FCGI_RESPONDER = 1 };
enum { FCGI_KEEP_CONN = 1 };
enum { FCGI_REQUEST_COMPLETE = 0, FCGI_CANT_MPX_CONN = 1, FCGI_OVERLOADED = 2, FCGI_UNKNOWN_ROLE = 3 };

/* Appends one record (content_length <= FCGI_MAX_CONTENT; no padding). */
void fcgi_append_record(buffer *out, int type, uint16_t request_id, const void *content, size_t content_length);
/* BEGIN_REQUEST for a responder, keep_conn: the application keeps the
 * connection open after the request. */
void fcgi_append_begin(buffer *out, uint16_t request_id, bool keep_conn);
/* One name-value pair in FastCGI's encoding (1- or 4-byte lengths). */
void fcgi_append_pair(buffer *out, const char *name, size_t name_length, const char *value, size_t value_length);
/* The pairs in `pairs` (a whole stream) as PARAMS records, each holding
 * whole pairs (php-fpm parses record by record), then the empty PARAMS
 * record.  A pair larger than a record is refused: false. */
bool fcgi_append_params(buffer *out, uint16_t request_id, const char *pairs, size_t length);
/* Data as STDIN records (an empty record is the end of the stream: use
 * fcgi_append_record with length 0). */
void fcgi_append_stream(buffer *out, int type, uint16_t request_id, const char *data, size_t length);

typedef struct {
    unsigned char header[FCGI_HEADER_LENGTH];
    size_t header_have;
    bool in_record;         /* the header is complete */
    int type;
    uint16_t request_id;
    size_t content_left;
    size_t padding_left;
    unsigned char small[8]; /* END_REQUEST's body */
    size_t small_have;
} fcgi_decoder;

typedef struct {
    int type;
    uint16_t request_id;
    const char *data;       /* a piece of STDOUT or STDERR content, in the input */
    size_t length;
    bool record_end;        /* the record (with its padding) is complete; data is empty */
    uint32_t app_status;    /* END_REQUEST */
    int protocol_status;
} fcgi_piece;

void fcgi_decoder_init(fcgi_decoder *d);
/* Consumes input until it has something to report.  WEFT_OK: *piece is
 * set (content, or a record's end), *consumed bytes were used; WEFT_AGAIN:
 * all of the input was used and nothing is to report; WEFT_ERROR: not
 * FastCGI (a wrong version, an END_REQUEST of the wrong size). */
int fcgi_decode(fcgi_decoder *d, const char *data, size_t length, size_t *consumed, fcgi_piece *piece);

#endif
