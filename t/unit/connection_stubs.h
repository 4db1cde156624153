/* connection_stubs.h — for t/unit/connection.c: stand-ins for what
 * src/http/connection.c and body.c call beyond themselves (logs, headers,
 * the scoreboard, the request layer), and a handler whose behaviour the
 * target selects.  A header, not a .c: every .c file in t/unit is a test. */
#ifndef WEFT_T_UNIT_CONNECTION_STUBS_H
#define WEFT_T_UNIT_CONNECTION_STUBS_H

/* --- stand-ins for what connection.c and body.c call ------------------- */

int log_threshold = 0;
void log_message(int level, const char *format, ...) {}
void log_error_number(int level, int error, const char *format, ...) {}
void request_run_log(request *r) {}
const char *request_get_env(const request *r, const char *name) { return NULL; }
void request_run_response_head(request *r) {}
void response_add_header_constant(request *r, const char *name, const char *value) {}
/* A backend (backend.h) whose run() fails gets this; none does here. */
int response_set_error(request *r, int status)
{
    r->status = status;
    return WEFT_OK;
}

/* A protocol module for the Upgrade hook: it answers 101 and a line of its
 * own, then closes. */
static int protocol_takes;
static int test_protocol_take(connection *c, request *r)
{
    protocol_takes++;
    static const char answer[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: weft-test\r\n\r\nSWITCHED";
    struct iovec vector = { (void *)answer, sizeof(answer) - 1 };
    return c->io->writev(c, &vector, 1, false) == (ssize_t)vector.iov_len ? WEFT_OK : WEFT_DECLINED;
}
static connection_wait test_protocol_run(connection *c, const connection_worker *worker) { return CONNECTION_CLOSE; }
static const connection_protocol test_protocol = { "weft-test", test_protocol_take, test_protocol_run };
static const module test_protocol_module = { .name = "test", .protocol = &test_protocol };
const module *const weft_modules[] = { &test_protocol_module, NULL };

bool request_header_slice(const request *r, const char *name, slice *value)
{
    /* Enough for the tests: "Name: value" at the start of a line. */
    size_t length = strlen(name);
    for (const char *at = strstr(r->head, "\r\n"); at && at < r->head + r->parser.head_length;
         at = strstr(at + 2, "\r\n")) {
        if (strncasecmp(at + 2, name, length) == 0 && at[2 + length] == ':') {
            const char *start = at + 3 + length;
            while (*start == ' ')
                start++;
            *value = (slice){ start, strcspn(start, "\r") };
            return true;
        }
    }
    return false;
}
void scoreboard_note_request(scoreboard_thread *thread, const char *client, const char *request_line,
                             size_t length, const char *server_name, time_t start)
{
}
void scoreboard_count_request(scoreboard_thread *thread, int status, uint64_t bytes, int64_t duration_us) {}

/* 100 Continue: written whole (the socketpair has room for it). */
int response_stream_send(request *r, struct iovec *vectors, int count)
{
    connection *c = r->connection;
    ssize_t written = c->io->writev(c, vectors, count, false);
    return written > 0 ? WEFT_OK : WEFT_ERROR;
}

void response_serialize_head(request *r, buffer *out)
{
    buffer_printf(out, "HTTP/1.1 %d T\r\nContent-Length: %lld\r\n%s\r\n", r->status,
                  (long long)(r->body == BODY_MEMORY ? r->body_length : 0),
                  r->keep_alive ? "" : "Connection: close\r\n");
}

void request_begin(request *r, connection *c, const server_config *server, pool *p)
{
    memset(r, 0, sizeof(*r));
    r->pool = p;
    r->connection = c;
    r->server = server;
    r->dir = server->root_dir;
    r->body_file = -1;
    r->connection_requests = c->requests_served;
    http_limits limits = {
        .limit_request_line = (uint32_t)server->limit_request_line,
        .limit_request_field_size = (uint32_t)server->limit_request_field_size,
        .limit_request_fields = (uint32_t)server->limit_request_fields,
    };
    http_parser_init(&r->parser, &limits, p);
}

static void respond(request *r, const char *text)
{
    r->status = r->status ? r->status : 200;
    r->body = BODY_MEMORY;
    r->body_data = pool_strdup(r->pool, text);
    r->body_length = (int64_t)strlen(text);
}

static uint32_t fnv(const char *data, size_t length, uint32_t hash)
{
    for (size_t i = 0; i < length; i++)
        hash = (hash ^ (unsigned char)data[i]) * 16777619u;
    return hash;
}

#define BIG_RESPONSE (256 * 1024)
static char big_body[BIG_RESPONSE];

/* The handler.  Targets are /MODE/ID[?padding]:
 *   g  answers "ID" without reading the body (the connection discards it)
 *   e  reads the whole body, 1000 bytes at a time: "ID:length:fnv"
 *   p  reads 7 bytes of it: "ID:partial"
 *   b  answers BIG_RESPONSE bytes (the socket blocks) */
void request_handle(request *r)
{
    const http_parser *parser = &r->parser;
    r->version_major = parser->version_major;
    r->version_minor = parser->version_minor;
    r->head_only = parser->method == HTTP_METHOD_HEAD;
    char *target = pool_strndup(r->pool, r->head + parser->target.offset, parser->target.length);
    r->request_line = target;
    r->bytes_received = parser->head_length;
    char *query = strchr(target, '?');
    if (query)
        *query = '\0';
    if (strlen(target) < 4 || target[0] != '/' || target[2] != '/') {
        r->status = 404;
        respond(r, "no such mode");
        return;
    }
    const char *id = target + 3;
    char mode = target[1];
    if (mode == 'g') {
        respond(r, id);
    } else if (mode == 'b') {
        r->status = 200;
        r->body = BODY_MEMORY;
        r->body_data = big_body;
        r->body_length = BIG_RESPONSE;
    } else if (mode == 'e' || mode == 'p') {
        char piece[1000];
        size_t total = 0, got = 0;
        uint32_t hash = 2166136261u;
        int rc = WEFT_OK;
        for (int i = 0; i < 100000 && rc == WEFT_OK; i++) {
            size_t want = mode == 'p' ? 7 - total : sizeof(piece);
            if (want == 0)
                break;
            rc = request_body_read(r, piece, want, &got);
            if (rc == WEFT_OK) {
                hash = fnv(piece, got, hash);
                total += got;
            }
        }
        if (rc == WEFT_ERROR) {
            r->status = r->body_read.error_status;
            respond(r, "body error");
        } else if (mode == 'p') {
            respond(r, pool_printf(r->pool, "%s:partial", id));
        } else {
            respond(r, pool_printf(r->pool, "%s:%zu:%08x", id, total, hash));
        }
    } else {
        r->status = 404;
        respond(r, "no such mode");
    }
}

void request_handle_parse_error(request *r, int status, const char *data, size_t length)
{
    r->version_major = 1;
    r->version_minor = 1;
    r->status = status;
    respond(r, "parse error");
}

#endif
