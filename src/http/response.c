/*
 * response.c — describing responses (for handlers) and turning them into a
 * response head (for the connection layer).
 */
#include "response.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/log.h"
#include "connection.h"
#include "filter.h"
#include "stream.h"
#include "uri.h"

typedef struct {
    int status;
    const char *reason;
    const char *explanation;  /* sentence for the error page body */
} status_text;

static const status_text status_texts[] = {
    { 100, "Continue", NULL },
    { 101, "Switching Protocols", NULL },
    { 200, "OK", NULL },
    { 201, "Created", NULL },
    { 202, "Accepted", NULL },
    { 204, "No Content", NULL },
    { 206, "Partial Content", NULL },
    { 300, "Multiple Choices", NULL },
    { 301, "Moved Permanently", "The document has moved" },
    { 302, "Found", "The document has moved" },
    { 303, "See Other", "The answer to your request is located" },
    { 304, "Not Modified", NULL },
    { 307, "Temporary Redirect", "The document has moved" },
    { 308, "Permanent Redirect", "The document has moved" },
    { 400, "Bad Request", "Your browser sent a request that this server could not understand." },
    { 401, "Unauthorized", "This server could not verify that you are authorized to access the document requested." },
    { 403, "Forbidden", "You don't have permission to access this resource." },
    { 404, "Not Found", "The requested URL was not found on this server." },
    { 405, "Method Not Allowed", "The requested method is not allowed for this URL." },
    { 406, "Not Acceptable", "An appropriate representation of the requested resource could not be found on this server." },
    { 408, "Request Timeout", "Server timeout waiting for the HTTP request from the client." },
    { 409, "Conflict", "The request could not be completed because of a conflict." },
    { 410, "Gone", "The requested resource is no longer available on this server." },
    { 411, "Length Required", "A request of the requested method requires a valid Content-length." },
    { 412, "Precondition Failed", "The precondition on the request for this URL evaluated to false." },
    { 413, "Content Too Large", "The requested resource does not allow request data with this method, or the amount of data provided in the request exceeds the capacity limit." },
    { 414, "URI Too Long", "The requested URL's length exceeds the capacity limit for this server." },
    { 415, "Unsupported Media Type", "The supplied request data is not in a format acceptable for processing by this resource." },
    { 416, "Range Not Satisfiable", "None of the range-specifier values in the Range request-header field overlap the current extent of the selected resource." },
    { 417, "Expectation Failed", "The expectation given in the Expect request-header field could not be met by this server." },
    { 421, "Misdirected Request", "The client needs a new connection for this request as the requested host name does not match the Server Name Indication (SNI) in use for this connection." },
    { 426, "Upgrade Required", "The requested resource can only be retrieved using another protocol." },
    { 428, "Precondition Required", "The request is required to be conditional." },
    { 429, "Too Many Requests", "The user has sent too many requests in a given amount of time." },
    { 431, "Request Header Fields Too Large", "The server refused this request because the request header fields are too large." },
    { 500, "Internal Server Error", "The server encountered an internal error or misconfiguration and was unable to complete your request." },
    { 501, "Not Implemented", "The requested method is not supported by this server." },
    { 502, "Bad Gateway", "The proxy server received an invalid response from an upstream server." },
    { 503, "Service Unavailable", "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later." },
    { 504, "Gateway Timeout", "The gateway did not receive a timely response from the upstream server or application." },
    { 505, "HTTP Version Not Supported", "The server does not support the major version of HTTP used in the request." },
    { 506, "Variant Also Negotiates", "A variant for the requested resource is itself a negotiable resource. This indicates a configuration error." },
};

static const status_text *find_status(int status)
{
    for (size_t i = 0; i < COUNT_OF(status_texts); i++)
        if (status_texts[i].status == status)
            return &status_texts[i];
    return NULL;
}

const char *http_status_reason(int status)
{
    const status_text *text = find_status(status);
    if (text)
        return text->reason;
    if (status >= 500)
        return "Internal Server Error";
    if (status >= 400)
        return "Bad Request";
    return "Unknown";
}

