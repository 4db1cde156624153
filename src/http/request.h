/*
 * request.h — a connection and the request being served on it.
 *
 * Lifetimes: a connection's pool lives as long as the TCP connection; a
 * request's pool is reset after each response has been sent and logged.
 * A request is handled from start to end by one thread; nothing in it is
 * shared with other threads.
 *
 * Handlers (module.h) receive a request whose target has been decoded and
 * normalised (path), whose file_path has been mapped under DocumentRoot and
 * whose dir configuration has been merged.  A handler answers by filling in
 * the response (response.h) and returns:
 *   WEFT_OK        the response is set up (status, headers, body)
 *   WEFT_DECLINED  not for this handler
 *   WEFT_ERROR     internal error: the server answers 500
 *   an HTTP status >= 300 (e.g. 404): the server answers with that status's
 *                  standard error response
 */
#ifndef WEFT_HTTP_REQUEST_H
#define WEFT_HTTP_REQUEST_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "../core/buffer.h"
#include "../core/pool.h"
#include "../core/server.h"
#include "parser.h"

typedef struct connection connection;

/* The one interface all connection I/O goes through, so that TLS can be put
 * behind it (a TLS module sets c->io when it accepts the connection).
 * Descriptors are non-blocking: -1 with errno EAGAIN means "would block" and
 * the caller parks the connection.  What a layer must know about the rest:
 *  - read() may return bytes the layer had buffered (TLS records decrypted
 *    ahead): pending() says how many are waiting, so that the connection
 *    layer does not wait on the descriptor for input it already has.
 *  - A layer that cannot send a file without copying it (TLS without kTLS)
 *    leaves sendfile NULL: the connection layer then reads the file and
 *    writes it with writev (the EnableSendfile Off path).
 *  - shutdown() ends our direction (TLS: close_notify, then the TCP FIN),
 *    for lingering close; close() releases everything and the descriptor.
 *  - protocol() is what ALPN selected ("h2", "http/1.1"), NULL for none. */
typedef struct {
    ssize_t (*read)(connection *c, void *data, size_t length);
    /* more_follows: the caller sends more bytes right after (lets TCP
     * coalesce a response head with a following sendfile). */
    ssize_t (*writev)(connection *c, const struct iovec *vectors, int count, bool more_follows);
    ssize_t (*sendfile)(connection *c, int file, off_t *offset, size_t count);  /* NULL: copy */
    int (*shutdown)(connection *c);             /* NULL: shutdown(2) of the descriptor */
    void (*close)(connection *c);
    size_t (*pending)(const connection *c);     /* NULL: never buffers */
    const char *(*protocol)(const connection *c);  /* NULL: no ALPN */
    /* The layer encrypts (TLS): the request's scheme is https, HTTPS=on
     * (connection_is_secure). */
    bool secure;
} connection_io;

typedef struct {
    char *name;
    char *value;
} response_header;

typedef enum {
    BODY_NONE,
    BODY_MEMORY,   /* body_data, body_length */
    BODY_FILE,     /* body_file from body_offset, body_length bytes */
    BODY_PIECES,   /* body_pieces in order (body_length is their sum) */
    BODY_PULL,     /* pulled from r->backend as the client takes it (backend.h); body_length
                    * is the announced length, -1 when unknown */
} body_kind;

/* One piece of a BODY_PIECES body (e.g. multipart/byteranges): length bytes
 * of memory at data, or, when data is NULL, of body_file from offset. */
typedef struct {
    const char *data;
    off_t offset;
    size_t length;
} body_piece;

/* How far a handler has read the request body (body.h). */
typedef struct {
    bool started;          /* a handler asked for body bytes (100 Continue is out if expected) */
    bool finished;         /* the whole body has been read */
    bool failed;           /* it cannot be read further: close after the response */
    int error_status;      /* with failed: 400, 408, 413 (or 500 for request_body_spill) */
    int64_t received;      /* decoded body bytes handed to the handler */
    size_t input_used;     /* bytes of the connection's input after the head that the body used */
    int64_t started_ms;    /* CLOCK_MONOTONIC, for RequestReadTimeout body= */
} request_body_progress;

