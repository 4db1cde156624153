/*
 * proxy_parse_cost.c — what parsing one PROXY protocol header costs, on one
 * thread, in CPU time (CLOCK_PROCESS_CPUTIME_ID, so that other programs on a
 * shared machine count less than in wall time): a v1 TCP4 line, a v2 INET
 * header, and a v2 INET6 header with three TLVs as AWS's and HAProxy's carry.
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -o build/proxy_parse_cost bench/proxy_parse_cost.c
 *   build/proxy_parse_cost [iterations]
 */
#include "../src/http/proxy_protocol.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void measure(const char *name, const unsigned char *header, size_t length, long iterations)
{
    proxy_parser p;
    size_t used = 0;
    long accepted = 0;
    double start = cpu_seconds();
    for (long i = 0; i < iterations; i++) {
        proxy_parser_init(&p);
        accepted += proxy_parse(&p, header, length, &used) == WEFT_OK && used == length;
    }
    double elapsed = cpu_seconds() - start;
    if (accepted != iterations) {
        fprintf(stderr, "proxy_parse_cost: %s was not accepted\n", name);
        exit(1);
    }
    printf("%-28s %3zu bytes  %7.1f ns/header\n", name, length, elapsed / (double)iterations * 1e9);
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 2000000;
    static const char v1[] = "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\n";
    static const unsigned char v2_inet[] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n',
                                             0x21, 0x11, 0x00, 0x0c, 203, 0, 113, 7, 192, 0, 2, 1,
                                             0xc7, 0x38, 0x01, 0xbb };
    unsigned char v2_tlvs[16 + 36 + 64];
    size_t at = 0;
    memcpy(v2_tlvs, PROXY_V2_SIGNATURE, 12);
    at = 16;
    v2_tlvs[12] = 0x21;
    v2_tlvs[13] = 0x21;
    for (int i = 0; i < 36; i++)
        v2_tlvs[at++] = (unsigned char)(i == 0 ? 0x20 : i == 1 ? 0x01 : i + 1);
    const unsigned char tlvs[] = { 0x01, 0x00, 0x02, 'h', '2',                       /* ALPN */
                                   0x05, 0x00, 0x10, 'i', 'd', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8',
                                   '9', 'a', 'b', 'c',                              /* UNIQUE_ID */
                                   0x04, 0x00, 0x04, 0, 0, 0, 0 };                   /* NOOP padding */
    memcpy(v2_tlvs + at, tlvs, sizeof(tlvs));
    at += sizeof(tlvs);
    v2_tlvs[14] = (unsigned char)((at - 16) >> 8);
    v2_tlvs[15] = (unsigned char)(at - 16);
    measure("v1 TCP4", (const unsigned char *)v1, sizeof(v1) - 1, iterations);
    measure("v2 INET", v2_inet, sizeof(v2_inet), iterations);
    measure("v2 INET6 with 3 TLVs", v2_tlvs, at, iterations);
    return 0;
}