static response_header *next_header_slot(request *r)
{
    if (r->header_count == r->header_capacity) {
        int capacity = r->header_capacity ? r->header_capacity * 2 : 8;
        response_header *grown = pool_alloc(r->pool, sizeof(*grown) * (size_t)capacity);
        if (r->header_count)
            memcpy(grown, r->headers, sizeof(*grown) * (size_t)r->header_count);
        r->headers = grown;
        r->header_capacity = capacity;
    }
    return &r->headers[r->header_count++];
}

void response_add_header(request *r, const char *name, const char *value)
{
    response_header *slot = next_header_slot(r);
    slot->name = pool_strdup(r->pool, name);
    slot->value = pool_strdup(r->pool, value);
}

void response_add_header_constant(request *r, const char *name, const char *value)
{
    response_header *slot = next_header_slot(r);
    slot->name = (char *)name;
    slot->value = (char *)value;
}

static void close_body_file(void *data)
{
    request *r = data;
    if (r->body_file >= 0) {
        close(r->body_file);
        r->body_file = -1;
    }
}

static void drop_body(request *r)
{
    if (r->body == BODY_FILE || r->body == BODY_PIECES)
        close_body_file(r);
    r->body = BODY_NONE;
    r->body_length = 0;
    r->body_origin = NULL;
}

void response_set_body_memory(request *r, const char *data, size_t length)
{
    drop_body(r);
    r->body = BODY_MEMORY;
    r->body_data = data;
    r->body_length = (int64_t)length;
}

void response_set_body_file(request *r, int fd, off_t offset, int64_t length)
{
    drop_body(r);
    r->body = BODY_FILE;
    r->body_file = fd;
    r->body_offset = offset;
    r->body_length = length;
    /* The pool owns the descriptor from here: it is closed on every path,
     * including a client that goes away mid-response. */
    pool_cleanup_add(r->pool, close_body_file, r);
}

void response_set_body_pieces(request *r, int fd, const body_piece *pieces, int count)
{
    int64_t total = 0;
    for (int i = 0; i < count; i++)
        total += (int64_t)pieces[i].length;
    response_set_body_file(r, fd, 0, total);
    r->body = BODY_PIECES;
    r->body_pieces = pieces;
    r->body_piece_count = count;
}

/* The name and port the signature names (Apache's ap_get_server_name and
 * ap_get_server_port with UseCanonicalName Off): the Host field's, else
 * ServerName, else the local address; the Host field's port, else the
 * local port. */
/* Apache's ap_get_server_name and ap_get_server_port (request.h: the
 * Host field under UseCanonicalName Off, else ServerName; the Host's port,
 * else ServerName's, else 80/443), an IPv6 literal without its brackets. */
static void signature_host(request *r, const char **name, int *port)
{
    if (!r->server || !r->dir) {
        *name = NULL;
        *port = 0;
        return;
    }
    const char *host = request_server_name(r);
    size_t length = strlen(host);
    if (host[0] == '[' && length > 2 && host[length - 1] == ']')
        host = pool_strndup(r->pool, host + 1, length - 2);
    *name = host;
    *port = request_server_port(r);
}

char *response_signature(request *r, const char *prefix)
{
    const dir_config *dir = r->dir ? r->dir : r->server ? r->server->root_dir : NULL;
    int mode = dir ? dir->server_signature : SERVER_SIGNATURE_OFF;
    if (mode == SERVER_SIGNATURE_OFF)
        return "";
    const char *name;
    int port;
    signature_host(r, &name, &port);
    const char *banner = r->server && r->server->server_header ? r->server->server_header : WEFT_NAME;
    const char *escaped_name = html_escape(r->pool, name ? name : "");
    if (mode == SERVER_SIGNATURE_EMAIL) {
        const char *admin = r->server && r->server->server_admin ? r->server->server_admin : "[no address given]";
        return pool_printf(r->pool, "%s<address>%s Server at <a href=\"%s%s\">%s</a> Port %d</address>\n",
                           prefix, banner, strncasecmp(admin, "mailto:", 7) == 0 ? "" : "mailto:",
                           html_escape(r->pool, admin), escaped_name, port);
    }
    return pool_printf(r->pool, "%s<address>%s Server at %s Port %d</address>\n", prefix, banner, escaped_name,
                       port);
}

