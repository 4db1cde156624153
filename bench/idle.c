/*
 * idle.c — the benchmark's idle-connection client.
 *
 *   idle PORT COUNT [PATH [TIMEOUT_SECONDS]]
 *
 * 1. Opens COUNT connections to 127.0.0.1:PORT (at most 256 handshakes in
 *    flight), sends one keep-alive GET PATH on each and reads its whole
 *    response (Content-Length), so that each connection is left idle in the
 *    server's keep-alive state.  Gives up on what is not answered within
 *    TIMEOUT_SECONDS (default 15), or when no response has come for 3 s
 *    (a server that holds one thread per connection stops answering when
 *    its threads are all taken).
 * 2. Prints "READY ok=N failed=N pending=N ms=N open=N" (open: answered and
 *    not closed by the server since) and waits for a line on standard input
 *    (the benchmark measures the server's memory meanwhile).
 * 3. Times FRESH fresh requests, one after the other, each on a new
 *    connection (connect, send, whole response), while the others are held;
 *    prints "FRESH median_ms=X max_ms=X ok=N" (it stops at the first request
 *    not answered within 2 s).
 * 4. Counts the idle connections the server still holds (not closed by the
 *    server) and prints "HELD n", then exits, closing everything.
 *
 * Build: cc -O2 -std=c17 -Wall -Wextra -Werror -o idle idle.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_FLIGHT   256
#define FRESH       7
#define STALL_MS    3000    /* give up when no response came for this long */
#define BUFFER_SIZE 16384

enum state { UNUSED, CONNECTING, READING, DONE, FAILED };

struct conn {
    int fd;
    enum state state;
    size_t got;              /* bytes of the response read so far */
    long long expected;      /* head + body length, -1 until the head is in */
    char head[4096];         /* only the first bytes are kept */
};

static struct sockaddr_in target;
static char request[1024];
static size_t request_length;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The length of the whole response once its head is in, else -1. */
static long long response_length(const char *data, size_t length)
{
    const char *end = memmem(data, length, "\r\n\r\n", 4);
    if (!end)
        return -1;
    size_t head = (size_t)(end - data) + 4;
    long long body = 0;
    for (const char *p = data; p < end; p++) {
        if (*p == '\n' && (size_t)(end - p) > 16 && strncasecmp(p + 1, "content-length:", 15) == 0) {
            body = strtoll(p + 16, NULL, 10);
            break;
        }
    }
    return (long long)head + body;
}

/* Reads what is there; true when the whole response is in. */
static bool read_response(struct conn *c, bool *failed)
{
    char scratch[BUFFER_SIZE];
    for (;;) {
        char *into = c->got < sizeof c->head ? c->head + c->got : scratch;
        size_t room = c->got < sizeof c->head ? sizeof c->head - c->got : sizeof scratch;
        ssize_t n = recv(c->fd, into, room, 0);
        if (n == 0) {
            *failed = true;
            return false;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                *failed = true;
            return false;
        }
        c->got += (size_t)n;
        if (c->expected < 0)
            c->expected = response_length(c->head, c->got < sizeof c->head ? c->got : sizeof c->head);
        if (c->expected >= 0 && (long long)c->got >= c->expected)
            return true;
    }
}

static int open_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&target, sizeof target) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One fresh request on a new connection; its time in ms, or -1. */
static double fresh_request(int timeout_ms)
{
    double start = now_ms();
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->expected = -1;
    c->fd = open_socket();
    double result = -1;
    if (c->fd < 0)
        goto out;
    struct pollfd p = { .fd = c->fd, .events = POLLOUT };
    if (poll(&p, 1, timeout_ms) != 1)
        goto out;
    int error = 0;
    socklen_t size = sizeof error;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error || send(c->fd, request, request_length, MSG_NOSIGNAL) != (ssize_t)request_length)
        goto out;
    for (;;) {
        double left = timeout_ms - (now_ms() - start);
        if (left <= 0)
            goto out;
        p.events = POLLIN;
        if (poll(&p, 1, (int)left + 1) < 0 && errno != EINTR)
            goto out;
        bool failed = false;
        if (read_response(c, &failed)) {
            result = now_ms() - start;
            goto out;
        }
        if (failed)
            goto out;
    }
