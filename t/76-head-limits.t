#!/usr/bin/perl
# Memory per connection: LimitRequestHeadSize bounds a whole request head
# (431, or 414 while still in the request line) on top of Apache's
# per-field limits, and RequestBufferBudget bounds what one child buffers
# for all its connections: past it, the parked connections holding the
# most for the longest are cut, and normal requests are still served.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use IO::Select;
use WeftTest qw(wait_for scale send_raw read_response);

# A head of $total bytes: the request line, Host, and header fields of at
# most $field bytes each (name, ": ", value); with the final empty line if
# $complete (it counts in $total), else a partial head.
sub head_of {
    my ($host, $total, $field, $complete) = @_;
    $total -= 2 if $complete;
    my $head = "GET / HTTP/1.1\r\nHost: $host\r\n";
    my $i = 0;
    while (length($head) + 2 < $total) {
        my $room = $total - length($head) - 2;      # "\r\n" of this field
        my $name = sprintf 'X-Pad-%03d: ', $i++;
        my $value = $field - length $name;
        $value = $room - length $name if $room < $field;
        $value = 1 if $value < 1;
        $head .= $name . ('p' x $value) . "\r\n";
    }
    return $complete ? "$head\r\n" : $head;
}

# Is the connection closed by the server (EOF or reset) within $timeout?
sub closed_within {
    my ($sock, $timeout) = @_;
    my $sel = IO::Select->new($sock);
    return 0 unless $sel->can_read($timeout);
    my $n = sysread($sock, my $scrap, 65536);
    return !defined $n || $n == 0 || $scrap =~ /^HTTP\/1\.1 5/;
}

# 1. LimitRequestHeadSize and the per-field limits inside it.
{
    my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "hello\n" });
LimitRequestHeadSize 2048
LimitRequestLine 1000
LimitRequestFieldSize 1000
LimitRequestFields 50
EOF
    $w->start;
    my $host = $w->host_header;

    my $r = $w->request(head_of($host, 2000, 900, 1));
    is($r->{status}, 200, 'a 2000-byte head under LimitRequestHeadSize 2048 is served') or diag($r->summary);

    $r = $w->request(head_of($host, 2048, 900, 1));
    is($r->{status}, 200, 'a head of exactly LimitRequestHeadSize is served') or diag($r->summary);

    $r = $w->request(head_of($host, 2049, 900, 1));
    is($r->{status}, 431, 'one byte more is 431') or diag($r->summary);
    like($r->{headers}{connection} // '', qr/close/i, '... and the connection is closed');

    $r = $w->request(head_of($host, 3000, 900, 1));
    is($r->{status}, 431, 'fields that are each within LimitRequestFieldSize but add up past the total: 431')
        or diag($r->summary);

    $r = $w->request(head_of($host, 30000, 100, 1));
    is($r->{status}, 431, 'many small fields past the total (still under LimitRequestFields): 431')
        or diag($r->summary);

    $r = $w->request("GET / HTTP/1.1\r\nHost: $host\r\nX-Long: " . ('v' x 1100) . "\r\n\r\n");
    is($r->{status}, 431, 'a single field over LimitRequestFieldSize keeps its own status (431)')
        or diag($r->summary);

    $r = $w->request("GET /" . ('a' x 1100) . " HTTP/1.1\r\nHost: $host\r\n\r\n");
    is($r->{status}, 414, 'a request line over LimitRequestLine is still 414') or diag($r->summary);

    my $fields = join '', map { "X-F$_: $_\r\n" } 1 .. 60;
    $r = $w->request("GET / HTTP/1.1\r\nHost: $host\r\n$fields\r\n");
    is($r->{status}, 431, 'more fields than LimitRequestFields is still 431') or diag($r->summary);

    # The head limit arriving in pieces: the bound holds across reads.
    my $s = $w->connect;
    my $big = head_of($host, 2600, 900, 1);
    for (my $off = 0; $off < length $big; $off += 500) {
        last unless send_raw($s, substr($big, $off, 500));
        sleep 0.05;
    }
    $r = read_response($s);
    is($r->{status}, 431, 'a head over the limit sent in pieces is 431') or diag($r->summary);

    $r = $w->get('/');
    is($r->{status}, 200, 'the server still answers afterwards');
    $w->stop;
}

