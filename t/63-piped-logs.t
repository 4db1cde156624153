#!/usr/bin/perl
# Piped logs: CustomLog and ErrorLog "|program".  The control process starts
# the program and restarts it when it dies, on the same pipe, so lines
# written meanwhile are not lost (killed while idle, and killed under load);
# a graceful restart keeps the program; stopping the server lets it finish.
# A program that stops reading costs bounded waits, and the lost lines are
# counted in the error log; a line longer than PIPE_BUF is cut, whole.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale);

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 16
MaxClients 2
LogLevel info
ErrorLog "|cat >> @ROOT@/logs/piped_error"
CustomLog "|perl @ROOT@/bin/logger.pl @ROOT@/logs/piped_access" "%U %>s"
CustomLog logs/access_log "%U %>s"
EOF
    files => { 'www/index.html' => "index\n", 'www/a.txt' => "AAAA\n", 'bin/logger.pl' => <<'EOF' },
# A log program that loses nothing it has read: unbuffered reads, each one
# written out before a SIGTERM is honoured (what is still in the pipe then
# waits there for the next program).
use strict;
use warnings;
my $stop = 0;
$SIG{TERM} = sub { $stop = 1 };
open my $out, '>>', $ARGV[0] or die "$ARGV[0]: $!";
while (!$stop) {
    my $n = sysread(STDIN, my $chunk, 65536);
    last if defined $n && $n == 0;
    next unless $n;
    my $done = 0;
    $done += syswrite($out, $chunk, length($chunk) - $done, $done) // last while $done < length $chunk;
}
EOF
);
$w->start;

