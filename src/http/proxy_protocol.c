/*
 * proxy_protocol.c — the PROXY protocol header parser (see proxy_protocol.h).
 *
 * One byte at a time through a small state machine, except for the bytes a
 * version 2 header asks us to skip (LOCAL's address block, TLV values),
 * which are taken in bulk: a 64 KiB header costs no more than its reads.
 */
#include "proxy_protocol.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

enum {
    STATE_START,
    STATE_V1,
    STATE_V2_HEAD,
    STATE_V2_ADDRESS,   /* collecting the family's addresses and ports */
    STATE_V2_TLV_HEAD,  /* collecting a TLV's type and length */
    STATE_V2_SKIP,      /* skipping p->skip bytes (a TLV value, LOCAL's block) */
    STATE_DONE,
    STATE_FAILED,
};

static const char v1_prefix[] = "PROXY ";

void proxy_parser_init(proxy_parser *p)
{
    memset(p, 0, sizeof(*p));
}

static int fail(proxy_parser *p, const char *why)
{
    p->state = STATE_FAILED;
    p->error = why;
    return WEFT_ERROR;
}

/* ---- version 1 ------------------------------------------------------------- */

/* Splits the next space-separated word off *text (up to end): false if it
 * is empty, i.e. two spaces in a row or a space at either end. */
static bool next_word(const char **text, const char *end, const char **word, size_t *length)
{
    const char *start = *text;
    const char *space = memchr(start, ' ', (size_t)(end - start));
    const char *stop = space ? space : end;
    if (stop == start)
        return false;
    *word = start;
    *length = (size_t)(stop - start);
    *text = space ? space + 1 : end;
    return !(space && space + 1 == end);
}

static bool parse_v1_port(const char *word, size_t length, uint16_t *port)
{
    if (length == 0 || length > 5 || (word[0] == '0' && length > 1))
        return false;
    unsigned value = 0;
    for (size_t i = 0; i < length; i++) {
        if (word[i] < '0' || word[i] > '9')
            return false;
        value = value * 10 + (unsigned)(word[i] - '0');
    }
    if (value > 65535)
        return false;
    *port = (uint16_t)value;
    return true;
}

static bool parse_v1_address(int family, const char *word, size_t length, unsigned char *address)
{
    char text[INET6_ADDRSTRLEN];
    if (length >= sizeof(text))
        return false;
    memcpy(text, word, length);
    text[length] = '\0';
    /* inet_pton's IPv4 form is the strict dotted quad: no leading zeros, no
     * short forms, which is what the specification allows. */
    return inet_pton(family, text, address) == 1;
}

/* The whole line is in p->collected, CRLF included. */
static int parse_v1_line(proxy_parser *p)
{
    const char *text = (const char *)p->collected + sizeof(v1_prefix) - 1;
    const char *end = (const char *)p->collected + p->have - 2;
    proxy_header *h = &p->header;
    h->version = 1;
    h->family = AF_UNSPEC;
    if ((size_t)(end - text) >= 7 && memcmp(text, "UNKNOWN", 7) == 0 &&
        (text + 7 == end || text[7] == ' '))
        return WEFT_OK;  /* whatever follows UNKNOWN is to be ignored */

    const char *protocol, *source, *destination, *source_port, *destination_port;
    size_t protocol_length, source_length, destination_length, source_port_length, destination_port_length;
    if (!next_word(&text, end, &protocol, &protocol_length) ||
        !next_word(&text, end, &source, &source_length) ||
        !next_word(&text, end, &destination, &destination_length) ||
        !next_word(&text, end, &source_port, &source_port_length))
        return fail(p, "v1: malformed line");
    if (text == end || memchr(text, ' ', (size_t)(end - text)))
        return fail(p, "v1: malformed line");
    destination_port = text;
    destination_port_length = (size_t)(end - text);

    if (protocol_length == 4 && memcmp(protocol, "TCP4", 4) == 0)
        h->family = AF_INET;
    else if (protocol_length == 4 && memcmp(protocol, "TCP6", 4) == 0)
        h->family = AF_INET6;
    else
        return fail(p, "v1: unknown protocol");
    if (!parse_v1_address(h->family, source, source_length, h->source) ||
        !parse_v1_address(h->family, destination, destination_length, h->destination))
        return fail(p, "v1: bad address");
    if (!parse_v1_port(source_port, source_port_length, &h->source_port) ||
        !parse_v1_port(destination_port, destination_port_length, &h->destination_port))
        return fail(p, "v1: bad port");
    return WEFT_OK;
}

