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
#include <sys/socket.h>
#include <unistd.h>

#include "../core/log.h"
#include "../http/backend.h"
#include "../http/body.h"
#include "../http/connection.h"
#include "../http/response.h"
#include "cgi.h"
#include "fastcgi.h"

#define REQUEST_ID 1
#define READ_SIZE (64 * 1024)
#define HEAD_LIMIT (64 * 1024)
#define BODY_CHUNK (32 * 1024)
#define STDERR_LINE_MAX 4096

typedef enum { STATE_CONNECTING, STATE_SENDING, STATE_HEAD, STATE_BODY, STATE_DONE } exchange_state;

typedef struct {
    request *r;
    request_backend *b;
    const char *backend_text;
    int fd;
    int timeout_ms;
    exchange_state state;
    buffer out;              /* records not sent yet */
    size_t out_sent;
    bool body_left;          /* request body still to read from the client */
    buffer in;               /* bytes from the application */
    size_t in_used;
    fcgi_decoder decoder;
    buffer head;             /* STDOUT until the header block's end, then body bytes after it */
    size_t head_body_start;  /* where the body starts in head; head.length when taken */
    bool head_body_taken;
    buffer errors;           /* a partial STDERR line */
} exchange;

static void fail_log(exchange *x, const char *what, int error)
{
    request *r = x->r;
    if (error)
        log_module_message(LOG_LEVEL_ERROR, "proxy_fcgi", "[client %s:%d] %s (%s): %s: %s",
                           connection_peer_address(r->connection), connection_peer_port(r->connection), what,
                           x->backend_text, strerror(error), r->path);
    else
        log_module_message(LOG_LEVEL_ERROR, "proxy_fcgi", "[client %s:%d] %s (%s): %s",
                           connection_peer_address(r->connection), connection_peer_port(r->connection), what,
                           x->backend_text, r->path);
}

static void close_backend(exchange *x)
{
    if (x->fd >= 0) {
        close(x->fd);
        x->fd = -1;
    }
}

static void cleanup(void *data)
{
    exchange *x = data;
    close_backend(x);
    buffer_free(&x->out);
    buffer_free(&x->in);
    buffer_free(&x->head);
    buffer_free(&x->errors);
}

/* Ends the exchange with an error page (before the head only). */
static int answer_error(exchange *x, int status, const char *what, int error)
{
    fail_log(x, what, error);
    close_backend(x);
    x->state = STATE_DONE;
    response_set_error(x->r, status);
    return WEFT_OK;
}

static void progress(exchange *x)
{
    x->b->deadline_ms = monotonic_ms() + x->timeout_ms;
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
                               connection_peer_address(x->r->connection), connection_peer_port(x->r->connection),
                               (int)line, x->errors.data, x->backend_text);
        buffer_consume(&x->errors, newline && line == (size_t)(newline - x->errors.data) ? line + 1 : line);
        if (x->errors.length == 0)
            return;
    }
}

/* ---- the request ------------------------------------------------------------- */

static bool build_params(exchange *x, const proxy_target *target)
{
    request *r = x->r;
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
    fcgi_append_begin(&x->out, REQUEST_ID, false);
    bool ok = fcgi_append_params(&x->out, REQUEST_ID, pairs.data ? pairs.data : "", pairs.length);
    buffer_free(&pairs);
    return ok;
}

