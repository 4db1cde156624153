/*
 * error_document.h — ErrorDocument (Apache core's directive), for 4xx and
 * 5xx statuses:
 *   ErrorDocument 404 /errors/404.html   a local URL-path: served by an internal
 *                                        GET sub-request (the same mapping,
 *                                        access checks and handlers), the status
 *                                        kept; one level only
 *   ErrorDocument 500 http://host/oops   an external URL: 302 to it (only the
 *                                        Location says what went wrong)
 *   ErrorDocument 403 "Go away"          the text, as text/html
 *   ErrorDocument 404 default            the built-in page again
 * Apache's heuristic decides the form: a space makes it text, a leading '/'
 * a path, "scheme:" a URL, anything else text.  Allowed everywhere; a
 * section's entries win over inherited ones for the same status.
 */
#ifndef WEFT_MODULES_ERROR_DOCUMENT_H
#define WEFT_MODULES_ERROR_DOCUMENT_H

#include "../core/module.h"
#include "../http/request.h"

extern const module error_document_module;

/* ErrorDocument status value: what answers an error (this module serves it). */
typedef enum {
    ERROR_DOCUMENT_DEFAULT,   /* "default": the built-in page, cancelling an inherited one */
    ERROR_DOCUMENT_LOCAL,     /* a local URL-path, served by an internal GET sub-request */
    ERROR_DOCUMENT_REDIRECT,  /* an external URL: 302 to it */
    ERROR_DOCUMENT_TEXT,      /* the text itself, as text/html */
} error_document_kind;

typedef struct error_document {
    struct error_document *next;
    int status;
    error_document_kind kind;
    char *value;
    const struct weft_expr *expression;  /* value has %{...}: Apache's string expression */
} error_document;

/* Which form an ErrorDocument value takes (without "default"). */
error_document_kind error_document_classify(const char *value);

/* Answers r with the ErrorDocument configured for status in r->dir:
 * WEFT_OK when the response is set up, WEFT_DECLINED when the built-in
 * page should be used (none configured, "default", inside an error
 * document already, or the local document failed). */
int error_document_serve(request *r, int status);

#endif