typedef struct request {
    pool *pool;
    connection *connection;
    const server_config *server;
    const dir_config *dir;          /* merged for this request */

    /* What was received.  Strings are NUL-terminated copies in pool. */
    http_parser parser;             /* spans refer to head */
    const char *head;               /* the request head in the connection's buffer */
    char *request_line;             /* first line as received, for %r */
    char *method_name;
    http_method method;
    char *target;                   /* request-target as received */
    char *path;                     /* decoded, dot-segments removed, always starts with '/' */
    char *query;                    /* after '?', not decoded; NULL if none */
    int version_major;
    int version_minor;
    struct timespec start_time;     /* when the first byte of the request was seen */
    time_t start_seconds;           /* the same, wall clock, for %t */

    /* Mapping. */
    char *file_path;                /* DocumentRoot + path */
    const char *handler;            /* set by a translate hook that implies one (ScriptAlias:
                                     * "cgi-script"); NULL = dir->handler decides */
    int internal_redirects;         /* request_internal_redirect() calls so far */
    int lookup_depth;               /* request_lookup() calls in progress (a DirectoryIndex
                                     * or MultiViews candidate being looked up) */
    int switched_handlers;          /* request_run_handlers() calls in progress: a looked-up
                                     * file's handler may look up again (a type map naming
                                     * itself), so these count towards the same limit */
    const char *redirect_url;       /* the path before the last internal redirect, NULL if none */
    const char *redirect_query;     /* its query */
    bool redirect_kept_body;        /* the last internal redirect kept the method and the body
                                     * (request_internal_redirect_keep_method) */
    int error_status;               /* in an ErrorDocument sub-request: the error it answers
                                     * (Apache's REDIRECT_STATUS); handlers evaluate no
                                     * preconditions or ranges then; 0 otherwise */

    /* Response. */
    int status;
    response_header *headers;       /* extra header fields, in order */
    int header_count;
    int header_capacity;
    const char *content_type;       /* NULL = none */
    bool keep_alive;                /* decided by the connection layer, handlers may clear it */
    bool head_only;                 /* HEAD: no body bytes are sent */
    body_kind body;
    const char *body_data;
    int body_file;                  /* closed when the request pool is reset */
    off_t body_offset;
    int64_t body_length;
    const body_piece *body_pieces;  /* BODY_PIECES, in the request pool */
    const void *body_origin;        /* BODY_MEMORY: the cache object body_data belongs to (a
                                     * file cache entry), so that a filter may cache what it
                                     * derives from it; NULL = none */
    int body_piece_count;
    time_t last_modified;           /* 0 = none; adds Last-Modified */
    char *etag;                     /* NULL = none; adds ETag */

    /* Accounting, for logs and the scoreboard. */
    uint64_t bytes_received;        /* head and body */
    uint64_t bytes_sent;            /* head and body as written */
    uint64_t body_bytes_sent;
    char *user;                     /* authenticated user for %u, NULL = none */
    int connection_requests;        /* requests completed earlier on this connection */
    bool aborted;                   /* the client went away before the response was sent */
    const char *remote_host;        /* request_remote_host's answer once asked; NULL before */
    /* The client as a module found it behind proxies (mod_remoteip's
     * RemoteIPHeader, Apache's r->useragent_ip), numeric text in the
     * request pool; NULL = the connection's peer.  Read it through
     * request_client_address().  client_port goes with it (0: unknown). */
    const char *client_address;
    int client_port;

    /* Request body as a handler read it (body.h); the connection layer
     * discards only what is left. */
    request_body_progress body_read;
    /* Streamed response (stream.h): set once a handler has sent the head
     * itself; the connection layer then writes nothing more and logs. */
    struct response_stream *stream;
    /* Output filters (filter.h) added for this request; NULL = none, and
     * then the body goes out exactly as the handler set it up. */
    struct output_filter_chain *filters;
    /* Input filters (body.h), the top one first; NULL = the body as framed. */
    struct input_filter *input_filters;
    /* The request's environment (Apache's r->subprocess_env): what SetEnvIf,
     * BrowserMatch and SetEnv set; CGI scripts receive it, env= conditions
     * test it.  In the request pool; NULL until the first variable is set. */
    struct request_env_entry *env;
    int env_count;
    int env_capacity;
    /* mod_rewrite's state ([END], [T=], [CO=]), kept across internal
     * redirects as Apache keeps it in the request's pool; NULL = none. */
    void *rewrite_state;
    /* A backend serves this request (backend.h): the connection layer
     * drives the exchange from the event loop.  NULL = none. */
    struct request_backend *backend;
} request;

typedef struct request_env_entry {
    char *name;
    char *value;
} request_env_entry;

/* The request environment.  Names are case-insensitive, as in Apache's
 * tables; set copies name and value into the request pool and replaces an
 * earlier value; get returns NULL for an absent variable. */
void request_set_env(request *r, const char *name, const char *value);
const char *request_get_env(const request *r, const char *name);
void request_unset_env(request *r, const char *name);

/* The value of request header `name` (case-insensitive) as a pool copy, or
 * NULL. */
const char *request_header(request *r, const char *name);
/* The same without copying (a slice into the head). */
bool request_header_slice(const request *r, const char *name, slice *value);

/* The addresses of a request's connection (defined in connection.c, also
 * declared in connection.h; here so that modules such as access_log need
 * not see the connection's insides).  Numeric text ("192.0.2.7",
 * "2001:db8::1"); NULL or a port <= 0 means unknown. */
const char *connection_peer_address(const connection *c);
int connection_peer_port(const connection *c);
const char *connection_local_address(const connection *c);
int connection_local_port(const connection *c);

