#!/usr/bin/perl
# Self-regulation: idle threads converge into [MinSpareThreads,
# MaxSpareThreads] when load rises and after it stops; MaxClients caps the
# number of children; at the cap, connections wait in the backlog.
#
# Load that holds capacity deterministically: clients that request a large
# file and read nothing (small receive buffer, small SendBufferSize).  weft
# parks such a connection instead of holding a thread in it, so with
# ConnectionsPerThread 1 each one takes one of a child's ThreadsPerChild
# connection places: a child at its cap stops accepting, and its idle
# threads are no capacity for the control process.  Generic keep-alive load
# from forked clients is used as well.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale);

my $BIG = 'B' x (8 * 1024 * 1024);
my %files = ('www/index.html' => "index\n", 'www/big.bin' => $BIG);
my $STATUS = "<Location /server-status>\n    SetHandler server-status\n</Location>\nSendBufferSize 4096\n";

sub in_range { my ($v, $lo, $hi) = @_; return defined $v && $v =~ /^\d+$/ && $v >= $lo && $v <= $hi }

# ---------------------------------------------------------------- spare threads
{
    my ($MIN, $MAX) = (2, 7);
    my $w = WeftTest->new(conf => <<"EOF" . $STATUS, files => \%files);
StartServers 1
ThreadsPerChild 4
ConnectionsPerThread 1
MinSpareThreads $MIN
MaxSpareThreads $MAX
MaxClients 6
EOF
    $w->start;
    wait_for(sub { $w->child_pids == 1 }, scale(10));
    my $s = $w->status_auto;
    ok($s, 'server-status?auto answers') or BAIL_OUT('no server-status');
    ok(in_range($s->{IdleWorkers}, $MIN, $MAX), "at rest, IdleWorkers ($s->{IdleWorkers}) is within [$MIN, $MAX]");
    is(scalar $w->child_pids, 1, 'at rest, one child (StartServers 1)');

    # 6 connections held open: more than one child's 4 places.
    my $t0 = time;
    my $stalled = $w->stall_clients(6, '/big.bin');
    is(scalar @$stalled, 6, '6 slow clients connected');
    my $all_served = wait_for(sub { $w->count_answered($stalled) == 6 }, scale(10));
    my $t_served = time - $t0;
    ok($all_served, 'all 6 slow clients are served: a child was added when the first one filled up')
        or diag('answered: ' . $w->count_answered($stalled) . ', children: ' . scalar($w->child_pids));
    diag(sprintf('burst of 6 slow clients beyond one child: all served after %.3f s', $t_served));
    ok($t_served < scale(1), 'the control process reacts to the burst within a second (not a 1-s-per-child cycle)');
    my @kids = $w->child_pids;
    cmp_ok(scalar @kids, '>=', 2, 'under load there are at least 2 children');
    cmp_ok(scalar @kids, '<=', 6, 'and no more than MaxClients (6)');
    my $last;
    ok(wait_for(sub { $last = $w->status_auto; $last && in_range($last->{IdleWorkers}, $MIN, $MAX) }, scale(5)),
        "under load, IdleWorkers is within [$MIN, $MAX]")
        or diag("last status: Busy $last->{BusyWorkers} Idle $last->{IdleWorkers} Scoreboard $last->{Scoreboard}");

    # Stable under steady load: sample for 1 s.
    my (%children_seen, $out_of_range);
    for my $i (1 .. 10) {
        my $x = $w->status_auto;
        $out_of_range++ unless $x && in_range($x->{IdleWorkers}, $MIN, $MAX);
        $children_seen{ scalar $w->child_pids }++;
        sleep 0.1;
    }
    ok(!$out_of_range, 'under steady load, IdleWorkers stays within the range (10 samples over 1 s)');
    cmp_ok(scalar(keys %children_seen), '<=', 1, 'under steady load, the number of children does not oscillate')
        or diag(join ', ', map { "$_ children: $children_seen{$_}" } sort keys %children_seen);

    # Load stops: 8 idle threads > MaxSpareThreads 7, a child is retired.
    $w->close_all($stalled);
    my $t1 = time;
    my $fewer = wait_for(sub { $w->child_pids < @kids }, scale(10));
    ok($fewer, 'after the load stops, the surplus child is retired');
    diag(sprintf('after the load: a child retired after %.3f s (MaxSpareThreads exceeded for 1 s first)', time - $t1));
    ok(wait_for(sub { $last = $w->status_auto; $last && in_range($last->{IdleWorkers}, $MIN, $MAX) }, scale(10)),
        "after the load stops, IdleWorkers is within [$MIN, $MAX]")
        or diag("last status: Busy $last->{BusyWorkers} Idle $last->{IdleWorkers} Scoreboard $last->{Scoreboard}");
    $out_of_range = 0;
    %children_seen = ();
    for my $i (1 .. 10) {
        my $x = $w->status_auto;
        $out_of_range++ unless $x && in_range($x->{IdleWorkers}, $MIN, $MAX);
        $children_seen{ scalar $w->child_pids }++;
        sleep 0.1;
    }
    ok(!$out_of_range, 'at rest again, IdleWorkers stays within the range (10 samples over 1 s)');
    cmp_ok(scalar(keys %children_seen), '<=', 1, 'at rest again, the number of children is stable')
        or diag(join ', ', map { "$_ children: $children_seen{$_}" } sort keys %children_seen);
    my $r = $w->get('/');
    is($r->{status}, 200, 'the server still answers after the load');

    # Generic load: parallel keep-alive clients doing requests in a loop.
    my $load = $w->start_load(clients => 6, duration => scale(2), path => '/index.html', expect => "index\n");
    my $res = $load->finish;
    is($res->{failures}, 0, "keep-alive load from 6 clients: no failed request ($res->{requests} requests)")
        or diag(join "\n", @{ $res->{errors} });
    ok(wait_for(sub { $last = $w->status_auto; $last && in_range($last->{IdleWorkers}, $MIN, $MAX) }, scale(10)),
        "after the keep-alive load, IdleWorkers is within [$MIN, $MAX]");
    $w->stop(name => 'spare-threads server');
}

