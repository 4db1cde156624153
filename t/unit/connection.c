/* Unit tests for src/http/connection.c: the connection state machine over a
 * socketpair, run by a small edge-triggered epoll loop that does what
 * mpm/child.c does (serve at accept, then only when an event comes; arm
 * EPOLLIN|EPOLLRDHUP or EPOLLOUT like park()), so that a connection that
 * parks while its socket still holds input is seen stranded.
 *
 * Pipelines of requests of every power-of-two size from 32 to 16,384 bytes
 * and one byte either side, in one write, split across writes and followed
 * by the client's FIN; bodies (Content-Length and chunked, read by the
 * handler, partly read, or discarded by the connection) and heads whose
 * boundary lands on the input buffer's size (4096, then doubling);
 * Expect: 100-continue; lingering close; a stopping child; responses that
 * block the socket while more requests arrive.  Throughout, the invariant
 * that makes edge triggering safe: a wait for input is returned only when
 * read_ready is clear.  And the kernel facts the design rests on. */
#include "tap.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/http/parser.c"
#include "../../src/core/blocking.c"
#include "../../src/core/budget.c"
#include "../../src/http/body.c"
#include "../../src/core/network.c"
#include "../../src/http/connection.c"
#include "../../src/http/filter.c"

#include "connection_stubs.h"

/* --- the socket and the event loop ------------------------------------- */

static int reads, eagain_reads;

static ssize_t test_read(connection *c, void *data, size_t length)
{
    ssize_t count = recv(c->fd, data, length, 0);
    reads++;
    if (count < 0 && errno == EAGAIN)
        eagain_reads++;
    return count;
}

static ssize_t test_writev(connection *c, const struct iovec *vectors, int count, bool more_follows)
{
    struct msghdr message = { .msg_iov = (struct iovec *)vectors, .msg_iovlen = (size_t)count };
    return sendmsg(c->fd, &message, MSG_NOSIGNAL);
}