# 2. A request line longer than the whole-head limit (LimitRequestLine larger) is 414.
{
    my $w = WeftTest->new(conf => "LimitRequestHeadSize 1024\n", files => { 'www/index.html' => "hello\n" });
    $w->start;
    my $r = $w->request("GET /" . ('a' x 1500) . " HTTP/1.1\r\nHost: x\r\n\r\n");
    is($r->{status}, 414, 'a request line longer than LimitRequestHeadSize is 414') or diag($r->summary);
    $w->stop;
}

# 3. The default: 64 KiB (nginx allows 4 x 8 KiB); Apache's per-field
# defaults alone would allow 800 KiB.
{
    my $w = WeftTest->new(conf => "", files => { 'www/index.html' => "hello\n" });
    my ($code, $out, $err) = $w->run_weft($w->weft_args, '-D', 'DUMP_CONFIG', '-t');
    like($out . $err, qr/^LimitRequestHeadSize 65536$/m, 'the default LimitRequestHeadSize is 65536');
    like($out . $err, qr/^RequestBufferBudget 67108864$/m, 'the default RequestBufferBudget is 64 MiB');
    $w->start;
    my $host = $w->host_header;
    my $r = $w->request(head_of($host, 60000, 8000, 1));
    is($r->{status}, 200, 'defaults: a 60,000-byte head is served') or diag($r->summary);
    $r = $w->request(head_of($host, 70000, 8000, 1));
    is($r->{status}, 431, 'defaults: a 70,000-byte head of valid fields is 431') or diag($r->summary);
    $w->stop;
}

# 4. Validation: weft -t reports bad values with file and line.
{
    my $w = WeftTest->new(conf => "", files => { 'www/index.html' => "hello\n" });
    my @cases = (
        ["LimitRequestHeadSize 100\n", qr/weft\.conf:1: LimitRequestHeadSize must be between 1024 and 16777216 bytes, not 100/,
         'a LimitRequestHeadSize below 1024'],
        ["LimitRequestHeadSize 0\n", qr/weft\.conf:1: LimitRequestHeadSize must be between/, 'LimitRequestHeadSize 0'],
        ["\nLimitRequestHeadSize 20000000\n", qr/weft\.conf:2: LimitRequestHeadSize must be between/,
         'a LimitRequestHeadSize above 16 MiB'],
        ["LimitRequestHeadSize 64k\n", qr/weft\.conf:1: LimitRequestHeadSize requires/, 'a LimitRequestHeadSize that is not a number'],
        ["RequestBufferBudget 1000\n", qr/weft\.conf:1: RequestBufferBudget must be 0 \(no budget\) or at least 65536 bytes, not 1000/,
         'a RequestBufferBudget below 64 KiB'],
        ["RequestBufferBudget -5\n", qr/weft\.conf:1: RequestBufferBudget requires/, 'a negative RequestBufferBudget'],
        ["<VirtualHost 127.0.0.1:\@PORT\@>\nLimitRequestHeadSize 4096\n</VirtualHost>\n",
         qr/weft\.conf:2: .*LimitRequestHeadSize/, 'LimitRequestHeadSize inside a VirtualHost'],
    );
    for my $case (@cases) {
        my ($conf, $re, $name) = @$case;
        $w->write_conf($conf);
        my ($code, $out, $err) = $w->check_config;
        is($code, 1, "$name fails -t");
        like($out . $err, $re, "... with the file and line") or diag($out . $err);
    }
    $w->write_conf("LimitRequestHeadSize 16384\nRequestBufferBudget 0\n");
    my ($code, $out, $err) = $w->check_config;
    is($code, 0, 'LimitRequestHeadSize 16384 and RequestBufferBudget 0 pass -t') or diag($out . $err);
    $w->write_conf("LimitRequestHeadSize 131072\nRequestBufferBudget 65536\n");
    ($code, $out, $err) = $w->check_config;
    is($code, 0, 'a budget smaller than one head passes -t') or diag($out . $err);
    like($out . $err, qr/RequestBufferBudget \(65536\) is smaller than LimitRequestHeadSize \(131072\)/,
        '... with a warning');
}

