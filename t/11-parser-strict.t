#!/usr/bin/perl
# The strict request parser seen from outside: raw requests and the status
# each must get (RFC 9112 / RFC 9110), plus the request limits.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale wait_closed send_raw read_response);

my $w = WeftTest->new(
    conf => <<'EOF',
LimitRequestLine 200
LimitRequestFieldSize 200
LimitRequestFields 10
LimitRequestBody 100
EOF
    files => { 'www/index.html' => "index\n", 'www/a.txt' => "A\n" },
);
$w->start;
my $port = $w->port;
my $H = "Host: 127.0.0.1:$port\r\n";

# Sends $raw on a fresh connection, expects one response with $status.
# Returns the response (and leaves the socket in $LAST_SOCK).
our $LAST_SOCK;
sub expect_status {
    my ($raw, $status, $name, %o) = @_;
    my ($r, $sock) = $w->request($raw, keep => 1, %o);
    $LAST_SOCK = $sock;
    is($r->{status}, $status, $name) or diag("request: " . WeftTest::Response::_show($raw) . "\nresponse: " . $r->summary);
    return $r;
}

# ---------------------------------------------------------------- valid baselines
expect_status("GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n", 200, 'a well-formed request is 200');
expect_status("GET / HTTP/1.0\r\n\r\n", 200, 'HTTP/1.0 without Host is 200');
expect_status("GET / HTTP/1.1\r\nhOsT: x\r\nConnection: close\r\n\r\n", 200, 'field names are case-insensitive');
expect_status("GET / HTTP/1.1\r\n${H}X-Empty:\r\nConnection: close\r\n\r\n", 200, 'an empty field value is fine');
expect_status("GET / HTTP/1.1\r\n${H}X-Tab:\tvalue\t\r\nConnection: close\r\n\r\n", 200, 'tabs around a field value are fine');
expect_status("GET / HTTP/1.1\r\n${H}X-Obs: caf\xc3\xa9\r\nConnection: close\r\n\r\n", 200, 'obs-text in a field value is fine');
expect_status("GET / HTTP/1.9\r\n${H}Connection: close\r\n\r\n", 200, 'HTTP/1.9 is served as HTTP/1.1 (same major version)');
expect_status("GET /a.txt HTTP/1.1\r\n${H}Content-Length: 0\r\nConnection: close\r\n\r\n", 200, 'GET with Content-Length: 0');

# ---------------------------------------------------------------- line endings and whitespace
expect_status("GET / HTTP/1.1\n${H}Connection: close\r\n\r\n", 400, 'a bare LF ending the request line is 400');
expect_status("GET / HTTP/1.1\r\nHost: x\nConnection: close\r\n\r\n", 400, 'a bare LF ending a header line is 400');
expect_status("GET / HTTP/1.1\r\n${H}Connection: close\r\n\n", 400, 'a bare LF ending the head is 400');
expect_status("GET / HTTP/1.1\r\n${H}X-A: b\rc\r\nConnection: close\r\n\r\n", 400, 'a bare CR inside a field is 400');
expect_status("GET / HTTP/1.1\r\n${H}X-Folded: a\r\n  continued\r\nConnection: close\r\n\r\n", 400, 'obs-fold (a line starting with space) is 400');
expect_status("GET / HTTP/1.1\r\n${H}X-Folded: a\r\n\tcontinued\r\nConnection: close\r\n\r\n", 400, 'obs-fold (a line starting with a tab) is 400');
expect_status("GET / HTTP/1.1\r\nHost : x\r\nConnection: close\r\n\r\n", 400, 'space between field name and colon is 400');
expect_status("GET / HTTP/1.1\r\nHost\t: x\r\nConnection: close\r\n\r\n", 400, 'tab between field name and colon is 400');
expect_status("GET / HTTP/1.1\r\n${H}X Bad: y\r\nConnection: close\r\n\r\n", 400, 'a space inside a field name is 400');
expect_status("GET / HTTP/1.1\r\n${H}NoColon\r\nConnection: close\r\n\r\n", 400, 'a field line without a colon is 400');
expect_status("GET / HTTP/1.1\r\n${H}: novalue\r\nConnection: close\r\n\r\n", 400, 'an empty field name is 400');
expect_status("GET / HTTP/1.1\r\n${H}X-Nul: a\0b\r\nConnection: close\r\n\r\n", 400, 'a NUL in a field value is 400');
expect_status("GET  / HTTP/1.1\r\n${H}Connection: close\r\n\r\n", 400, 'two spaces in the request line is 400');
expect_status("GET / HTTP/1.1 \r\n${H}Connection: close\r\n\r\n", 400, 'trailing space after the version is 400');
expect_status("GET /\r\n\r\n", 400, 'a request line without a version (HTTP/0.9) is 400');
expect_status("GET / http/1.1\r\n${H}Connection: close\r\n\r\n", 400, 'a lower-case protocol name is 400');
expect_status("GET / HTTP/1.1.1\r\n${H}Connection: close\r\n\r\n", 400, 'a malformed version is 400');
expect_status("G(T / HTTP/1.1\r\n${H}Connection: close\r\n\r\n", 400, 'a method that is not a token is 400');

