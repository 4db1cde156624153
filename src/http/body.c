/*
 * body.c — the request body for handlers (see body.h).
 *
 * Where the bytes are: the connection's input buffer holds the head, then
 * possibly body bytes that arrived with it, then possibly the start of the
 * next request.  r->body_read.input_used counts the body's bytes after the
 * head, so that the connection layer later drops head and body together and
 * keeps what follows.  A Content-Length body is read from the socket
 * straight into the caller's memory once the buffer is used up; a chunked
 * body goes through the buffer (its framing must be decoded, and what is
 * read past its end belongs to the next request), which is shrunk back to
 * the head whenever everything after the head has been consumed, so it
 * never grows beyond one read.
 *
 * That framing is the bottom of the input filter chain (body.h): handlers
 * read through the filters modules added, or straight from it when there
 * are none.
 */
#include "body.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "connection.h"
#include "stream.h"
#include "../core/blocking.h"

#define BODY_READ_SIZE (64 * 1024)
/* The same bounds the connection layer uses when it discards a chunked
 * body, so a body that can be discarded can be read and vice versa. */
#define CHUNK_LINE_LIMIT 4096
#define CHUNK_TRAILER_LIMIT 65536

static const char continue_response[] = "HTTP/1.1 100 Continue\r\n\r\n";


bool request_has_body(const request *r)
{
    return r->parser.chunked || r->parser.content_length > 0;
}

static int body_failed(request *r, int status, const char *reason)
{
    request_body_progress *progress = &r->body_read;
    progress->failed = true;
    progress->error_status = status;
    if (log_enabled(LOG_LEVEL_INFO))
        log_message(LOG_LEVEL_INFO, "[client %s:%d] request body of %s: %s",
                    request_client_address(r), request_client_port(r),
                    r->path ? r->path : "-", reason);
    return WEFT_ERROR;
}

static int begin(request *r)
{
    request_body_progress *progress = &r->body_read;
    connection *c = r->connection;
    progress->started = true;
    progress->started_ms = monotonic_ms();
    if (!request_has_body(r)) {
        progress->finished = true;
        return WEFT_OK;
    }
    if (r->parser.chunked)
        http_chunked_init(&c->chunked, CHUNK_LINE_LIMIT, CHUNK_TRAILER_LIMIT);
    /* RFC 9110 10.1.1: an HTTP/1.0 client's expectation is ignored; and
     * once a (streamed) final head is out, an interim one cannot follow. */
    bool http11 = r->version_major > 1 || (r->version_major == 1 && r->version_minor >= 1);
    if (r->parser.expect_continue && http11 && !r->stream) {
        struct iovec vector = { (void *)continue_response, sizeof(continue_response) - 1 };
        if (response_stream_send(r, &vector, 1) != WEFT_OK)
            return body_failed(r, 400, "the client went away before 100 Continue");
    }
    return WEFT_OK;
}

/* The next body bytes from the input buffer into out, if any are there.
 * Returns WEFT_OK with *got > 0, WEFT_DONE, WEFT_ERROR, or WEFT_AGAIN when
 * the buffer holds nothing more of the body. */
static int take_buffered(request *r, char *out, size_t size, size_t *got)
{
    request_body_progress *progress = &r->body_read;
    connection *c = r->connection;
    int64_t limit = r->dir ? r->dir->limit_request_body : 0;

    for (;;) {
        size_t start = r->parser.head_length + progress->input_used;
        size_t available = c->input.length > start ? c->input.length - start : 0;
        if (available == 0)
            return WEFT_AGAIN;
        char *data = c->input.data + start;
        if (!r->parser.chunked) {
            uint64_t remaining = (uint64_t)(r->parser.content_length - progress->received);
            size_t take = available < size ? available : size;
            if (take > remaining)
                take = (size_t)remaining;
            memcpy(out, data, take);
            progress->input_used += take;
            progress->received += (int64_t)take;
            r->bytes_received += take;
            if (progress->received == r->parser.content_length)
                progress->finished = true;
            *got = take;
            return WEFT_OK;
        }
        /* Decoded bytes never outnumber the input they came from, so
         * decoding at most size bytes fits out. */
        size_t consumed = 0, decoded = 0;
        int rc = http_chunked_decode(&c->chunked, data, available < size ? available : size, &consumed,
                                     &decoded);
        memcpy(out, data, decoded);
        progress->input_used += consumed;
        progress->received += (int64_t)decoded;
        r->bytes_received += consumed;
        if (rc == WEFT_ERROR)
            return body_failed(r, 400, "malformed chunked framing");
        if (limit > 0 && progress->received > limit)
            return body_failed(r, 413, "larger than LimitRequestBody");
        if (rc == WEFT_OK)
            progress->finished = true;
        if (decoded) {
            *got = decoded;
            return WEFT_OK;
        }
        if (progress->finished)
            return WEFT_DONE;
    }
}

