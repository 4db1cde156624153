/* Unit tests for src/http/body.c: reading a request body from what came
 * with the head and from the socket (a socketpair stands in for the
 * client), Content-Length and chunked, the accounting the connection
 * layer relies on (input_used, received), the errors (400, 408, 413),
 * 100 Continue only when asked for and only for HTTP/1.1, and spilling
 * to a temporary file. */
#include "tap.h"

#include <ctype.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/core/buffer.c"
#include "../../src/core/pool.c"
#include "../../src/http/parser.c"
#include "../../src/core/blocking.c"
#include "../../src/http/body.c"

/* --- stand-ins --- */

int log_threshold = 0;
void log_message(int level, const char *format, ...) {}
void log_error_number(int level, int error, const char *format, ...) {}
const char *connection_peer_address(const connection *c) { return "192.0.2.1"; }
int connection_peer_port(const connection *c) { return 1; }

int64_t request_read_deadline_ms(const request_read_timeout_setting *setting, bool header, int64_t started_ms,
                                 uint64_t bytes)
{
    return INT64_MAX;
}

static bool refuse_growth;  /* the child's RequestBufferBudget says no */
bool connection_reserve_input(connection *c, size_t additional)
{
    if (refuse_growth && c->input.capacity - c->input.length < additional)
        return false;
    buffer_reserve(&c->input, additional);
    return true;
}

static int continues_sent;
int response_stream_send(request *r, struct iovec *vectors, int count)
{
    continues_sent++;
    return WEFT_OK;
}

static ssize_t test_read(connection *c, void *data, size_t length)
{
    return recv(c->fd, data, length, 0);
}

static const connection_io test_io = { .read = test_read };

/* --- a request on a socketpair --- */

static server_config server;
static dir_config dir;
static connection conn;
static int client = -1;

/* Parses head (which may carry the start of the body) as if it had been
 * read from the socket; the rest of the body is for the client to send. */
static request *start(pool *p, const char *head)
{
    int ends[2];
    if (client >= 0)
        close(client);
    if (conn.fd >= 0)
        close(conn.fd);
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends);
    fcntl(ends[0], F_SETFL, O_NONBLOCK);
    conn.fd = ends[0];
    client = ends[1];
    conn.io = &test_io;
    conn.server = &server;
    buffer_clear(&conn.input);
    buffer_append(&conn.input, head, strlen(head));
    request *r = &conn.request;
    memset(r, 0, sizeof(*r));
    r->pool = p;
    r->connection = &conn;
    r->server = &server;
    r->dir = &dir;
    r->path = "/";
    http_limits limits = { 8190, 8190, 100, 0 };
    http_parser_init(&r->parser, &limits, p);
    if (http_parse_request(&r->parser, conn.input.data, conn.input.length) != WEFT_OK) {
        note("the test head does not parse");
        exit(1);
    }
    r->head = conn.input.data;
    r->version_major = r->parser.version_major;
    r->version_minor = r->parser.version_minor;
    r->bytes_received = r->parser.head_length;
    return r;
}

static void client_sends(const char *data)
{
    if (write(client, data, strlen(data)) != (ssize_t)strlen(data))
        note("short write to the socketpair");
}

/* Reads the whole body with reads of at most piece bytes. */
static int read_all(request *r, size_t piece, buffer *out)
{
    char chunk[256];
    if (piece > sizeof(chunk))
        piece = sizeof(chunk);
    for (int i = 0; i < 100000; i++) {
        size_t got = 0;
        int rc = request_body_read(r, chunk, piece, &got);
        if (rc != WEFT_OK)
            return rc;
        if (got == 0 || got > piece)
            return WEFT_ERROR;
        buffer_append(out, chunk, got);
    }
    return WEFT_ERROR;
}

/* --- tests --- */

static void test_content_length(pool *p)
{
    static const char head[] = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello";
    request *r = start(p, head);
    client_sends(" world");
    buffer out = { 0 };
    is_int(read_all(r, 4, &out), WEFT_DONE, "Content-Length: the whole body, then WEFT_DONE");
    is_string(out.data, "hello world", "... the bytes that came with the head, then the socket's");
    is_int(r->body_read.received, 11, "... received counts them");
    is_int(r->body_read.input_used, 5, "... input_used counts those taken from the buffer");
    ok(r->body_read.finished && !r->body_read.failed, "... finished");
    is_int(continues_sent, 0, "no 100 Continue without Expect");
    size_t got = 1;
    is_int(request_body_read(r, out.data, 4, &got), WEFT_DONE, "reading again: WEFT_DONE");
    is_int(got, 0, "... with nothing");
    buffer_free(&out);
}

