/*
 * connection.h — the HTTP/1.1 protocol state machine of one connection.
 *
 * connection_run() advances a connection as far as it can without blocking:
 * it reads and parses requests, runs handlers, writes responses, drains
 * unread request bodies and decides about keep-alive.  It never waits: when
 * the socket would block it returns what the connection is waiting for, and
 * the caller (the child's event loop, mpm/child.c) parks the connection in
 * its epoll set until then or until the deadline it sets.  So a connection
 * that is idle between requests, or a slow client, holds no thread.
 *
 * A connection is run by one thread at a time; the caller guarantees it.
 *
 * Input readiness (nginx's rev->ready).  The event loop's registration is
 * edge-triggered: it reports bytes that arrive, never bytes that are
 * already queued.  So the connection remembers whether its socket may still
 * hold unread input (read_ready) and returns a wait for input only when it
 * does not: after a read said EAGAIN, or after a short read (fewer bytes
 * than asked: on a stream socket the receive queue was empty at that
 * moment, and anything arriving later raises a new edge).  A read that
 * filled the buffer proves nothing, so read_ready stays set and the next
 * wait for input reads again first.  The event loop sets it again
 * (connection_input_ready) whenever it delivers an event for the
 * connection.  As nginx does with EPOLLRDHUP, an end of stream the event
 * loop has already reported keeps read_ready set through short reads: the
 * FIN sits behind the data, raises no further edge, and only a read that
 * returns 0 consumes it.
 */
#ifndef WEFT_HTTP_CONNECTION_H
#define WEFT_HTTP_CONNECTION_H

#include <errno.h>
#include <netinet/in.h>

#include "../core/budget.h"
#include "../core/buffer.h"
#include "../mpm/scoreboard.h"
#include "request.h"

typedef enum {
    CONNECTION_WAIT_REQUEST,   /* idle between requests: wait for input, KeepAliveTimeout */
    CONNECTION_WAIT_READ,      /* inside a request head or body: wait for input, Timeout */
    CONNECTION_WAIT_WRITE,     /* response pending: wait for the socket to drain, Timeout */
    CONNECTION_WAIT_LINGER,    /* closing: our side is shut, discard input until EOF */
    CONNECTION_WAIT_BACKEND,   /* a backend (backend.h): wait for its socket (connection_backend_wait)
                                * or the client's input, until its deadline */
    CONNECTION_CLOSE,          /* finished: close now */
} connection_wait;

typedef enum {
    PHASE_READ_HEAD,
    PHASE_WRITE,
    PHASE_DISCARD_BODY,
    PHASE_LINGER,
    PHASE_BACKEND,   /* a backend is preparing the response (backend.h) */
} connection_phase;

/* Per-thread context the connection layer needs from the MPM. */
typedef struct connection_worker {
    scoreboard_thread *score;      /* this thread's scoreboard entry (may be NULL in tests) */
    bool stopping;                 /* the child is stopping: finish with Connection: close */
} connection_worker;

/*
 * Protocol hook: a module that speaks another protocol on the connection
 * (HTTP/2) provides one of these in its module row (module.h `protocol`).
 * The connection layer offers it the connection
 *   - when the I/O layer negotiated it: a TLS module calls
 *     connection_offer_protocol(c, NULL, c->io->protocol(c)) after the
 *     handshake (ALPN "h2");
 *   - when a request asks for it with "Upgrade: NAME" (h2c), after its head
 *     is parsed and before anything else happens to it: take() gets that
 *     request; a protocol that takes it answers "101 Switching Protocols"
 *     itself and serves the request as its first stream.
 * Once taken, connection_run() hands every call to run(), which has the
 * same contract (never blocks, returns what the connection waits for); the
 * MPM does not know the difference.  Without any such module, HTTP/1.1
 * pays one branch per request.
 */
typedef struct connection_protocol {
    const char *name;  /* ALPN protocol id / Upgrade token: "h2", "h2c" */
    /* WEFT_OK: taken; WEFT_DECLINED: HTTP/1.1 goes on. */
    int (*take)(connection *c, request *r);
    connection_wait (*run)(connection *c, const struct connection_worker *worker);
} connection_protocol;

/* connection.io_wants: the I/O layer cannot go on until the socket is
 * ready in the other direction than the connection waits for (TLS: a read
 * that must first write a handshake flight, a write that must first read);
 * the event loop then watches both. */
enum { CONNECTION_IO_WANTS_READ = 1, CONNECTION_IO_WANTS_WRITE = 2 };

struct connection {
    int fd;
    const connection_io *io;
    void *io_context;              /* the I/O layer's own state (TLS: its SSL), NULL for plain TCP */
    unsigned io_wants;             /* CONNECTION_IO_WANTS_* (above), set by the I/O layer */
    int listen_index;              /* which Listen accepted it (server->listens), -1 if unknown */
    const connection_protocol *protocol;  /* NULL = HTTP/1.1 (this file) */
    const server_config *server;

    char peer_address[INET6_ADDRSTRLEN];
    int peer_port;
    /* The connection had to begin with a PROXY protocol header (mod_remoteip,
     * http/proxy_protocol.h); the client it named, "" when none (yet), is
     * what each request's client becomes (request_client_address).  The
     * peer stays the balancer, as Apache keeps c->client_ip. */
    bool proxy_protocol;
    char proxy_client_address[INET6_ADDRSTRLEN];
    int proxy_client_port;
    char local_address[INET6_ADDRSTRLEN];
    int local_port;
    bool local_known;

