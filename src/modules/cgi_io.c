/*
 * cgi_io.c — the exchange with a running CGI script, on the worker thread
 * that serves the request.
 *
 * One poll loop watches the script's stdout and stderr, its stdin while
 * there is request body to give it, and the client's socket while the
 * script waits for more body.  So a script that writes before (or instead
 * of) reading its input cannot deadlock with us: its output is read while
 * its input waits.  Nothing is buffered beyond one read each way: the body
 * goes to stdin as it arrives, stdout goes to the client as it is written
 * (response_stream_*, which waits for a slow client, and so slows the
 * script down: back-pressure through the pipe).
 *
 * Timeouts: CGIScriptTimeout (default Timeout) without output from, or
 * input taken by, the script: 504 before its header block, a cut response
 * after it.  Timeout without body bytes from the client while the script
 * waits for them, or RequestReadTimeout's body= limit: 408.  Either way the
 * script's process group is killed.
 */
#include "cgi.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../http/body.h"
#include "../http/connection.h"
#include "../http/response.h"
#include "../http/stream.h"
#include "../core/blocking.h"

#define IO_SIZE (64 * 1024)
#define HEAD_LIMIT (64 * 1024)      /* the script's whole header block */
#define STDERR_LINE_MAX 4096        /* longer stderr lines are logged in pieces */
#define EXIT_GRACE_MS 2000          /* after its stdout closed, for the script to exit */

typedef struct {
    request *r;
    const cgi_script *script;
    cgi_process *process;
    int timeout_ms;
    int64_t script_deadline;        /* CGIScriptTimeout */
    int64_t client_deadline;        /* Timeout, while the script waits for body */

    bool feeding;                   /* request body left to give the script */
    char *in;
    size_t in_start, in_end;

    char *out;
    char *head;                     /* the header block so far */
    size_t head_length;
    size_t head_scanned;
    bool head_done;
    bool started;                   /* the response head went out */
    bool discarding;                /* answered otherwise: drain and drop stdout */
    const char *location;

    char *errors;                   /* a partial stderr line */
    size_t errors_length;

    bool done;                      /* the exchange is over: result holds the answer */
    bool kill;                      /* stop the script at once, not after a grace */
    int result;
    const char *failure;            /* stdout ended badly: logged after its stderr */
} exchange;


static void log_script(exchange *x, const char *format, const char *detail)
{
    request *r = x->r;
    log_module_message(LOG_LEVEL_ERROR, "cgi", "[client %s:%d] %s: %s%s",
                       request_client_address(r), request_client_port(r),
                       format, x->script->filename, detail ? detail : "");
}

/* Ends the exchange with a failure: status before the response started,
 * a cut response after. */
static void fail(exchange *x, int status, const char *reason, const char *detail)
{
    if (reason)
        log_script(x, reason, detail);
    x->done = true;
    x->kill = true;
    if (x->started) {
        response_stream_abort(x->r);
        x->result = WEFT_OK;
    } else {
        x->result = status;
    }
}

/* ---- stderr -------------------------------------------------------------- */

static void log_stderr_line(exchange *x, const char *line, size_t length)
{
    while (length && (line[length - 1] == '\r' || line[length - 1] == '\n'))
        length--;
    request *r = x->r;
    log_module_message(LOG_LEVEL_ERROR, "cgi", "[client %s:%d] %s: %.*s",
                       request_client_address(r), request_client_port(r),
                       x->script->filename, (int)length, line);
}

