/*
 * connection.c — the HTTP/1.1 state machine of one connection (see
 * connection.h).  Everything here is non-blocking: when the socket would
 * block we return what we wait for and the event loop parks us.
 */
#include "connection.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/network.h"
#include "../core/module.h"
#include "backend.h"
#include "filter.h"
#include "response.h"

#define INPUT_INITIAL_SIZE 4096
#define REQUEST_POOL_SIZE 4096
/* Lingering close (Apache's SECONDS_TO_LINGER x MAX_SECS_TO_LINGER, shortened):
 * read and discard what the client still sends, so that our FIN is not
 * turned into a RST that destroys the response it has not read yet. */
#define LINGER_MS 2000
#define SENDFILE_CHUNK (1 << 20)

static ssize_t plain_read(connection *c, void *data, size_t length)
{
    return recv(c->fd, data, length, 0);
}

static ssize_t plain_writev(connection *c, const struct iovec *vectors, int count, bool more_follows)
{
    struct msghdr message = { .msg_iov = (struct iovec *)vectors, .msg_iovlen = (size_t)count };
    return sendmsg(c->fd, &message, MSG_NOSIGNAL | (more_follows ? MSG_MORE : 0));
}

static ssize_t plain_sendfile(connection *c, int file, off_t *offset, size_t count)
{
    return sendfile(c->fd, file, offset, count);
}

static int plain_shutdown(connection *c)
{
    return shutdown(c->fd, SHUT_WR);
}

