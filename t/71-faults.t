#!/usr/bin/perl
# Fault injection under load, each scenario bounded in time:
#   - SIGKILL of a random child every 500 ms: only what the killed child had
#     in flight may fail, and the lost capacity is back within a second;
#   - 20 graceful restarts in a row under load: zero failed requests;
#   - MaxRequestsPerChild 10 under load: zero failed requests;
#   - descriptors exhausted (a low RLIMIT_NOFILE and many idle clients):
#     the child backs off, logs once, and recovers;
#   - the error log deleted while running, and on a full disk: serving
#     continues, and the condition is reported where it can be;
#   - SIGSTOP of a child for 5 s: the other children keep serving.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::IP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use WeftTest qw(scale wait_for send_raw read_response);

my $BODY = "fault-test\n";
my %FILES = ('www/index.html' => $BODY);

sub failures_text {
    my ($res) = @_;
    return join("\n", "$res->{failures} failed of " . ($res->{requests} + $res->{failures}), @{ $res->{errors} });
}

# Normal requests (a fresh connection each) every 100 ms for $seconds.
sub probe {
    my ($w, $seconds) = @_;
    my ($count, $failures, $max, @errors) = (0, 0, 0);
    my $end = time + $seconds;
    for (my $i = 0; $i < 10_000 && time < $end; $i++) {
        my $t0 = time;
        my $r = $w->get('/index.html');
        my $took = time - $t0;
        $max = $took if $took > $max;
        $count++;
        if (($r->{status} // 0) != 200) {
            $failures++;
            push @errors, $r->summary if @errors < 5;
        }
        sleep 0.1;
    }
    return { count => $count, failures => $failures, max => $max, errors => \@errors };
}

# A wrapper around the binary under test (for ulimit, unshare): keeps the
# "asan" in its name that WeftTest uses to scale its deadlines.
sub wrapper {
    my ($dir, $script) = @_;
    my $real = WeftTest::binary();
    my $path = "$dir/weft-wrapper" . (WeftTest::is_sanitized() ? '-asan' : '');
    open my $fh, '>', $path or die "$path: $!";
    print {$fh} "#!/bin/sh\n", $script =~ s/\@REAL\@/$real/gr;
    close $fh;
    chmod 0755, $path;
    return $path;
}

# ---------------------------------------------------------------- SIGKILL every 500 ms
{
    my $tpc = 4;
    my $w = WeftTest->new(files => \%FILES, conf => <<"EOF");
StartServers 3
ThreadsPerChild $tpc
MinSpareThreads 8
MaxSpareThreads 24
MaxClients 8
EOF
    $w->start;
    wait_for(sub { $w->child_pids >= 3 }, scale(10));
    my $load = $w->start_load(clients => 6, duration => scale(6), path => '/index.html', expect => $BODY);
    sleep 0.5;
    my ($kills, $worst_recovery, $unrecovered) = (0, 0, 0);
    srand(71);
    my $end = time + 5;
    while (time < $end) {
        my @before = $w->child_pids;
        next unless @before;
        my $victim = $before[int rand @before];
        kill 'KILL', $victim or next;
        $kills++;
        my $t0 = time;
        # A killed child is replaced at once (not when regulation next
        # finds too few idle threads): a child that was not there before.
        my %before = map { $_ => 1 } @before;
        my $back = wait_for(sub { grep { !$before{$_} } $w->child_pids }, scale(1), 0.01);
        my $took = time - $t0;
        $unrecovered++ unless $back;
        $worst_recovery = $took if $took > $worst_recovery;
        sleep(0.5 - $took) if $took < 0.5;
    }
    my $res = $load->finish;
    cmp_ok($kills, '>=', 8, "$kills children killed, one every 500 ms");
    cmp_ok($res->{requests}, '>', 100, "the load ran ($res->{requests} requests)");
    cmp_ok($res->{failures}, '<=', $kills * $tpc,
        "failures ($res->{failures}) are at most the requests the killed children had in flight (kills x ThreadsPerChild = "
            . $kills * $tpc . ')') or diag(failures_text($res));
    is($unrecovered, 0, sprintf('capacity came back within 1 s after every kill: a new child (slowest: %.0f ms)', $worst_recovery * 1000));
    diag(failures_text($res)) if $res->{failures};
    is($w->get('/index.html')->{status}, 200, 'the server answers after the kills');
    ok($w->running, 'the control process survived');
    $w->stop(name => 'kill server');
}

# ---------------------------------------------------------------- 20 graceful restarts
{
    my $w = WeftTest->new(files => \%FILES, conf => <<'EOF');
StartServers 2
ThreadsPerChild 4
MinSpareThreads 4
MaxSpareThreads 16
MaxClients 8
<Location /server-status>
    SetHandler server-status
</Location>
EOF
    $w->start;
    my $gen0 = $w->status_auto->{ParentServerMPMGeneration} // 0;
    my $load = $w->start_load(clients => 4, duration => scale(5.5), path => "/index.html", expect => $BODY);
    sleep 0.3;
    my $signalled = 0;
    for my $i (1 .. 20) {
        $signalled++ if $w->signal('USR1');
        sleep 0.25;
    }
    my $res = $load->finish;
    is($signalled, 20, '20 graceful restarts signalled, 250 ms apart');
    cmp_ok($res->{requests}, '>', 100, "the load ran ($res->{requests} requests)");
    is($res->{failures}, 0, '20 graceful restarts in a row under load: zero failed requests')
        or diag(failures_text($res));
    my $s;
    ok(wait_for(sub { $s = $w->status_auto; $s && $s->{ParentServerMPMGeneration} >= $gen0 + 10 }, scale(10)),
        'the generation moved on (' . $gen0 . ' -> ' . ($s ? $s->{ParentServerMPMGeneration} : '?') . ')');
    ok(wait_for(sub { my $n = $w->child_pids; $n >= 1 && $n <= 8 }, scale(15)), 'old generations exited');
    ok($w->running, 'the control process is the same');
    $w->stop(name => 'graceful server');
}

# ---------------------------------------------------------------- MaxRequestsPerChild 10
{
    my $w = WeftTest->new(files => \%FILES, conf => <<'EOF');
StartServers 2
ThreadsPerChild 4
MinSpareThreads 4
MaxSpareThreads 16
MaxClients 8
MaxRequestsPerChild 10
EOF
    $w->start;
    my @first = $w->child_pids;
    my $load = $w->start_load(clients => 4, duration => scale(3), path => '/index.html', expect => $BODY,
        per_connection => 2);
    my $res = $load->finish;
    cmp_ok($res->{connections}, '>', 50, "MaxRequestsPerChild 10: $res->{connections} connections, $res->{requests} requests");
    is($res->{failures}, 0, 'MaxRequestsPerChild 10 under load: zero failed requests') or diag(failures_text($res));
    my @now = $w->child_pids;
    ok(!grep({ my $p = $_; grep { $_ == $p } @now } @first), 'the children were recycled');
    $w->stop(name => 'recycle server');
}

# ---------------------------------------------------------------- EMFILE
{
    my $dir = tempdir('weft-fd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;
    local $ENV{WEFT_BINARY} = wrapper($dir, "ulimit -n 40 || exit 99\nexec \@REAL\@ \"\$@\"\n");
    # AcceptFilter http none: the idle connections must reach weft.
    my $w = WeftTest->new(files => \%FILES, conf => <<'EOF');
AcceptFilter http none
StartServers 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 8
MaxClients 1
EOF
    $w->start;
    my ($child) = $w->child_pids;
    is($w->get('/index.html')->{status}, 200, 'EMFILE: served with a limit of 40 descriptors');
    my @idle;
    for (1 .. 60) {
        my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $w->port, Timeout => 2) or last;
        push @idle, $s;
    }
    is(scalar @idle, 60, '60 idle connections opened (more than the child can hold)');
    ok($w->wait_error_log(qr/out of resources/, scale(5)), 'the child logs that it is out of descriptors');
    my $cpu0 = cpu_seconds($child);
    sleep 1;
    my $cpu = cpu_seconds($child) - $cpu0;
    cmp_ok($cpu, '<', 0.3, sprintf('it backs off instead of spinning on the ready listener (%.2f s CPU in 1 s)', $cpu));
    my @lines = $w->error_log =~ /out of resources/g;
    is(scalar @lines, 1, 'and logs it once (at most once a minute)');
    close $_ for @idle;
    my $r;
    ok(wait_for(sub { $r = $w->get('/index.html'); ($r->{status} // 0) == 200 }, scale(5)),
        'once the idle connections are gone, it serves again') or diag($r->summary);
    is(($w->child_pids)[0], $child, 'the same child, which never died');
    $w->stop(name => 'EMFILE server');
}

sub cpu_seconds {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh>;
    close $fh;
    $stat =~ s/^.*\) //s;
    my @f = split ' ', $stat;
    return ($f[11] + $f[12]) / 100;    # utime + stime, in clock ticks (USER_HZ 100)
}

# ---------------------------------------------------------------- the error log deleted
{
    my $w = WeftTest->new(files => \%FILES, conf => <<'EOF');
StartServers 2
ThreadsPerChild 4
MinSpareThreads 4
MaxSpareThreads 16
MaxClients 4
EOF
    $w->start;
    wait_for(sub { $w->child_pids >= 2 }, scale(10));
    ok(unlink($w->error_log_path), 'the error log file is deleted while the server runs');
    my @kids = $w->child_pids;
    kill 'KILL', $kids[0];    # makes the control process log an error line
    my $p = probe($w, 1);
    is($p->{failures}, 0, "deleted error log: serving continues ($p->{count} requests)") or diag(join "\n", @{ $p->{errors} });
    ok(wait_for(sub { $w->child_pids >= 2 }, scale(5)), 'deleted error log: the killed child is replaced');
    my %old = map { $_ => 1 } $w->child_pids;
    $w->signal('USR1');
    ok(wait_for(sub { -e $w->error_log_path }, scale(10)), 'a graceful restart opens the error log again (a new file)');
    ok(wait_for(sub { my @k = $w->child_pids; @k >= 2 && !grep { $old{$_} } @k }, scale(15)),
        'the new generation is up, the old one gone');
    @kids = $w->child_pids;
    kill 'KILL', $kids[0];
    ok($w->wait_error_log(qr/\b$kids[0]\b/, scale(5)), 'and the new file gets the lines');
    is($w->get('/index.html')->{status}, 200, 'deleted error log: serving after the restart');
    $w->stop(name => 'deleted-log server');
}

# ---------------------------------------------------------------- the error log on a full disk
SKIP: {
    skip 'a full disk needs root (a tmpfs mounted in a private mount namespace)', 7 if $> != 0;
    skip 'unshare(1) cannot make a mount namespace with a tmpfs here', 7
        if system('unshare --mount --propagation private sh -c "mount -t tmpfs -o size=64k weft-probe /mnt" >/dev/null 2>&1') != 0;
    my $dir = tempdir('weft-full-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;
    mkdir "$dir/full", 0755;
    # weft runs in its own mount namespace in which $dir/full is a 64 KiB
    # tmpfs; this process reaches it through /proc/PID/root.
    local $ENV{WEFT_BINARY} = wrapper($dir,
        "exec unshare --mount --propagation private sh -c 'mount -t tmpfs -o size=64k,mode=0755 weft-full \"\$0\" && exec \"\$\@\"' $dir/full \@REAL\@ \"\$\@\"\n");
    my $w = WeftTest->new(files => \%FILES, conf => <<"EOF");
ErrorLog $dir/full/error_log
StartServers 2
ThreadsPerChild 4
MinSpareThreads 4
MaxSpareThreads 16
MaxClients 4
EOF
    $w->start;
    my $inside = "/proc/" . $w->pid . "/root$dir/full";
    ok(-e "$inside/error_log", 'full disk: the error log is on a 64 KiB tmpfs of its own');
    # Fill the file system: a filler file, then the error log's own last
    # page (tmpfs allocates whole pages, and a line that fits in the page
    # the log already has would still be written).
    my $filled = 0;
    for my $name ('filler', 'error_log') {
        open my $fh, '>>', "$inside/$name" or next;
        for my $size (4096, 256, 16, 1) {
            my $block = ($name eq 'filler' ? 'f' : '#') x ($size - 1) . "\n";
            for (1 .. 64 * 1024 / $size) { last unless syswrite($fh, $block); $filled += $size }
        }
        close $fh;
    }
    my @kids = $w->child_pids;
    kill 'KILL', $kids[0];    # the control process has an error to log, and no room
    my $p = probe($w, 1);
    is($p->{failures}, 0, "full disk: serving continues ($p->{count} requests, $filled bytes filled the disk)")
        or diag(join "\n", @{ $p->{errors} });
    ok(wait_for(sub { $w->child_pids >= 2 }, scale(5)), 'full disk: the killed child is replaced');
    like($w->output, qr/writing to the error log failed: .*(No space|ENOSPC)/,
        'full disk: the failure is reported on stderr, once the log cannot take it');
    unlink "$inside/filler";
    @kids = $w->child_pids;
    kill 'KILL', $kids[0];
    my $log_text = '';
    ok(wait_for(sub {
        open my $fh, '<', "$inside/error_log" or return 0;
        local $/;
        $log_text = <$fh> // '';
        return $log_text =~ /\b$kids[0]\b/;
    }, scale(5)), 'full disk: once there is room, lines reach the log again');
    is($w->get('/index.html')->{status}, 200, 'full disk: still serving');
    $w->stop(name => 'full-disk server');
}

# ---------------------------------------------------------------- SIGSTOP a child
{
    my $w = WeftTest->new(files => \%FILES, conf => <<'EOF');
StartServers 3
ThreadsPerChild 4
MinSpareThreads 4
MaxSpareThreads 24
MaxClients 6
EOF
    $w->start;
    wait_for(sub { $w->child_pids >= 3 }, scale(10));
    my @kids = $w->child_pids;
    my $stopped = $kids[1];
    ok(kill('STOP', $stopped), "child $stopped stopped (SIGSTOP)");
    my $p = probe($w, 5);
    kill 'CONT', $stopped;
    is($p->{failures}, 0, "while a child is stopped, the others serve every request ($p->{count} in 5 s)")
        or diag(join "\n", @{ $p->{errors} });
    cmp_ok($p->{max}, '<', scale(0.5), sprintf('each within 500 ms (slowest %.0f ms)', $p->{max} * 1000));
    ok((grep { $_ == $stopped } $w->child_pids), 'the stopped child continues afterwards');
    is($w->get('/index.html')->{status}, 200, 'serving after SIGCONT');
    $w->stop(name => 'SIGSTOP server');
}

done_testing;