static void read_stderr(exchange *x)
{
    cgi_process *process = x->process;
    ssize_t count;
    do
        count = read(process->errors, x->errors + x->errors_length, STDERR_LINE_MAX - x->errors_length);
    while (count < 0 && errno == EINTR);
    if (count < 0 && errno == EAGAIN)
        return;
    if (count <= 0) {
        if (x->errors_length)
            log_stderr_line(x, x->errors, x->errors_length);
        x->errors_length = 0;
        close(process->errors);
        process->errors = -1;
        return;
    }
    x->errors_length += (size_t)count;
    size_t start = 0;
    for (size_t i = 0; i < x->errors_length; i++) {
        if (x->errors[i] == '\n') {
            log_stderr_line(x, x->errors + start, i - start);
            start = i + 1;
        }
    }
    if (start == 0 && x->errors_length == STDERR_LINE_MAX) {
        log_stderr_line(x, x->errors, x->errors_length);
        start = x->errors_length;
    }
    memmove(x->errors, x->errors + start, x->errors_length - start);
    x->errors_length -= start;
}

/* ---- the header block ------------------------------------------------------ */

bool cgi_is_token(const char *text, size_t length)
{
    if (length == 0)
        return false;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= 32 || c >= 127 || strchr("\"(),/:;<=>?@[\\]{}", c))
            return false;
    }
    return true;
}

char *cgi_header_line(char *cursor, char *end, char **line_end)
{
    char *newline = memchr(cursor, '\n', (size_t)(end - cursor));
    char *stop = newline ? newline : end;
    if (stop > cursor && stop[-1] == '\r')
        stop--;
    *line_end = stop;
    return newline ? newline + 1 : end;
}

char *cgi_field_value(char *after_colon, char *line_end, char **value_end)
{
    char *value = after_colon;
    while (value < line_end && (*value == ' ' || *value == '\t'))
        value++;
    char *stop = line_end;
    while (stop > value && (stop[-1] == ' ' || stop[-1] == '\t'))
        stop--;
    *value_end = stop;
    return value;
}

bool cgi_field_is(const char *name, size_t length, const char *wanted)
{
    return strlen(wanted) == length && strncasecmp(name, wanted, length) == 0;
}

/* Fields that concern our connection with the client, not the script's
 * document (RFC 3875 6.3.4); Date and Server are ours to send. */
static bool field_is_ours(const char *name, size_t length)
{
    static const char *const ours[] = { "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer",
                                        "Upgrade", "Proxy-Connection", "Date", "Server" };
    for (size_t i = 0; i < COUNT_OF(ours); i++)
        if (cgi_field_is(name, length, ours[i]))
            return true;
    return false;
}

/* Parses the header block (without its final empty line).  Returns
 * WEFT_OK, or WEFT_ERROR after fail(). */
static int parse_head(exchange *x, char *block, size_t length)
{
    request *r = x->r;
    int status = 0;
    char *cursor = block;
    char *end = block + length;
    while (cursor < end) {
        char *line_end;
        char *next = cgi_header_line(cursor, end, &line_end);
        size_t line_length = (size_t)(line_end - cursor);
        char *colon = memchr(cursor, ':', line_length);
        if (!colon || !cgi_is_token(cursor, (size_t)(colon - cursor))) {
            char *bad = pool_printf(r->pool, ": Bad header: %.*s", (int)(line_length < 30 ? line_length : 30),
                                    cursor);
            fail(x, 500, "malformed header from script", bad);
            return WEFT_ERROR;
        }
        size_t name_length = (size_t)(colon - cursor);
        char *value_end;
        char *value = cgi_field_value(colon + 1, line_end, &value_end);
        for (char *c = value; c < value_end; c++) {
            if (((unsigned char)*c < 32 && *c != '\t') || *c == 127) {
                fail(x, 500, "malformed header from script", ": control character in a field value");
                return WEFT_ERROR;
            }
        }
        char *text = pool_strndup(r->pool, value, (size_t)(value_end - value));
        if (cgi_field_is(cursor, name_length, "Status")) {
            int code = 0, digits = 0;
            while (digits < 3 && text[digits] >= '0' && text[digits] <= '9')
                code = code * 10 + (text[digits++] - '0');
            if (digits != 3 || (text[3] != '\0' && text[3] != ' ') || code < 200 || code > 599) {
                fail(x, 500, "invalid status line from script", pool_printf(r->pool, ": %.30s", text));
                return WEFT_ERROR;
            }
            status = code;
        } else if (cgi_field_is(cursor, name_length, "Content-Type")) {
            r->content_type = text;
        } else if (cgi_field_is(cursor, name_length, "Location")) {
            x->location = text;
        } else if (cgi_field_is(cursor, name_length, "Content-Length")) {
            bool digits_only = text[0] != '\0' && strspn(text, "0123456789") == strlen(text) && strlen(text) < 19;
            if (!digits_only) {
                fail(x, 500, "malformed header from script", pool_printf(r->pool, ": Content-Length %.30s", text));
                return WEFT_ERROR;
            }
            response_add_header(r, "Content-Length", text);
        } else if (!field_is_ours(cursor, name_length)) {
            response_add_header(r, pool_strndup(r->pool, cursor, name_length), text);
        }
        cursor = next;
    }
    r->status = status ? status : 200;
    return WEFT_OK;
}

