#!/usr/bin/perl
# -k start|stop|graceful|restart|graceful-stop, the detached server, the
# PidFile; TERM ends every process.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale);

my $CONF = <<'EOF';
StartServers 2
ThreadsPerChild 3
MinSpareThreads 1
MaxSpareThreads 12
MaxClients 4
<Location /server-status>
    SetHandler server-status
</Location>
EOF
my $w = WeftTest->new(conf => $CONF, files => { 'www/index.html' => "signals\n" });

sub port_open {
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $w->port, Timeout => 2);
    return $s ? 1 : 0;
}

# ---------------------------------------------------------------- -k stop when not running
{
    my ($code, $out, $err) = $w->ctl('stop');
    is($code, 0, '-k stop when not running exits 0 (as Apache)');
    like($out . $err, qr/not running/i, '-k stop when not running says so');
}

# ---------------------------------------------------------------- -k start: detaches
my ($code, $out, $err) = $w->ctl('start');
is($code, 0, '-k start exits 0') or diag($out . $err);
my $pid = $w->adopt_pid_file;
ok($pid, '-k start writes the PidFile with a live pid');
ok(wait_for(sub { port_open() }, scale(10)), 'the detached server listens');
my $r = $w->get('/');
is($r->{body}, "signals\n", 'the detached server answers') or diag($r->summary);
isnt($pid, $$, 'the server runs in its own process');
sub session_of {
    my $stat = WeftTest::_slurp("/proc/$_[0]/stat") // '';
    return $stat =~ /^\d+ \(.*\) \S -?\d+ -?\d+ (\d+)/s ? $1 : -1;
}
my $sid = session_of($pid);
ok($sid > 0 && $sid != session_of($$), 'the detached control process is in a session of its own (setsid), not ours');
wait_for(sub { $w->child_pids == 2 }, scale(10));
my @kids = $w->child_pids;
is(scalar @kids, 2, 'the detached server has its children');

# ---------------------------------------------------------------- -k start again
($code, $out, $err) = $w->ctl('start');
like($out . $err, qr/already running/i, '-k start when already running says "already running"');
is($code, 0, '... and exits 0 (as Apache)');
is(WeftTest::_slurp($w->pid_file) =~ /(\d+)/ ? $1 : 0, $pid, '... and leaves the PidFile alone');

# ---------------------------------------------------------------- -k graceful
{
    my $s0 = $w->status_auto;
    ($code, $out, $err) = $w->ctl('graceful');
    is($code, 0, '-k graceful exits 0') or diag($out . $err);
    my $s1;
    ok(wait_for(sub { $s1 = $w->status_auto; $s1 && $s0 && $s1->{ParentServerMPMGeneration} > $s0->{ParentServerMPMGeneration} }, scale(10)),
        '-k graceful starts a new generation');
    is($w->adopt_pid_file, $pid, '-k graceful keeps the same control process');
    ok(wait_for(sub { my @n = $w->child_pids; @n == 2 && !grep { my $k = $_; grep { $_ == $k } @kids } @n }, scale(15)),
        '-k graceful replaces the children');
}

# ---------------------------------------------------------------- -k graceful with a broken configuration
{
    my $good = $w->conf_text;
    $w->write_conf($CONF . "NoSuchDirective\n");
    ($code, $out, $err) = $w->ctl('graceful');
    is($code, 1, '-k graceful with a broken configuration exits 1 (the configuration is checked first)');
    like($out . $err, qr/weft\.conf:\d+:.*NoSuchDirective/, '... and prints the error');
    ok($w->running, '... and the server keeps running');
    $w->write_conf($CONF);
}

# ---------------------------------------------------------------- -k restart (HUP)
{
    my $s0 = $w->status_auto;
    my @before = $w->child_pids;
    ($code, $out, $err) = $w->ctl('restart');
    is($code, 0, '-k restart exits 0') or diag($out . $err);
    my $s1;
    ok(wait_for(sub { $s1 = $w->status_auto; $s1 && $s0 && $s1->{ParentServerMPMGeneration} > $s0->{ParentServerMPMGeneration} }, scale(10)),
        '-k restart starts a new generation');
    is($w->adopt_pid_file, $pid, '-k restart keeps the same control process');
    ok(wait_for(sub { my @n = $w->child_pids; @n == 2 && !grep { my $k = $_; grep { $_ == $k } @before } @n }, scale(10)),
        '-k restart replaces the children');
    $r = $w->get('/');
    is($r->{status}, 200, 'the server answers after -k restart');
}

# ---------------------------------------------------------------- -k stop
{
    my @all = ($pid, $w->child_pids);
    ($code, $out, $err) = $w->ctl('stop');
    is($code, 0, '-k stop exits 0') or diag($out . $err);
    ok(wait_for(sub { !grep { !WeftTest::_pid_gone($_) } @all }, scale(10)),
        '-k stop ends the control process and every child');
    ok(wait_for(sub { !-e $w->pid_file }, scale(5)), '-k stop removes the PidFile');
    ok(!port_open(), 'after -k stop nothing listens on the port');
    $w->{pid} = undef;
    $w->check_sanitizer('detached server');
}

# ---------------------------------------------------------------- -k graceful-stop (WINCH)
{
    $w->write_conf($CONF . "GracefulShutdownTimeout 5\n");
    ($code, $out, $err) = $w->ctl('start');
    my $p = $w->adopt_pid_file;
    ok($p, '-k start again') or diag($out . $err);
    wait_for(sub { $w->child_pids == 2 }, scale(10));
    my @all = ($p, $w->child_pids);
    ($code, $out, $err) = $w->ctl('graceful-stop');
    is($code, 0, '-k graceful-stop exits 0') or diag($out . $err);
    ok(wait_for(sub { !grep { !WeftTest::_pid_gone($_) } @all }, scale(10)),
        '-k graceful-stop ends every process');
    ok(wait_for(sub { !-e $w->pid_file }, scale(5)), '-k graceful-stop removes the PidFile');
    $w->{pid} = undef;
}

# ---------------------------------------------------------------- a stale PidFile
{
    $w->write_file('logs/weft.pid', "999999\n");
    ($code, $out, $err) = $w->ctl('start');
    my $p = $w->adopt_pid_file;
    ok($p && $p != 999999, '-k start with a stale PidFile (dead pid) starts the server') or diag($out . $err);
    $w->stop(name => 'server started over a stale PidFile');
}

# ---------------------------------------------------------------- TERM to a foreground server
{
    my $v = WeftTest->new(conf => $CONF, files => { 'www/index.html' => "x\n" });
    $v->start;
    wait_for(sub { $v->child_pids == 2 }, scale(10));
    my @all = ($v->pid, $v->child_pids);
    $v->signal('TERM');
    ok(wait_for(sub { !grep { !WeftTest::_pid_gone($_) } @all }, scale(10)), 'SIGTERM ends the control process and every child');
    ok(!-e $v->pid_file, 'SIGTERM removes the PidFile');
    $v->stop(name => 'TERM server');
}

# ---------------------------------------------------------------- -k with a broken configuration
{
    my $v = WeftTest->new(conf => "NoSuchDirective\n", files => { 'www/index.html' => "x\n" });
    ($code, $out, $err) = $v->ctl('start');
    is($code, 1, '-k start with a broken configuration exits 1');
    ok(!-e $v->pid_file, '... and starts nothing');
}

done_testing;
