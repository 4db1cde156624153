/*
 * tls_client.c — the benchmark's TLS clients, for what wrk and h2load cannot
 * measure (bench/README.md, "HTTPS scenarios").
 *
 *   tls_client handshake PORT CONNECTIONS SECONDS PATH full|resume
 *   tls_client idle PORT COUNT [PATH [TIMEOUT_SECONDS]]
 *
 * handshake: CONNECTIONS connections at a time, each a new TCP connection, a
 *   TLS 1.3 handshake, one `GET PATH` with `Connection: close`, the whole
 *   response, close_notify, close; then the next one, for SECONDS.  "full"
 *   never offers a session: every handshake is a full one.  "resume" offers
 *   the session (TLS 1.3 ticket) of the last connection that completed, as a
 *   browser does.  Both wrk (SSL_clear keeps the session) and h2load resume
 *   on every reconnection, so neither can measure full handshakes; this client
 *   counts how many handshakes the server actually resumed (reused=) so that
 *   each case is checked, not assumed.  Prints one line in bench/report.lua's
 *   format, plus reused=N full=N.
 *
 * idle: idle.c's protocol over TLS: COUNT connections (256 handshakes in
 *   flight), one keep-alive request each, the whole response read; then
 *   "READY ok= failed= pending= ms= open=", a line on standard input, 7 fresh
 *   TLS requests on new connections ("FRESH median_ms= max_ms= ok="), and
 *   "HELD n".
 *
 * Build: cc -O2 -std=c17 -Wall -Wextra -Werror -o tls_client tls_client.c -lssl -lcrypto
 * Contacts 127.0.0.1 only.  The server's certificate is not verified (the
 * benchmark's own self-signed ones); its signature in the handshake is.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define IN_FLIGHT 256
#define FRESH 7
#define STALL_MS 3000
#define HEAD_KEEP 4096

enum state { UNUSED, CONNECTING, HANDSHAKE, WRITING, READING, DONE, FAILED };

struct conn {
    int fd;
    SSL *ssl;
    enum state state;
    double started_ms;
    size_t got;
    long long expected;
    char head[HEAD_KEEP];
};

static struct sockaddr_in target;
static SSL_CTX *context;
static char request[1024];
static int request_length;
static SSL_SESSION *saved;  /* resume mode: the newest session */
static bool resume;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

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

static bool conn_start(struct conn *c)
{
    memset(c, 0, sizeof *c);
    c->expected = -1;
    c->started_ms = now_ms();
    c->fd = open_socket();
    if (c->fd < 0)
        return false;
    c->state = CONNECTING;
    return true;
}

/* Ends a connection politely: close_notify keeps the session resumable
 * (OpenSSL marks the session of an SSL freed without it as bad). */
static void conn_end(struct conn *c)
{
    if (c->ssl) {
        if (c->state == DONE)
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    ERR_clear_error();
}

/* Advances a connection as far as it goes without blocking.  Returns the
 * events to wait for, 0 when the response is complete, -1 on failure. */
static int conn_step(struct conn *c)
{
    int result;
    switch (c->state) {
    case CONNECTING: {
        int error = 0;
        socklen_t size = sizeof error;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error)
            return -1;
        c->ssl = SSL_new(context);
        if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
            return -1;
        SSL_set_tlsext_host_name(c->ssl, "localhost");
        if (resume && saved)
            SSL_set_session(c->ssl, saved);
        c->state = HANDSHAKE;
    }
    /* fall through */
    case HANDSHAKE:
        result = SSL_connect(c->ssl);
        if (result != 1)
            goto blocked;
        c->state = WRITING;
    /* fall through */
    case WRITING:
        result = SSL_write(c->ssl, request, request_length);
        if (result <= 0)
            goto blocked;
        c->state = READING;
    /* fall through */
    case READING:
        for (;;) {
            char scratch[16384];
            char *into = c->got < HEAD_KEEP ? c->head + c->got : scratch;
            int room = c->got < HEAD_KEEP ? (int)(HEAD_KEEP - c->got) : (int)sizeof scratch;
            result = SSL_read(c->ssl, into, room);
            if (result <= 0)
                goto blocked;
            c->got += (size_t)result;
            if (c->expected < 0)
                c->expected = response_length(c->head, c->got < HEAD_KEEP ? c->got : HEAD_KEEP);
            if (c->expected >= 0 && (long long)c->got >= c->expected) {
                c->state = DONE;
                return 0;
            }
        }
    default:
        return -1;
    }
blocked:
    switch (SSL_get_error(c->ssl, result)) {
    case SSL_ERROR_WANT_READ:
        return EPOLLIN;
    case SSL_ERROR_WANT_WRITE:
        return EPOLLOUT;
    default:
        return -1;
    }
}