static void test_close(connection *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static const connection_io test_io = { .read = test_read, .writev = test_writev, .close = test_close };

static server_config server;
static dir_config dir;

typedef struct {
    const char *data;          /* what the client sends */
    size_t length;
    const size_t *pieces;      /* write sizes, cycled (NULL: everything at once) */
    int piece_count;
    bool shut;                 /* shutdown(SHUT_WR) once everything is sent */
    bool late;                 /* write only after the server's first run (it is registered) */
    bool read_late;            /* read responses only once everything is sent (or stuck) */
    bool stopping;             /* the child is stopping */
    int server_sndbuf;         /* SO_SNDBUF of the server's end; 0 = default */
    bool writer_thread;        /* pieces written by a thread, 1 ms apart: a handler may block
                                * reading the body while the rest is still to come */
} exchange;

typedef struct {
    buffer received;           /* everything the server sent */
    bool closed;               /* connection_run said CONNECTION_CLOSE */
    connection_wait last_wait; /* else: what it waits for at the end */
    int ready_waits;           /* waits for input returned while read_ready was set */
    int runs;
} outcome;

typedef struct {
    const exchange *x;
    int fd;
    _Atomic bool done;
} writer;

static void *write_pieces(void *argument)
{
    writer *w = argument;
    const exchange *x = w->x;
    size_t sent = 0;
    for (int piece = 0; sent < x->length && piece < 1000000; piece++) {
        size_t want = x->pieces[piece % x->piece_count];
        if (want > x->length - sent)
            want = x->length - sent;
        for (size_t done = 0; done < want;) {
            ssize_t n = send(w->fd, x->data + sent + done, want - done, MSG_NOSIGNAL);
            if (n > 0) {
                done += (size_t)n;
            } else if (n < 0 && errno == EAGAIN) {
                struct pollfd p = { .fd = w->fd, .events = POLLOUT };
                poll(&p, 1, 1000);
            } else {
                w->done = true;
                return NULL;
            }
        }
        sent += want;
        usleep(1000);
    }
    if (x->shut)
        shutdown(w->fd, SHUT_WR);
    w->done = true;
    return NULL;
}

static bool waits_for_input(connection_wait wait)
{
    return wait == CONNECTION_WAIT_REQUEST || wait == CONNECTION_WAIT_READ || wait == CONNECTION_WAIT_LINGER;
}

/* Runs the exchange until nothing moves any more: the client has sent all
 * and no event is pending for the server.  The server runs at accept and
 * then only when epoll reports an event, as in the child. */
static outcome run_exchange(const exchange *x)
{
    outcome out = { .last_wait = CONNECTION_CLOSE };
    buffer_init(&out.received, 4096);
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ends) < 0) {
        note("socketpair: %s", strerror(errno));
        exit(1);
    }
    if (x->server_sndbuf)
        setsockopt(ends[0], SOL_SOCKET, SO_SNDBUF, &x->server_sndbuf, sizeof(x->server_sndbuf));
    int client = ends[1];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    connection c;
    memset(&c, 0, sizeof(c));
    struct sockaddr_storage peer = { .ss_family = AF_UNSPEC };
    connection_init(&c, ends[0], &server, &peer);
    c.io = &test_io;
    connection_worker worker = { .score = NULL, .stopping = x->stopping };

    uint32_t armed = 0;
    bool run = true, shut = false;
    size_t sent = 0;
    int piece = 0;
    writer w = { .x = x, .fd = client };
    pthread_t thread;
    if (x->writer_thread) {
        if (pthread_create(&thread, NULL, write_pieces, &w) != 0) {
            note("pthread_create failed");
            exit(1);
        }
        sent = x->length;  /* the thread's business */
        shut = true;
    }
    bool moved = true;
    for (int step = 0; step < 1000000; step++) {
        bool writing = x->writer_thread && !w.done;
        if (!moved && !writing && sent == x->length && (shut || !x->shut))
            break;
        moved = false;
        /* The client writes its next piece. */
        bool may_write = !x->late || out.runs > 0;
        if (may_write && sent < x->length) {
            size_t want = x->length - sent;
            if (x->pieces && x->pieces[piece % x->piece_count] < want)
                want = x->pieces[piece % x->piece_count];
            ssize_t n = send(client, x->data + sent, want, MSG_NOSIGNAL);
            if (n > 0) {
                sent += (size_t)n;
                if ((size_t)n == want)
                    piece++;
                moved = true;
            }
        }
        if (may_write && sent == x->length && x->shut && !shut) {
            shutdown(client, SHUT_WR);  /* with the last bytes: one edge for both */
            shut = true;
            moved = true;
        }
        /* The server runs if it has been given an event. */
        if (run && c.fd >= 0) {
            run = false;
            out.runs++;
            connection_wait wait = connection_run(&c, &worker);
            out.last_wait = wait;
            if (wait == CONNECTION_CLOSE) {
                out.closed = true;
                c.io->close(&c);
            } else {
                if (waits_for_input(wait) && c.read_ready)
                    out.ready_waits++;
                uint32_t wanted = (wait == CONNECTION_WAIT_WRITE ? EPOLLOUT : EPOLLIN | EPOLLRDHUP) | EPOLLET;
                if (armed != wanted) {
                    struct epoll_event event = { .events = wanted };
                    epoll_ctl(ep, armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &event);
                    armed = wanted;
                }
            }
            moved = true;
        }
        /* The client reads what came back. */
        if (!x->read_late || sent == x->length || !moved) {
            char chunk[65536];
            ssize_t n;
            while ((n = recv(client, chunk, sizeof(chunk), 0)) > 0) {
                buffer_append(&out.received, chunk, (size_t)n);
                moved = true;
            }
        }
        /* An event for the server?  (While the writer thread has more to
         * send, wait a little for it.) */
        if (c.fd >= 0) {
            struct epoll_event event;
            if (epoll_wait(ep, &event, 1, !moved && writing ? 10 : 0) == 1) {
                connection_input_ready(&c, event.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
                run = true;
                moved = true;
            }
        }
        if (writing)
            moved = true;
    }
    if (x->writer_thread)
        pthread_join(thread, NULL);
    if (c.fd >= 0)
        c.io->close(&c);
    connection_release(&c);
    close(client);
    close(ep);
    return out;
}

/* Splits what the server sent into responses: the bodies, in order, and
 * how many 100 Continue and Connection: close heads came. */
typedef struct {
    char *bodies[512];
    int count;
    int continues;
    int closes;
    bool garbled;
} responses;

