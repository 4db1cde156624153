/*
 * proxy_fcgi.c — mod_proxy_fcgi: a request answered by a FastCGI
 * application server (php-fpm), driven by the child's event loop
 * (http/backend.h): no thread waits for the application.
 *
 * The exchange: BEGIN_REQUEST (responder, without keep-conn: Apache's
 * default, enablereuse=off, since a pooled connection would hold one of
 * php-fpm's workers idle), PARAMS with the CGI environment (cgi_env.c, with
 * SCRIPT_FILENAME, SCRIPT_NAME and PATH_INFO of the script), STDIN with the
 * request body as the client sends it, then the application's STDOUT: a
 * CGI header block, parsed strictly (a malformed or oversized head, a
 * folded line, two Content-Lengths, a control character in a value: 502),
 * and the body, pulled as the client takes it.  STDERR goes to the error
 * log.  END_REQUEST ends the body.
 *
 * Failures: the socket refused or missing → 503; ProxyTimeout (else
 * Timeout) without progress → 504 (after the head: the response is cut);
 * anything not FastCGI → 502; the client gone → the backend connection is
 * closed, which php-fpm takes as an abort.
 */
#include "proxy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "../http/backend.h"
#include "../http/body.h"
#include "../http/connection.h"
#include "../http/response.h"
#include "cgi.h"
#include "fastcgi.h"

#define REQUEST_ID 1
#define HEAD_LIMIT (64 * 1024)
#define STDERR_LINE_MAX 4096

typedef struct {
    proxy_exchange io;       /* what proxy_exchange.c works on */
    fcgi_decoder decoder;
    buffer head;             /* STDOUT until the header block's end, then body bytes after it */
    size_t head_body_start;  /* where the body starts in head; head.length when taken */
    bool head_body_taken;
    buffer errors;           /* a partial STDERR line */
} exchange;

static void cleanup(void *data)
{
    exchange *x = data;
    proxy_exchange_free(&x->io);
    buffer_free(&x->head);
    buffer_free(&x->errors);
}

static int answer_error(exchange *x, int status, const char *what, int error)
{
    return proxy_exchange_answer_error(&x->io, status, what, error);
}

/* ---- STDERR ------------------------------------------------------------------- */

static void log_errors(exchange *x, const char *data, size_t length, bool flush)
{
    buffer_append(&x->errors, data, length);
    for (;;) {
        char *newline = x->errors.length ? memchr(x->errors.data, '\n', x->errors.length) : NULL;
        size_t line = newline ? (size_t)(newline - x->errors.data) : x->errors.length;
        if (!newline && !flush && line < STDERR_LINE_MAX)
            return;
        if (line > STDERR_LINE_MAX)
            line = STDERR_LINE_MAX;
        if (line > 0 || newline)
            log_module_message(LOG_LEVEL_ERROR, "proxy_fcgi", "[client %s:%d] AH01071: Got error '%.*s' from %s",
                               connection_peer_address(x->io.r->connection), connection_peer_port(x->io.r->connection),
                               (int)line, x->errors.data, x->io.backend_text);
        buffer_consume(&x->errors, newline && line == (size_t)(newline - x->errors.data) ? line + 1 : line);
        if (x->errors.length == 0)
            return;
    }
}

/* ---- the request ------------------------------------------------------------- */

static bool build_params(exchange *x, const proxy_target *target)
{
    request *r = x->io.r;
    cgi_script script = { .filename = target->script_filename, .name = target->script_name,
                          .path_info = target->path_info };
    char **environment = cgi_build_environment(r, &script);
    buffer pairs = { 0 };
    for (char **item = environment; *item; item++) {
        const char *equals = strchr(*item, '=');
        if (!equals)
            continue;
        size_t name_length = (size_t)(equals - *item);
        /* PATH_TRANSLATED of a path with no PATH_INFO is noise for php-fpm. */
        fcgi_append_pair(&pairs, *item, name_length, equals + 1, strlen(equals + 1));
    }
    fcgi_append_begin(&x->io.out, REQUEST_ID, false);
    bool ok = fcgi_append_params(&x->io.out, REQUEST_ID, pairs.data ? pairs.data : "", pairs.length);
    buffer_free(&pairs);
    return ok;
}

/* The request body goes as STDIN records; an empty one ends it. */
static void frame_stdin(proxy_exchange *io, const char *data, size_t length)
{
    if (length == 0)
        fcgi_append_record(&io->out, FCGI_STDIN, REQUEST_ID, NULL, 0);
    else
        fcgi_append_stream(&io->out, FCGI_STDIN, REQUEST_ID, data, length);
}

/* ---- the response head ---------------------------------------------------------- */

/* The CGI header block (without its empty line): the response's status and
 * fields.  NULL, or why it is refused (502). */
