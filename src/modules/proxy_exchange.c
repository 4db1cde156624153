/*
 * proxy_exchange.c — the part of a backend exchange that FastCGI
 * (proxy_fcgi.c) and HTTP (proxy_http.c) share: the non-blocking socket,
 * the queue of bytes to send, reading the backend's output, moving the
 * client's body across as it arrives, and what a timeout means.  Each
 * protocol keeps its own framing, response head and body.
 */
#include "proxy.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/log.h"
#include "../http/body.h"
#include "../http/connection.h"
#include "../http/response.h"

#define READ_SIZE (64 * 1024)
#define BODY_CHUNK (32 * 1024)

void proxy_exchange_init(proxy_exchange *x, request *r, const proxy_target *target, const char *module_name,
                         const char *peer_name)
{
    x->r = r;
    x->module_name = module_name;
    x->peer_name = peer_name;
    x->backend_text = target->backend.text;
    x->fd = -1;
    x->timeout_ms = target->timeout_ms;
}

void proxy_exchange_log(proxy_exchange *x, const char *what, int error)
{
    request *r = x->r;
    log_module_message(LOG_LEVEL_ERROR, x->module_name, "[client %s:%d] %s (%s)%s%s: %s",
                       connection_peer_address(r->connection), connection_peer_port(r->connection), what,
                       x->backend_text, error ? ": " : "", error ? strerror(error) : "", r->path);
}

void proxy_exchange_close(proxy_exchange *x)
{
    if (x->fd >= 0) {
        close(x->fd);
        x->fd = -1;
    }
}

void proxy_exchange_free(proxy_exchange *x)
{
    proxy_exchange_close(x);
    buffer_free(&x->out);
    buffer_free(&x->in);
}

void proxy_exchange_progress(proxy_exchange *x)
{
    x->b->deadline_ms = monotonic_ms() + x->timeout_ms;
}

int proxy_exchange_answer_error(proxy_exchange *x, int status, const char *what, int error)
{
    proxy_exchange_log(x, what, error);
    proxy_exchange_close(x);
    x->state = PROXY_STATE_DONE;
    response_set_error(x->r, status);
    return WEFT_OK;
}

int proxy_exchange_connect_error(proxy_exchange *x)
{
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
        error = errno;
    return error;
}

/* Sends what is queued in out.  WEFT_OK: all of it; WEFT_AGAIN; WEFT_ERROR
 * with errno. */
static int flush_queue(proxy_exchange *x)
{
    while (x->out_sent < x->out.length) {
        ssize_t sent = send(x->fd, x->out.data + x->out_sent, x->out.length - x->out_sent, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return WEFT_AGAIN;
        if (sent < 0)
            return WEFT_ERROR;
        x->out_sent += (size_t)sent;
        proxy_exchange_progress(x);
    }
    buffer_clear(&x->out);
    x->out_sent = 0;
    return WEFT_OK;
}

/* Moves the next piece of the request body into out through frame.
 * false: something was queued (or the end), the run goes on; true: the run
 * returns *result (waiting for the client, or an error page). */
static bool queue_body(proxy_exchange *x, proxy_body_framer *frame, int *result)
{
    request *r = x->r;
    char piece[BODY_CHUNK];
    size_t got = 0;
    int rc = request_body_try_read(r, piece, sizeof(piece), &got);
    if (rc == WEFT_AGAIN) {
        /* Waiting for the client (its socket is watched too); the backend
         * may answer early. */
        x->b->wants = BACKEND_WANTS_READ;
        x->b->deadline_ms = INT64_MAX;  /* Timeout bounds the client */
        *result = WEFT_AGAIN;
        return true;
    }
    if (rc == WEFT_ERROR) {
        proxy_exchange_close(x);
        x->state = PROXY_STATE_DONE;
        response_set_error(r, r->body_read.error_status ? r->body_read.error_status : 400);
        *result = WEFT_OK;
        return true;
    }
    if (rc == WEFT_DONE) {
        frame(x, NULL, 0);
        x->body_left = false;
    } else {
        frame(x, piece, got);
    }
    proxy_exchange_progress(x);
    return false;
}

int proxy_exchange_send(proxy_exchange *x, proxy_body_framer *frame, int *result)
{
    int rc = flush_queue(x);
    if (rc == WEFT_ERROR && errno != ENOTCONN)
        return WEFT_ERROR;
    if (rc != WEFT_OK) {
        /* A full socket, or one still connecting (ENOTCONN): wait until it
         * is writable. */
        x->b->wants = BACKEND_WANTS_WRITE;
        *result = WEFT_AGAIN;
        return WEFT_DONE;
    }
    if (!x->body_left) {
        x->state = PROXY_STATE_HEAD;
        return WEFT_OK;
    }
    return queue_body(x, frame, result) ? WEFT_DONE : WEFT_OK;
}

int proxy_exchange_fill(proxy_exchange *x)
{
    if (x->in_used == x->in.length) {
        buffer_clear(&x->in);
        x->in_used = 0;
    } else if (x->in_used > 0) {
        buffer_consume(&x->in, x->in_used);
        x->in_used = 0;
    }
    buffer_reserve(&x->in, READ_SIZE);
    ssize_t got;
    do
        got = recv(x->fd, x->in.data + x->in.length, READ_SIZE, 0);
    while (got < 0 && errno == EINTR);
    if (got > 0) {
        x->in.length += (size_t)got;
        x->response_started = true;
        proxy_exchange_progress(x);
        return WEFT_OK;
    }
    if (got == 0)
        return WEFT_DONE;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        x->b->wants = BACKEND_WANTS_READ;
        return WEFT_AGAIN;
    }
    return WEFT_ERROR;
}

void proxy_exchange_expire(proxy_exchange *x, proxy_error_answer *answer)
{
    request_backend *b = x->b;
    if (!b->head_done && x->state == PROXY_STATE_SENDING && x->body_left && b->deadline_ms == INT64_MAX) {
        /* The wait was the client's (Timeout while its body came). */
        answer(x, 408, "the client sent its request body too slowly (Timeout)", 0);
        x->r->keep_alive = false;
        return;
    }
    if (!b->head_done) {
        answer(x, 504, pool_printf(x->r->pool, "%s did not answer within ProxyTimeout", x->peer_name), 0);
        return;
    }
    const char *what = pool_printf(x->r->pool, "%s stalled in the middle of the body for ProxyTimeout", x->peer_name);
    proxy_exchange_log(x, what, 0);
    proxy_exchange_close(x);
}