static responses split_responses(const buffer *received)
{
    responses rs = { .count = 0 };
    size_t at = 0;
    while (at < received->length && rs.count < 512) {
        const char *start = received->data + at;
        const char *end = memmem(start, received->length - at, "\r\n\r\n", 4);
        if (!end) {
            rs.garbled = true;
            break;
        }
        size_t head = (size_t)(end - start) + 4;
        if (strncmp(start, "HTTP/1.1 100 ", 13) == 0) {
            rs.continues++;
            at += head;
            continue;
        }
        const char *length_field = memmem(start, head, "Content-Length: ", 16);
        if (strncmp(start, "HTTP/1.1 ", 9) != 0 || !length_field) {
            rs.garbled = true;
            break;
        }
        size_t length = strtoul(length_field + 16, NULL, 10);
        if (at + head + length > received->length) {
            rs.garbled = true;
            break;
        }
        if (memmem(start, head, "Connection: close", 17))
            rs.closes++;
        rs.bodies[rs.count] = length == BIG_RESPONSE ? strdup("BIG") : strndup(start + head, length);
        rs.count++;
        at += head + length;
    }
    return rs;
}

static void free_responses(responses *rs)
{
    for (int i = 0; i < rs->count; i++)
        free(rs->bodies[i]);
    rs->count = 0;
}

/* Are the responses' bodies expected[], in order?  Says why not. */
static bool bodies_are(const responses *rs, const char *const *expected, int count)
{
    int matching = 0;
    while (matching < count && matching < rs->count && strcmp(rs->bodies[matching], expected[matching]) == 0)
        matching++;
    if (matching == count && rs->count == count && !rs->garbled)
        return true;
    note("  %d responses, the first %d as expected%s", rs->count, matching, rs->garbled ? ", garbled" : "");
    if (matching < rs->count && matching < count)
        note("  response %d: '%.60s', expected '%.60s'", matching, rs->bodies[matching], expected[matching]);
    return false;
}

static void check_bodies(const char *name, const responses *rs, const char *const *expected, int count)
{
    if (!bodies_are(rs, expected, count))
        ok(0, "%s: all %d answered, in order", name, count);
    else
        ok(1, "%s: all %d answered, in order", name, count);
}

/* --- building requests ------------------------------------------------- */

/* A request head of exactly size bytes: "METHOD /MODE/ID?" padded in the
 * query and, past what a request line may hold, in header fields of up to
 * 4000 bytes, then Host and the extra fields. */
static void append_head(buffer *b, const char *method, char mode, int id, const char *extra, size_t size)
{
    char line[64];
    int prefix = snprintf(line, sizeof(line), "%s /%c/%d?", method, mode, id);
    static const char version[] = " HTTP/1.1\r\nHost:a\r\n";
    size_t fixed = (size_t)prefix + strlen(version) + strlen(extra) + 2;
    if (size < fixed) {
        note("a head cannot be %zu bytes", size);
        exit(1);
    }
    size_t pad = size - fixed;
    size_t in_fields = pad > 4000 ? pad - 4000 : 0;
    buffer_append(b, line, (size_t)prefix);
    for (size_t i = 0; i < pad - in_fields; i++)
        buffer_append_char(b, 'q');
    buffer_append_string(b, version);
    while (in_fields) {
        /* "X: " + value + CRLF: no field shorter than 5 bytes. */
        size_t field = in_fields > 4000 ? 4000 : in_fields;
        if (in_fields - field > 0 && in_fields - field < 5)
            field -= 5;
        buffer_append_string(b, "X: ");
        for (size_t i = 0; i + 5 < field; i++)
            buffer_append_char(b, 'h');
        buffer_append_string(b, "\r\n");
        in_fields -= field;
    }
    buffer_append_string(b, extra);
    buffer_append_string(b, "\r\n");
}

/* A GET of exactly size bytes (31 at least) for /g/ID. */
static void append_get(buffer *b, int id, size_t size)
{
    append_head(b, "GET", 'g', id, "", size);
}

static void body_bytes(char *out, size_t length, int id)
{
    for (size_t i = 0; i < length; i++)
        out[i] = (char)('a' + (i * 7 + (size_t)id) % 26);
}

static char *expected_echo(int id, size_t length)
{
    char *data = malloc(length + 1);
    body_bytes(data, length, id);
    char *text = malloc(64);
    snprintf(text, 64, "%d:%zu:%08x", id, length, fnv(data, length, 2166136261u));
    free(data);
    return text;
}

