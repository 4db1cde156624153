#!/usr/bin/perl
# The scoreboard is shared memory every child can write, so nothing in it may
# steer the control process (which runs as root): with ScoreBoardFile set, this
# test plays the compromised child and overwrites the file while weft serves,
# first with random bytes, then with crafted hostile values -- a huge and a
# negative ThreadLimit/ServerLimit in the header, pids 1, the control
# process's own and that of a decoy process of ours in every record, flags and
# counts at their extremes, unterminated strings.  The control process must
# survive, signal nobody it did not fork (the decoy notes every signal it
# gets), log the corruption once, put back the header from its own memory, and
# keep the server answering; -k graceful and stop still work afterwards.
# Last, the children's other channel to it, the wake-up eventfd, is flooded:
# the control process must not spin.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(WNOHANG _exit);
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale);

my ($SERVER_LIMIT, $THREAD_LIMIT) = (4, 8);
my $w = WeftTest->new(conf => <<"EOF", files => { 'www/index.html' => "index\n" });
ServerLimit $SERVER_LIMIT
ThreadLimit $THREAD_LIMIT
StartServers 2
ThreadsPerChild 4
MinSpareThreads 2
MaxSpareThreads 16
MaxClients 3
GracefulShutdownTimeout 5
ScoreBoardFile logs/scoreboard
<Location /server-status>
    SetHandler server-status
</Location>
EOF
$w->start;
my $control = $w->pid;
ok(wait_for(sub { $w->child_pids == 2 }, scale(10)), 'two children to begin with');
my $file = $w->path('logs/scoreboard');
my $size = -s $file;
ok($size, 'the ScoreBoardFile exists') or BAIL_OUT('no scoreboard file');

# The layout (scoreboard.h): a 64-byte header, ServerLimit process records of
# 32 bytes (padded to 64), then ServerLimit x ThreadLimit thread records, then
# the regulation's account (1024 bytes, SCOREBOARD_REGULATION_SIZE).
my $processes_at = 64;
my $threads_at = $processes_at + (($SERVER_LIMIT * 32 + 63) & ~63);
my $thread_size = ($size - 1024 - $threads_at) / ($SERVER_LIMIT * $THREAD_LIMIT);
ok($thread_size == int($thread_size) && $thread_size >= 64, "thread records of $thread_size bytes")
    or BAIL_OUT("unexpected scoreboard size $size");

# ---------------------------------------------------------------- the decoy
# A process of ours that the control process has no business signalling: it
# notes every catchable signal in a file and exits on its own in the end.
my $decoy_log = $w->path('logs/decoy');
my $decoy = fork;
die "fork: $!" unless defined $decoy;
if ($decoy == 0) {
    for my $name (qw(HUP INT QUIT USR1 USR2 TERM WINCH ALRM CONT PIPE URG)) {
        $SIG{$name} = sub {
            if (open my $fh, '>>', $decoy_log) { print $fh "$name\n"; close $fh }
        };
    }
    my $end = time + scale(120);
    sleep 0.2 while time < $end;
    _exit(0);
}
my $decoy_alive = sub { waitpid($decoy, WNOHANG) == 0 };

# ---------------------------------------------------------------- the attack
sub overwrite {
    my ($bytes) = @_;
    open my $fh, '+<:raw', $file or return 0;    # in place: never truncated
    my $n = syswrite($fh, $bytes);
    close $fh;
    return defined $n && $n == length $bytes;
}

sub random_bytes { join '', map { chr int rand 256 } 1 .. $_[0] }

my @hostile_pids = (1, $control, $decoy, -1, 0x7fffffff, $$);

