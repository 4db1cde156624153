/*
 * request.c — from a parsed request head to a response: validation of what
 * the parser leaves to us, mapping the target to a file, merging the
 * directory configuration, and running the handlers.
 */
#include "request.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/htaccess.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../core/vhost.h"
#include "connection.h"
#include "request_vars.h"
#include "response.h"
#include "uri.h"

static const char allowed_methods[] = "GET, HEAD, OPTIONS";

void request_begin(request *r, connection *c, const server_config *server, pool *p)
{
    memset(r, 0, sizeof(*r));
    r->pool = p;
    r->connection = c;
    r->server = server;
    r->dir = server->root_dir;
    r->body_file = -1;
    r->connection_requests = c->requests_served;
    clock_gettime(CLOCK_MONOTONIC, &r->start_time);
    r->start_seconds = time(NULL);
    http_limits limits = {
        .limit_request_line = (uint32_t)server->limit_request_line,
        .limit_request_field_size = (uint32_t)server->limit_request_field_size,
        .limit_request_fields = (uint32_t)server->limit_request_fields,
        .limit_request_head = (uint32_t)server->limit_request_head_size,
    };
    http_parser_init(&r->parser, &limits, p);
}

static char *span_copy(request *r, http_span span)
{
    return pool_strndup(r->pool, r->head + span.offset, span.length);
}

bool request_header_slice(const request *r, const char *name, slice *value)
{
    if (!r->head)
        return false;
    const http_field *field = http_find_field(&r->parser, r->head, name);
    if (!field)
        return false;
    value->data = r->head + field->value.offset;
    value->length = field->value.length;
    return true;
}

const char *request_header(request *r, const char *name)
{
    slice value;
    if (!request_header_slice(r, name, &value))
        return NULL;
    return pool_strndup(r->pool, value.data, value.length);
}

static request_env_entry *find_env(const request *r, const char *name)
{
    for (int i = 0; i < r->env_count; i++)
        if (strcasecmp(r->env[i].name, name) == 0)
            return &r->env[i];
    return NULL;
}

const char *request_get_env(const request *r, const char *name)
{
    const request_env_entry *entry = r->env_count ? find_env(r, name) : NULL;
    return entry ? entry->value : NULL;
}

void request_set_env(request *r, const char *name, const char *value)
{
    request_env_entry *entry = find_env(r, name);
    if (entry) {
        entry->value = pool_strdup(r->pool, value);
        return;
    }
    if (r->env_count == r->env_capacity) {
        int capacity = r->env_capacity ? r->env_capacity * 2 : 8;
        request_env_entry *bigger = pool_alloc(r->pool, sizeof(*bigger) * (size_t)capacity);
        if (r->env_count)
            memcpy(bigger, r->env, sizeof(*bigger) * (size_t)r->env_count);
        r->env = bigger;
        r->env_capacity = capacity;
    }
    r->env[r->env_count].name = pool_strdup(r->pool, name);
    r->env[r->env_count].value = pool_strdup(r->pool, value);
    r->env_count++;
}

void request_unset_env(request *r, const char *name)
{
    request_env_entry *entry = find_env(r, name);
    if (!entry)
        return;
    /* Order matters to CGI scripts only loosely; keep it anyway. */
    memmove(entry, entry + 1, sizeof(*entry) * (size_t)(r->env + r->env_count - entry - 1));
    r->env_count--;
}

/* RFC 9110 7.2: uri-host [ ":" port ], where uri-host is an IP-literal in
 * brackets, an IPv4 address or a reg-name.  Anything else would let a
 * client smuggle odd bytes into Location headers and logs. */
