/*
 * response.h — how handlers describe a response.
 *
 * The connection layer (connection.c) writes it: status line, Date, Server,
 * Content-Type, Content-Length (or chunked), Last-Modified, ETag,
 * Connection, then the extra headers in the order they were added, then the
 * body (writev for memory, sendfile for files).  Handlers never write to the
 * socket themselves.
 */
#ifndef WEFT_HTTP_RESPONSE_H
#define WEFT_HTTP_RESPONSE_H

#include "request.h"

/* Adds a header field; name and value are copied into the request pool. */
void response_add_header(request *r, const char *name, const char *value);
/* The same without copying, for strings that outlive the request (string
 * literals, the configuration): nothing is allocated per request. */
void response_add_header_constant(request *r, const char *name, const char *value);

/* Body from memory that lives at least as long as the request pool. */
void response_set_body_memory(request *r, const char *data, size_t length);
/* Body from an open file: the response owns fd from now on. */
void response_set_body_file(request *r, int fd, off_t offset, int64_t length);
/* Body made of pieces (request.h), memory and ranges of fd, sent in order;
 * the response owns fd, pieces must live as long as the request pool. */
void response_set_body_pieces(request *r, int fd, const body_piece *pieces, int count);

/* Sets up the standard error response for status (small HTML body, and the
 * Allow header for 405 where the caller added it).  Returns WEFT_OK. */
int response_set_error(request *r, int status);

/* The same with the page's paragraph given (HTML, already escaped): mod_ssl's
 * "You're speaking plain HTTP to an SSL-enabled server port". */
int response_set_error_explained(request *r, int status, const char *explanation_html);

/* ServerSignature's line for r ("" when Off), after prefix: "<hr>\n" on
 * error pages, "" in listings, as Apache's ap_psignature. */
char *response_signature(request *r, const char *prefix);
/* A 301/302/... with an absolute Location and a small HTML body. */
int response_set_redirect(request *r, int status, const char *location);

const char *http_status_reason(int status);

/* RFC 9110 5.6.7 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT";
 * out must hold 30 bytes.  Returns the length (29). */
size_t http_format_date(char *out, time_t when);
/* Parses IMF-fixdate and the two obsolete forms; -1 if invalid. */
time_t http_parse_date(const char *text);
/* The current second's Date value, cached per second, thread-safe. */
const char *http_current_date(void);

#endif

/* --- for the connection layer (connection.c) --- */

/* Appends the status line and header fields (ending with the empty line)
 * for r's response to out.  Content-Length comes from the body unless the
 * status forbids one. */
void response_serialize_head(request *r, buffer *out);