sub crafted {
    my ($round) = @_;
    # Header: limits at both extremes, generations and times absurd.
    my @limits = ([0x7fffffff, 0x7fffffff], [-1, -2147483648], [1000000, 1], [0, -7]);
    my ($server_limit, $thread_limit) = @{ $limits[$round % @limits] };
    my $header = pack('l< l< l< l< q< q< Q< Q< Q<', $server_limit, $thread_limit, -123456, 0x7fffffff,
        -(2**62), 2**62, 2**63, 2**64 - 1, 12345);
    $header .= "\xff" x (64 - length $header);
    my $processes = '';
    for my $slot (0 .. $SERVER_LIMIT - 1) {
        my $pid = $hostile_pids[($slot + $round) % @hostile_pids];
        $processes .= pack('l< l< C C x2 l< l< x4 q<', $pid, -1 - $round, 0xff, 0x7f, 0x7fffffff,
            -2147483648, -(2**62));
    }
    $processes .= "\xee" x ($threads_at - $processes_at - length $processes);
    my @letters = ("\x00", "\xff", '_', 'W', 'Z', 'G', '.', "\x7f");
    my $threads = '';
    for my $i (0 .. $SERVER_LIMIT * $THREAD_LIMIT - 1) {
        my $record = $letters[($i + $round) % @letters] . "\x00" x 3
            . pack('l< l<', $hostile_pids[$i % @hostile_pids], 0x7fffffff);
        $record .= "\xff" x (200 - length $record);    # counters at their maximum
        $record .= 'A' x ($thread_size - length $record);    # strings without a NUL
        $threads .= $record;
    }
    return $header . $processes . $threads;
}