# ---------------------------------------------------------------- versions
expect_status("GET / HTTP/2.0\r\n${H}Connection: close\r\n\r\n", 505, 'HTTP/2.0 is 505');
expect_status("GET / HTTP/3.1\r\n${H}Connection: close\r\n\r\n", 505, 'HTTP/3.1 is 505');

# ---------------------------------------------------------------- Host
expect_status("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 400, 'HTTP/1.1 without Host is 400');
expect_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n", 400, 'two Host fields are 400');
expect_status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\nConnection: close\r\n\r\n", 400, 'two identical Host fields are 400 too');
expect_status("GET / HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n", 400, 'a Host with a space is 400');

# ---------------------------------------------------------------- framing
{
    my $r = expect_status("POST /a.txt HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
        'Content-Length together with Transfer-Encoding is 400');
    like($r->{headers}{connection} // '', qr/close/i, '... with Connection: close');
    my ($state) = wait_closed($LAST_SOCK, scale(5));
    is($state, 'closed', '... and the connection is closed');
}
{
    my $r = expect_status("POST /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
        'Transfer-Encoding before Content-Length is 400 too');
    my ($state) = wait_closed($LAST_SOCK, scale(5));
    is($state, 'closed', '... and the connection is closed');
}
expect_status("POST /a.txt HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400,
    'two different Content-Length values are 400');
expect_status("POST /a.txt HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello!", 400,
    'a Content-Length list with different values is 400');
expect_status("GET /a.txt HTTP/1.1\r\n${H}Content-Length: +5\r\nConnection: close\r\n\r\nhello", 400,
    'Content-Length with a sign is 400');
expect_status("GET /a.txt HTTP/1.1\r\n${H}Content-Length: 5x\r\nConnection: close\r\n\r\nhello", 400,
    'Content-Length with a non-digit is 400');
expect_status("GET /a.txt HTTP/1.1\r\n${H}Content-Length: \r\nConnection: close\r\n\r\n", 400,
    'an empty Content-Length is 400');
expect_status("GET /a.txt HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\nConnection: close\r\n\r\n", 400,
    'a Content-Length that overflows 64 bits is 400');
expect_status("GET /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", 501,
    'Transfer-Encoding: gzip, chunked is 501 (only chunked is supported)');
expect_status("GET /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nConnection: close\r\n\r\n", 400,
    'Transfer-Encoding: gzip (chunked not last) is 400 (RFC 9112 6.3)');
{
    my $r = expect_status("GET /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\nConnection: close\r\n\r\n", 400,
        'Transfer-Encoding not ending in chunked is 400 (RFC 9112 6.3)');
}
expect_status("GET /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200,
    'a valid chunked body is accepted');
expect_status("GET /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: CHUNKED\r\nConnection: close\r\n\r\n0\r\n\r\n", 200,
    'transfer-coding names are case-insensitive');
# Malformed chunked framing.  The server may answer before it reads the body
# (the static handler does not need it) and find the error only while
# draining; either way the bytes after bad framing can never be taken for
# the next request: a 400, or the response and then a close.
for my $case (["zz\r\nhello\r\n0\r\n\r\n", 'an invalid chunk size'],
              ["fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 'a chunk size that overflows 64 bits'],
              ["5\r\nhelloXX0\r\n\r\n", 'chunk data not followed by CRLF'],
              ["-5\r\nhello\r\n0\r\n\r\n", 'a negative chunk size'],
              ["5 \r\nhello\r\n0\r\n\r\n0\r\n\r\n", 'whitespace after a chunk size']) {
    my ($body, $what) = @$case;
    my $raw = "GET /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n$body"
        . "GET /b.txt HTTP/1.1\r\n${H}Connection: close\r\n\r\n";
    my ($rs, $sock) = $w->pipeline($raw, 2);
    my $first = $rs->[0];
    my $second = $rs->[1];
    ok(defined $first->{status} && ($first->{status} == 400 || $first->{status} == 200),
        "$what: the request is answered (400, or 200 before the body is read)") or diag($first->summary);
    ok(!$second || !defined $second->{status}, "$what: nothing after the bad framing is answered as a request")
        or diag($second->summary);
}
expect_status("GET /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;name=value\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n", 200,
    'chunk extensions and trailer fields are accepted');

# ---------------------------------------------------------------- limits
{
    my $target = '/' . ('a' x 250);
    my $r = expect_status("GET $target HTTP/1.1\r\n${H}Connection: close\r\n\r\n", 414,
        'a request line over LimitRequestLine is 414');
    my $ok_target = '/' . ('b' x 150);
    expect_status("GET $ok_target HTTP/1.1\r\n${H}Connection: close\r\n\r\n", 404,
        'a request line under LimitRequestLine is parsed (404 for a missing file)');
    my $value = 'v' x 250;
    expect_status("GET / HTTP/1.1\r\n${H}X-Long: $value\r\nConnection: close\r\n\r\n", 431,
        'a field over LimitRequestFieldSize is 431');
    my $fields = join '', map { "X-F$_: $_\r\n" } 1 .. 15;
    expect_status("GET / HTTP/1.1\r\n${H}${fields}Connection: close\r\n\r\n", 431,
        'more fields than LimitRequestFields is 431');
    $fields = join '', map { "X-F$_: $_\r\n" } 1 .. 7;
    expect_status("GET / HTTP/1.1\r\n${H}${fields}Connection: close\r\n\r\n", 200,
        'fields within LimitRequestFields are fine');
    my $body = 'x' x 150;
    expect_status("GET /a.txt HTTP/1.1\r\n${H}Content-Length: 150\r\nConnection: close\r\n\r\n$body", 413,
        'a Content-Length body over LimitRequestBody is 413');
    # A chunked body's size is only known while reading it: a server that
    # answers before reading (static files) must then stop at the limit.
    my $chunked = "80\r\n" . ('y' x 128) . "\r\n0\r\n\r\n";
    my ($rs) = $w->pipeline("GET /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n$chunked"
        . "GET /b.txt HTTP/1.1\r\n${H}Connection: close\r\n\r\n", 2);
    ok(defined $rs->[0]{status} && ($rs->[0]{status} == 413
            || $rs->[0]{status} == 200 && (!$rs->[1] || !defined $rs->[1]{status})),
        'a chunked body over LimitRequestBody: 413, or the response and then a close (never drained past the limit)')
        or diag(join "\n", map { $_->summary } @$rs);
    $body = 'x' x 100;
    expect_status("GET /a.txt HTTP/1.1\r\n${H}Content-Length: 100\r\nConnection: close\r\n\r\n$body", 200,
        'a body exactly at LimitRequestBody is fine');
}

# ---------------------------------------------------------------- split requests
{
    # A request sent one byte at a time is parsed like one sent at once.
    my $sock = $w->connect;
    my $raw = "GET /a.txt HTTP/1.1\r\n${H}Connection: close\r\n\r\n";
    my $all = 1;
    for my $i (0 .. length($raw) - 1) {
        $all &&= send_raw($sock, substr($raw, $i, 1));
        select(undef, undef, undef, 0.002) if $i % 8 == 0;
    }
    my $r = read_response($sock);
    is($r->{body}, "A\n", 'a request sent one byte at a time is served') or diag($r->summary);
}

$w->stop;

# ---------------------------------------------------------------- default limits
{
    my $v = WeftTest->new(conf => '', files => { 'www/index.html' => "x\n" });
    $v->start;
    my $H2 = "Host: 127.0.0.1:" . $v->port . "\r\n";
    my $r = $v->request("GET /" . ('a' x 8300) . " HTTP/1.1\r\n${H2}Connection: close\r\n\r\n");
    is($r->{status}, 414, 'default LimitRequestLine (8190): a 8300-byte target is 414') or diag($r->summary);
    $r = $v->request("GET /" . ('a' x 8000) . " HTTP/1.1\r\n${H2}Connection: close\r\n\r\n");
    is($r->{status}, 404, 'default LimitRequestLine: an 8000-byte target is parsed') or diag($r->summary);
    $r = $v->request("GET / HTTP/1.1\r\n${H2}X-Long: " . ('v' x 8300) . "\r\nConnection: close\r\n\r\n");
    is($r->{status}, 431, 'default LimitRequestFieldSize (8190): an 8300-byte field is 431') or diag($r->summary);
    my $fields = join '', map { "X-F$_: $_\r\n" } 1 .. 101;
    $r = $v->request("GET / HTTP/1.1\r\n${H2}${fields}Connection: close\r\n\r\n");
    is($r->{status}, 431, 'default LimitRequestFields (100): 102 fields is 431') or diag($r->summary);
    $v->stop(name => 'default-limits server');
}

done_testing;