/* The header block is complete: decide what the response is.  body and
 * length are the bytes after it. */
static void head_complete(exchange *x, char *block, size_t length, const char *body, size_t body_length)
{
    request *r = x->r;
    x->head_done = true;
    if (parse_head(x, block, length) != WEFT_OK)
        return;
    if (x->location && r->status == 200) {
        /* RFC 3875 6.2.2 and 6.2.3: a local path is served in place of the
         * script's answer, an absolute URL is a 302.  Either way the rest of
         * the output is read and dropped, as Apache does. */
        x->discarding = true;
        if (x->location[0] == '/') {
            x->result = WEFT_DECLINED;  /* marks an internal redirect for cgi_run */
        } else {
            r->content_type = NULL;
            response_set_redirect(r, 302, x->location);
            x->result = WEFT_OK;
        }
        return;
    }
    if (x->location)
        response_add_header(r, "Location", x->location);
    x->started = true;
    if (response_stream_begin(r) != WEFT_OK || response_stream_write(r, body, body_length) != WEFT_OK)
        fail(x, 0, NULL, NULL);  /* the client went away */
}

/* Looks for the end of the header block in what arrived so far. */
static void scan_head(exchange *x)
{
    while (x->head_scanned < x->head_length) {
        char *newline = memchr(x->head + x->head_scanned, '\n', x->head_length - x->head_scanned);
        if (!newline) {
            x->head_scanned = x->head_length;
            break;
        }
        size_t line_start = x->head_scanned;
        size_t line_end = (size_t)(newline - x->head);
        x->head_scanned = line_end + 1;
        bool empty = line_end == line_start || (line_end == line_start + 1 && x->head[line_start] == '\r');
        if (empty) {
            head_complete(x, x->head, line_start, x->head + x->head_scanned, x->head_length - x->head_scanned);
            return;
        }
    }
    if (x->head_length >= HEAD_LIMIT)
        fail(x, 500, "header block from script longer than 64 KiB", NULL);
}

/* ---- stdout ---------------------------------------------------------------- */

static void nph_begin(exchange *x, const char *data, size_t length)
{
    request *r = x->r;
    /* For the log only: the status of "HTTP/1.1 200 OK", if it is there. */
    int status = 200;
    if (length >= 12 && memcmp(data, "HTTP/", 5) == 0) {
        const char *space = memchr(data, ' ', length < 16 ? length : 16);
        if (space && space + 4 <= data + length && space[1] >= '1' && space[1] <= '5' && space[2] >= '0' &&
            space[2] <= '9' && space[3] >= '0' && space[3] <= '9')
            status = (space[1] - '0') * 100 + (space[2] - '0') * 10 + (space[3] - '0');
    }
    r->status = status;
    x->started = true;
    x->head_done = true;
    response_stream_begin_raw(r);
}