my $started = time;
my ($rounds, $written, $answered, $status_pages, $max_children) = (0, 0, 0, 0, 0);
my $deadline = time + scale(4);
while ($rounds < 40 && ($rounds < 8 || time < $deadline)) {
    my $bytes = $rounds % 2 ? crafted($rounds) : random_bytes($size);
    $written += overwrite($bytes);
    $rounds++;
    my $r = $w->get('/index.html');
    $answered++ if ($r->{status} // 0) == 200;
    my $page = $w->get($rounds % 3 ? '/server-status?auto' : '/server-status');
    $status_pages++ if ($page->{status} // 0) == 200;
    my $children = $w->child_pids;
    $max_children = $children if $children > $max_children;
    sleep 0.05;
}
is($written, $rounds, "the scoreboard file was overwritten $rounds times (random bytes and crafted values)");
ok($w->running, 'the control process survives a scoreboard full of hostile values');
is($answered, $rounds, 'every request during the attack was answered 200');
is($status_pages, $rounds, 'the status page (read by children from the same memory) answered every time');
cmp_ok($max_children, '<=', $SERVER_LIMIT, "never more children than ServerLimit ($max_children at most)");

# The header comes back from the control process's own memory.
my $restored = wait_for(sub {
    open my $fh, '<:raw', $file or return 0;
    sysread($fh, my $head, 16) == 16 or return 0;
    my ($server_limit, $thread_limit, $generation) = unpack('l< l< l<', $head);
    return $server_limit == $SERVER_LIMIT && $thread_limit == $THREAD_LIMIT && $generation == 0;
}, scale(5));
ok($restored, 'the control process puts the header back (limits and generation from its own memory)');
my $s = wait_for(sub { my $a = $w->status_auto; $a && $a->{ParentServerMPMGeneration} eq '0' ? $a : undef },
    scale(5));
ok($s, '?auto reports the true generation again');

# Nobody was signalled.
ok($decoy_alive->(), 'the decoy process (its pid written into the scoreboard) is alive');
is(-s $decoy_log // 0, 0, 'the decoy received no signal at all')
    or diag(WeftTest::_slurp($decoy_log));
my $log = $w->error_log;
unlike($log, qr/SIGUSR1 received|SIGHUP received|caught SIG/,
    'the control process signalled neither itself nor was it restarted');
unlike($log, qr/exit signal Segmentation|AddressSanitizer|runtime error/, 'no child crashed on the corrupted memory');

# Logged, but once: the same complaint every 100 ms cycle would flood the log.
my $elapsed = time - $started;
my $reports = () = $log =~ /scoreboard: .* holds values the control process did not expect/g;
cmp_ok($reports, '>=', 1, 'the corruption is logged');
cmp_ok($reports, '<=', 1 + int($elapsed / 60), "... once ($reports report(s) in " . int($elapsed) . ' s)')
    or diag(join "\n", grep { /scoreboard:/ } split /\n/, $log);

# Requests keep being answered.
my $ok = 0;
for (1 .. 10) { my $r = $w->get('/index.html'); $ok++ if ($r->{status} // 0) == 200 && $r->{body} eq "index\n" }
is($ok, 10, 'after the attack, requests are answered as before');

# ---------------------------------------------------------------- the wake-up eventfd
# The other thing children share with the control process: the eventfd a
# recycling child writes to hurry it.  A child writing it in a loop must not
# make the control process spin: wake-ups run at most one cycle per 10 ms.
# We take a child's copy with pidfd_getfd(2) (Linux 5.6, as root) and write
# to it for two seconds; the control process's CPU time must stay small (a
# generous bound: a spinning loop used about a quarter of a CPU here).
SKIP: {
    my %ids;
    my $eventfds = sub {
        my ($pid) = @_;
        my %found;
        opendir my $dh, "/proc/$pid/fd" or return {};
        for my $fd (grep { /^\d+$/ } readdir $dh) {
            next unless (readlink("/proc/$pid/fd/$fd") // '') =~ /eventfd/;
            my $info = WeftTest::_slurp("/proc/$pid/fdinfo/$fd") // '';
            $found{$fd} = $info =~ /^eventfd-id:\s*(\d+)/m ? $1 : '';
        }
        return \%found;
    };
    my ($wake_id) = grep { length } values %{ $eventfds->($control) };
    my ($kid) = $w->child_pids;
    my $theirs = $kid ? $eventfds->($kid) : {};
    my ($fd) = defined $wake_id ? grep { $theirs->{$_} eq $wake_id } keys %$theirs : ();
    skip 'no eventfd-id in /proc/PID/fdinfo: cannot tell the wake-up eventfd', 2 unless defined $fd;
    my $pidfd = syscall(434, $kid + 0, 0);                         # pidfd_open
    my $copy = $pidfd >= 0 ? syscall(438, $pidfd + 0, $fd + 0, 0) : -1;    # pidfd_getfd
    skip "pidfd_getfd: $! (needs Linux 5.6 and ptrace rights)", 2 if $copy < 0;
    open my $wake, '+<&=', $copy or skip "fdopen: $!", 2;
    my $cpu = sub {
        my $stat = WeftTest::_slurp("/proc/$control/stat") // '';
        $stat =~ s/^.*\) //s;
        my @f = split ' ', $stat;
        return ($f[11] + $f[12]) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
    };
    my $before = $cpu->();
    my ($writes, $end) = (0, time + 2);
    while (time < $end && $writes < 50_000_000) { syswrite($wake, pack('Q', 1)); $writes++ }
    my $used = $cpu->() - $before;
    close $wake;
    POSIX::close($pidfd);
    cmp_ok($used, '<', 0.25 * scale(1), sprintf('%d wake-ups in 2 s cost the control process %.2f s of CPU', $writes, $used));
    is($w->get('/index.html')->{status}, 200, 'the server answers after the wake-up flood');
}

# ---------------------------------------------------------------- graceful restart and stop
my ($code, $out, $err) = $w->ctl('graceful');
is($code, 0, '-k graceful works afterwards') or diag("$out$err");
my $after = wait_for(sub { my $a = $w->status_auto; $a && $a->{ParentServerMPMGeneration} eq '1' ? $a : undef },
    scale(15));
ok($after, 'the graceful restart happened (MPM generation 1)');
my @children = $w->child_pids;
ok(@children >= 1 && @children <= $SERVER_LIMIT, 'children run after the graceful restart (' . scalar(@children) . ')');
is($w->get('/index.html')->{status}, 200, 'the server answers after the graceful restart');
is($w->pid, $control, 'the same control process all along');

$w->stop(name => 'weft after the scoreboard attack');
ok($decoy_alive->(), 'the decoy survived the stop too');
is(-s $decoy_log // 0, 0, 'and still received no signal');
kill 'KILL', $decoy;
waitpid($decoy, 0);

done_testing;
