#!/usr/bin/perl
# Graceful restart (SIGUSR1 to the control process): zero failed requests
# under continuous keep-alive load, a new generation in server-status?auto,
# old children replaced, the new configuration applied, a request in flight
# completed; a broken configuration leaves the server serving the old one.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale send_raw read_response);

my $CONF = <<'EOF';
StartServers 2
ThreadsPerChild 4
MinSpareThreads 2
MaxSpareThreads 16
MaxClients 6
<Location /server-status>
    SetHandler server-status
</Location>
EOF
my $BIG = join '', map { sprintf "%07d\n", $_ } 0 .. 262_143;    # 2 MB, every line numbered
my $w = WeftTest->new(
    conf  => $CONF . "DocumentRoot \"\@ROOT\@/www\"\n",
    files => {
        'www/index.html'  => "v1\n",
        'www2/index.html' => "v2\n",
        'www3/index.html' => "v3\n",
        'www/big.txt'     => $BIG,
    },
);
$w->start;
wait_for(sub { $w->child_pids == 2 }, scale(10));
my @gen1_kids = $w->child_pids;
is(scalar @gen1_kids, 2, 'two children before the restart');
my $s0 = $w->status_auto or BAIL_OUT('no server-status');
my $gen0 = $s0->{ParentServerMPMGeneration};
my $cgen0 = $s0->{ParentServerConfigGeneration};

sub report_failures {
    my ($res) = @_;
    diag(join "\n", "$res->{failures} failed of " . ($res->{requests} + $res->{failures}), @{ $res->{errors} })
        if $res->{failures} || $res->{lost};
}

# ---------------------------------------------------------------- graceful restart under load
{
    my $load = $w->start_load(clients => 4, duration => scale(3), path => '/index.html', expect => "v1\n");
    sleep scale(1);
    ok($w->signal('USR1'), 'SIGUSR1 sent to the control process');
    my $res = $load->finish;
    cmp_ok($res->{requests}, '>', 50, "the load ran ($res->{requests} requests on $res->{connections} connections)");
    is($res->{failures}, 0, 'graceful restart under keep-alive load: zero failed requests');
    is($res->{lost}, 0, 'every load client reported');
    report_failures($res);

    my $s1;
    ok(wait_for(sub { $s1 = $w->status_auto; $s1 && $s1->{ParentServerMPMGeneration} > $gen0 }, scale(10)),
        "ParentServerMPMGeneration goes up ($gen0 -> " . ($s1 ? $s1->{ParentServerMPMGeneration} : '?') . ')');
    ok($s1 && $s1->{ParentServerConfigGeneration} > $cgen0, 'ParentServerConfigGeneration goes up');
    ok(wait_for(sub { my @k = $w->child_pids; !grep { my $o = $_; grep { $_ == $o } @k } @gen1_kids }, scale(15)),
        'the old generation\'s children all exit');
    ok(wait_for(sub { $w->child_pids == 2 }, scale(10)), 'the new generation has StartServers children');
    ok($w->running, 'the control process is the same and still running');
    my $r = $w->get('/');
    is($r->{body}, "v1\n", 'the server answers after the graceful restart');
}