static void plain_close(connection *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

const connection_io connection_plain_io = {
    .read = plain_read,
    .writev = plain_writev,
    .sendfile = plain_sendfile,
    .shutdown = plain_shutdown,
    .close = plain_close,
};


void connection_init(connection *c, int fd, const server_config *server, const struct sockaddr_storage *peer)
{
    c->fd = fd;
    c->io = &connection_plain_io;
    c->io_context = NULL;
    c->io_wants = 0;
    c->listen_index = -1;
    c->protocol = NULL;
    c->server = server;
    c->phase = PHASE_READ_HEAD;
    c->request_started = false;
    c->requests_served = 0;
    c->discard_remaining = 0;
    c->discard_chunked = false;
    c->output_sent = 0;
    c->body_file = -1;
    c->filter_pending = false;
    c->pull_pending = false;
    c->close_after_response = false;
    c->read_ready = true;  /* nothing read yet: the request may be there already */
    c->peer_closed = false;
    buffer_clear(&c->input);
    buffer_clear(&c->output);

    ip_address_text(peer, c->peer_address, sizeof(c->peer_address), &c->peer_port);
    c->proxy_protocol = false;
    c->proxy_client_address[0] = '\0';
    c->local_known = false;
    c->head_started_ms = monotonic_ms();
}

int connection_open_modules(connection *c)
{
    for (const module *const *m = weft_modules; *m; m++)
        if ((*m)->connection_open && (*m)->connection_open(c) == WEFT_ERROR)
            return WEFT_ERROR;
    return WEFT_OK;
}

static void find_local_address(const connection *constant)
{
    /* Looked up lazily: most requests never need it, and it costs a
     * system call.  The fields are a cache, hence the cast. */
    connection *c = (connection *)constant;
    if (c->local_known)
        return;
    struct sockaddr_storage address;
    socklen_t length = sizeof(address);
    if (c->fd >= 0 && getsockname(c->fd, (struct sockaddr *)&address, &length) == 0)
        ip_address_text(&address, c->local_address, sizeof(c->local_address), &c->local_port);
    else
        strcpy(c->local_address, "-");
    c->local_known = true;
}

/* Each thread keeps one spare request pool and one spare input buffer, so
 * that a keep-alive connection can give its own back while it is idle
 * without costing a malloc/free pair per request. */
static _Thread_local pool *spare_pool;
#define COPY_BUFFER_SIZE (64 * 1024)
static _Thread_local char *copy_buffer;      /* send_file_copied */
static _Thread_local char *spare_input;

static pool *take_pool(void)
{
    pool *p = spare_pool;
    spare_pool = NULL;
    return p ? p : pool_create(REQUEST_POOL_SIZE);
}

static void give_pool(pool *p)
{
    pool_reset(p);
    if (!spare_pool && pool_footprint(p) <= 2 * REQUEST_POOL_SIZE)
        spare_pool = p;
    else
        pool_destroy(p);
}

/* The input buffer's capacity is charged to the child's budget once it
 * grows beyond the initial size every connection gets (budget.h). */
static size_t input_charge(size_t capacity)
{
    return capacity > INPUT_INITIAL_SIZE ? capacity : 0;
}

/* Gives the input buffer exactly `capacity` bytes (more than it has),
 * charging the budget first.  false when the budget refuses. */
static bool grow_input(connection *c, size_t capacity)
{
    size_t charge = input_charge(capacity);
    if (charge > c->input_charged) {
        if (!budget_charge(c->budget, charge - c->input_charged))
            return false;
        if (c->input_charged == 0)
            c->input_charged_ms = monotonic_ms();
        c->input_charged = charge;
    }
    c->input.data = xrealloc(c->input.data, capacity + 1);
    c->input.capacity = capacity;
    return true;
}

bool connection_reserve_input(connection *c, size_t additional)
{
    if (!c->input.data)
        buffer_init(&c->input, INPUT_INITIAL_SIZE);
    if (c->input.capacity - c->input.length >= additional)
        return true;
    size_t capacity = c->input.capacity * 2;
    if (capacity < c->input.length + additional)
        capacity = c->input.length + additional;
    return grow_input(c, capacity);
}

static void give_input(connection *c)
{
    budget_release(c->budget, c->input_charged);
    c->input_charged = 0;
    if (c->input.capacity == INPUT_INITIAL_SIZE && !spare_input) {
        spare_input = c->input.data;
        c->input.data = NULL;
        c->input.length = c->input.capacity = 0;
    } else {
        buffer_free(&c->input);
    }
}

void connection_thread_exit(void)
{
    pool_destroy(spare_pool);
    spare_pool = NULL;
    free(spare_input);
    spare_input = NULL;
    free(copy_buffer);
    copy_buffer = NULL;
}

void connection_idle(connection *c)
{
    if (c->input.length == 0 && c->input.data)
        give_input(c);
    buffer_free(&c->output);
    buffer_free(&c->pulled);
    if (c->request_pool) {
        give_pool(c->request_pool);
        c->request_pool = NULL;
    }
}

void connection_release(connection *c)
{
    if (c->input.data)
        give_input(c);
    buffer_free(&c->output);
    buffer_free(&c->pulled);
    if (c->request_pool) {
        give_pool(c->request_pool);
        c->request_pool = NULL;
    }
}

const char *connection_peer_address(const connection *c) { return c->peer_address; }
int connection_peer_port(const connection *c) { return c->peer_port; }
const char *connection_local_address(const connection *c)
{
    find_local_address(c);
    return c->local_address;
}

int connection_local_port(const connection *c)
{
    find_local_address(c);
    return c->local_port;
}

/* The most input a request head may need: LimitRequestHeadSize, or less
 * when the per-field limits allow no head that large; plus one byte, so
 * that the parser sees the head overflow and answers 414 or 431 itself. */
static size_t head_limit(const server_config *server)
{
    size_t fields = server->limit_request_fields ? (size_t)server->limit_request_fields : 1000;
    size_t limit = (size_t)server->limit_request_line + 2 + fields * ((size_t)server->limit_request_field_size + 2) + 2;
    size_t total = server->limit_request_head_size > 0 ? (size_t)server->limit_request_head_size : (16u << 20);
    return (limit < total ? limit : total) + 1;
}

/* Reads whatever the socket has into the input buffer, which grows up to
 * limit bytes (doubling, but never past limit).  Returns the byte count, 0
 * at end of stream, or -1 (errno EAGAIN: nothing yet; ENOBUFS: the buffer
 * is full at limit; ENOMEM: the child's budget refused the growth).  Every
 * wait for input in this file comes from an EAGAIN here (or in run_linger),
 * and a socket that is not read_ready answers EAGAIN without a system call:
 * its last read proved the receive queue empty, so the next bytes raise an
 * edge.  (nginx: ngx_http_read_request_header reads only if rev->ready.) */
static ssize_t read_input(connection *c, size_t limit)
{
    if (!c->read_ready) {
        errno = EAGAIN;
        return -1;
    }
    if (!c->input.data) {
        if (spare_input) {
            c->input.data = spare_input;
            c->input.capacity = INPUT_INITIAL_SIZE;
            c->input.length = 0;
            spare_input = NULL;
        } else {
            buffer_init(&c->input, INPUT_INITIAL_SIZE);
        }
    }
    if (c->input.capacity == c->input.length) {
        if (c->input.length >= limit) {
            errno = ENOBUFS;
            return -1;
        }
        size_t capacity = c->input.capacity * 2 < limit ? c->input.capacity * 2 : limit;
        if (!grow_input(c, capacity)) {
            errno = ENOMEM;
            return -1;
        }
    }
    size_t room = c->input.capacity - c->input.length;
    ssize_t count = connection_read(c, c->input.data + c->input.length, room);
    if (count > 0) {
        c->input.length += (size_t)count;
        c->input.data[c->input.length] = '\0';
    }
    return count;
}

static void begin_request(connection *c, const connection_worker *worker)
{
    if (!c->request_pool)
        c->request_pool = take_pool();
    request_begin(&c->request, c, c->server, c->request_pool);
    c->request_started = true;
    /* The first request's head stage began at accept; a later one's when
     * its first byte arrived (the wait before it is KeepAliveTimeout's). */
    if (c->requests_served > 0)
        c->head_started_ms = monotonic_ms();
    if (worker->score)
        scoreboard_set_status(worker->score, THREAD_READING);
}

bool connection_may_keep_alive(const connection *c)
{
    const request *r = &c->request;
    const server_config *server = c->server;
    if (c->close_after_response || !server->keep_alive)
        return false;
    if (server->max_keep_alive_requests > 0 && c->requests_served + 1 >= server->max_keep_alive_requests)
        return false;
    if (r->parser.connection_close)
        return false;
    /* Apache's special variables (SetEnvIf, BrowserMatch): nokeepalive, and
     * force-response-1.0, which answers an HTTP/1.0 request as HTTP/1.0 and
     * closes. */
    if (r->env_count && request_get_env(r, "nokeepalive"))
        return false;
    if (r->version_major == 1 && r->version_minor == 0)
        return r->parser.connection_keep_alive && !(r->env_count && request_get_env(r, "force-response-1.0"));
    return true;
}

static bool wants_keep_alive(connection *c, const connection_worker *worker)
{
    return !worker->stopping && connection_may_keep_alive(c);
}

/* Decides what happens with a request body the handler did not read. */
static void plan_body_discard(connection *c)
{
    request *r = &c->request;
    c->discard_remaining = 0;
    c->discard_chunked = false;
    c->discarded = 0;
    bool has_body = r->parser.chunked || r->parser.content_length > 0;
    /* A handler may have read the body (body.h): only the rest is ours. */
    const request_body_progress *read = &r->body_read;
    if (!has_body || read->finished)
        return;
    if (read->failed || (r->parser.expect_continue && !read->started) || r->status == 413) {
        /* The client waits for "100 Continue" (or sent too much, or the
         * body broke off): reading the body would only wait for it; close
         * instead. */
        c->close_after_response = true;
        return;
    }
    c->discard_limit = r->dir->limit_request_body;
    if (r->parser.chunked) {
        c->discard_chunked = true;
        c->discarded = read->received;
        if (!read->started)  /* else the handler's decoder goes on where it stopped */
            http_chunked_init(&c->chunked, 4096, 65536);
    } else {
        c->discard_remaining = r->parser.content_length - read->received;
    }
}

/* Makes the next BODY_PIECES piece the memory or file part being sent. */
static void start_next_piece(connection *c)
{
    const body_piece *piece = c->pieces++;
    c->pieces_left--;
    if (piece->data) {
        c->body_data = piece->data;
        c->body_remaining_memory = piece->length;
    } else {
        c->body_offset = piece->offset;
        c->body_remaining_file = (int64_t)piece->length;
    }
}

static void prepare_response(connection *c, const connection_worker *worker)
{
    request *r = &c->request;
    plan_body_discard(c);
    /* A streamed head already went out: it may have promised a close. */
    bool stream_closes = r->stream && !r->keep_alive;
    r->keep_alive = !stream_closes && wants_keep_alive(c, worker);
    bool pulls = r->body == BODY_PULL && !r->head_only && r->status >= 200 && r->status != 204 && r->status != 304;
    bool http11 = r->version_major > 1 || (r->version_major == 1 && r->version_minor >= 1);
    if (pulls && r->body_length < 0 && !http11)
        r->keep_alive = false;  /* HTTP/1.0: the body of unknown length ends with the connection */
    if (!r->keep_alive)
        c->close_after_response = true;
    if (worker->score) {
        scoreboard_set_status(worker->score, THREAD_WRITING);
        const char *line = r->request_line ? r->request_line : "";
        scoreboard_note_request(worker->score, request_client_address(r), line,
                                strnlen(line, 4 * SCOREBOARD_REQUEST_SIZE), r->server->server_name,
                                r->start_seconds);
    }

    buffer_clear(&c->output);
    /* Filters see the handler's response; Header directives apply last. */
    /* A pulled body goes out as the backend sent it (no output filters yet). */
    c->filter_pending = !r->stream && r->body != BODY_PULL && output_filters_start(r);
    if (c->filter_pending && !r->keep_alive)
        c->close_after_response = true;  /* HTTP/1.0: the body ends with the connection */
    if (!r->stream) {  /* a streamed response is out already (stream.h) */
        request_run_response_head(r);
        response_serialize_head(r, &c->output);
    }
    c->output_sent = 0;
    c->body_data = NULL;
    c->body_remaining_memory = 0;
    c->body_remaining_file = 0;
    c->pieces_left = 0;
    c->pull_pending = pulls;
    c->pull_chunked = pulls && r->body_length < 0 && http11;
    c->pull_left = r->body_length;
    c->pull_framing = 0;
    if (!r->stream && !r->head_only && r->status >= 200 && r->status != 204 && r->status != 304) {
        if (c->filter_pending) {
            /* write_pending pulls the body from the chain (filter.h). */
        } else if (r->body == BODY_MEMORY) {
            c->body_data = r->body_data;
            c->body_remaining_memory = (size_t)r->body_length;
        } else if (r->body == BODY_FILE) {
            c->body_file = r->body_file;
            c->body_offset = r->body_offset;
            c->body_remaining_file = r->body_length;
        } else if (r->body == BODY_PIECES && r->body_piece_count > 0) {
            c->body_file = r->body_file;
            c->pieces = r->body_pieces;
            c->pieces_left = r->body_piece_count;
            start_next_piece(c);  /* so that the head and a first memory piece go out together */
        }
    } else {
        c->filter_pending = false;  /* HEAD, 204, 304: the filters only changed the head */
    }
    c->phase = PHASE_WRITE;
}

/* EnableSendfile Off: the file's next bytes go through memory.  What the
 * socket does not take is read again next time, from the new offset. */
static ssize_t send_file_copied(connection *c, size_t count)
{
    /* Allocated on first use, not as thread-local storage: glibc zeroes a
     * thread's static TLS at every thread start, so a 64 KiB array there
     * would cost every thread of every child 64 KiB of memory even where
     * EnableSendfile is On. */
    if (!copy_buffer)
        copy_buffer = xmalloc(COPY_BUFFER_SIZE);
    char *copy = copy_buffer;
    if (count > COPY_BUFFER_SIZE)
        count = COPY_BUFFER_SIZE;
    ssize_t got = pread(c->body_file, copy, count, c->body_offset);
    if (got <= 0)
        return got;
    struct iovec vector = { copy, (size_t)got };
    ssize_t sent = c->io->writev(c, &vector, 1, (size_t)got < (size_t)c->body_remaining_file);
    if (sent > 0)
        c->body_offset += sent;
    return sent;
}

/* Writes the head and the current memory or file part. */
static int write_current(connection *c)
{
    request *r = &c->request;
    while (c->output_sent < c->output.length || c->body_remaining_memory) {
        struct iovec vectors[2];
        int count = 0;
        size_t head_left = c->output.length - c->output_sent;
        if (head_left) {
            vectors[count].iov_base = c->output.data + c->output_sent;
            vectors[count++].iov_len = head_left;
        }
        if (c->body_remaining_memory) {
            vectors[count].iov_base = (void *)c->body_data;
            vectors[count++].iov_len = c->body_remaining_memory;
        }
        ssize_t written = c->io->writev(c, vectors, count,
                                        c->body_remaining_file > 0 || c->pieces_left > 0 || c->filter_pending);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? WEFT_AGAIN : WEFT_ERROR;
        }
        size_t done = (size_t)written;
        r->bytes_sent += done;
        if (done >= head_left) {
            c->output_sent = c->output.length;
            done -= head_left;
            c->body_data += done;
            c->body_remaining_memory -= done;
            r->body_bytes_sent += done;
        } else {
            c->output_sent += done;
        }
    }
    bool use_sendfile = (!r->dir || r->dir->enable_sendfile) && c->io->sendfile;
    while (c->body_remaining_file > 0) {
        size_t chunk = c->body_remaining_file > SENDFILE_CHUNK ? SENDFILE_CHUNK : (size_t)c->body_remaining_file;
        ssize_t sent = use_sendfile ? c->io->sendfile(c, c->body_file, &c->body_offset, chunk)
                                    : send_file_copied(c, chunk);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? WEFT_AGAIN : WEFT_ERROR;
        }
        if (sent == 0)  /* the file shrank under us: we cannot keep our promise */
            return WEFT_ERROR;
        c->body_remaining_file -= sent;
        r->bytes_sent += (uint64_t)sent;
        r->body_bytes_sent += (uint64_t)sent;
    }
    return WEFT_OK;
}

