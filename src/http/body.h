/*
 * body.h — reading the request body from a handler, as it arrives.
 *
 * A handler that wants the body calls request_body_read() (or the
 * non-blocking request_body_try_read()) on its worker thread.  The reader
 * takes the bytes already received after the head from the connection's
 * input buffer first, then reads the socket; Content-Length and chunked
 * bodies are both handed out decoded.  Chunk extensions and trailers are
 * parsed and bounded by the chunked decoder (parser.h) and dropped.
 *
 * Contract:
 *  - Returns WEFT_OK with *got > 0, WEFT_DONE at the end of the body (also
 *    at once for a request without one), WEFT_ERROR when the body cannot be
 *    read: r->body_read.error_status then says what to answer (400 malformed
 *    chunked framing or a client that went away mid-body, 408 Timeout or
 *    RequestReadTimeout body= expired, 413 more than LimitRequestBody, 503
 *    the child's RequestBufferBudget refused the buffer a chunked body needs), and
 *    the connection is closed after the response.
 *    request_body_try_read() returns WEFT_AGAIN where request_body_read()
 *    would wait (the caller polls r->connection->fd for POLLIN).
 *  - Waiting blocks the thread (poll on the non-blocking socket), for at most
 *    Timeout at a time and within RequestReadTimeout's body stage: a handler
 *    that consumes a body holds its thread, as in Apache.
 *  - "Expect: 100-continue" (HTTP/1.1): "100 Continue" is sent when a handler
 *    first asks for body bytes, never otherwise, so a request answered
 *    without its body never gets one; the connection layer then closes
 *    rather than wait for a body nobody asked for, or discards only what the
 *    handler left unread (r->body_read).
 *  - Reading the body may move the connection's input buffer: r->head is
 *    updated, so slices taken from the head before a read are stale after it
 *    (copies made with request_header() are not).
 *  - Memory stays bounded whatever the body size: at most one read's worth
 *    (BODY_READ_SIZE) is buffered.
 */
#ifndef WEFT_HTTP_BODY_H
#define WEFT_HTTP_BODY_H

#include "request.h"

/* Does the request announce a body (Content-Length > 0 or chunked)? */
bool request_has_body(const request *r);

int request_body_read(request *r, char *out, size_t size, size_t *got);
int request_body_try_read(request *r, char *out, size_t size, size_t *got);

/*
 * Input filters: transformations between the connection and the handler
 * (a module that inflates a gzip-encoded body, say), so that every reader
 * of the body (CGI, a proxy, FastCGI) gets the decoded body through the
 * three functions above.  The chain's bottom is the HTTP/1.1 body framing
 * itself (Content-Length, or chunked decoding), which is what a request
 * without filters reads directly.  A filter's read() has the contract of
 * request_body_read() (may_wait false: of request_body_try_read()) and gets
 * its input from input_filter_read_below().  r->body_read describes the
 * framing (what was received from the client, LimitRequestBody); a filter
 * that changes the length keeps its own count.  Filters are added before
 * the body is first read (a fixups hook), each on top of the ones before.
 */
typedef struct input_filter input_filter;

typedef struct input_filter_type {
    const char *name;
    int (*read)(request *r, input_filter *f, char *out, size_t size, size_t *got, bool may_wait);
} input_filter_type;

struct input_filter {
    const input_filter_type *type;
    void *context;
    input_filter *below;  /* NULL: the body framing */
};

input_filter *input_filter_add(request *r, const input_filter_type *type, void *context);
int input_filter_read_below(request *r, input_filter *f, char *out, size_t size, size_t *got, bool may_wait);

/* Reads the whole body into an unlinked temporary file (O_TMPFILE in
 * $TMPDIR, else /tmp), never holding it all in memory, and returns the file
 * positioned at its start with the body's length.  The request pool closes
 * the descriptor.  Returns WEFT_OK, or WEFT_ERROR with
 * r->body_read.error_status set (500 when the file cannot be written). */
int request_body_spill(request *r, int *fd, int64_t *length);

#endif