# ---------------------------------------------------------------- MaxClients cap
{
    my $w = WeftTest->new(conf => <<'EOF' . $STATUS, files => \%files);
StartServers 1
ThreadsPerChild 2
ConnectionsPerThread 1
MinSpareThreads 2
MaxSpareThreads 6
MaxClients 3
EOF
    $w->start;
    wait_for(sub { $w->child_pids == 1 }, scale(10));
    my $stalled = $w->stall_clients(8, '/big.bin');
    my $max_seen = 0;
    my ($deadline, $reached) = (time + scale(5), 0);
    for (my $i = 0; $i < 1000 && time < $deadline; $i++) {
        my $n = scalar $w->child_pids;
        $max_seen = $n if $n > $max_seen;
        # Once at the cap, keep watching for one more second.
        $deadline = time + 1 if $n >= 3 && !$reached++;
        sleep 0.05;
    }
    is($max_seen, 3, 'under load beyond capacity, the children grow to MaxClients 3 and never beyond');
    wait_for(sub { $w->count_answered($stalled) >= 6 }, scale(5));
    is($w->count_answered($stalled), 6, 'exactly MaxClients x ThreadsPerChild x ConnectionsPerThread = 6 clients are served at once');
    ok($w->wait_error_log(qr/reached MaxClients/i, scale(5)), 'the error log says the server reached MaxClients');
    my $mentions = () = $w->error_log =~ /reached MaxClients/gi;
    is($mentions, 1, '... once');

    # One more client waits in the backlog (not refused) and is served once threads free up.
    my $waiting = $w->connect;
    ok($waiting, 'a connection beyond capacity is accepted by the kernel, not refused');
    WeftTest::send_raw($waiting, "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    $w->close_all($stalled);
    my $r = WeftTest::read_response($waiting, timeout => scale(10));
    is($r->{status}, 200, '... and it is answered once the busy threads are free') or diag($r->summary);
    $w->stop(name => 'MaxClients server');
}

# ---------------------------------------------------------------- saturated child: idle keep-alive first
{
    my $w = WeftTest->new(conf => <<'EOF', files => \%files);
StartServers 1
ThreadsPerChild 2
ConnectionsPerThread 1
MinSpareThreads 1
MaxSpareThreads 4
MaxClients 1
KeepAliveTimeout 30
EOF
    $w->start;
    wait_for(sub { $w->child_pids == 1 }, scale(10));
    # Two keep-alive connections, idle after one request each: the child is full.
    my @idle;
    for my $i (1 .. 2) {
        my $s = $w->connect;
        WeftTest::send_raw($s, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
        my $r = WeftTest::read_response($s);
        push @idle, $s if defined $r->{status} && $r->{status} == 200;
    }
    is(scalar @idle, 2, 'two idle keep-alive connections fill the only child (2 threads x 1)');
    my $r = $w->request("GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout => scale(10));
    is($r->{status}, 200, 'a new connection to a saturated child is served: an idle keep-alive connection makes room')
        or diag($r->summary);
    my $closed = grep { (WeftTest::wait_closed($_, 0.5))[0] eq 'closed' } @idle;
    cmp_ok($closed, '>=', 1, 'one of the idle keep-alive connections was closed to make room');
    $w->stop(name => 'saturated-child server');
}

done_testing;