/* Apache's error page, byte for byte but for the product in the signature. */
static void set_html_body(request *r, const char *title, const char *heading, const char *paragraph)
{
    char *body = pool_printf(r->pool,
                             "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
                             "\"http://www.w3.org/TR/html4/strict.dtd\">\n"
                             "<html><head>\n<title>%s</title>\n</head><body>\n"
                             "<h1>%s</h1>\n<p>%s</p>\n%s</body></html>\n",
                             title, heading, paragraph, response_signature(r, "<hr>\n"));
    response_set_body_memory(r, body, strlen(body));
    r->content_type = "text/html; charset=iso-8859-1";
}

int response_set_error(request *r, int status)
{
    r->status = status;
    r->last_modified = 0;
    r->etag = NULL;
    drop_body(r);
    output_filters_discard(r);
    if (status < 400 && status != 300)
        return WEFT_OK;
    const status_text *text = find_status(status);
    const char *reason = text ? text->reason : http_status_reason(status);
    const char *explanation = text && text->explanation ? text->explanation : reason;
    /* The two texts Apache fills in: the method, and whom to tell. */
    if (status == 405 && r->method_name)
        explanation = pool_printf(r->pool, "The requested method %s is not allowed for this URL.",
                                  html_escape(r->pool, r->method_name));
    else if (status == 500)
        explanation = pool_printf(r->pool,
                                  "The server encountered an internal error or\nmisconfiguration and was unable "
                                  "to complete\nyour request.</p>\n<p>Please contact the server administrator "
                                  "at \n %s to inform them of the time this error occurred,\n and the actions "
                                  "you performed just before this error.</p>\n<p>More information about this "
                                  "error may be available\nin the server error log.",
                                  html_escape(r->pool, r->server && r->server->server_admin
                                                           ? r->server->server_admin : "[no address given]"));
    char *title = pool_printf(r->pool, "%d %s", status, reason);
    set_html_body(r, title, reason, explanation);
    return WEFT_OK;
}

int response_set_error_explained(request *r, int status, const char *explanation_html)
{
    response_set_error(r, status);
    const char *reason = http_status_reason(status);
    set_html_body(r, pool_printf(r->pool, "%d %s", status, reason), reason, explanation_html);
    return WEFT_OK;
}

int response_set_redirect(request *r, int status, const char *location)
{
    r->status = status;
    drop_body(r);
    output_filters_discard(r);
    response_add_header(r, "Location", location);
    const char *reason = http_status_reason(status);
    char *title = pool_printf(r->pool, "%d %s", status, reason);
    char *paragraph = pool_printf(r->pool, "The document has moved <a href=\"%s\">here</a>.",
                                  html_escape(r->pool, location));
    set_html_body(r, title, reason, paragraph);
    return WEFT_OK;
}

static bool status_has_body(int status)
{
    return !(status < 200 || status == 204 || status == 304);
}

static void append_field(buffer *out, const char *name, size_t name_length, const char *value)
{
    buffer_append(out, name, name_length);
    buffer_append_string(out, value);
    buffer_append(out, "\r\n", 2);
}

#define APPEND_FIELD(out, literal_name, value) append_field(out, literal_name, sizeof(literal_name) - 1, value)

/* A value with CR or LF would end the field early and start another one
 * (response splitting): text from the request (a decoded URL-path through
 * SetEnvIf's $1 into Header's %{VAR}e) can reach a field.  Apache refuses
 * such a response with a 500; the head is being written here, so the field
 * is left out instead, and logged. */
static bool field_is_safe(request *r, const char *name, const char *value)
{
    if (value[strcspn(value, "\r\n")] == '\0')
        return true;
    log_message(LOG_LEVEL_ERROR, "response header '%s' contains CR or LF; left out (%s)", name,
                r->request_line ? r->request_line : "");
    return false;
}