/* The next piece of a BODY_PULL body into body_data (framed as a chunk when
 * chunked).  WEFT_OK, WEFT_DONE (the last bytes, maybe none, are set up),
 * WEFT_AGAIN (the backend has nothing yet), WEFT_ERROR. */
static int pull_body(connection *c)
{
    request *r = &c->request;
    request_backend *b = r->backend;
    const char *data = NULL;
    size_t length = 0;
    int rc = b ? b->type->pull(r, b, &data, &length) : WEFT_ERROR;
    if (rc == WEFT_AGAIN || rc == WEFT_ERROR)
        return rc;
    if (rc == WEFT_DONE) {
        length = 0;
        if (c->pull_left > 0)
            return WEFT_ERROR;  /* shorter than announced: the client must see it */
    }
    if (c->pull_left >= 0 && (int64_t)length > c->pull_left)
        length = (size_t)c->pull_left;  /* more than announced: never passed on */
    if (c->pull_left >= 0)
        c->pull_left -= (int64_t)length;
    if (!c->pull_chunked) {
        c->body_data = data;
        c->body_remaining_memory = length;
    } else {
        buffer_clear(&c->pulled);
        if (length > 0) {
            char size_line[24];
            int size_length = snprintf(size_line, sizeof(size_line), "%zx\r\n", length);
            buffer_append(&c->pulled, size_line, (size_t)size_length);
            buffer_append(&c->pulled, data, length);
            buffer_append(&c->pulled, "\r\n", 2);
        }
        if (rc == WEFT_DONE)
            buffer_append(&c->pulled, "0\r\n\r\n", 5);
        c->pull_framing += c->pulled.length - length;
        c->body_data = c->pulled.data;
        c->body_remaining_memory = c->pulled.length;
    }
    if (rc == WEFT_DONE)
        c->pull_pending = false;
    return WEFT_OK;
}