static int status_of(const struct conn *c)
{
    if (c->got < 12 || memcmp(c->head, "HTTP/1.", 7) != 0)
        return 0;
    return atoi(c->head + 9);
}

static void watch(int epoll_fd, struct conn *c, int events, int op)
{
    struct epoll_event e = { .events = (uint32_t)events, .data.ptr = c };
    epoll_ctl(epoll_fd, op, c->fd, &e);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *values, size_t count, double p)
{
    if (!count)
        return 0;
    size_t index = (size_t)(p / 100.0 * (double)(count - 1) + 0.5);
    return values[index];
}

/* ---- handshake per request ----------------------------------------------------- */

static int run_handshakes(int connections, double seconds)
{
    struct conn *conns = calloc((size_t)connections, sizeof *conns);
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    size_t latency_room = 1 << 16, latency_count = 0;
    double *latencies = malloc(latency_room * sizeof *latencies);
    if (!conns || epoll_fd < 0 || !latencies)
        return 1;
    long long requests = 0, bytes = 0, reused = 0, connect_errors = 0, read_errors = 0, bad_status = 0;
    double start = now_ms(), end = start + seconds * 1000;
    for (int i = 0; i < connections; i++) {
        if (!conn_start(&conns[i])) {
            connect_errors++;
            continue;
        }
        watch(epoll_fd, &conns[i], EPOLLOUT, EPOLL_CTL_ADD);
    }
    struct epoll_event events[256];
    while (now_ms() < end) {
        int ready = epoll_wait(epoll_fd, events, 256, 50);
        for (int i = 0; i < ready; i++) {
            struct conn *c = events[i].data.ptr;
            int wants = conn_step(c);
            if (wants > 0) {
                watch(epoll_fd, c, wants, EPOLL_CTL_MOD);
                continue;
            }
            if (wants == 0) {
                requests++;
                bytes += (long long)c->got;
                if (status_of(c) < 200 || status_of(c) > 399)
                    bad_status++;
                if (SSL_session_reused(c->ssl))
                    reused++;
                if (resume) {
                    SSL_SESSION *newest = SSL_get1_session(c->ssl);
                    if (newest) {
                        SSL_SESSION_free(saved);
                        saved = newest;
                    }
                }
                if (latency_count == latency_room) {
                    latency_room *= 2;
                    latencies = realloc(latencies, latency_room * sizeof *latencies);
                    if (!latencies)
                        return 1;
                }
                latencies[latency_count++] = now_ms() - c->started_ms;
            } else if (c->state == CONNECTING) {
                connect_errors++;
            } else {
                read_errors++;
            }
            epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
            conn_end(c);
            if (!conn_start(c)) {
                connect_errors++;
                continue;
            }
            watch(epoll_fd, c, EPOLLOUT, EPOLL_CTL_ADD);
        }
    }
    double elapsed_ms = now_ms() - start;
    qsort(latencies, latency_count, sizeof *latencies, compare_doubles);
    printf("BENCH requests=%lld duration_us=%.0f bytes=%lld connect=%lld read=%lld write=0 status=%lld"
           " timeout=0 p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f reused=%lld full=%lld\n",
           requests, elapsed_ms * 1000, bytes, connect_errors, read_errors, bad_status,
           percentile(latencies, latency_count, 50) * 1000, percentile(latencies, latency_count, 90) * 1000,
           percentile(latencies, latency_count, 99) * 1000, percentile(latencies, latency_count, 99.9) * 1000,
           latency_count ? latencies[latency_count - 1] * 1000 : 0, reused, requests - reused);
    return 0;
}

/* ---- idle connections ------------------------------------------------------------ */

