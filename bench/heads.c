/*
 * heads.c — the benchmark client for request heads held in memory
 * (issue 11: memory per connection is bounded in name only).
 *
 *   heads PORT CONTROL_PID [CONNECTIONS [SECONDS [HEAD_BYTES [CHUNK [INTERVAL_MS]]]]]
 *
 * Opens CONNECTIONS (default 2000) connections to 127.0.0.1:PORT.  Each
 * trickles one request head of HEAD_BYTES (default 65536, the largest
 * LimitRequestHeadSize allows by default): the request line, Host and
 * header fields of 8000 bytes (under LimitRequestFieldSize), sent CHUNK
 * bytes (default 1500) every INTERVAL_MS (default 500) per connection, so
 * that RequestReadTimeout's default MinRate=500 keeps extending its
 * deadline; the final empty line is never sent, so the head stays
 * incomplete until the server gives up on it (408 at header=...-40 s).  A
 * connection the server closes (a cut, a 408) is opened again at once and
 * starts a new head: the pressure stays for SECONDS (default 45).
 *
 * Meanwhile another thread, every 100 ms:
 *  - reads VmRSS of every child of CONTROL_PID (/proc/PID/task/PID/children
 *    and /proc/CHILD/status) and keeps the largest child and the largest sum;
 *  - times one fresh request on a new connection (connect, "GET /" with
 *    Connection: close, read the whole response): a request not answered
 *    within 2 s, or not with 200, counts as failed.
 *
 * Prints one summary line per quantity (see the end of main), for
 * bench/heads and docs/performance.md; on standard error, progress every
 * 5 s and every fresh request that took 50 ms or more, with its time.
 *
 * Build: cc -O2 -std=c17 -Wall -Wextra -Werror -pthread -o heads heads.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FIELD_BYTES 8000
#define SAMPLE_MS 100
#define FRESH_TIMEOUT_MS 2000
#define MAX_SAMPLES 100000

struct conn {
    int fd;
    size_t sent;           /* bytes of the head sent on this connection */
    double next_ms;        /* when the next chunk is due */
};

static struct sockaddr_in target;
static char *head;
static size_t head_length;
static atomic_bool finished;
static int control_pid;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static void build_head(const char *host, size_t total)
{
    head = malloc(total + 64);
    size_t n = (size_t)sprintf(head, "GET / HTTP/1.1\r\nHost: %s\r\n", host);
    /* Everything but the final CRLF: the head is never complete. */
    size_t goal = total - 2;
    for (int i = 0; n + 2 < goal; i++) {
        size_t room = goal - n - 2;
        int name = sprintf(head + n, "X-Pad-%03d: ", i);
        size_t value = FIELD_BYTES - (size_t)name;
        if (value + (size_t)name > room)
            value = room > (size_t)name ? room - (size_t)name : 1;
        memset(head + n + name, 'p', value);
        n += (size_t)name + value;
        memcpy(head + n, "\r\n", 2);
        n += 2;
    }
    head_length = n;
}

static int open_connection(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&target, sizeof(target)) < 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* ---- the sampling thread ---------------------------------------------- */

static long rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long kb = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static long max_child_kb, max_total_kb, children_seen;

static void sample_rss(void)
{
    char path[64], text[4096];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", control_pid, control_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    long total = 0, count = 0;
    char *state = NULL;
    for (char *word = strtok_r(text, " \n", &state); word; word = strtok_r(NULL, " \n", &state)) {
        long kb = rss_kb(atoi(word));
        total += kb;
        count++;
        if (kb > max_child_kb)
            max_child_kb = kb;
    }
    if (total > max_total_kb)
        max_total_kb = total;
    if (count > children_seen)
        children_seen = count;
}

/* One fresh request; its time in ms, or -1 if it failed. */
static double fresh_request(void)
{
    double start = now_ms();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    double result = -1;
    if (connect(fd, (struct sockaddr *)&target, sizeof(target)) < 0 && errno != EINPROGRESS)
        goto out;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    if (poll(&p, 1, FRESH_TIMEOUT_MS) != 1)
        goto out;
    static const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(request) - 1)
        goto out;
    char response[8192];
    size_t got = 0;
    for (;;) {
        int left = FRESH_TIMEOUT_MS - (int)(now_ms() - start);
        if (left <= 0)
            goto out;
        p.events = POLLIN;
        if (poll(&p, 1, left) != 1)
            goto out;
        ssize_t n = recv(fd, response + got, sizeof(response) - 1 - got, 0);
        if (n < 0 && errno == EAGAIN)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == sizeof(response) - 1)
            got = 16;  /* keep the status line; the rest is not needed */
    }
    response[got] = '\0';
    if (strncmp(response, "HTTP/1.1 200 ", 13) == 0)
        result = now_ms() - start;
out:
    close(fd);
    return result;
}

static double latencies[MAX_SAMPLES];
static int fresh_ok, fresh_failed;

static double run_started_ms;