static void handle_output(exchange *x, char *data, size_t length)
{
    request *r = x->r;
    if (x->discarding)
        return;
    if (x->script->nph) {
        if (!x->started)
            nph_begin(x, data, length);
        if (response_stream_write(r, data, length) != WEFT_OK)
            fail(x, 0, NULL, NULL);
        return;
    }
    if (x->head_done) {
        if (response_stream_write(r, data, length) != WEFT_OK)
            fail(x, 0, NULL, NULL);
        return;
    }
    size_t room = HEAD_LIMIT - x->head_length;
    size_t take = length < room ? length : room;
    memcpy(x->head + x->head_length, data, take);
    x->head_length += take;
    scan_head(x);
    if (x->done || !x->head_done || x->discarding)
        return;
    /* What did not fit in the header buffer is body. */
    if (take < length && response_stream_write(r, data + take, length - take) != WEFT_OK)
        fail(x, 0, NULL, NULL);
}

static void close_input(exchange *x);

/* The script closed its stdout: the response is complete (or never was).
 * Its stderr is still read, so a failure is logged after what the script
 * said about it. */
static void output_ended(exchange *x)
{
    close_input(x);
    if (x->discarding)
        return;  /* answered in head_complete */
    if (!x->head_done) {
        x->failure = x->head_length ? "Premature end of script headers" : "End of script output before headers";
        x->result = 500;
        return;
    }
    x->result = WEFT_OK;
    response_stream_end(x->r);
}

static void read_stdout(exchange *x, int64_t now)
{
    cgi_process *process = x->process;
    ssize_t count;
    do
        count = read(process->output, x->out, IO_SIZE);
    while (count < 0 && errno == EINTR);
    if (count < 0 && errno == EAGAIN)
        return;
    if (count <= 0) {
        close(process->output);
        process->output = -1;
        output_ended(x);
        return;
    }
    x->script_deadline = now + x->timeout_ms;
    handle_output(x, x->out, (size_t)count);
}

/* ---- stdin ---------------------------------------------------------------- */

static void close_input(exchange *x)
{
    if (x->process->input >= 0)
        close(x->process->input);
    x->process->input = -1;
    x->feeding = false;
    x->in_start = x->in_end = 0;
}

static void write_stdin(exchange *x, int64_t now)
{
    cgi_process *process = x->process;
    ssize_t written;
    do
        written = write(process->input, x->in + x->in_start, x->in_end - x->in_start);
    while (written < 0 && errno == EINTR);
    if (written < 0) {
        if (errno != EAGAIN)
            close_input(x);  /* EPIPE: the script does not want the rest */
        return;
    }
    x->in_start += (size_t)written;
    x->script_deadline = now + x->timeout_ms;
}

/* Takes body bytes the client has sent, without waiting.  Returns true
 * when the script has to wait for the client. */
static bool refill_body(exchange *x, int64_t now)
{
    request *r = x->r;
    if (!x->feeding || x->process->input < 0 || x->in_start < x->in_end)
        return false;
    size_t got = 0;
    int rc = request_body_try_read(r, x->in, IO_SIZE, &got);
    if (rc == WEFT_OK) {
        x->in_start = 0;
        x->in_end = got;
        x->client_deadline = now + (int64_t)r->server->timeout * 1000;
        return false;
    }
    if (rc == WEFT_DONE) {
        close_input(x);
        return false;
    }
    if (rc == WEFT_ERROR) {
        fail(x, r->body_read.error_status ? r->body_read.error_status : 400,
             "reading the request body failed", pool_printf(r->pool, " (%d)", r->body_read.error_status));
        return false;
    }
    return true;
}

/* ---- the loop ------------------------------------------------------------- */

