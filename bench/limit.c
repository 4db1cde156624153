/*
 * limit.c — the benchmark's "limit" server: the ceiling on this machine.
 *
 * A minimal HTTP/1.1 server on epoll that answers every request with the
 * same 1 KiB text/html response held in memory (Server, Date, Content-Type
 * and Content-Length headers, keep-alive).  It reads requests properly: it
 * finds the end of every request head (CRLF CRLF), answers pipelined
 * requests in order, and keeps a partial head until the rest arrives.  It
 * does no other parsing, except one look for "Connection: close" in a head,
 * so that the `Connection: close` scenario measures a new connection per
 * request here as it does for the real servers.
 *
 * One process, one thread.  The benchmark pins every server to one core
 * (taskset -c 0), so a second thread would only share that core; a single
 * event loop with no locks and no cross-thread wake-ups is the cheapest
 * thing that can serve the load, which is what a ceiling should be.
 *
 *   limit PORT [ADDRESS]      (ADDRESS defaults to 127.0.0.1)
 *
 * Build: cc -O2 -std=c17 -Wall -Wextra -Werror -o limit limit.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BODY_SIZE    1024
#define HEAD_MAX     8192   /* a request head longer than this gets 431 */
#define MAX_EVENTS   256

static const char head_keep[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: limit\r\n"
    "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
    "Content-Type: text/html\r\n"
    "Content-Length: 1024\r\n"
    "\r\n";
static const char head_close[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: limit\r\n"
    "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
    "Content-Type: text/html\r\n"
    "Content-Length: 1024\r\n"
    "Connection: close\r\n"
    "\r\n";
static const char too_large[] =
    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
    "Server: limit\r\n"
    "Content-Length: 0\r\n"
    "Connection: close\r\n"
    "\r\n";

#define DATE_OFFSET (sizeof "HTTP/1.1 200 OK\r\nServer: limit\r\nDate: " - 1)
#define DATE_LENGTH 29

/* The two complete responses, head + body, rebuilt once a second. */
static char response_keep[sizeof head_keep - 1 + BODY_SIZE];
static char response_close[sizeof head_close - 1 + BODY_SIZE];
static time_t response_second = -1;

struct connection {
    int fd;
    bool close_after;        /* answered a "Connection: close" head */
    size_t in_length;        /* bytes in in[] not yet consumed */
    size_t scanned;          /* in[0..scanned) holds no complete head end */
    char *out;               /* output not yet written (owned) */
    size_t out_length, out_offset, out_capacity;
    char in[HEAD_MAX];
};

static void refresh_date(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (now.tv_sec == response_second)
        return;
    response_second = now.tv_sec;
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char date[DATE_LENGTH + 1];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    memcpy(response_keep + DATE_OFFSET, date, DATE_LENGTH);
    memcpy(response_close + DATE_OFFSET, date, DATE_LENGTH);
}

static void build_responses(void)
{
    char body[BODY_SIZE];
    static const char start[] = "<!DOCTYPE html>\n<title>limit</title>\n<p>";
    memset(body, 'x', sizeof body);
    memcpy(body, start, sizeof start - 1);
    body[BODY_SIZE - 1] = '\n';
    memcpy(response_keep, head_keep, sizeof head_keep - 1);
    memcpy(response_keep + sizeof head_keep - 1, body, BODY_SIZE);
    memcpy(response_close, head_close, sizeof head_close - 1);
    memcpy(response_close + sizeof head_close - 1, body, BODY_SIZE);
    refresh_date();
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void close_connection(int epoll_fd, struct connection *c)
{
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out);
    free(c);
}

/* Queue bytes that could not be sent yet. */
static bool queue_output(struct connection *c, const char *data, size_t length)
{
    if (c->out_offset > 0 && c->out_offset == c->out_length)
        c->out_offset = c->out_length = 0;
    if (c->out_length + length > c->out_capacity) {
        size_t capacity = c->out_capacity ? c->out_capacity : 4096;
        while (capacity < c->out_length + length)
            capacity *= 2;
        char *grown = realloc(c->out, capacity);
        if (!grown)
            return false;
        c->out = grown;
        c->out_capacity = capacity;
    }
    memcpy(c->out + c->out_length, data, length);
    c->out_length += length;
    return true;
}

/* Write queued output.  Returns -1 on error, 0 when all is written, 1 when
 * the socket is full. */
static int flush_output(struct connection *c)
{
    while (c->out_offset < c->out_length) {
        ssize_t n = send(c->fd, c->out + c->out_offset, c->out_length - c->out_offset,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 1;
            return -1;
        }
        c->out_offset += (size_t)n;
    }
    c->out_offset = c->out_length = 0;
    return 0;
}

/* Send a response: straight from the static buffer when nothing is queued,
 * queueing whatever the socket does not take. */
static bool send_response(struct connection *c, const char *data, size_t length)
{
    if (c->out_length == c->out_offset) {
        while (length > 0) {
            ssize_t n = send(c->fd, data, length, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                return false;
            }
            data += n;
            length -= (size_t)n;
        }
        if (length == 0)
            return true;
    }
    return queue_output(c, data, length);
}

static bool has_connection_close(const char *head, size_t length)
{
    static const char name[] = "\nconnection:";
    const size_t name_length = sizeof name - 1;
    for (size_t i = 0; i + name_length <= length; i++) {
        if (strncasecmp(head + i, name, name_length) != 0)
            continue;
        size_t j = i + name_length;
        while (j < length && (head[j] == ' ' || head[j] == '\t'))
            j++;
        if (j + 5 <= length && strncasecmp(head + j, "close", 5) == 0)
            return true;
    }
    return false;
}

/* Answer every complete head in the input; keep a partial one. */
static bool answer_requests(struct connection *c)
{
    size_t start = 0;
    for (;;) {
        size_t from = c->scanned > start + 3 ? c->scanned - 3 : start;
        char *end = memmem(c->in + from, c->in_length - from, "\r\n\r\n", 4);
        if (!end) {
            c->scanned = c->in_length;
            break;
        }
        size_t head_length = (size_t)(end - (c->in + start)) + 4;
        refresh_date();
        if (has_connection_close(c->in + start, head_length)) {
            c->close_after = true;
            start += head_length;
            c->scanned = start;
            if (!send_response(c, response_close, sizeof response_close))
                return false;
            break;           /* ignore anything after a closing request */
        }
        if (!send_response(c, response_keep, sizeof response_keep))
            return false;
        start += head_length;
        c->scanned = start;
    }
    if (c->close_after) {
        c->in_length = c->scanned = 0;
        return true;
    }
    if (start > 0) {
        memmove(c->in, c->in + start, c->in_length - start);
        c->in_length -= start;
        c->scanned -= start;
    }
    return true;
}

/* Returns false when the connection is to be closed now.  Reading stops
 * while output is queued (the client is not reading its responses). */
static bool on_readable(struct connection *c)
{
    for (;;) {
        size_t space = sizeof c->in - c->in_length;
        if (space == 0) {
            send(c->fd, too_large, sizeof too_large - 1, MSG_NOSIGNAL);
            return false;
        }
        ssize_t n = recv(c->fd, c->in + c->in_length, space, 0);
        if (n == 0)
            return false;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        c->in_length += (size_t)n;
        if (!answer_requests(c))
            return false;
        if (c->close_after || c->out_offset < c->out_length)
            return true;
        if ((size_t)n < space)
            return true;     /* a short read: the socket is drained */
    }
}

static void update_interest(int epoll_fd, struct connection *c, bool want_write)
{
    struct epoll_event event = {
        .events = want_write ? EPOLLOUT : EPOLLIN,
        .data.ptr = c,
    };
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event);
}

static void accept_all(int epoll_fd, int listen_fd)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return;          /* EAGAIN, or out of descriptors: try later */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct connection *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->close_after = false;
        c->in_length = c->scanned = 0;
        c->out = NULL;
        c->out_length = c->out_offset = c->out_capacity = 0;
        struct epoll_event event = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
            close(fd);
            free(c);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PORT [ADDRESS]\n", argv[0]);
        return 2;
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535) {
        fprintf(stderr, "limit: bad port %s\n", argv[1]);
        return 2;
    }
    const char *address = argc == 3 ? argv[2] : "127.0.0.1";

    signal(SIGPIPE, SIG_IGN);
    build_responses();

    int listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd < 0)
        die("socket");
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, address, &sin.sin_addr) != 1) {
        fprintf(stderr, "limit: bad address %s\n", address);
        return 2;
    }
    if (bind(listen_fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        die("bind");
    if (listen(listen_fd, 4096) < 0)
        die("listen");

    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0)
        die("epoll_create1");
    struct epoll_event event = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &event) < 0)
        die("epoll_ctl");

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < ready; i++) {
            struct connection *c = events[i].data.ptr;
            if (!c) {
                accept_all(epoll_fd, listen_fd);
                continue;
            }
            if (events[i].events & EPOLLOUT) {
                int rc = flush_output(c);
                if (rc < 0) {
                    close_connection(epoll_fd, c);
                    continue;
                }
                if (rc > 0)
                    continue;
                if (c->close_after) {
                    close_connection(epoll_fd, c);
                    continue;
                }
                update_interest(epoll_fd, c, false);
                continue;
            } else if (!on_readable(c)) {
                close_connection(epoll_fd, c);
                continue;
            }
            if (c->out_offset < c->out_length) {
                update_interest(epoll_fd, c, true);
            } else if (c->close_after) {
                close_connection(epoll_fd, c);
            }
        }
    }
}
