/*
 * parser.c — request-head parser vectors.  Every vector runs four ways that
 * must agree: the whole input in one call; one more byte per call; at the
 * end of a mapping followed by a PROT_NONE page (any read past the input
 * faults); and every proper prefix with a fresh parser, also against the
 * guard page.
 */
#include "../../src/core/pool.c"
#include "../../src/http/parser.c"
#include "tap.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum { CLOSE = 1, KEEP_ALIVE = 2, CONTINUE = 4, EXPECT_OTHER = 8 };

typedef struct {
    const char *name;
    const char *raw;
    size_t size;
    int status;                  /* 0: the head is valid, else error_status */
    const http_limits *limits;   /* NULL: default_limits */
    /* Checked for valid vectors only. */
    http_method method;
    const char *method_text;     /* NULL: http_method_name(method) */
    const char *target;
    int minor;
    uint32_t fields;
    const char *content_length;  /* NULL: absent */
    bool chunked;
    const char *host;            /* NULL: no Host field */
    int flags;
    size_t after;                /* bytes after the head (body, next request) */
} request_vector;

static const http_limits default_limits = { 8190, 8190, 100, 0 };
static const http_limits small_limits = { 32, 24, 4, 0 };
static const http_limits unlimited_fields = { 8190, 8190, 0, 0 };

#define RAW(text) .raw = (text), .size = sizeof(text) - 1
#define VALID(method_, target_, minor_, fields_) \
    .method = (method_), .target = (target_), .minor = (minor_), .fields = (fields_)
#define H "Host: a\r\n"
#define GET11 "GET / HTTP/1.1\r\n"
#define POST11 "POST / HTTP/1.1\r\n" H

