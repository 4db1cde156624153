/* Unit tests for src/http/proxy_protocol.c: every valid header is accepted
 * whole, byte by byte and split at every point, with the bytes after it
 * left alone; every proper prefix asks for more; malformed headers fail,
 * however they are fed; the length limits of both versions. */
#include "tap.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "../../src/http/proxy_protocol.c"

#define TRAILER "GET / HTTP/1.1\r\n"

typedef struct {
    unsigned char bytes[70000];
    size_t length;
} sample;

static void append(sample *s, const void *data, size_t length)
{
    if (length)
        memcpy(s->bytes + s->length, data, length);
    s->length += length;
}

static void text(sample *s, const char *t)
{
    s->length = 0;
    append(s, t, strlen(t));
}

/* A v2 header: version_command, family, then the block. */
static void v2(sample *s, unsigned version_command, unsigned family, const void *block, size_t block_length)
{
    s->length = 0;
    append(s, PROXY_V2_SIGNATURE, PROXY_V2_SIGNATURE_LENGTH);
    unsigned char head[4] = { (unsigned char)version_command, (unsigned char)family,
                              (unsigned char)(block_length >> 8), (unsigned char)block_length };
    append(s, head, 4);
    append(s, block, block_length);
}

/* Feeds s in pieces of `piece` bytes (0: whole); returns the final code and
 * the total bytes used; *again_ok says whether every piece before the last
 * returned AGAIN having used all of it. */
static int feed(const sample *s, size_t piece, size_t *total, bool *again_ok, proxy_parser *p)
{
    proxy_parser_init(p);
    *total = 0;
    *again_ok = true;
    int rc = WEFT_AGAIN;
    size_t at = 0;
    while (at < s->length) {
        size_t n = piece ? piece : s->length;
        if (n > s->length - at)
            n = s->length - at;
        size_t used = 0;
        rc = proxy_parse(p, s->bytes + at, n, &used);
        *total += used;
        at += n;
        if (rc != WEFT_AGAIN)
            break;
        if (used != n)
            *again_ok = false;
    }
    return rc;
}

/* header is valid and header_length long; checks every way of feeding it
 * followed by a request. */
static void accepts(const char *name, const sample *header, int family, const char *source, int source_port)
{
    sample s = *header;
    append(&s, TRAILER, strlen(TRAILER));
    proxy_parser p;
    size_t total;
    bool again_ok;
    bool good = true;
    size_t pieces[] = { 0, 1, 2, 3, 7, 13, 16, 100 };
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        int rc = feed(&s, pieces[i], &total, &again_ok, &p);
        if (rc != WEFT_OK || total != header->length || !again_ok) {
            note("  %s: pieces of %zu: rc %d used %zu of %zu (%s)", name, pieces[i], rc, total, header->length,
                 p.error ? p.error : "");
            good = false;
        }
    }
    /* Split in two at every point. */
    for (size_t split = 1; split < header->length && good; split++) {
        proxy_parser_init(&p);
        size_t used1 = 0, used2 = 0;
        int rc1 = proxy_parse(&p, s.bytes, split, &used1);
        int rc2 = proxy_parse(&p, s.bytes + split, s.length - split, &used2);
        if (rc1 != WEFT_AGAIN || used1 != split || rc2 != WEFT_OK || used1 + used2 != header->length) {
            note("  %s: split at %zu: %d/%zu %d/%zu", name, split, rc1, used1, rc2, used2);
            good = false;
        }
    }
    /* Done is sticky, and uses nothing more. */
    size_t more = 99;
    good = good && proxy_parse(&p, s.bytes, 4, &more) == WEFT_OK && more == 0;
    ok(good, "%s: accepted whole, in pieces and split anywhere, the request after it left alone", name);
    feed(header, 0, &total, &again_ok, &p);
    char text_address[INET6_ADDRSTRLEN] = "-";
    if (p.header.family == AF_INET || p.header.family == AF_INET6)
        inet_ntop(p.header.family, p.header.source, text_address, sizeof(text_address));
    if (!ok(p.header.family == family && strcmp(text_address, source) == 0 && p.header.source_port == source_port,
            "%s: family %d source %s port %d", name, family, source, source_port))
        note("  got family %d source %s port %d", p.header.family, text_address, p.header.source_port);
}

