# Slow clients: a connection that trickles its request head is parked without
# a thread, bounded by RequestReadTimeout (mod_reqtimeout's semantics), and
# answered 408 when the deadline passes; normal requests keep flowing.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use IO::Select;
use WeftTest qw(scale send_raw read_response wait_for);

# 1. RequestReadTimeout: 408 for a head that does not complete in time.
{
    # AcceptFilter http none: the silent connection below must reach weft.
    my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "hello\n" });
AcceptFilter http none
RequestReadTimeout header=2-10,MinRate=500 body=2,MinRate=500
EOF
    $w->start;
    my $s = $w->connect;
    send_raw($s, "GET / HTTP/1.1\r\nHost: x\r\n");
    my $started = time;
    my $r = read_response($s, timeout => scale(8));
    my $took = time - $started;
    is($r->{status}, 408, 'an incomplete head gets 408 Request Timeout at the header deadline');
    cmp_ok($took, '>=', 1.5, sprintf('not before the deadline (%.2f s)', $took));
    cmp_ok($took, '<', scale(4), sprintf('and not much after it (%.2f s)', $took));
    like($r->{headers}{connection} // '', qr/close/i, '408 closes the connection');

    # A connection that never sends a byte is closed without a response.
    my $silent = $w->connect;
    my $sel = IO::Select->new($silent);
    my $closed = 0;
    if ($sel->can_read(scale(8))) {
        my $n = sysread($silent, my $buffer, 100);
        $closed = defined $n && $n == 0;
    }
    ok($closed, 'a silent connection is closed at the header deadline, without a response');

    # The rate extends the deadline: 600 bytes a second keep a slow head alive.
    my $slow = $w->connect;
    my $head = "GET / HTTP/1.1\r\nHost: x\r\n" . join('', map { "X-Pad-$_: " . ('a' x 290) . "\r\n" } 1 .. 9);
    my $chunk = 150;
    for (my $off = 0; $off < length $head; $off += $chunk) {
        send_raw($slow, substr($head, $off, $chunk));
        sleep 0.25;
    }
    send_raw($slow, "\r\n");
    $r = read_response($slow, timeout => scale(8));
    is($r->{status}, 200, 'a head that arrives at the minimum rate is served, past the initial deadline');
    like($w->access_log, qr/" 408 /, 'the 408 is in the access log');
    $w->stop;
}

# 2. 300 connections trickling one header byte a second do not slow normal requests.
{
    my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "hello\n" });
StartServers 2
ThreadsPerChild 10
MinSpareThreads 5
MaxSpareThreads 40
MaxClients 8
<Location /server-status>
    SetHandler server-status
</Location>
EOF
    $w->start;
    my @slow;
    for my $i (1 .. 300) {
        my $s = $w->connect or last;
        send_raw($s, 'G');
        push @slow, $s;
    }
    is(scalar @slow, 300, '300 slow connections are open');
    my @latencies;
    my $failures = 0;
    my $end = time + scale(5);
    my $byte = 0;
    my @request = split //, "ET / HTTP/1.1\r\nHost: x\r\nX-Slow: " . ('z' x 60);
    for (my $round = 0; $round < 50 && time < $end; $round++) {
        # Every second, one more byte on every slow connection.
        if ($round % 10 == 0) {
            my $c = $request[$byte++ % @request];
            send_raw($_, $c, 1) for @slow;
        }
        my $t0 = time;
        my $r = $w->get('/');
        push @latencies, time - $t0;
        $failures++ unless ($r->{status} // 0) == 200;
        sleep 0.1;
    }
    my @sorted = sort { $a <=> $b } @latencies;
    my $median = $sorted[int(@sorted / 2)];
    is($failures, 0, 'every normal request succeeded while 300 clients trickled their heads');
    diag(sprintf('normal requests: %d, median %.1f ms, max %.1f ms', scalar @sorted, $median * 1000, $sorted[-1] * 1000));
    cmp_ok($median, '<', scale(0.1), 'normal requests are answered within 100 ms (median)');
    my $status = $w->status_auto;
    ok(defined $status->{IdleWorkers}, 'the status page still answers');
    close $_ for @slow;
    $w->stop;
}

done_testing;