static int feed_v1(proxy_parser *p, unsigned char byte)
{
    size_t at = p->have;
    if (at < sizeof(v1_prefix) - 1) {
        if (byte != (unsigned char)v1_prefix[at])
            return fail(p, "v1: no \"PROXY \" prefix");
    } else if (byte == '\n') {
        if (p->collected[at - 1] != '\r')
            return fail(p, "v1: LF without CR");
        p->collected[p->have++] = byte;
        int rc = parse_v1_line(p);
        if (rc == WEFT_OK)
            p->state = STATE_DONE;
        return rc;
    } else if (p->collected[at - 1] == '\r') {
        return fail(p, "v1: CR without LF");
    } else if (byte != '\r' && (byte < 0x20 || byte > 0x7e)) {
        return fail(p, "v1: a byte that is not printable ASCII");
    }
    if (at + 1 >= PROXY_V1_MAX_LENGTH)
        return fail(p, "v1: longer than 107 bytes");
    p->collected[p->have++] = byte;
    return WEFT_AGAIN;
}

/* ---- version 2 ------------------------------------------------------------- */

enum { V2_LOCAL = 0, V2_PROXY = 1 };
enum { V2_UNSPEC = 0, V2_INET = 1, V2_INET6 = 2, V2_UNIX = 3 };

static uint32_t v2_address_length(unsigned family)
{
    switch (family) {
    case V2_INET: return 12;
    case V2_INET6: return 36;
    case V2_UNIX: return 216;
    default: return 0;
    }
}

/* What comes after the address block: TLVs, or the end. */
static int after_addresses(proxy_parser *p)
{
    p->have = 0;
    if (p->block_left == 0) {
        p->state = STATE_DONE;
        return WEFT_OK;
    }
    if (p->block_left < 3)
        return fail(p, "v2: truncated TLV");
    p->state = STATE_V2_TLV_HEAD;
    return WEFT_AGAIN;
}

static int v2_head_complete(proxy_parser *p)
{
    const unsigned char *head = p->collected;
    unsigned command = head[12] & 0x0f;
    unsigned family = head[13] >> 4;
    uint32_t length = (uint32_t)head[14] << 8 | head[15];
    proxy_header *h = &p->header;
    h->version = 2;
    h->family = AF_UNSPEC;
    p->v2_family = head[13];
    p->block_left = length;
    p->have = 0;
    if (command == V2_LOCAL) {
        /* The balancer's own connection (a health check): its block, if
         * any, is to be skipped unread. */
        h->local = true;
        if (length == 0) {
            p->state = STATE_DONE;
            return WEFT_OK;
        }
        p->skip = length;
        p->block_left = 0;
        p->state = STATE_V2_SKIP;
        return WEFT_AGAIN;
    }
    uint32_t needed = v2_address_length(family);
    if (length < needed)
        return fail(p, "v2: address block shorter than its family needs");
    if (needed == 0)
        return after_addresses(p);
    p->state = STATE_V2_ADDRESS;
    return WEFT_AGAIN;
}

