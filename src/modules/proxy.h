/*
 * proxy.h — mod_proxy's parts (internal to src/modules/proxy*.c).
 *
 *   proxy.c        directives (ProxyPass, ProxyTimeout, ProxyRequests), which
 *                  requests go to a backend, backend addresses, connecting
 *   proxy_exchange.c  what the FastCGI and HTTP exchanges share: sending,
 *                  reading, the request body, timeouts
 *   proxy_fcgi.c   the FastCGI exchange (mod_proxy_fcgi) over http/backend.h
 *   proxy_http.c   the HTTP exchange (mod_proxy_http)
 *   fastcgi.c      FastCGI records
 *
 * docs/proxy.md describes the behaviour and what is not built yet.
 */
#ifndef WEFT_MODULES_PROXY_H
#define WEFT_MODULES_PROXY_H

#include <sys/socket.h>

#include "../core/buffer.h"
#include "../core/module.h"
#include "../http/backend.h"
#include "../http/request.h"

/* Where a backend is: a unix socket or an IP address and port. */
typedef struct {
    struct sockaddr_storage address;
    socklen_t address_length;
    char *text;            /* for messages: "unix:/run/php/php8.2-fpm.sock", "127.0.0.1:9000" */
} proxy_address;

/* One ProxyPass: requests whose path starts with prefix go to url's
 * backend, the rest of the path appended to url's path. */
typedef struct proxy_rule {
    struct proxy_rule *next;
    char *prefix;
    bool exclude;          /* ProxyPass /path ! */
    char *scheme;          /* "fcgi", "http" */
    proxy_address backend;
    char *path;            /* the URL's path ("" when none) */
    char *url;             /* as written (ProxyPassReverse compares with it) */
    char *authority;       /* host[:port] as written: the backend's Host */
} proxy_rule;

typedef struct {
    proxy_rule *rules;     /* this section's first, then the enclosing ones' */
    int timeout_ms;        /* ProxyTimeout; 0 = Timeout */
    int requests;          /* ProxyRequests: 0 unset, 1 Off */
    int status;            /* ProxyStatus: 0 unset, 1 Off, 2 On, 3 Full */
    proxy_rule *reverse;   /* ProxyPassReverse, this section's first */
    int preserve_host;     /* ProxyPreserveHost: 0 unset, 1 Off, 2 On */
    int add_headers;       /* ProxyAddHeaders: 0 unset (On), 1 Off, 2 On */
} proxy_dir_config;

extern const module proxy_module;
extern const module proxy_fcgi_module;
extern const module proxy_http_module;

static inline const proxy_dir_config *proxy_dir_settings(const dir_config *dir)
{
    return module_dir_config(dir, &proxy_module);
}

/* What the proxy handler decided for a request. */
typedef struct {
    proxy_address backend;
    char *script_filename; /* SCRIPT_FILENAME */
    char *script_name;     /* SCRIPT_NAME */
    char *path_info;       /* "" when none */
    int timeout_ms;        /* ProxyTimeout, else Timeout */
    const proxy_rule *rule; /* ProxyPass's, NULL for SetHandler */
} proxy_target;

/* Parses "unix:/path|fcgi://host/...", "fcgi://host:port/..." into the
 * address (IP literals, localhost, or a name resolved now: blocking) and
 * the URL's path.  NULL on success, else why not. */
const char *proxy_parse_url(pool *p, const char *url, char **scheme, proxy_address *address, char **path);

/* Starts a non-blocking connection to address: the socket, or -1 with
 * errno (EINPROGRESS is not an error: the socket is returned). */
int proxy_connect(const proxy_address *address);

/* Hop-by-hop fields (RFC 9110 7.6.1) and those weft sends itself (Date,
 * Server): never passed on from a backend's head. */
bool proxy_field_is_ours(const char *name, size_t length);
/* A header value: no control characters but HTAB (a CR inside a value is
 * header injection). */