static void test_pipelined(pool *p)
{
    static const char head[] = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\n";
    request *r = start(p, head);
    buffer out = { 0 };
    is_int(read_all(r, 64, &out), WEFT_DONE, "a body followed by the next request");
    is_string(out.data, "abc", "... only the body's bytes");
    is_int(r->parser.head_length + r->body_read.input_used, strlen(head) - strlen("GET /next HTTP/1.1\r\n"),
           "... head and body end where the next request starts");
    buffer_free(&out);
}

static void test_chunked(pool *p)
{
    static const char head[] = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel";
    request *r = start(p, head);
    client_sends("lo\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\nNEXT");
    buffer out = { 0 };
    is_int(read_all(r, 3, &out), WEFT_DONE, "chunked: decoded to the end");
    is_string(out.data, "hello world", "... without framing, extensions or trailer");
    is_int(r->body_read.received, 11, "... received counts decoded bytes");
    size_t end = r->parser.head_length + r->body_read.input_used;
    ok(conn.input.length >= end + 4 && memcmp(conn.input.data + end, "NEXT", 4) == 0,
       "... what follows the body stays in the input buffer, right after head + input_used");
    ok(r->head == conn.input.data, "r->head follows the buffer");
    buffer_free(&out);
}

/* Input filters: one that upper-cases, one on top of it that drops 'L'
 * (changing the length); both see the decoded (dechunked) body. */
static int upper_read(request *r, input_filter *f, char *out, size_t size, size_t *got, bool may_wait)
{
    int rc = input_filter_read_below(r, f, out, size, got, may_wait);
    for (size_t i = 0; rc == WEFT_OK && i < *got; i++)
        out[i] = (char)toupper((unsigned char)out[i]);
    return rc;
}

static int drop_read(request *r, input_filter *f, char *out, size_t size, size_t *got, bool may_wait)
{
    for (;;) {
        int rc = input_filter_read_below(r, f, out, size, got, may_wait);
        if (rc != WEFT_OK)
            return rc;
        size_t kept = 0;
        for (size_t i = 0; i < *got; i++)
            if (out[i] != 'L')
                out[kept++] = out[i];
        *got = kept;
        (*(int *)f->context) += 1;
        if (kept)
            return WEFT_OK;  /* never WEFT_OK with nothing: read on instead */
    }
}

static const input_filter_type upper_filter = { "UPPER", upper_read };
static const input_filter_type drop_filter = { "DROP", drop_read };