static void v2_take_addresses(proxy_parser *p)
{
    const unsigned char *block = p->collected;
    proxy_header *h = &p->header;
    switch (p->v2_family >> 4) {
    case V2_INET:
        h->family = AF_INET;
        memcpy(h->source, block, 4);
        memcpy(h->destination, block + 4, 4);
        h->source_port = (uint16_t)(block[8] << 8 | block[9]);
        h->destination_port = (uint16_t)(block[10] << 8 | block[11]);
        break;
    case V2_INET6:
        h->family = AF_INET6;
        memcpy(h->source, block, 16);
        memcpy(h->destination, block + 16, 16);
        h->source_port = (uint16_t)(block[32] << 8 | block[33]);
        h->destination_port = (uint16_t)(block[34] << 8 | block[35]);
        break;
    default:
        break;  /* UNIX: no IP endpoints, the connection's own stand */
    }
}

static int feed_v2_byte(proxy_parser *p, unsigned char byte)
{
    switch (p->state) {
    case STATE_V2_HEAD: {
        size_t at = p->have;
        if (at < PROXY_V2_SIGNATURE_LENGTH && byte != (unsigned char)PROXY_V2_SIGNATURE[at])
            return fail(p, "v2: bad signature");
        if (at == 12 && ((byte >> 4) != 2 || (byte & 0x0f) > V2_PROXY))
            return fail(p, "v2: bad version or command");
        if (at == 13 && ((byte >> 4) > V2_UNIX || (byte & 0x0f) > 2))
            return fail(p, "v2: bad family or transport");
        p->collected[p->have++] = byte;
        return p->have == PROXY_V2_HEAD_LENGTH ? v2_head_complete(p) : WEFT_AGAIN;
    }
    case STATE_V2_ADDRESS: {
        uint32_t needed = v2_address_length(p->v2_family >> 4);
        if (p->have < sizeof(p->collected))
            p->collected[p->have] = byte;
        p->have++;
        p->block_left--;
        if (p->have < needed)
            return WEFT_AGAIN;
        v2_take_addresses(p);
        return after_addresses(p);
    }
    case STATE_V2_TLV_HEAD:
        p->collected[p->have++] = byte;
        p->block_left--;
        if (p->have < 3)
            return WEFT_AGAIN;
        p->skip = (uint32_t)p->collected[1] << 8 | p->collected[2];
        if (p->skip > p->block_left)
            return fail(p, "v2: TLV longer than the header");
        p->block_left -= p->skip;
        p->have = 0;
        if (p->skip == 0)
            return after_addresses(p);
        p->state = STATE_V2_SKIP;
        return WEFT_AGAIN;
    default:
        return fail(p, "internal: bad state");
    }
}

/* ---- feeding --------------------------------------------------------------- */

int proxy_parse(proxy_parser *p, const unsigned char *data, size_t length, size_t *used)
{
    size_t at = 0;
    int rc = WEFT_AGAIN;
    while (rc == WEFT_AGAIN && at < length) {
        switch (p->state) {
        case STATE_START:
            if (data[at] == 'P')
                p->state = STATE_V1;
            else if (data[at] == '\r')
                p->state = STATE_V2_HEAD;
            else {
                rc = fail(p, "neither a v1 nor a v2 header");
                at++;
            }
            continue;
        case STATE_V1:
            rc = feed_v1(p, data[at++]);
            continue;
        case STATE_V2_SKIP: {
            size_t take = length - at < p->skip ? length - at : p->skip;
            at += take;
            p->skip -= (uint32_t)take;
            if (p->skip == 0)
                rc = after_addresses(p);
            continue;
        }
        case STATE_DONE:
            rc = WEFT_OK;
            continue;
        case STATE_FAILED:
            rc = WEFT_ERROR;
            continue;
        default:
            rc = feed_v2_byte(p, data[at++]);
            continue;
        }
    }
    if (rc == WEFT_AGAIN && p->state == STATE_DONE)
        rc = WEFT_OK;
    else if (rc == WEFT_AGAIN && p->state == STATE_FAILED)
        rc = WEFT_ERROR;
    p->total += (uint32_t)at;
    *used = at;
    return rc;
}
