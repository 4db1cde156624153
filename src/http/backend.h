/*
 * backend.h — a request served by another server (a FastCGI application,
 * an HTTP origin) without a thread waiting for it.
 *
 * A handler that talks to a backend does not do the exchange itself: it
 * opens a non-blocking socket, attaches a request_backend to the request
 * (request_backend_attach) and returns WEFT_OK.  The connection layer then
 * drives the exchange from the child's event loop:
 *
 *   PHASE_BACKEND   run() is called until the backend's response head is
 *                   known.  It sends the request (and its body, read with
 *                   request_body_try_read), reads and parses the answer, and
 *                   returns
 *                     WEFT_AGAIN  it cannot go on now: it set b->wants (what
 *                                 it waits for on b->fd, after that call said
 *                                 EAGAIN: the registration is edge-triggered)
 *                                 and b->deadline_ms;
 *                     WEFT_OK     r's response is set up (status, headers,
 *                                 content_type) with a body that is either
 *                                 complete (an error page: BODY_MEMORY...) or
 *                                 BODY_PULL (below).
 *                   While it waits, the connection is parked
 *                   (CONNECTION_WAIT_BACKEND): the event loop watches b->fd
 *                   for b->wants and the client's socket for input, and
 *                   runs the connection again on a worker thread when either
 *                   is ready.  run() is also called after an event that was
 *                   not its own: it must try again and tolerate EAGAIN.
 *   BODY_PULL       the response body is pulled by the connection's write
 *                   loop only when the client's socket has taken the bytes
 *                   before: pull() hands out the next bytes (WEFT_OK, valid
 *                   until the next call), WEFT_DONE at the end (no bytes),
 *                   WEFT_AGAIN with b->wants set (the connection parks until
 *                   the backend is readable: back-pressure both ways, since
 *                   a full client socket parks it for output and the backend
 *                   is not read meanwhile), or WEFT_ERROR (the backend broke
 *                   off: the connection is closed, the client sees a
 *                   truncated body).  r->body_length is the body's length
 *                   when the backend announced one (Content-Length), -1
 *                   otherwise (chunked to HTTP/1.1 clients, close-delimited
 *                   to HTTP/1.0 ones).
 *   deadline        when b->deadline_ms passes while the connection is
 *                   parked for the backend, expire() is called once: before
 *                   the head it sets up the error response (504) and the
 *                   connection sends it; after the head the connection is
 *                   closed.
 *   the client      a client that goes away (its end of stream or an error
 *                   reported while the connection waits for the backend)
 *                   ends the exchange: abort semantics are the pool
 *                   cleanup's (below), r->aborted is set.
 *   cleanup         the module registers a cleanup on r->pool: it runs when
 *                   the request is finished (completed or not) and closes or
 *                   pools the backend socket.  The event loop does not use
 *                   b->fd itself, only a duplicate of it, so the module may
 *                   close it whenever it likes; it sets b->fd (and calls
 *                   request_backend_set_fd) when it changes sockets.
 *
 * Everything runs on the request's thread of the moment; one thread at a
 * time.  src/http knows nothing of the protocols: mod_proxy_fcgi and
 * mod_proxy_http (src/modules) implement the type.
 */
#ifndef WEFT_HTTP_BACKEND_H
#define WEFT_HTTP_BACKEND_H

#include <stdint.h>

#include "request.h"

enum { BACKEND_WANTS_READ = 1, BACKEND_WANTS_WRITE = 2 };

typedef struct request_backend request_backend;

typedef struct request_backend_type {
    const char *name;  /* "fcgi", "http": for messages */
    int (*run)(request *r, request_backend *b);
    int (*pull)(request *r, request_backend *b, const char **data, size_t *length);
    void (*expire)(request *r, request_backend *b);
} request_backend_type;

struct request_backend {
    const request_backend_type *type;
    void *context;          /* the module's */
    int fd;                 /* the socket the event loop watches; -1: none */
    unsigned wants;         /* BACKEND_WANTS_* on fd */
    int64_t deadline_ms;    /* CLOCK_MONOTONIC; INT64_MAX: none (Timeout still bounds the client side) */
    bool head_done;         /* run() returned WEFT_OK */
    bool expired;           /* expire() was called */
};

/* Attaches a backend to r (allocated in r->pool) and returns it; the
 * handler then returns WEFT_OK.  fd may be -1 and set later. */
request_backend *request_backend_attach(request *r, const request_backend_type *type, void *context, int fd);
/* The backend's socket changed (a new connection after a refused one). */
void request_backend_set_fd(request *r, int fd);

#endif