static const char *parse_head(exchange *x, char *block, size_t length)
{
    request *r = x->io.r;
    int status = 0;
    bool has_length = false;
    const char *location = NULL;
    char *cursor = block, *end = block + length;
    r->body_length = -1;
    while (cursor < end) {
        char *line_end;
        char *next = cgi_header_line(cursor, end, &line_end);
        size_t line_length = (size_t)(line_end - cursor);
        if (line_length && (cursor[0] == ' ' || cursor[0] == '\t'))
            return "a folded header line (obs-fold)";
        char *colon = memchr(cursor, ':', line_length);
        if (!colon || !cgi_is_token(cursor, (size_t)(colon - cursor)))
            return "a malformed header line";
        size_t name_length = (size_t)(colon - cursor);
        char *value_end;
        char *value = cgi_field_value(colon + 1, line_end, &value_end);
        if (!proxy_value_is_clean(value, (size_t)(value_end - value)))
            return "a control character in a header value";
        char *text = pool_strndup(r->pool, value, (size_t)(value_end - value));
        if (cgi_field_is(cursor, name_length, "Status")) {
            int code = 0, digits = 0;
            while (digits < 3 && text[digits] >= '0' && text[digits] <= '9')
                code = code * 10 + (text[digits++] - '0');
            if (digits != 3 || (text[3] != '\0' && text[3] != ' ') || code < 100 || code > 599)
                return "an invalid Status";
            status = code;
        } else if (cgi_field_is(cursor, name_length, "Content-Type")) {
            r->content_type = text;
        } else if (cgi_field_is(cursor, name_length, "Content-Length")) {
            size_t digits = strspn(text, "0123456789");
            if (has_length || text[0] == '\0' || digits != strlen(text) || digits > 18)
                return has_length ? "two Content-Length fields" : "an invalid Content-Length";
            has_length = true;
            r->body_length = strtoll(text, NULL, 10);
        } else if (cgi_field_is(cursor, name_length, "Location")) {
            location = text;
            response_add_header(r, "Location", text);
        } else if (!proxy_field_is_ours(cursor, name_length)) {
            response_add_header(r, pool_strndup(r->pool, cursor, name_length), text);
        }
        cursor = next;
    }
    if (status == 0)
        status = location ? 302 : 200;  /* RFC 3875 6.2.3, as PHP's header("Location: ...") */
    if (status < 200)
        return "an interim Status";
    r->status = status;
    return NULL;
}

/* Looks for the end of the header block in head.  WEFT_OK: found and
 * parsed (or answered with 502); WEFT_AGAIN: not yet. */
static int scan_head(exchange *x, int *result)
{
    char *data = x->head.data;
    size_t length = x->head.length;
    for (size_t at = 0; at < length; at++) {
        if (data[at] != '\n')
            continue;
        size_t next = at + 1;
        size_t blank = 0;
        if (next < length && data[next] == '\n')
            blank = 1;
        else if (next + 1 < length && data[next] == '\r' && data[next + 1] == '\n')
            blank = 2;
        if (!blank) {
            if (next + 1 >= length && next < length && data[next] == '\r')
                break;  /* "\n\r": the rest has not come */
            continue;
        }
        size_t block_length = at;
        if (block_length && data[block_length - 1] == '\r')
            block_length--;
        x->head_body_start = next + blank;
        const char *problem = parse_head(x, data, block_length);
        if (problem) {
            /* Nothing of a refused head reaches the client. */
            x->io.r->header_count = 0;
            x->io.r->content_type = NULL;
            x->io.r->body_length = 0;
            *result = answer_error(x, 502, pool_printf(x->io.r->pool, "malformed response head: %s", problem), 0);
            return WEFT_OK;
        }
        x->io.r->body = BODY_PULL;
        x->io.state = PROXY_STATE_BODY;
        *result = WEFT_OK;
        return WEFT_OK;
    }
    if (length >= HEAD_LIMIT) {
        *result = answer_error(x, 502, "response head larger than 64 KiB", 0);
        return WEFT_OK;
    }
    return WEFT_AGAIN;
}

/* ---- reading records ------------------------------------------------------------- */

/* The next piece of the application's output.  WEFT_OK (*piece), WEFT_AGAIN
 * (nothing buffered: read), WEFT_ERROR. */
static int next_piece(exchange *x, fcgi_piece *piece)
{
    for (;;) {
        size_t consumed = 0;
        int rc = fcgi_decode(&x->decoder, x->io.in.data + x->io.in_used, x->io.in.length - x->io.in_used, &consumed, piece);
        x->io.in_used += consumed;
        if (rc != WEFT_OK)
            return rc;
        if (piece->type == FCGI_STDERR) {
            if (piece->length)
                log_errors(x, piece->data, piece->length, false);
            continue;
        }
        if (piece->request_id != REQUEST_ID && piece->type != FCGI_UNKNOWN_TYPE)
            return WEFT_ERROR;
        return WEFT_OK;
    }
}

/* ---- the backend type (http/backend.h) -------------------------------------------- */