void response_serialize_head(request *r, buffer *out)
{
    char number[24];
    buffer_reserve(out, 256);
    /* force-response-1.0 (Apache's special variable): for old clients that
     * take a 1.1 status line for an error. */
    bool force_10 = r->env_count && r->version_major == 1 && r->version_minor == 0
        && request_get_env(r, "force-response-1.0");
    buffer_append(out, force_10 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
    buffer_append_unsigned(out, (uint64_t)r->status);
    buffer_append_char(out, ' ');
    buffer_append_string(out, http_status_reason(r->status));
    buffer_append(out, "\r\n", 2);

    APPEND_FIELD(out, "Date: ", http_current_date());
    if (r->server && r->server->server_header)
        APPEND_FIELD(out, "Server: ", r->server->server_header);
    if (r->last_modified > 0) {
        char date[32];
        http_format_date(date, r->last_modified);
        APPEND_FIELD(out, "Last-Modified: ", date);
    }
    if (r->etag && field_is_safe(r, "ETag", r->etag))
        APPEND_FIELD(out, "ETag: ", r->etag);
    if (r->stream) {
        /* Streamed (stream.h): the length is unknown, or the handler's own
         * Content-Length field is among its headers. */
        if (response_stream_chunked(r))
            APPEND_FIELD(out, "Transfer-Encoding: ", "chunked");
    } else if (output_filters_active(r)) {
        /* A filter changes the body: its length is known only at its end. */
        if (output_filters_chunked(r))
            APPEND_FIELD(out, "Transfer-Encoding: ", "chunked");
    } else if (r->body == BODY_PULL && r->body_length < 0) {
        /* A backend's body of unknown length (backend.h): chunked to
         * HTTP/1.1 clients, delimited by the connection's end otherwise. */
        if (status_has_body(r->status) && (r->version_major > 1 || (r->version_major == 1 && r->version_minor >= 1)))
            APPEND_FIELD(out, "Transfer-Encoding: ", "chunked");
    } else if (status_has_body(r->status)) {
        format_unsigned(number, (uint64_t)(r->body == BODY_NONE ? 0 : r->body_length));
        APPEND_FIELD(out, "Content-Length: ", number);
    }
    if (r->keep_alive) {
        /* HTTP/1.1 is persistent by default; an HTTP/1.0 client must be
         * told explicitly, and Apache also tells it the limits. */
        if (r->version_minor == 0 && r->version_major == 1) {
            /* The connection's limits, not the virtual host's: the
             * connection layer decides keep-alive with the main server's
             * (a vhost's KeepAlive* are warned about at -t). */
            const server_config *limits = r->connection ? r->connection->server : r->server;
            char keep_alive[64];
            int remaining = limits->max_keep_alive_requests
                                ? limits->max_keep_alive_requests - r->connection_requests
                                : 0;
            if (remaining > 0)
                snprintf(keep_alive, sizeof(keep_alive), "timeout=%d, max=%d",
                         (limits->keep_alive_timeout_ms + 999) / 1000, remaining);
            else
                snprintf(keep_alive, sizeof(keep_alive), "timeout=%d",
                         (limits->keep_alive_timeout_ms + 999) / 1000);
            APPEND_FIELD(out, "Keep-Alive: ", keep_alive);
            APPEND_FIELD(out, "Connection: ", "Keep-Alive");
        }
    } else {
        APPEND_FIELD(out, "Connection: ", "close");
    }
    if (r->content_type && status_has_body(r->status) && field_is_safe(r, "Content-Type", r->content_type))
        APPEND_FIELD(out, "Content-Type: ", r->content_type);
    /* force-no-vary (Apache's special variable, for caches that mishandle it) */
    bool no_vary = r->env_count && request_get_env(r, "force-no-vary");
    for (int i = 0; i < r->header_count; i++) {
        if (no_vary && strcasecmp(r->headers[i].name, "Vary") == 0)
            continue;
        if (!field_is_safe(r, r->headers[i].name, r->headers[i].value))
            continue;
        buffer_append_string(out, r->headers[i].name);
        buffer_append(out, ": ", 2);
        buffer_append_string(out, r->headers[i].value);
        buffer_append(out, "\r\n", 2);
    }
    buffer_append(out, "\r\n", 2);
}
