/*
 * stream.h — responses whose length is not known in advance (CGI), sent by
 * the handler itself while it produces them.
 *
 * The handler sets status, content_type and headers as usual, then calls
 * response_stream_begin(), which sends the head at once: with the handler's
 * own Content-Length header if it gave one, else "Transfer-Encoding:
 * chunked" for an HTTP/1.1 client, else (HTTP/1.0) a body delimited by
 * closing the connection.  Each response_stream_write() sends its bytes
 * before returning (chunk-encoded when chunked); response_stream_end() sends
 * the last chunk.  When the client's socket is full the write waits for it
 * (poll, Timeout at a time): a slow client slows the producer down, and
 * nothing is ever buffered beyond the bytes of one call.
 *
 * Contract:
 *  - Runs on the handler's worker thread; the handler returns WEFT_OK after
 *    it, and the connection layer then writes nothing more for this
 *    request: it only logs (bytes_sent counts everything written,
 *    body_bytes_sent the body without chunk framing) and decides whether the
 *    connection stays open.
 *  - Every function returns WEFT_OK or WEFT_ERROR.  WEFT_ERROR from begin or
 *    write means the client went away or stopped reading for Timeout
 *    (r->aborted is set and the connection is closed) or, for end, that the
 *    body was shorter than the Content-Length the handler announced (the
 *    connection is closed so the client sees the truncation).
 *  - HEAD, 204 and 304 responses send the head only; written bytes are
 *    dropped.  A body longer than an announced Content-Length is cut.
 *  - response_stream_begin_raw() sends nothing of ours: the bytes written are
 *    the whole response, head included (CGI nph- scripts); the connection is
 *    closed after it.
 */
#ifndef WEFT_HTTP_STREAM_H
#define WEFT_HTTP_STREAM_H

#include <sys/uio.h>

#include "request.h"

int response_stream_begin(request *r);
int response_stream_begin_raw(request *r);
int response_stream_write(request *r, const char *data, size_t length);
int response_stream_end(request *r);
/* The producer failed after the head went out: close the connection
 * without completing the body, so the client can tell it is incomplete. */
void response_stream_abort(request *r);

/* For response_serialize_head(): does the streamed head announce chunked? */
bool response_stream_chunked(const request *r);

/* Writes every byte of the vectors to the client (which the caller may
 * modify), waiting for the socket with poll (Timeout at a time).  Counts
 * them in r->bytes_sent.  WEFT_OK, or WEFT_ERROR with r->aborted set. */
int response_stream_send(request *r, struct iovec *vectors, int count);

#endif