out:
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return result;
}

/* How many of the answered connections the server has not closed. */
static int count_held(struct conn **conns, int count)
{
    int held = 0;
    for (int i = 0; i < count; i++) {
        struct conn *c = conns[i];
        if (!c || c->state != DONE)
            continue;
        struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };
        if (poll(&p, 1, 0) == 0) {
            held++;
            continue;
        }
        char byte;
        ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0 && !(p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
            held++;          /* unexpected data, but still open */
    }
    return held;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s PORT COUNT [PATH [TIMEOUT_SECONDS]]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int count = atoi(argv[2]);
    const char *path = argc > 3 ? argv[3] : "/index.html";
    double timeout_ms = (argc > 4 ? atof(argv[4]) : 15) * 1000;
    if (port <= 0 || port > 65535 || count <= 0) {
        fprintf(stderr, "idle: bad arguments\n");
        return 2;
    }

    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < (rlim_t)count + 64) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }

    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &target.sin_addr);
    request_length = (size_t)snprintf(request, sizeof request,
                                      "GET %s HTTP/1.1\r\nHost: localhost\r\n"
                                      "User-Agent: weft-bench-idle\r\n\r\n", path);

    struct conn **conns = calloc((size_t)count, sizeof *conns);
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || epoll_fd < 0) {
        perror("idle");
        return 1;
    }

    double start = now_ms(), last_progress = start;
    int next = 0, in_flight = 0, ok = 0, failed = 0;
    struct epoll_event events[256];
    while ((next < count || in_flight > 0) && now_ms() - start < timeout_ms
           && now_ms() - last_progress < STALL_MS) {
        while (next < count && in_flight < IN_FLIGHT) {
            struct conn *c = calloc(1, sizeof *c);
            if (!c) {
                failed++;
                next++;
                continue;
            }
            conns[next] = c;
            c->expected = -1;
            c->fd = open_socket();
            if (c->fd < 0) {
                c->state = FAILED;
                failed++;
                next++;
                continue;
            }
            c->state = CONNECTING;
            struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
            epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &e);
            in_flight++;
            next++;
        }
        int ready = epoll_wait(epoll_fd, events, 256, 100);
        for (int i = 0; i < ready; i++) {
            struct conn *c = events[i].data.ptr;
            bool bad = false;
            if (c->state == CONNECTING) {
                int error = 0;
                socklen_t size = sizeof error;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &size);
                if (error || send(c->fd, request, request_length, MSG_NOSIGNAL)
                                 != (ssize_t)request_length) {
                    bad = true;
                } else {
                    c->state = READING;
                    struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &e);
                }
            } else if (c->state == READING) {
                if (read_response(c, &bad)) {
                    c->state = DONE;
                    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
                    ok++;
                    in_flight--;
                    last_progress = now_ms();
                }
            }
            if (bad) {
                c->state = FAILED;
                epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                failed++;
                in_flight--;
                last_progress = now_ms();
            }
        }
    }
    int pending = count - ok - failed;
    printf("READY ok=%d failed=%d pending=%d ms=%.0f open=%d\n", ok, failed, pending, now_ms() - start,
           count_held(conns, count));
    fflush(stdout);

    char line[64];
    if (!fgets(line, sizeof line, stdin))
        line[0] = '\0';

    double times[FRESH];
    int fresh_ok = 0;
    double worst = 0;
    for (int i = 0; i < FRESH; i++) {
        double t = fresh_request(2000);
        if (t < 0)
            break;           /* no answer within 2 s: the server is full */
        times[fresh_ok++] = t;
        if (t > worst)
            worst = t;
    }
    if (fresh_ok > 0) {
        qsort(times, (size_t)fresh_ok, sizeof *times, compare_doubles);
        printf("FRESH median_ms=%.3f max_ms=%.3f ok=%d\n", times[fresh_ok / 2], worst, fresh_ok);
    } else {
        printf("FRESH median_ms=-1 max_ms=-1 ok=0\n");
    }

    printf("HELD %d\n", count_held(conns, count));
    fflush(stdout);
    return 0;
}