bool proxy_value_is_clean(const char *value, size_t length);

/* ---- proxy_exchange.c ---------------------------------------------------------- */

typedef enum {
    PROXY_STATE_CONNECTING,
    PROXY_STATE_SENDING,
    PROXY_STATE_HEAD,
    PROXY_STATE_BODY,
    PROXY_STATE_DONE
} proxy_state;

/* The first member of proxy_fcgi.c's and proxy_http.c's exchange: one
 * request's conversation with its backend, as far as it does not depend on
 * the protocol spoken. */
typedef struct {
    request *r;
    request_backend *b;
    const char *module_name;   /* for messages: "proxy_fcgi" */
    const char *peer_name;     /* for messages: "the FastCGI server" */
    const char *backend_text;  /* for messages: the backend's address */
    int fd;                    /* -1 once closed */
    int timeout_ms;            /* ProxyTimeout, else Timeout */
    proxy_state state;
    buffer out;                /* the request not sent yet */
    size_t out_sent;
    bool body_left;            /* request body still to read from the client */
    buffer in;                 /* bytes from the backend */
    size_t in_used;
    bool response_started;     /* a byte of the response arrived */
} proxy_exchange;

/* Adds a piece of the request body to x->out in the backend's framing;
 * length 0 is the body's end. */
typedef void proxy_body_framer(proxy_exchange *x, const char *data, size_t length);
/* Ends the exchange with an error page (before the head only); returns
 * what the run returns. */
typedef int proxy_error_answer(proxy_exchange *x, int status, const char *what, int error);

/* Before anything else on x (zeroed): who it is for and whom it talks to. */
void proxy_exchange_init(proxy_exchange *x, request *r, const proxy_target *target, const char *module_name,
                         const char *peer_name);
/* Logs a failure of the exchange: what, the backend, errno's text when
 * error is not 0, the request's path. */
void proxy_exchange_log(proxy_exchange *x, const char *what, int error);
void proxy_exchange_close(proxy_exchange *x);
/* The backend did something: ProxyTimeout starts again. */
void proxy_exchange_progress(proxy_exchange *x);
/* Logs, closes the connection and answers status (before the head only).
 * Returns WEFT_OK, what the run returns then. */
int proxy_exchange_answer_error(proxy_exchange *x, int status, const char *what, int error);
/* After a non-blocking connect: 0 once connected (or still connecting: a
 * send then says so), else the connection's errno. */
int proxy_exchange_connect_error(proxy_exchange *x);
/* The sending state's step: sends what is queued, then the body's next
 * piece; with all sent, the state becomes PROXY_STATE_HEAD.  WEFT_OK: the
 * run goes on; WEFT_DONE: the run returns *result (waiting, or an error
 * page); WEFT_ERROR: a send failed, errno says why (the caller answers or
 * retries). */
int proxy_exchange_send(proxy_exchange *x, proxy_body_framer *frame, int *result);
/* Reads more of the backend's output into in.  WEFT_OK: some arrived;
 * WEFT_AGAIN: nothing yet (the event loop is asked to wait for it);
 * WEFT_DONE: the backend closed; WEFT_ERROR with errno. */
int proxy_exchange_fill(proxy_exchange *x);
/* The backend type's expire: ProxyTimeout passed without progress, or
 * Timeout while the client's body came.  answer is the module's way of
 * answering an error before the head. */
void proxy_exchange_expire(proxy_exchange *x, proxy_error_answer *answer);
/* Frees the buffers and closes the connection (a pool cleanup's part). */
void proxy_exchange_free(proxy_exchange *x);

/* proxy_http.c: attaches the HTTP exchange to r. */
int proxy_http_start(request *r, const proxy_target *target);

/* proxy_fcgi.c: attaches the FastCGI exchange to r.  Returns what a
 * handler returns. */
int proxy_fcgi_start(request *r, const proxy_target *target);

#endif
