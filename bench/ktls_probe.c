/*
 * ktls_probe.c — can this machine do kernel TLS (docs/performance.md, "Kernel TLS")?
 *
 *   ktls_probe CERTIFICATE KEY
 *
 * 1. Whether OpenSSL was built with KTLS (OPENSSL_NO_KTLS undefined).
 * 2. setsockopt(TCP_ULP, "tls") on a connected loopback TCP socket: what
 *    the kernel says (ENOENT: no "tls" upper layer protocol).
 * 3. A real TLS 1.3 handshake over loopback TCP (one thread, blocking
 *    sockets, a client thread-less pair: the server side accepts after the
 *    client's non-blocking connect) with SSL_OP_ENABLE_KTLS on both sides,
 *    then BIO_get_ktls_send/recv on the server: whether OpenSSL handed the
 *    keys to the kernel.
 *
 * Build: cc -O2 -std=c17 -Wall -Wextra -Werror -pthread -o ktls_probe ktls_probe.c -lssl -lcrypto
 * Contacts 127.0.0.1 only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

static int listener(struct sockaddr_in *address)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t size = sizeof *address;
    memset(address, 0, sizeof *address);
    address->sin_family = AF_INET;
    address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)address, sizeof *address) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)address, &size) < 0)
        return -1;
    return fd;
}

static void *client(void *argument)
{
    const struct sockaddr_in *address = argument;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)address, sizeof *address) < 0)
        return NULL;
    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION);
    SSL_CTX_set_options(context, SSL_OP_ENABLE_KTLS);
    SSL *ssl = SSL_new(context);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) {
        char buffer[16];
        SSL_read(ssl, buffer, sizeof buffer);
    }
    SSL_free(ssl);
    SSL_CTX_free(context);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s CERTIFICATE KEY\n", argv[0]);
        return 2;
    }
#ifdef OPENSSL_NO_KTLS
    printf("openssl: %s, built without KTLS (OPENSSL_NO_KTLS)\n", OpenSSL_version(OPENSSL_VERSION));
#else
    printf("openssl: %s, built with KTLS support (OPENSSL_NO_KTLS undefined)\n", OpenSSL_version(OPENSSL_VERSION));
#endif

    struct sockaddr_in address;
    int listen_fd = listener(&address);
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd < 0 || probe < 0 || connect(probe, (struct sockaddr *)&address, sizeof address) < 0) {
        perror("ktls_probe: loopback");
        return 1;
    }
    int accepted = accept(listen_fd, NULL, NULL);
    if (setsockopt(probe, IPPROTO_TCP, TCP_ULP, "tls", sizeof "tls") == 0)
        printf("kernel: setsockopt(TCP_ULP, \"tls\") succeeded: the kernel offers kTLS\n");
    else
        printf("kernel: setsockopt(TCP_ULP, \"tls\") failed: %s (errno %d)\n", strerror(errno), errno);
    close(probe);
    close(accepted);

    SSL_CTX *context = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION);
    SSL_CTX_set_options(context, SSL_OP_ENABLE_KTLS);
    if (SSL_CTX_use_certificate_chain_file(context, argv[1]) != 1 ||
        SSL_CTX_use_PrivateKey_file(context, argv[2], SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    pthread_t thread;
    pthread_create(&thread, NULL, client, &address);
    int fd = accept(listen_fd, NULL, NULL);
    SSL *ssl = SSL_new(context);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    printf("handshake: %s %s; with SSL_OP_ENABLE_KTLS: BIO_get_ktls_send %d, BIO_get_ktls_recv %d\n",
           SSL_get_version(ssl), SSL_get_cipher_name(ssl), BIO_get_ktls_send(SSL_get_wbio(ssl)) ? 1 : 0,
           BIO_get_ktls_recv(SSL_get_rbio(ssl)) ? 1 : 0);
    SSL_write(ssl, "x", 1);
    pthread_join(thread, NULL);
    SSL_free(ssl);
    SSL_CTX_free(context);
    close(fd);
    close(listen_fd);
    return 0;
}