/* A Content-Length request for /MODE/ID whose head and body together are
 * exactly total bytes. */
static void append_sized_post(buffer *b, char mode, int id, size_t body, size_t total, const char *extra)
{
    char fields[256];
    snprintf(fields, sizeof(fields), "Content-Length: %zu\r\n%s", body, extra);
    if (total < body) {
        note("a POST cannot be %zu bytes", total);
        exit(1);
    }
    append_head(b, "POST", mode, id, fields, total - body);
    char *data = malloc(body + 1);
    body_bytes(data, body, id);
    buffer_append(b, data, body);
    free(data);
}

/* A chunked request for /MODE/ID carrying body bytes in chunks of at most
 * chunk bytes, the whole exactly total bytes. */
static void append_sized_chunked(buffer *b, char mode, int id, size_t body, size_t chunk, size_t total)
{
    buffer framed = { 0 };
    char *data = malloc(body + 1);
    body_bytes(data, body, id);
    for (size_t at = 0; at < body; at += chunk) {
        size_t n = body - at < chunk ? body - at : chunk;
        buffer_printf(&framed, "%zx\r\n", n);
        buffer_append(&framed, data + at, n);
        buffer_append_string(&framed, "\r\n");
    }
    buffer_append_string(&framed, "0\r\n\r\n");
    free(data);
    if (total < framed.length) {
        note("a chunked POST cannot be %zu bytes", total);
        exit(1);
    }
    append_head(b, "POST", mode, id, "Transfer-Encoding: chunked\r\n", total - framed.length);
    buffer_append(b, framed.data, framed.length);
    buffer_free(&framed);
}

/* --- tests -------------------------------------------------------------- */

static const size_t awkward_pieces[] = { 4095, 1, 4097, 8191, 2, 16385, 3, 4096 };

/* n GETs of size bytes each, answered in order; the connection then waits
 * for the next request (or closes, after the client's FIN). */
static void test_sizes(void)
{
    enum { COUNT = 20 };
    char *expected[COUNT];
    for (int i = 0; i < COUNT; i++) {
        expected[i] = malloc(16);
        snprintf(expected[i], 16, "%d", i);
    }
    int failures = 0, ready_waits = 0, cases = 0;
    for (int k = 5; k <= 14; k++) {
        for (int delta = -1; delta <= 1; delta++) {
            size_t size = ((size_t)1 << k) + (size_t)(ssize_t)delta;
            buffer pipeline = { 0 };
            for (int i = 0; i < COUNT; i++)
                append_get(&pipeline, i, size);
            if (pipeline.length != size * COUNT) {
                note("built %zu bytes, not %zu", pipeline.length, size * COUNT);
                exit(1);
            }
            for (int how = 0; how < 3; how++) {
                exchange x = { .data = pipeline.data, .length = pipeline.length, .shut = how == 2,
                               .late = how == 2 };
                if (how == 1) {
                    x.pieces = awkward_pieces;
                    x.piece_count = (int)(sizeof(awkward_pieces) / sizeof(awkward_pieces[0]));
                }
                static const char *const ways[] = { "one write", "split writes",
                                                    "one write and FIN to a parked connection" };
                char name[96];
                snprintf(name, sizeof(name), "%d GETs of %zu bytes, %s", COUNT, size, ways[how]);
                outcome out = run_exchange(&x);
                responses rs = split_responses(&out.received);
                cases++;
                bool good = rs.count == COUNT && !rs.garbled;
                for (int i = 0; good && i < COUNT; i++)
                    good = strcmp(rs.bodies[i], expected[i]) == 0;
                if (how == 2)
                    good = good && out.closed;  /* the FIN behind the data is seen at once */
                else
                    good = good && !out.closed && out.last_wait == CONNECTION_WAIT_REQUEST;
                if (!good) {
                    failures++;
                    note("%s:", name);
                    bodies_are(&rs, (const char *const *)expected, COUNT);
                    note("  closed %d, last wait %d", out.closed, (int)out.last_wait);
                }
                ready_waits += out.ready_waits;
                free_responses(&rs);
                buffer_free(&out.received);
            }
            buffer_free(&pipeline);
        }
    }
    is_int(failures, 0, "pipelines of 2^k and 2^k +- 1 byte GETs (k = 5..14), %d cases: every response, in order",
           cases);
    is_int(ready_waits, 0, "... and no wait for input while the socket may still hold some");
    for (int i = 0; i < COUNT; i++)
        free(expected[i]);
}