/* One read from the socket: straight into out for a Content-Length body,
 * into the input buffer (after the head) for a chunked one.  Returns
 * WEFT_OK (bytes arrived: *got of them in out), WEFT_AGAIN or WEFT_ERROR.
 * The read always happens (a handler waits with poll, which is
 * level-triggered and misses nothing), but connection_read records what it
 * proves: a read that took exactly the body's last bytes leaves the socket
 * read_ready, so the connection looks for a pipelined request behind the
 * body before it parks. */
static int read_socket(request *r, char *out, size_t size, size_t *got)
{
    request_body_progress *progress = &r->body_read;
    connection *c = r->connection;
    ssize_t count;
    if (!r->parser.chunked) {
        uint64_t remaining = (uint64_t)(r->parser.content_length - progress->received);
        size_t want = size < remaining ? size : (size_t)remaining;
        count = connection_read(c, out, want);
        if (count > 0) {
            progress->received += count;
            r->bytes_received += (uint64_t)count;
            if (progress->received == r->parser.content_length)
                progress->finished = true;
            *got = (size_t)count;
        }
    } else {
        /* Everything after the head has been consumed: drop it, so that
         * the buffer does not grow with the body. */
        c->input.length = r->parser.head_length;
        progress->input_used = 0;
        size_t want = size < BODY_READ_SIZE ? size : BODY_READ_SIZE;
        if (want < 4096)
            want = 4096;  /* framing needs room even when the caller wants one byte */
        /* Charged to the child's request buffer budget (budget.h). */
        if (!connection_reserve_input(c, want))
            return body_failed(r, 503, "the child's RequestBufferBudget is exhausted");
        r->head = c->input.data;  /* the buffer may have moved */
        size_t room = c->input.capacity - c->input.length;
        count = connection_read(c, c->input.data + c->input.length, room);
        if (count > 0) {
            c->input.length += (size_t)count;
            c->input.data[c->input.length] = '\0';
        }
    }
    if (count > 0)
        return WEFT_OK;
    if (count == 0)
        return body_failed(r, 400, "the client closed the connection in the middle of the body");
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return WEFT_AGAIN;
    return body_failed(r, 400, "the connection failed in the middle of the body");
}

/* Waits until the socket has input.  WEFT_OK, or WEFT_ERROR (408) when
 * Timeout or the RequestReadTimeout body stage runs out first. */
static int wait_for_input(request *r)
{
    const server_config *server = r->server;
    int64_t now = monotonic_ms();
    int64_t deadline = now + (int64_t)server->timeout * 1000;
    int64_t stage = request_read_deadline_ms(&server->request_read_timeout, false, r->body_read.started_ms,
                                             r->bytes_received - r->parser.head_length);
    if (stage < deadline)
        deadline = stage;
    connection *c = r->connection;
    if (c->io->pending && c->io->pending(c) > 0)
        return WEFT_OK;  /* the I/O layer holds input already (TLS) */
    for (;;) {
        int64_t left = deadline - now;
        if (left <= 0)
            return body_failed(r, 408, "timed out waiting for the client");
        struct pollfd p = { .fd = r->connection->fd, .events = POLLIN };
        int ready = blocking_poll(&p, 1, left);
        if (ready > 0)
            return WEFT_OK;  /* errors and hang-ups show up in the read */
        if (ready < 0 && errno != EINTR)
            return body_failed(r, 400, "poll failed");
        now = monotonic_ms();
    }
}

