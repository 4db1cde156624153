#!/usr/bin/perl
# Request bodies: 10 MB through a CGI echo by Content-Length and chunked
# (compared by MD5), Expect: 100-continue, LimitRequestBody (413 before
# and while reading), a script that never reads its input, a body the
# client stops sending, and what a handler that does not read the body
# leaves for the connection (static files).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::MD5 qw(md5_hex);
use IO::Select;
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale send_raw read_response);
use WeftCgi;

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 1
MaxClients 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 4
Timeout 2
ScriptAlias /cgi-bin/limited/ "@ROOT@/cgi-bin/"
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
<Location /cgi-bin/limited/>
    LimitRequestBody 1000
</Location>
EOF
    files => { WeftCgi::scripts('cgi-bin'), 'www/file.txt' => "static\n" },
);
$w->start;
my $baseline = WeftCgi::baseline($w);
my $host = $w->host_header;

srand(42);
my $block = join('', map { chr(int rand 256) } 1 .. 65521);    # a prime length: no 64 KiB period
my $body = substr($block x 161, 0, 10 * 1024 * 1024);            # 10 MiB
is(length $body, 10 * 1024 * 1024, '10 MiB body');
my $md5 = md5_hex($body);

sub chunked {
    my ($data) = @_;
    my $out = '';
    my $at = 0;
    my $i = 0;
    while ($at < length $data) {
        my $size = 1 + ($i++ * 7919) % 70000;    # odd sizes, with extensions now and then
        $size = length($data) - $at if $at + $size > length $data;
        $out .= sprintf('%x', $size) . ($i % 5 == 0 ? ';ext=val' : '') . "\r\n" . substr($data, $at, $size) . "\r\n";
        $at += $size;
    }
    return $out . "0\r\nX-Trailer: yes\r\n\r\n";
}

# Sends $request while reading what comes back, as a browser or curl does
# (an echo answers before the body is all sent), then reads the response.
sub duplex {
    my ($request) = @_;
    my $sock = $w->connect or return undef;
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my $buffer = \${*$sock}{weft_buffer};
    my ($at, $deadline) = (0, time + scale(30));
    while ($at < length $request && time < $deadline) {
        my ($readable, $writable) = IO::Select->select($sel, $sel, undef, 1);
        if ($readable && @$readable) {
            my $n = sysread($sock, $$buffer, 1 << 20, length $$buffer);
            last if defined $n && $n == 0;
        }
        if ($writable && @$writable) {
            my $n = syswrite($sock, $request, 1 << 20, $at);
            $at += $n if $n;
        }
    }
    $sock->blocking(1);
    return read_response($sock, timeout => scale(30));
}

# ---------------------------------------------------------------- 10 MB by Content-Length
my $r = duplex("POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: $host\r\nContent-Length: " . length($body)
    . "\r\nConnection: close\r\n\r\n$body");