/* A request with a body whose end lands on a buffer boundary, then GETs. */
static void mixed_case(const char *name, void (*build)(buffer *, size_t), size_t boundary, const char *first,
                       bool split)
{
    buffer pipeline = { 0 };
    build(&pipeline, boundary);
    if (pipeline.length != boundary) {
        note("%s: built %zu bytes, not %zu", name, pipeline.length, boundary);
        exit(1);
    }
    append_get(&pipeline, 2, 100);
    append_get(&pipeline, 3, 4096);
    append_get(&pipeline, 4, 333);
    exchange x = { .data = pipeline.data, .length = pipeline.length };
    if (split) {
        x.pieces = awkward_pieces;
        x.piece_count = (int)(sizeof(awkward_pieces) / sizeof(awkward_pieces[0]));
        x.writer_thread = true;
    }
    outcome out = run_exchange(&x);
    responses rs = split_responses(&out.received);
    const char *expected[] = { first, "2", "3", "4" };
    char full[128];
    snprintf(full, sizeof(full), "%s%s", name, split ? ", split writes" : "");
    bool answered = bodies_are(&rs, expected, 4);
    if (!ok(answered && out.ready_waits == 0 && !out.closed, "%s, then 3 GETs: all answered in order", full))
        note("  waits for input while ready: %d, closed: %d", out.ready_waits, out.closed);
    free_responses(&rs);
    buffer_free(&out.received);
    buffer_free(&pipeline);
}

static char *echo_expected;
static void build_echo_in_buffer(buffer *b, size_t total) { append_sized_post(b, 'e', 1, 1000, total, ""); }
static void build_echo_from_socket(buffer *b, size_t total) { append_sized_post(b, 'e', 1, total - 100, total, ""); }
static void build_discard(buffer *b, size_t total) { append_sized_post(b, 'g', 1, 3000, total, ""); }
static void build_discard_long(buffer *b, size_t total) { append_sized_post(b, 'g', 1, total - 90, total, ""); }
static void build_partial(buffer *b, size_t total) { append_sized_post(b, 'p', 1, 2000, total, ""); }
static void build_chunked_echo(buffer *b, size_t total) { append_sized_chunked(b, 'e', 1, 2500, 700, total); }
static void build_chunked_echo_long(buffer *b, size_t total) { append_sized_chunked(b, 'e', 1, total - 300, 4000, total); }
static void build_chunked_discard(buffer *b, size_t total) { append_sized_chunked(b, 'g', 1, total - 300, 1000, total); }
static void build_continue(buffer *b, size_t total)
{
    append_sized_post(b, 'e', 1, total - 200, total, "Expect: 100-continue\r\n");
}

static void test_mixed(void)
{
    static const size_t boundaries[] = { 4095, 4096, 4097, 8192, 16384, 16385 };
    for (size_t i = 0; i < sizeof(boundaries) / sizeof(boundaries[0]); i++) {
        size_t total = boundaries[i];
        for (int split = 0; split <= 1; split++) {
            char name[96];
            snprintf(name, sizeof(name), "Content-Length body read from the buffer, ending at %zu", total);
            echo_expected = expected_echo(1, 1000);
            mixed_case(name, build_echo_in_buffer, total, echo_expected, split);
            free(echo_expected);
            snprintf(name, sizeof(name), "Content-Length body read from the socket, ending at %zu", total);
            echo_expected = expected_echo(1, total - 100);
            mixed_case(name, build_echo_from_socket, total, echo_expected, split);
            free(echo_expected);
            snprintf(name, sizeof(name), "unread Content-Length body discarded, ending at %zu", total);
            mixed_case(name, build_discard, total, "1", split);
            snprintf(name, sizeof(name), "long unread Content-Length body discarded, ending at %zu", total);
            mixed_case(name, build_discard_long, total, "1", split);
            snprintf(name, sizeof(name), "body partly read, the rest discarded, ending at %zu", total);
            mixed_case(name, build_partial, total, "1:partial", split);
            snprintf(name, sizeof(name), "chunked body read, ending at %zu", total);
            echo_expected = expected_echo(1, 2500);
            mixed_case(name, build_chunked_echo, total, echo_expected, split);
            free(echo_expected);
            snprintf(name, sizeof(name), "long chunked body read, ending at %zu", total);
            echo_expected = expected_echo(1, total - 300);
            mixed_case(name, build_chunked_echo_long, total, echo_expected, split);
            free(echo_expected);
            snprintf(name, sizeof(name), "chunked body discarded, ending at %zu", total);
            mixed_case(name, build_chunked_discard, total, "1", split);
        }
    }
}