static const request_vector vectors[] = {
    /* ---- valid request lines ---- */
    { "simple GET", RAW(GET11 "Host: example.com\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "example.com" },
    { "HEAD", RAW("HEAD /index.html HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_HEAD, "/index.html", 1, 1), .host = "a" },
    { "POST with body", RAW(POST11 "Content-Length: 5\r\n\r\nhello"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .content_length = "5", .after = 5 },
    { "OPTIONS asterisk", RAW("OPTIONS * HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_OPTIONS, "*", 1, 1), .host = "a" },
    { "absolute-form", RAW("GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "http://example.com/p?q=1", 1, 1), .host = "example.com" },
    { "authority-form CONNECT", RAW("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_CONNECT, "example.com:443", 1, 1), .host = "example.com:443" },
    { "PUT", RAW("PUT /f HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_PUT, "/f", 1, 2), .host = "a", .content_length = "0" },
    { "DELETE", RAW("DELETE /f HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_DELETE, "/f", 1, 1), .host = "a" },
    { "TRACE", RAW("TRACE / HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_TRACE, "/", 1, 1), .host = "a" },
    { "PATCH", RAW("PATCH /x HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_PATCH, "/x", 1, 1), .host = "a" },
    { "unknown method", RAW("FOO / HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_UNKNOWN, "/", 1, 1), .method_text = "FOO", .host = "a" },
    { "methods are case-sensitive", RAW("get / HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_UNKNOWN, "/", 1, 1), .method_text = "get", .host = "a" },
    { "known method plus a letter", RAW("GETS / HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_UNKNOWN, "/", 1, 1), .method_text = "GETS", .host = "a" },
    { "prefix of a known method", RAW("GE / HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_UNKNOWN, "/", 1, 1), .method_text = "GE", .host = "a" },
    { "M-SEARCH", RAW("M-SEARCH * HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_UNKNOWN, "*", 1, 1), .method_text = "M-SEARCH", .host = "a" },
    { "every tchar in a method", RAW("!#$%&'*+-.^_`|~09AZaz / HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_UNKNOWN, "/", 1, 1), .method_text = "!#$%&'*+-.^_`|~09AZaz", .host = "a" },
    { "one-letter method", RAW("X / HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_UNKNOWN, "/", 1, 1), .method_text = "X", .host = "a" },
    { "target with query and escapes", RAW("GET /a%20b?x=1&y=2 HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/a%20b?x=1&y=2", 1, 1), .host = "a" },
    { "target with every visible delimiter", RAW("GET /!\"#$&'()*+,;=:@[]{}<>\\^`|~ HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/!\"#$&'()*+,;=:@[]{}<>\\^`|~", 1, 1), .host = "a" },
    { "one-byte target", RAW("GET x HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "x", 1, 1), .host = "a" },
    { "HTTP/1.0 without Host", RAW("GET / HTTP/1.0\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 0, 0) },
    { "HTTP/1.0 with Host", RAW("GET / HTTP/1.0\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 0, 1), .host = "a" },
    { "HTTP/1.2 is 1.1 semantics", RAW("GET / HTTP/1.2\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 2, 1), .host = "a" },
    { "HTTP/1.9", RAW("GET / HTTP/1.9\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 9, 1), .host = "a" },
    { "one leading empty line", RAW("\r\n" GET11 H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "a" },
    { "three leading empty lines", RAW("\r\n\r\n\r\n" GET11 H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "a" },

    /* ---- valid fields ---- */
    { "OWS around a value", RAW(GET11 "Host:   a  \r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "a" },
    { "tabs around a value", RAW(GET11 "Host:\ta\t\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "a" },
    { "no OWS after colon", RAW(GET11 "Host:a\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "a" },
    { "empty value", RAW(GET11 H "X-Empty:\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a" },
    { "whitespace-only value", RAW(GET11 H "X-Empty: \t \r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a" },
    { "obs-text in a value", RAW(GET11 H "X-Name: caf\xc3\xa9 \xff\x80\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a" },
    { "spaces inside a value", RAW(GET11 H "User-Agent: Mozilla/5.0 (X11;  Linux)\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a" },
    { "every tchar in a name", RAW(GET11 H "!#$%&'*+-.^_`|~09AZaz: v\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a" },
    { "Host name in odd case", RAW(GET11 "hOsT: a\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "a" },
    { "five fields", RAW(GET11 H "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 5), .host = "a" },
    { "Host after other fields", RAW(GET11 "Accept: */*\r\nUser-Agent: t\r\nHost: late\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 3), .host = "late" },
    { "empty Host in 1.1", RAW(GET11 "Host:\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "" },
    { "Host with port", RAW(GET11 "Host: example.com:8080\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "example.com:8080" },
    { "Host IPv6 literal", RAW(GET11 "Host: [::1]:80\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "[::1]:80" },
    { "Host with pct-encoding and sub-delims", RAW(GET11 "Host: a%41b!$&'()*+,;=~_.-\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "a%41b!$&'()*+,;=~_.-" },
    { "twenty fields grow the array", RAW(GET11 H
          "F1: 1\r\nF2: 2\r\nF3: 3\r\nF4: 4\r\nF5: 5\r\nF6: 6\r\nF7: 7\r\nF8: 8\r\nF9: 9\r\nF10: 10\r\n"
          "F11: 1\r\nF12: 2\r\nF13: 3\r\nF14: 4\r\nF15: 5\r\nF16: 6\r\nF17: 7\r\nF18: 8\r\nF19: 9\r\n\r\n"),
      0, NULL, VALID(HTTP_METHOD_GET, "/", 1, 20), .host = "a" },
    { "pipelined request is not consumed", RAW(GET11 H "\r\n" GET11 H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 1), .host = "a", .after = sizeof(GET11 H "\r\n") - 1 },

    /* ---- Content-Length ---- */
    { "Content-Length 0", RAW(POST11 "Content-Length: 0\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .content_length = "0" },
    { "Content-Length leading zeros", RAW(POST11 "Content-Length: 005\r\n\r\nhello"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .content_length = "5", .after = 5 },
    { "Content-Length list of equal values", RAW(POST11 "Content-Length: 5, 5\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .content_length = "5" },
    { "Content-Length list without spaces", RAW(POST11 "Content-Length: 5,5,5\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .content_length = "5" },
    { "two equal Content-Length fields", RAW(POST11 "Content-Length: 7\r\nContent-Length: 7\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 3), .host = "a", .content_length = "7" },
    { "Content-Length 2^62", RAW(POST11 "Content-Length: 4611686018427387904\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .content_length = "4611686018427387904" },
    { "Content-Length name in capitals", RAW(POST11 "CONTENT-LENGTH: 12\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .content_length = "12" },
    { "Content-Length in HTTP/1.0", RAW("POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 0, 1), .content_length = "3", .after = 3 },

    /* ---- Transfer-Encoding ---- */
    { "chunked", RAW(POST11 "Transfer-Encoding: chunked\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .chunked = true },
    { "Chunked in capitals", RAW(POST11 "transfer-encoding: CHUNKED\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .chunked = true },
    { "chunked with OWS around", RAW(POST11 "Transfer-Encoding: \t chunked \t\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .chunked = true },
    { "chunked after an empty list element", RAW(POST11 "Transfer-Encoding: , chunked\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .chunked = true },
    { "chunked on HTTP/1.2", RAW("POST / HTTP/1.2\r\n" H "Transfer-Encoding: chunked\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 2, 2), .host = "a", .chunked = true },

    /* ---- Connection and Expect ---- */
    { "Connection close", RAW(GET11 H "Connection: close\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a", .flags = CLOSE },
    { "Connection keep-alive", RAW("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 0, 1), .flags = KEEP_ALIVE },
    { "Connection list", RAW(GET11 H "Connection: Keep-Alive, Upgrade\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a", .flags = KEEP_ALIVE },
    { "Connection both", RAW(GET11 H "Connection: upgrade,CLOSE , keep-alive\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a", .flags = CLOSE | KEEP_ALIVE },
    { "Connection over two fields", RAW(GET11 H "Connection: close\r\nConnection: keep-alive\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 3), .host = "a", .flags = CLOSE | KEEP_ALIVE },
    { "Connection other option", RAW(GET11 H "Connection: upgrade\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a" },
    { "Connection closed is not close", RAW(GET11 H "Connection: closed\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a" },
    { "Expect 100-continue", RAW(POST11 "Expect: 100-continue\r\nContent-Length: 1\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 3), .host = "a", .content_length = "1", .flags = CONTINUE },
    { "Expect 100-Continue", RAW(POST11 "Expect: 100-Continue\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .flags = CONTINUE },
    { "Expect other", RAW(POST11 "Expect: 200-ok\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .flags = EXPECT_OTHER },
    { "Expect empty", RAW(POST11 "Expect:\r\n\r\n"), 0, NULL,
      VALID(HTTP_METHOD_POST, "/", 1, 2), .host = "a", .flags = EXPECT_OTHER },

    /* ---- limits met exactly ---- */
    { "request line exactly at the limit", RAW("GET /234567890123456789 HTTP/1.1\r\n" H "\r\n"), 0, &small_limits,
      VALID(HTTP_METHOD_GET, "/234567890123456789", 1, 1), .host = "a" },
    { "leading lines plus request line at the limit", RAW("\r\n\r\nGET /23456789012345 HTTP/1.1\r\n" H "\r\n"),
      0, &small_limits, VALID(HTTP_METHOD_GET, "/23456789012345", 1, 1), .host = "a" },
    { "field line exactly at the limit", RAW(GET11 H "X: 345678901234567890123\r\n\r\n"), 0, &small_limits,
      VALID(HTTP_METHOD_GET, "/", 1, 2), .host = "a" },
    { "fields exactly at the limit", RAW(GET11 H "B: 2\r\nC: 3\r\nD: 4\r\n\r\n"), 0, &small_limits,
      VALID(HTTP_METHOD_GET, "/", 1, 4), .host = "a" },
    { "limit_request_fields 0 is unlimited", RAW(GET11 H
          "F1: 1\r\nF2: 2\r\nF3: 3\r\nF4: 4\r\nF5: 5\r\nF6: 6\r\nF7: 7\r\nF8: 8\r\nF9: 9\r\nF10: 10\r\n"
          "F11: 1\r\nF12: 2\r\nF13: 3\r\nF14: 4\r\nF15: 5\r\nF16: 6\r\nF17: 7\r\nF18: 8\r\nF19: 9\r\n"
          "F20: 1\r\nF21: 2\r\nF22: 3\r\nF23: 4\r\nF24: 5\r\nF25: 6\r\nF26: 7\r\nF27: 8\r\nF28: 9\r\n"
          "F29: 1\r\nF30: 2\r\nF31: 3\r\nF32: 4\r\nF33: 5\r\nF34: 6\r\nF35: 7\r\nF36: 8\r\nF37: 9\r\n\r\n"),
      0, &unlimited_fields, VALID(HTTP_METHOD_GET, "/", 1, 38), .host = "a" },

    /* ---- bare LF and bare CR ---- */
    { "bare LF ends the request line", RAW("GET / HTTP/1.1\n" H "\r\n"), 400 },
    { "bare LF ends a field", RAW(GET11 "Host: a\n\r\n"), 400 },
    { "bare LF ends the head", RAW(GET11 H "\n"), 400 },
    { "bare LF as a leading line", RAW("\n" GET11 H "\r\n"), 400 },
    { "bare LF inside a value", RAW(GET11 H "X: a\nb\r\n\r\n"), 400 },
    { "bare LF inside a name", RAW(GET11 H "X\nY: 1\r\n\r\n"), 400 },
    { "bare LF in the target", RAW("GET /\n HTTP/1.1\r\n" H "\r\n"), 400 },
    { "bare CR inside a value", RAW(GET11 "Host: a\rb\r\n\r\n"), 400 },
    { "bare CR ends the request line", RAW("GET / HTTP/1.1\r" H "\r\n"), 400 },
    { "bare CR ends a field", RAW(GET11 "Host: a\rX: 1\r\n\r\n"), 400 },
    { "CR CR LF at the end", RAW(GET11 H "\r\r\n"), 400 },
    { "bare CR as a leading line", RAW("\r" GET11 H "\r\n"), 400 },
    { "bare CR in the target", RAW("GET /\r HTTP/1.1\r\n" H "\r\n"), 400 },
    { "bare CR in a name", RAW(GET11 H "X\r: 1\r\n\r\n"), 400 },
    { "LF CR at the end", RAW(GET11 H "\n\r"), 400 },

    /* ---- folding and whitespace ---- */
    { "obs-fold with SP", RAW(GET11 H "X: a\r\n b\r\n\r\n"), 400 },
    { "obs-fold with HTAB", RAW(GET11 H "X: a\r\n\tb\r\n\r\n"), 400 },
    { "whitespace before the first field", RAW(GET11 " Host: a\r\n\r\n"), 400 },
    { "whitespace line before the end", RAW(GET11 H " \r\n\r\n"), 400 },
    { "space before colon", RAW(GET11 "Host : a\r\n\r\n"), 400 },
    { "tab before colon", RAW(GET11 "Host\t: a\r\n\r\n"), 400 },
    { "space inside a name", RAW(GET11 H "X Y: 1\r\n\r\n"), 400 },
    { "Transfer-Encoding with space before colon", RAW(POST11 "Transfer-Encoding : chunked\r\n\r\n"), 400 },
    { "leading space before the method", RAW(" GET / HTTP/1.1\r\n" H "\r\n"), 400 },
    { "two spaces after the method", RAW("GET  / HTTP/1.1\r\n" H "\r\n"), 400 },
    { "two spaces before the version", RAW("GET /  HTTP/1.1\r\n" H "\r\n"), 400 },
    { "tab after the method", RAW("GET\t/ HTTP/1.1\r\n" H "\r\n"), 400 },
    { "tab after the target", RAW("GET /\tHTTP/1.1\r\n" H "\r\n"), 400 },
    { "space after the version", RAW("GET / HTTP/1.1 \r\n" H "\r\n"), 400 },
    { "space inside the target", RAW("GET /a b HTTP/1.1\r\n" H "\r\n"), 400 },

    /* ---- bad bytes ---- */
    { "NUL in a value", RAW(GET11 H "X: a\0b\r\n\r\n"), 400 },
    { "NUL as a value", RAW(GET11 H "X: \0\r\n\r\n"), 400 },
    { "NUL in a name", RAW(GET11 H "X\0Y: 1\r\n\r\n"), 400 },
    { "NUL in the target", RAW("GET /\0 HTTP/1.1\r\n" H "\r\n"), 400 },
    { "NUL in the method", RAW("G\0T / HTTP/1.1\r\n" H "\r\n"), 400 },
    { "NUL as the first byte", RAW("\0GET / HTTP/1.1\r\n" H "\r\n"), 400 },
    { "DEL in a value", RAW(GET11 H "X: a\x7f\r\n\r\n"), 400 },
    { "VT in a value", RAW(GET11 H "X: a\vb\r\n\r\n"), 400 },
    { "ESC in a value", RAW(GET11 H "X: \x1b[0m\r\n\r\n"), 400 },
    { "form feed in a value", RAW(GET11 H "X: a\fb\r\n\r\n"), 400 },
    { "DEL in the target", RAW("GET /\x7f HTTP/1.1\r\n" H "\r\n"), 400 },
    { "obs-text (raw UTF-8) in the target is accepted", RAW("GET /caf\xc3\xa9 HTTP/1.1\r\n" H "\r\n"), 0, NULL,
      VALID(HTTP_METHOD_GET, "/caf\xc3\xa9", 1, 1), .host = "a" },
    { "obs-text in the method", RAW("G\xc3\x89T / HTTP/1.1\r\n" H "\r\n"), 400 },
    { "obs-text in a name", RAW(GET11 H "X\xe9: 1\r\n\r\n"), 400 },
    { "delimiter in the method", RAW("GE(T / HTTP/1.1\r\n" H "\r\n"), 400 },
    { "slash in the method", RAW("GET/ / HTTP/1.1\r\n" H "\r\n"), 400 },
    { "colon in the method", RAW("GET: / HTTP/1.1\r\n" H "\r\n"), 400 },
    { "empty field name", RAW(GET11 H ": a\r\n\r\n"), 400 },
    { "at sign in a name", RAW(GET11 H "X@Y: 1\r\n\r\n"), 400 },
    { "bracket in a name", RAW(GET11 H "X[1]: 1\r\n\r\n"), 400 },
    { "quote in a name", RAW(GET11 H "\"X\": 1\r\n\r\n"), 400 },
    { "field without colon", RAW(GET11 H "Xyz\r\n\r\n"), 400 },
    { "field name with space and no colon", RAW(GET11 "Host a\r\n\r\n"), 400 },
    { "only empty lines, past the limit", RAW("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"), 414,
      &small_limits },
    { "request line without target", RAW("GET\r\n" H "\r\n"), 400 },
    { "request line without version", RAW("GET /\r\n" H "\r\n"), 400 },
    { "request line with method only and space", RAW("GET \r\n" H "\r\n"), 400 },
    { "HTTP/0.9 style request", RAW("GET /\r\n\r\n"), 400 },

    /* ---- versions ---- */
    { "lowercase version", RAW("GET / http/1.1\r\n" H "\r\n"), 400 },
    { "mixed case version", RAW("GET / Http/1.1\r\n" H "\r\n"), 400 },
    { "HTTPS in the version", RAW("GET / HTTPS/1.1\r\n" H "\r\n"), 400 },
    { "version without minor", RAW("GET / HTTP/1\r\n" H "\r\n"), 400 },
    { "version without dot", RAW("GET / HTTP/11\r\n" H "\r\n"), 400 },
    { "version HTTP/1.10", RAW("GET / HTTP/1.10\r\n" H "\r\n"), 400 },
    { "version HTTP/11.1", RAW("GET / HTTP/11.1\r\n" H "\r\n"), 400 },
    { "version HTTP/1.1.1", RAW("GET / HTTP/1.1.1\r\n" H "\r\n"), 400 },
    { "version with letters", RAW("GET / HTTP/a.b\r\n" H "\r\n"), 400 },
    { "version with comma", RAW("GET / HTTP/1,1\r\n" H "\r\n"), 400 },
    { "version with space after slash", RAW("GET / HTTP/ 1.1\r\n" H "\r\n"), 400 },
    { "version missing slash", RAW("GET / HTTP1.1\r\n" H "\r\n"), 400 },
    { "version HTTP/", RAW("GET / HTTP/\r\n" H "\r\n"), 400 },
    { "HTTP/2.0", RAW("GET / HTTP/2.0\r\n" H "\r\n"), 505 },
    { "HTTP/3.0", RAW("GET / HTTP/3.0\r\n" H "\r\n"), 505 },
    { "HTTP/0.9", RAW("GET / HTTP/0.9\r\n\r\n"), 505 },
    { "HTTP/9.9", RAW("GET / HTTP/9.9\r\n" H "\r\n"), 505 },
    { "HTTP/2 preface", RAW("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505 },
    { "HTTP/2.0 with bare LF is a 400", RAW("GET / HTTP/2.0\n\r\n"), 400 },
    { "HTTP/2.00 is a 400", RAW("GET / HTTP/2.00\r\n\r\n"), 400 },

    /* ---- Host ---- */
    { "missing Host in 1.1", RAW(GET11 "\r\n"), 400 },
    { "missing Host in 1.1 with other fields", RAW(GET11 "Accept: */*\r\n\r\n"), 400 },
    { "missing Host in 1.2", RAW("GET / HTTP/1.2\r\n\r\n"), 400 },
    { "duplicate Host same value", RAW(GET11 H H "\r\n"), 400 },
    { "duplicate Host different values", RAW(GET11 "Host: a\r\nHost: b\r\n\r\n"), 400 },
    { "duplicate Host in 1.0", RAW("GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n"), 400 },
    { "duplicate Host with one empty", RAW(GET11 "Host:\r\nHost: a\r\n\r\n"), 400 },
    { "Host with space inside", RAW(GET11 "Host: a b\r\n\r\n"), 400 },
    { "Host with slash", RAW(GET11 "Host: a/b\r\n\r\n"), 400 },
    { "Host with userinfo", RAW(GET11 "Host: user@a\r\n\r\n"), 400 },
    { "Host with obs-text", RAW(GET11 "Host: caf\xc3\xa9\r\n\r\n"), 400 },

    /* ---- Content-Length ---- */
    { "Content-Length plus sign", RAW(POST11 "Content-Length: +5\r\n\r\n"), 400 },
    { "Content-Length minus sign", RAW(POST11 "Content-Length: -5\r\n\r\n"), 400 },
    { "Content-Length hex", RAW(POST11 "Content-Length: 0x5\r\n\r\n"), 400 },
    { "Content-Length space inside", RAW(POST11 "Content-Length: 1 2\r\n\r\n"), 400 },
    { "Content-Length trailing letter", RAW(POST11 "Content-Length: 5a\r\n\r\n"), 400 },
    { "Content-Length decimal point", RAW(POST11 "Content-Length: 5.0\r\n\r\n"), 400 },
    { "Content-Length exponent", RAW(POST11 "Content-Length: 1e3\r\n\r\n"), 400 },
    { "Content-Length empty", RAW(POST11 "Content-Length:\r\n\r\n"), 400 },
    { "Content-Length only commas", RAW(POST11 "Content-Length: ,\r\n\r\n"), 400 },
    { "Content-Length words", RAW(POST11 "Content-Length: five\r\n\r\n"), 400 },
    { "Content-Length 2^62 + 1", RAW(POST11 "Content-Length: 4611686018427387905\r\n\r\n"), 400 },
    { "Content-Length beyond 2^64", RAW(POST11 "Content-Length: 99999999999999999999999\r\n\r\n"), 400 },
    { "Content-Length list of different values", RAW(POST11 "Content-Length: 5, 6\r\n\r\n"), 400 },
    { "two different Content-Length fields", RAW(POST11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400 },
    { "Content-Length with a parameter", RAW(POST11 "Content-Length: 5;x=1\r\n\r\n"), 400 },
    { "Content-Length quoted", RAW(POST11 "Content-Length: \"5\"\r\n\r\n"), 400 },

    /* ---- Transfer-Encoding ---- */
    { "Content-Length then Transfer-Encoding", RAW(POST11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400 },
    { "Transfer-Encoding then Content-Length", RAW(POST11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), 400 },
    { "Transfer-Encoding xchunked", RAW(POST11 "Transfer-Encoding: xchunked\r\n\r\n"), 400 },
    { "Transfer-Encoding chunkedx", RAW(POST11 "Transfer-Encoding: chunkedx\r\n\r\n"), 400 },
    { "Transfer-Encoding chunked, identity", RAW(POST11 "Transfer-Encoding: chunked, identity\r\n\r\n"), 400 },
    { "Transfer-Encoding chunked, gzip", RAW(POST11 "Transfer-Encoding: chunked, gzip\r\n\r\n"), 400 },
    { "Transfer-Encoding identity", RAW(POST11 "Transfer-Encoding: identity\r\n\r\n"), 400 },
    { "Transfer-Encoding gzip alone", RAW(POST11 "Transfer-Encoding: gzip\r\n\r\n"), 400 },
    { "Transfer-Encoding gzip, chunked", RAW(POST11 "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501 },
    { "Transfer-Encoding deflate,chunked", RAW(POST11 "Transfer-Encoding: deflate,chunked\r\n\r\n"), 501 },
    { "Transfer-Encoding gzip then chunked fields", RAW(POST11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"), 501 },
    { "Transfer-Encoding coding with parameter", RAW(POST11 "Transfer-Encoding: x;q=\"a,b\", chunked\r\n\r\n"), 501 },
    { "Transfer-Encoding chunked, chunked", RAW(POST11 "Transfer-Encoding: chunked, chunked\r\n\r\n"), 400 },
    { "Transfer-Encoding chunked twice in fields", RAW(POST11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400 },
    { "Transfer-Encoding chunked with parameter", RAW(POST11 "Transfer-Encoding: chunked;q=1\r\n\r\n"), 400 },
    { "Transfer-Encoding in HTTP/1.0", RAW("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400 },
    { "Transfer-Encoding empty", RAW(POST11 "Transfer-Encoding:\r\n\r\n"), 400 },
    { "Transfer-Encoding quoted", RAW(POST11 "Transfer-Encoding: \"chunked\"\r\n\r\n"), 400 },
    { "Transfer-Encoding split word", RAW(POST11 "Transfer-Encoding: chun ked\r\n\r\n"), 400 },
    { "Transfer-Encoding with VT", RAW(POST11 "Transfer-Encoding: \vchunked\r\n\r\n"), 400 },
    { "Transfer-Encoding bad parameter", RAW(POST11 "Transfer-Encoding: gzip;=1, chunked\r\n\r\n"), 400 },
    { "Transfer-Encoding unterminated quote", RAW(POST11 "Transfer-Encoding: gzip;a=\"b, chunked\r\n\r\n"), 400 },
    { "Transfer-Encoding folded", RAW(POST11 "Transfer-Encoding:\r\n chunked\r\n\r\n"), 400 },
    /* Obfuscations from request-smuggling research (t/70-smuggling.t has them end to end). */
    { "Transfer-Encoding chunked + NBSP", RAW(POST11 "Transfer-Encoding: chunked\xa0\r\n\r\n"), 400 },
    { "Transfer-Encoding NBSP + chunked", RAW(POST11 "Transfer-Encoding: \xa0" "chunked\r\n\r\n"), 400 },
    { "Transfer-Encoding chunked + NEL", RAW(POST11 "Transfer-Encoding: chunked\x85\r\n\r\n"), 400 },
    { "Transfer-Encoding chunked + form feed", RAW(POST11 "Transfer-Encoding: chunked\f\r\n\r\n"), 400 },
    { "Transfer-Encoding chunked + NUL", RAW(POST11 "Transfer-Encoding: chunked\0\r\n\r\n"), 400 },
    { "Transfer-Encoding with trailing garbage", RAW(POST11 "Transfer-Encoding: chunked garbage\r\n\r\n"), 400 },
    { "Transfer-Encoding line ends in bare LF", RAW(POST11 "Transfer-Encoding: chunked\nX: y\r\n\r\n"), 400 },
    { "Transfer-Encoding after a bare CR", RAW(POST11 "X: a\rTransfer-Encoding: chunked\r\n\r\n"), 400 },
    { "Transfer-Encoding hidden by obs-fold", RAW(POST11 "X: y\r\n Transfer-Encoding: chunked\r\n\r\n"), 400 },
    { "Transfer-Encoding tab before colon", RAW(POST11 "Transfer-Encoding\t: chunked\r\n\r\n"), 400 },
    { "Transfer-Encoding name with UTF-8", RAW(POST11 "Transf\xc3\xa9r-Encoding: chunked\r\n\r\n"), 400 },
    { "Content-Length with NBSP", RAW(POST11 "Content-Length: \xa0" "5\r\n\r\n"), 400 },
    { "Content-Length 2^64 + 5", RAW(POST11 "Content-Length: 18446744073709551621\r\n\r\n"), 400 },
    { "Content-Length 2^63 + 4", RAW(POST11 "Content-Length: 9223372036854775812\r\n\r\n"), 400 },

    /* ---- Connection ---- */
    { "Connection with a parameter", RAW(GET11 H "Connection: close;x=1\r\n\r\n"), 400 },
    { "Connection with a space inside", RAW(GET11 H "Connection: keep alive\r\n\r\n"), 400 },

    /* ---- limits exceeded ---- */
    { "request line one over the limit", RAW("GET /2345678901234567890 HTTP/1.1\r\n" H "\r\n"), 414, &small_limits },
    { "long target without CRLF", RAW("GET /23456789012345678901234567890"), 414, &small_limits },
    { "long method without CRLF", RAW("GETGETGETGETGETGETGETGETGETGETGET"), 414, &small_limits },
    { "leading lines push the request line over", RAW("\r\n\r\nGET /234567890123456 HTTP/1.1\r\n" H "\r\n"),
      414, &small_limits },
    { "field line one over the limit", RAW(GET11 H "X: 3456789012345678901234\r\n\r\n"), 431, &small_limits },
    { "long field without CRLF", RAW(GET11 H "X-Long: aaaaaaaaaaaaaaaaaaaa"), 431, &small_limits },
    { "long field name without colon", RAW(GET11 H "X-Very-Long-Field-Name-Here"), 431, &small_limits },
    { "trailing whitespace counts", RAW(GET11 H "X: 3456                  \r\n\r\n"), 431, &small_limits },
    { "too many fields", RAW(GET11 H "B: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n"), 431, &small_limits },
    { "too many fields, no end yet", RAW(GET11 H "B: 2\r\nC: 3\r\nD: 4\r\nE"), 431, &small_limits },
};

/* ---------------------------------------------------------------------- */

static pool *test_pool;

static size_t head_end(const request_vector *v)
{
    return v->size - v->after;
}

static bool span_is(const char *data, http_span span, const char *expected)
{
    return span.length == strlen(expected) && memcmp(data + span.offset, expected, span.length) == 0;
}

/* Checks a finished parse against the vector; says what differs in why. */
static bool matches(const request_vector *v, const http_parser *parser, int rc, const char *data,
                    char *why, size_t why_size)
{
    if (v->status) {
        if (rc != WEFT_ERROR)
            return snprintf(why, why_size, "rc %d, expected an error", rc), false;
        if (parser->error_status != v->status)
            return snprintf(why, why_size, "status %d (%s), expected %d", parser->error_status,
                            parser->error_reason, v->status), false;
        if (!parser->error_reason || !*parser->error_reason)
            return snprintf(why, why_size, "no error_reason"), false;
        return true;
    }
    if (rc != WEFT_OK)
        return snprintf(why, why_size, "rc %d status %d (%s), expected OK", rc, parser->error_status,
                        parser->error_reason ? parser->error_reason : ""), false;
    const char *method_text = v->method_text ? v->method_text : http_method_name(v->method);
    int64_t content_length = v->content_length ? strtoll(v->content_length, NULL, 10) : -1;
    int flags = (parser->connection_close ? CLOSE : 0) | (parser->connection_keep_alive ? KEEP_ALIVE : 0) |
                (parser->expect_continue ? CONTINUE : 0) | (parser->expect_other ? EXPECT_OTHER : 0);
    if (parser->head_length != head_end(v))
        snprintf(why, why_size, "head_length %u, expected %zu", parser->head_length, head_end(v));
    else if (parser->method != v->method || !span_is(data, parser->method_text, method_text))
        snprintf(why, why_size, "method %d, expected %d %s", parser->method, v->method, method_text);
    else if (!span_is(data, parser->target, v->target))
        snprintf(why, why_size, "target differs");
    else if (parser->version_major != 1 || parser->version_minor != v->minor)
        snprintf(why, why_size, "version %d.%d", parser->version_major, parser->version_minor);
    else if (parser->field_count != v->fields)
        snprintf(why, why_size, "field_count %u, expected %u", parser->field_count, v->fields);
    else if (parser->content_length != content_length)
        snprintf(why, why_size, "content_length %lld", (long long)parser->content_length);
    else if (parser->chunked != v->chunked)
        snprintf(why, why_size, "chunked %d", parser->chunked);
    else if (parser->has_host != (v->host != NULL) || (v->host && !span_is(data, parser->host, v->host)))
        snprintf(why, why_size, "host differs (has_host %d)", parser->has_host);
    else if (flags != v->flags)
        snprintf(why, why_size, "flags %d, expected %d", flags, v->flags);
    else
        return true;
    return false;
}

static void start(http_parser *parser, const request_vector *v)
{
    pool_reset(test_pool);
    http_parser_init(parser, v->limits ? v->limits : &default_limits, test_pool);
}

static bool run_whole(const request_vector *v, const char *data, char *why, size_t why_size)
{
    http_parser parser;
    start(&parser, v);
    int rc = http_parse_request(&parser, data, v->size);
    return matches(v, &parser, rc, data, why, why_size);
}

/* The same start pointer with one more byte per call: AGAIN until the head
 * ends (valid) or the error shows (invalid). */
static bool run_bytewise(const request_vector *v, const char *data, char *why, size_t why_size)
{
    http_parser parser;
    int rc = WEFT_AGAIN;
    size_t length;
    start(&parser, v);
    for (length = 1; length <= v->size && rc == WEFT_AGAIN; length++)
        rc = http_parse_request(&parser, data, length);
    length--;
    if (!v->status && length != head_end(v))
        return snprintf(why, why_size, "finished at %zu of %zu bytes (rc %d)", length, head_end(v), rc), false;
    return matches(v, &parser, rc, data, why, why_size);
}

/* Prefixes with a fresh parser: a valid head is AGAIN until complete; an
 * invalid one is AGAIN or already the same error. */
static bool run_prefixes(const request_vector *v, char *(*place)(const char *, size_t),
                         char *why, size_t why_size)
{
    for (size_t length = 0; length < v->size; length++) {
        http_parser parser;
        char *data = place(v->raw, length);
        start(&parser, v);
        int rc = http_parse_request(&parser, data, length);
        if (rc == WEFT_AGAIN && length < head_end(v))
            continue;
        if (v->status && rc == WEFT_ERROR && parser.error_status == v->status)
            continue;
        if (!v->status && length >= head_end(v) && matches(v, &parser, rc, data, why, why_size))
            continue;
        return snprintf(why, why_size, "prefix %zu: rc %d status %d", length, rc, parser.error_status), false;
    }
    return true;
}

/* A mapping whose last readable byte sits right before a PROT_NONE page. */
static char *guard_area;
static size_t guard_area_size;

static void guard_setup(size_t largest)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    guard_area_size = (largest + page - 1) / page * page;
    guard_area = mmap(NULL, guard_area_size + page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard_area == MAP_FAILED || mprotect(guard_area + guard_area_size, page, PROT_NONE) != 0) {
        perror("guard page");
        exit(1);
    }
}

static char *place_before_guard(const char *raw, size_t size)
{
    char *data = guard_area + guard_area_size - size;
    memcpy(data, raw, size);
    return data;
}

static void run_vector(const request_vector *v)
{
    char why[256] = "";
    bool passed = run_whole(v, v->raw, why, sizeof(why));
    ok(passed, "%s: whole", v->name);
    if (!passed)
        note("  %s", why);

    passed = run_bytewise(v, v->raw, why, sizeof(why));
    ok(passed, "%s: byte by byte", v->name);
    if (!passed)
        note("  %s", why);

    char *guarded = place_before_guard(v->raw, v->size);
    passed = run_whole(v, guarded, why, sizeof(why)) && run_bytewise(v, guarded, why, sizeof(why));
    ok(passed, "%s: against a guard page", v->name);
    if (!passed)
        note("  %s", why);

    passed = run_prefixes(v, place_before_guard, why, sizeof(why));
    ok(passed, "%s: every prefix", v->name);
    if (!passed)
        note("  %s", why);
}

/* ---------------------------------------------------------------------- */

static void test_field_spans(void)
{
    static const char request[] = "GET /p HTTP/1.1\r\nHost: h\r\nX-Pad:  a  b \t\r\nEmpty:\r\n"
                                  "content-type: text/plain\r\n\r\n";
    http_parser parser;
    pool_reset(test_pool);
    http_parser_init(&parser, &default_limits, test_pool);
    is_int(http_parse_request(&parser, request, sizeof(request) - 1), WEFT_OK, "spans: parses");
    is_int(parser.field_count, 4, "spans: four fields");
    ok(span_is(request, parser.fields[0].name, "Host") && span_is(request, parser.fields[0].value, "h"),
       "spans: Host: h");
    ok(span_is(request, parser.fields[1].name, "X-Pad") && span_is(request, parser.fields[1].value, "a  b"),
       "spans: value keeps inner whitespace and loses the outer");
    ok(span_is(request, parser.fields[2].name, "Empty") && parser.fields[2].value.length == 0,
       "spans: empty value");
    const http_field *field = http_find_field(&parser, request, "Content-Type");
    ok(field == &parser.fields[3], "find_field is case-insensitive");
    ok(field && span_is(request, field->value, "text/plain"), "find_field value");
    ok(http_find_field(&parser, request, "Content") == NULL, "find_field does not match a prefix");
    ok(http_find_field(&parser, request, "Content-Type-X") == NULL, "find_field does not match a longer name");
    ok(http_find_field(&parser, request, "Missing") == NULL, "find_field returns NULL when absent");
    is_int(http_parse_request(&parser, request, sizeof(request) - 1), WEFT_OK, "a finished parser stays OK");
}

static void test_first_of_repeated_fields(void)
{
    static const char request[] = "GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\naccept: b\r\n\r\n";
    http_parser parser;
    pool_reset(test_pool);
    http_parser_init(&parser, &default_limits, test_pool);
    http_parse_request(&parser, request, sizeof(request) - 1);
    const http_field *field = http_find_field(&parser, request, "ACCEPT");
    ok(field && span_is(request, field->value, "a"), "find_field returns the first of repeated fields");
}

/* Offsets, not pointers: the caller may move the buffer between calls. */
static void test_buffer_moves_between_calls(void)
{
    static const char request[] = "POST /moved HTTP/1.1\r\nHost: m\r\nContent-Length: 3\r\n\r\n";
    size_t size = sizeof(request) - 1;
    http_parser parser;
    int rc = WEFT_AGAIN;
    char *buffer = NULL;
    pool_reset(test_pool);
    http_parser_init(&parser, &default_limits, test_pool);
    for (size_t length = 1; length <= size && rc == WEFT_AGAIN; length++) {
        char *moved = malloc(length);
        memcpy(moved, request, length);
        free(buffer);
        buffer = moved;
        rc = http_parse_request(&parser, buffer, length);
    }
    is_int(rc, WEFT_OK, "moving buffer: parses");
    ok(span_is(buffer, parser.target, "/moved") && span_is(buffer, parser.host, "m"), "moving buffer: spans hold");
    is_int(parser.content_length, 3, "moving buffer: Content-Length");
    free(buffer);
}

static void test_error_is_sticky(void)
{
    static const char request[] = "GET / HTTP/1.1\nHost: a\r\n\r\n";
    http_parser parser;
    pool_reset(test_pool);
    http_parser_init(&parser, &default_limits, test_pool);
    is_int(http_parse_request(&parser, request, sizeof(request) - 1), WEFT_ERROR, "sticky: error");
    is_int(http_parse_request(&parser, request, sizeof(request) - 1), WEFT_ERROR, "sticky: still an error");
    is_int(parser.error_status, 400, "sticky: status kept");
}

static void test_default_limits_long_lines(void)
{
    /* At the default limits, 8190 bytes of request line pass and 8191 do not. */
    size_t size = 9000;
    char *request = malloc(size);
    for (int extra = 0; extra <= 1; extra++) {
        size_t target_length = 8190 - strlen("GET  HTTP/1.1") + (size_t)extra;
        size_t n = 0;
        n += (size_t)sprintf(request, "GET /");
        memset(request + n, 'a', target_length - 1);
        n += target_length - 1;
        n += (size_t)sprintf(request + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
        http_parser parser;
        pool_reset(test_pool);
        http_parser_init(&parser, &default_limits, test_pool);
        int rc = http_parse_request(&parser, request, n);
        if (extra)
            ok(rc == WEFT_ERROR && parser.error_status == 414, "request line of 8191 bytes is a 414");
        else
            ok(rc == WEFT_OK && parser.target.length == target_length, "request line of 8190 bytes passes");
    }
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)sprintf(request, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
        size_t value_length = 8190 - 3 + (size_t)extra;
        memset(request + n, 'v', value_length);
        n += value_length;
        n += (size_t)sprintf(request + n, "\r\n\r\n");
        http_parser parser;
        pool_reset(test_pool);
        http_parser_init(&parser, &default_limits, test_pool);
        int rc = http_parse_request(&parser, request, n);
        if (extra)
            ok(rc == WEFT_ERROR && parser.error_status == 431, "field line of 8191 bytes is a 431");
        else
            ok(rc == WEFT_OK && parser.fields[1].value.length == value_length, "field line of 8190 bytes passes");
    }
    free(request);
}

static void test_many_fields(void)
{
    /* Far past the initial capacity, to exercise growth more than once. */
    char *request = malloc(64 * 1024);
    size_t n = (size_t)sprintf(request, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 99; i++)
        n += (size_t)sprintf(request + n, "Field-%d: value-%d\r\n", i, i);
    n += (size_t)sprintf(request + n, "\r\n");
    http_parser parser;
    pool_reset(test_pool);
    http_parser_init(&parser, &default_limits, test_pool);
    is_int(http_parse_request(&parser, request, n), WEFT_OK, "100 fields at limit 100");
    is_int(parser.field_count, 100, "100 fields counted");
    const http_field *field = http_find_field(&parser, request, "field-98");
    ok(field && span_is(request, field->value, "value-98"), "last field intact after growth");

    n -= 2;
    n += (size_t)sprintf(request + n, "One-More: x\r\n\r\n");
    pool_reset(test_pool);
    http_parser_init(&parser, &default_limits, test_pool);
    ok(http_parse_request(&parser, request, n) == WEFT_ERROR && parser.error_status == 431,
       "101 fields at limit 100 is a 431");
    free(request);
}

/* LimitRequestHeadSize: a head of exactly the limit passes, one byte more
 * is a 431; a request line that reaches it is a 414; byte by byte the
 * same (the bound holds across calls). */
static void test_head_limit(void)
{
    const http_limits limits = { 8190, 8190, 100, 256 };
    char request[1024];
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)sprintf(request, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
        size_t value_length = 256 - n - 4 + (size_t)extra;
        memset(request + n, 'v', value_length);
        n += value_length;
        n += (size_t)sprintf(request + n, "\r\n\r\n");
        http_parser parser;
        pool_reset(test_pool);
        http_parser_init(&parser, &limits, test_pool);
        int rc = http_parse_request(&parser, request, n);
        if (extra)
            ok(rc == WEFT_ERROR && parser.error_status == 431, "head of 257 bytes at limit 256 is a 431");
        else
            ok(rc == WEFT_OK && parser.head_length == 256, "head of 256 bytes at limit 256 passes");
        if (extra) {
            pool_reset(test_pool);
            http_parser_init(&parser, &limits, test_pool);
            rc = WEFT_AGAIN;
            for (size_t length = 1; length <= n && rc == WEFT_AGAIN; length++)
                rc = http_parse_request(&parser, request, length);
            ok(rc == WEFT_ERROR && parser.error_status == 431 && parser.position == 256,
               "byte by byte: 431 at the 257th byte");
        }
    }
    size_t n = (size_t)sprintf(request, "GET /");
    memset(request + n, 'a', 300);
    n += 300;
    n += (size_t)sprintf(request + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
    http_parser parser;
    pool_reset(test_pool);
    http_parser_init(&parser, &limits, test_pool);
    ok(http_parse_request(&parser, request, n) == WEFT_ERROR && parser.error_status == 414,
       "a request line longer than the head limit is a 414");
    pool_reset(test_pool);
    http_parser_init(&parser, &limits, test_pool);
    is_int(http_parse_request(&parser, request, 256), WEFT_AGAIN, "256 bytes of request line: more needed");
}

static void test_method_names(void)
{
    is_string(http_method_name(HTTP_METHOD_GET), "GET", "method name GET");
    is_string(http_method_name(HTTP_METHOD_HEAD), "HEAD", "method name HEAD");
    is_string(http_method_name(HTTP_METHOD_POST), "POST", "method name POST");
    is_string(http_method_name(HTTP_METHOD_PUT), "PUT", "method name PUT");
    is_string(http_method_name(HTTP_METHOD_DELETE), "DELETE", "method name DELETE");
    is_string(http_method_name(HTTP_METHOD_CONNECT), "CONNECT", "method name CONNECT");
    is_string(http_method_name(HTTP_METHOD_OPTIONS), "OPTIONS", "method name OPTIONS");
    is_string(http_method_name(HTTP_METHOD_TRACE), "TRACE", "method name TRACE");
    is_string(http_method_name(HTTP_METHOD_PATCH), "PATCH", "method name PATCH");
    is_string(http_method_name(HTTP_METHOD_UNKNOWN), "UNKNOWN", "method name UNKNOWN");
    is_string(http_method_name((http_method)99), "UNKNOWN", "method name out of range");
}

int main(void)
{
    size_t largest = 0;
    test_pool = pool_create(1024);
    for (size_t i = 0; i < COUNT_OF(vectors); i++)
        if (vectors[i].size > largest)
            largest = vectors[i].size;
    guard_setup(largest);

    note("%zu request vectors", COUNT_OF(vectors));
    for (size_t i = 0; i < COUNT_OF(vectors); i++)
        run_vector(&vectors[i]);

    test_field_spans();
    test_first_of_repeated_fields();
    test_buffer_moves_between_calls();
    test_error_is_sticky();
    test_default_limits_long_lines();
    test_many_fields();
    test_head_limit();
    test_method_names();

    pool_destroy(test_pool);
    return done_testing();
}