static void run_loop(exchange *x)
{
    request *r = x->r;
    cgi_process *process = x->process;
    int64_t now = monotonic_ms();
    x->script_deadline = now + x->timeout_ms;
    x->client_deadline = now + (int64_t)r->server->timeout * 1000;
    int64_t stderr_deadline = INT64_MAX;

    while (!x->done && (process->output >= 0 || process->errors >= 0)) {
        bool waiting_for_client = refill_body(x, now);
        if (x->done)
            break;
        if (process->output < 0 && stderr_deadline == INT64_MAX)
            stderr_deadline = now + (x->timeout_ms < EXIT_GRACE_MS ? x->timeout_ms : EXIT_GRACE_MS);

        struct pollfd fds[4];
        int count = 0, at_output = -1, at_errors = -1, at_input = -1;
        if (process->output >= 0) {
            at_output = count;
            fds[count++] = (struct pollfd){ .fd = process->output, .events = POLLIN };
        }
        if (process->errors >= 0) {
            at_errors = count;
            fds[count++] = (struct pollfd){ .fd = process->errors, .events = POLLIN };
        }
        if (process->input >= 0 && x->in_start < x->in_end) {
            at_input = count;
            fds[count++] = (struct pollfd){ .fd = process->input, .events = POLLOUT };
        }
        if (waiting_for_client) {
            fds[count++] = (struct pollfd){ .fd = r->connection->fd, .events = POLLIN };
            /* The script cannot go on without the body: not its delay. */
            x->script_deadline = now + x->timeout_ms;
        }

        int64_t deadline = process->output >= 0 ? x->script_deadline : stderr_deadline;
        if (waiting_for_client) {
            /* Timeout since the last body bytes, within RequestReadTimeout body=. */
            int64_t stage = request_read_deadline_ms(&r->server->request_read_timeout, false,
                                                     r->body_read.started_ms,
                                                     r->bytes_received - r->parser.head_length);
            if (stage < x->client_deadline)
                x->client_deadline = stage;
            if (x->client_deadline < deadline)
                deadline = x->client_deadline;
        }
        int64_t wait = deadline - now;
        int ready = wait > 0 ? blocking_poll(fds, (nfds_t)count, wait) : 0;
        now = monotonic_ms();
        if (ready < 0 && errno != EINTR) {
            fail(x, 500, "poll failed", NULL);
            break;
        }
        if (ready <= 0) {
            if (process->output < 0 && now >= stderr_deadline)
                break;  /* the response is complete; stderr stays open too long */
            if (waiting_for_client && now >= x->client_deadline) {
                r->body_read.failed = true;
                r->body_read.error_status = 408;
                fail(x, 408, "timed out waiting for the request body", NULL);
            } else if (process->output >= 0 && now >= x->script_deadline) {
                fail(x, 504, "Timeout waiting for output from CGI script", NULL);
            }
            continue;
        }
        if (at_input >= 0 && fds[at_input].revents)
            write_stdin(x, now);
        if (at_errors >= 0 && fds[at_errors].revents)
            read_stderr(x);
        if (at_output >= 0 && fds[at_output].revents)
            read_stdout(x, now);
    }
}

int cgi_run(request *r, const cgi_script *script, cgi_process *process)
{
    exchange x = {
        .r = r,
        .script = script,
        .process = process,
        .timeout_ms = cgi_dir_settings(r->dir)->cgi_script_timeout_ms > 0 ? cgi_dir_settings(r->dir)->cgi_script_timeout_ms
                                                        : r->server->timeout * 1000,
        .feeding = (!r->redirect_url || r->redirect_kept_body) && request_has_body(r),
        .in = pool_alloc(r->pool, IO_SIZE),
        .out = pool_alloc(r->pool, IO_SIZE),
        .head = pool_alloc(r->pool, HEAD_LIMIT),
        .errors = pool_alloc(r->pool, STDERR_LINE_MAX),
    };
    if (x.timeout_ms <= 0)
        x.timeout_ms = 60000;
    if (!x.feeding)
        close_input(&x);

    run_loop(&x);

    /* A partial stderr line left when we stop listening. */
    if (x.errors_length)
        log_stderr_line(&x, x.errors, x.errors_length);
    if (x.failure)
        log_script(&x, x.failure, NULL);
    cgi_stop(process, x.kill ? 0 : EXIT_GRACE_MS);

    if (x.result == WEFT_DECLINED)
        return request_internal_redirect(r, x.location);
    return x.result;
}