static void test_continue(void)
{
    static const size_t boundaries[] = { 4096, 8192, 8193 };
    for (size_t i = 0; i < sizeof(boundaries) / sizeof(boundaries[0]); i++) {
        buffer pipeline = { 0 };
        build_continue(&pipeline, boundaries[i]);
        append_get(&pipeline, 2, 4096);
        exchange x = { .data = pipeline.data, .length = pipeline.length };
        outcome out = run_exchange(&x);
        responses rs = split_responses(&out.received);
        char *first = expected_echo(1, boundaries[i] - 200);
        const char *expected[] = { first, "2" };
        char name[96];
        snprintf(name, sizeof(name), "Expect: 100-continue, the body ending at %zu, then a GET", boundaries[i]);
        check_bodies(name, &rs, expected, 2);
        is_int(rs.continues, 1, "... one 100 Continue");
        ok(out.ready_waits == 0 && !out.closed, "... waits only when drained, stays open");
        free(first);
        free_responses(&rs);
        buffer_free(&out.received);
        buffer_free(&pipeline);
    }
    /* Nobody reads the body: the connection answers, closes its side and
     * lingers instead of waiting for a body the client may hold back. */
    buffer pipeline = { 0 };
    append_sized_post(&pipeline, 'g', 1, 4000, 4096, "Expect: 100-continue\r\n");
    append_get(&pipeline, 2, 100);
    exchange x = { .data = pipeline.data, .length = pipeline.length, .shut = true };
    outcome out = run_exchange(&x);
    responses rs = split_responses(&out.received);
    const char *expected[] = { "1" };
    check_bodies("Expect: 100-continue, body not read", &rs, expected, 1);
    ok(rs.continues == 0 && rs.closes == 1 && out.closed && out.ready_waits == 0,
       "... no 100 Continue, Connection: close, closed after the client's FIN");
    free_responses(&rs);
    buffer_free(&out.received);
    buffer_free(&pipeline);
}

/* Connection: close followed by more bytes: answered, then the rest is
 * read and dropped (lingering close) until the client's FIN. */
static void test_linger(void)
{
    static const size_t trailing[] = { 4096, 12288, 12289, 65536 };
    for (size_t i = 0; i < sizeof(trailing) / sizeof(trailing[0]); i++) {
        buffer pipeline = { 0 };
        buffer_append_string(&pipeline, "GET /g/1 HTTP/1.1\r\nHost:a\r\nConnection: close\r\n\r\n");
        for (size_t j = 0; j < trailing[i]; j++)
            buffer_append_char(&pipeline, 'z');
        exchange x = { .data = pipeline.data, .length = pipeline.length, .shut = true };
        outcome out = run_exchange(&x);
        responses rs = split_responses(&out.received);
        const char *expected[] = { "1" };
        char name[96];
        snprintf(name, sizeof(name), "Connection: close and %zu more bytes", trailing[i]);
        check_bodies(name, &rs, expected, 1);
        ok(out.closed && out.ready_waits == 0, "... lingers until the client's FIN, then closes");
        free_responses(&rs);
        buffer_free(&out.received);
        buffer_free(&pipeline);
    }
}

/* A client that said Connection: close in a head that filled the buffer
 * exactly, and sent more behind it: the server must not close with those
 * bytes unread (its FIN would become a RST), it lingers. */
