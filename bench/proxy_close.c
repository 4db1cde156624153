/*
 * proxy_close.c — the close-per-request load as a balancer in front of weft
 * makes it: every request on a new connection, optionally preceded by a
 * PROXY protocol header (v1 or v2) or carrying X-Forwarded-For.  Used by
 * bench/remoteip_cost (docs/performance.md, "PROXY protocol and
 * RemoteIPHeader").
 *
 *   proxy_close PORT SECONDS CONNECTIONS plain|v1|v2|xff
 *
 * CONNECTIONS threads each connect, send the header and the request in one
 * write (as HAProxy does when the request is already there), read until the
 * server closes, and start again, until SECONDS have passed.  Prints
 * "requests N errors N seconds S".  127.0.0.1 only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static double seconds;
static char message[512];
static size_t message_length;
static atomic_long requests, errors;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *run(void *unused)
{
    (void)unused;
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    double deadline = now() + seconds;
    char buffer[16384];
    while (now() < deadline) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
            if (fd >= 0)
                close(fd);
            atomic_fetch_add(&errors, 1);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        bool good = write(fd, message, message_length) == (ssize_t)message_length;
        size_t got = 0;
        ssize_t n;
        char first[16] = "";
        while (good && (n = read(fd, buffer, sizeof(buffer))) > 0) {
            if (got < sizeof(first) - 1)
                memcpy(first + got, buffer, (size_t)n < sizeof(first) - 1 - got ? (size_t)n : sizeof(first) - 1 - got);
            got += (size_t)n;
        }
        close(fd);
        if (good && strncmp(first, "HTTP/1.1 200", 12) == 0)
            atomic_fetch_add(&requests, 1);
        else
            atomic_fetch_add(&errors, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: proxy_close PORT SECONDS CONNECTIONS plain|v1|v2|xff\n");
        return 2;
    }
    port = atoi(argv[1]);
    seconds = atof(argv[2]);
    int connections = atoi(argv[3]);
    const char *mode = argv[4];
    const char *request = "GET /index.html HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n";
    size_t at = 0;
    if (strcmp(mode, "v1") == 0) {
        at = (size_t)snprintf(message, sizeof(message), "PROXY TCP4 203.0.113.7 127.0.0.1 51000 %d\r\n", port);
    } else if (strcmp(mode, "v2") == 0) {
        static const unsigned char head[] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n',
                                              0x21, 0x11, 0x00, 0x0c, 203, 0, 113, 7, 127, 0, 0, 1,
                                              0xc7, 0x38, 0x1f, 0x90 };
        memcpy(message, head, sizeof(head));
        at = sizeof(head);
    } else if (strcmp(mode, "plain") != 0 && strcmp(mode, "xff") != 0) {
        fprintf(stderr, "proxy_close: unknown mode %s\n", mode);
        return 2;
    }
    at += (size_t)snprintf(message + at, sizeof(message) - at, "%s%s\r\n", request,
                           strcmp(mode, "xff") == 0 ? "X-Forwarded-For: 203.0.113.7, 198.51.100.7\r\n" : "");
    message_length = at;
    pthread_t threads[256];
    if (connections < 1 || connections > 256)
        return 2;
    double start = now();
    for (int i = 0; i < connections; i++)
        pthread_create(&threads[i], NULL, run, NULL);
    for (int i = 0; i < connections; i++)
        pthread_join(threads[i], NULL);
    printf("requests %ld errors %ld seconds %.3f\n", atomic_load(&requests), atomic_load(&errors), now() - start);
    return 0;
}
