/*
 * proxy_http.c — mod_proxy_http: a request answered by an HTTP/1.1 origin
 * server, driven by the child's event loop (http/backend.h).
 *
 * The request goes out as HTTP/1.1 with the client's fields less the
 * hop-by-hop ones (and those its Connection field names), Host as the
 * backend's (ProxyPreserveHost On: the client's), X-Forwarded-For, -Host and
 * -Server (ProxyAddHeaders Off: not), the body as it arrives (chunked again
 * when the client sent it chunked).  The response head is parsed strictly:
 * a status line of HTTP/1.0 or 1.1, token field names, no folded lines, no
 * control characters in values, one Content-Length of digits, a
 * Transfer-Encoding of exactly "chunked" and never both: else 502, nothing
 * of it passed on.  A chunked body is decoded by the request parser's own
 * decoder (bad chunking cuts the response).
 *
 * Backend connections are pooled per child (keep-alive): one goes back to
 * the pool only after a complete response whose framing left nothing over
 * and which did not ask to close; one that sat idle longer than
 * PROXY_POOL_IDLE_MS, or that the backend has closed, is not reused.  A
 * reused connection that fails before any byte of the response is retried
 * once on a new connection, for idempotent methods without a body only: a
 * POST is never sent twice.
 */
#include "proxy.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/match.h"
#include "../http/backend.h"
#include "../http/body.h"
#include "../http/connection.h"
#include "../http/response.h"
#include "../http/uri.h"
#include "cgi.h"

#define HEAD_LIMIT (64 * 1024)
#define POOL_SIZE 64
#define PROXY_POOL_IDLE_MS 30000

/* ---- the pool of idle backend connections (per child) ----------------------- */

typedef struct {
    struct sockaddr_storage address;
    socklen_t address_length;
    int fd;
    int64_t since_ms;
} idle_connection;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static idle_connection idle[POOL_SIZE];
static int idle_count;

static bool same_address(const idle_connection *c, const proxy_address *a)
{
    return c->address_length == a->address_length && memcmp(&c->address, &a->address, a->address_length) == 0;
}