/* Sends what is queued.  WEFT_OK: all of it; WEFT_AGAIN; WEFT_ERROR. */
static int flush_out(exchange *x)
{
    while (x->out_sent < x->out.length) {
        ssize_t sent = send(x->fd, x->out.data + x->out_sent, x->out.length - x->out_sent, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return WEFT_AGAIN;
        if (sent < 0)
            return WEFT_ERROR;
        x->out_sent += (size_t)sent;
        progress(x);
    }
    buffer_clear(&x->out);
    x->out_sent = 0;
    return WEFT_OK;
}

/* Moves the next piece of the request body into STDIN records.  WEFT_OK
 * (something queued, or the end), WEFT_AGAIN (the client has sent nothing
 * more yet), or an HTTP status. */
static int take_body(exchange *x)
{
    request *r = x->r;
    char piece[BODY_CHUNK];
    size_t got = 0;
    int rc = request_body_try_read(r, piece, sizeof(piece), &got);
    if (rc == WEFT_AGAIN)
        return WEFT_AGAIN;
    if (rc == WEFT_ERROR)
        return r->body_read.error_status ? r->body_read.error_status : 400;
    if (rc == WEFT_DONE) {
        fcgi_append_record(&x->out, FCGI_STDIN, REQUEST_ID, NULL, 0);
        x->body_left = false;
        return WEFT_OK;
    }
    fcgi_append_stream(&x->out, FCGI_STDIN, REQUEST_ID, piece, got);
    return WEFT_OK;
}

/* ---- the response head ---------------------------------------------------------- */

static bool field_is(const char *name, size_t length, const char *wanted)
{
    return strlen(wanted) == length && strncasecmp(name, wanted, length) == 0;
}

/* The CGI header block (without its empty line): the response's status and
 * fields.  NULL, or why it is refused (502). */
static const char *parse_head(exchange *x, char *block, size_t length)
{
    request *r = x->r;
    int status = 0;
    bool has_length = false;
    const char *location = NULL;
    char *cursor = block, *end = block + length;
    r->body_length = -1;
    while (cursor < end) {
        char *newline = memchr(cursor, '\n', (size_t)(end - cursor));
        char *line_end = newline ? newline : end;
        char *next = newline ? newline + 1 : end;
        if (line_end > cursor && line_end[-1] == '\r')
            line_end--;
        size_t line_length = (size_t)(line_end - cursor);
        if (line_length && (cursor[0] == ' ' || cursor[0] == '\t'))
            return "a folded header line (obs-fold)";
        char *colon = memchr(cursor, ':', line_length);
        if (!colon || !proxy_is_token(cursor, (size_t)(colon - cursor)))
            return "a malformed header line";
        size_t name_length = (size_t)(colon - cursor);
        char *value = colon + 1;
        while (value < line_end && (*value == ' ' || *value == '\t'))
            value++;
        char *value_end = line_end;
        while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
            value_end--;
        if (!proxy_value_is_clean(value, (size_t)(value_end - value)))
            return "a control character in a header value";
        char *text = pool_strndup(r->pool, value, (size_t)(value_end - value));
        if (field_is(cursor, name_length, "Status")) {
            int code = 0, digits = 0;
            while (digits < 3 && text[digits] >= '0' && text[digits] <= '9')
                code = code * 10 + (text[digits++] - '0');
            if (digits != 3 || (text[3] != '\0' && text[3] != ' ') || code < 100 || code > 599)
                return "an invalid Status";
            status = code;
        } else if (field_is(cursor, name_length, "Content-Type")) {
            r->content_type = text;
        } else if (field_is(cursor, name_length, "Content-Length")) {
            size_t digits = strspn(text, "0123456789");
            if (has_length || text[0] == '\0' || digits != strlen(text) || digits > 18)
                return has_length ? "two Content-Length fields" : "an invalid Content-Length";
            has_length = true;
            r->body_length = strtoll(text, NULL, 10);
        } else if (field_is(cursor, name_length, "Location")) {
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
            x->r->header_count = 0;
            x->r->content_type = NULL;
            x->r->body_length = 0;
            *result = answer_error(x, 502, pool_printf(x->r->pool, "malformed response head: %s", problem), 0);
            return WEFT_OK;
        }
        x->r->body = BODY_PULL;
        x->state = STATE_BODY;
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

/* Reads what the application sent.  > 0 bytes, 0 at its end, -1 with errno. */
static ssize_t read_backend(exchange *x)
{
    if (x->in_used == x->in.length) {
        buffer_clear(&x->in);
        x->in_used = 0;
    } else if (x->in_used > 0) {
        buffer_consume(&x->in, x->in_used);
        x->in_used = 0;
    }
    buffer_reserve(&x->in, READ_SIZE);
    ssize_t got;
    do
        got = recv(x->fd, x->in.data + x->in.length, READ_SIZE, 0);
    while (got < 0 && errno == EINTR);
    if (got > 0) {
        x->in.length += (size_t)got;
        progress(x);
    }
    return got;
}

/* The next piece of the application's output.  WEFT_OK (*piece), WEFT_AGAIN
 * (nothing buffered: read), WEFT_ERROR. */
static int next_piece(exchange *x, fcgi_piece *piece)
{
    for (;;) {
        size_t consumed = 0;
        int rc = fcgi_decode(&x->decoder, x->in.data + x->in_used, x->in.length - x->in_used, &consumed, piece);
        x->in_used += consumed;
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
    exchange *x = b->context;
    for (;;) {
        switch (x->state) {
        case STATE_CONNECTING: {
            int error = 0;
            socklen_t length = sizeof(error);
            if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
                error = errno;
            if (error)
                return answer_error(x, 503, "cannot connect to the FastCGI server", error);
            /* Not connected yet: a send says EAGAIN (or ENOTCONN). */
            x->state = STATE_SENDING;
            break;
        }
        case STATE_SENDING: {
            int rc = flush_out(x);
            if (rc == WEFT_ERROR) {
                int error = errno;
                if (error == ENOTCONN) {
                    b->wants = BACKEND_WANTS_WRITE;
                    return WEFT_AGAIN;
                }
                return answer_error(x, x->out_sent ? 502 : 503, "cannot send to the FastCGI server", error);
            }
            if (rc == WEFT_AGAIN) {
                b->wants = BACKEND_WANTS_WRITE;
                return WEFT_AGAIN;
            }
            if (!x->body_left) {
                x->state = STATE_HEAD;
                break;
            }
            rc = take_body(x);
            if (rc == WEFT_AGAIN) {
                /* Waiting for the client (its socket is watched too); the
                 * application may answer early. */
                b->wants = BACKEND_WANTS_READ;
                b->deadline_ms = INT64_MAX;  /* Timeout bounds the client */
                return WEFT_AGAIN;
            }
            if (rc != WEFT_OK) {
                close_backend(x);
                x->state = STATE_DONE;
                response_set_error(r, rc);
                return WEFT_OK;
            }
            progress(x);
            break;
        }
        case STATE_HEAD: {
            fcgi_piece piece;
            int rc = next_piece(x, &piece);
            if (rc == WEFT_ERROR)
                return answer_error(x, 502, "not a FastCGI response", 0);
            if (rc == WEFT_AGAIN) {
                ssize_t got = read_backend(x);
                if (got > 0)
                    break;
                if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    b->wants = BACKEND_WANTS_READ;
                    if (b->deadline_ms == INT64_MAX)
                        progress(x);
                    return WEFT_AGAIN;
                }
                return answer_error(x, 502, "the FastCGI server closed the connection before its response head",
                                    got < 0 ? errno : 0);
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
        case STATE_BODY:
        case STATE_DONE:
            return WEFT_OK;
        }
    }
}

static int fcgi_pull(request *r, request_backend *b, const char **data, size_t *length)
{
    exchange *x = b->context;
    if (x->state == STATE_DONE)
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
            fail_log(x, "not a FastCGI response (in the body)", 0);
            close_backend(x);
            return WEFT_ERROR;
        }
        if (rc == WEFT_AGAIN) {
            ssize_t got = read_backend(x);
            if (got > 0)
                continue;
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                b->wants = BACKEND_WANTS_READ;
                return WEFT_AGAIN;
            }
            fail_log(x, "the FastCGI server closed the connection in the middle of the body", got < 0 ? errno : 0);
            close_backend(x);
            return WEFT_ERROR;
        }
        if (piece.type == FCGI_END_REQUEST) {
            log_errors(x, "", 0, true);
            close_backend(x);
            x->state = STATE_DONE;
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
    exchange *x = b->context;
    if (!b->head_done && x->state == STATE_SENDING && x->body_left && b->deadline_ms == INT64_MAX) {
        /* The wait was the client's (Timeout while its body came). */
        answer_error(x, 408, "the client sent its request body too slowly (Timeout)", 0);
        x->r->keep_alive = false;
        return;
    }
    if (!b->head_done) {
        answer_error(x, 504, "the FastCGI server did not answer within ProxyTimeout", 0);
        return;
    }
    fail_log(x, "the FastCGI server stalled in the middle of the body for ProxyTimeout", 0);
    close_backend(x);
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
    x->r = r;
    x->fd = -1;
    x->timeout_ms = target->timeout_ms;
    x->backend_text = target->backend.text;
    pool_cleanup_add(r->pool, cleanup, x);
    if (!build_params(x, target)) {
        fail_log(x, "a request variable longer than a FastCGI record", 0);
        return 500;
    }
    if (r->parser.chunked) {
        /* php-fpm reads a body only up to CONTENT_LENGTH; a chunked body
         * would have to be spooled first to know it (not built yet). */
        fail_log(x, "a chunked request body cannot go to FastCGI yet (send Content-Length)", 0);
        return 411;
    }
    x->body_left = request_has_body(r);
    if (!x->body_left)
        fcgi_append_record(&x->out, FCGI_STDIN, REQUEST_ID, NULL, 0);
    x->fd = proxy_connect(&target->backend);
    if (x->fd < 0) {
        int error = errno;
        fail_log(x, "cannot connect to the FastCGI server", error);
        return 503;
    }
    x->b = request_backend_attach(r, &fcgi_backend, x, x->fd);
    x->state = STATE_CONNECTING;
    progress(x);
    return WEFT_OK;
}
