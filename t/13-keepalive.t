#!/usr/bin/perl
# Persistent connections: HTTP/1.1 keep-alive by default, HTTP/1.0 on request,
# Connection: close, pipelining in order, MaxKeepAliveRequests,
# KeepAliveTimeout, Timeout, KeepAlive Off, and request bodies that are not
# read by the handler (drained, never parsed as a request).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale wait_closed send_raw read_response);

my %files = (
    'www/index.html' => "index\n",
    'www/a.txt'      => "AAA\n",
    'www/b.txt'      => "BBB\n",
    'www/c.txt'      => "CCC\n",
    'www/secret.txt' => "SECRET\n",
);
# AcceptFilter http none: the silent connection below must reach weft (by
# default the kernel keeps a connection that sent nothing for 30 s).
my $w = WeftTest->new(conf => <<'EOF', files => \%files);
AcceptFilter http none
KeepAlive On
MaxKeepAliveRequests 3
KeepAliveTimeout 1
Timeout 2
EOF
$w->start;
my $port = $w->port;
my $H = "Host: 127.0.0.1:$port\r\n";

sub req { my ($path, $extra) = @_; return "GET $path HTTP/1.1\r\n$H" . ($extra // '') . "\r\n" }

# ---------------------------------------------------------------- HTTP/1.1 default
{
    my $sock = $w->connect;
    send_raw($sock, req('/a.txt'));
    my $r1 = read_response($sock);
    is($r1->{body}, "AAA\n", 'HTTP/1.1: first request on a connection') or diag($r1->summary);
    unlike($r1->{headers}{connection} // '', qr/close/i, 'HTTP/1.1: no Connection: close by default');
    send_raw($sock, req('/b.txt'));
    my $r2 = read_response($sock);
    is($r2->{body}, "BBB\n", 'HTTP/1.1: a second request on the same connection (keep-alive by default)')
        or diag($r2->summary);
}

# ---------------------------------------------------------------- HTTP/1.0
{
    my $sock = $w->connect;
    send_raw($sock, "GET /a.txt HTTP/1.0\r\n\r\n");
    my $r = read_response($sock);
    is($r->{status}, 200, 'HTTP/1.0 request is answered');
    my ($state) = wait_closed($sock, scale(3));
    is($state, 'closed', 'HTTP/1.0 without keep-alive: the server closes after the response');

    $sock = $w->connect;
    send_raw($sock, "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    $r = read_response($sock);
    like($r->{headers}{connection} // '', qr/keep-alive/i, 'HTTP/1.0 with Connection: keep-alive gets Connection: keep-alive');
    ok(defined $r->{headers}{'content-length'}, '... and a Content-Length');
    send_raw($sock, "GET /b.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    my $r2 = read_response($sock);
    is($r2->{body}, "BBB\n", 'HTTP/1.0 keep-alive: a second request on the same connection') or diag($r2->summary);
}

# ---------------------------------------------------------------- Connection: close
{
    my $sock = $w->connect;
    send_raw($sock, req('/a.txt', "Connection: close\r\n"));
    my $r = read_response($sock);
    like($r->{headers}{connection} // '', qr/close/i, 'Connection: close is answered with Connection: close');
    my ($state) = wait_closed($sock, scale(3));
    is($state, 'closed', 'Connection: close: the server closes after the response');

    $sock = $w->connect;
    send_raw($sock, req('/a.txt', "Connection: foo, CLOSE\r\n"));
    $r = read_response($sock);
    ($state) = wait_closed($sock, scale(3));
    is($state, 'closed', 'a Connection list containing close (any case) closes');
}

# ---------------------------------------------------------------- pipelining
{
    my ($rs, $sock) = $w->pipeline(req('/a.txt') . req('/b.txt') . req('/c.txt'), 3);
    is(join('', map { $_->{body} // '?' } @$rs), "AAA\nBBB\nCCC\n", 'three pipelined requests in one write are answered in order');

    ($rs, $sock) = $w->pipeline(req('/a.txt') . "HEAD /b.txt HTTP/1.1\r\n$H\r\n" . req('/c.txt', "Connection: close\r\n"), 3,
        methods => [qw(GET HEAD GET)]);
    is(scalar(@$rs), 3, 'GET, HEAD, GET pipelined: three responses');
    is($rs->[1]{status}, 200, '... the HEAD response is 200');
    is($rs->[1]{body}, '', '... with no body');
    is($rs->[2]{body}, "CCC\n", '... and the GET after it is intact');

    ($rs, $sock) = $w->pipeline(req('/a.txt') . req('/nope') . req('/c.txt'), 3);
    is(join(' ', map { $_->{status} // '?' } @$rs), '200 404 200', 'a 404 in the middle of a pipeline does not disturb it');

    # Pipelined requests split across writes at odd places.
    my $raw = req('/a.txt') . req('/b.txt', "Connection: close\r\n");
    $sock = $w->connect;
    for my $piece (substr($raw, 0, 7), substr($raw, 7, 30), substr($raw, 37)) {
        send_raw($sock, $piece);
        sleep 0.02;
    }
    my @got = map { read_response($sock)->{body} // '?' } 1 .. 2;
    is(join('', @got), "AAA\nBBB\n", 'pipelined requests split across writes are answered in order');
}

# ---------------------------------------------------------------- MaxKeepAliveRequests 3
{
    my $sock = $w->connect;
    my @conn;
    for my $i (1 .. 3) {
        send_raw($sock, req('/a.txt'));
        my $r = read_response($sock);
        push @conn, $r->{headers}{connection} // '';
    }
    unlike($conn[0] . $conn[1], qr/close/i, 'MaxKeepAliveRequests 3: responses 1 and 2 keep the connection');
    like($conn[2], qr/close/i, 'MaxKeepAliveRequests 3: the 3rd response has Connection: close');
    my ($state) = wait_closed($sock, scale(3));
    is($state, 'closed', '... and the server closes the connection');
}

# ---------------------------------------------------------------- KeepAliveTimeout 1
{
    my $sock = $w->connect;
    send_raw($sock, req('/a.txt'));
    my $r = read_response($sock);
    my ($state, $elapsed) = wait_closed($sock, scale(6));
    is($state, 'closed', 'KeepAliveTimeout 1: an idle keep-alive connection is closed by the server');
    cmp_ok($elapsed, '>=', 0.8, '... not before about 1 s');
    cmp_ok($elapsed, '<=', scale(3), '... and not much later than 1 s');

    # A connection that never sends anything is closed too (Timeout 2 or KeepAliveTimeout).
    $sock = $w->connect;
    ($state, $elapsed) = wait_closed($sock, scale(8));
    is($state, 'closed', 'a connection that sends nothing is closed by the server');

    # A request head that stops in the middle is closed after Timeout (2 s), with or without 408.
    $sock = $w->connect;
    send_raw($sock, "GET /a.txt HTTP/1.1\r\nHo");
    my $t0 = time;
    my $got = read_response($sock, timeout => scale(8));
    my $elapsed2 = time - $t0;
    ok(!defined $got->{status} && $got->{error} =~ /closed|reset/ || defined $got->{status} && $got->{status} == 408,
        'Timeout 2: an incomplete request head ends in 408 or a close') or diag($got->summary);
    cmp_ok($elapsed2, '<=', scale(6), '... within a few seconds');
}

$w->stop;

# ---------------------------------------------------------------- bodies that are not read
{
    my $v = WeftTest->new(conf => "MaxKeepAliveRequests 100\nKeepAliveTimeout 5\n", files => \%files);
    $v->start;
    my $Hv = "Host: 127.0.0.1:" . $v->port . "\r\n";
    my $smuggled = "GET /secret.txt HTTP/1.1\r\n$Hv\r\n";

    # Content-Length body on a GET to a static file, whose body looks like a request.
    my $raw = "GET /a.txt HTTP/1.1\r\n${Hv}Content-Length: " . length($smuggled) . "\r\n\r\n$smuggled"
        . "GET /b.txt HTTP/1.1\r\n${Hv}Connection: close\r\n\r\n";
    my ($rs, $sock) = $v->pipeline($raw, 3);
    is($rs->[0]{body}, "AAA\n", 'GET with an unread Content-Length body: the first response is right');
    ok(!grep({ ($_->{body} // '') =~ /SECRET/ } @$rs), 'the unread body is never parsed as a request');
    is($rs->[1]{body}, "BBB\n", 'the body is drained and the next pipelined request is answered')
        or diag($rs->[1] ? $rs->[1]->summary : 'no second response');
    ok(@$rs < 3 || !defined $rs->[2]{status}, 'no third response') or diag($rs->[2]->summary);

    # The same with a chunked body.
    my $chunked = sprintf("%x\r\n%s\r\n0\r\n\r\n", length $smuggled, $smuggled);
    $raw = "GET /a.txt HTTP/1.1\r\n${Hv}Transfer-Encoding: chunked\r\n\r\n$chunked"
        . "GET /c.txt HTTP/1.1\r\n${Hv}Connection: close\r\n\r\n";
    ($rs, $sock) = $v->pipeline($raw, 3);
    is($rs->[0]{body}, "AAA\n", 'GET with an unread chunked body: the first response is right');
    ok(!grep({ ($_->{body} // '') =~ /SECRET/ } @$rs), 'the unread chunked body is never parsed as a request');
    is($rs->[1]{body}, "CCC\n", 'the chunked body is drained and the next pipelined request is answered')
        or diag($rs->[1] ? $rs->[1]->summary : 'no second response');

    # A 405 for a POST with a body: the body is not a request either.
    $raw = "POST /a.txt HTTP/1.1\r\n${Hv}Content-Length: " . length($smuggled) . "\r\n\r\n$smuggled"
        . "GET /b.txt HTTP/1.1\r\n${Hv}Connection: close\r\n\r\n";
    ($rs, $sock) = $v->pipeline($raw, 3);
    is($rs->[0]{status}, 405, 'POST with a body to a static file: 405');
    ok(!grep({ ($_->{body} // '') =~ /SECRET/ } @$rs), 'the body of the refused POST is never parsed as a request');
    ok(!$rs->[1] || !defined $rs->[1]{status} || ($rs->[1]{body} // '') eq "BBB\n",
        'after the 405, the connection is either closed or answers the next request correctly');

    # A larger body (200 KB), sent in pieces while the response is already out.
    my $big = 'Z' x 200_000;
    $sock = $v->connect;
    send_raw($sock, "GET /a.txt HTTP/1.1\r\n${Hv}Content-Length: 200000\r\n\r\n");
    my $r1 = read_response($sock);
    send_raw($sock, $big . "GET /b.txt HTTP/1.1\r\n${Hv}Connection: close\r\n\r\n");
    my $r2 = read_response($sock);
    is($r1->{body}, "AAA\n", 'a 200 KB body arriving after the response: the response is right');
    ok(!defined $r2->{status} || $r2->{body} eq "BBB\n",
        '... and what follows is never a response to bytes of the body');

    # Expect: 100-continue on a request whose body the server does not need.
    $sock = $v->connect;
    send_raw($sock, "GET /a.txt HTTP/1.1\r\n${Hv}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    my $r3 = read_response($sock, timeout => scale(5));
    ok(defined $r3->{status} && $r3->{status} == 200 || @{ $r3->{interim} || [] },
        'Expect: 100-continue gets 100 Continue or the final response without waiting for the body')
        or diag($r3->summary);
    $v->stop(name => 'body-draining server');
}

# ---------------------------------------------------------------- KeepAlive Off
{
    my $v = WeftTest->new(conf => "KeepAlive Off\n", files => \%files);
    $v->start;
    my $sock = $v->connect;
    send_raw($sock, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r = read_response($sock);
    like($r->{headers}{connection} // '', qr/close/i, 'KeepAlive Off: HTTP/1.1 responses carry Connection: close');
    my ($state) = wait_closed($sock, scale(3));
    is($state, 'closed', 'KeepAlive Off: the server closes after each response');
    $v->stop(name => 'KeepAlive Off server');
}

done_testing;