/* write_pending's answer when a pulled body waits for its backend. */
#define WAIT_FOR_BACKEND 100

/* Writes what is pending.  WEFT_OK when everything is sent, WEFT_AGAIN when
 * the socket is full, WAIT_FOR_BACKEND when a pulled body has no bytes yet,
 * WEFT_ERROR when the client went away. */
static int write_pending(connection *c)
{
    if (c->request.stream && c->request.aborted)
        return WEFT_ERROR;  /* the client left while the handler streamed */
    for (;;) {
        if (c->pull_pending && c->body_remaining_memory == 0) {
            int pulled = pull_body(c);
            if (pulled == WEFT_ERROR)
                return WEFT_ERROR;
            if (pulled == WEFT_AGAIN) {
                /* The head goes out at once, whatever the body does. */
                if (c->output_sent < c->output.length) {
                    int rc = write_current(c);
                    if (rc != WEFT_OK)
                        return rc;
                }
                return WAIT_FOR_BACKEND;
            }
        }
        if (c->filter_pending && c->body_remaining_memory == 0) {
            /* The socket took the last piece: filter the next one. */
            int pulled = output_filters_pull(&c->request, &c->body_data, &c->body_remaining_memory);
            if (pulled == WEFT_ERROR)
                return WEFT_ERROR;
            if (pulled == WEFT_DONE)
                c->filter_pending = false;
        }
        int rc = write_current(c);
        if (rc != WEFT_OK)
            return rc;
        if (c->filter_pending || c->pull_pending)
            continue;
        if (c->pieces_left == 0)
            return rc;
        start_next_piece(c);
    }
}

