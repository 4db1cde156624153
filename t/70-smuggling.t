#!/usr/bin/perl
# Request smuggling and message framing: a table of framing attacks from the
# public research (PortSwigger's desync work and its DesyncBox permutations,
# the HTTP Garden trophies, smuggler.py's TE mutations, RFC 9112 section 6).
#
# Every vector carries a hidden request for /smuggled, a file that exists
# only as a marker, placed where a server that framed the message
# differently from weft would read it as the next request.  Each vector must
# either be refused (a 4xx/5xx and the connection closed, nothing more
# answered) or be framed unambiguously (exactly the responses RFC 9112
# framing implies).  At the end, the access log must count exactly the
# responses the table expects and never name /smuggled, and no response may
# carry the marker file's content.
#
# The vectors run in parallel, one connection each, so the table costs about
# one Timeout (2 s) whatever its length.  Bodies go to a CGI script that
# reads and echoes them when CGI is available (so broken chunked framing is
# seen by a handler and answered 400); static files exercise the server's
# own discarding of bodies nobody read.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use WeftTest qw(scale send_raw read_response wait_closed);

my $MARKER = "marker-file-content-that-must-never-be-served\n";
my $S = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";      # the hidden request
my $N = "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";    # a legitimate follow-up
my $SL = length $S;

sub chunk { my ($data) = @_; return sprintf("%x\r\n%s\r\n", length $data, $data) }
my $CHUNKED_S = chunk($S) . "0\r\n\r\n";    # $S inside a well-formed chunked body

my $w = WeftTest->new(conf => <<'EOF',
Timeout 2
KeepAliveTimeout 1
ScriptAlias /cgi/ "@ROOT@/cgi/"
StartServers 1
ThreadsPerChild 16
MinSpareThreads 4
MaxSpareThreads 64
MaxClients 4
EOF
    files => {
        'www/index.html' => "INDEX\n",
        'www/smuggled' => $MARKER,
        'www/dir/index.html' => "DIR\n",
        'cgi/echo' => { mode => 0755, content => "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nprintf 'body='\nexec cat\n" },
    });
$w->start;

