/*
 * proxy_protocol.h — the PROXY protocol header (HAProxy's proxy-protocol.txt,
 * versions 1 and 2) that a load balancer sends before anything else on a
 * connection, naming the client it accepted the connection from.
 *
 * The parser is incremental and allocates nothing: feed it the bytes as
 * they arrive, in pieces of any size, and it says how many of them belong
 * to the header.  It never asks for a byte beyond the header's end, so a
 * caller can peek at the socket, feed what it saw and then consume exactly
 * the bytes the parser used: what follows (a TLS ClientHello, a request)
 * stays queued for whoever reads next.
 *
 * Strict, as the specification asks of a receiver:
 *  - version 1: "PROXY " then TCP4, TCP6 or UNKNOWN, single spaces, two
 *    addresses of the named family in their canonical text forms (no
 *    leading zeros in IPv4), two ports 0..65535 in decimal without leading
 *    zeros, CRLF; at most 107 bytes in all; only printable ASCII.  UNKNOWN
 *    may carry anything printable up to the CRLF, and names no addresses.
 *  - version 2: the 12-byte signature, version 2, command LOCAL or PROXY,
 *    family UNSPEC, INET, INET6 or UNIX with transport UNSPEC, STREAM or
 *    DGRAM, and a 16-bit length.  For PROXY the address block must be long
 *    enough for the family, and what follows it must be a sequence of
 *    whole TLVs (type, 16-bit length, value), which are skipped.  LOCAL's
 *    block is skipped unread.
 * Any other first byte than 'P' (version 1) or '\r' (version 2) fails at
 * once, so a client that speaks HTTP or TLS directly is told apart on its
 * first byte.
 */
#ifndef WEFT_HTTP_PROXY_PROTOCOL_H
#define WEFT_HTTP_PROXY_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/common.h"

#define PROXY_V1_MAX_LENGTH 107      /* "PROXY TCP6 " + 2 x 39 + 2 x 5 + 3 spaces + CRLF */
#define PROXY_V2_HEAD_LENGTH 16
#define PROXY_V2_SIGNATURE "\r\n\r\n\0\r\nQUIT\n"
#define PROXY_V2_SIGNATURE_LENGTH 12

/* What a complete header says.  family AF_INET or AF_INET6: the client and
 * the address it connected to are source and destination (network byte
 * order, 4 or 16 bytes, ports in host order).  AF_UNSPEC: the header names
 * no IP endpoints (v1 UNKNOWN, v2 LOCAL — a balancer's own health check —,
 * v2 UNSPEC or UNIX): the receiver keeps the connection's own addresses. */
typedef struct {
    int version;                    /* 1 or 2 */
    bool local;                     /* v2 LOCAL command */
    int family;
    unsigned char source[16];
    unsigned char destination[16];
    uint16_t source_port;
    uint16_t destination_port;
} proxy_header;

typedef struct {
    uint8_t state;                  /* private */
    uint8_t v2_family;              /* private: the v2 family/transport byte */
    uint16_t have;                  /* private: bytes collected into collected[] */
    uint32_t block_left;            /* private: v2 address block bytes not yet seen */
    uint32_t skip;                  /* private: bytes of a TLV value (or LOCAL block) to skip */
    uint32_t total;                 /* bytes of the header used so far */
    unsigned char collected[PROXY_V1_MAX_LENGTH + 1];
    const char *error;              /* after WEFT_ERROR: why, for the log */
    proxy_header header;            /* after WEFT_OK */
} proxy_parser;

void proxy_parser_init(proxy_parser *p);

/* Feeds data[0..length).  *used is set to how many of those bytes belong to
 * the header (or, on error, how far the parser read).  Returns WEFT_AGAIN
 * when every byte was used and the header is not complete yet, WEFT_OK when
 * it is complete (p->header; the bytes after *used are not the header's),
 * WEFT_ERROR when it is malformed (p->error).  Once OK or ERROR, it stays
 * so. */
int proxy_parse(proxy_parser *p, const unsigned char *data, size_t length, size_t *used);

#endif