/* The client itself ended the exchange (Connection: close, or HTTP/1.0
 * without keep-alive) and sent no body we did not read. */
static bool client_expects_close(const connection *c)
{
    const request *r = &c->request;
    if (c->discard_remaining || c->discard_chunked || r->status == 413 || r->parser.head_length == 0)
        return false;
    if (r->parser.connection_close)
        return true;
    return r->version_major == 1 && r->version_minor == 0 && !r->parser.connection_keep_alive;
}

static void finish_request(connection *c, const connection_worker *worker)
{
    request *r = &c->request;
    if (r->filters)
        output_filters_uncount_framing(r);  /* %b counts the body, not its chunk framing */
    if (c->pull_framing) {
        r->body_bytes_sent -= c->pull_framing < r->body_bytes_sent ? c->pull_framing : r->body_bytes_sent;
        c->pull_framing = 0;
    }
    c->pull_pending = false;
    if (worker->score) {
        scoreboard_thread *score = worker->score;
        scoreboard_set_status(score, THREAD_LOGGING);
        struct timespec end;
        clock_gettime(CLOCK_MONOTONIC, &end);
        int64_t duration_us = (end.tv_sec - r->start_time.tv_sec) * 1000000 +
                              (end.tv_nsec - r->start_time.tv_nsec) / 1000;
        scoreboard_count_request(score, r->status, r->body_bytes_sent, duration_us);
    }
    request_run_log(r);
    /* The head (and whatever part of the body we already buffered) is done
     * with only now: the log above still read header fields from it. */
    size_t used = r->parser.head_length;
    if (used == 0 || used > c->input.length)
        used = c->input.length;  /* parse errors: nothing after is trustworthy */
    else
        used += r->body_read.input_used;  /* body bytes a handler took from the buffer */
    buffer_consume(&c->input, used);
    c->requests_served++;
    c->request_started = false;
    c->body_file = -1;  /* owned and closed by the request pool */
    pool_reset(c->request_pool);
}