static void test_close_after_full_read(void)
{
    buffer pipeline = { 0 };
    append_head(&pipeline, "GET", 'g', 1, "Connection: close\r\n", INPUT_INITIAL_SIZE);
    for (int i = 0; i < 100; i++)
        buffer_append_char(&pipeline, 'z');
    exchange x = { .data = pipeline.data, .length = pipeline.length };
    outcome out = run_exchange(&x);
    responses rs = split_responses(&out.received);
    const char *expected[] = { "1" };
    check_bodies("Connection: close in a head of 4096 bytes, then 100 more bytes", &rs, expected, 1);
    ok(!out.closed && out.last_wait == CONNECTION_WAIT_LINGER && out.ready_waits == 0,
       "... lingers rather than close with input unread");
    free_responses(&rs);
    buffer_free(&out.received);
    buffer_free(&pipeline);
}

/* A stopping child answers the request in progress with Connection: close
 * and drops what was pipelined behind it. */
static void test_stopping(void)
{
    buffer pipeline = { 0 };
    for (int i = 0; i < 5; i++)
        append_get(&pipeline, i, 1024);
    exchange x = { .data = pipeline.data, .length = pipeline.length, .shut = true, .stopping = true };
    outcome out = run_exchange(&x);
    responses rs = split_responses(&out.received);
    const char *expected[] = { "0" };
    check_bodies("stopping: the first of five pipelined GETs", &rs, expected, 1);
    ok(rs.closes == 1 && out.closed && out.ready_waits == 0, "... with Connection: close, then closed");
    free_responses(&rs);
    buffer_free(&out.received);
    buffer_free(&pipeline);
}

/* Responses that fill the socket while more requests arrive: the
 * connection is armed for EPOLLOUT only meanwhile, and must find the
 * pipelined requests once the big response is out. */
static void test_write_blocked(void)
{
    for (size_t i = 0; i < sizeof(big_body); i++)
        big_body[i] = (char)('A' + i % 26);
    static const size_t sizes[] = { 1024, 4096, 4097 };
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        buffer pipeline = { 0 };
        const char *expected[12];
        char ids[12][16];
        int count = 0;
        for (int i = 0; i < 12; i++) {
            snprintf(ids[i], sizeof(ids[i]), "%d", i);
            if (i % 4 == 1) {
                buffer_printf(&pipeline, "GET /b/%d HTTP/1.1\r\nHost:a\r\n\r\n", i);
                expected[count++] = "BIG";
            } else {
                append_get(&pipeline, i, sizes[s]);
                expected[count++] = ids[i];
            }
        }
        exchange x = { .data = pipeline.data, .length = pipeline.length, .pieces = awkward_pieces,
                       .piece_count = 3, .read_late = true, .server_sndbuf = 4096 };
        outcome out = run_exchange(&x);
        responses rs = split_responses(&out.received);
        char name[96];
        snprintf(name, sizeof(name), "big responses between GETs of %zu bytes, the socket full", sizes[s]);
        check_bodies(name, &rs, expected, count);
        ok(out.ready_waits == 0 && !out.closed, "... waits for input only when drained");
        free_responses(&rs);
        buffer_free(&out.received);
        buffer_free(&pipeline);
    }
}

/* What the readiness flag saves: a request that came in a short read is
 * answered and the connection waits without a recv() that says EAGAIN; one
 * that filled the buffer exactly costs that recv(). */
static void test_read_economy(void)
{
    buffer one = { 0 };
    append_get(&one, 7, 200);
    exchange x = { .data = one.data, .length = one.length };
    reads = eagain_reads = 0;
    outcome out = run_exchange(&x);
    responses rs = split_responses(&out.received);
    ok(rs.count == 1 && out.last_wait == CONNECTION_WAIT_REQUEST, "one 200-byte GET: answered, then idle");
    is_int(reads, 1, "... with one recv() (the short read proves the socket empty)");
    free_responses(&rs);
    buffer_free(&out.received);
    buffer_free(&one);

    buffer full = { 0 };
    append_get(&full, 7, INPUT_INITIAL_SIZE);
    x = (exchange){ .data = full.data, .length = full.length };
    reads = eagain_reads = 0;
    out = run_exchange(&x);
    rs = split_responses(&out.received);
    ok(rs.count == 1 && out.last_wait == CONNECTION_WAIT_REQUEST, "one GET that fills the buffer: answered, then idle");
    ok(reads == 2 && eagain_reads == 1, "... after a second recv() that said EAGAIN (%d reads, %d EAGAIN)", reads,
       eagain_reads);
    free_responses(&rs);
    buffer_free(&out.received);
    buffer_free(&full);
}