/* The client the request is from (Apache's useragent_ip): what
 * mod_remoteip set from the connection's PROXY protocol header or from
 * RemoteIPHeader, else the connection's peer.  %a, Require ip, Allow/Deny,
 * REMOTE_ADDR for CGI and expressions, the scoreboard's client: everything
 * that asks "who is the client" asks here; %{c}a and CONN_REMOTE_ADDR ask
 * connection_peer_address().  r->connection must be set.  The port is the
 * PROXY header's source port, 0 for an address from a header field (it
 * comes without one, as Apache), else the peer's. */
static inline const char *request_client_address(const request *r)
{
    return r->client_address ? r->client_address : connection_peer_address(r->connection);
}

static inline int request_client_port(const request *r)
{
    return r->client_address ? r->client_port : connection_peer_port(r->connection);
}

/* The client's host name as HostnameLookups (r->dir) asks: the reverse
 * DNS name with On, the same only if it resolves back to the address with
 * Double, NULL with Off or when there is none.  Blocks this thread on the
 * resolver, as Apache's does; the answer is kept for the request. */
const char *request_remote_host(request *r);

#define REQUEST_MAX_INTERNAL_REDIRECTS 10

/* Serves location ("/path?query", from a handler such as a CGI script's
 * Location) in place of the current target, as a GET (HEAD stays HEAD)
 * without a body: the response set up so far is dropped, then mapping,
 * directory configuration and handlers run again.  Returns what a handler
 * returns.  After REQUEST_MAX_INTERNAL_REDIRECTS of them, 500. */
int request_internal_redirect(request *r, const char *location);
/* The same keeping the method and the body (Apache's ap_internal_redirect,
 * as mod_rewrite's per-directory rules use it). */
int request_internal_redirect_keep_method(request *r, const char *location);
/* The file a URL-path maps to (translate hooks, then DocumentRoot), without
 * changing r; NULL if a hook answers it otherwise.  For PATH_TRANSLATED. */
char *request_map_path(request *r, const char *url_path);

/* Self-referential URLs (Apache's ap_construct_url): the scheme is https
 * on a TLS connection (connection_is_secure), else ServerName's when it has
 * one ("https://www.example.com"), else "http";
 * with UseCanonicalName Off (the default) the host and port are those of
 * the client's Host field, with On ServerName's, with DNS the local address
 * (no reverse lookup) and the port as with Off; a missing host is
 * ServerName's (else the local address), a missing port ServerName's (else
 * the scheme's default: as Apache, never the connection's own port).  The
 * port is left out of a URL when it is the scheme's default.
 * request_self_url returns scheme://host[:port] followed by path (already
 * escaped, with its query). */
const char *request_scheme(request *r);
const char *request_server_name(request *r);
int request_server_port(request *r);
char *request_self_url(request *r, const char *path);

/* What request_lookup() replaces, to put back. */
typedef struct {
    char *path;
    char *file_path;
    const dir_config *dir;
    const char *handler;
    const char *content_type;
    /* The environment (a copy): a refused candidate's SetEnvIf must not
     * reach the next one (Apache's sub-request has its own). */
    struct request_env_entry *env;
    int env_count;
    /* What a candidate's SetEnvIf (downgrade-1.0, nokeepalive) changes. */
    int version_minor;
    bool keep_alive;
} request_mapping;

/* Apache's sub-request lookup followed by its "fast redirect", for a
 * handler that picks another URL for the same request (DirectoryIndex,
 * FallbackResource, MultiViews): r is switched to url_path (decoded, from
 * the configuration or the file system), which is mapped, gets its own
 * merged directory configuration (its <Files> sections) and goes through
 * map_to_storage, check_user, access and fixups.  WEFT_OK: r is now that
 * request (previous holds what to put back with request_restore if the
 * caller does not want it after all, e.g. the file is missing); else r is
 * restored and the result is the status the lookup ended with, or
 * WEFT_DONE when a hook set up a whole response (a Redirect). */
int request_lookup(request *r, const char *url_path, request_mapping *previous);
void request_restore(request *r, const request_mapping *previous);
/* The content handlers, for a request request_lookup() switched. */
int request_run_handlers(request *r);

#endif

/* --- for the connection layer (connection.c) --- */

/* Prepares r for a new request on c, using pool p (already reset). */
void request_begin(request *r, connection *c, const server_config *server, pool *p);
/* The head has been parsed: map it, run the handlers, leave a response set
 * up in r (never fails: errors become error responses). */
void request_handle(request *r);
/* The modules' response_head hooks (Header, Expires...): the connection
 * layer calls it just before it serialises a head. */
void request_run_response_head(request *r);
/* The modules' log hooks: the connection layer calls it once the response
 * is finished. */
void request_run_log(request *r);
/* The head could not be parsed: set up the error response for status. */
void request_handle_parse_error(request *r, int status, const char *data, size_t length);
