/*
 * request_vars.c — a request's side of Apache's expression language
 * (core/expr.h): the values of %{HTTP_HOST}, %{REQUEST_URI}, ... for <If>,
 * Header expr= and Require expr.
 */
#include "request_vars.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/module.h"
#include "connection.h"

/* All fields of that name joined with ", ", as Apache's headers_in has
 * them (it merges repeated fields when it reads the head). */
static const char *header_variable(request *r, const char *field)
{
    if (!r->head)
        return NULL;
    size_t length = strlen(field);
    const char *joined = NULL;
    for (uint32_t i = 0; i < r->parser.field_count; i++) {
        const http_field *f = &r->parser.fields[i];
        if (f->name.length != length || strncasecmp(r->head + f->name.offset, field, length) != 0)
            continue;
        const char *value = r->head + f->value.offset;
        joined = joined ? pool_printf(r->pool, "%s, %.*s", joined, (int)f->value.length, value)
                        : pool_strndup(r->pool, value, f->value.length);
    }
    return joined;
}

const char *request_expr_variable(void *request_pointer, const char *name, pool *p)
{
    request *r = request_pointer;
    (void)p;
    if (strncmp(name, "HTTP:", 5) == 0)
        return header_variable(r, name + 5);
    if (strncmp(name, "ENV:", 4) == 0)
        return request_get_env(r, name + 4);  /* SetEnvIf, BrowserMatch, SetEnv (fixups) */
    if (strncmp(name, "HTTP_", 5) == 0) {
        /* the names expr.c accepts: HTTP_USER_AGENT -> User-Agent */
        char *field = pool_strdup(r->pool, name + 5);
        for (char *c = field; *c; c++)
            if (*c == '_')
                *c = '-';
        return header_variable(r, field);
    }
    const connection *c = r->connection;
    if (strcmp(name, "REQUEST_URI") == 0 || strcmp(name, "DOCUMENT_URI") == 0)
        return r->path;
    if (strcmp(name, "REQUEST_FILENAME") == 0 || strcmp(name, "SCRIPT_FILENAME") == 0)
        return r->file_path;
    if (strcmp(name, "QUERY_STRING") == 0)
        return r->query;
    if (strcmp(name, "REQUEST_METHOD") == 0)
        return r->method_name;
    if (strcmp(name, "THE_REQUEST") == 0)
        return r->request_line;
    if (strcmp(name, "REQUEST_SCHEME") == 0)
        return request_scheme(r);  /* https on TLS, else ServerName's scheme, else http */
    if (strcmp(name, "HTTPS") == 0)
        return connection_is_secure(c) ? "on" : "off";
    if (strcmp(name, "REMOTE_HOST") == 0) {
        /* Apache's REMOTE_NAME: the name HostnameLookups found, else the address */
        const char *host = request_remote_host(r);
        if (host)
            return host;
    }
    /* REMOTE_* is the client (mod_remoteip's, when it found one), CONN_ the peer. */
    if (strcmp(name, "REMOTE_ADDR") == 0 || strcmp(name, "REMOTE_HOST") == 0)
        return c ? request_client_address(r) : NULL;
    if (strcmp(name, "CONN_REMOTE_ADDR") == 0)
        return c ? connection_peer_address(c) : NULL;
    if (strcmp(name, "REMOTE_PORT") == 0)
        return c && request_client_port(r) > 0 ? pool_printf(r->pool, "%d", request_client_port(r)) : NULL;
    if (strcmp(name, "IPV6") == 0) {
        const char *address = c ? connection_peer_address(c) : NULL;
        return address && strchr(address, ':') ? "on" : "off";
    }
    if (strcmp(name, "REMOTE_USER") == 0)
        return r->user;
    /* As CGI sees them: UseCanonicalName decides (request.c). */
    if (strcmp(name, "SERVER_NAME") == 0)
        return request_server_name(r);
    if (strcmp(name, "SERVER_PORT") == 0)
        return pool_printf(r->pool, "%d", request_server_port(r));
    if (strcmp(name, "SERVER_PROTOCOL") == 0)
        return pool_printf(r->pool, "HTTP/%d.%d", r->version_major, r->version_minor);
    if (strcmp(name, "SERVER_SOFTWARE") == 0)
        return r->server->server_header;
    if (strcmp(name, "SERVER_ADMIN") == 0)
        return r->server->server_admin;
    if (strcmp(name, "DOCUMENT_ROOT") == 0)
        return r->server->document_root;
    if (strcmp(name, "IS_SUBREQ") == 0)
        return "false";
    if (strcmp(name, "CONTENT_TYPE") == 0)
        return r->content_type;
    if (strcmp(name, "HANDLER") == 0)
        return r->handler ? r->handler : r->dir ? r->dir->handler : NULL;
    if (strcmp(name, "REQUEST_STATUS") == 0)
        return pool_printf(r->pool, "%d", r->status ? r->status : 200);
    return request_module_variable(r, name);
}

const char *request_module_variable(request *r, const char *name)
{
    for (const module *const *m = weft_modules; *m; m++) {
        if (!(*m)->variable)
            continue;
        const char *value = (*m)->variable(r, name);
        if (value)
            return value;
    }
    return NULL;
}

void request_expr_context(request *r, expr_context *context)
{
    *context = (expr_context){ .variable = request_expr_variable, .request = r, .pool = r->pool };
}

bool request_expr_holds(request *r, const weft_expr *expr, const char *user)
{
    expr_context context;
    request_expr_context(r, &context);
    bool holds = expr_evaluate(expr, &context);
    if (context.error)
        log_message(LOG_LEVEL_ERROR, "%s: failed to evaluate the expression '%s': %s", user, expr_text(expr),
                    context.error);
    return holds;
}
