#!/usr/bin/env python3
"""fuzz/seeds.py — writes the seed corpora in fuzz/corpus/NAME.

The seeds are committed; this script only documents where they came from
and can recreate them (it never deletes a file: inputs that once crashed a
harness, named regress-*, are kept next to the seeds).  Each harness reads a
few control bytes before its input; see the comment at the top of its .c.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(name, items):
    directory = os.path.join(HERE, "corpus", name)
    os.makedirs(directory, exist_ok=True)
    for label, data in items:
        with open(os.path.join(directory, label), "wb") as out:
            out.write(data)


H = b"Host: a\r\n"
REQUESTS = {
    "get": b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "get10": b"GET /index.html HTTP/1.0\r\n\r\n",
    "post-cl": b"POST /cgi HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello",
    "post-chunked": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "cl-te": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
    "te-list": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n",
    "te-space-colon": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\n\r\n",
    "cl-list": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nabc",
    "cl-dup": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "absolute": b"GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    "options-star": b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
    "connection": b"GET / HTTP/1.1\r\n" + H + b"Connection: keep-alive, close\r\nExpect: 100-continue\r\n\r\n",
    "leading-crlf": b"\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n",
    "obs-fold": b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n",
    "bare-lf": b"GET / HTTP/1.1\n" + H + b"\n",
    "pipelined": b"GET /a HTTP/1.1\r\n" + H + b"\r\nGET /b HTTP/1.1\r\n" + H + b"\r\n",
    "many-fields": b"GET / HTTP/1.1\r\n" + H + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(20)) + b"\r\n",
    "host-ipv6": b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
    "utf8-target": b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n",
    "http2": b"GET / HTTP/2.0\r\n" + H + b"\r\n",
}

CHUNKED = {
    "simple": b"5\r\nhello\r\n0\r\n\r\n",
    "two": b"3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\nGET",
    "ext": b"5;name=value;q=\"quo\\\"ted\"\r\nhello\r\n0\r\n\r\n",
    "ext-bws": b"5 ;a = b\r\nhello\r\n0\r\n\r\n",
    "trailer": b"1\r\nx\r\n0\r\nX-Trailer: yes\r\nY: 2\r\n\r\n",
    "upper-hex": b"aF\r\n" + b"z" * 0xAF + b"\r\n0\r\n\r\n",
    "leading-zeros": b"0000000000000000000005\r\nhello\r\n0\r\n\r\n",
    "overflow": b"ffffffffffffffffff\r\n",
    "bare-lf": b"5\nhello\n0\n\n",
    "0x": b"0x5\r\nhello\r\n0\r\n\r\n",
    "negative": b"-1\r\n",
    "bad-data-end": b"5\r\nhelloXX0\r\n\r\n",
}

URIS = {
    "root": b"/", "plain": b"/index.html", "query": b"/a/b?x=1&y=%20",
    "dots": b"/a/./b/../c/", "encoded-dots": b"/a/%2e%2e/b/%2E/c", "double-encoded": b"/%252e%252e/x",
    "encoded-slash": b"/a%2fb", "nul": b"/a%00b", "overlong": b"/%c0%ae%c0%ae/etc/passwd",
    "backslash": b"/..\\..\\etc", "slashes": b"//a///b//", "trailing-dot": b"/a/b/.",
    "absolute": b"http://example.com:80/a/../b?q", "absolute-https": b"HTTPS://h/", "absolute-empty": b"http://h",
    "userinfo": b"http://u@h/", "ipv6": b"http://[::1]:8080/x", "climb": b"/../etc/passwd",
    "star": b"*", "utf8": b"/caf\xc3\xa9/%E2%82%AC", "bad-escape": b"/%zz", "short-escape": b"/a%4",
}

RANGES = {
    "single": b"bytes=0-99", "suffix": b"bytes=-500", "open": b"bytes=100-", "multi": b"bytes=0-1,5-9,20-",
    "overlap": b"bytes=0-10,5-20,0-", "reversed": b"bytes=50-60,0-10", "spaces": b"bytes= 1-2 , ,3-4",
    "case": b"BYTES=1-1", "bad-unit": b"items=0-1", "huge": b"bytes=99999999999999999999999-",
    "last-lt-first": b"bytes=5-1", "unsatisfiable": b"bytes=200000-300000", "zero-suffix": b"bytes=-0",
}

CONFIGS = {
    "minimal": b"Listen 127.0.0.1:8080\nDocumentRoot www\n",
    "mpm": b"Listen 8080\nStartServers 2\nThreadsPerChild 25\nMinSpareThreads 25\nMaxSpareThreads 75\n"
           b"MaxClients 16\nMaxRequestsPerChild 0\n",
    "sections": b"Listen 80\n<Directory www>\n  Options Indexes FollowSymLinks\n  AllowOverride None\n"
                b"</Directory>\n<Location /status>\n  SetHandler server-status\n</Location>\n"
                b"<Files \"*.txt\">\n</Files>\n<LocationMatch \"^/a(b|c)\">\n</LocationMatch>\n",
    "ifdefine": b"Listen 80\n<IfDefine FUZZ>\nKeepAlive On\n</IfDefine>\n<IfDefine !FUZZ>\nKeepAlive Off\n"
                b"</IfDefine>\n<IfModule worker.c>\nThreadsPerChild 4\n</IfModule>\n",
    "quoting": b"Listen 80\nServerName \"a b\"\nLogFormat \"%h %l %u %t \\\"%r\\\" %>s %b\" common\n"
               b"CustomLog logs/access common\n",
    "continuation": b"Listen 80\nKeepAlive \\\n  On\n# comment \\\nstill comment\n",
    "vhost": b"Listen 80\n<VirtualHost *:80>\nServerName a.example\nDocumentRoot www\n</VirtualHost>\n"
             b"<VirtualHost 127.0.0.1:80>\nServerName b.example\nServerAlias *.b.example\n</VirtualHost>\n",
    "include": b"Listen 80\nIncludeOptional nothing*.conf\nInclude www\n",
    "errors": b"Listen 80\nNoSuchDirective x\nKeepAlive Maybe\n<Directory>\n</Location>\nTimeout -1\n",
    "timeouts": b"Listen 80\nTimeout 30\nKeepAliveTimeout 500ms\n"
                b"RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500\n"
                b"LimitRequestBody 1M\nLimitRequestFields 50\n",
    "mime": b"Listen 80\nAddType text/x-fuzz .fz .fuzz\nDirectoryIndex index.html index.htm\n",
}

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2(version_command, family, block):
    return SIGNATURE + bytes([version_command, family]) + struct.pack(">H", len(block)) + block


INET = bytes([203, 0, 113, 9, 192, 0, 2, 1]) + struct.pack(">HH", 40000, 443)
INET6 = (bytes.fromhex("20010db8000000000000000000000001") + bytes.fromhex("20010db8000000000000000000000002")
         + struct.pack(">HH", 1234, 80))
REQUEST = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
PROXY_HEADERS = {
    "v1-tcp4": (0, b"PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\n" + REQUEST),
    "v1-tcp6": (7, b"PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n" + REQUEST),
    "v1-unknown": (3, b"PROXY UNKNOWN\r\n" + REQUEST),
    "v1-unknown-long": (16, b"PROXY UNKNOWN " + b"x" * 91 + b"\r\n"),
    "v2-inet": (0, proxy_v2(0x21, 0x11, INET) + REQUEST),
    "v2-inet6-tlvs": (5, proxy_v2(0x21, 0x21, INET6 + b"\x01\x00\x02h2\x04\x00\x00\x05\x00\x03abc") + REQUEST),
    "v2-local": (1, proxy_v2(0x20, 0x00, b"") + REQUEST),
    "v2-unix": (32, proxy_v2(0x21, 0x31, b"\x00" * 216)),
    "v2-unspec": (2, proxy_v2(0x21, 0x00, b"")),
    "v2-bad-tlv": (0, proxy_v2(0x21, 0x11, INET + b"\x01\x00\x09h2")),
    "tls-hello": (0, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
}


def main():
    # request: limits choice, split point (2 bytes), request
    put("request", [(k, bytes([i % 4, 0, 17 + i]) + v) for i, (k, v) in enumerate(REQUESTS.items())])
    # chunked: limits choice, piece-size seed, body
    put("chunked", [(k, bytes([i % 4, i]) + v) for i, (k, v) in enumerate(CHUNKED.items())])
    # uri: method choice (1 = OPTIONS), target
    put("uri", [(k, bytes([1 if k == "star" else i % 3]) + v) for i, (k, v) in enumerate(URIS.items())])
    # range: representation length (8 bytes, big-endian), limits choice, value
    put("range", [(k, struct.pack(">Q", 1000 if i % 3 else 12345) + bytes([i % 5]) + v)
                  for i, (k, v) in enumerate(RANGES.items())])
    put("config", list(CONFIGS.items()))
    # proxy_protocol: piece size (0 = 1 byte), the bytes on the wire
    put("proxy_protocol", [(k, bytes([piece]) + v) for k, (piece, v) in PROXY_HEADERS.items()])


if __name__ == "__main__":
    main()
