/*
 * error_document.c — ErrorDocument: the directive and serving the
 * document when request.c is about to answer with an error (see
 * error_document.h).
 */
#include "error_document.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/expr.h"
#include "../core/log.h"
#include "../http/request_vars.h"
#include "../http/response.h"

typedef struct {
    error_document *error_documents;  /* the most specific section's first */
} error_document_dir_config;

error_document_kind error_document_classify(const char *value)
{
    if (strchr(value, ' '))
        return ERROR_DOCUMENT_TEXT;
    if (value[0] == '/')
        return ERROR_DOCUMENT_LOCAL;
    /* Apache's ap_is_url: a scheme, then ':'. */
    const char *c = value;
    if (isalpha((unsigned char)*c)) {
        while (isalnum((unsigned char)*c) || *c == '+' || *c == '-' || *c == '.')
            c++;
        if (*c == ':')
            return ERROR_DOCUMENT_REDIRECT;
    }
    return ERROR_DOCUMENT_TEXT;
}

static int set_error_document(config_parse *parse, const config_directive *d, void *target, int argc,
                              char **argv)
{
    const char *code = argv[0];
    int status = 0;
    for (const char *c = code; *c && status < 1000; c++)
        status = isdigit((unsigned char)*c) ? status * 10 + (*c - '0') : 1000;
    if (strlen(code) != 3 || status < 400 || status > 599)
        return config_error(parse, "ErrorDocument takes an error status from 400 to 599, not '%s'", code);

    error_document *entry = pool_calloc(config_pool(parse), sizeof(*entry));
    entry->status = status;
    entry->kind = strcasecmp(argv[1], "default") == 0 ? ERROR_DOCUMENT_DEFAULT
                                                      : error_document_classify(argv[1]);
    entry->value = pool_strdup(config_pool(parse), argv[1]);
    if (strstr(argv[1], "%{")) {
        /* Apache (2.4.13+) reads the value as a string expression */
        char reason[512];
        entry->expression = expr_parse_string(config_pool(parse), argv[1], reason, sizeof(reason));
        if (!entry->expression)
            return config_error(parse, "Cannot parse expression in ErrorDocument: %s", reason);
    }
    if (entry->kind == ERROR_DOCUMENT_REDIRECT && status == 401) {
        /* A redirect would drop WWW-Authenticate: Apache ignores it too. */
        config_warning(parse, "ErrorDocument 401 cannot be a full URL (the browser would never ask "
                              "for a password): ignored");
        return WEFT_OK;
    }
    /* Newest first, so a later line for the same status wins. */
    entry->next = *(error_document **)target;
    *(error_document **)target = entry;
    return WEFT_OK;
}

/* A section's entries go in front of the inherited ones (copied into p:
 * the configuration is read-only). */
static void merge_error_documents(void *merged, const void *child, pool *p)
{
    error_document *copies = NULL, **tail = &copies;
    for (const error_document *e = *(error_document *const *)child; e; e = e->next) {
        *tail = pool_alloc(p, sizeof(**tail));
        **tail = *e;
        tail = &(*tail)->next;
    }
    *tail = *(error_document **)merged;
    *(error_document **)merged = copies;
}

static const error_document *find_document(const dir_config *dir, int status)
{
    const error_document_dir_config *config = module_dir_config(dir, &error_document_module);
    for (const error_document *e = config->error_documents; e; e = e->next)
        if (e->status == status)
            return e;
    return NULL;
}

/* The local form: an internal GET of the document's URL-path, answered
 * with the original status.  The request keeps its own URL, method and
 * file for the logs. */
static const char *document_value(request *r, const error_document *document)
{
    if (!document->expression)
        return document->value;
    expr_context context;
    request_expr_context(r, &context);
    return expr_evaluate_string(document->expression, &context);
}