/* The bottom of the input filter chain: the body as HTTP/1.1 frames it. */
static int read_framed(request *r, char *out, size_t size, size_t *got, bool may_wait)
{
    request_body_progress *progress = &r->body_read;
    *got = 0;
    if (!progress->started && begin(r) != WEFT_OK)
        return WEFT_ERROR;
    if (progress->failed)
        return WEFT_ERROR;
    if (progress->finished)
        return WEFT_DONE;
    if (size == 0)
        return WEFT_OK;
    for (;;) {
        int rc = take_buffered(r, out, size, got);
        if (rc != WEFT_AGAIN)
            return rc;
        rc = read_socket(r, out, size, got);
        if (rc == WEFT_OK) {
            if (*got)
                return WEFT_OK;
            continue;  /* chunked: decode what arrived */
        }
        if (rc == WEFT_ERROR)
            return rc;
        if (!may_wait)
            return WEFT_AGAIN;
        if (wait_for_input(r) != WEFT_OK)
            return WEFT_ERROR;
    }
}

input_filter *input_filter_add(request *r, const input_filter_type *type, void *context)
{
    input_filter *f = pool_calloc(r->pool, sizeof(*f));
    f->type = type;
    f->context = context;
    f->below = r->input_filters;
    r->input_filters = f;
    return f;
}

int input_filter_read_below(request *r, input_filter *f, char *out, size_t size, size_t *got, bool may_wait)
{
    if (f->below)
        return f->below->type->read(r, f->below, out, size, got, may_wait);
    return read_framed(r, out, size, got, may_wait);
}

static int read_body(request *r, char *out, size_t size, size_t *got, bool may_wait)
{
    if (!r->input_filters)
        return read_framed(r, out, size, got, may_wait);
    *got = 0;
    return r->input_filters->type->read(r, r->input_filters, out, size, got, may_wait);
}

int request_body_read(request *r, char *out, size_t size, size_t *got)
{
    return read_body(r, out, size, got, true);
}

int request_body_try_read(request *r, char *out, size_t size, size_t *got)
{
    return read_body(r, out, size, got, false);
}

/* ---- spilling to a temporary file ------------------------------------- */

static void close_spill_file(void *data)
{
    close((int)(intptr_t)data);
}

static int open_spill_file(void)
{
    const char *directory = getenv("TMPDIR");
    if (!directory || directory[0] != '/')
        directory = "/tmp";
    int fd = open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    /* File systems without O_TMPFILE: a named file, unlinked at once. */
    char name[4096];
    snprintf(name, sizeof(name), "%s/weft-body-XXXXXX", directory);
    fd = mkostemp(name, O_CLOEXEC);
    if (fd >= 0)
        unlink(name);
    return fd;
}

static bool write_fully(int fd, const char *data, size_t length)
{
    while (length) {
        ssize_t written = write(fd, data, length);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        data += written;
        length -= (size_t)written;
    }
    return true;
}

int request_body_spill(request *r, int *fd_out, int64_t *length_out)
{
    int fd = open_spill_file();
    if (fd < 0) {
        log_error_number(LOG_LEVEL_ERROR, errno, "cannot create a temporary file for a request body");
        r->body_read.failed = true;
        r->body_read.error_status = 500;
        return WEFT_ERROR;
    }
    pool_cleanup_add(r->pool, close_spill_file, (void *)(intptr_t)fd);
    char *chunk = pool_alloc(r->pool, BODY_READ_SIZE);
    int64_t total = 0;
    for (;;) {
        size_t got;
        int rc = request_body_read(r, chunk, BODY_READ_SIZE, &got);
        if (rc == WEFT_DONE)
            break;
        if (rc != WEFT_OK)
            return WEFT_ERROR;
        if (!write_fully(fd, chunk, got)) {
            log_error_number(LOG_LEVEL_ERROR, errno, "cannot write a request body to a temporary file");
            r->body_read.failed = true;
            r->body_read.error_status = 500;
            return WEFT_ERROR;
        }
        total += (int64_t)got;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        r->body_read.failed = true;
        r->body_read.error_status = 500;
        return WEFT_ERROR;
    }
    *fd_out = fd;
    *length_out = total;
    return WEFT_OK;
}