static void test_input_filters(pool *p)
{
    static const char head[] = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
    request *r = start(p, head);
    int calls = 0;
    input_filter_add(r, &upper_filter, NULL);
    input_filter_add(r, &drop_filter, &calls);
    client_sends("lo\r\n6\r\n world\r\n0\r\n\r\n");
    buffer out = { 0 };
    is_int(read_all(r, 2, &out), WEFT_DONE, "input filters: read to the end");
    is_string(out.data, "HEO WORD", "... the dechunked body through both filters, in order");
    ok(calls > 0, "... the top filter was called");
    is_int(r->body_read.received, 11, "... body_read counts the framing's decoded bytes");
    buffer_free(&out);

    request *plain = start(p, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde");
    input_filter_add(plain, &upper_filter, NULL);
    buffer_init(&out, 16);
    is_int(read_all(plain, 64, &out), WEFT_DONE, "input filter on a Content-Length body");
    is_string(out.data, "ABCDE", "... filtered");
    buffer_free(&out);
}

static void test_errors(pool *p)
{
    dir.limit_request_body = 8;
    request *r = start(p, "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    client_sends("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n");
    buffer out = { 0 };
    is_int(read_all(r, 64, &out), WEFT_ERROR, "a chunked body over LimitRequestBody");
    is_int(r->body_read.error_status, 413, "... 413");
    ok(r->body_read.failed, "... and the body is marked failed (the connection will close)");
    dir.limit_request_body = 0;

    buffer_clear(&out);
    r = start(p, "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    is_int(read_all(r, 64, &out), WEFT_ERROR, "malformed chunked framing");
    is_int(r->body_read.error_status, 400, "... 400");

    buffer_clear(&out);
    r = start(p, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    shutdown(client, SHUT_WR);
    is_int(read_all(r, 64, &out), WEFT_ERROR, "the client closes in the middle of the body");
    is_int(r->body_read.error_status, 400, "... 400");
    is_string(out.data, "abc", "... after what it sent");

    buffer_clear(&out);
    server.timeout = 1;
    r = start(p, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    is_int(read_all(r, 64, &out), WEFT_ERROR, "the client stops sending");
    is_int(r->body_read.error_status, 408, "... 408 after Timeout");

    buffer_clear(&out);
    buffer_free(&conn.input);  /* so that the head fills it and a read needs more room */
    r = start(p, "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    client_sends("5\r\nhello\r\n0\r\n\r\n");
    refuse_growth = true;
    is_int(read_all(r, 64, &out), WEFT_ERROR, "a chunked body when the buffer budget refuses room");
    is_int(r->body_read.error_status, 503, "... 503");
    refuse_growth = false;

    r = start(p, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n");
    size_t got = 9;
    char scratch[16];
    is_int(request_body_try_read(r, scratch, sizeof(scratch), &got), WEFT_AGAIN,
           "try_read with nothing there yet: WEFT_AGAIN at once");
    is_int(got, 0, "... with nothing");
    buffer_free(&out);
}

static void test_continue(pool *p)
{
    continues_sent = 0;
    request *r = start(p, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    is_int(continues_sent, 0, "Expect: 100-continue: nothing sent before the body is asked for");
    client_sends("ok");
    buffer out = { 0 };
    read_all(r, 64, &out);
    is_int(continues_sent, 1, "... one 100 Continue at the first read");
    is_string(out.data, "ok", "... then the body");
    continues_sent = 0;
    r = start(p, "POST /x HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok");
    buffer_clear(&out);
    read_all(r, 64, &out);
    is_int(continues_sent, 0, "an HTTP/1.0 client's expectation is ignored");
    buffer_free(&out);
}

static void test_spill(pool *p)
{
    request *r = start(p, "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    char body[70000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)('a' + i % 26);
    /* Two chunks, sent from a second thread would be nicer; the socketpair
     * holds them as long as they fit, so send in pieces the reader drains. */
    char line[32];
    snprintf(line, sizeof(line), "%zx\r\n", sizeof(body));
    if (fork() == 0) {
        close(conn.fd);
        client_sends(line);
        ssize_t ignored = write(client, body, sizeof(body));
        (void)ignored;
        client_sends("\r\n0\r\n\r\n");
        _exit(0);
    }
    close(client);
    client = -1;
    int fd = -1;
    int64_t length = -1;
    is_int(request_body_spill(r, &fd, &length), WEFT_OK, "spill a 70000-byte chunked body");
    is_int(length, sizeof(body), "... its length");
    char *back = malloc(sizeof(body) + 1);
    ssize_t n = read(fd, back, sizeof(body) + 1);
    is_int(n, sizeof(body), "... the file holds exactly the body, from its start");
    ok(n == (ssize_t)sizeof(body) && memcmp(back, body, sizeof(body)) == 0, "... the same bytes");
    free(back);
    char link[64], target[256] = "";
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t t = readlink(link, target, sizeof(target) - 1);
    if (t > 0)
        target[t] = '\0';
    ok(strstr(target, "(deleted)") || strstr(target, "#"), "... an unlinked file (%s)", target);
    int flags = fcntl(fd, F_GETFD);
    ok(flags >= 0 && (flags & FD_CLOEXEC), "... close-on-exec");
    wait(NULL);
}

int main(void)
{
    pool *p = pool_create(4096);
    conn.fd = -1;
    server.timeout = 5;
    test_content_length(p);
    test_pipelined(p);
    test_chunked(p);
    test_input_filters(p);
    test_errors(p);
    test_continue(p);
    test_spill(p);
    pool_destroy(p);  /* closes the spilled file */
    buffer_free(&conn.input);
    if (conn.fd >= 0)
        close(conn.fd);
    return done_testing();
}