# CGI (the body-reading handler) is another module; without it the vectors
# that need a handler reading the body are skipped, not failed.
my $probe = $w->request("POST /cgi/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
my $have_cgi = ($probe->{status} // 0) == 200 && ($probe->{body} // '') eq 'body=ok';
diag('CGI is not available: the vectors that need a body-reading handler are skipped') unless $have_cgi;

my $P = "POST /cgi/echo HTTP/1.1\r\nHost: a\r\n";          # body read by a handler
my $G = "GET /index.html HTTP/1.1\r\nHost: a\r\n";         # body nobody reads
my $PS = "POST /index.html HTTP/1.1\r\nHost: a\r\n";       # 405, body nobody reads

# [name, raw bytes, expectation, needs CGI]
#   reject => STATUS   that response, then the connection is closed
#   closes => STATUS   that response (sent before the broken body was
#                      found), then the connection is closed
#   framed => [STATUS...] exactly these responses; bodies => [regex...]
my @vectors = (
    # ---- CL.TE and TE.CL: both framings present (RFC 9112 6.1: reject)
    ['CL.TE', $P . "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$S", { reject => 400 }],
    ['TE.CL', $P . "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['CL 0 with TE', $P . "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE with a CL list', $P . "Transfer-Encoding: chunked\r\nContent-Length: 3, 3\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE.CL on a static GET', $G . "Transfer-Encoding: chunked\r\nContent-Length: $SL\r\n\r\n$S", { reject => 400 }],
    ['HTTP/1.0 with TE', "POST /cgi/echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['HTTP/1.0 with TE and CL', "POST /cgi/echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n$CHUNKED_S", { reject => 400 }],

    # ---- TE.TE: obfuscated Transfer-Encoding values
    ['TE xchunked', $P . "Transfer-Encoding: xchunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE chunked, identity', $P . "Transfer-Encoding: chunked, identity\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE identity, chunked', $P . "Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n$S", { reject => 501 }],
    ['TE gzip, chunked', $P . "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n$S", { reject => 501 }],
    ['TE chunked, chunked', $P . "Transfer-Encoding: chunked, chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['duplicate TE chunked', $P . "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE chunked then TE identity', $P . "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE identity', $P . "Transfer-Encoding: identity\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE gzip', $P . "Transfer-Encoding: gzip\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE chunk (truncated)', $P . "Transfer-Encoding: chunk\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE chunked with a parameter', $P . "Transfer-Encoding: chunked;q=1\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE quoted "chunked"', $P . "Transfer-Encoding: \"chunked\"\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE chunked + NBSP (obs-text)', $P . "Transfer-Encoding: chunked\xa0\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE NBSP + chunked', $P . "Transfer-Encoding: \xa0chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE chunked + NEL (\x85)', $P . "Transfer-Encoding: chunked\x85\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE vertical tab + chunked', $P . "Transfer-Encoding: \x0bchunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE chunked + form feed', $P . "Transfer-Encoding: chunked\x0c\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE with trailing garbage', $P . "Transfer-Encoding: chunked garbage\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE space before colon', $P . "Transfer-Encoding : chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE tab before colon', $P . "Transfer-Encoding\t: chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE as the first line, indented', "POST /cgi/echo HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE hidden by obs-fold', $P . "X-Foo: bar\r\n Transfer-Encoding: chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE value on a folded line', $P . "Transfer-Encoding:\r\n chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE line ending in bare LF', $P . "Transfer-Encoding: chunked\nX: y\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE after a bare CR', $P . "X: a\rTransfer-Encoding: chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE value with NUL', $P . "Transfer-Encoding: chunked\x00\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE name with NUL', $P . "Transfer-Encoding\x00: chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE name with a space inside', $P . "Transfer Encoding: chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],
    ['TE accented name (UTF-8)', $P . "Transf\xc3\xa9r-Encoding: chunked\r\n\r\n$CHUNKED_S", { reject => 400 }],

    # ---- Content-Length forms (RFC 9110 8.6: 1*DIGIT, identical list members)
    ['CL 5, 6', $P . "Content-Length: 5, 6\r\n\r\nhello$S", { reject => 400 }],
    ['CL 5 then CL 6', $P . "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello$S", { reject => 400 }],
    ['CL 0 then CL N', $G . "Content-Length: 0\r\nContent-Length: $SL\r\n\r\n$S", { reject => 400 }],
    ['CL +5', $P . "Content-Length: +5\r\n\r\nhello$S", { reject => 400 }],
    ['CL -5', $P . "Content-Length: -5\r\n\r\nhello$S", { reject => 400 }],
    ['CL -1 (busy loop in some parsers)', $G . "Content-Length: -1\r\n\r\n$S", { reject => 400 }],
    ['CL 0x5', $P . "Content-Length: 0x5\r\n\r\nhello$S", { reject => 400 }],
    ['CL hex digits', $G . "Content-Length: 1a\r\n\r\n$S", { reject => 400 }],
    ['CL 5 5', $P . "Content-Length: 5 5\r\n\r\nhello$S", { reject => 400 }],
    ['CL 5.0', $P . "Content-Length: 5.0\r\n\r\nhello$S", { reject => 400 }],
    ['CL 1e1', $P . "Content-Length: 1e1\r\n\r\nhello$S", { reject => 400 }],
    ['CL empty (read as 0 by some)', $G . "Content-Length: \r\n\r\n$S", { reject => 400 }],
    ['CL comma only', $G . "Content-Length: ,\r\n\r\n$S", { reject => 400 }],
    ['CL with a parameter', $P . "Content-Length: 5;x=1\r\n\r\nhello$S", { reject => 400 }],
    ['CL 2^64+5 (wraps to 5)', $P . "Content-Length: 18446744073709551621\r\n\r\nhello$S", { reject => 400 }],
    ['CL 2^63+4 (negative as int64)', $P . "Content-Length: 9223372036854775812\r\n\r\nhello$S", { reject => 400 }],
    ['CL 26 nines', $G . "Content-Length: 99999999999999999999999999\r\n\r\n$S", { reject => 400 }],
    ['CL space before colon', $G . "Content-Length : $SL\r\n\r\n$S", { reject => 400 }],
    ['CL with NUL', $G . "Content-Length: 3\x00\r\n\r\n$S", { reject => 400 }],
    ['CL with NBSP', $G . "Content-Length: \xa0$SL\r\n\r\n$S", { reject => 400 }],
    ['CL hidden by obs-fold', $G . "X: y\r\n Content-Length: $SL\r\n\r\n$S", { reject => 400 }],

    # ---- line endings, NUL, request line
    ['bare LF ends the request line', "GET /index.html HTTP/1.1\nHost: a\r\n\r\n", { reject => 400 }],
    ['bare CR ends the request line', "GET /index.html HTTP/1.1\rHost: a\r\n\r\n", { reject => 400 }],
    ['bare LF ends the head', $G . "\n$S", { reject => 400 }],
    ['CR CR LF ends the head', $G . "\r\r\n$S", { reject => 400 }],
    ['bare CR inside a value', $G . "X: a\rb\r\n\r\n", { reject => 400 }],
    ['NUL in the target', "GET /index.html\x00/smuggled HTTP/1.1\r\nHost: a\r\n\r\n", { reject => 400 }],
    ['NUL in a value', $G . "X: a\x00b\r\n\r\n", { reject => 400 }],
    ['two spaces after the method', "GET  /index.html HTTP/1.1\r\nHost: a\r\n\r\n", { reject => 400 }],
    ['space before CRLF of the request line', "GET /index.html HTTP/1.1 \r\nHost: a\r\n\r\n", { reject => 400 }],
    ['lower-case version', "GET /index.html http/1.1\r\nHost: a\r\n\r\n", { reject => 400 }],
    ['HTTP/1.1 without Host', "GET /index.html HTTP/1.1\r\n\r\n", { reject => 400 }],
    ['two Host fields', $G . "Host: b\r\n\r\n", { reject => 400 }],
    ['Host with a space', "GET /index.html HTTP/1.1\r\nHost: a b\r\n\r\n", { reject => 400 }],
    ['HTTP/2.0 request line', "GET /index.html HTTP/2.0\r\nHost: a\r\n\r\n", { reject => 505 }],

    # ---- chunk-size tricks, read by a handler (400 and close)
    ['chunk size 0x5', $P . "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk size -1', $P . "Transfer-Encoding: chunked\r\n\r\n-1\r\n$S", { reject => 400 }, 1],
    ['chunk size +5', $P . "Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk size 2^64+5 (longest prefix)', $P . "Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk size 2^64-1', $P . "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n$S", { reject => 400 }, 1],
    ['chunk size 2^63', $P . "Transfer-Encoding: chunked\r\n\r\n8000000000000000\r\n$S", { reject => 400 }, 1],
    ['chunk size with junk after it', $P . "Transfer-Encoding: chunked\r\n\r\n5 junk\r\nhello\r\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk size empty', $P . "Transfer-Encoding: chunked\r\n\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk size 1; (empty extension)', $P . "Transfer-Encoding: chunked\r\n\r\n1;\r\nx\r\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk size with leading space', $P . "Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk size underscore', $P . "Transfer-Encoding: chunked\r\n\r\n1_0\r\n" . ('x' x 16) . "\r\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk data longer than its size', $P . "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk size line ends in bare LF', $P . "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk data ends in bare LF', $P . "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk data ends in CR X', $P . "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\rX0\r\n\r\n$S", { reject => 400 }, 1],
    ['last chunk without its CRLF: request read as trailer', $P . "Transfer-Encoding: chunked\r\n\r\n0\r\n$S", { reject => 400 }, 1],
    ['trailer with obs-fold', $P . "Transfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk extension with bare CR', $P . "Transfer-Encoding: chunked\r\n\r\n5;a=b\rc\r\nhello\r\n0\r\n\r\n$S", { reject => 400 }, 1],
    ['chunk extension with an unterminated quote', $P . "Transfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n$S", { reject => 400 }, 1],

    # ---- broken chunked bodies behind a handler that does not read them:
    #      answered first, then the connection is closed at the bad byte
    ['static GET: chunk size 0x5', $G . "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n$S", { closes => 200 }],
    ['static GET: chunk size overflow', $G . "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n$S", { closes => 200 }],
    ['static GET: last chunk without CRLF', $G . "Transfer-Encoding: chunked\r\n\r\n0\r\n$S", { closes => 200 }],
    ['static POST 405: bare LF chunk', $PS . "Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n$S", { closes => 405 }],

    # ---- accepted, and framed one way only
    ['CL 5, 5 (identical list)', $P . "Content-Length: 5, 5\r\n\r\nhello$N", { framed => [200, 200], bodies => [qr/^body=hello$/, qr/^INDEX/] }, 1],
    ['CL 5 twice', $P . "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello$N", { framed => [200, 200], bodies => [qr/^body=hello$/] }, 1],
    ['CL with leading zeros', $P . "Content-Length: 0005\r\n\r\nhello$N", { framed => [200, 200], bodies => [qr/^body=hello$/] }, 1],
    ['CL with OWS', $P . "Content-Length: \t 5 \t\r\n\r\nhello$N", { framed => [200, 200], bodies => [qr/^body=hello$/] }, 1],
    ['TE with extra leading spaces', $P . "Transfer-Encoding:    chunked\r\n\r\n$CHUNKED_S$N", { framed => [200, 200], bodies => [qr/^body=GET \/smuggled/] }, 1],
    ['TE with a tab before the value', $P . "Transfer-Encoding:\tchunked\r\n\r\n$CHUNKED_S$N", { framed => [200, 200], bodies => [qr/^body=GET \/smuggled/] }, 1],
    ['TE Chunked (case)', $P . "Transfer-Encoding: Chunked\r\n\r\n$CHUNKED_S$N", { framed => [200, 200], bodies => [qr/^body=GET \/smuggled/] }, 1],
    ['TE CHUNKED, lower-case name', $P . "transfer-encoding: CHUNKED\r\n\r\n$CHUNKED_S$N", { framed => [200, 200], bodies => [qr/^body=GET \/smuggled/] }, 1],
    ['TE ,chunked (empty list element)', $P . "Transfer-Encoding: ,chunked\r\n\r\n$CHUNKED_S$N", { framed => [200, 200], bodies => [qr/^body=GET \/smuggled/] }, 1],
    ['TE chunked, (trailing comma) and spaces', $P . "Transfer-Encoding: chunked , \r\n\r\n$CHUNKED_S$N", { framed => [200, 200], bodies => [qr/^body=GET \/smuggled/] }, 1],
    ['Transfer_Encoding is not Transfer-Encoding', $P . "Transfer_Encoding: chunked\r\nContent-Length: " . length("0\r\n\r\n$S") . "\r\n\r\n0\r\n\r\n$S$N",
        { framed => [200, 200], bodies => [qr/^body=0\r\n\r\nGET \/smuggled/] }, 1],
    ['chunk extensions and trailers', $P . "Transfer-Encoding: chunked\r\n\r\n5;a=b;c=\"d;e\"\r\nhello\r\n0;z\r\nX-T: 1\r\n\r\n$N", { framed => [200, 200], bodies => [qr/^body=hello$/] }, 1],
    ['chunk size with leading zeros', $P . "Transfer-Encoding: chunked\r\n\r\n00000000000000000005\r\nhello\r\n0\r\n\r\n$N", { framed => [200, 200], bodies => [qr/^body=hello$/] }, 1],
    ['GET with a CL body, then a pipelined request', $G . "Content-Length: $SL\r\n\r\n$S$N", { framed => [200, 200], bodies => [qr/^INDEX/, qr/^INDEX/] }],
    ['GET with a chunked body, then a pipelined request', $G . "Transfer-Encoding: chunked\r\n\r\n$CHUNKED_S$N", { framed => [200, 200] }],
    ['HEAD with a CL body', "HEAD /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: $SL\r\n\r\n$S$N", { framed => [200, 200], methods => ['HEAD', 'GET'] }],
    ['405 with an unread CL body', $PS . "Content-Length: $SL\r\n\r\n$S$N", { framed => [405, 200] }],
    ['404 with an unread CL body', "GET /nothing-here HTTP/1.1\r\nHost: a\r\nContent-Length: $SL\r\n\r\n$S$N", { framed => [404, 200] }],
    ['301 redirect with an unread CL body', "GET /dir HTTP/1.1\r\nHost: a\r\nContent-Length: $SL\r\n\r\n$S$N", { framed => [301, 200] }],
    ['HTTP/1.0 with a body, no keep-alive', "POST /index.html HTTP/1.0\r\nContent-Length: $SL\r\n\r\n$S", { framed => [405] }],
    ['leading empty lines', "\r\n\r\n" . $G . "\r\n", { framed => [200] }],
    ['Expect: 100-continue, body never asked for', $G . "Expect: 100-continue\r\nContent-Length: $SL\r\n\r\n$S", { framed => [200] }],
    ['Expect: 100-continue, body read', $P . "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello$N", { framed => [200, 200], bodies => [qr/^body=hello$/] }, 1],
    ['Expect: unknown with a CL body', $P . "Expect: 101-weird\r\nContent-Length: $SL\r\n\r\n$S$N", { framed => [417, 200] }, 1],
    ['Expect: 100-continue on HTTP/1.0', "POST /cgi/echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", { framed => [200], bodies => [qr/^body=hello$/] }, 1],
);

my $expected_lines = 0;
my @runs;
for my $v (@vectors) {
    my ($name, $raw, $expect, $needs_cgi) = @$v;
    next if $needs_cgi && !$have_cgi;
    my $sock = $w->connect;
    unless ($sock) {
        fail("$name: connect");
        next;
    }
    send_raw($sock, $raw, scale(5));
    push @runs, [$name, $sock, $expect];
}
my $started = time;
my $served_marker = 0;
for my $run (@runs) {
    my ($name, $sock, $expect) = @$run;
    my @want = $expect->{framed} ? @{ $expect->{framed} } : ($expect->{reject} // $expect->{closes});
    my @methods = @{ $expect->{methods} || [] };
    my @got;
    for my $i (0 .. $#want + 1) {
        my $r = read_response($sock, timeout => scale(5), method => $methods[$i] // 'GET');
        last unless defined $r->{status};
        push @got, $r;
        $served_marker++ if index($r->{raw}, $MARKER) >= 0;
    }
    my @statuses = map { $_->{status} } @got;
    $expected_lines += @want;
    if ($expect->{framed}) {
        is("@statuses", "@want", "$name: framed one way (@want)")
            or diag(join("\n", map { $_->summary } @got));
        my @bodies = @{ $expect->{bodies} || [] };
        for my $i (0 .. $#bodies) {
            next unless $got[$i];
            like($got[$i]{body}, $bodies[$i], "$name: response " . ($i + 1) . " body");
        }
    } else {
        my $status = $want[0];
        is("@statuses", "$status", "$name: answered $status, once" . ($expect->{closes} ? ' (before the body broke)' : ''))
            or diag(join("\n", map { $_->summary } @got));
        my ($state) = wait_closed($sock, scale(5));
        is($state, 'closed', "$name: and the connection is closed");
        like($got[0]{headers}{connection} // '', qr/close/i, "$name: the response says Connection: close")
            if $expect->{reject} && @got;
    }
    close $sock;
}
diag(sprintf('%d vectors on %d connections, answers read in %.1f s', scalar @runs, scalar @runs, time - $started));
cmp_ok(scalar @runs, '>=', $have_cgi ? 100 : 60, 'the table has at least 60 vectors');

# ---- pause-based desync: the body stops for longer than Timeout; whatever
#      arrives after that must never be read as a request.  Both cases (a
#      body nobody reads, a body a CGI script reads) pause at the same time.
{
    my $static = $w->connect;
    send_raw($static, $G . "Content-Length: 100\r\n\r\n" . ('x' x 10));
    my $cgi = $have_cgi ? $w->connect : undef;
    send_raw($cgi, $P . "Content-Length: 100\r\n\r\n" . ('x' x 10)) if $cgi;
    my $r = read_response($static, timeout => scale(5));
    is($r->{status}, 200, 'pause: the static response goes out before the body');
    sleep 2.5;    # past Timeout 2 while the server waits for the other 90 bytes
    send_raw($static, ('y' x 90) . $S, 1);
    send_raw($cgi, ('y' x 90) . $S, 1) if $cgi;
    $expected_lines++;
    my $next = read_response($static, timeout => scale(3));
    ok(!defined $next->{status}, 'pause: after the body timed out, nothing more is answered')
        or diag($next->summary);
    close $static;
  SKIP: {
        skip 'no CGI', 3 unless $cgi;
        # The script echoes as it reads, so its 200 may already be on the
        # way when the body times out: then the response is cut short (no
        # last chunk), which tells the client it failed.  Either way: one
        # request, and the connection closed.
        my $c = read_response($cgi, timeout => scale(4));
        $served_marker++ if index($c->{raw} // '', $MARKER) >= 0;
        $expected_lines++;
        ok(!defined $c->{status} || $c->{status} == 408 || $c->{status} == 400,
            'pause in a body a handler reads: an error or a response cut short (' . ($c->{status} // $c->{error}) . ')');
        my $more = read_response($cgi, timeout => scale(2));
        ok(!defined $more->{status}, 'pause in a body a handler reads: nothing more is answered');
        my ($state) = wait_closed($cgi, scale(3));
        is($state, 'closed', 'pause in a body a handler reads: the connection is closed');
        close $cgi;
    }
}

# ---- the hidden request was never served, and nothing else was either
is($served_marker, 0, 'no response carried the marker file');
my @lines = $w->wait_access_log_lines($expected_lines, scale(5));
my @smuggled = grep { m{/smuggled} } @lines;
is(scalar @smuggled, 0, 'the access log never names /smuggled') or diag(join("\n", @smuggled));
is(scalar(@lines), $expected_lines + 1, 'the access log has exactly the responses the table expects (plus the CGI probe)')
    or diag(scalar(@lines) . " lines:\n" . join("\n", @lines[-5 .. -1]));
ok($w->running, 'the server is still running');
is($w->get('/index.html')->{status}, 200, 'and still answers');
$w->stop;
done_testing;