/* An idle connection to address that is still open, or -1. */
static int pool_take(const proxy_address *address)
{
    int64_t now = monotonic_ms();
    for (;;) {
        int fd = -1;
        bool stale = false;
        pthread_mutex_lock(&pool_lock);
        for (int i = idle_count - 1; i >= 0; i--) {
            if (!same_address(&idle[i], address))
                continue;
            fd = idle[i].fd;
            stale = now - idle[i].since_ms > PROXY_POOL_IDLE_MS;
            idle[i] = idle[--idle_count];
            break;
        }
        pthread_mutex_unlock(&pool_lock);
        if (fd < 0)
            return -1;
        char byte;
        ssize_t peek = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (!stale && peek < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return fd;  /* open, and nothing unexpected waiting */
        close(fd);
    }
}

static void pool_put(const proxy_address *address, int fd)
{
    pthread_mutex_lock(&pool_lock);
    if (idle_count == POOL_SIZE) {
        close(idle[0].fd);  /* the oldest goes */
        memmove(idle, idle + 1, sizeof(idle[0]) * (POOL_SIZE - 1));
        idle_count--;
    }
    idle[idle_count] = (idle_connection){ .address = address->address, .address_length = address->address_length,
                                          .fd = fd, .since_ms = monotonic_ms() };
    idle_count++;
    pthread_mutex_unlock(&pool_lock);
}

/* ---- the exchange ------------------------------------------------------------- */

typedef enum { FRAMING_NONE, FRAMING_LENGTH, FRAMING_CHUNKED, FRAMING_CLOSE } framing;

typedef struct {
    proxy_exchange io;       /* first: frame_body finds the exchange from &x->io */
    proxy_target target;
    bool reused;             /* fd came from the pool */
    bool retried;
    buffer head_copy;        /* the request head, for a retry */
    bool body_chunked;       /* re-chunked to the backend */
    framing framing;
    int64_t length_left;
    http_chunked_decoder chunked;
    bool keep;               /* the backend may keep the connection */
    bool reusable;           /* complete: back to the pool */
} exchange;

static void cleanup(void *data)
{
    exchange *x = data;
    if (x->io.fd >= 0 && x->reusable) {
        pool_put(&x->target.backend, x->io.fd);
        x->io.fd = -1;
    }
    proxy_exchange_free(&x->io);
    buffer_free(&x->head_copy);
}

/* Unlike FastCGI's, an error here also drops the fields set so far: they
 * may be an interim response's or a refused head's. */
static int answer_error_io(proxy_exchange *io, int status, const char *what, int error)
{
    request *r = io->r;
    r->header_count = 0;
    r->content_type = NULL;
    r->body_length = 0;
    return proxy_exchange_answer_error(io, status, what, error);
}

static int answer_error(exchange *x, int status, const char *what, int error)
{
    return answer_error_io(&x->io, status, what, error);
}

static bool method_is_idempotent(const request *r)
{
    static const char *const methods[] = { "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE" };
    for (size_t i = 0; i < COUNT_OF(methods); i++)
        if (strcmp(r->method_name, methods[i]) == 0)
            return true;
    return false;
}

/* ---- the request head ------------------------------------------------------------ */

static bool skipped_request_field(request *r, slice name, slice connection_tokens, bool has_connection)
{
    static const char *const hop[] = { "Host", "Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding",
                                       "Upgrade", "Proxy-Connection", "Proxy-Authorization", "Content-Length",
                                       "Expect" };
    for (size_t i = 0; i < COUNT_OF(hop); i++)
        if (slice_equal_string_nocase(name, hop[i]))
            return true;
    if (has_connection) {
        char token[128];
        if (name.length < sizeof(token)) {
            memcpy(token, name.data, name.length);
            token[name.length] = '\0';
            if (slice_list_contains_token(connection_tokens, token))
                return true;
        }
    }
    return false;
}

static void build_head(exchange *x)
{
    request *r = x->io.r;
    const proxy_dir_config *settings = proxy_dir_settings(r->dir);
    const proxy_rule *rule = x->target.rule;
    buffer *out = &x->io.out;
    /* The path: the URL's, then the rest of the request's (escaped again). */
    size_t matched = url_prefix_match(rule->prefix, r->path);
    const char *rest = r->path + matched;
    const char *base = rule->path[0] ? rule->path : "/";
    size_t base_length = strlen(base);
    if (base[base_length - 1] == '/' && rest[0] == '/')
        rest++;
    char *path = pool_printf(r->pool, "%s%s", base, rest);
    buffer_printf(out, "%s %s%s%s HTTP/1.1\r\n", r->method_name, uri_escape_path(r->pool, path),
                  r->query ? "?" : "", r->query ? r->query : "");
    slice client_host = { NULL, 0 };
    bool has_host = request_header_slice(r, "Host", &client_host);
    if (settings->preserve_host == 2 && has_host)
        buffer_printf(out, "Host: %.*s\r\n", (int)client_host.length, client_host.data);
    else
        buffer_printf(out, "Host: %s\r\n", rule->authority);
    slice connection_tokens = { NULL, 0 };
    bool has_connection = request_header_slice(r, "Connection", &connection_tokens);
    slice forwarded_for = { NULL, 0 };
    bool has_forwarded_for = false;
    const http_parser *parser = &r->parser;
    for (uint32_t i = 0; i < parser->field_count; i++) {
        const http_field *field = &parser->fields[i];
        slice name = { r->head + field->name.offset, field->name.length };
        slice value = { r->head + field->value.offset, field->value.length };
        if (skipped_request_field(r, name, connection_tokens, has_connection))
            continue;
        if (settings->add_headers != 1 && slice_equal_string_nocase(name, "X-Forwarded-For")) {
            forwarded_for = value;
            has_forwarded_for = true;
            continue;
        }
        buffer_printf(out, "%.*s: %.*s\r\n", (int)name.length, name.data, (int)value.length, value.data);
    }
    if (settings->add_headers != 1) {
        const char *client = connection_peer_address(r->connection);
        if (has_forwarded_for)
            buffer_printf(out, "X-Forwarded-For: %.*s, %s\r\n", (int)forwarded_for.length, forwarded_for.data,
                          client);
        else
            buffer_printf(out, "X-Forwarded-For: %s\r\n", client);
        if (has_host)
            buffer_printf(out, "X-Forwarded-Host: %.*s\r\n", (int)client_host.length, client_host.data);
        buffer_printf(out, "X-Forwarded-Server: %s\r\n", request_server_name(r));
    }
    if (r->parser.chunked)
        buffer_append_string(out, "Transfer-Encoding: chunked\r\n");
    else if (r->parser.content_length > 0)
        buffer_printf(out, "Content-Length: %lld\r\n", (long long)r->parser.content_length);
    buffer_append(out, "\r\n", 2);
    buffer_append(&x->head_copy, out->data, out->length);
}

/* ---- sending ------------------------------------------------------------------- */

/* The body goes as it came: chunked again when the client chunked it. */
static void frame_body(proxy_exchange *io, const char *data, size_t length)
{
    bool chunked = ((exchange *)io)->body_chunked;
    if (length == 0) {
        if (chunked)
            buffer_append(&io->out, "0\r\n\r\n", 5);
        return;
    }
    if (chunked)
        buffer_printf(&io->out, "%zx\r\n", length);
    buffer_append(&io->out, data, length);
    if (chunked)
        buffer_append(&io->out, "\r\n", 2);
}

/* A reused connection failed before the response began: a new one, if the
 * request may be sent again.  WEFT_OK: retrying. */
static int retry(exchange *x)
{
    request *r = x->io.r;
    if (!x->reused || x->retried || x->io.response_started || !method_is_idempotent(r) || request_has_body(r))
        return WEFT_ERROR;
    proxy_exchange_close(&x->io);
    x->retried = true;
    x->reused = false;
    x->io.fd = proxy_connect(&x->target.backend);
    if (x->io.fd < 0)
        return WEFT_ERROR;
    request_backend_set_fd(r, x->io.fd);
    buffer_clear(&x->io.out);
    buffer_append(&x->io.out, x->head_copy.data, x->head_copy.length);
    x->io.out_sent = 0;
    x->io.state = PROXY_STATE_CONNECTING;
    return WEFT_OK;
}

/* ---- the response head ------------------------------------------------------------- */

/* ProxyPassReverse: value starting with a rule's URL -> our URL. */
static const char *reverse_map(exchange *x, const char *value)
{
    request *r = x->io.r;
    for (const proxy_rule *rule = proxy_dir_settings(r->dir)->reverse; rule; rule = rule->next) {
        size_t length = strlen(rule->url);
        if (strncmp(value, rule->url, length) != 0)
            continue;
        const char *rest = value + length;
        size_t prefix_length = strlen(rule->prefix);
        if (prefix_length && rule->prefix[prefix_length - 1] == '/' && rest[0] == '/')
            rest++;
        return request_self_url(r, pool_printf(r->pool, "%s%s", rule->prefix, rest));
    }
    return value;
}

/* Parses the head (status line and fields, without the empty line).
 * NULL, or why it is refused. */
static const char *parse_head(exchange *x, char *block, size_t length, int *status_out)
{
    request *r = x->io.r;
    char *line_end = memchr(block, '\n', length);
    char *end = block + length;
    char *status_end = line_end ? line_end : end;
    if (status_end > block && status_end[-1] == '\r')
        status_end--;
    size_t status_length = (size_t)(status_end - block);
    if (status_length < 12 || (strncmp(block, "HTTP/1.1 ", 9) != 0 && strncmp(block, "HTTP/1.0 ", 9) != 0) ||
        block[9] < '1' || block[9] > '5' || block[10] < '0' || block[10] > '9' || block[11] < '0' ||
        block[11] > '9' || (status_length > 12 && block[12] != ' ') ||
        !proxy_value_is_clean(block, status_length))
        return "an invalid status line";
    int status = (block[9] - '0') * 100 + (block[10] - '0') * 10 + (block[11] - '0');
    bool http10 = block[7] == '0';
    *status_out = status;
    x->keep = !http10;
    bool has_length = false, chunked = false, has_encoding = false;
    int64_t content_length = -1;
    char *cursor = line_end ? line_end + 1 : end;
    int first_header = r->header_count;
    while (cursor < end) {
        char *stop;
        char *next = cgi_header_line(cursor, end, &stop);
        size_t line_length = (size_t)(stop - cursor);
        if (line_length && (cursor[0] == ' ' || cursor[0] == '\t'))
            return "a folded header line (obs-fold)";
        char *colon = memchr(cursor, ':', line_length);
        if (!colon || !cgi_is_token(cursor, (size_t)(colon - cursor)))
            return "a malformed header line";
        size_t name_length = (size_t)(colon - cursor);
        char *value_end;
        char *value = cgi_field_value(colon + 1, stop, &value_end);
        if (!proxy_value_is_clean(value, (size_t)(value_end - value)))
            return "a control character in a header value";
        char *text = pool_strndup(r->pool, value, (size_t)(value_end - value));
        if (cgi_field_is(cursor, name_length, "Content-Length")) {
            size_t digits = strspn(text, "0123456789");
            if (has_length)
                return "two Content-Length fields";
            if (text[0] == '\0' || digits != strlen(text) || digits > 18)
                return "an invalid Content-Length";
            has_length = true;
            content_length = strtoll(text, NULL, 10);
        } else if (cgi_field_is(cursor, name_length, "Transfer-Encoding")) {
            if (has_encoding || strcasecmp(text, "chunked") != 0)
                return "a Transfer-Encoding other than chunked";
            has_encoding = chunked = true;
        } else if (cgi_field_is(cursor, name_length, "Connection")) {
            slice tokens = slice_from_string(text);
            if (slice_list_contains_token(tokens, "close"))
                x->keep = false;
            else if (http10 && slice_list_contains_token(tokens, "keep-alive"))
                x->keep = true;
        } else if (cgi_field_is(cursor, name_length, "Content-Type")) {
            r->content_type = text;
        } else if (!proxy_field_is_ours(cursor, name_length)) {
            if (cgi_field_is(cursor, name_length, "Location") || cgi_field_is(cursor, name_length, "Content-Location") ||
                cgi_field_is(cursor, name_length, "URI"))
                text = (char *)reverse_map(x, text);
            response_add_header(r, pool_strndup(r->pool, cursor, name_length), text);
        }
        cursor = next;
    }
    if (has_length && chunked)
        return "both Content-Length and Transfer-Encoding";
    (void)first_header;
    bool no_body = r->head_only || status == 204 || status == 304 || status < 200;
    if (no_body) {
        x->framing = FRAMING_NONE;
        r->body_length = has_length && r->head_only ? content_length : 0;
    } else if (chunked) {
        x->framing = FRAMING_CHUNKED;
        http_chunked_init(&x->chunked, 4096, 65536);
        r->body_length = -1;
    } else if (has_length) {
        x->framing = content_length ? FRAMING_LENGTH : FRAMING_NONE;
        x->length_left = content_length;
        r->body_length = content_length;
    } else {
        x->framing = FRAMING_CLOSE;
        x->keep = false;
        r->body_length = -1;
    }
    return NULL;
}

/* Looks for the head's end in what arrived.  WEFT_OK with *result set, or
 * WEFT_AGAIN. */
static int scan_head(exchange *x, int *result)
{
    char *data = x->io.in.data + x->io.in_used;
    size_t length = x->io.in.length - x->io.in_used;
    for (size_t at = 0; at < length; at++) {
        if (data[at] != '\n')
            continue;
        size_t next = at + 1, blank = 0;
        if (next < length && data[next] == '\n')
            blank = 1;
        else if (next + 1 < length && data[next] == '\r' && data[next + 1] == '\n')
            blank = 2;
        if (!blank)
            continue;
        size_t block_length = at;
        if (block_length && data[block_length - 1] == '\r')
            block_length--;
        int status = 0;
        request *r = x->io.r;
        int headers_before = r->header_count;
        const char *problem = parse_head(x, data, block_length, &status);
        if (problem) {
            *result = answer_error(x, 502, pool_printf(r->pool, "malformed response head: %s", problem), 0);
            return WEFT_OK;
        }
        x->io.in_used += next + blank;
        if (status < 200) {
            /* 100 Continue and other interim answers: the final one follows. */
            if (status == 101) {
                *result = answer_error(x, 502, "a protocol switch (101) is not supported", 0);
                return WEFT_OK;
            }
            r->header_count = headers_before;
            r->content_type = NULL;
            return scan_head(x, result);
        }
        r->status = status;
        r->body = BODY_PULL;
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

/* ---- the backend type ------------------------------------------------------------ */

static int http_run(request *r, request_backend *b)
{
    exchange *x = b->context;
    for (;;) {
        switch (x->io.state) {
        case PROXY_STATE_CONNECTING: {
            int error = proxy_exchange_connect_error(&x->io);
            if (error)
                return answer_error(x, 503, "cannot connect to the backend", error);
            x->io.state = PROXY_STATE_SENDING;
            break;
        }
        case PROXY_STATE_SENDING: {
            int result;
            int rc = proxy_exchange_send(&x->io, frame_body, &result);
            if (rc == WEFT_ERROR) {
                int error = errno;
                if (retry(x) == WEFT_OK)
                    break;
                return answer_error(x, x->reused ? 502 : 503, "cannot send to the backend", error);
            }
            if (rc == WEFT_DONE)
                return result;
            break;
        }
        case PROXY_STATE_HEAD: {
            int result;
            if (x->io.in.length > x->io.in_used && scan_head(x, &result) == WEFT_OK)
                return result;
            int rc = proxy_exchange_fill(&x->io);
            if (rc == WEFT_OK)
                break;
            if (rc == WEFT_AGAIN) {
                if (b->deadline_ms == INT64_MAX)
                    proxy_exchange_progress(&x->io);
                return WEFT_AGAIN;
            }
            int error = rc == WEFT_ERROR ? errno : 0;
            if (retry(x) == WEFT_OK)
                break;
            return answer_error(x, 502, "the backend closed the connection before its response head", error);
        }
        case PROXY_STATE_BODY:
        case PROXY_STATE_DONE:
            return WEFT_OK;
        }
    }
}

/* The response is complete: the connection may serve another request. */
static void finished(exchange *x)
{
    x->io.state = PROXY_STATE_DONE;
    x->reusable = x->keep && x->io.in_used == x->io.in.length && !x->io.body_left && x->io.fd >= 0;
    if (!x->reusable)
        proxy_exchange_close(&x->io);
}

static int http_pull(request *r, request_backend *b, const char **data, size_t *length)
{
    exchange *x = b->context;
    for (;;) {
        if (x->io.state == PROXY_STATE_DONE)
            return WEFT_DONE;
        if (x->framing == FRAMING_NONE) {
            finished(x);
            return WEFT_DONE;
        }
        size_t available = x->io.in.length - x->io.in_used;
        if (available > 0) {
            char *start = x->io.in.data + x->io.in_used;
            if (x->framing == FRAMING_LENGTH) {
                size_t take = (int64_t)available < x->length_left ? available : (size_t)x->length_left;
                x->io.in_used += take;
                x->length_left -= (int64_t)take;
                if (x->length_left == 0)
                    x->framing = FRAMING_NONE;  /* finished at the next call */
                *data = start;
                *length = take;
                return WEFT_OK;
            }
            if (x->framing == FRAMING_CHUNKED) {
                size_t consumed = 0, decoded = 0;
                int rc = http_chunked_decode(&x->chunked, start, available, &consumed, &decoded);
                x->io.in_used += consumed;
                if (rc == WEFT_ERROR) {
                    proxy_exchange_log(&x->io, "bad chunked framing in the backend's body", 0);
                    proxy_exchange_close(&x->io);
                    return WEFT_ERROR;
                }
                if (rc == WEFT_OK)
                    x->framing = FRAMING_NONE;
                if (decoded > 0) {
                    *data = start;
                    *length = decoded;
                    return WEFT_OK;
                }
                continue;
            }
            x->io.in_used = x->io.in.length;  /* FRAMING_CLOSE */
            *data = start;
            *length = available;
            return WEFT_OK;
        }
        int rc = proxy_exchange_fill(&x->io);
        if (rc == WEFT_OK)
            continue;
        if (rc == WEFT_AGAIN)
            return WEFT_AGAIN;
        if (rc == WEFT_DONE && x->framing == FRAMING_CLOSE) {
            x->keep = false;
            finished(x);
            return WEFT_DONE;
        }
        proxy_exchange_log(&x->io, "the backend closed the connection in the middle of the body",
                           rc == WEFT_ERROR ? errno : 0);
        proxy_exchange_close(&x->io);
        return WEFT_ERROR;
    }
}

static void http_expire(request *r, request_backend *b)
{
    (void)r;
    exchange *x = b->context;
    proxy_exchange_expire(&x->io, answer_error_io);
}

static const request_backend_type http_backend = {
    .name = "http",
    .run = http_run,
    .pull = http_pull,
    .expire = http_expire,
};

int proxy_http_start(request *r, const proxy_target *target)
{
    exchange *x = pool_calloc(r->pool, sizeof(*x));
    proxy_exchange_init(&x->io, r, target, "proxy_http", "the backend");
    x->target = *target;
    pool_cleanup_add(r->pool, cleanup, x);
    build_head(x);
    x->io.body_left = request_has_body(r);
    x->body_chunked = r->parser.chunked;
    x->io.fd = pool_take(&target->backend);
    x->reused = x->io.fd >= 0;
    if (x->io.fd < 0)
        x->io.fd = proxy_connect(&target->backend);
    if (x->io.fd < 0) {
        proxy_exchange_log(&x->io, "cannot connect to the backend", errno);
        return 503;
    }
    x->io.b = request_backend_attach(r, &http_backend, x, x->io.fd);
    x->io.state = x->reused ? PROXY_STATE_SENDING : PROXY_STATE_CONNECTING;
    proxy_exchange_progress(&x->io);
    return WEFT_OK;
}

/* Its name makes <IfModule proxy_http_module> true. */
const module proxy_http_module = {
    .name = "proxy_http",
};
