/*
 * stream.c — streamed responses (see stream.h).
 *
 * The head is serialized by the same code as every other response
 * (response_serialize_head, which asks response_stream_chunked() whether to
 * announce chunked instead of a Content-Length), into the connection's output
 * buffer, which is free until the handler returns.  Everything is written
 * synchronously from the handler's thread: the socket is non-blocking, so a
 * full socket is waited for with poll, bounded by Timeout like every send.
 */
#include "stream.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "../core/log.h"
#include "connection.h"
#include "filter.h"
#include "response.h"
#include "../core/blocking.h"

struct response_stream {
    bool chunked;        /* Transfer-Encoding: chunked */
    bool raw;            /* nph: the bytes written are the whole response */
    bool drop_body;      /* HEAD, 204, 304 */
    bool has_length;     /* the handler gave a Content-Length */
    bool filtered;       /* the body goes through output filters (filter.h) */
    bool failed;
    int64_t length_left; /* with has_length: body bytes still to send */
};


static int client_gone(request *r, const char *reason)
{
    r->aborted = true;
    r->keep_alive = false;
    if (r->stream)
        r->stream->failed = true;
    if (log_enabled(LOG_LEVEL_INFO))
        log_message(LOG_LEVEL_INFO, "[client %s:%d] %s while sending %s",
                    request_client_address(r), request_client_port(r), reason,
                    r->path ? r->path : "-");
    return WEFT_ERROR;
}

static int wait_writable(request *r)
{
    int64_t deadline = monotonic_ms() + (int64_t)r->server->timeout * 1000;
    for (;;) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            return client_gone(r, "the client stopped reading for Timeout");
        struct pollfd p = { .fd = r->connection->fd, .events = POLLOUT };
        int ready = blocking_poll(&p, 1, left);
        if (ready > 0)
            return WEFT_OK;  /* an error shows up in the next write */
        if (ready < 0 && errno != EINTR)
            return client_gone(r, "poll failed");
    }
}

int response_stream_send(request *r, struct iovec *vectors, int count)
{
    connection *c = r->connection;
    int index = 0;
    while (index < count) {
        if (vectors[index].iov_len == 0) {
            index++;
            continue;
        }
        ssize_t written = c->io->writev(c, vectors + index, count - index, false);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_writable(r) != WEFT_OK)
                    return WEFT_ERROR;
                continue;
            }
            return client_gone(r, "the connection failed");
        }
        r->bytes_sent += (uint64_t)written;
        size_t done = (size_t)written;
        while (index < count && done >= vectors[index].iov_len) {
            done -= vectors[index].iov_len;
            index++;
        }
        if (index < count) {
            vectors[index].iov_base = (char *)vectors[index].iov_base + done;
            vectors[index].iov_len -= done;
        }
    }
    return WEFT_OK;
}

static bool parse_length(const char *text, int64_t *value)
{
    int64_t result = 0;
    if (!*text)
        return false;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9' || result > (INT64_MAX - 9) / 10)
            return false;
        result = result * 10 + (*c - '0');
    }
    *value = result;
    return true;
}

static const char *handler_header(const request *r, const char *name)
{
    for (int i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static struct response_stream *new_stream(request *r)
{
    if (r->stream)
        return NULL;
    r->stream = pool_calloc(r->pool, sizeof(*r->stream));
    if (r->status == 0)
        r->status = 200;
    return r->stream;
}

int response_stream_begin(request *r)
{
    struct response_stream *s = new_stream(r);
    if (!s)
        return WEFT_ERROR;
    connection *c = r->connection;
    bool body_allowed = r->status >= 200 && r->status != 204 && r->status != 304;
    s->drop_body = r->head_only || !body_allowed;
    r->keep_alive = connection_may_keep_alive(c);
    if (output_filters_start(r)) {  /* it dropped Content-Length and may have cleared keep_alive */
        s->filtered = !s->drop_body;
        s->chunked = output_filters_chunked(r);
    }
    const char *length = handler_header(r, "Content-Length");
    s->has_length = length && parse_length(length, &s->length_left);

    if (!s->drop_body && !s->has_length && !s->filtered) {
        bool http11 = r->version_major > 1 || (r->version_major == 1 && r->version_minor >= 1);
        if (http11)
            s->chunked = true;
        else
            r->keep_alive = false;  /* HTTP/1.0: the body ends when the connection does */
    }

    request_run_response_head(r);  /* Header, Expires, AddDefaultCharset apply here too */
    buffer_clear(&c->output);
    response_serialize_head(r, &c->output);
    struct iovec vector = { c->output.data, c->output.length };
    int rc = response_stream_send(r, &vector, 1);
    buffer_clear(&c->output);
    return rc;
}

int response_stream_begin_raw(request *r)
{
    struct response_stream *s = new_stream(r);
    if (!s)
        return WEFT_ERROR;
    s->raw = true;
    /* RFC 3875 5.2: an nph script's response cannot promise another. */
    r->keep_alive = false;
    return WEFT_OK;
}

bool response_stream_chunked(const request *r)
{
    return r->stream && r->stream->chunked;
}

/* The chain frames its own output (chunked or not). */
static int send_filtered(request *r, const char *data, size_t length, bool last)
{
    const char *out;
    size_t out_length;
    if (output_filters_push(r, data, length, last, &out, &out_length) != WEFT_OK) {
        response_stream_abort(r);
        return WEFT_ERROR;
    }
    if (out_length == 0)
        return WEFT_OK;
    struct iovec vector = { (void *)out, out_length };
    if (response_stream_send(r, &vector, 1) != WEFT_OK)
        return WEFT_ERROR;
    r->body_bytes_sent += out_length;
    return WEFT_OK;
}

int response_stream_write(request *r, const char *data, size_t length)
{
    struct response_stream *s = r->stream;
    if (!s || s->failed)
        return WEFT_ERROR;
    if (length == 0 || (s->drop_body && !s->raw))
        return WEFT_OK;
    if (s->filtered)
        return send_filtered(r, data, length, false);
    if (s->has_length && !s->raw) {
        if ((uint64_t)s->length_left < length)
            length = (size_t)s->length_left;
        if (length == 0)
            return WEFT_OK;
        s->length_left -= (int64_t)length;
    }
    struct iovec vectors[3];
    int count = 0;
    char size_line[24];
    if (s->chunked) {
        int size_length = snprintf(size_line, sizeof(size_line), "%zx\r\n", length);
        vectors[count++] = (struct iovec){ size_line, (size_t)size_length };
    }
    vectors[count++] = (struct iovec){ (void *)data, length };
    if (s->chunked)
        vectors[count++] = (struct iovec){ (void *)"\r\n", 2 };
    if (response_stream_send(r, vectors, count) != WEFT_OK)
        return WEFT_ERROR;
    r->body_bytes_sent += length;
    return WEFT_OK;
}

int response_stream_end(request *r)
{
    struct response_stream *s = r->stream;
    if (!s || s->failed)
        return WEFT_ERROR;
    if (s->filtered)
        return send_filtered(r, NULL, 0, true);
    if (s->chunked) {
        struct iovec last = { (void *)"0\r\n\r\n", 5 };
        if (response_stream_send(r, &last, 1) != WEFT_OK)
            return WEFT_ERROR;
    }
    if (s->has_length && s->length_left > 0 && !s->drop_body && !s->raw) {
        /* Fewer bytes than announced: only closing tells the client. */
        response_stream_abort(r);
        return WEFT_ERROR;
    }
    return WEFT_OK;
}

void response_stream_abort(request *r)
{
    if (r->stream)
        r->stream->failed = true;
    r->keep_alive = false;
}