static void refuses(const char *name, const sample *header)
{
    proxy_parser p;
    size_t total;
    bool again_ok;
    bool good = true;
    size_t pieces[] = { 0, 1, 5 };
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        int rc = feed(header, pieces[i], &total, &again_ok, &p);
        if (rc != WEFT_ERROR || !p.error) {
            note("  %s: pieces of %zu: rc %d", name, pieces[i], rc);
            good = false;
        }
    }
    size_t more;
    good = good && proxy_parse(&p, header->bytes, 1, &more) == WEFT_ERROR;
    ok(good, "%s: refused (%s)", name, p.error ? p.error : "no reason");
}

static void refuses_text(const char *name, const char *t)
{
    sample s;
    text(&s, t);
    refuses(name, &s);
}

/* Every proper prefix of header asks for more. */
static void prefixes_wait(const char *name, const sample *header)
{
    bool good = true;
    for (size_t length = 0; length < header->length; length++) {
        proxy_parser p;
        proxy_parser_init(&p);
        size_t used = 0;
        if (proxy_parse(&p, header->bytes, length, &used) != WEFT_AGAIN || used != length) {
            note("  %s: prefix of %zu", name, length);
            good = false;
        }
    }
    ok(good, "%s: every proper prefix asks for more", name);
}

int main(void)
{
    static sample s;
    unsigned char block[70000];

    /* ---- version 1 */
    text(&s, "PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\n");
    accepts("v1 TCP4", &s, AF_INET, "203.0.113.7", 51000);
    prefixes_wait("v1 TCP4", &s);
    text(&s, "PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n");
    accepts("v1 TCP6, ports 0 and 65535", &s, AF_INET6, "2001:db8::1", 0);
    text(&s, "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
             "65535 65535\r\n");
    accepts("v1 TCP6 at its longest", &s, AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
    text(&s, "PROXY UNKNOWN\r\n");
    accepts("v1 UNKNOWN", &s, AF_UNSPEC, "-", 0);
    char longest[200];
    snprintf(longest, sizeof(longest), "PROXY UNKNOWN %.*s\r\n", 91,
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    text(&s, longest);
    is_int((int)s.length, 107, "the longest v1 line is 107 bytes");
    accepts("v1 UNKNOWN with 107 bytes", &s, AF_UNSPEC, "-", 0);
    snprintf(longest, sizeof(longest), "PROXY UNKNOWN %.*s\r\n", 92,
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    refuses_text("v1 of 108 bytes", longest);
    refuses_text("v1 without end", "PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    refuses_text("a request instead", "GET / HTTP/1.1\r\n\r\n");
    refuses_text("a TLS ClientHello instead", "\x16\x03\x01\x02\x00");
    refuses_text("lower case", "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n");
    refuses_text("no space after PROXY", "PROXYTCP4 1.2.3.4 1.2.3.4 1 2\r\n");
    refuses_text("TCP5", "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n");
    refuses_text("UNKNOWNX", "PROXY UNKNOWNX\r\n");
    refuses_text("PROXY alone", "PROXY \r\n");
    refuses_text("missing port", "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n");
    refuses_text("extra field", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n");
    refuses_text("two spaces", "PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n");
    refuses_text("trailing space", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n");
    refuses_text("tab", "PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n");
    refuses_text("port 65536", "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n");
    refuses_text("port with a leading zero", "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n");
    refuses_text("port with a sign", "PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n");
    refuses_text("IPv6 in TCP4", "PROXY TCP4 ::1 ::1 1 2\r\n");
    refuses_text("IPv4 in TCP6", "PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n");
    refuses_text("octet 256", "PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n");
    refuses_text("octet with a leading zero", "PROXY TCP4 1.2.3.04 1.2.3.4 1 2\r\n");
    refuses_text("short IPv4", "PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n");
    refuses_text("a host name", "PROXY TCP4 localhost 1.2.3.4 1 2\r\n");
    refuses_text("LF without CR", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n");
    refuses_text("CR without LF", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX");
    refuses_text("CR in the middle", "PROXY TCP4 1.2.3.4\r 1.2.3.4 1 2\r\n");
    {
        sample nul;
        nul.length = 0;
        append(&nul, "PROXY UNKNOWN \0\r\n", 17);
        refuses("a NUL byte", &nul);
    }

    /* ---- version 2 */
    unsigned char inet[12] = { 203, 0, 113, 9, 192, 0, 2, 1, 0x9c, 0x40, 0x01, 0xbb };
    v2(&s, 0x21, 0x11, inet, sizeof(inet));
    accepts("v2 PROXY INET", &s, AF_INET, "203.0.113.9", 40000);
    prefixes_wait("v2 PROXY INET", &s);
    unsigned char inet6[36] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1, [16] = 0x20, [17] = 0x01, [18] = 0x0d,
                                [19] = 0xb8, [31] = 2, [32] = 0x04, [33] = 0xd2, [34] = 0, [35] = 80 };
    v2(&s, 0x21, 0x21, inet6, sizeof(inet6));
    accepts("v2 PROXY INET6", &s, AF_INET6, "2001:db8::1", 1234);
    v2(&s, 0x21, 0x12, inet, sizeof(inet));
    accepts("v2 PROXY INET over DGRAM", &s, AF_INET, "203.0.113.9", 40000);
    memset(block, 0, sizeof(block));
    v2(&s, 0x21, 0x31, block, 216);
    accepts("v2 PROXY UNIX (no IP endpoints)", &s, AF_UNSPEC, "-", 0);
    v2(&s, 0x21, 0x00, NULL, 0);
    accepts("v2 PROXY UNSPEC", &s, AF_UNSPEC, "-", 0);
    v2(&s, 0x20, 0x00, NULL, 0);
    accepts("v2 LOCAL", &s, AF_UNSPEC, "-", 0);
    v2(&s, 0x20, 0x11, inet, sizeof(inet));
    accepts("v2 LOCAL with addresses, ignored", &s, AF_UNSPEC, "-", 0);
    v2(&s, 0x20, 0x11, inet, 3);
    accepts("v2 LOCAL with a block shorter than its family", &s, AF_UNSPEC, "-", 0);

    /* TLVs after the addresses: skipped when whole. */
    size_t at = 0;
    memcpy(block, inet, 12);
    at = 12;
    const unsigned char tlvs[] = { 0x01, 0x00, 0x02, 'h', '2', 0x04, 0x00, 0x00, 0x05, 0x00, 0x03, 'a', 'b', 'c' };
    memcpy(block + at, tlvs, sizeof(tlvs));
    at += sizeof(tlvs);
    v2(&s, 0x21, 0x11, block, at);
    accepts("v2 with TLVs (ALPN, NOOP empty, UNIQUE_ID)", &s, AF_INET, "203.0.113.9", 40000);
    prefixes_wait("v2 with TLVs", &s);
    /* The longest: 65535 bytes of block, a TLV filling what the addresses leave. */
    memcpy(block, inet, 12);
    size_t value = 65535 - 12 - 3;
    block[12] = 0xE0;
    block[13] = (unsigned char)(value >> 8);
    block[14] = (unsigned char)value;
    memset(block + 15, 'v', value);
    v2(&s, 0x21, 0x11, block, 65535);
    accepts("v2 of 65535 block bytes (the most a length can say)", &s, AF_INET, "203.0.113.9", 40000);
    /* A TLV that overruns the block by one byte. */
    block[14] = (unsigned char)(value + 1);
    block[13] = (unsigned char)((value + 1) >> 8);
    v2(&s, 0x21, 0x11, block, 65535);
    refuses("v2 with a TLV one byte longer than the block", &s);
    /* Leftover bytes too few for a TLV header. */
    memcpy(block, inet, 12);
    block[12] = 0x04;
    block[13] = 0x00;
    v2(&s, 0x21, 0x11, block, 14);
    refuses("v2 with 2 bytes after the addresses", &s);
    v2(&s, 0x21, 0x11, inet, 11);
    refuses("v2 INET with an 11-byte block", &s);
    v2(&s, 0x21, 0x21, inet6, 35);
    refuses("v2 INET6 with a 35-byte block", &s);
    v2(&s, 0x21, 0x31, block, 215);
    refuses("v2 UNIX with a 215-byte block", &s);
    v2(&s, 0x11, 0x11, inet, sizeof(inet));
    refuses("v2 header with version 1", &s);
    v2(&s, 0x31, 0x11, inet, sizeof(inet));
    refuses("v2 header with version 3", &s);
    v2(&s, 0x22, 0x11, inet, sizeof(inet));
    refuses("v2 with command 2", &s);
    v2(&s, 0x21, 0x41, inet, sizeof(inet));
    refuses("v2 with family 4", &s);
    v2(&s, 0x21, 0x13, inet, sizeof(inet));
    refuses("v2 with transport 3", &s);
    v2(&s, 0x21, 0x11, inet, sizeof(inet));
    s.bytes[11] = 'X';
    refuses("v2 with a bad signature", &s);
    text(&s, "\r\n\r\nGET");
    refuses("a request with blank lines before it", &s);

    return done_testing();
}