/* Discards request body bytes from the buffer and the socket.  WEFT_OK when
 * the body is gone, WEFT_AGAIN to wait for more, WEFT_ERROR to close. */
static int discard_body(connection *c)
{
    for (;;) {
        if (c->discard_chunked) {
            size_t consumed = 0, decoded = 0;
            int rc = http_chunked_decode(&c->chunked, c->input.data, c->input.length, &consumed, &decoded);
            buffer_consume(&c->input, consumed);
            c->discarded += (int64_t)decoded;
            if (c->discard_limit > 0 && c->discarded > c->discard_limit)
                return WEFT_ERROR;
            if (rc == WEFT_OK) {
                c->discard_chunked = false;
                return WEFT_OK;
            }
            if (rc == WEFT_ERROR)
                return WEFT_ERROR;
        } else {
            size_t take = c->input.length < (uint64_t)c->discard_remaining ? c->input.length
                                                                            : (size_t)c->discard_remaining;
            buffer_consume(&c->input, take);
            c->discard_remaining -= (int64_t)take;
            if (c->discard_remaining == 0)
                return WEFT_OK;
        }
        ssize_t count = read_input(c, 1 << 16);
        if (count == 0)
            return WEFT_ERROR;
        if (count < 0)
            return errno == EAGAIN ? WEFT_AGAIN : WEFT_ERROR;
    }
}

static connection_wait run_linger(connection *c)
{
    char scrap[4096];
    /* Until the socket is drained (EAGAIN or a short read): only then may
     * the connection wait for the client's FIN.  Closing with input still
     * queued would also send a RST instead of our FIN. */
    /* A client that keeps the queue full would keep us here: the linger
     * deadline bounds the drain as well as the wait. */
    while (c->read_ready) {
        ssize_t count = connection_read(c, scrap, sizeof(scrap));
        if (count == 0 || (count < 0 && errno != EAGAIN) || monotonic_ms() >= c->linger_deadline_ms)
            return CONNECTION_CLOSE;
    }
    return monotonic_ms() < c->linger_deadline_ms ? CONNECTION_WAIT_LINGER : CONNECTION_CLOSE;
}

static connection_wait start_linger(connection *c)
{
    if (c->io->shutdown)
        c->io->shutdown(c);
    else
        shutdown(c->fd, SHUT_WR);
    c->phase = PHASE_LINGER;
    c->linger_deadline_ms = monotonic_ms() + LINGER_MS;
    /* Lingering reads into scrap: the buffer is not needed any more. */
    if (c->input.data)
        give_input(c);
    return run_linger(c);  /* what is queued already raises no edge */
}

int64_t request_read_deadline_ms(const request_read_timeout_setting *setting, bool header,
                                 int64_t started_ms, uint64_t bytes)
{
    int initial = header ? setting->header_initial : setting->body_initial;
    int maximum = header ? setting->header_maximum : setting->body_maximum;
    int rate = header ? setting->header_min_rate : setting->body_min_rate;
    if (initial <= 0)
        return INT64_MAX;
    int64_t deadline = started_ms + (int64_t)initial * 1000;
    if (rate > 0) {
        /* mod_reqtimeout: every MinRate bytes received buy one more second. */
        deadline += (int64_t)(bytes * 1000 / (uint64_t)rate);
        if (maximum > 0 && deadline > started_ms + (int64_t)maximum * 1000)
            deadline = started_ms + (int64_t)maximum * 1000;
    }
    return deadline;
}

int64_t connection_read_deadline_ms(const connection *c)
{
    if (c->phase != PHASE_READ_HEAD)
        return INT64_MAX;
    uint64_t received = c->request_started ? c->input.length : 0;
    return request_read_deadline_ms(&c->server->request_read_timeout, true, c->head_started_ms, received);
}

void connection_expire(connection *c, const connection_worker *worker)
{
    request_backend *b = c->request_started ? c->request.backend : NULL;
    if (b && c->phase == PHASE_BACKEND) {
        /* The backend did not answer in time: its error page (504). */
        b->expired = true;
        b->type->expire(&c->request, b);
        c->close_after_response = true;
        prepare_response(c, worker);
        if (write_pending(c) != WEFT_OK)
            c->request.aborted = true;
        finish_request(c, worker);
        return;
    }
    if (b && c->phase == PHASE_WRITE) {
        /* Mid-body: the client sees a truncated response. */
        b->expired = true;
        b->type->expire(&c->request, b);
        c->request.aborted = true;
        finish_request(c, worker);
        return;
    }
    if (c->phase != PHASE_READ_HEAD || !c->request_started || c->input.length == 0)
        return;  /* nothing of a request yet: just close, as Apache does */
    request *r = &c->request;
    request_handle_parse_error(r, 408, c->input.data, c->input.length);
    c->close_after_response = true;
    prepare_response(c, worker);
    if (write_pending(c) == WEFT_OK)
        finish_request(c, worker);
    else {
        r->aborted = true;
        finish_request(c, worker);
    }
}