static double fresh_request(int timeout_ms)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    double result = -1;
    if (!conn_start(c))
        goto out;
    int wants = EPOLLOUT;
    while (wants > 0) {
        double left = timeout_ms - (now_ms() - c->started_ms);
        if (left <= 0)
            goto out;
        struct pollfd p = { .fd = c->fd, .events = (short)(wants == EPOLLIN ? POLLIN : POLLOUT) };
        if (poll(&p, 1, (int)left + 1) < 0 && errno != EINTR)
            goto out;
        wants = conn_step(c);
    }
    if (wants == 0)
        result = now_ms() - c->started_ms;
out:
    conn_end(c);
    free(c);
    return result;
}

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
            held++;
    }
    return held;
}

static int run_idle(int count, double timeout_ms)
{
    struct conn **conns = calloc((size_t)count, sizeof *conns);
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || epoll_fd < 0)
        return 1;
    double start = now_ms(), last_progress = start;
    int next = 0, in_flight = 0, ok = 0, failed = 0;
    struct epoll_event events[256];
    while ((next < count || in_flight > 0) && now_ms() - start < timeout_ms && now_ms() - last_progress < STALL_MS) {
        while (next < count && in_flight < IN_FLIGHT) {
            struct conn *c = malloc(sizeof *c);
            conns[next++] = c;
            if (!c || !conn_start(c)) {
                if (c)
                    c->state = FAILED;
                failed++;
                continue;
            }
            watch(epoll_fd, c, EPOLLOUT, EPOLL_CTL_ADD);
            in_flight++;
        }
        int ready = epoll_wait(epoll_fd, events, 256, 100);
        for (int i = 0; i < ready; i++) {
            struct conn *c = events[i].data.ptr;
            int wants = conn_step(c);
            if (wants > 0) {
                watch(epoll_fd, c, wants, EPOLL_CTL_MOD);
                continue;
            }
            epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
            in_flight--;
            last_progress = now_ms();
            if (wants == 0) {
                ok++;
            } else {
                c->state = FAILED;
                conn_end(c);
                failed++;
            }
        }
    }
    printf("READY ok=%d failed=%d pending=%d ms=%.0f open=%d\n", ok, failed, count - ok - failed, now_ms() - start,
           count_held(conns, count));
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        line[0] = '\0';
    double times[FRESH], worst = 0;
    int fresh_ok = 0;
    for (int i = 0; i < FRESH; i++) {
        double t = fresh_request(2000);
        if (t < 0)
            break;
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

int main(int argc, char **argv)
{
    bool handshake = argc == 7 && strcmp(argv[1], "handshake") == 0;
    bool idle = argc >= 4 && argc <= 6 && strcmp(argv[1], "idle") == 0;
    if (!handshake && !idle) {
        fprintf(stderr, "usage: %s handshake PORT CONNECTIONS SECONDS PATH full|resume\n"
                        "       %s idle PORT COUNT [PATH [TIMEOUT_SECONDS]]\n", argv[0], argv[0]);
        return 2;
    }
    int port = atoi(argv[2]);
    int count = atoi(argv[3]);
    const char *path = argc > 4 ? (handshake ? argv[5] : argv[4]) : "/index.html";
    if (port <= 0 || port > 65535 || count <= 0) {
        fprintf(stderr, "tls_client: bad arguments\n");
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

    context = SSL_CTX_new(TLS_client_method());
    if (!context)
        return 1;
    SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION);
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, NULL);
    /* Sessions are kept by hand (saved), not in OpenSSL's client cache. */
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);

    if (handshake) {
        if (strcmp(argv[6], "full") != 0 && strcmp(argv[6], "resume") != 0) {
            fprintf(stderr, "tls_client: full or resume, not %s\n", argv[6]);
            return 2;
        }
        resume = strcmp(argv[6], "resume") == 0;
        request_length = snprintf(request, sizeof request,
                                  "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                  "User-Agent: weft-bench-tls\r\n\r\n", path);
        return run_handshakes(count, atof(argv[4]));
    }
    request_length = snprintf(request, sizeof request,
                              "GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: weft-bench-idle\r\n\r\n", path);
    return run_idle(count, (argc > 5 ? atof(argv[5]) : 15) * 1000);
}