static int fcgi_run(request *r, request_backend *b)
{
    (void)r;
    exchange *x = b->context;
    proxy_exchange *io = &x->io;
    for (;;) {
        switch (io->state) {
        case PROXY_STATE_CONNECTING: {
            int error = proxy_exchange_connect_error(io);
            if (error)
                return answer_error(x, 503, "cannot connect to the FastCGI server", error);
            /* Not connected yet: a send says EAGAIN (or ENOTCONN). */
            io->state = PROXY_STATE_SENDING;
            break;
        }
        case PROXY_STATE_SENDING: {
            int result;
            int rc = proxy_exchange_send(io, frame_stdin, &result);
            if (rc == WEFT_ERROR)
                return answer_error(x, io->out_sent ? 502 : 503, "cannot send to the FastCGI server", errno);
            if (rc == WEFT_DONE)
                return result;
            break;
        }
        case PROXY_STATE_HEAD: {
            fcgi_piece piece;
            int rc = next_piece(x, &piece);
            if (rc == WEFT_ERROR)
                return answer_error(x, 502, "not a FastCGI response", 0);
            if (rc == WEFT_AGAIN) {
                rc = proxy_exchange_fill(io);
                if (rc == WEFT_OK)
                    break;
                if (rc == WEFT_AGAIN) {
                    if (b->deadline_ms == INT64_MAX)
                        proxy_exchange_progress(io);
                    return WEFT_AGAIN;
                }
                return answer_error(x, 502, "the FastCGI server closed the connection before its response head",
                                    rc == WEFT_ERROR ? errno : 0);
            }
            if (piece.type == FCGI_END_REQUEST) {
                log_errors(x, "", 0, true);
                return answer_error(x, 502, "the FastCGI request ended without a response head", 0);
            }
            if (piece.type == FCGI_STDOUT && piece.length) {
                buffer_append(&x->head, piece.data, piece.length);
                int result;
                if (scan_head(x, &result) == WEFT_OK)
                    return result;
            }
            break;
        }
        case PROXY_STATE_BODY:
        case PROXY_STATE_DONE:
            return WEFT_OK;
        }
    }
}

static int fcgi_pull(request *r, request_backend *b, const char **data, size_t *length)
{
    (void)r;
    exchange *x = b->context;
    proxy_exchange *io = &x->io;
    if (io->state == PROXY_STATE_DONE)
        return WEFT_DONE;
    if (!x->head_body_taken) {
        x->head_body_taken = true;
        if (x->head_body_start < x->head.length) {
            *data = x->head.data + x->head_body_start;
            *length = x->head.length - x->head_body_start;
            return WEFT_OK;
        }
    }
    for (;;) {
        fcgi_piece piece;
        int rc = next_piece(x, &piece);
        if (rc == WEFT_ERROR) {
            proxy_exchange_log(io, "not a FastCGI response (in the body)", 0);
            proxy_exchange_close(io);
            return WEFT_ERROR;
        }
        if (rc == WEFT_AGAIN) {
            rc = proxy_exchange_fill(io);
            if (rc == WEFT_OK)
                continue;
            if (rc == WEFT_AGAIN)
                return WEFT_AGAIN;
            proxy_exchange_log(io, "the FastCGI server closed the connection in the middle of the body",
                               rc == WEFT_ERROR ? errno : 0);
            proxy_exchange_close(io);
            return WEFT_ERROR;
        }
        if (piece.type == FCGI_END_REQUEST) {
            log_errors(x, "", 0, true);
            proxy_exchange_close(io);
            io->state = PROXY_STATE_DONE;
            return WEFT_DONE;
        }
        if (piece.type == FCGI_STDOUT && piece.length) {
            *data = piece.data;
            *length = piece.length;
            return WEFT_OK;
        }
    }
}

static void fcgi_expire(request *r, request_backend *b)
{
    (void)r;
    exchange *x = b->context;
    proxy_exchange_expire(&x->io, proxy_exchange_answer_error);
}

static const request_backend_type fcgi_backend = {
    .name = "fcgi",
    .run = fcgi_run,
    .pull = fcgi_pull,
    .expire = fcgi_expire,
};

int proxy_fcgi_start(request *r, const proxy_target *target)
{
    exchange *x = pool_calloc(r->pool, sizeof(*x));
    proxy_exchange *io = &x->io;
    proxy_exchange_init(io, r, target, "proxy_fcgi", "the FastCGI server");
    pool_cleanup_add(r->pool, cleanup, x);
    if (!build_params(x, target)) {
        proxy_exchange_log(io, "a request variable longer than a FastCGI record", 0);
        return 500;
    }
    if (r->parser.chunked) {
        /* php-fpm reads a body only up to CONTENT_LENGTH; a chunked body
         * would have to be spooled first to know it (not built yet). */
        proxy_exchange_log(io, "a chunked request body cannot go to FastCGI yet (send Content-Length)", 0);
        return 411;
    }
    io->body_left = request_has_body(r);
    if (!io->body_left)
        frame_stdin(io, NULL, 0);
    io->fd = proxy_connect(&target->backend);
    if (io->fd < 0) {
        int error = errno;
        proxy_exchange_log(io, "cannot connect to the FastCGI server", error);
        return 503;
    }
    io->b = request_backend_attach(r, &fcgi_backend, x, io->fd);
    io->state = PROXY_STATE_CONNECTING;
    proxy_exchange_progress(io);
    return WEFT_OK;
}