/* ---- backends (backend.h) ------------------------------------------------------ */

request_backend *request_backend_attach(request *r, const request_backend_type *type, void *context, int fd)
{
    request_backend *b = pool_calloc(r->pool, sizeof(*b));
    b->type = type;
    b->context = context;
    b->fd = fd;
    b->deadline_ms = INT64_MAX;
    r->backend = b;
    r->connection->backend_serial++;
    return b;
}

void request_backend_set_fd(request *r, int fd)
{
    r->backend->fd = fd;
    r->connection->backend_serial++;
}

int connection_backend_wait(const connection *c, unsigned *wants, int64_t *deadline_ms)
{
    const request_backend *b = c->request_started ? c->request.backend : NULL;
    if (!b || b->fd < 0 || !(c->phase == PHASE_BACKEND || c->phase == PHASE_WRITE)) {
        *wants = 0;
        *deadline_ms = INT64_MAX;
        return -1;
    }
    *wants = b->wants;
    *deadline_ms = b->deadline_ms;
    return b->fd;
}

/* While it waits for a backend, the connection reads nothing from the
 * client: after the event loop reported an end of stream, a look at its
 * socket tells whether it is still there (nginx's check for a broken
 * connection).  An end of stream counts as gone: a
 * client that half-closes after its request is not told apart. */
static bool client_went_away(connection *c)
{
    /* Only an end of stream or an error the event loop reported (for the
     * client's socket or, sharing its key, the backend's) is worth a look. */
    if (!c->peer_closed)
        return false;
    char byte;
    ssize_t count = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        if (log_enabled(LOG_LEVEL_INFO))
            log_message(LOG_LEVEL_INFO, "[client %s:%d] the client went away while its backend (%s) answered %s",
                        c->peer_address, c->peer_port, c->request.backend->type->name,
                        c->request.path ? c->request.path : "-");
        return true;
    }
    return false;
}

/* Lets the backend go on until its response head is known; then the
 * response is prepared as any other.  WEFT_AGAIN: wait for it. */
static int run_backend(connection *c, const connection_worker *worker)
{
    request *r = &c->request;
    request_backend *b = r->backend;
    if (client_went_away(c))
        return WEFT_ERROR;
    int rc = b->type->run(r, b);
    if (rc == WEFT_AGAIN)
        return WEFT_AGAIN;
    b->head_done = true;
    if (rc != WEFT_OK)
        response_set_error(r, 500);
    prepare_response(c, worker);
    return WEFT_OK;
}

/* ---- other protocols (connection.h) ---------------------------------------- */

/* Whether any module provides a protocol: decided once, so that HTTP/1.1
 * requests pay nothing for the hook when none does. */
static bool any_protocol(void)
{
    /* The module list is constant: threads that race here compute the same. */
    static _Atomic int present = -1;
    int known = atomic_load_explicit(&present, memory_order_relaxed);
    if (known < 0) {
        known = 0;
        for (const module *const *m = weft_modules; *m; m++)
            known |= (*m)->protocol != NULL;
        atomic_store_explicit(&present, known, memory_order_relaxed);
    }
    return known > 0;
}

bool connection_offer_protocol(connection *c, request *r, const char *name)
{
    if (!name || !any_protocol())
        return false;
    for (const module *const *m = weft_modules; *m; m++) {
        const connection_protocol *protocol = (*m)->protocol;
        if (protocol && strcmp(protocol->name, name) == 0 && protocol->take(c, r) == WEFT_OK) {
            c->protocol = protocol;
            return true;
        }
    }
    return false;
}

/* "Upgrade: h2c" and the like: offers the connection to each protocol the
 * request names. */
static bool offer_upgrade(connection *c, request *r)
{
    slice upgrade;
    if (!any_protocol() || !request_header_slice(r, "Upgrade", &upgrade))
        return false;
    for (const module *const *m = weft_modules; *m; m++) {
        const connection_protocol *protocol = (*m)->protocol;
        if (protocol && slice_list_contains_token(upgrade, protocol->name) &&
            connection_offer_protocol(c, r, protocol->name))
            return true;
    }
    return false;
}

