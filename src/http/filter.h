/*
 * filter.h — output filters: modules that change a response body on its
 * way to the client (compression today; SSI or substitution later).
 *
 * A module adds a filter to a request with output_filter_add(), from a
 * request hook that runs before the handler (fixups), as Apache's
 * mod_filter does: at that point only the configuration is known, not yet
 * the response.  Once the handler has set the response up, and before the
 * head is serialized, the connection layer starts the chain
 * (output_filters_start): each filter's start() sees the final status,
 * headers, content_type and body, and decides:
 *   WEFT_OK        it will transform the body.  start() adjusts the header
 *                  fields for the body it will produce: Content-Encoding,
 *                  ETag (r->etag), Vary.
 *   WEFT_DECLINED  it leaves the body alone (it may still have added Vary:
 *                  the response did depend on the request's fields).
 * When at least one filter transforms the body, the chain removes what
 * described the original body: Content-Length (the response is sent
 * "Transfer-Encoding: chunked" to HTTP/1.1 clients, delimited by closing
 * the connection for HTTP/1.0 ones), Content-MD5, and Accept-Ranges (a
 * client cannot address bytes of a body that exists only while it is
 * produced).  A content-changing filter declines 206 responses (Apache's
 * mod_deflate does): a Range is served on the unfiltered body.
 *
 * Body flow (the contract a filter writes against):
 *  - The body is pulled, not pushed: the connection's write loop asks for
 *    the next piece only when the socket has taken the previous one, so a
 *    slow client slows reading and filtering down, and at most one input
 *    chunk (the largest chunk_hint a filter asked for) and what the filters
 *    produced from it are held at a time, whatever the body's size.  A file
 *    body is read with pread in such chunks.
 *  - write() receives each chunk once, in order, and appends what it
 *    produces to out (which may stay empty: a compressor buffers); last is
 *    true exactly once, on the final call (possibly with length 0), after
 *    which the filter must have flushed everything.  It returns WEFT_OK or
 *    WEFT_ERROR (the connection is closed: the client sees a truncated
 *    body, as with any failure after the head went out).
 *  - HEAD, 204 and 304 responses: start() runs (so HEAD gets the header
 *    fields GET would get), write() never does.
 *  - A request without filters, or whose filters all declined, takes the
 *    unfiltered path unchanged: memory bodies with writev, file bodies with
 *    sendfile, no copy and no extra system call.  Streamed responses
 *    (stream.h, CGI) go through the same chain, pushed by the handler.
 *  - Filters run on the request's thread; context and any memory they
 *    keep belong to the request pool (use pool_cleanup_add for native
 *    state).
 */
#ifndef WEFT_HTTP_FILTER_H
#define WEFT_HTTP_FILTER_H

#include "request.h"

typedef struct output_filter output_filter;

typedef struct output_filter_type {
    const char *name;  /* as in SetOutputFilter, e.g. "DEFLATE" */
    /* The response is final except for what the filters change. */
    int (*start)(request *r, output_filter *f);
    int (*write)(request *r, output_filter *f, const char *data, size_t length, bool last, buffer *out);
} output_filter_type;

struct output_filter {
    const output_filter_type *type;
    void *context;         /* output_filter_add's, for the filter to use */
    size_t chunk_hint;     /* start() may set it: input bytes per write() it prefers */
    bool active;           /* start() said WEFT_OK */
    output_filter *next;
    buffer out;            /* what it produced from the current chunk */
};

/* Appends a filter to r's chain (once per type: a second add is ignored).
 * Returns the filter, e.g. to set context later. */
output_filter *output_filter_add(request *r, const output_filter_type *type, void *context);
/* The filter of that type in r's chain, or NULL. */
output_filter *output_filter_find(const request *r, const output_filter_type *type);
/* Whether any filter has started transforming the body (r's Content-Encoding
 * etc. were adjusted by it). */
bool output_filters_active(const request *r);

/* The fields of r's response header list (response.h) that filters edit. */
const char *response_header_value(const request *r, const char *name);
void response_remove_header(request *r, const char *name);
/* Adds token to a comma-separated field (Vary), unless it is there already. */
void response_merge_header_token(request *r, const char *name, const char *token);

#endif

/* --- for the connection layer (connection.c, stream.c) --- */

/* Runs the start() callbacks (once per request; later calls return the same
 * answer).  true: the body will be filtered (Content-Length is gone). */
bool output_filters_start(request *r);

/* The server's own error and redirect pages go out unfiltered, as Apache's
 * (ap_send_error_response resets the filter chain): forgets the filters
 * added so far unless they have started.  An ErrorDocument served by
 * internal redirect adds its own again. */
void output_filters_discard(request *r);
/* Whether the filtered body goes out with chunked framing (HTTP/1.1 and a
 * body allowed); otherwise the connection closes after it. */
bool output_filters_chunked(const request *r);
/* Pulls the next piece of the framed, filtered body from r's own body
 * (memory, file or pieces).  *data and *length: bytes to send (valid until the
 * next call).  WEFT_OK (more may follow), WEFT_DONE (these are the last;
 * length may be 0), WEFT_ERROR. */
int output_filters_pull(request *r, const char **data, size_t *length);
/* Takes the chunk framing written so far out of r->body_bytes_sent (once,
 * when the response is done). */
void output_filters_uncount_framing(request *r);
/* For a pushed (streamed) body: filters length bytes (last: the end) and
 * returns the framed bytes to send. */
int output_filters_push(request *r, const char *input, size_t input_length, bool last,
                        const char **data, size_t *length);