sub lines_of {
    my ($name) = @_;
    return grep { length } split /\n/, ($w->read_file("logs/$name") // '');
}

# The log programs: children of the control process that are not weft.
sub loggers {
    my $procs = WeftTest::_processes();
    return map { $_->{pid} } grep { $_->{ppid} == $w->pid && $_->{comm} =~ /^(?:cat|perl)$/ && $_->{state} ne 'Z' }
        values %$procs;
}

# The program writing to logs/$name.
sub logger_of {
    my ($name) = @_;
    my ($pid) = grep {
        (readlink("/proc/$_/fd/1") // '') =~ m{/logs/\Q$name\E$}
            || (WeftTest::_slurp("/proc/$_/cmdline") // '') =~ m{/logs/\Q$name\E\0?$}
    } loggers();
    return $pid;
}

sub error_log_has {
    my ($re) = @_;
    return wait_for(sub { grep { $_ =~ $re } lines_of('piped_error') }, scale(5));
}

sub request_paths {
    my ($prefix, $count) = @_;
    my @paths = map { "/$prefix-$_" } 1 .. $count;
    $w->get($_) for @paths;
    return @paths;
}

ok(wait_for(sub { loggers() == 2 }, scale(5)), 'two log programs run, children of the control process');
my @first = request_paths('before', 10);
ok(wait_for(sub { lines_of('piped_access') >= 10 }, scale(5)), 'requests reach the piped access log');
my @error = lines_of('piped_error');
ok((grep { /\[notice\].*resuming normal operations/ } @error), 'the error log reaches its program too');

# ---------------------------------------------------------------- killed while idle
my $access_logger = logger_of('piped_access');
ok($access_logger, "the access log program is pid " . ($access_logger // '?'));
kill 'KILL', $access_logger if $access_logger;
# Until it is dead, the killed program may still take a line out of the pipe
# (woken by the data before the signal) and die with it: wait for that.
wait_for(sub { !grep { $_ == $access_logger } loggers() }, scale(5)) if $access_logger;
# Right away, before the program is back: these wait in the pipe.
my @during = request_paths('during', 10);
ok(wait_for(sub {
    my $new = logger_of('piped_access');
    return $new && $new != ($access_logger // 0);
}, scale(5)), 'the control process started the program again');
my @after = request_paths('after', 10);
my @expected = (@first, @during, @after);
wait_for(sub { lines_of('piped_access') >= @expected }, scale(5));
# (Each line is written after its response is sent, so two requests in a
# row may log in either order: compare the sets.)
is_deeply([ sort map { (split / /)[0] } lines_of('piped_access') ], [ sort @expected ],
    'every line is there once: before, while the program was down, and after');
ok(error_log_has(qr/piped log program "exec perl \S+ \S+piped_access" \(pid \d+\) was killed by signal 9: restarting it/),
    'the restart is logged');

# ---------------------------------------------------------------- killed under load
{
    my $load = $w->start_load(clients => 3, duration => scale(2), path => '/a.txt', pause => 0.002);
    sleep 0.5;
    for my $round (1 .. 2) {
        my $logger = logger_of('piped_access');
        kill 'TERM', $logger if $logger;
        sleep 0.4;
    }
    my $res = $load->finish;
    is($res->{failures}, 0, 'the load saw no failure while its log program died twice')
        or diag(join "\n", @{ $res->{errors} });
    my $total = @expected + $res->{requests};
    wait_for(sub { lines_of('piped_access') >= $total }, scale(5));
    my @piped = lines_of('piped_access');
    my @file = lines_of('access_log');
    is(scalar @file, $total, "the file log has every request ($res->{requests} under load)");
    # SIGTERM, which the program handles after writing what it read: what
    # stays in the pipe meanwhile waits for the next program.
    is(scalar @piped, $total, 'the piped log has every request too: none lost while the program restarted');
    is(scalar(grep { !m{^/\S+ \d{3}$} } @piped), 0, 'every piped line is whole');
}

# ---------------------------------------------------------------- graceful restart, stop
{
    my @before = sort { $a <=> $b } loggers();
    $w->signal('USR1');
    ok(error_log_has(qr/SIGUSR1 received/), 'graceful restart done');
    request_paths('regen', 3);
    my @now = sort { $a <=> $b } loggers();
    is_deeply(\@now, \@before, 'the same commands in the new configuration keep their programs');
    my $count = lines_of('piped_access');
    $w->get('/last-line');
    $w->stop;
    ok(!grep({ !WeftTest::_pid_gone($_) } @now), 'the log programs are gone after the server stops');
    my @final = lines_of('piped_access');
    is(scalar(grep { $_ eq '/last-line 404' } @final), 1, 'the last line written before the stop is in the piped log');
}

# ---------------------------------------------------------------- a program that does not read
{
    my $v = WeftTest->new(
        conf => <<'EOF',
StartServers 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 16
MaxClients 2
CustomLog logs/access_log "%U %>s"
CustomLog "|exec sleep 600" "%U %{X-Pad}i"
EOF
        files => { 'www/index.html' => "index\n" },
    );
    $v->start;
    # Fill the pipe (1 MiB, or the system's default 64 KiB): ~4 kB a line,
    # on as many keep-alive connections as it takes.
    my $pad = 'p' x 4000;
    my ($sock, $sent, $slowest, $full) = (undef, 0, 0, 0);
    my $ask = sub {
        my ($path) = @_;
        for my $attempt (1 .. 2) {
            $sock //= $v->connect or return undef;
            my $t0 = time;
            if (WeftTest::send_raw($sock, "GET $path HTTP/1.1\r\nHost: x\r\nX-Pad: $pad\r\n\r\n")) {
                my $r = WeftTest::read_response($sock, timeout => scale(10));
                if (defined $r->{status}) {
                    undef $sock if $r->{closed} || ($r->{headers}{connection} // '') =~ /close/i;
                    return time - $t0;
                }
            }
            undef $sock;
        }
        return undef;
    };
    for my $i (1 .. 800) {
        my $took = $ask->("/fill-$i") // last;
        $sent++;
        $slowest = $took if $took > $slowest;
        if ($took > 0.5) {    # the pipe is full: that request waited for it
            $full = 1;
            last;
        }
    }
    ok($full, "the pipe filled up after $sent requests");
    my ($after_full, $t0) = (0, time);
    for my $i (1 .. 5) {
        $after_full++ if defined $ask->("/more-$i");
    }
    my $five = time - $t0;
    cmp_ok($slowest, '<', scale(3), sprintf('a writer waits a bounded time for a full pipe (slowest %.2f s)', $slowest));
    is($after_full, 5, 'requests are still answered while the pipe stays full');
    cmp_ok($five, '<', scale(1), sprintf('once congested, lines are dropped without waiting (5 requests in %.2f s)', $five));
    ok($v->wait_error_log(qr/piped log "\|exec sleep 600": \d+ lines? lost because the pipe stayed full/, scale(5)),
        'the lost lines are counted in the error log');
    my @file = grep { length } split /\n/, ($v->read_file('logs/access_log') // '');
    is(scalar @file, $sent + $after_full, 'the file log, next to it, has every request');
    undef $sock;
    $v->stop(name => 'server with a stuck log program');
}
# A line longer than PIPE_BUF is cut to PIPE_BUF, with its newline.
{
    my $x = WeftTest->new(
        conf => <<'EOF',
StartServers 1
ThreadsPerChild 2
MinSpareThreads 1
MaxSpareThreads 8
MaxClients 1
CustomLog "|cat >> @ROOT@/logs/long" "%U %{X-Pad}i"
EOF
        files => { 'www/index.html' => "index\n" },
    );
    $x->start;
    my $long = 'L' x 6000;
    $x->request("GET /long HTTP/1.1\r\nHost: x\r\nX-Pad: $long\r\nConnection: close\r\n\r\n");
    $x->get('/short');
    # (A line is logged after its response is sent: the two may come in either order.)
    wait_for(sub { my $t = $x->read_file('logs/long') // ''; $t =~ m{^/short }m && $t =~ m{^/long }m }, scale(5));
    my @lines = split /\n/, ($x->read_file('logs/long') // '');
    my ($cut) = grep { m{^/long } } @lines;
    is(length($cut // '') + 1, 4096, 'a line longer than PIPE_BUF arrives cut to PIPE_BUF bytes');
    is(scalar(grep { m{^/short -$} } @lines), 1, 'the other line is whole');
    is(scalar @lines, 2, 'two lines: the cut one ends with its newline');
    ok($x->wait_error_log(qr/1 line longer than 4096 bytes cut short/, scale(5)), 'the cut is logged');
    $x->stop(name => 'server with long lines');
}

# ---------------------------------------------------------------- configuration errors
{
    my $y = WeftTest->new(conf => "CustomLog \"|\" common\nErrorLog syslog:nonsense\n");
    my ($code, $out, $err) = $y->check_config;
    is($code, 1, 'an empty piped log and an unknown syslog facility are configuration errors');
    like($err, qr/weft\.conf:1: CustomLog: the piped log "\|" names no program/, '... the empty pipe, with its line');
    like($err, qr/weft\.conf:2: ErrorLog: unknown syslog facility 'nonsense'/, '... the facility, with its line');
    my $z = WeftTest->new(conf => "ErrorLog syslog:local3\n", files => { 'www/index.html' => "x\n" });
    ($code, $out, $err) = $z->check_config;
    is($code, 0, 'ErrorLog syslog:local3 is accepted') or diag($err);
    $z->start;
    is($z->get('/')->{status}, 200, 'a server logging to syslog serves');
    $z->stop(name => 'server logging to syslog');
}

# ---------------------------------------------------------------- syslog, for real
# glibc's syslog(3) writes to /dev/log; a private mount namespace gives the
# server one whose reader is this test.
SKIP: {
    skip 'syslog delivery needs root and unshare(1)', 5 unless $> == 0 && -x '/usr/bin/unshare';
    my $s = WeftTest->new(conf => "LogLevel info\nErrorLog syslog:local3\n", files => { 'www/index.html' => "x\n",
        'bin/receive.pl' => <<'EOF' });
use strict;
use warnings;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
my ($out) = @ARGV;
my $sock = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => '/dev/log') or die "bind /dev/log: $!";
open my $fh, '>', $out or die "$out: $!";
$fh->autoflush(1);
my $deadline = time + 30;
while (time < $deadline) {
    my $rin = '';
    vec($rin, fileno($sock), 1) = 1;
    next unless select(my $rout = $rin, undef, undef, 1);
    $sock->recv(my $data, 8192);
    print $fh "$data\n";
    last if $data =~ /shutting down/;
}
EOF
    my $root = $s->root;
    my $bin = WeftTest::binary();
    my $received = "$root/logs/syslog";
    my $script = "mount -t tmpfs none /dev && mknod /dev/null c 1 3 && chmod 666 /dev/null || exit 99; "
        . "perl $root/bin/receive.pl $received & "
        . "for i in \$(seq 1 100); do [ -S /dev/log ] && break; sleep 0.05; done; "
        . "exec $bin -d $root -f conf/weft.conf -D FOREGROUND";
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$root/weft.out";
        open STDERR, '>&', \*STDOUT;
        { exec '/usr/bin/unshare', '-m', '--propagation', 'private', '/bin/sh', '-c', $script; }
        POSIX::_exit(127);
    }
    my $up = wait_for(sub { WeftTest::_listening($s->port) || waitpid($pid, POSIX::WNOHANG()) == $pid }, scale(10));
    if (!WeftTest::_listening($s->port)) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
        skip 'could not make a private /dev/log here: ' . ($s->output =~ s/\s+/ /gr), 5;
    }
    is($s->get('/')->{status}, 200, 'a server logging to syslog serves');
    kill 'USR1', $pid;
    wait_for(sub { (WeftTest::_slurp($received) // '') =~ /SIGUSR1 received/ }, scale(5));
    kill 'TERM', $pid;
    wait_for(sub { waitpid($pid, POSIX::WNOHANG()) == $pid }, scale(10)) or do { kill 'KILL', $pid; waitpid($pid, 0) };
    wait_for(sub { (WeftTest::_slurp($received) // '') =~ /shutting down/ }, scale(5));
    my $log = WeftTest::_slurp($received) // '';
    like($log, qr/^<157>\w{3} [ \d]\d \d\d:\d\d:\d\d weft\[$pid\]: \[notice\] \[pid $pid:tid \d+\] \S.* resuming normal operations$/m,
        'syslog: facility local3, priority notice, ident weft[pid], the line without its time stamp');
    like($log, qr/^<158>.*\[info\] .*capacity: /m, 'syslog: the info level as priority info');
    like($log, qr/^<157>.*SIGUSR1 received.*\n(?:.*\n)*<157>.*caught SIGTERM, shutting down$/m,
        'syslog: still the log after a graceful restart, until the end');
    unlike($s->output, $WeftTest::SANITIZER_RE, 'syslog server: no sanitizer report in its output');
}

done_testing;