static int serve_local(request *r, const error_document *document, int status)
{
    const char *value = document_value(r, document);
    char *path = r->path, *query = r->query, *file_path = r->file_path;
    http_method method = r->method;
    char *method_name = r->method_name;

    /* What was added before the error (WWW-Authenticate with a 401, Allow
     * with a 405, Retry-After) stays on the document's response, as
     * Apache's err_headers_out across the redirect. */
    int kept_count = r->header_count;
    response_header *kept = kept_count ? pool_alloc(r->pool, sizeof(*kept) * (size_t)kept_count) : NULL;
    if (kept_count)
        memcpy(kept, r->headers, sizeof(*kept) * (size_t)kept_count);

    r->error_status = status;
    int rc = request_internal_redirect(r, value);
    bool served = rc == WEFT_OK && (r->status == 0 || r->status == 200);
    r->path = path;
    r->query = query;
    r->file_path = file_path;
    r->method = method;
    r->method_name = method_name;
    if (!served) {
        log_message(LOG_LEVEL_ERROR, "ErrorDocument %d %s could not be served (%d): answering %d with "
                    "the built-in page", status, value, rc == WEFT_OK ? r->status : rc, status);
        r->header_count = 0;
        for (int i = 0; i < kept_count; i++)
            response_add_header(r, kept[i].name, kept[i].value);
        return WEFT_DECLINED;
    }
    r->status = status;
    for (int i = 0; i < kept_count; i++)
        response_add_header(r, kept[i].name, kept[i].value);
    /* An error is never conditional: no validators of the document. */
    r->etag = NULL;
    r->last_modified = 0;
    return WEFT_OK;
}

int error_document_serve(request *r, int status)
{
    const error_document *document = find_document(r->dir, status);
    if (!document || document->kind == ERROR_DOCUMENT_DEFAULT || r->error_status)
        return WEFT_DECLINED;
    switch (document->kind) {
    case ERROR_DOCUMENT_TEXT: {
        const char *value = document_value(r, document);
        response_set_error(r, status);  /* status, content type; the body is replaced */
        response_set_body_memory(r, value, strlen(value));
        return WEFT_OK;
    }
    case ERROR_DOCUMENT_REDIRECT:
        return response_set_redirect(r, 302, document_value(r, document));
    case ERROR_DOCUMENT_LOCAL:
        return serve_local(r, document, status);
    case ERROR_DOCUMENT_DEFAULT:
        break;
    }
    return WEFT_DECLINED;
}

/* DUMP_CONFIG: oldest first, as they were written. */
static void format_error_documents(FILE *out, const config_directive *d, const void *base)
{
    const error_document *entries[256];
    int count = 0;
    for (const error_document *e = *(error_document *const *)((const char *)base + d->offset);
         e && count < (int)COUNT_OF(entries); e = e->next)
        entries[count++] = e;
    while (count-- > 0) {
        char status[8];
        snprintf(status, sizeof(status), "%d", entries[count]->status);
        const char *argv[] = { status, entries[count]->kind == ERROR_DOCUMENT_DEFAULT ? "default"
                                                                                      : entries[count]->value };
        config_dump_line(out, d, 2, argv);
    }
}

static const config_directive error_document_directives[] = {
    { .name = "ErrorDocument", .contexts = CONTEXT_ANYWHERE, .scope = SCOPE_DIRECTORY,
      .offset = offsetof(error_document_dir_config, error_documents), .size = sizeof(error_document *), .min_args = 2,
      .max_args = 2, .set = set_error_document, .merge = merge_error_documents, .format = format_error_documents,
      .syntax = "4xx|5xx /local/path|URL|\"text\"|default",
      .help = "what to answer instead of the built-in page for an error status", .overrides = OVERRIDE_FILEINFO },
    { .name = NULL },
};

const module error_document_module = {
    .name = "error_document",
    .directives = error_document_directives,
    .dir_config_size = sizeof(error_document_dir_config),
    .error_response = error_document_serve,
};