    connection_phase phase;
    buffer input;                  /* received, not yet consumed */
    memory_budget *budget;         /* the child's (budget.h), set once per slot; NULL = none */
    size_t input_charged;          /* bytes of input's capacity charged to it */
    int64_t input_charged_ms;      /* since when it holds a charge */
    pool *request_pool;
    request request;               /* the request in progress */
    bool request_started;
    int requests_served;
    int64_t linger_deadline_ms;
    int64_t head_started_ms;       /* when the current head began (accept, or its first byte) */

    /* Unread request body to discard after the response. */
    int64_t discard_remaining;     /* Content-Length bytes left */
    bool discard_chunked;
    int64_t discarded;             /* chunked body bytes discarded so far */
    int64_t discard_limit;         /* LimitRequestBody of the request; 0 = none */
    http_chunked_decoder chunked;

    /* Response being written. */
    buffer output;                 /* status line and header fields */
    size_t output_sent;
    const char *body_data;
    size_t body_remaining_memory;
    int body_file;
    off_t body_offset;
    int64_t body_remaining_file;
    const body_piece *pieces;      /* BODY_PIECES: those not started yet */
    int pieces_left;
    bool filter_pending;           /* more of a filtered body is to be pulled (filter.h) */
    bool pull_pending;             /* more of a BODY_PULL body is to be pulled (backend.h) */
    bool pull_chunked;             /* ... and framed as chunks */
    int64_t pull_left;             /* bytes the backend announced still to send; -1: unknown */
    uint64_t pull_framing;         /* chunk framing bytes counted in body_bytes_sent */
    buffer pulled;                 /* a pulled piece with its chunk framing */
    unsigned backend_serial;       /* changes whenever the backend socket does (the event loop
                                    * registers a new one) */
    bool close_after_response;

    /* Input readiness (see the header comment); read_ready is set at
     * accept, since nothing has been read yet. */
    bool read_ready;               /* the socket may hold input we have not read */
    bool peer_closed;              /* the event loop reported the peer's end of stream */
};

/* The one way the connection layer (and body.c) reads the socket: reads
 * like connection_io.read (EINTR retried) and keeps read_ready up to date.
 * Inline so that body.c's unit test needs no connection.c. */
static inline ssize_t connection_read(connection *c, void *data, size_t length)
{
    ssize_t count;
    do
        count = c->io->read(c, data, length);
    while (count < 0 && errno == EINTR);
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        c->read_ready = false;
    else if (count > 0 && (size_t)count < length && !c->peer_closed && !(c->io->pending && c->io->pending(c)))
        c->read_ready = false;  /* a layer's buffered bytes (TLS records) raise no edge: keep it */
    return count;
}

/* Does c arrive over TLS (its I/O layer says so)?  NULL: no. */
static inline bool connection_is_secure(const connection *c)
{
    return c && c->io && c->io->secure;
}

/* The event loop delivered an event for c (or may have missed one): its
 * socket may have input again.  peer_closed: the event reported the peer's
 * end of stream or an error (EPOLLRDHUP, EPOLLHUP, EPOLLERR). */
static inline void connection_input_ready(connection *c, bool peer_closed)
{
    c->read_ready = true;
    if (peer_closed)
        c->peer_closed = true;
}

/* For the event loop, with c parked in CONNECTION_WAIT_BACKEND or not:
 * the backend socket to watch (-1: none), what for (CONNECTION_IO_WANTS_*)
 * and until when (INT64_MAX: no deadline of its own). */
int connection_backend_wait(const connection *c, unsigned *wants, int64_t *deadline_ms);

/* Sets up c for a freshly accepted socket (non-blocking); peer is the
 * address accept() returned.  The local address is looked up when first
 * asked for. */
void connection_init(connection *c, int fd, const server_config *server, const struct sockaddr_storage *peer);
/* Runs the modules' connection_open hooks (module.h): WEFT_ERROR when one
 * refused the connection (the caller closes it). */
int connection_open_modules(connection *c);
/* Releases what the connection holds (not the socket). */
void connection_release(connection *c);

/* The connection is about to wait for its next request: give back the
 * memory it only needs while a request is in progress (its buffers and its
 * request pool), so that an idle keep-alive connection costs little. */
void connection_idle(connection *c);
/* Frees this thread's cache of spare buffers and pools (at thread exit). */
void connection_thread_exit(void);

/* Makes room for `additional` more bytes in the input buffer, charging the
 * budget for the growth.  false when the budget refused it (nothing
 * changed). */
bool connection_reserve_input(connection *c, size_t additional);

/* Runs as far as possible; see the header comment. */
connection_wait connection_run(connection *c, const connection_worker *worker);

/* The RequestReadTimeout deadline (CLOCK_MONOTONIC ms) for a stage that
 * began at started_ms and has received bytes so far; INT64_MAX if none. */
int64_t request_read_deadline_ms(const request_read_timeout_setting *setting, bool header,
                                 int64_t started_ms, uint64_t bytes);
/* The deadline for a connection parked in CONNECTION_WAIT_READ. */
int64_t connection_read_deadline_ms(const connection *c);
/* The connection's deadline passed while it was parked: answer 408 when it
 * was inside a request head (one non-blocking attempt), log it, and leave
 * it ready to be closed. */
void connection_expire(connection *c, const connection_worker *worker);

/* Whether the response to the current request may leave the connection
 * open, as far as the configuration and the request say (the child's
 * stopping is decided later); for streamed responses (stream.h). */
bool connection_may_keep_alive(const connection *c);

/* Offers c to the protocol called name (connection_protocol above): true
 * when a module's protocol took it. */
bool connection_offer_protocol(connection *c, request *r, const char *name);

/* The plain TCP implementation of connection_io. */
extern const connection_io connection_plain_io;

const char *connection_peer_address(const connection *c);
int connection_peer_port(const connection *c);
const char *connection_local_address(const connection *c);
int connection_local_port(const connection *c);

#endif