is($r->{status}, 200, 'POST 10 MiB by Content-Length to a streaming echo (cat): 200') or diag($r->summary);
is(length($r->{body} // ''), length $body, '... the echo has every byte');
is(md5_hex($r->{body} // ''), $md5, '... and the same MD5');

# ---------------------------------------------------------------- 10 MB chunked
$r = duplex("POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: $host\r\nTransfer-Encoding: chunked\r\n"
    . "Connection: close\r\n\r\n" . chunked($body));
is($r->{status}, 200, 'POST 10 MiB chunked to the streaming echo: 200') or diag($r->summary);
is(md5_hex($r->{body} // ''), $md5, '... decoded and echoed, the same MD5');

# ---------------------------------------------------------------- the same to a script that reads everything first
$r = $w->request("POST /cgi-bin/slurp.cgi HTTP/1.1\r\nHost: $host\r\nContent-Length: " . length($body)
    . "\r\nConnection: close\r\n\r\n$body", timeout => scale(30));
is($r->{status}, 200, 'POST 10 MiB by Content-Length, sent whole before reading, to slurp.cgi: 200');
is($r->{headers}{'x-length'}, length $body, '... the script read every byte');
is(md5_hex($r->{body} // ''), $md5, '... same MD5 back');
my $mib = substr($body, 0, 1 << 20);
$r = $w->request("POST /cgi-bin/slurp.cgi HTTP/1.1\r\nHost: $host\r\nTransfer-Encoding: chunked\r\n"
    . "Connection: close\r\n\r\n" . chunked($mib), timeout => scale(30));
is($r->{status}, 200, '1 MiB chunked, sent whole before reading, to slurp.cgi: 200');
is(md5_hex($r->{body} // ''), md5_hex($mib), '... same MD5 back');

# ---------------------------------------------------------------- keep-alive after a CGI POST
{
    my ($responses) = $w->pipeline("POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: $host\r\nContent-Length: 5\r\n\r\nhello"
        . "POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: $host\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        . "GET /file.txt HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n", 3);
    is(scalar(grep { ($_->{status} // 0) == 200 } @$responses), 3, 'three pipelined requests after CGI bodies');
    is(join('|', map { $_->{body} // '' } @$responses), "hello|abc|static\n", '... each body where it belongs');
}

# ---------------------------------------------------------------- Expect: 100-continue
{
    my $sock = $w->connect;
    send_raw($sock, "POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: $host\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
        . "Connection: close\r\n\r\n");
    my $sel = IO::Select->new($sock);
    ok($sel->can_read(scale(5)), 'something arrives before we send the body');
    my $interim = '';
    sysread($sock, $interim, 4096);
    like($interim, qr{^HTTP/1\.1 100 Continue\r\n\r\n}, '... HTTP/1.1 100 Continue');
    ${*$sock}{weft_buffer} = substr($interim, length("HTTP/1.1 100 Continue\r\n\r\n"));
    send_raw($sock, "hello");
    $r = read_response($sock);
    is($r->{status}, 200, 'then the final response');
    is($r->{body}, 'hello', '... with the echoed body');
}
{
    # A script that does not exist never asks for the body: no 100.
    my $sock = $w->connect;
    send_raw($sock, "POST /cgi-bin/missing.cgi HTTP/1.1\r\nHost: $host\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    $r = read_response($sock);
    is($r->{status}, 404, 'Expect: 100-continue to a missing script: 404');
    is(scalar @{ $r->{interim} }, 0, '... without a 100 first');
    like($r->{headers}{connection} // '', qr/close/i, '... and the connection closes (the body never came)');
}

# ---------------------------------------------------------------- LimitRequestBody
$r = $w->request("POST /cgi-bin/limited/echo.cgi HTTP/1.1\r\nHost: $host\r\nContent-Length: 1001\r\n"
    . "Connection: close\r\n\r\n" . ('x' x 1001));
is($r->{status}, 413, 'Content-Length over LimitRequestBody: 413');
$r = $w->request("POST /cgi-bin/limited/echo.cgi HTTP/1.1\r\nHost: $host\r\nTransfer-Encoding: chunked\r\n"
    . "Connection: close\r\n\r\n" . chunked('y' x 5000));
is($r->{status}, 413, 'a chunked body that grows over LimitRequestBody: 413');
$r = $w->request("POST /cgi-bin/limited/echo.cgi HTTP/1.1\r\nHost: $host\r\nTransfer-Encoding: chunked\r\n"
    . "Connection: close\r\n\r\n" . chunked('z' x 1000));
is($r->{status}, 200, 'a chunked body of exactly the limit passes');
is($r->{body}, 'z' x 1000, '... whole');

# ---------------------------------------------------------------- malformed chunked framing
$r = $w->request("POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: $host\r\nTransfer-Encoding: chunked\r\n"
    . "Connection: close\r\n\r\n5\r\nhello\r\nzz\r\n\r\n");
is($r->{status}, 400, 'malformed chunked framing: 400');

# ---------------------------------------------------------------- a script that does not read
{
    my $big = 'q' x (4 * 1024 * 1024);
    my $t0 = time;
    $r = $w->request("POST /cgi-bin/noread.cgi HTTP/1.1\r\nHost: $host\r\nContent-Length: " . length($big)
        . "\r\nConnection: close\r\n\r\n$big", timeout => scale(20));
    is($r->{status}, 200, 'a script that never reads its 4 MiB input still answers');
    is(length($r->{body} // ''), 300000, '... all of its output');
    cmp_ok(time - $t0, '<', scale(10), '... without waiting for a timeout');
}

# ---------------------------------------------------------------- the client stops sending
{
    my $sock = $w->connect;
    send_raw($sock, "POST /cgi-bin/slurp.cgi HTTP/1.1\r\nHost: $host\r\nContent-Length: 100\r\n\r\nonly part");
    my $t0 = time;
    $r = read_response($sock, timeout => scale(15));
    is($r->{status}, 408, 'a body that stops coming: 408 after Timeout');
    cmp_ok(time - $t0, '>=', 1.5, '... not before Timeout (2 s)');
}

# ---------------------------------------------------------------- bodies a handler does not read
{
    my ($responses) = $w->pipeline("POST /file.txt HTTP/1.1\r\nHost: $host\r\nContent-Length: 10\r\n\r\n0123456789"
        . "POST /file.txt HTTP/1.1\r\nHost: $host\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        . "GET /file.txt HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n", 3);
    is(join(' ', map { $_->{status} // 'none' } @$responses), '405 405 200',
        'static files: POST is 405, the unread bodies are discarded, the connection goes on');
    my $sock = $w->connect;
    send_raw($sock, "POST /file.txt HTTP/1.1\r\nHost: $host\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    $r = read_response($sock);
    is($r->{status}, 405, 'Expect: 100-continue to a handler that does not read: the answer at once');
    is(scalar @{ $r->{interim} }, 0, '... and no 100');
}

WeftCgi::check_clean($w, $baseline, 'after the body checks');
$w->stop;
done_testing;