static bool host_is_valid(const char *host, size_t length)
{
    if (length == 0)
        return true;  /* allowed for HTTP/1.1 with an empty authority */
    size_t i = 0;
    if (host[0] == '[') {
        while (i < length && host[i] != ']') {
            char c = host[i];
            if (!(c == '[' || c == ':' || c == '.' || (c >= '0' && c <= '9') ||
                  (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                return false;
            i++;
        }
        if (i == length)
            return false;
        i++;
    } else {
        while (i < length && host[i] != ':') {
            char c = host[i];
            bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           strchr("-._~!$&'()*+,;=%", c) != NULL;
            if (!allowed)
                return false;
            i++;
        }
    }
    if (i == length)
        return true;
    if (host[i] != ':')
        return false;
    for (i++; i < length; i++)
        if (host[i] < '0' || host[i] > '9')
            return false;
    return true;
}

static int run_handlers(request *r)
{
    for (const module *const *m = weft_modules; *m; m++) {
        if (!(*m)->handler)
            continue;
        int rc = (*m)->handler(r);
        if (rc != WEFT_DECLINED)
            return rc;
    }
    if (r->dir->handler) {
        log_message(LOG_LEVEL_ERROR, "no handler for '%s' (SetHandler) at %s", r->dir->handler, r->path);
        return 500;
    }
    return 404;
}

static int map_path_and_run(request *r);

/* Name-based virtual hosts (core/vhost.h): the absolute-form target's host
 * wins over Host (RFC 9112 3.2.2).  Only called when there are vhosts. */
static void select_virtual_host(request *r, const char *absolute_host)
{
    const char *host = absolute_host;
    size_t length = host ? strlen(host) : 0;
    if (!host && r->parser.has_host) {
        host = r->head + r->parser.host.offset;
        length = r->parser.host.length;
    }
    const char *local_address = NULL;
    int local_port = 0;
    if (vhost_needs_local_address(r->server)) {
        local_address = connection_local_address(r->connection);
        local_port = connection_local_port(r->connection);
    }
    r->server = vhost_select(r->server, local_address, local_port, host, length);
    r->dir = r->server->root_dir;
}

/* Which hook of a module a phase runs. */
typedef enum { PHASE_POST_READ, PHASE_MAP_TO_STORAGE, PHASE_CHECK_USER, PHASE_ACCESS, PHASE_FIXUPS,
               PHASE_COUNT } phase;

static int (*phase_hook(const module *m, phase which))(request *)
{
    switch (which) {
    case PHASE_POST_READ: return m->post_read;
    case PHASE_MAP_TO_STORAGE: return m->map_to_storage;
    case PHASE_CHECK_USER: return m->check_user;
    case PHASE_ACCESS: return m->access;
    case PHASE_FIXUPS: return m->fixups;
    case PHASE_COUNT: break;
    }
    return NULL;
}

/* The hooks each phase runs, in module order, NULL-terminated: built once,
 * so that a request walks only the hooks that exist (most phases have
 * none or one) instead of every module for every phase. */
#define PHASE_HOOKS_MAX 64
static int (*phase_hooks[PHASE_COUNT][PHASE_HOOKS_MAX + 1])(request *);
static void (*response_head_hooks[PHASE_HOOKS_MAX + 1])(request *);
static void (*log_hooks[PHASE_HOOKS_MAX + 1])(request *);
static pthread_once_t phase_hooks_once = PTHREAD_ONCE_INIT;
static atomic_bool phase_hooks_ready;

static void collect_phase_hooks(void)
{
    for (int which = 0; which < PHASE_COUNT; which++) {
        int count = 0;
        for (const module *const *m = weft_modules; *m && count < PHASE_HOOKS_MAX; m++) {
            int (*hook)(request *) = phase_hook(*m, (phase)which);
            if (hook)
                phase_hooks[which][count++] = hook;
        }
        phase_hooks[which][count] = NULL;
    }
    int heads = 0, logs = 0;
    for (const module *const *m = weft_modules; *m && heads < PHASE_HOOKS_MAX && logs < PHASE_HOOKS_MAX; m++) {
        if ((*m)->response_head)
            response_head_hooks[heads++] = (*m)->response_head;
        if ((*m)->log)
            log_hooks[logs++] = (*m)->log;
    }
    response_head_hooks[heads] = NULL;
    log_hooks[logs] = NULL;
    atomic_store_explicit(&phase_hooks_ready, true, memory_order_release);
}

/* pthread_once costs a call per use; after the first, a load does. */
static inline void prepare_hooks(void)
{
    if (!atomic_load_explicit(&phase_hooks_ready, memory_order_acquire))
        pthread_once(&phase_hooks_once, collect_phase_hooks);
}

/* Runs one phase: its hooks in module order until one answers other than
 * WEFT_OK/WEFT_DECLINED (WEFT_DONE or a status); for check_user the first
 * WEFT_OK also ends it (the user is known).  Returns WEFT_OK to go on. */
static int run_phase(request *r, phase which)
{
    prepare_hooks();
    for (int (*const *hook)(request *) = phase_hooks[which]; *hook; hook++) {
        int rc = (*hook)(r);
        if (rc == WEFT_DECLINED)
            continue;
        if (rc == WEFT_OK) {
            if (which == PHASE_CHECK_USER)
                return WEFT_OK;
            continue;
        }
        return rc;
    }
    return WEFT_OK;
}

void request_run_response_head(request *r)
{
    prepare_hooks();
    for (void (*const *hook)(request *) = response_head_hooks; *hook; hook++)
        (*hook)(r);
}

void request_run_log(request *r)
{
    prepare_hooks();
    for (void (*const *hook)(request *) = log_hooks; *hook; hook++)
        (*hook)(r);
}

/* A failed request: the first error_response hook that answers it wins. */
static bool run_error_response(request *r, int status)
{
    for (const module *const *m = weft_modules; *m; m++)
        if ((*m)->error_response && (*m)->error_response(r, status) == WEFT_OK)
            return true;
    return false;
}

static int map_and_run(request *r)
{
    http_parser *parser = &r->parser;

    if (parser->method == HTTP_METHOD_UNKNOWN)
        return 501;

    char *absolute_host = NULL;
    int status = 400;
    if (uri_parse_target(r->pool, r->target, strlen(r->target), parser->method, &r->path, &r->query,
                         &absolute_host, &status) != WEFT_OK)
        return status;
    if (parser->has_host && !host_is_valid(r->head + parser->host.offset, parser->host.length))
        return 400;
    if (r->server->vhosts)
        select_virtual_host(r, absolute_host);

    if (parser->expect_other)
        return 417;

    if (parser->method == HTTP_METHOD_OPTIONS && strcmp(r->path, "*") == 0) {
        response_add_header(r, "Allow", allowed_methods);
        r->status = 200;
        return WEFT_OK;
    }
    if (r->path[0] != '/')
        return 400;
    int read = run_phase(r, PHASE_POST_READ);
    if (read == WEFT_DONE)
        return WEFT_OK;
    if (read != WEFT_OK)
        return read;
    return map_path_and_run(r);
}

/* URL-path to file: the modules' translate hooks (ScriptAlias, Alias...),
 * then DocumentRoot + path.  WEFT_OK, WEFT_DONE (a hook set up the whole
 * response) or an HTTP status. */
static int translate_path(request *r)
{
    for (const module *const *m = weft_modules; *m; m++) {
        if (!(*m)->translate)
            continue;
        int rc = (*m)->translate(r);
        if (rc != WEFT_DECLINED)
            return rc;
    }
    r->file_path = pool_printf(r->pool, "%s%s", r->server->document_root, r->path);
    return WEFT_OK;
}

/* The sections that apply to r->file_path and r->path, then the <If>
 * sections whose condition holds (Apache's if-walk after its location
 * walk): every place that merges a request's directory configuration
 * calls this. */
static int request_dir_config(request *r)
{
    expr_context conditions;
    request_expr_context(r, &conditions);
    const dir_config *dir;
    int rc = config_request_dir(r->server, r->file_path, r->path, &conditions, r->pool, &dir);
    if (rc == WEFT_OK)
        r->dir = dir;
    return rc;
}

/* map_to_storage, check_user, access, fixups: WEFT_OK, WEFT_DONE or a status. */
static int run_phases_before_handler(request *r)
{
    static const phase before_handler[] = { PHASE_MAP_TO_STORAGE, PHASE_CHECK_USER, PHASE_ACCESS, PHASE_FIXUPS };
    for (size_t i = 0; i < sizeof(before_handler) / sizeof(before_handler[0]); i++) {
        int rc = run_phase(r, before_handler[i]);
        if (rc != WEFT_OK)
            return rc;
    }
    return WEFT_OK;
}

/* From a decoded r->path to a response: mapping, the directory
 * configuration, the method checks, the handlers.  Also the second half
 * of request_internal_redirect(). */
static int map_path_and_run(request *r)
{
    http_parser *parser = &r->parser;

    int translated = translate_path(r);
    if (translated == WEFT_DONE)
        return WEFT_OK;
    if (translated != WEFT_OK)
        return translated;
    int checked = request_dir_config(r);
    if (checked == WEFT_OK)
        checked = run_phases_before_handler(r);
    if (checked == WEFT_DONE)
        return WEFT_OK;
    if (checked != WEFT_OK)
        return checked;

    int64_t limit = r->dir->limit_request_body;
    if (limit > 0 && parser->content_length > limit)
        return 413;

    switch (r->method) {
    case HTTP_METHOD_OPTIONS:
        response_add_header(r, "Allow", allowed_methods);
        r->status = 200;
        return WEFT_OK;
    case HTTP_METHOD_TRACE:
        break;  /* the trace module's handler answers it (405 when TraceEnable is Off) */
    case HTTP_METHOD_CONNECT:
        response_add_header(r, "Allow", allowed_methods);
        return 405;
    default:
        break;
    }
    return run_handlers(r);
}

void request_handle(request *r)
{
    http_parser *parser = &r->parser;
    r->method = parser->method;
    r->method_name = span_copy(r, parser->method_text);
    r->target = span_copy(r, parser->target);
    r->version_major = parser->version_major;
    r->version_minor = parser->version_minor;
    r->head_only = parser->method == HTTP_METHOD_HEAD;
    uint32_t line_length = parser->target.offset + parser->target.length + 9 - parser->method_text.offset;
    r->request_line = pool_strndup(r->pool, r->head + parser->method_text.offset, line_length);
    r->bytes_received = parser->head_length;

    int rc = map_and_run(r);
    if (rc == WEFT_OK) {
        if (r->status == 0)
            r->status = 200;
        return;
    }
    if (rc == WEFT_ERROR)
        rc = 500;
    if (rc < 300)
        rc = 500;
    if (rc >= 400 && run_error_response(r, rc))
        return;
    response_set_error(r, rc);
}

static int internal_redirect(request *r, const char *location, bool keep_method);

int request_internal_redirect(request *r, const char *location)
{
    return internal_redirect(r, location, false);
}

int request_internal_redirect_keep_method(request *r, const char *location)
{
    return internal_redirect(r, location, true);
}

static int internal_redirect(request *r, const char *location, bool keep_method)
{
    if (++r->internal_redirects > REQUEST_MAX_INTERNAL_REDIRECTS) {
        log_message(LOG_LEVEL_ERROR, "request exceeded the limit of %d internal redirects (%s); "
                    "the last went to %s", REQUEST_MAX_INTERNAL_REDIRECTS, r->request_line, location);
        return 500;
    }
    const char *question = strchr(location, '?');
    size_t path_length = question ? (size_t)(question - location) : strlen(location);
    char *path;
    int status = 500;
    if (location[0] != '/' || uri_normalize_path(r->pool, location, path_length, &path, &status) != WEFT_OK)
        return 500;  /* the handler's location, not the client's: a server error */

    r->redirect_url = r->path;
    r->redirect_query = r->query;
    r->redirect_kept_body = keep_method;
    r->path = path;
    r->query = question ? pool_strdup(r->pool, question + 1) : NULL;
    /* As Apache: the new request is a GET without a body; HEAD stays HEAD. */
    if (!keep_method && r->method != HTTP_METHOD_HEAD) {
        r->method = HTTP_METHOD_GET;
        r->method_name = "GET";
    }
    r->file_path = NULL;
    r->handler = NULL;
    r->status = 0;
    r->header_count = 0;
    r->content_type = NULL;
    if (r->body_file >= 0) {
        close(r->body_file);
        r->body_file = -1;
    }
    r->body = BODY_NONE;
    r->body_length = 0;
    r->last_modified = 0;
    r->etag = NULL;
    return map_path_and_run(r);
}

char *request_map_path(request *r, const char *url_path)
{
    /* A hook may set up a whole response (a Redirect): undo everything. */
    request saved = *r;
    r->path = (char *)url_path;
    char *result = translate_path(r) == WEFT_OK ? r->file_path : NULL;
    *r = saved;
    return result;
}

/* ---- self-referential URLs ------------------------------------------ */

/* ServerName split into its parts: "[scheme://]host[:port]". */
typedef struct {
    slice scheme;
    slice host;
    int port;
} server_name_parts;

static server_name_parts split_server_name(const char *name)
{
    server_name_parts parts = { { NULL, 0 }, { NULL, 0 }, 0 };
    if (!name || !*name)
        return parts;
    const char *separator = strstr(name, "://");
    if (separator) {
        parts.scheme = (slice){ name, (size_t)(separator - name) };
        name = separator + 3;
    }
    const char *end = name + strlen(name);
    const char *colon = name[0] == '[' ? strchr(name, ']') : name;
    colon = colon ? strchr(colon, ':') : NULL;
    if (colon) {
        parts.port = atoi(colon + 1);  /* 1..65535: checked when ServerName was read */
        end = colon;
    }
    parts.host = (slice){ name, (size_t)(end - name) };
    return parts;
}

const char *request_scheme(request *r)
{
    /* mod_ssl's http_scheme hook: a TLS connection is https whatever
     * ServerName says (which still decides for a TLS-terminating proxy). */
    if (connection_is_secure(r->connection))
        return "https";
    server_name_parts parts = split_server_name(r->server->server_name);
    if (parts.scheme.length)
        return pool_strndup(r->pool, parts.scheme.data, parts.scheme.length);
    return "http";
}

/* The Host field's host and port (0 if none). */
static bool client_host(request *r, slice *host, int *port)
{
    slice field;
    *port = 0;
    if (!request_header_slice(r, "Host", &field) || field.length == 0)
        return false;
    size_t length = field.length;
    const char *close = field.data[0] == '[' ? memchr(field.data, ']', field.length) : field.data;
    const char *colon = close ? memchr(close, ':', field.length - (size_t)(close - field.data)) : NULL;
    if (colon) {
        length = (size_t)(colon - field.data);
        /* Digits only (host_is_valid); a port past 65535 is none. */
        for (const char *c = colon + 1; c < field.data + field.length && *port <= 65535; c++)
            *port = *port * 10 + (*c - '0');
        if (*port > 65535)
            *port = 0;
    }
    *host = (slice){ field.data, length };
    return length > 0;
}

const char *request_server_name(request *r)
{
    int mode = r->dir->use_canonical_name;
    slice host;
    int port;
    if (mode == CANONICAL_NAME_OFF && client_host(r, &host, &port)) {
        char *lower = pool_strndup(r->pool, host.data, host.length);  /* as Apache's r->hostname */
        for (char *c = lower; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        return lower;
    }
    server_name_parts parts = split_server_name(r->server->server_name);
    if (mode != CANONICAL_NAME_DNS && parts.host.length)
        return pool_strndup(r->pool, parts.host.data, parts.host.length);
    if (!r->connection)
        return "localhost";
    /* An address as a URL's host: an IPv6 one in brackets. */
    const char *local = connection_local_address(r->connection);
    return strchr(local, ':') ? pool_printf(r->pool, "[%s]", local) : local;
}

int request_server_port(request *r)
{
    /* Apache's ap_get_server_port with UseCanonicalPhysicalPort Off (its
     * default): the Host field's port (Off, DNS), else ServerName's, else
     * the scheme's default; never the port the connection came in on. */
    int mode = r->dir->use_canonical_name;
    slice host;
    int port = 0;
    if (mode != CANONICAL_NAME_ON && client_host(r, &host, &port) && port)
        return port;
    server_name_parts parts = split_server_name(r->server->server_name);
    if (parts.port)
        return parts.port;
    return strcasecmp(request_scheme(r), "https") == 0 ? 443 : 80;
}

char *request_self_url(request *r, const char *path)
{
    const char *scheme = request_scheme(r);
    int port = request_server_port(r);
    int default_port = strcasecmp(scheme, "https") == 0 ? 443 : strcasecmp(scheme, "http") == 0 ? 80 : 0;
    if (port == default_port || port == 0)
        return pool_printf(r->pool, "%s://%s%s", scheme, request_server_name(r), path);
    return pool_printf(r->pool, "%s://%s:%d%s", scheme, request_server_name(r), port, path);
}

int request_run_handlers(request *r)
{
    r->switched_handlers++;
    int rc = run_handlers(r);
    r->switched_handlers--;
    return rc;
}

void request_restore(request *r, const request_mapping *previous)
{
    r->path = previous->path;
    r->file_path = previous->file_path;
    r->dir = previous->dir;
    r->handler = previous->handler;
    r->content_type = previous->content_type;
    r->env = previous->env;
    r->env_count = r->env_capacity = previous->env_count;
    r->version_minor = previous->version_minor;
    r->keep_alive = previous->keep_alive;
}

int request_lookup(request *r, const char *url_path, request_mapping *previous)
{
    *previous = (request_mapping){ .path = r->path, .file_path = r->file_path, .dir = r->dir, .handler = r->handler,
                                   .content_type = r->content_type, .env_count = r->env_count,
                                   .version_minor = r->version_minor, .keep_alive = r->keep_alive };
    if (r->env_count) {
        previous->env = pool_alloc(r->pool, sizeof(*previous->env) * (size_t)r->env_count);
        memcpy(previous->env, r->env, sizeof(*previous->env) * (size_t)r->env_count);
    }
    /* A DirectoryIndex naming a directory whose index names the first... */
    if (r->lookup_depth + r->switched_handlers + r->internal_redirects >= REQUEST_MAX_INTERNAL_REDIRECTS) {
        log_message(LOG_LEVEL_ERROR, "request exceeded the limit of %d nested lookups (%s); the last was %s",
                    REQUEST_MAX_INTERNAL_REDIRECTS, r->request_line, url_path);
        return 500;
    }
    /* Names from the configuration or the file system ("../x" in a type
     * map) are normalised as a client's path would be: no dot segments. */
    char *normalized;
    int status = 404;
    const char *escaped = url_path[0] == '/' ? uri_escape_path(r->pool, url_path) : NULL;
    if (!escaped || uri_normalize_path(r->pool, escaped, strlen(escaped), &normalized, &status) != WEFT_OK)
        return 404;
    r->lookup_depth++;
    r->path = normalized;
    r->file_path = NULL;
    r->handler = NULL;
    r->content_type = NULL;
    int rc = translate_path(r);
    if (rc == WEFT_OK) {
        rc = request_dir_config(r);  /* <If> sections too: an index file is checked as any file */
        if (rc == WEFT_OK)
            rc = run_phases_before_handler(r);
    }
    r->lookup_depth--;
    if (rc != WEFT_OK)
        request_restore(r, previous);
    return rc;
}

void request_handle_parse_error(request *r, int status, const char *data, size_t length)
{
    /* Log what we can of the first line, as Apache does. */
    size_t line = 0;
    while (line < length && line < 1024 && data[line] != '\r' && data[line] != '\n')
        line++;
    r->request_line = pool_strndup(r->pool, data, line);
    r->method_name = "-";
    r->version_major = 1;
    r->version_minor = 1;
    r->path = "-";
    r->bytes_received = length;
    response_set_error(r, status);
}
