/*
 * proxy.h — mod_proxy's parts (internal to src/modules/proxy*.c).
 *
 *   proxy.c        directives (ProxyPass, ProxyTimeout, ProxyRequests), which
 *                  requests go to a backend, backend addresses, connecting
 *   proxy_fcgi.c   the FastCGI exchange (mod_proxy_fcgi) over http/backend.h
 *   fastcgi.c      FastCGI records
 *
 * docs/proxy.md describes the behaviour and what is not built yet.
 */
#ifndef WEFT_MODULES_PROXY_H
#define WEFT_MODULES_PROXY_H

#include <sys/socket.h>

#include "../core/module.h"
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
/* An RFC 9110 token (a field name). */
bool proxy_is_token(const char *text, size_t length);
/* A header value: no control characters but HTAB (a CR inside a value is
 * header injection). */
bool proxy_value_is_clean(const char *value, size_t length);

/* proxy_http.c: attaches the HTTP exchange to r. */
int proxy_http_start(request *r, const proxy_target *target);

/* proxy_fcgi.c: attaches the FastCGI exchange to r.  Returns what a
 * handler returns. */
int proxy_fcgi_start(request *r, const proxy_target *target);

#endif