# 5. The budget: parked connections with large partial heads; when more
# push it over, the one holding the most for the longest is cut, the
# others stay, a normal request is answered, and the error log says so.
{
    my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "hello\n" });
RequestBufferBudget 262144
StartServers 1
ThreadsPerChild 8
MinSpareThreads 1
MaxSpareThreads 16
MaxClients 1
EOF
    $w->start;
    my $host = $w->host_header;
    my $settle = sub { sleep 0.3 * scale(1) };

    # Each partial head of 60,000 bytes takes a 64 KiB buffer (charged
    # 65536); one of 30,000 bytes a 32 KiB one.  4 x 64 + 32 > 256 KiB.
    my %conn;
    for my $spec (['oldest', 60000], ['second', 60000], ['small', 30000], ['fourth', 60000]) {
        my ($name, $size) = @$spec;
        my $s = $w->connect;
        ok(send_raw($s, head_of($host, $size, 8000, 0)), "$name: a partial head of $size bytes sent");
        $conn{$name} = $s;
        $settle->();
    }
    my $fresh = $w->get('/');
    is($fresh->{status}, 200, 'a normal GET is answered while 224 KiB of heads are parked');

    # The fifth needs 64 KiB more: the budget is exhausted.
    my $fifth = $w->connect;
    ok(send_raw($fifth, head_of($host, 60000, 8000, 0)), 'fifth: a partial head of 60000 bytes sent');
    ok(closed_within($conn{oldest}, scale(5)), 'the connection holding the most for the longest is cut');
    ok(!closed_within($conn{second}, 0.5), 'the next oldest is still open');
    ok(!closed_within($conn{small}, 0.2), 'the small one is still open');
    ok(!closed_within($fifth, 0.2), 'the connection that asked was not cut');

    $fresh = $w->get('/');
    is($fresh->{status}, 200, 'a normal GET on a fresh connection is answered 200');

    # The survivors complete their heads and are served.
    ok(send_raw($fifth, "\r\n"), 'fifth: the head completed');
    my $r = read_response($fifth);
    is($r->{status}, 200, 'the connection that asked is served') or diag($r->summary);
    ok(send_raw($conn{small}, "\r\n"), 'small: the head completed');
    $r = read_response($conn{small});
    is($r->{status}, 200, 'a parked connection that was not cut is served') or diag($r->summary);

    my $line = $w->wait_error_log(qr/RequestBufferBudget \(262144 bytes\) exhausted: cut \d+ connection/, scale(5));
    ok($line, 'the error log says the budget was exhausted and connections were cut')
        or diag($w->error_log);
    close $_ for values %conn;
    $w->stop;
}

# 6. Nothing to cut: a single connection that needs more than the whole
# budget is refused with 503; the server goes on.
{
    my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "hello\n" });
LimitRequestHeadSize 131072
RequestBufferBudget 65536
EOF
    $w->start;
    my $host = $w->host_header;
    my $r = $w->request(head_of($host, 100000, 8000, 1));
    is($r->{status}, 503, 'a head larger than the whole budget, with nothing parked to cut: 503')
        or diag($r->summary);
    $r = $w->request(head_of($host, 30000, 8000, 1));
    is($r->{status}, 200, 'a head within the budget is served') or diag($r->summary);
    $r = $w->get('/');
    is($r->{status}, 200, 'and so is a normal request');
    $w->stop;
}

done_testing();
