#!/usr/bin/perl
# CGI responses: a 20 MiB stream to a slow reader (back-pressure, nothing
# buffered whole, MD5), Status, local Location (internal redirect) and
# absolute Location (302), nph- scripts, HEAD, HTTP/1.0, a script's own
# Content-Length (kept, keep-alive works; short: the connection closes),
# stderr in the error log, and the access log of streamed responses.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::MD5 qw(md5_hex);
use IO::Select;
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale send_raw read_response wait_closed);
use WeftCgi;

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 1
MaxClients 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 4
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
Header set X-Configured yes
EOF
    files => { WeftCgi::scripts('cgi-bin'), 'www/target.txt' => "the target\n" },
);
$w->start;
my $baseline = WeftCgi::baseline($w);
my $host = $w->host_header;

# Waits until a line of the access log matches $re.
sub wait_access_log {
    my ($re) = @_;
    return wait_for(sub { $w->access_log =~ $re }, scale(5)) ? 1 : 0;
}

sub rss_kib {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return 0;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return 0;
}

# ---------------------------------------------------------------- 20 MiB to a slow reader
{
    my $expected = md5_hex(WeftCgi::big_block() x 320);
    my $rss_before = rss_kib($baseline->{pid});
    my $sock = $w->connect(rcvbuf => 16384);
    send_raw($sock, "GET /cgi-bin/big.cgi?20 HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n");
    my $sel = IO::Select->new($sock);
    ok($sel->can_read(scale(5)), 'the stream starts');
    sleep 1;    # read nothing for a while
    my $snapshot = WeftCgi::child_snapshot($w);
    my @running = grep { $_->{state} ne 'Z' } @{ $snapshot->{kids} };
    is(scalar @running, 1, 'while the client does not read, the script is held back (still running)');
    my $rss_during = rss_kib($baseline->{pid});
    cmp_ok($rss_during - $rss_before, '<', 8 * 1024, 'and the child has not buffered its output (RSS grew < 8 MiB)')
        or diag("RSS $rss_before -> $rss_during KiB");
    # Then read slowly: 2 MiB in small pieces with pauses, the rest at once.
    my $buffer = \${*$sock}{weft_buffer};
    my $deadline = time + scale(20);
    while (length($$buffer) < 2 * 1024 * 1024 && time < $deadline) {
        next unless $sel->can_read(1);
        my $n = sysread($sock, $$buffer, 16384, length $$buffer);
        last unless $n;
        sleep 0.002;
    }
    my $r = read_response($sock, timeout => scale(30));
    is($r->{status}, 200, '20 MiB streamed: 200') or diag($r->summary);
    is($r->{headers}{'transfer-encoding'}, 'chunked', '... chunked');
    is(length($r->{body} // ''), 20 * 1024 * 1024, '... every byte');
    is(md5_hex($r->{body} // ''), $expected, '... the right bytes (MD5)');
    ok(wait_access_log(qr{"GET /cgi-bin/big\.cgi\?20 HTTP/1\.1" 200 20971520$}m),
        'the access log counts the body bytes, framing excluded');
}

# ---------------------------------------------------------------- Status
my $r = $w->get('/cgi-bin/status.cgi');
is($r->{status}, 404, 'Status: 404 from the script');
is($r->{body}, "not here\n", '... with the script\'s own body');
is($r->{headers}{'x-script'}, 'yes', '... and its other fields');
$r = $w->get('/cgi-bin/badstatus.cgi');
is($r->{status}, 500, 'an invalid Status: 500');

# ---------------------------------------------------------------- Location
$r = $w->get('/cgi-bin/local.cgi');
is($r->{status}, 200, 'a local Location: the server serves it (internal redirect)');
is($r->{body}, "the target\n", '... the target\'s content');
ok(wait_access_log(qr{"GET /cgi-bin/local\.cgi HTTP/1\.1" 200 11$}m), '... logged under the original request');

$r = $w->request("POST /cgi-bin/local-cgi.cgi?orig=1 HTTP/1.1\r\nHost: $host\r\nContent-Length: 5\r\n"
    . "Content-Type: text/plain\r\nConnection: close\r\n\r\nhello");
is($r->{status}, 200, 'a local Location to another script') or diag($r->summary);
my %e = WeftCgi::parse_env($r->{body});
is($e{SCRIPT_NAME}, '/cgi-bin/env.cgi', '... which runs');
is($e{REQUEST_METHOD}, 'GET', '... as a GET');
is($e{QUERY_STRING}, 'from=local', '... with the Location\'s query');
is($e{REDIRECT_URL}, '/cgi-bin/local-cgi.cgi', 'REDIRECT_URL');
is($e{REDIRECT_QUERY_STRING}, 'orig=1', 'REDIRECT_QUERY_STRING');
is($e{REDIRECT_STATUS}, '200', 'REDIRECT_STATUS');
is($e{REQUEST_URI}, '/cgi-bin/local-cgi.cgi?orig=1', 'REQUEST_URI stays the client\'s');
ok(!exists $e{CONTENT_LENGTH}, 'no body any more');
is($e{'X-STDIN-LENGTH'}, 0, '... nothing on stdin');

$r = $w->get('/cgi-bin/absolute.cgi');
is($r->{status}, 302, 'an absolute Location without Status: 302');
is($r->{headers}{location}, 'http://example.com/elsewhere', '... to it');
unlike($r->{body} // '', qr/ignored body/, '... with our page, not the script\'s body');
$r = $w->get('/cgi-bin/moved.cgi');
is($r->{status}, 301, 'Status: 301 with Location');
is($r->{headers}{location}, 'http://example.com/moved', '... Location passed');
is($r->{body}, "moved body\n", '... and the script\'s body');
$r = $w->get('/cgi-bin/loop.cgi');
is($r->{status}, 500, 'a script redirecting to itself: 500 after 10 internal redirects');
like($w->error_log, qr/limit of 10 internal redirects/, '... logged');

# ---------------------------------------------------------------- nph-
{
    my ($r2, $sock) = $w->request("GET /cgi-bin/nph-raw.cgi HTTP/1.1\r\nHost: $host\r\n\r\n", keep => 1);
    is($r2->{status}, 202, 'nph-: the script\'s status line');
    is($r2->{headers}{'x-nph'}, 'yes', '... its fields');
    ok(!defined $r2->{headers}{server} && !defined $r2->{headers}{date}, '... and none of ours');
    is($r2->{body}, "raw body\n", '... its body, unmodified');
    my ($state) = wait_closed($sock, scale(3));
    is($state, 'closed', '... then the connection closes');
    ok(wait_access_log(qr{"GET /cgi-bin/nph-raw\.cgi HTTP/1\.1" 202 \d+$}m), '... logged with its status');
}

# ---------------------------------------------------------------- HEAD, HTTP/1.0, Content-Length
$r = $w->request("HEAD /cgi-bin/env.cgi HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n");
is($r->{status}, 200, 'HEAD of a script: 200');
is($r->{body}, '', '... no body');
{
    my $sock = $w->connect;
    send_raw($sock, "GET /cgi-bin/env.cgi HTTP/1.0\r\n\r\n");
    my $r2 = read_response($sock);
    is($r2->{status}, 200, 'HTTP/1.0: 200');
    ok(!defined $r2->{headers}{'transfer-encoding'} && !defined $r2->{headers}{'content-length'},
        '... no chunked for HTTP/1.0: the body ends with the connection');
    like($r2->{body}, qr/^GATEWAY_INTERFACE=CGI\/1\.1$/m, '... and is all there');
}
{
    my ($responses, $sock) = $w->pipeline("GET /cgi-bin/length.cgi HTTP/1.1\r\nHost: $host\r\n\r\n"
        . "GET /cgi-bin/length.cgi HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n", 2);
    is(scalar(grep { ($_->{status} // 0) == 200 && ($_->{body} // '') eq "hello\n" } @$responses), 2,
        'a script\'s Content-Length is used, and the connection stays open');
    is($responses->[0]{headers}{'content-length'}, 6, '... Content-Length: 6');
    ok(!defined $responses->[0]{headers}{'transfer-encoding'}, '... not chunked');
    is($responses->[0]{headers}{'x-configured'}, 'yes', 'Header set applies to streamed responses too');
    my ($r2) = $w->pipeline("GET /cgi-bin/length.cgi HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        . "GET /cgi-bin/length.cgi HTTP/1.0\r\n\r\n", 2);
    is(scalar(grep { ($_->{status} // 0) == 200 } @$r2), 2, 'HTTP/1.0 keep-alive with a script\'s Content-Length');
}
{
    my ($r2, $sock) = $w->request("GET /cgi-bin/short.cgi HTTP/1.1\r\nHost: $host\r\n\r\n", keep => 1);
    like($r2->{error} // '', qr/body cut short/, 'a script that sends less than its Content-Length: the client sees the cut');
}

# ---------------------------------------------------------------- stderr
$r = $w->get('/cgi-bin/stderr.cgi');
is($r->{body}, "ok\n", 'a script writing to stderr answers');
my $root = $w->root;
ok($w->wait_error_log(qr/\[cgi:error\] \[pid \d+:tid \d+\] \[client 127\.0\.0\.1:\d+\] \Q$root\E\/cgi-bin\/stderr\.cgi: first complaint$/m),
    'each stderr line goes to the error log as [cgi:error], with the script\'s name');
ok($w->wait_error_log(qr/stderr\.cgi: second complaint$/m), '... also a last line without a newline');

WeftCgi::check_clean($w, $baseline, 'after the response checks');
$w->stop;
done_testing;