# ---------------------------------------------------------------- new configuration, under load
{
    my $s_before = $w->status_auto;
    $w->write_conf($CONF . "DocumentRoot \"\@ROOT\@/www2\"\n");
    my $load = $w->start_load(clients => 4, duration => scale(3), path => '/index.html');
    sleep scale(1);
    $w->signal('USR1');
    my $res = $load->finish;
    is($res->{failures}, 0, 'graceful restart with a changed configuration under load: zero failed requests');
    report_failures($res);
    ok(wait_for(sub { ($w->get('/')->{body} // '') eq "v2\n" }, scale(10)),
        'after the graceful restart, the new DocumentRoot is served');
    my $s = $w->status_auto;
    ok($s && $s->{ParentServerMPMGeneration} > $s_before->{ParentServerMPMGeneration},
        'the generation went up again');
}

# ---------------------------------------------------------------- a request in flight completes
{
    $w->write_file('www2/big.txt', $BIG);
    my $sock = $w->connect(rcvbuf => 4096);
    send_raw($sock, "GET /big.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    my $answered = wait_for(sub { IO::Select->new($sock)->can_read(0) }, scale(5));
    ok($answered, 'a slow download has started');
    my $s_before = $w->status_auto;
    $w->signal('USR1');
    wait_for(sub { my $s = $w->status_auto; $s && $s->{ParentServerMPMGeneration} > $s_before->{ParentServerMPMGeneration} }, scale(10));
    my $r = read_response($sock, timeout => scale(20));
    is(length($r->{body} // ''), length $BIG, 'a download in progress during a graceful restart completes')
        or diag($r->{error} // 'wrong length');
    ok(defined $r->{body} && $r->{body} eq $BIG, '... with every byte right');
}

# ---------------------------------------------------------------- broken configuration
{
    my $s_before = $w->status_auto;
    my @kids_before = $w->child_pids;
    my $broken = $CONF . "DocumentRoot \"\@ROOT\@/www3\"\nNoSuchDirective here\n";
    my $line = () = $broken =~ /\n/g;    # NoSuchDirective is on the last line
    $w->write_conf($broken);
    my $load = $w->start_load(clients => 3, duration => scale(2), path => '/index.html', expect => "v2\n");
    sleep scale(0.5);
    $w->signal('USR1');
    ok($w->wait_error_log(qr/weft\.conf:$line:.*NoSuchDirective/, scale(10)),
        'a broken configuration on graceful restart is logged with file:line and the directive')
        or diag(WeftTest::_tail($w->error_log, 10));
    my $res = $load->finish;
    is($res->{failures}, 0, 'a failed graceful restart under load: zero failed requests');
    report_failures($res);
    ok($w->running, 'the control process keeps running after a broken configuration');
    my $r = $w->get('/');
    is($r->{body}, "v2\n", 'the server keeps serving with the old configuration');
    my $s = $w->status_auto;
    ok($s, 'server-status still answers');
    is(scalar($w->child_pids), scalar(@kids_before), 'the children are still there');

    # A good configuration again: the next graceful restart works.
    $w->write_conf($CONF . "DocumentRoot \"\@ROOT\@/www3\"\n");
    $w->signal('USR1');
    my $last;
    ok(wait_for(sub { $last = $w->get('/'); ($last->{body} // '') eq "v3\n" }, scale(10)),
        'after the configuration is fixed, the next graceful restart applies it')
        or diag("last answer: " . ($last->{body} // $last->{error} // '(none)') . "\nchildren: "
                . join(' ', $w->child_pids) . "\n" . WeftTest::_tail($w->error_log, 20));
}

# ---------------------------------------------------------------- ServerLimit / ThreadLimit are fixed
{
    my $s_before = $w->status_auto;
    my $board_before = length($s_before->{Scoreboard} // '');
    $w->write_conf($CONF . "DocumentRoot \"\@ROOT\@/www3\"\nServerLimit 8\nThreadLimit 8\n");
    $w->signal('USR1');
    ok(wait_for(sub { my $s = $w->status_auto; $s && $s->{ParentServerMPMGeneration} > $s_before->{ParentServerMPMGeneration} }, scale(10)),
        'a graceful restart that changes ServerLimit and ThreadLimit still happens');
    ok($w->wait_error_log(qr/ServerLimit/, scale(5)), 'changing ServerLimit on restart is warned about');
    ok($w->wait_error_log(qr/ThreadLimit/, scale(5)), 'changing ThreadLimit on restart is warned about');
    my $s = $w->status_auto;
    is(length($s->{Scoreboard} // ''), $board_before, 'the scoreboard keeps its size (the old limits are kept)');
    my $r = $w->get('/');
    is($r->{body}, "v3\n", 'the server answers after it');
}

$w->stop;
done_testing;