static void *sampler(void *unused)
{
    (void)unused;
    while (!atomic_load(&finished)) {
        double start = now_ms();
        sample_rss();
        double ms = fresh_request();
        if (ms < 0)
            fresh_failed++;
        else if (fresh_ok < MAX_SAMPLES)
            latencies[fresh_ok++] = ms;
        if (ms < 0 || ms >= 50)
            fprintf(stderr, "heads: %6.1f s: fresh request %s %.1f ms\n", (start - run_started_ms) / 1000,
                    ms < 0 ? "failed after" : "took", ms < 0 ? now_ms() - start : ms);
        double left = SAMPLE_MS - (now_ms() - start);
        if (left > 0)
            usleep((useconds_t)(left * 1000));
    }
    return NULL;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: heads PORT CONTROL_PID [CONNECTIONS [SECONDS [HEAD_BYTES [CHUNK [INTERVAL_MS]]]]]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    control_pid = atoi(argv[2]);
    int count = argc > 3 ? atoi(argv[3]) : 2000;
    int seconds = argc > 4 ? atoi(argv[4]) : 45;
    size_t head_bytes = argc > 5 ? (size_t)atol(argv[5]) : 65536;
    size_t chunk = argc > 6 ? (size_t)atol(argv[6]) : 1500;
    int interval = argc > 7 ? atoi(argv[7]) : 500;
    if (count < 1 || seconds < 1 || head_bytes < 128 || chunk < 1 || interval < 1) {
        fprintf(stderr, "heads: bad arguments\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < (rlim_t)count + 64) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)port);
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    build_head("127.0.0.1", head_bytes);

    struct conn *conns = calloc((size_t)count, sizeof(struct conn));
    double start = now_ms();
    int opened = 0;
    for (int i = 0; i < count; i++) {
        conns[i].fd = open_connection();
        if (conns[i].fd >= 0)
            opened++;
        /* Staggered, so that the sends spread over each interval. */
        conns[i].next_ms = start + (double)(i % interval);
    }
    run_started_ms = start;
    pthread_t thread;
    pthread_create(&thread, NULL, sampler, NULL);

    unsigned long long bytes = 0, reopened = 0, full_heads = 0, open_failures = 0;
    double end = start + seconds * 1000.0;
    double next_report = start + 5000;
    for (double now = now_ms(); now < end; now = now_ms()) {
        for (int i = 0; i < count; i++) {
            struct conn *c = &conns[i];
            if (c->next_ms > now)
                continue;
            c->next_ms = now + interval;
            if (c->fd < 0) {
                c->fd = open_connection();
                c->sent = 0;
                if (c->fd < 0) {
                    open_failures++;
                    continue;
                }
                reopened++;
            }
            if (c->sent == head_length) {
                /* Holding a whole head: just see whether the server let go. */
                char scrap[512];
                ssize_t n = recv(c->fd, scrap, sizeof(scrap), MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN)) {
                    close(c->fd);
                    c->fd = -1;
                    c->next_ms = now;
                }
                continue;
            }
            size_t want = head_length - c->sent < chunk ? head_length - c->sent : chunk;
            ssize_t n = send(c->fd, head + c->sent, want, MSG_NOSIGNAL);
            if (n > 0) {
                c->sent += (size_t)n;
                bytes += (unsigned long long)n;
                if (c->sent == head_length)
                    full_heads++;
            } else if (n < 0 && errno != EAGAIN) {
                /* Cut by the server (or timed out): start over at once. */
                close(c->fd);
                c->fd = -1;
                c->next_ms = now;
            }
        }
        if (now >= next_report) {
            next_report += 5000;
            fprintf(stderr, "heads: %4.0f s: %llu bytes sent, %llu reopened, max child RSS %ld kB\n",
                    (now - start) / 1000, bytes, reopened, max_child_kb);
        }
        usleep(10000);
    }
    atomic_store(&finished, true);
    pthread_join(thread, NULL);
    for (int i = 0; i < count; i++)
        if (conns[i].fd >= 0)
            close(conns[i].fd);

    qsort(latencies, (size_t)fresh_ok, sizeof(double), compare_doubles);
    double p50 = fresh_ok ? latencies[fresh_ok / 2] : -1;
    double p99 = fresh_ok ? latencies[(fresh_ok * 99) / 100 < fresh_ok ? (fresh_ok * 99) / 100 : fresh_ok - 1] : -1;
    double max = fresh_ok ? latencies[fresh_ok - 1] : -1;
    printf("HEADS connections=%d opened=%d seconds=%d head_bytes=%zu chunk=%zu interval_ms=%d\n", count, opened,
           seconds, head_length + 2, chunk, interval);
    printf("SENT bytes=%llu full_heads=%llu reopened=%llu open_failures=%llu\n", bytes, full_heads, reopened,
           open_failures);
    printf("RSS max_child_kb=%ld max_total_kb=%ld children=%ld\n", max_child_kb, max_total_kb, children_seen);
    printf("FRESH ok=%d failed=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", fresh_ok, fresh_failed, p50, p99, max);
    free(conns);
    free(head);
    return 0;
}