/* Reads and parses a request head.  Returns true when a response has been
 * prepared (go on writing it); false with *wait set otherwise. */
static bool read_head(connection *c, const connection_worker *worker, connection_wait *wait)
{
    if (!c->request_started) {
        if (c->input.length == 0) {
            ssize_t count = read_input(c, head_limit(c->server));
            if (count == 0 || (count < 0 && errno != EAGAIN)) {
                *wait = CONNECTION_CLOSE;
                return false;
            }
            if (count < 0) {
                /* The first request of a connection is bounded by Timeout,
                 * the wait between requests by KeepAliveTimeout. */
                *wait = c->requests_served ? CONNECTION_WAIT_REQUEST : CONNECTION_WAIT_READ;
                return false;
            }
        }
        begin_request(c, worker);
    }
    request *r = &c->request;
    for (;;) {
        int rc = http_parse_request(&r->parser, c->input.data, c->input.length);
        if (rc == WEFT_OK) {
            r->head = c->input.data;
            if (offer_upgrade(c, r)) {
                *wait = c->protocol->run(c, worker);
                return false;
            }
            request_handle(r);
            if (r->backend) {
                c->phase = PHASE_BACKEND;  /* the backend prepares the response (backend.h) */
                return true;
            }
            prepare_response(c, worker);
            return true;
        }
        if (rc == WEFT_ERROR) {
            request_handle_parse_error(r, r->parser.error_status, c->input.data, c->input.length);
            c->close_after_response = true;
            prepare_response(c, worker);
            return true;
        }
        ssize_t count = read_input(c, head_limit(c->server));
        if (count > 0)
            continue;
        if (count < 0 && errno == EAGAIN) {
            *wait = CONNECTION_WAIT_READ;
            return false;
        }
        if (count < 0 && (errno == ENOBUFS || errno == ENOMEM)) {
            /* ENOMEM: the child's request buffer budget is exhausted and
             * nothing parked could be cut to make room. */
            request_handle_parse_error(r, errno == ENOBUFS ? 431 : 503, c->input.data, c->input.length);
            c->close_after_response = true;
            prepare_response(c, worker);
            return true;
        }
        *wait = CONNECTION_CLOSE;  /* the client gave up mid-request */
        return false;
    }
}

connection_wait connection_run(connection *c, const connection_worker *worker)
{
    if (c->protocol)
        return c->protocol->run(c, worker);
    for (;;) {
        switch (c->phase) {
        case PHASE_READ_HEAD: {
            connection_wait wait;
            if (!read_head(c, worker, &wait))
                return wait;
            break;
        }
        case PHASE_BACKEND: {
            int rc = run_backend(c, worker);
            if (rc == WEFT_AGAIN)
                return CONNECTION_WAIT_BACKEND;
            if (rc == WEFT_ERROR) {
                c->request.aborted = true;
                finish_request(c, worker);
                return CONNECTION_CLOSE;
            }
            break;
        }
        case PHASE_WRITE: {
            int rc = write_pending(c);
            if (rc == WEFT_AGAIN)
                return CONNECTION_WAIT_WRITE;
            if (rc == WAIT_FOR_BACKEND) {
                if (!client_went_away(c))
                    return CONNECTION_WAIT_BACKEND;
                rc = WEFT_ERROR;
            }
            if (rc == WEFT_ERROR) {
                c->request.aborted = true;
                finish_request(c, worker);
                return CONNECTION_CLOSE;
            }
            bool close_now = c->close_after_response;
            bool client_is_done = client_expects_close(c);
            finish_request(c, worker);
            if (close_now) {
                /* Lingering is only needed when the client may still be
                 * sending: we stopped it, or it sent more than we read
                 * (buffered, or maybe still queued: read_ready). */
                if (client_is_done && c->input.length == 0 && !c->read_ready)
                    return CONNECTION_CLOSE;
                return start_linger(c);
            }
            /* Nothing buffered: read_head asks the socket only if it may
             * hold more (read_ready), e.g. after a read that filled the
             * buffer or a body read that took exactly what it asked for.
             * Usually the last read was short, and then the wait for the
             * next request costs no recv() that says EAGAIN. */
            c->phase = (c->discard_remaining || c->discard_chunked) ? PHASE_DISCARD_BODY : PHASE_READ_HEAD;
            break;
        }
        case PHASE_DISCARD_BODY: {
            int rc = discard_body(c);
            if (rc == WEFT_AGAIN)
                return CONNECTION_WAIT_READ;
            if (rc == WEFT_ERROR)
                return start_linger(c);
            c->phase = PHASE_READ_HEAD;
            break;
        }
        case PHASE_LINGER:
            return run_linger(c);
        }
    }
}