/* The kernel behaviour the design relies on (and the one that makes it
 * necessary), on a socketpair. */
static void test_epoll_facts(void)
{
    int ends[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ends);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = { .events = EPOLLIN | EPOLLET };
    char data[100] = { 0 }, scrap[100];
    ssize_t ignored = write(ends[1], data, sizeof(data));
    epoll_ctl(ep, EPOLL_CTL_ADD, ends[0], &event);
    ok(epoll_wait(ep, &event, 1, 0) == 1 && (event.events & EPOLLIN),
       "epoll: EPOLL_CTL_ADD reports input queued before it");
    ignored = recv(ends[0], scrap, 10, 0);
    ok(epoll_wait(ep, &event, 1, 0) == 0, "epoll: edge-triggered, input left unread is not reported again");

    event.events = EPOLLOUT | EPOLLET;
    epoll_ctl(ep, EPOLL_CTL_MOD, ends[0], &event);
    epoll_wait(ep, &event, 1, 0);  /* the EPOLLOUT edge of the new registration */
    ignored = write(ends[1], data, sizeof(data));
    ok(epoll_wait(ep, &event, 1, 0) == 0, "epoll: armed for EPOLLOUT only, arriving input raises no event");
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    epoll_ctl(ep, EPOLL_CTL_MOD, ends[0], &event);
    ok(epoll_wait(ep, &event, 1, 0) == 1 && (event.events & EPOLLIN),
       "epoll: EPOLL_CTL_MOD back to EPOLLIN reports the input queued meanwhile");

    while (recv(ends[0], scrap, sizeof(scrap), 0) > 0)
        ;
    ignored = write(ends[1], data, 10);
    shutdown(ends[1], SHUT_WR);
    ok(epoll_wait(ep, &event, 1, 0) == 1 && (event.events & EPOLLRDHUP),
       "epoll: data and FIN together are reported with EPOLLRDHUP");
    ok(recv(ends[0], scrap, sizeof(scrap), 0) == 10 && epoll_wait(ep, &event, 1, 0) == 0,
       "... a short read takes the data and leaves the end of stream, with no further event");
    (void)ignored;
    close(ends[0]);
    close(ends[1]);
    close(ep);
}

/* The protocol hook (connection.h): "Upgrade: weft-test" hands the
 * connection to the test module's protocol; other requests stay HTTP/1.1. */
static void test_protocol_upgrade(void)
{
    const char *plain = "GET /g/1 HTTP/1.1\r\nHost:a\r\nUpgrade: other\r\nConnection: close\r\n\r\n";
    exchange x = { .data = plain, .length = strlen(plain), .shut = true };
    outcome out = run_exchange(&x);
    ok(protocol_takes == 0 && strstr(out.received.data, "HTTP/1.1 200") != NULL,
       "Upgrade to a protocol nobody provides: answered as HTTP/1.1");
    buffer_free(&out.received);

    const char *upgrade = "GET /g/1 HTTP/1.1\r\nHost:a\r\nConnection: Upgrade\r\nUpgrade: weft-test\r\n\r\n";
    exchange y = { .data = upgrade, .length = strlen(upgrade), .shut = true };
    out = run_exchange(&y);
    ok(protocol_takes == 1, "Upgrade: weft-test offered to the module's protocol");
    ok(out.closed && strstr(out.received.data, "101 Switching Protocols") != NULL &&
       strstr(out.received.data, "SWITCHED") != NULL && strstr(out.received.data, "200 OK") == NULL,
       "... which took the connection over and ran it");
    buffer_free(&out.received);
}

int main(void)
{
    dir.limit_request_body = 0;
    dir.enable_sendfile = true;
    server.root_dir = &dir;
    server.timeout = 5;
    server.keep_alive = true;
    server.keep_alive_timeout_ms = 5000;
    server.max_keep_alive_requests = 0;
    server.limit_request_line = 8190;
    server.limit_request_field_size = 8190;
    server.limit_request_fields = 100;

    test_epoll_facts();
    test_read_economy();
    test_sizes();
    test_mixed();
    test_continue();
    test_linger();
    test_close_after_full_read();
    test_stopping();
    test_write_blocked();
    test_protocol_upgrade();
    connection_thread_exit();
    return done_testing();
}
